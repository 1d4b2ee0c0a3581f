/* agentbox: the command-line client of libagentbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentbox.h"
#include "cli/doctor.h"
#include "cli/options.h"
#include "cli/proxy_cmd.h"
#include "cli/trust_cmd.h"
#include "common/util.h"
#include "config/config_print.h"
#include "common/error.h"
#include "inner/inner.h"
#include <errno.h>
#include "common/phase_clock.h"

/* explain with the configuration layers first: in text, a section of
 * its own; in JSON, a "layers" member ahead of the plan's. */
static int explain(struct cli *cli, ab_error *err)
{
	if (!cli->json) {
		cli_config_print_layers(&cli->cfg, stdout);
		return ab_explain(cli->policy, &cli->opts, cli->argv, false, stdout, err);
	}
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		return ab_fail(err, ENOMEM, "explain: out of memory");
	int r = ab_explain(cli->policy, &cli->opts, cli->argv, true, mem, err);
	fclose(mem);
	if (r == 0 && text && text[0] == '{') {
		sbuf b = {0};
		sbuf_add(&b, "{\"layers\":[");
		for (size_t i = 0; i < cli->cfg.lines.n; i++) {
			sbuf_add(&b, i ? "," : "");
			sbuf_add_json_string(&b, cli->cfg.lines.v[i]);
		}
		sbuf_add(&b, "],");
		fputs(b.s, stdout);
		fputs(text + 1, stdout);
		sbuf_free(&b);
	} else if (r == 0 && text) {
		fputs(text, stdout);
	}
	free(text);
	return r;
}

int main(int argc, char **argv)
{
	/* The backend re-executes this binary as the sandbox's inner stage.
	 * (Its stderr is bwrap's capture pipe until the inner stage restores
	 * it: no phase mark before that.) */
	if (argc > 1 && strcmp(argv[1], AB_INNER_ARG) == 0)
		return ab_inner_main(argc - 1, argv + 1);
	phase_mark("main");
	if (argc > 1 && strcmp(argv[1], "proxy") == 0)
		return proxy_cmd_main(argc - 1, argv + 1);

	struct cli cli;
	ab_error err = {0};
	if (cli_parse(argc, argv, &cli, &err) < 0) {
		fprintf(stderr, "agentbox: %s\n", err.message);
		cli_free(&cli);
		return AB_EXIT_FAILURE;
	}
	phase_mark("cli parsed");
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
		if (explain(&cli, &err) < 0) {
			fprintf(stderr, "agentbox: %s\n", err.message);
			status = AB_EXIT_FAILURE;
		}
		break;
	case CLI_CONFIG: {
		sbuf b = {0};
		config_print_json(cli.policy, cli.cfg.preset, &b);
		fputs(b.s, stdout);
		sbuf_free(&b);
		break;
	}
	case CLI_TRUST:
		status = trust_cmd_main(cli.argv);
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
	phase_mark("cli done");
	return status;
}
