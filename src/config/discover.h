/* Where agentbox finds configuration nobody named on the command line
 * (README "Configuration"): the user's file and trust store in the user
 * configuration directory, and a project's .agentbox/policy.json. */
#ifndef AB_CONFIG_DISCOVER_H
#define AB_CONFIG_DISCOVER_H

#include "agentbox.h"
#include "common/util.h"

#define CONFIG_USER_FILE "config.json"
#define CONFIG_TRUST_FILE "trusted.json"
#define CONFIG_PROJECT_FILE ".agentbox/policy.json"

/* $XDG_CONFIG_HOME/agentbox when XDG_CONFIG_HOME is set and absolute,
 * else $HOME/.config/agentbox when $HOME is absolute, else NULL. */
char *config_user_dir(void);

/* The places a project file is looked for, most specific first: `cwd`
 * (canonical) and its nearest parent that holds a .git, not looking at
 * `home` or above it (NULL: up to /). Both go into *places (one when the
 * working directory is the repository root or there is none). */
void config_project_places(const char *cwd, const char *home, strv *places);

/* Reads agentbox's own configuration file `path` without following any
 * symbolic link (common/config_open.h). Returns 0 with the text in *out,
 * 1 when the file does not exist (*out empty), or -errno with err set. */
int config_read(const char *path, sbuf *out, ab_error *err);

#endif
