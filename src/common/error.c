#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vformat(ab_error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vformat(ab_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int ab_fail(ab_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vformat(err, code, fmt, ap);
		va_end(ap);
	}
	return code ? -code : -EINVAL;
}

int ab_fail_errno(ab_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vformat(err, code, fmt, ap);
		va_end(ap);
		size_t len = strlen(err->message);
		snprintf(err->message + len, sizeof(err->message) - len, ": %s",
			 strerror(code));
	}
	return code ? -code : -EINVAL;
}

void ab_error_hint(ab_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	size_t len = strlen(err->message);
	if (len + 2 >= sizeof(err->message))
		return;
	err->message[len++] = '\n';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message + len, sizeof(err->message) - len, fmt, ap);
	va_end(ap);
}

void ab_error_clear(ab_error *err)
{
	if (err) {
		err->code = 0;
		err->message[0] = '\0';
	}
}
