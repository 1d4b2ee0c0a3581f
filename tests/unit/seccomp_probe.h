/* Running one system call under the sandbox's seccomp filter, in a forked
 * child, for the seccomp unit tests (test_seccomp.c, test_seccomp_files.c).
 * The child sets no_new_privs, loads the filter for a network mode (or
 * none: NO_FILTER, the baseline) and makes the call with syscall(2), so no
 * libc wrapper hides or rewrites anything; the return value and errno come
 * back through a pipe, or the child dies trying (it has default signal
 * handlers: probe_child.h). */
#ifndef AB_TEST_SECCOMP_PROBE_H
#define AB_TEST_SECCOMP_PROBE_H

#include <stdbool.h>

#define NO_FILTER (-1)
#define SETUP_FAILED 99

struct outcome {
	bool returned; /* the probe finished and reported */
	long ret;
	int err;
	int status; /* from waitpid */
};

typedef long (*probe_fn)(const void *arg);

/* Runs fn(arg) in a child under the filter for `net` (an ab_net, or
 * NO_FILTER); fails the test if the child could not set up. */
struct outcome run_probe(int net, probe_fn fn, const void *arg);
/* The same with the filter variant `flags` (AB_SECCOMP_*, inner/seccomp.h). */
struct outcome run_probe_flags(int net, unsigned flags, probe_fn fn, const void *arg);

struct raw_call {
	const char *name;
	long nr;
	long a[6];
};

/* A probe_fn: the raw call described by a struct raw_call. */
long probe_raw(const void *arg);

struct outcome run_raw(int net, long nr, long a0, long a1, long a2);

bool failed_with(struct outcome o, int err);
bool succeeded(struct outcome o);
bool killed_by(struct outcome o, int sig);

/* cmocka failures naming `what` and the outcome. */
void expect_errno(const char *what, struct outcome o, int err);
void expect_success(const char *what, struct outcome o);
void expect_killed_by(const char *what, struct outcome o, int sig);

#endif
