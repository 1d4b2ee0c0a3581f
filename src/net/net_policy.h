/* The "network" section of a policy file, as the proxy reads it:
 *   "network": {"mode": "proxy", "allow": ["**.github.com"], "deny": [...]}
 * Only this section is read; the rest of the file is agentbox run's. */
#ifndef AB_NET_NET_POLICY_H
#define AB_NET_NET_POLICY_H

#include <stddef.h>

#include "agentbox.h"
#include "net/domain.h"

int net_policy_load_file(const char *path, struct domain_rules *rules, ab_error *err);
/* The same from text; `source` names it in messages (file:line:col). */
int net_policy_load_text(const char *text, size_t len, const char *source,
			 struct domain_rules *rules, ab_error *err);

#endif
