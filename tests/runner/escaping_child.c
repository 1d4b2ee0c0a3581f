/* Not a test: a fixture for t_count_tests.sh. A cmocka binary whose first
 * test forks a child with a plain fork(), so the child keeps cmocka's
 * fault handlers; the child faults, the handler longjmp()s into cmocka's
 * runner, and the child runs the second test and prints a summary of its
 * own before the test process prints its summary. That is issue #11 as it
 * happened in test_seccomp on a kernel without ia32 emulation.
 *
 *   escaping_child unguarded   no group setup/teardown: two summaries
 *   escaping_child guarded     probe_child_group_setup/teardown: the child
 *                              is ended before it prints a summary */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../unit/probe_child.h"

static void forks_a_child_that_faults(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		raise(SIGSEGV); /* caught by cmocka's handler, which longjmp()s */
		_exit(0);       /* reached only without a handler */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void runs_after_the_fork(void **state)
{
	(void)state;
	assert_true(getpid() > 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forks_a_child_that_faults),
		cmocka_unit_test(runs_after_the_fork),
	};
	if (argc == 2 && strcmp(argv[1], "guarded") == 0)
		return cmocka_run_group_tests(tests, probe_child_group_setup,
					      probe_child_group_teardown);
	if (argc == 2 && strcmp(argv[1], "unguarded") == 0)
		return cmocka_run_group_tests(tests, NULL, NULL);
	return 2;
}
