/* The environment policy (README "Environment"): which of the caller's
 * variables the sandboxed command sees, and which it is given.
 *
 * Evaluated in this order, each step on what the one before left:
 *   1. inherit   all | core | none: the caller's variables to start from
 *   2. built-in  secret-looking names (env_secret_list.c) are dropped
 *   3. exclude   the policy's patterns drop more
 *   4. include_only  when any is given, a name must match one to stay
 *   5. keep      exact names passed through from the caller's
 *                environment whatever the steps above said
 *   6. set       NAME=VALUE, replacing the caller's value
 * agentbox's own variables (AGENTBOX_*, the proxy's, GIT_CONFIG_*) are
 * added after all of these (supervisor/watch.c): the policy neither
 * removes nor overrides them. Patterns are fnmatch globs matched against
 * the name, case-insensitively. Values are never printed. */
#ifndef AB_POLICY_ENV_POLICY_H
#define AB_POLICY_ENV_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "agentbox.h"

enum env_inherit { ENV_INHERIT_ALL, ENV_INHERIT_CORE, ENV_INHERIT_NONE };

enum env_list { ENV_EXCLUDE, ENV_INCLUDE_ONLY, ENV_KEEP, ENV_SET };

struct env_rule {
	char *text;   /* a pattern, a name, or for ENV_SET "NAME=VALUE" */
	char *origin; /* "--env-exclude" or "policy.json \"env\".\"exclude\"[0]" */
};

struct env_rules {
	struct env_rule *v;
	size_t n, cap;
};

struct env_policy {
	enum env_inherit inherit;
	bool inherit_set;     /* a file or flag chose it (a layer merge replaces it) */
	struct env_rules lists[4]; /* by enum env_list */
};

/* The built-in exclude list (env_secret_list.c): NULL-terminated. */
struct env_secret {
	const char *pattern;
	const char *why;
};
extern const struct env_secret env_secret_patterns[];
/* Names that match a pattern above but hold no secret (AWS_REGION ...). */
extern const struct env_secret env_secret_exempt[];
/* The names `inherit: core` keeps (patterns, NULL-terminated). */
extern const char *const env_core_names[];

/* "all" / "core" / "none"; false when unknown. */
bool env_inherit_parse(const char *word, enum env_inherit *out);
const char *env_inherit_name(enum env_inherit v);
/* "exclude" / "include_only" / "keep" / "set" -> which; -EINVAL when unknown. */
int env_list_parse(const char *kind, enum env_list *out);

/* Checks and adds one rule (origin NULL = the flag's name). A repeated
 * rule is kept once; a `set` of a name already set replaces its value
 * (the last wins). Refuses empty names, names with '=' (patterns and
 * keep), and AGENTBOX_* in set (agentbox's own). */
int env_policy_add(struct env_policy *ep, enum env_list which, const char *text,
		   const char *origin, ab_error *err);
void env_policy_set_inherit(struct env_policy *ep, enum env_inherit v);
/* Merges src over dst (a later layer): lists add up, set and inherit
 * (when src chose one) replace per name. Allocation failure ends the
 * process outside oom_guarded(). */
void env_policy_merge(struct env_policy *dst, const struct env_policy *src);
void env_policy_free(struct env_policy *ep);

/* fnmatch-style glob against a variable name, ignoring case. */
bool env_pattern_match(const char *pattern, const char *name);

struct env_drop {
	char *name;
	char *why; /* the step and the pattern that dropped it */
};

struct env_result {
	char **env; /* the command's environment before agentbox's own; never NULL */
	size_t n_env;
	struct env_drop *dropped;
	size_t n_dropped;
	char **kept; /* names a keep rule passed through after a step dropped them */
	size_t n_kept;
};

struct env_context {
	const char *const *allow_unix; /* --allow-unix paths (SSH_AUTH_SOCK) */
	size_t n_allow_unix;
	/* Variables agentbox sets itself in this run (the proxy's under
	 * --net proxy): a `set` of one is refused, naming `reserved_why`. */
	bool (*reserved)(const char *entry);
	const char *reserved_why;
};

/* The steps above over `base` ("NAME=VALUE" strings, NULL-terminated).
 * Refuses a `set` of a variable agentbox sets itself in this run (the
 * proxy's under --net proxy), saying which rule. */
int env_policy_eval(const struct env_policy *ep, char *const *base,
		    const struct env_context *ctx, struct env_result *out, ab_error *err);
void env_result_free(struct env_result *r);

#endif
