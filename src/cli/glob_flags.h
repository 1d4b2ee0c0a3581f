/* --deny PATTERN and --allow-read PATH (cli/glob_flags.c). */
#ifndef AB_CLI_GLOB_FLAGS_H
#define AB_CLI_GLOB_FLAGS_H

#include "agentbox.h"

/* A --deny value: 1 when it was a pattern (added as a deny glob), 0 when
 * it is a path, with *literal set (caller frees) when escapes had to be
 * undone to get it; -errno with err set for a malformed pattern. */
int cli_deny_value(ab_policy *p, const char *v, const char *base, char **literal, ab_error *err);
/* --allow-read PATH: takes PATH (and what is below) back out of every
 * deny-glob match. */
int cli_allow_read(ab_policy *p, const char *v, const char *base, ab_error *err);

#endif
