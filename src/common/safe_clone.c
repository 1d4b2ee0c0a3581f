/* See safe_clone.h. */
#include "common/safe_clone.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define HAVE_SINGLE_THREADED 1
#endif
#endif

static bool never_threaded(void)
{
#ifdef HAVE_SINGLE_THREADED
	return __libc_single_threaded;
#else
	return false;
#endif
}

static pid_t raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
}

struct clone_report {
	pid_t pid;
	int err;
};

pid_t safe_clone(unsigned long flags)
{
	flags = (flags & ~(unsigned long)CSIGNAL) | SIGCHLD;
	if (never_threaded())
		return raw_clone(flags);

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t helper = fork();
	if (helper < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (helper == 0) {
		/* the helper: async-signal-safe calls only */
		close(p[0]);
		pid_t pid = raw_clone((flags & ~(unsigned long)CSIGNAL) | CLONE_PARENT);
		if (pid == 0) {
			close(p[1]);
			return 0; /* the new child, on the caller's way */
		}
		struct clone_report r = {.pid = pid, .err = pid < 0 ? errno : 0};
		ssize_t n = write(p[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	struct clone_report r = {.pid = -1, .err = EIO};
	ssize_t n;
	do
		n = read(p[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	int read_errno = errno;
	close(p[0]);
	while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r)) {
		errno = n < 0 ? read_errno : EIO;
		return -1;
	}
	if (r.pid < 0) {
		errno = r.err;
		return -1;
	}
	return r.pid;
}
