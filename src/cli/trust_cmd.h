/* `agentbox trust [PATH]`: shows what a project file widens relative to
 * the user's configuration, and how it changed since it was last trusted,
 * then records the user's consent in the trust store (config/trust.h). */
#ifndef AB_CLI_TRUST_CMD_H
#define AB_CLI_TRUST_CMD_H

/* args: what follows "trust". Returns the exit status. */
int trust_cmd_main(char **args);

#endif
