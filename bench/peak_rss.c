/* peak_rss: how much memory does a command's own process peak at?
 *
 * Usage: peak_rss N COMMAND [ARG...]
 *
 * Runs COMMAND N times (stdout to /dev/null) and prints one line per run:
 *   HWM_KB MAXRSS_KB
 * HWM_KB is VmHWM from /proc/PID/status, read while the process stops on
 * its way out (ptrace's exit event, which comes before the kernel drops
 * the address space). It is the peak resident set of the command's own
 * address space after its (last) exec, nothing else: not its children,
 * not what this program had mapped before the exec.
 * MAXRSS_KB is ru_maxrss from wait4 on the same process. The kernel fills
 * that the way getrusage(RUSAGE_BOTH) does: the larger of the process's own
 * peak (including the address space it had before exec, here this
 * program's) and the peaks of the descendants it reaped. It is printed so
 * that the two can be compared, but HWM_KB is the one that answers "how
 * big is agentbox itself".
 *
 * Only the direct child is traced, and only for its execs and exit: it runs
 * as usual otherwise, and its children are not traced at all. Signals that
 * stop it on the way are passed on unchanged. A run that does not exit 0
 * stops the measurement (exit 1).
 *
 * Built on the fly by bench/rss.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_args.h"

static long read_hwm_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long kb = -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static pid_t start(char **cmd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) {
		perror("peak_rss: preparing the child");
		_exit(127);
	}
	/* A traced process stops with SIGTRAP after a successful exec; the
	 * parent sets its options there. */
	execvp(cmd[0], cmd);
	fprintf(stderr, "peak_rss: cannot run %s: %s\n", cmd[0], strerror(errno));
	_exit(127);
}

/* Follows one traced child to its end; returns 0 and fills the two values
 * when it exited 0. */
static int measure(char **cmd, long *hwm_kb, long *maxrss_kb)
{
	pid_t pid = start(cmd);
	if (pid < 0) {
		perror("peak_rss: fork");
		return -1;
	}
	bool execed = false;
	*hwm_kb = -1;
	for (;;) {
		int status;
		struct rusage ru;
		if (wait4(pid, &status, 0, &ru) < 0) {
			if (errno == EINTR)
				continue;
			perror("peak_rss: wait4");
			return -1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			*maxrss_kb = ru.ru_maxrss;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && *hwm_kb >= 0)
				return 0;
			fprintf(stderr, "peak_rss: %s did not exit 0 (wait status 0x%x)\n", cmd[0],
				status);
			return -1;
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status), pass = 0;
		if (!execed && sig == SIGTRAP) {
			/* TRACEEXEC turns the SIGTRAP of any later exec into an
			 * event stop, which is not passed on as a signal. */
			execed = true;
			if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
				   (void *)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC |
					    PTRACE_O_EXITKILL)) < 0) {
				perror("peak_rss: PTRACE_SETOPTIONS");
				kill(pid, SIGKILL);
			}
		} else if (status >> 8 == (SIGTRAP | PTRACE_EVENT_EXIT << 8)) {
			*hwm_kb = read_hwm_kb(pid);
		} else if (status >> 8 == (SIGTRAP | PTRACE_EVENT_EXEC << 8)) {
			/* nothing to do; VmHWM starts again with the new image */
		} else {
			pass = sig;
		}
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)pass);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s N COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	long runs = bench_count("peak_rss", "N", argv[1], LONG_MAX);
	for (long i = 0; i < runs; i++) {
		long hwm, maxrss;
		fflush(stdout);
		if (measure(argv + 2, &hwm, &maxrss) < 0)
			return 1;
		printf("%ld %ld\n", hwm, maxrss);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
