/* What the sandboxed command's git is told through its environment
 * (README.md, "Git"): no hooks, no fsmonitor, and the repositories of the
 * plan trusted despite an owner the user namespace may map differently. */
#ifndef AB_SUPERVISOR_GIT_ENV_H
#define AB_SUPERVISOR_GIT_ENV_H

#include <stddef.h>

#include "common/util.h"

/* Most GIT_CONFIG_COUNT entries of the caller's kept; a larger or
 * malformed count is replaced (git itself would refuse it). */
#define GIT_ENV_CALLER_MAX 1000

/* Appends to `env` (the command's environment being built, NAME=VALUE
 * strings, owned) GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n entries after any
 * the caller set, and sets GIT_CONFIG_COUNT to the new total:
 *   core.hooksPath=/dev/null  git runs no hook (a planted or an old one)
 *   core.fsmonitor=false      git starts no fsmonitor program
 *   safe.directory=<dir>      for each of safe_dirs
 * Ours come last, so they win over the caller's own values of these keys
 * (git takes the last value of a key). Caller entries at our indices
 * (beyond their count, so unused by git) are dropped. */
void git_env_add(strv *env, const char *const *safe_dirs, size_t n_safe);

#endif
