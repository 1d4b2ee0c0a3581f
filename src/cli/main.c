/* agentbox: the command-line client of libagentbox. */
#include <stdio.h>
#include <string.h>

#include "agentbox.h"
#include "cli/doctor.h"
#include "cli/options.h"
#include "cli/proxy_cmd.h"
#include "inner/inner.h"

int main(int argc, char **argv)
{
	/* The backend re-executes this binary as the sandbox's inner stage. */
	if (argc > 1 && strcmp(argv[1], AB_INNER_ARG) == 0)
		return ab_inner_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "proxy") == 0)
		return proxy_cmd_main(argc - 1, argv + 1);

	struct cli cli;
	ab_error err = {0};
	if (cli_parse(argc, argv, &cli, &err) < 0) {
		fprintf(stderr, "agentbox: %s\n", err.message);
		cli_free(&cli);
		return AB_EXIT_FAILURE;
	}
	int status = 0;
	/* A backend picked by the environment is easy to miss (and
	 * AGENTBOX_BACKEND=landlock is the weakest one): said on every run
	 * and explain, even with --quiet, which silences only warnings. */
	if ((cli.command == CLI_RUN || cli.command == CLI_EXPLAIN) && cli.opts.backend_from_env)
		fprintf(stderr, "agentbox: backend %s chosen by the environment variable %s (--backend overrides it)\n",
			ab_backend_name(cli.opts.backend), cli.opts.backend_from_env);
	switch (cli.command) {
	case CLI_HELP:
		cli_usage(stdout);
		break;
	case CLI_VERSION:
		printf("agentbox %s\n", AB_VERSION);
		break;
	case CLI_EXPLAIN:
		if (ab_explain(cli.policy, &cli.opts, cli.argv, cli.json, stdout, &err) < 0) {
			fprintf(stderr, "agentbox: %s\n", err.message);
			status = AB_EXIT_FAILURE;
		}
		break;
	case CLI_DOCTOR:
		status = doctor_main(cli.argv);
		break;
	case CLI_RUN:
		fflush(stdout);
		if (ab_run(cli.policy, &cli.opts, cli.argv, &status, &err) < 0) {
			fprintf(stderr, "agentbox: %s\n", err.message);
			status = AB_EXIT_FAILURE;
		}
		break;
	}
	cli_free(&cli);
	return status;
}
