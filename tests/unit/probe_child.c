/* Probe children that never run cmocka's machinery (probe_child.h). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe_child.h"

void probe_child_default_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		/* SIGKILL/SIGSTOP cannot have handlers; glibc's reserved
		 * real-time signals answer EINVAL: nothing to reset there. */
		if (sigaction(sig, NULL, &sa) != 0)
			continue;
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(sig, &sa, NULL);
	}
}

pid_t probe_child_start(probe_child_fn fn, void *arg)
{
	/* Nothing of the parent's buffered output may be copied into the
	 * child: even though the child only _exit()s, a probe that flushes
	 * stdio itself would write it a second time. */
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("probe_child: fork failed: %s", strerror(errno));
	if (pid == 0) {
		probe_child_default_signals();
		_exit(fn(arg) & 0xff);
	}
	return pid;
}

int probe_child_wait(pid_t pid)
{
	int status;
	pid_t r;
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid)
		fail_msg("probe_child: waitpid(%d) failed: %s", (int)pid, strerror(errno));
	return status;
}

int probe_child_run(probe_child_fn fn, void *arg)
{
	return probe_child_wait(probe_child_start(fn, arg));
}

static pid_t owner;

int probe_child_group_setup(void **state)
{
	(void)state;
	owner = getpid();
	return 0;
}

int probe_child_group_teardown(void **state)
{
	(void)state;
	if (owner != 0 && getpid() != owner) {
		/* No stdio: the buffers hold the parent's output and this
		 * process's copy of cmocka's lines; neither may be written. */
		dprintf(STDERR_FILENO,
			"probe_child: pid %d, a forked child of the test process %d, "
			"returned into cmocka's runner and ran the remaining tests; it "
			"exits here with status %d so that its results are not "
			"reported. A child must leave through _exit() and must not "
			"inherit cmocka's signal handlers: start it with "
			"probe_child_start().\n",
			(int)getpid(), (int)owner, PROBE_CHILD_ESCAPED);
		_exit(PROBE_CHILD_ESCAPED);
	}
	return 0;
}
