/* --cache NAME: package managers' cache directories (policy/cache_dirs.c
 * has the table). */
#ifndef AB_POLICY_CACHE_DIRS_H
#define AB_POLICY_CACHE_DIRS_H

#include "common/util.h"
#include "policy/policy.h"

/* getenv, or a test's own environment. */
typedef const char *(*cache_getenv_fn)(const char *name);

/* The directories of cache NAME as policy paths ("~/.npm", or absolute
 * from the tool's variables), appended to out. EINVAL for an unknown name
 * or a variable that is set but not an absolute path. */
int cache_dirs_resolve(const char *name, cache_getenv_fn get, strv *out, ab_error *err);
/* "npm, yarn, ..." for messages and help. */
const char *cache_tool_names(void);
/* Why a cache is in the table (what it holds), or NULL for no such name. */
const char *cache_tool_why(const char *name);
/* Adds a writable, created-when-missing rule for each directory of each
 * cache in NAMES (comma-separated). Origin "--cache NAME", or
 * "FROM (cache NAME)" when FROM is given (a policy file's position). */
int policy_add_cache(ab_policy *p, const char *names, cache_getenv_fn get, const char *from,
		     ab_error *err);

#endif
