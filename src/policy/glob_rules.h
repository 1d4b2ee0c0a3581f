/* The deny-glob part of a policy (README "Deny globs"): the patterns,
 * the paths --allow-read takes back out of their matches, the bounds of
 * the walk that expands them, and whether the built-in secret set
 * (policy/secret_globs.c) applies. Pure data; plan/deny_globs.c walks. */
#ifndef AB_POLICY_GLOB_RULES_H
#define AB_POLICY_GLOB_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "agentbox.h"
#include "common/util.h"

enum glob_anchor {
	GLOB_ABSOLUTE, /* text is an absolute pattern or path */
	GLOB_CWD,      /* text is relative to the sandbox working directory */
	GLOB_HOME,     /* text is relative to $HOME */
};

struct glob_rule {
	enum glob_anchor anchor;
	char *text;   /* the pattern (deny) or path (allow-read), as anchored */
	char *origin; /* "--deny", "policy.json:3:5", ... */
};

struct glob_limits {
	int depth;      /* directory levels below a walk's start */
	long entries;   /* directory entries looked at, all walks together */
	int ms;         /* wall time of all walks together */
};

#define GLOB_DEPTH_DEFAULT 32
#define GLOB_DEPTH_MAX 256
#define GLOB_ENTRIES_DEFAULT 200000L
#define GLOB_ENTRIES_MAX 100000000L
#define GLOB_MS_DEFAULT 2000
#define GLOB_MS_MAX 600000

struct policy_globs {
	struct glob_rule *deny;
	size_t n_deny, cap_deny;
	struct glob_rule *allow; /* --allow-read: a match at or below is kept visible */
	size_t n_allow, cap_allow;
	struct glob_limits limits;
	bool partial;        /* --glob-partial: a truncated walk hides what it found */
	bool secrets_off;    /* --no-default-secret-globs / "default_secret_globs": false */
	bool secrets_set;    /* a layer said so (merged over earlier ones) */
	bool limits_set;
};

void policy_globs_init(struct policy_globs *g);
void policy_globs_free(struct policy_globs *g);
/* Appends src's rules to dst and takes over what src set (layers). */
void policy_globs_merge(struct policy_globs *dst, const struct policy_globs *src);
/* A repeated rule (same anchor and text) is kept once. */
void policy_globs_add(struct policy_globs *g, bool allow, enum glob_anchor anchor,
		      const char *text, const char *origin);
/* The spelling of a rule for messages: the anchor, then the text. */
char *glob_rule_spelling(const struct glob_rule *r);
/* Checks a limit triple; names `origin` and the bad key in err. */
int glob_limits_check(const struct glob_limits *l, const char *origin, ab_error *err);

/* The keys of a policy file that give g (members of the top-level
 * object, each after ",\n  "), for agentbox config; nothing when g holds
 * only defaults. */
void policy_globs_print_json(const struct policy_globs *g, sbuf *b);

#endif
