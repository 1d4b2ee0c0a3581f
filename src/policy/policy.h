/* The policy model: pure data describing what the user asked for. No
 * syscalls here except reading a policy file. */
#ifndef AB_POLICY_POLICY_H
#define AB_POLICY_POLICY_H

#include "agentbox.h"
#include "policy/domain.h"
#include "policy/glob_rules.h"
#include "policy/env_policy.h"
#include <stdbool.h>
#include <stddef.h>

enum policy_path_kind {
	PP_ABSOLUTE,  /* path = absolute, lexically normalised */
	PP_ROOT,      /* :root       the whole filesystem */
	PP_MINIMAL,   /* :minimal    platform default read roots */
	PP_CWD,       /* :cwd        the sandbox working directory */
	PP_TMPDIR,    /* :tmpdir     $TMPDIR when set and absolute */
	PP_SLASH_TMP, /* :slash_tmp  /tmp when it is a directory */
	PP_HOME,      /* ~ or ~/sub  $HOME joined with path */
};

struct policy_entry {
	enum policy_path_kind kind;
	char *path; /* PP_ABSOLUTE: the path; PP_HOME: subpath or ""; else "" */
	ab_access access;
	char *origin; /* where the rule came from, for explain and errors */
	/* a writable directory `agentbox run` creates when it is missing
	 * (--write-create, --cache: run/create_dirs.c): POLICY_CREATE, and
	 * POLICY_CACHE too for a package manager's cache */
	unsigned create;
};
#define POLICY_CREATE 1u
#define POLICY_CACHE 2u

/* A credential deny set entry the user keeps visible, by its short name
 * ("ssh", "aws") or "all" (policy/allow_credentials.c). */
struct policy_allow_credentials {
	char *name;
	char *origin; /* "--allow-credentials aws" or "config.json \"allow_credentials\"[0]" */
};

/* A host unix socket made reachable inside (policy/allow_unix.c). */
struct policy_allow_unix {
	char *path;   /* absolute, lexically normalised */
	char *origin; /* "--allow-unix" or "policy.json:5:20" */
};

struct ab_policy {
	struct policy_entry *entries;
	size_t n_entries, cap_entries;
	char **protect;
	size_t n_protect, cap_protect;
	ab_net net;
	bool net_set;                /* the mode was given (file or flag), not defaulted */
	ab_git_mode git;             /* protect (default) or commit */
	bool git_set;                /* given by a file or flag */
	struct domain_rules domains; /* the proxy's allow and deny patterns */
	struct policy_allow_unix *allow_unix;
	size_t n_allow_unix, cap_allow_unix;
	/* How deep below each writable root nested repositories are looked
	 * for (plan/nested_repos.c; 0 = the root's own .git only), and
	 * whether a scan that hits its bound may go on with what it found. */
	int git_scan_depth;
	bool git_scan_depth_set; /* a layer chose it (merged over earlier ones) */
	bool git_scan_partial;
	/* credential deny set entries the user shows (policy/allow_credentials.c) */
	struct policy_allow_credentials *allow_credentials;
	size_t n_allow_credentials, cap_allow_credentials;
	/* deny globs, --allow-read, their walk's bounds (policy/glob_rules.h) */
	struct policy_globs globs;
	struct env_policy env; /* the command's environment (env_policy.h) */
};

#define POLICY_GIT_SCAN_DEPTH_DEFAULT 4
#define POLICY_GIT_SCAN_DEPTH_MAX 32

/* The built-in protected names (policy/protect_list.c): in every new
 * policy, kept read-only under writable roots unless a rule names the
 * path itself or --unprotect / "unprotect" removes the name. */
enum protect_scope {
	PROTECT_EVERY_ROOT, /* a missing one is blocked under every writable root */
	PROTECT_PROJECT,    /* ... under the working directory and $HOME only */
	PROTECT_HOME,       /* ... under $HOME only */
};
struct protect_default {
	const char *name;
	const char *why; /* what on the host reads or runs it */
	enum protect_scope scope;
	bool block_as_file; /* missing: blocked as an empty file, not a directory */
};
extern const struct protect_default policy_protect_defaults[]; /* NULL-terminated */
/* The built-in entry for `name`, or NULL for a name the user added. */
const struct protect_default *policy_protect_default(const char *name);

/* The socket never-list (policy/socket_never_list.c): host sockets and
 * socket directories hidden in every network mode by the namespace
 * backends. NULL-terminated. */
struct socket_never {
	const char *path; /* may start with $XDG_RUNTIME_DIR or contain $UID */
	const char *why;  /* what connecting there gives */
};
extern const struct socket_never policy_socket_never_list[];

/* The credential deny set (policy/credential_list.c): where tools keep
 * secrets, hidden inside when they exist unless allowed by name. */
#define CREDENTIAL_MAX_PATHS 6
#define CREDENTIAL_MAX_KEEP 3
struct credential_entry {
	const char *name; /* short name for --allow-credentials */
	const char *why;  /* what it holds */
	/* "~/sub" or "$VAR[/sub]" (a ':' list in VAR names several) */
	const char *paths[CREDENTIAL_MAX_PATHS];
	/* names in the first path (a directory) reopened read-only */
	const char *keep[CREDENTIAL_MAX_KEEP];
};
extern const struct credential_entry policy_credential_list[]; /* name NULL ends it */
const struct credential_entry *policy_credential_find(const char *name);

/* Parses a path token. On success *kind and *sub are set (sub owned by the
 * caller, "" when none). Relative paths are rejected. */
int policy_parse_path(const char *text, enum policy_path_kind *kind,
		      char **sub, ab_error *err);

/* Adds or replaces (same kind and path) an entry. Takes no ownership. */
int policy_add_entry(ab_policy *p, enum policy_path_kind kind,
		     const char *path, ab_access access, const char *origin);
/* The same with the entry's create flags (a replaced writable entry keeps
 * the flags it had). */
int policy_add_entry_create(ab_policy *p, enum policy_path_kind kind, const char *path,
			    ab_access access, const char *origin, unsigned create);

/* The raw versions of ab_policy_apply_preset, _add_path, _add_protect and
 * _add_domain: the same checks and errors, but an allocation failure
 * unwinds to the caller's oom_guarded() (or ends the process outside one).
 * For code that is already inside a guard, such as the policy loader. */
ab_policy *policy_new(void);
int policy_apply_preset(ab_policy *p, const char *name, ab_error *err);
/* The same, with the layer that chose the preset in each entry's origin
 * ("preset workspace-write (user config ~/.config/agentbox/config.json)"). */
int policy_apply_preset_from(ab_policy *p, const char *name, const char *from, ab_error *err);
int policy_add_path(ab_policy *p, const char *path, ab_access access,
		    const char *origin, ab_error *err);
/* A writable rule for a directory that `agentbox run` creates when it is
 * missing (--write-create PATH, "write+create"): PATH absolute or ~/... */
int policy_add_path_create(ab_policy *p, const char *path, const char *origin, ab_error *err);
/* The same for a cache directory (--cache): POLICY_CACHE as well. */
int policy_add_path_cache(ab_policy *p, const char *path, const char *origin, ab_error *err);
int policy_add_protect(ab_policy *p, const char *name, ab_error *err);
int policy_remove_protect(ab_policy *p, const char *name, ab_error *err);
int policy_add_domain(ab_policy *p, const char *pattern, bool allow, ab_error *err);

/* Runs op on a copy of p under oom_guarded() and puts the copy in p's
 * place only when op returns 0: p ends up either as op left the copy or
 * untouched (also when memory ran out: -ENOMEM, err says so). `what`
 * names the operation in that message. */
int policy_transaction(ab_policy *p, int (*op)(ab_policy *p, void *arg, ab_error *err),
		       void *arg, const char *what, ab_error *err);

/* A deep copy of src in *out (the caller frees it with ab_policy_free), or
 * -ENOMEM with err set and *out unchanged. */
int policy_clone(const ab_policy *src, ab_policy **out, ab_error *err);

/* --allow-unix PATH (policy/allow_unix.c): PATH must be absolute; a
 * repeated path is kept once. origin NULL = "--allow-unix". */
int policy_add_allow_unix(ab_policy *p, const char *path, const char *origin, ab_error *err);
void policy_free_allow_unix(ab_policy *p);

/* --allow-credentials NAME: NAME is an entry of the credential deny set
 * or "all"; a repeated name is kept once. origin NULL = the flag. */
int policy_add_allow_credentials(ab_policy *p, const char *name, const char *origin, ab_error *err);
void policy_free_allow_credentials(ab_policy *p);
/* The origin that allows entry `name` (its own or "all"), or NULL. */
const char *policy_credentials_allowed(const ab_policy *p, const char *name);
/* Deny globs (policy/glob_api.c): a pattern (checked by compiling it) or
 * an --allow-read path, anchored as `anchor` says. */
int policy_add_deny_glob(ab_policy *p, enum glob_anchor anchor, const char *text,
			 const char *origin, ab_error *err);
int policy_add_allow_read(ab_policy *p, enum glob_anchor anchor, const char *path,
			  const char *origin, ab_error *err);

/* "read" / "write" / "none" -> access; returns false when unknown. */
bool policy_parse_access(const char *word, ab_access *out);

/* Spelling of an entry's path for messages (":cwd", "~/x", "/a/b"). */
char *policy_entry_spelling(const struct policy_entry *e);

/* The whole text of a policy file into *out (freed by the caller), with
 * the size limit and the open/read errors and hints of every policy file
 * reader (ab_policy_load_file, the proxy's network section). */
struct sbuf;
int policy_read_file(const char *path, struct sbuf *out, ab_error *err);

#endif
