/* The configuration layers of one CLI invocation, lowest first
 * (README "Configuration"):
 *   1. built-in default: the read-only preset, when no layer names a
 *      preset and no --policy-file is given
 *   2. the user's file, $XDG_CONFIG_HOME/agentbox/config.json (else
 *      ~/.config/agentbox/config.json)
 *   3. the project file, .agentbox/policy.json in the working directory
 *      or its nearest repository root: narrowing only unless trusted
 *   4. --policy-file
 *   5. flags, in the order given (--policy is the preset of this layer)
 * The preset is last-wins across layers and applied below every rule;
 * rules replace an earlier layer's rule for the same path; protected
 * names and domain patterns accumulate ("unprotect" removes); the network
 * mode is last-wins. --no-config skips layers 2 and 3. */
#ifndef AB_CLI_CONFIG_STACK_H
#define AB_CLI_CONFIG_STACK_H

#include <stdbool.h>
#include <stdio.h>

#include "agentbox.h"
#include "common/sha256.h"
#include "common/util.h"
#include "policy/layer.h"

struct cli;
struct net_flags;

struct cli_config {
	char *user_dir;        /* user configuration directory, or NULL */
	char *preset;          /* the stack's preset, or NULL */
	char *preset_from;     /* the layer that chose it */
	struct policy_layer user, project, file; /* .rules NULL when absent */
	char *project_path;    /* the project file found, or NULL */
	char *project_text;
	char project_sha[SHA256_HEX_LEN + 1];
	bool project_trusted;
	strv widenings;        /* what the project file widens */
	strv places;           /* where a project file would be found */
	strv lines;            /* the layers, for explain */
	ab_config_path *paths; /* for ab_run_options.config_paths */
	size_t n_paths;
};

/* Builds cli->policy from the layers; fills cli->cfg and the options'
 * config_paths. A project file that widens and is not trusted fails
 * (EPERM) with each widening listed. */
int cli_config_build(struct cli *cli, char **argv, int end, const char *base,
		     const char *flag_preset, const char *file, const struct net_flags *nf,
		     ab_error *err);
void cli_config_free(struct cli_config *c);

/* Reads and parses a layer file: 0, 1 when missing (nothing read), or
 * -errno with err set. *text gets the bytes parsed. */
int cli_config_read_layer(const char *path, const char *source, struct policy_layer *out,
			  char **text, ab_error *err);

/* Composes a policy from the layers given (NULL or absent ones skipped),
 * as above, with no flags; *preset_out (may be NULL) gets the preset. */
ab_policy *cli_config_compose(const struct policy_layer *const *layers, size_t n,
			      const char *flag_preset, bool file_given, const char **preset_out,
			      const char **preset_from);

/* The layer lines for explain, on out. */
void cli_config_print_layers(const struct cli_config *c, FILE *out);

#endif
