/* A program that links libagentbox: runs `/bin/sh -c 'echo hi'` in a
 * sandbox that reads the whole filesystem, writes the current directory
 * and /tmp, and has no network, then prints the command's exit status.
 *
 *   cc -o run_true run_true.c $(pkg-config --cflags --libs agentbox)
 *   cc -static -o run_true run_true.c $(pkg-config --static --cflags --libs agentbox)
 *   ./run_true [auto|builtin|bwrap|landlock]
 *
 * Nothing here hands over to the inner stage: with glibc the library does
 * that itself when the bwrap backend runs this program inside the sandbox
 * (agentbox.h, "The inner stage"). Exits 0 when the command ran and
 * printed hi, 1 otherwise. */
#include <agentbox.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	ab_error err = {0};
	ab_run_options opts;
	ab_run_options_init(&opts);
	if (argc > 1 && ab_backend_parse(argv[1], &opts.backend) < 0) {
		fprintf(stderr, "run_true: unknown backend '%s'\n", argv[1]);
		return 2;
	}

	ab_policy *policy = ab_policy_new();
	if (!policy) {
		fprintf(stderr, "run_true: out of memory\n");
		return 1;
	}
	if (ab_policy_apply_preset(policy, "workspace-write", &err) < 0) {
		fprintf(stderr, "run_true: %s\n", err.message);
		ab_policy_free(policy);
		return 1;
	}
	ab_policy_set_network(policy, AB_NET_NONE);

	char *command[] = {"/bin/sh", "-c", "echo hi", NULL};
	int status = -1;
	int r = ab_run(policy, &opts, command, &status, &err);
	ab_policy_free(policy);
	if (r < 0) {
		fprintf(stderr, "run_true: the sandbox could not be set up: %s\n", err.message);
		return 1;
	}
	printf("exit status %d (backend %s)\n", status, ab_backend_name(opts.backend));
	return status == 0 ? 0 : 1;
}
