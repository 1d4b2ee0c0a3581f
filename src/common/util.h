/* Small pure helpers: allocation that never returns NULL, growable arrays,
 * string building, and the cleanup attributes used across the tree.
 *
 * Allocation failure. The x* functions (and everything built on them:
 * grow_array, strv, sbuf, path_*) never return NULL. Inside oom_guarded()
 * a failure unwinds to it, which returns -ENOMEM; anywhere else the
 * process ends with a message naming the size (agentbox.h says where and
 * why). */
#ifndef AB_COMMON_UTIL_H
#define AB_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdlib.h>
#include <unistd.h>

#include <stdarg.h>

/* Runs fn(ctx) and returns what it returns, or -ENOMEM with a message in
 * err naming `what` when an x* allocation in it (in this thread) failed.
 * fn must be pure computation on memory: the unwinding (longjmp) skips its
 * cleanups, so it must hold no fd, lock or process while it may allocate,
 * and must leave every data structure it shares consistent at each
 * allocation (then the worst case is a leak of what the failed call had
 * allocated). Guards nest. */
struct ab_error;
int oom_guarded(int (*fn)(void *ctx), void *ctx, struct ab_error *err, const char *what);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Grows *arr (of *cap elements of `size` bytes) to hold at least `need`. */
void grow_array(void **arr, size_t *cap, size_t need, size_t size);

/* A NULL-terminated vector of owned strings. */
typedef struct strv {
	char **v;
	size_t n, cap;
} strv;
void strv_push(strv *s, const char *str);
void strv_push_owned(strv *s, char *str);
void strv_free(strv *s);

/* A growable string. */
typedef struct sbuf {
	char *s;
	size_t len, cap;
} sbuf;
void sbuf_add(sbuf *b, const char *str);
void sbuf_addn(sbuf *b, const char *str, size_t n);
void sbuf_addf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends str as a JSON string literal (with quotes). */
void sbuf_add_json_string(sbuf *b, const char *str);
/* The same, or null when str is NULL. */
void sbuf_add_json_string_or_null(sbuf *b, const char *str);
/* Appends the members "code":..,"path":..|null,"message":.. (no braces):
 * what every warning and narrowing agentbox reports carries. */
void sbuf_add_json_notice(sbuf *b, const char *code, const char *path, const char *message);
/* Appends str quoted for a POSIX shell if it needs quoting. */
void sbuf_add_shell_word(sbuf *b, const char *str);
void sbuf_free(sbuf *b);

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}
static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))

/* CLOCK_MONOTONIC in milliseconds, for deadlines and durations. */
double monotonic_ms(void);

/* Path helpers (pure string work, no syscalls). */
bool path_is_absolute(const char *p);
/* Normalises an absolute path lexically: collapses "//" and "/./", drops a
 * trailing "/". ".." components are kept (callers reject or resolve them). */
char *path_normalize(const char *p);
bool path_has_dotdot(const char *p);
/* True if `p` equals `prefix` or lies below it (component-wise). */
bool path_is_under(const char *p, const char *prefix);
/* Number of components: "/" = 0, "/a" = 1, "/a/b" = 2. */
size_t path_depth(const char *p);
char *path_join(const char *dir, const char *name);
/* Parent directory of an absolute normalised path ("/" for "/a"). */
char *path_parent(const char *p);

/* pidfd_open(pid, 0): a descriptor that polls readable when the child
 * exits, or -1 with errno (ENOSYS before Linux 5.3). A bare system call,
 * so also safe in a child forked from a threaded process. */
int pidfd_open_raw(pid_t pid);

#endif
