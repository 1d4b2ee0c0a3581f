/* Child processes of a unit test that never run cmocka's machinery.
 *
 * While a test runs, cmocka catches SIGSEGV, SIGBUS, SIGILL, SIGFPE and
 * SIGSYS and longjmp()s back into its runner. A forked child inherits
 * those handlers, so a child that faults (int 0x80 on a kernel without
 * ia32 emulation raises SIGSEGV) would not die: it would report the test
 * as failed and go on running the rest of the suite, printing a second
 * set of results. A probe child started here has every caught signal back
 * at SIG_DFL, so a fault kills it and the parent sees the signal in the
 * wait status. The child leaves only through _exit(): it never returns
 * into cmocka and never flushes stdio buffers copied from the parent.
 *
 * The function run in the child must not call cmocka (assert_*, fail,
 * skip): those longjmp into the runner too. It reports through its return
 * value (the exit status, 0..255), a pipe, or by dying. */
#ifndef AB_TESTS_PROBE_CHILD_H
#define AB_TESTS_PROBE_CHILD_H

#include <sys/types.h>

typedef int (*probe_child_fn)(void *arg);

/* Forks a child that runs fn(arg) with default signal handlers and
 * _exit()s with its return value. Returns the child's pid; fails the
 * current test if fork(2) fails. */
pid_t probe_child_start(probe_child_fn fn, void *arg);

/* Waits for `pid` (retrying EINTR) and returns its wait status; fails the
 * current test if waitpid(2) fails. */
int probe_child_wait(pid_t pid);

/* probe_child_start + probe_child_wait: the child's wait status. */
int probe_child_run(probe_child_fn fn, void *arg);

/* Puts every signal that has a handler back to SIG_DFL (ignored signals
 * stay ignored, as across execve). Called in the child by
 * probe_child_start; exposed for the test of this file. */
void probe_child_default_signals(void);

/* Group setup and teardown for every unit test binary: the setup records
 * the test process's pid; the teardown, which cmocka runs after the last
 * test and before it prints the summary, _exit()s any other process that
 * got there. Such a process is a forked child (of a test or of the code
 * under test) that returned into cmocka's runner; killing it there keeps
 * its results out of the binary's output, so that only the test process
 * itself reports a summary. It exits with PROBE_CHILD_ESCAPED and says so
 * on stderr. */
#define PROBE_CHILD_ESCAPED 125
int probe_child_group_setup(void **state);
int probe_child_group_teardown(void **state);

#endif
