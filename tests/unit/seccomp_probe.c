/* See seccomp_probe.h. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "inner/seccomp.h"
#include "probe_child.h"
#include "seccomp_probe.h"

struct probe_job {
	int net;
	unsigned flags; /* AB_SECCOMP_* */
	probe_fn fn;
	const void *arg;
	int report; /* write end of the pipe */
};

/* Runs in the probe child (probe_child.h: default signal handlers, so a
 * fault or a seccomp kill ends it; no cmocka calls here). */
static int probe_job_run(void *v)
{
	const struct probe_job *j = v;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return SETUP_FAILED;
	if (j->net != NO_FILTER) {
		ab_error err;
		if (seccomp_install((ab_net)j->net, j->flags, &err) < 0) {
			fprintf(stderr, "seccomp_install: %s\n", err.message);
			return SETUP_FAILED;
		}
	}
	long rep[2];
	errno = 0;
	rep[0] = j->fn(j->arg);
	rep[1] = errno;
	if (write(j->report, rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		return SETUP_FAILED;
	return 0;
}

struct outcome run_probe(int net, probe_fn fn, const void *arg)
{
	return run_probe_flags(net, 0, fn, arg);
}

struct outcome run_probe_flags(int net, unsigned flags, probe_fn fn, const void *arg)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);

	struct probe_job job = { net, flags, fn, arg, p[1] };
	pid_t pid = probe_child_start(probe_job_run, &job);
	close(p[1]);

	struct outcome o = { 0 };
	long rep[2];
	ssize_t n = read(p[0], rep, sizeof(rep));
	close(p[0]);
	o.status = probe_child_wait(pid);
	if (WIFEXITED(o.status))
		assert_int_not_equal(WEXITSTATUS(o.status), SETUP_FAILED);
	if (n == (ssize_t)sizeof(rep)) {
		o.returned = true;
		o.ret = rep[0];
		o.err = (int)rep[1];
	}
	return o;
}

bool failed_with(struct outcome o, int err)
{
	return o.returned && o.ret == -1 && o.err == err;
}

bool succeeded(struct outcome o)
{
	return o.returned && o.ret >= 0;
}

bool killed_by(struct outcome o, int sig)
{
	return !o.returned && WIFSIGNALED(o.status) && WTERMSIG(o.status) == sig;
}

void expect_errno(const char *what, struct outcome o, int err)
{
	if (!failed_with(o, err))
		fail_msg("%s: expected errno %d (%s), got %s ret=%ld errno=%d (%s) "
			 "status=%#x",
			 what, err, strerror(err), o.returned ? "returned" : "died",
			 o.ret, o.err, strerror(o.err), o.status);
}

void expect_success(const char *what, struct outcome o)
{
	if (!succeeded(o))
		fail_msg("%s: expected success, got %s ret=%ld errno=%d (%s) status=%#x",
			 what, o.returned ? "returned" : "died", o.ret, o.err,
			 strerror(o.err), o.status);
}

void expect_killed_by(const char *what, struct outcome o, int sig)
{
	if (!killed_by(o, sig))
		fail_msg("%s: expected death by signal %d, got %s ret=%ld errno=%d "
			 "status=%#x",
			 what, sig, o.returned ? "returned" : "died", o.ret, o.err,
			 o.status);
}

long probe_raw(const void *arg)
{
	const struct raw_call *c = arg;
	return syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
}

struct outcome run_raw(int net, long nr, long a0, long a1, long a2)
{
	struct raw_call c = { "", nr, { a0, a1, a2, 0, 0, 0 } };
	return run_probe(net, probe_raw, &c);
}
