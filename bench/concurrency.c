/* concurrency: how many commands per second do J parallel loops finish?
 *
 * Usage: concurrency J SECONDS COMMAND [ARG...]
 *
 * Forks J workers. Each one runs COMMAND again and again (posix_spawn +
 * waitpid, stdout to /dev/null, stderr left alone) until SECONDS have
 * passed since the common start, finishing the run under way. The workers
 * are released together through a pipe that carries the start time, so
 * none gets a head start while the others are still being forked.
 * Prints one line: total runs, then commands per second, the sum over the
 * workers of runs / (end of its last run - start). A run that does not
 * exit 0 fails the measurement (exit 1).
 *
 * A C driver rather than shell loops: a shell's own fork and bookkeeping
 * per command would be counted against both sides and blur the ratio.
 * Built on the fly by bench/concurrency.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"

extern char **environ;

struct result {
	long runs;
	long long elapsed_ns;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static _Noreturn void worker(int start_fd, int result_fd, long long duration_ns, char **cmd)
{
	long long t0;
	if (read(start_fd, &t0, sizeof(t0)) != sizeof(t0))
		_exit(1); /* the parent gave up before the start */

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	struct result res = {0};
	long long t = t0;
	while (t - t0 < duration_ns) {
		pid_t pid;
		int status;
		int r = posix_spawn(&pid, cmd[0], &fa, NULL, cmd, environ);
		if (r != 0) {
			fprintf(stderr, "concurrency: cannot run %s: %s\n", cmd[0], strerror(r));
			_exit(1);
		}
		if (wait_child(pid, &status) < 0) {
			perror("concurrency: waitpid");
			_exit(1);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "concurrency: %s did not exit 0 (wait status 0x%x)\n",
				cmd[0], status);
			_exit(1);
		}
		res.runs++;
		t = now_ns();
	}
	res.elapsed_ns = t - t0;
	if (write(result_fd, &res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s J SECONDS COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	long jobs = bench_count("concurrency", "J", argv[1], 1024);
	char *end;
	double secs = strtod(argv[2], &end);
	if (*end || !(secs > 0)) {
		fprintf(stderr, "concurrency: SECONDS must be a positive number, not '%s'\n", argv[2]);
		return 2;
	}

	int start[2], results[2];
	if (pipe2(start, O_CLOEXEC) < 0 || pipe2(results, O_CLOEXEC) < 0) {
		perror("concurrency: pipe");
		return 1;
	}
	fflush(stdout);
	pid_t *pids = calloc((size_t)jobs, sizeof(*pids));
	if (!pids) {
		perror("concurrency: calloc");
		return 1;
	}
	for (long i = 0; i < jobs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("concurrency: fork");
			return 1; /* the started workers see EOF on the start pipe */
		}
		if (pids[i] == 0) {
			close(start[1]);
			close(results[0]);
			worker(start[0], results[1], (long long)(secs * 1e9), argv + 3);
		}
	}
	close(start[0]);
	close(results[1]);

	/* Eight bytes per worker, well under PIPE_BUF: each read gets one whole
	 * start time and the writes never block. */
	long long t0 = now_ns();
	for (long i = 0; i < jobs; i++) {
		if (write(start[1], &t0, sizeof(t0)) != sizeof(t0)) {
			perror("concurrency: write");
			return 1;
		}
	}
	close(start[1]);

	long total = 0;
	double per_sec = 0;
	long got = 0;
	struct result res;
	while (read(results[0], &res, sizeof(res)) == sizeof(res)) {
		total += res.runs;
		per_sec += res.runs / (res.elapsed_ns / 1e9);
		got++;
	}
	int failed = 0;
	for (long i = 0; i < jobs; i++) {
		int status;
		if (wait_child(pids[i], &status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	}
	free(pids);
	if (failed || got != jobs) {
		fprintf(stderr, "concurrency: %ld of %ld workers failed; see the messages above\n",
			jobs - got, jobs);
		return 1;
	}
	printf("%ld %.1f\n", total, per_sec);
	return fflush(stdout) == 0 ? 0 : 1;
}
