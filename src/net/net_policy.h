/* The domain rules of a policy file, for `agentbox proxy --policy-file`.
 * The file is a whole policy (docs/policy.md) read by the one policy file
 * loader; the proxy takes its "network" section:
 *   "network": {"mode": "proxy", "allow": ["**.github.com"], "deny": [...]}
 * Its other sections are checked like any policy's, then not used. */
#ifndef AB_NET_NET_POLICY_H
#define AB_NET_NET_POLICY_H

#include "agentbox.h"
#include "policy/domain.h"

/* Appends the file's allow and deny patterns to *rules. A bad file, or one
 * whose network mode is none or full, leaves *rules unchanged. */
int net_policy_load_file(const char *path, struct domain_rules *rules, ab_error *err);

#endif
