/* spawn_time: run a command N times and print each run's wall time.
 *
 * Usage: spawn_time N COMMAND [ARG...]
 *
 * Each run is posix_spawn + waitpid, timed with CLOCK_MONOTONIC; one line
 * per run on stdout, in nanoseconds. The command's stdout goes to
 * /dev/null so that the numbers are the only output; its stderr is left
 * alone so that failures show. A run that does not exit 0 stops the
 * measurement (exit 1): timing a failing command measures nothing useful.
 *
 * Built on the fly by bench/startup.sh.
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

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s N COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	long runs = bench_count("spawn_time", "N", argv[1], LONG_MAX);

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);

	for (long i = 0; i < runs; i++) {
		pid_t pid;
		int status;
		long long t0 = now_ns();
		int r = posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ);
		if (r != 0) {
			fprintf(stderr, "spawn_time: cannot run %s: %s\n", argv[2], strerror(r));
			return 1;
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				perror("spawn_time: waitpid");
				return 1;
			}
		}
		long long t1 = now_ns();
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "spawn_time: %s failed on run %ld (%s %d)\n", argv[2], i + 1,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			return 1;
		}
		printf("%lld\n", t1 - t0);
	}
	posix_spawn_file_actions_destroy(&fa);
	return fflush(stdout) == 0 ? 0 : 1;
}
