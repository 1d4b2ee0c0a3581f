/* Merging one configuration layer into a policy (policy/layer.h). */
#include "policy/layer.h"

#include <stdlib.h>
#include <string.h>

void policy_merge_rules(ab_policy *p, const ab_policy *rules, const strv *protect,
			const strv *unprotect, bool set_net)
{
	for (size_t i = 0; i < rules->n_entries; i++) {
		const struct policy_entry *e = &rules->entries[i];
		policy_add_entry_create(p, e->kind, e->path, e->access, e->origin, e->create);
	}
	for (size_t i = 0; i < protect->n; i++)
		policy_add_protect(p, protect->v[i], NULL);
	/* not protected in p (removed before): nothing to remove */
	for (size_t i = 0; i < unprotect->n; i++)
		policy_remove_protect(p, unprotect->v[i], NULL);
	const struct domain_rules *d = &rules->domains;
	for (size_t i = 0; i < d->n_allow; i++)
		policy_add_domain(p, d->allow[i].text, true, NULL);
	for (size_t i = 0; i < d->n_deny; i++)
		policy_add_domain(p, d->deny[i].text, false, NULL);
	if (set_net)
		ab_policy_set_network(p, rules->net);
	for (size_t i = 0; i < rules->n_allow_unix; i++)
		policy_add_allow_unix(p, rules->allow_unix[i].path, rules->allow_unix[i].origin, NULL);
	for (size_t i = 0; i < rules->n_allow_credentials; i++)
		policy_add_allow_credentials(p, rules->allow_credentials[i].name,
					     rules->allow_credentials[i].origin, NULL);
	if (rules->git_set)
		ab_policy_set_git(p, rules->git);
	env_policy_merge(&p->env, &rules->env);
	if (rules->git_scan_depth_set) {
		p->git_scan_depth = rules->git_scan_depth;
		p->git_scan_depth_set = true;
	}
	policy_globs_merge(&p->globs, &rules->globs);
}

void policy_layer_merge(ab_policy *p, const struct policy_layer *l)
{
	policy_merge_rules(p, l->rules, &l->protect, &l->unprotect, l->net_set);
}

void policy_layer_free(struct policy_layer *l)
{
	free(l->source);
	free(l->preset);
	ab_policy_free(l->rules);
	strv_free(&l->protect);
	strv_free(&l->unprotect);
	memset(l, 0, sizeof(*l));
}
