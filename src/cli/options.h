/* Command-line parsing for `agentbox run` and `agentbox explain`. */
#ifndef AB_CLI_OPTIONS_H
#define AB_CLI_OPTIONS_H

#include <stdbool.h>
#include "agentbox.h"

enum cli_command { CLI_RUN, CLI_EXPLAIN, CLI_HELP, CLI_VERSION, CLI_DOCTOR };

struct cli {
	enum cli_command command;
	ab_policy *policy;
	ab_run_options opts;
	bool json;
	char **argv; /* the command to run, or doctor's own arguments (points into the real argv) */
};

/* Layering: the --policy preset (read-only when neither --policy nor
 * --policy-file is given), then the policy file, then --read/--write/
 * --deny/--protect/--net/--allow-domain/--deny-domain in the order given.
 * Domain rules with no mode chosen anywhere mean --net proxy; with none or
 * full, and approval options without proxy, are errors. */
int cli_parse(int argc, char **argv, struct cli *cli, ab_error *err);
void cli_free(struct cli *cli);
void cli_usage(FILE *out);

#endif
