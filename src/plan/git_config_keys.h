/* The git configuration keys that name a program git runs or a file git
 * reads as configuration or trusts: ONE table (git_config_keys.c), with
 * the reason per key, and how a value turns into the paths to protect.
 * Pure string work, no file access, so that it can be tested alone. */
#ifndef AB_PLAN_GIT_CONFIG_KEYS_H
#define AB_PLAN_GIT_CONFIG_KEYS_H

#include "agentbox.h"
#include "common/util.h"

enum git_key_kind {
	GIT_KEY_FILE,       /* a file git reads; relative to the worktree */
	GIT_KEY_INCLUDE,    /* a configuration file; relative to the including file */
	GIT_KEY_DIR,        /* a directory whose files git runs or copies */
	GIT_KEY_COMMAND,    /* a command line git runs (through the shell) */
	GIT_KEY_BOOL_OR_COMMAND, /* a boolean, or else a command line */
	GIT_KEY_BANG_COMMAND,    /* a command line only when it starts with "!" */
	GIT_KEY_HELPER,     /* "!cmd", a path, or a NAME for git-credential-NAME */
};

struct git_key {
	const char *section; /* lower case */
	const char *sub;     /* NULL: no subsection; "*": any subsection */
	const char *name;    /* lower case; "*": any name */
	enum git_key_kind kind;
	const char *why;
};

extern const struct git_key git_config_keys[]; /* ends with a NULL section */

/* The entry for a parsed key ("core.hookspath", "filter.lfs.smudge"), or NULL. */
const struct git_key *git_key_find(const char *key);

/* Where relative values are resolved. */
struct git_key_base {
	const char *worktree;   /* the repository's top directory; NULL: relative paths are not resolved */
	const char *config_dir; /* the directory of the file the value is in */
	const char *home;       /* for "~/"; NULL when unknown */
};

/* Appends to *out the absolute, normalised paths that `value` of `key`
 * (spelled `name` in messages, "filter.lfs.smudge") names (none for a boolean, or a program looked up on PATH). Returns 0,
 * or -EINVAL with err naming the key and the value when the value cannot
 * be read safely (a first word with $, `, \, a glob, "~user"). */
int git_key_paths(const struct git_key *key, const char *name, const char *value,
		  const struct git_key_base *base, strv *out, ab_error *err);

#endif
