/* Command-line parsing for `agentbox run` and `agentbox explain`. */
#ifndef AB_CLI_OPTIONS_H
#define AB_CLI_OPTIONS_H

#include <stdbool.h>
#include "agentbox.h"
#include "cli/config_stack.h"

enum cli_command { CLI_RUN, CLI_EXPLAIN, CLI_CONFIG, CLI_TRUST, CLI_HELP, CLI_VERSION, CLI_DOCTOR };

struct cli {
	enum cli_command command;
	ab_policy *policy;
	ab_run_options opts;
	bool json;
	bool no_config;        /* --no-config: no discovered file is read */
	struct cli_config cfg; /* the layers the policy was built from */
	char **argv; /* the command to run, or doctor's own arguments (points into the real argv) */
};

/* Parses the command line and builds the policy from the layers
 * (cli/config_stack.h). Domain rules with no mode chosen anywhere mean
 * --net proxy; with none or full, and approval options without proxy, are
 * errors. */
int cli_parse(int argc, char **argv, struct cli *cli, ab_error *err);

/* What the command line said about the network, for the checks that need
 * the whole picture (the files' mode included). */
struct net_flags {
	const char *net;      /* last --net value, or NULL */
	const char *domain;   /* first --allow-domain / --deny-domain, or NULL */
	const char *approval; /* first approval option, or NULL */
};
/* The rule flags (--read/--write/--deny/--protect/--unprotect/--net/
 * --allow-domain/--deny-domain) of argv[2..end) applied in order to p;
 * relative paths are taken from `base`. */
int cli_apply_flags(ab_policy *p, char **argv, int end, const char *base, ab_error *err);
/* The network checks above; `mode_layer` names the layer that set the
 * mode when no --net did. */
int cli_settle_network(ab_policy *p, const struct net_flags *f, const char *mode_layer,
		       ab_error *err);
void cli_free(struct cli *cli);
void cli_usage(FILE *out);

#endif
