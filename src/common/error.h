/* Error reporting shared by every layer: fill an ab_error, return -errno. */
#ifndef AB_COMMON_ERROR_H
#define AB_COMMON_ERROR_H

#include "agentbox.h"

/* Formats the message; returns -code (or -EINVAL when code is 0) so callers
 * can write `return ab_fail(err, EINVAL, "...")`. err may be NULL. */
int ab_fail(ab_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, and appends ": <strerror(code)>" to the message. */
int ab_fail_errno(ab_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends a further line (a hint) to an existing message. */
void ab_error_hint(ab_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void ab_error_clear(ab_error *err);

#endif
