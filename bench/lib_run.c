/* lib_run: what does running a command through libagentbox cost, compared
 * with the kernel's floor done by a library call and with starting it
 * directly?
 *
 * Usage: lib_run [--backend NAME] N WORKSPACE
 *
 * Runs /bin/true N times each way, interleaved in rounds (the order
 * rotates from round to round) so that drift in machine load lands on
 * all three:
 *   library      the public API: ab_run, workspace-write, no network, cwd
 *                WORKSPACE, quiet; the built-in engine unless --backend
 *                says otherwise
 *   floor        floor_run (bench/floor_core.h), the same function
 *                bench/floor.c runs: this program itself clones into the
 *                namespaces, writes the id maps, and its PID 1 forks and
 *                execs /bin/true; like ab_run, a call in this process with
 *                no exec of a helper binary
 *   posix_spawn  posix_spawn + waitpid, no sandbox
 * At the end it prints one line per run: "library NS", "floor NS" or
 * "posix_spawn NS". All three commands inherit this program's stdio, so
 * none pays for a redirection the others do not. The policy is built
 * once, outside the timed region: a caller that runs many commands would
 * do the same. A run that does not exit 0 stops the measurement (exit 1).
 *
 * Built on the fly by bench/library.sh against the build's libagentbox.a.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentbox.h"
#include "inner/inner.h"

#include "bench_args.h"
#include "floor_core.h"

extern char **environ;

static char true_path[] = "/bin/true";
static char *const true_argv[] = {true_path, NULL};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int time_library(const ab_policy *p, const ab_run_options *o, long long *ns)
{
	ab_error err = {0};
	int status = -1;
	long long t0 = now_ns();
	int r = ab_run(p, o, true_argv, &status, &err);
	*ns = now_ns() - t0;
	if (r < 0) {
		fprintf(stderr, "lib_run: ab_run failed: %s\n", err.message);
		return -1;
	}
	if (status != 0) {
		fprintf(stderr, "lib_run: /bin/true under ab_run exited with status %d\n", status);
		return -1;
	}
	return 0;
}

static int time_spawn(long long *ns)
{
	pid_t pid;
	int status;
	long long t0 = now_ns();
	int r = posix_spawn(&pid, true_path, NULL, NULL, true_argv, environ);
	if (r != 0) {
		fprintf(stderr, "lib_run: cannot run %s: %s\n", true_path, strerror(r));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("lib_run: waitpid");
			return -1;
		}
	}
	*ns = now_ns() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "lib_run: %s did not exit 0 (wait status 0x%x)\n", true_path, status);
		return -1;
	}
	return 0;
}

static int time_floor(long long *ns)
{
	long long t0 = now_ns();
	int code = floor_run(true_argv);
	*ns = now_ns() - t0;
	if (code < 0) {
		perror("lib_run: floor: clone or wait");
		return -1;
	}
	if (code != 0) {
		fprintf(stderr, "lib_run: /bin/true under the floor exited with status %d\n", code);
		return -1;
	}
	return 0;
}

enum kind { KIND_LIBRARY, KIND_FLOOR, KIND_SPAWN, N_KINDS };

/* Runs `count` of one kind and stores the times at out (NULL for the
 * warm-up). Nothing is printed meanwhile: the built-in engine and the
 * floor clone this process, and a clone that exits through exit() would
 * flush a copy of whatever stdio still holds. */
static int run_chunk(enum kind kind, long count, const ab_policy *p, const ab_run_options *o,
		     long long *out)
{
	for (long i = 0; i < count; i++) {
		long long ns;
		int r = kind == KIND_LIBRARY ? time_library(p, o, &ns)
			: kind == KIND_FLOOR ? time_floor(&ns)
					     : time_spawn(&ns);
		if (r < 0)
			return -1;
		if (out)
			out[i] = ns;
	}
	return 0;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--backend auto|bwrap|builtin] N WORKSPACE\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	/* With the bwrap backend, ab_run re-executes this program as the
	 * sandbox's inner stage, like the agentbox CLI. */
	if (argc > 1 && strcmp(argv[1], AB_INNER_ARG) == 0)
		return ab_inner_main(argc - 1, argv + 1);

	ab_backend backend = AB_BACKEND_BUILTIN;
	int a = 1;
	if (argc > 2 && strcmp(argv[1], "--backend") == 0) {
		if (ab_backend_parse(argv[2], &backend) < 0) {
			fprintf(stderr, "lib_run: unknown backend '%s'\n", argv[2]);
			return usage(argv[0]);
		}
		a = 3;
	}
	if (argc - a != 2)
		return usage(argv[0]);
	long runs = bench_count("lib_run", "N", argv[a], LONG_MAX);

	ab_error err = {0};
	ab_policy *p = ab_policy_new();
	if (ab_policy_apply_preset(p, "workspace-write", &err) < 0) {
		fprintf(stderr, "lib_run: %s\n", err.message);
		return 1;
	}
	ab_policy_set_network(p, AB_NET_NONE);
	ab_run_options o;
	ab_run_options_init(&o);
	o.cwd = argv[a + 1];
	o.quiet = true;
	o.backend = backend;

	/* Warm the page cache and whatever the library caches; not printed. */
	static const char *const names[N_KINDS] = {"library", "floor", "posix_spawn"};
	long long *ns[N_KINDS] = {0};
	int ret = 1;
	for (int k = 0; k < N_KINDS; k++) {
		ns[k] = calloc((size_t)runs, sizeof(*ns[k]));
		if (!ns[k]) {
			perror("lib_run: calloc");
			goto out;
		}
		if (run_chunk((enum kind)k, 5, p, &o, NULL) < 0)
			goto out;
	}

	long rounds = runs < 10 ? runs : 10, done = 0;
	for (long r = 0; r < rounds; r++) {
		long chunk = (runs - done) / (rounds - r);
		/* Rotate which kind goes first in a round. */
		for (int i = 0; i < N_KINDS; i++) {
			int k = (int)((r + i) % N_KINDS);
			if (run_chunk((enum kind)k, chunk, p, &o, ns[k] + done) < 0)
				goto out;
		}
		done += chunk;
	}
	for (long i = 0; i < runs; i++)
		for (int k = 0; k < N_KINDS; k++)
			printf("%s %lld\n", names[k], ns[k][i]);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	for (int k = 0; k < N_KINDS; k++)
		free(ns[k]);
	ab_policy_free(p);
	return ret;
}
