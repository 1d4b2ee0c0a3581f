#include "common/util.h"

#include "common/error.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The innermost oom_guarded() of this thread, or NULL, and the size that
 * could not be allocated. */
static _Thread_local jmp_buf *oom_trap;
static _Thread_local size_t oom_size;

int oom_guarded(int (*fn)(void *ctx), void *ctx, ab_error *err, const char *what)
{
	jmp_buf here;
	jmp_buf *volatile outer = oom_trap;
	if (setjmp(here)) {
		oom_trap = outer;
		return ab_fail(err, ENOMEM, "%s: out of memory (an allocation of %zu bytes failed); nothing was changed",
			       what, oom_size);
	}
	oom_trap = &here;
	int r = fn(ctx);
	oom_trap = outer;
	return r;
}

/* Reached only outside oom_guarded() (see util.h): the caller is in the
 * middle of building a sandbox (children, placeholders, blocked signals)
 * that cannot be unwound from here, so the process ends, saying why.
 * No allocation: snprintf of integers into a stack buffer only. */
static _Noreturn void die_oom(size_t n)
{
	if (oom_trap) {
		oom_size = n;
		longjmp(*oom_trap, 1);
	}
	char msg[256];
	int len = snprintf(msg, sizeof(msg),
			   "agentbox: out of memory: cannot allocate %zu bytes; agentbox cannot undo a half-built sandbox safely, so this process ends (abort)\n"
			   "fix: give the process more memory (ulimit -v, the container's or cgroup's memory limit)\n",
			   n);
	if (len > 0)
		(void)!write(2, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die_oom(n);
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die_oom(strlen(s) + 1);
	return d;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		die_oom(strnlen(s, n) + 1);
	return d;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *out = NULL;
	va_list copy;
	va_copy(copy, ap);
	int r = vasprintf(&out, fmt, ap);
	if (r < 0) {
		/* how much was wanted, for the message */
		int want = vsnprintf(NULL, 0, fmt, copy);
		va_end(copy);
		die_oom(want >= 0 ? (size_t)want + 1 : 0);
	}
	va_end(copy);
	return out;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *out = xvasprintf(fmt, ap);
	va_end(ap);
	return out;
}

void grow_array(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / size)
		die_oom(SIZE_MAX);
	*arr = xrealloc(*arr, ncap * size);
	*cap = ncap;
}

void strv_push_owned(strv *s, char *str)
{
	grow_array((void **)&s->v, &s->cap, s->n + 2, sizeof(char *));
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void strv_push(strv *s, const char *str)
{
	strv_push_owned(s, xstrdup(str));
}

void strv_free(strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void sbuf_addn(sbuf *b, const char *str, size_t n)
{
	grow_array((void **)&b->s, &b->cap, b->len + n + 1, 1);
	memcpy(b->s + b->len, str, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_add(sbuf *b, const char *str)
{
	sbuf_addn(b, str, strlen(str));
}

void sbuf_addf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *tmp = NULL;
	int r = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (r < 0)
		die_oom(0);
	sbuf_addn(b, tmp, (size_t)r);
	free(tmp);
}

void sbuf_add_json_string(sbuf *b, const char *str)
{
	sbuf_add(b, "\"");
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		switch (*p) {
		case '"': sbuf_add(b, "\\\""); break;
		case '\\': sbuf_add(b, "\\\\"); break;
		case '\n': sbuf_add(b, "\\n"); break;
		case '\r': sbuf_add(b, "\\r"); break;
		case '\t': sbuf_add(b, "\\t"); break;
		default:
			if (*p < 0x20)
				sbuf_addf(b, "\\u%04x", *p);
			else
				sbuf_addn(b, (const char *)p, 1);
		}
	}
	sbuf_add(b, "\"");
}

void sbuf_add_json_string_or_null(sbuf *b, const char *str)
{
	if (str)
		sbuf_add_json_string(b, str);
	else
		sbuf_add(b, "null");
}

void sbuf_add_json_notice(sbuf *b, const char *code, const char *path, const char *message)
{
	sbuf_add(b, "\"code\":");
	sbuf_add_json_string(b, code);
	sbuf_add(b, ",\"path\":");
	sbuf_add_json_string_or_null(b, path);
	sbuf_add(b, ",\"message\":");
	sbuf_add_json_string(b, message);
}

void sbuf_add_shell_word(sbuf *b, const char *str)
{
	bool plain = *str != '\0';
	for (const char *p = str; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789/._-=:,+@%", *p) != NULL;
	if (plain) {
		sbuf_add(b, str);
		return;
	}
	sbuf_add(b, "'");
	for (const char *p = str; *p; p++) {
		if (*p == '\'')
			sbuf_add(b, "'\\''");
		else
			sbuf_addn(b, p, 1);
	}
	sbuf_add(b, "'");
}

void sbuf_free(sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

double monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool path_is_absolute(const char *p)
{
	return p && p[0] == '/';
}

char *path_normalize(const char *p)
{
	size_t n = strlen(p);
	char *out = xmalloc(n + 2);
	size_t o = 0;
	const char *s = p;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (!(len == 1 && s[0] == '.')) {
			out[o++] = '/';
			memcpy(out + o, s, len);
			o += len;
		}
		s += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

bool path_has_dotdot(const char *p)
{
	const char *s = p;
	while ((s = strstr(s, "..")) != NULL) {
		bool start = s == p || s[-1] == '/';
		bool end = s[2] == '\0' || s[2] == '/';
		if (start && end)
			return true;
		s += 2;
	}
	return false;
}

bool path_is_under(const char *p, const char *prefix)
{
	if (strcmp(prefix, "/") == 0)
		return p[0] == '/';
	size_t n = strlen(prefix);
	return strncmp(p, prefix, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

size_t path_depth(const char *p)
{
	size_t d = 0;
	for (const char *s = p; *s; s++)
		if (*s == '/' && s[1] != '\0')
			d++;
	return d;
}

/* No printf: canonicalisation joins every component of every path it
 * walks, and vasprintf was the larger part of that. */
char *path_join(const char *dir, const char *name)
{
	size_t dl = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	size_t nl = strlen(name);
	char *out = xmalloc(dl + nl + 2);
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return out;
}

char *path_parent(const char *p)
{
	const char *slash = strrchr(p, '/');
	if (!slash || slash == p)
		return xstrdup("/");
	return xstrndup(p, (size_t)(slash - p));
}

int pidfd_open_raw(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}
