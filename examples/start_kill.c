/* A program that links libagentbox and does not block on its run: starts
 * `sh -c 'echo ready; exec sleep 300'` in a sandbox (ab_start), waits on
 * the run's pollable fd with a deadline, sends SIGTERM through
 * ab_child_kill once the command said ready, and reports the exit status
 * (143: killed by SIGTERM).
 *
 *   cc -o start_kill start_kill.c $(pkg-config --cflags --libs agentbox)
 *   ./start_kill [auto|builtin|bwrap|landlock]
 *
 * Exits 0 when the command ran and ended by the SIGTERM, 1 otherwise. */
#include <agentbox.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	ab_error err = {0};
	ab_run_options opts;
	ab_run_options_init(&opts);
	if (argc > 1 && ab_backend_parse(argv[1], &opts.backend) < 0) {
		fprintf(stderr, "start_kill: unknown backend '%s'\n", argv[1]);
		return 2;
	}
	int out[2];
	if (pipe(out) < 0) {
		perror("start_kill: pipe");
		return 1;
	}
	opts.stdout_fd = out[1];

	ab_policy *policy = ab_policy_new();
	if (!policy || ab_policy_apply_preset(policy, "workspace-write", &err) < 0) {
		fprintf(stderr, "start_kill: %s\n", policy ? err.message : "out of memory");
		ab_policy_free(policy);
		return 1;
	}
	char *command[] = {"/bin/sh", "-c", "echo ready; exec sleep 300", NULL};
	ab_child *child;
	int r = ab_start(policy, &opts, command, &child, &err);
	ab_policy_free(policy); /* the run keeps a copy of its own */
	close(out[1]);
	if (r < 0) {
		fprintf(stderr, "start_kill: the sandbox could not be set up: %s\n", err.message);
		return 1;
	}

	/* the command runs: it says so on its stdout */
	char buf[16] = {0};
	ssize_t n = read(out[0], buf, sizeof(buf) - 1);
	close(out[0]);
	if (n <= 0 || strcmp(buf, "ready\n") != 0)
		fprintf(stderr, "start_kill: the command did not say ready\n");
	struct pollfd pf = {.fd = ab_child_pidfd(child), .events = POLLIN};
	if (poll(&pf, 1, 0) != 0)
		fprintf(stderr, "start_kill: the run ended before it was killed\n");
	ab_child_kill(child, SIGTERM);
	if (poll(&pf, 1, 30000) != 1)
		fprintf(stderr, "start_kill: the run did not end within 30 s of SIGTERM\n");

	int status = -1;
	r = ab_child_wait(child, &status, &err);
	ab_child_free(child);
	if (r < 0) {
		fprintf(stderr, "start_kill: %s\n", err.message);
		return 1;
	}
	printf("exit status %d (backend %s)\n", status, ab_backend_name(opts.backend));
	return status == 128 + SIGTERM && n > 0 ? 0 : 1;
}
