/* Probe children (probe_child.h) against the real kernel: a child that
 * faults must die of the signal, not be caught by cmocka's handler and go
 * on running the rest of the suite (issue #11: int 0x80 on a kernel
 * without ia32 emulation made test_seccomp's probe child print a second,
 * failing set of results). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe_child.h"

/* The tests below mean something only while cmocka (or a sanitizer under
 * it) has a handler for `sig` in this process: that is what a child used
 * to inherit. */
static void require_parent_handler(int sig)
{
	struct sigaction sa;
	assert_int_equal(sigaction(sig, NULL, &sa), 0);
	if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) {
		print_message("skipped: not available: the test process has no handler "
			      "for signal %d (%s) here (CMOCKA_TEST_ABORT set?), so a "
			      "child has none to inherit\n",
			      sig, strsignal(sig));
		skip();
	}
}

static void expect_killed_by(int status, int sig)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
		fail_msg("expected the child to die of signal %d (%s), got status %#x "
			 "(%s %d)",
			 sig, strsignal(sig), status,
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* A genuine fault: a load from a page with no access. */
static int read_prot_none_page(void *arg)
{
	volatile const char *page = arg;
	return page[0];
}

static void test_fault_in_a_child_kills_it_with_sigsegv(void **state)
{
	(void)state;
	require_parent_handler(SIGSEGV);
	void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	expect_killed_by(probe_child_run(read_prot_none_page, page), SIGSEGV);
	munmap(page, 4096);
}

static int raise_signal(void *arg)
{
	raise(*(int *)arg);
	return 0; /* the signal was caught or ignored */
}

static void test_every_fault_signal_kills_the_child(void **state)
{
	(void)state;
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };
	/* cmocka's own set; SIGABRT is reset all the same (a child's abort()
	 * must end it, whoever installed a handler) */
	require_parent_handler(SIGSEGV);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int sig = sigs[i];
		expect_killed_by(probe_child_run(raise_signal, &sig), sig);
	}
}

static int handler_of(void *arg)
{
	struct sigaction sa;
	if (sigaction(*(int *)arg, NULL, &sa) != 0)
		return 2;
	return sa.sa_handler == SIG_DFL ? 0 : 1;
}

/* Installed by the test itself, not by cmocka: the child gets SIG_DFL for
 * any handler, so nothing a test sets up can catch a child's fault; an
 * ignored signal stays ignored, as across execve. */
static void on_usr1(int sig)
{
	(void)sig;
}

static void test_child_resets_every_handler_but_keeps_ignored_signals(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = on_usr1 }, old_usr1, old_usr2;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old_usr1), 0);
	sa.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGUSR2, &sa, &old_usr2), 0);

	int sig = SIGUSR1;
	int st1 = probe_child_run(handler_of, &sig);
	sig = SIGUSR2;
	int st2 = probe_child_run(handler_of, &sig);

	sigaction(SIGUSR1, &old_usr1, NULL);
	sigaction(SIGUSR2, &old_usr2, NULL);
	assert_true(WIFEXITED(st1));
	assert_int_equal(WEXITSTATUS(st1), 0); /* SIG_DFL */
	assert_true(WIFEXITED(st2));
	assert_int_equal(WEXITSTATUS(st2), 1); /* still SIG_IGN */
}

static int return_arg(void *arg)
{
	return *(int *)arg;
}

static void test_child_exit_status_is_the_functions_result(void **state)
{
	(void)state;
	for (int want = 0; want < 256; want += 51) {
		int st = probe_child_run(return_arg, &want);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), want);
	}
}

/* Parent output still buffered at fork time must not be written by the
 * child as well: the child's copy would duplicate the parent's lines. */
static int flush_stdio(void *arg)
{
	(void)arg;
	fflush(NULL);
	return 0;
}

static void test_child_does_not_repeat_buffered_parent_output(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	FILE *f = fdopen(p[1], "w");
	assert_non_null(f);
	assert_int_equal(setvbuf(f, NULL, _IOFBF, 4096), 0);
	assert_true(fputs("once\n", f) >= 0); /* buffered, not yet written */

	int st = probe_child_run(flush_stdio, NULL);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(fclose(f), 0);

	char buf[32];
	ssize_t n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "once\n", 5);
}

/* A child that returned into cmocka's runner anyway (one started by the
 * code under test, say) reaches the group teardown before cmocka prints
 * its summary; the teardown must end it there, and only there. */
static int reach_group_teardown(void *arg)
{
	/* its message goes to the test's pipe, not into the test log */
	if (dup2(*(int *)arg, STDERR_FILENO) < 0)
		return 1;
	probe_child_group_teardown(NULL);
	return 0; /* the teardown let the child through */
}

static void test_group_teardown_ends_a_child_that_escaped_into_cmocka(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = probe_child_start(reach_group_teardown, &p[1]);
	close(p[1]);
	char msg[1024] = "";
	ssize_t n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	int st = probe_child_wait(pid);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), PROBE_CHILD_ESCAPED);
	assert_true(n > 0);
	char who[64];
	snprintf(who, sizeof(who), "pid %d, a forked child of the test process %d",
		 (int)pid, (int)getpid());
	if (!strstr(msg, who) || !strstr(msg, "returned into cmocka's runner"))
		fail_msg("teardown message: got \"%s\", want it to name \"%s\"", msg, who);
	/* the test process itself goes on to print its summary */
	assert_int_equal(probe_child_group_teardown(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_in_a_child_kills_it_with_sigsegv),
		cmocka_unit_test(test_every_fault_signal_kills_the_child),
		cmocka_unit_test(test_child_resets_every_handler_but_keeps_ignored_signals),
		cmocka_unit_test(test_child_exit_status_is_the_functions_result),
		cmocka_unit_test(test_child_does_not_repeat_buffered_parent_output),
		cmocka_unit_test(test_group_teardown_ends_a_child_that_escaped_into_cmocka),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
