/* `agentbox config`: the effective configuration (every layer merged,
 * before resolution) as a policy file that --policy-file accepts. */
#ifndef AB_CONFIG_CONFIG_PRINT_H
#define AB_CONFIG_CONFIG_PRINT_H

#include "agentbox.h"
#include "common/util.h"

/* `preset` is the stack's preset (NULL: none), whose entries are written
 * as the "preset" key rather than as rules. */
void config_print_json(const ab_policy *p, const char *preset, sbuf *out);

#endif
