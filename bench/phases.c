/* phases: where one agentbox run's time goes, phase by phase.
 *
 * Usage: phases N COMMAND [ARG...]
 *
 * Runs COMMAND (an agentbox command line) N times with AGENTBOX_PHASES=1,
 * which makes agentbox write a line "agentbox-phase PID NS LABEL" to
 * stderr at each phase mark (src/common/phase_clock.h). Per run, the
 * marks are put in time order; each phase is the time from the mark
 * before it (or from posix_spawn) to its own mark, and a last phase runs
 * from the last mark to waitpid's return. Prints the median of each phase
 * over the N runs, in the order of the first run, and the median total.
 * Lines on stderr that are not marks are passed through. Built by
 * bench/phases.sh.
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

#define MAX_PHASES 64
#define MAX_LABEL 64

struct mark {
	long long ns;
	char label[MAX_LABEL];
};

static char labels[MAX_PHASES][MAX_LABEL];
static size_t n_labels;
static long long *samples[MAX_PHASES]; /* [phase][run] */
static size_t n_samples[MAX_PHASES];

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t label_index(const char *label, long runs)
{
	for (size_t i = 0; i < n_labels; i++)
		if (strcmp(labels[i], label) == 0)
			return i;
	if (n_labels == MAX_PHASES) {
		fprintf(stderr, "phases: more than %d phases\n", MAX_PHASES);
		exit(1);
	}
	snprintf(labels[n_labels], MAX_LABEL, "%s", label);
	samples[n_labels] = calloc((size_t)runs, sizeof(long long));
	if (!samples[n_labels]) {
		perror("phases");
		exit(1);
	}
	return n_labels++;
}

static int by_time(const void *a, const void *b)
{
	long long x = ((const struct mark *)a)->ns, y = ((const struct mark *)b)->ns;
	return (x > y) - (x < y);
}

static int by_value(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static long long median(long long *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), by_value);
	return v[n / 2];
}

/* One run: spawn, read its stderr to the end, wait. Fills marks. */
static size_t one_run(char **argv, char **envp, struct mark *marks, long long *t0, long long *t1)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("phases: pipe");
		exit(1);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	pid_t pid;
	*t0 = now_ns();
	int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r != 0) {
		fprintf(stderr, "phases: cannot run %s: %s\n", argv[0], strerror(r));
		exit(1);
	}
	FILE *in = fdopen(pfd[0], "r");
	char line[512];
	size_t n = 0;
	while (in && fgets(line, sizeof(line), in)) {
		int pos = 0;
		long long ns;
		int p;
		if (sscanf(line, "agentbox-phase %d %lld %n", &p, &ns, &pos) == 2 && pos > 0) {
			if (n < MAX_PHASES) {
				marks[n].ns = ns;
				snprintf(marks[n].label, MAX_LABEL, "%.*s", (int)strcspn(line + pos, "\n"),
					 line + pos);
				n++;
			}
		} else {
			fputs(line, stderr);
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("phases: waitpid");
			exit(1);
		}
	*t1 = now_ns();
	if (in)
		fclose(in);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "phases: %s failed (status %d)\n", argv[0], status);
		exit(1);
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s N COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	long runs = bench_count("phases", "N", argv[1], 100000);
	size_t n_env = 0;
	while (environ[n_env])
		n_env++;
	char **envp = calloc(n_env + 2, sizeof(char *));
	if (!envp)
		return 1;
	size_t k = 0;
	for (size_t i = 0; i < n_env; i++)
		if (strncmp(environ[i], "AGENTBOX_PHASES=", 16) != 0)
			envp[k++] = environ[i];
	envp[k++] = "AGENTBOX_PHASES=1";

	long long *totals = calloc((size_t)runs, sizeof(long long));
	struct mark marks[MAX_PHASES];
	for (long run = 0; run < runs; run++) {
		long long t0, t1;
		size_t n = one_run(argv + 2, envp, marks, &t0, &t1);
		if (!n) {
			fprintf(stderr, "phases: no marks from %s; is it an agentbox built with phase marks?\n", argv[2]);
			return 1;
		}
		qsort(marks, n, sizeof(marks[0]), by_time);
		long long prev = t0;
		for (size_t i = 0; i < n; i++) {
			char label[MAX_LABEL + 8];
			snprintf(label, sizeof(label), "%s", i == 0 ? "exec, libc start-up, until main" : marks[i].label);
			size_t li = label_index(label, runs);
			samples[li][n_samples[li]++] = marks[i].ns - prev;
			prev = marks[i].ns;
		}
		size_t li = label_index("exit: until waitpid returns", runs);
		samples[li][n_samples[li]++] = t1 - prev;
		totals[run] = t1 - t0;
	}
	long long total = median(totals, (size_t)runs);
	printf("  %-40s %10s %7s %6s\n", "phase (ends at the mark)", "median", "share", "runs");
	for (size_t i = 0; i < n_labels; i++) {
		long long m = median(samples[i], n_samples[i]);
		printf("  %-40s %7.3f ms %6.1f%% %6zu\n", labels[i], m / 1e6, 100.0 * (double)m / (double)total,
		       n_samples[i]);
	}
	printf("  %-40s %7.3f ms\n", "total (median of the runs)", total / 1e6);
	return 0;
}
