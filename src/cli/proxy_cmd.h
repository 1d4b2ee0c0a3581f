/* `agentbox proxy`: the policy proxy on its own. */
#ifndef AB_CLI_PROXY_CMD_H
#define AB_CLI_PROXY_CMD_H

int proxy_cmd_main(int argc, char **argv);

#endif
