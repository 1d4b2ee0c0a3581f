#include "net/net_policy.h"

#include <errno.h>

#include "common/error.h"
#include "policy/policy.h"

/* Parsing, positions and messages are the policy loader's; this only
 * checks that the file means the proxy and hands over its patterns. */
int net_policy_load_file(const char *path, struct domain_rules *rules, ab_error *err)
{
	ab_policy *p = ab_policy_new();
	if (!p)
		return ab_fail(err, ENOMEM, "%s: out of memory creating a policy", path);
	int r = ab_policy_load_file(p, path, err);
	if (r == 0 && p->net_set && p->net != AB_NET_PROXY)
		r = ab_fail(err, EINVAL,
			    "%s: the policy's network mode is \"%s\"; agentbox proxy applies the rules of a \"network\" section with \"mode\": \"proxy\" (or no mode)",
			    path, ab_net_name(p->net));
	/* The patterns passed the same parser in the loader, so adding them
	 * again cannot fail half way. */
	for (size_t i = 0; r == 0 && i < p->domains.n_allow; i++)
		r = domain_rules_add(rules, p->domains.allow[i].text, true, err);
	for (size_t i = 0; r == 0 && i < p->domains.n_deny; i++)
		r = domain_rules_add(rules, p->domains.deny[i].text, false, err);
	ab_policy_free(p);
	return r;
}
