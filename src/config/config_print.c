/* The effective configuration as a version 1 policy (config_print.h).
 * Loading the output with --policy-file gives the same policy: the
 * preset's own entries are left to the "preset" key, every other rule is
 * written with its access, protected names as the difference from the
 * built-in list, and the network as the mode and both domain lists. */
#include "config/config_print.h"

#include <string.h>

#include "policy/env_json.h"
#include "policy/policy.h"

static bool from_preset(const struct policy_entry *e)
{
	return e->origin && strncmp(e->origin, "preset ", 7) == 0;
}

static bool protects(const ab_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_protect; i++)
		if (strcmp(p->protect[i], name) == 0)
			return true;
	return false;
}

static void add_domains(sbuf *b, const char *key, const struct domain_pattern *d, size_t n)
{
	if (n == 0)
		return;
	sbuf_addf(b, ", \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		sbuf_add(b, i ? ", " : "");
		sbuf_add_json_string(b, d[i].text);
	}
	sbuf_add(b, "]");
}

void config_print_json(const ab_policy *p, const char *preset, sbuf *b)
{
	sbuf_add(b, "{\n  \"version\": 1");
	if (preset) {
		sbuf_add(b, ",\n  \"preset\": ");
		sbuf_add_json_string(b, preset);
	}
	bool first = true;
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct policy_entry *e = &p->entries[i];
		if (from_preset(e))
			continue;
		sbuf_add(b, first ? ",\n  \"filesystem\": {" : ",");
		first = false;
		_cleanup_free_ char *spell = policy_entry_spelling(e);
		sbuf_add(b, "\n    ");
		sbuf_add_json_string(b, spell);
		sbuf_addf(b, ": \"%s%s\"", ab_access_name(e->access), e->create ? "+create" : "");
	}
	if (!first)
		sbuf_add(b, "\n  }");
	bool any = false;
	for (size_t i = 0; i < p->n_protect; i++) {
		if (policy_protect_default(p->protect[i]))
			continue;
		sbuf_add(b, any ? ", " : ",\n  \"protect\": [");
		any = true;
		sbuf_add_json_string(b, p->protect[i]);
	}
	if (any)
		sbuf_add(b, "]");
	any = false;
	for (size_t i = 0; policy_protect_defaults[i].name; i++) {
		if (protects(p, policy_protect_defaults[i].name))
			continue;
		sbuf_add(b, any ? ", " : ",\n  \"unprotect\": [");
		any = true;
		sbuf_add_json_string(b, policy_protect_defaults[i].name);
	}
	if (any)
		sbuf_add(b, "]");
	if (p->net_set || p->n_allow_unix) {
		sbuf_add(b, ",\n  \"network\": {");
		if (p->net_set)
			sbuf_addf(b, "\"mode\": \"%s\"", ab_net_name(p->net));
		if (p->net_set && p->net == AB_NET_PROXY) {
			add_domains(b, "allow", p->domains.allow, p->domains.n_allow);
			add_domains(b, "deny", p->domains.deny, p->domains.n_deny);
		}
		for (size_t i = 0; i < p->n_allow_unix; i++) {
			sbuf_add(b, i ? ", " : p->net_set ? ", \"allow_unix\": [" : "\"allow_unix\": [");
			sbuf_add_json_string(b, p->allow_unix[i].path);
		}
		if (p->n_allow_unix)
			sbuf_add(b, "]");
		sbuf_add(b, "}");
	}
	for (size_t i = 0; i < p->n_allow_credentials; i++) {
		sbuf_add(b, i ? ", " : ",\n  \"allow_credentials\": [");
		sbuf_add_json_string(b, p->allow_credentials[i].name);
	}
	if (p->n_allow_credentials)
		sbuf_add(b, "]");
	if (p->git_set)
		sbuf_addf(b, ",\n  \"git\": \"%s\"", ab_git_mode_name(p->git));
	if (p->git_scan_depth_set)
		sbuf_addf(b, ",\n  \"git_scan_depth\": %d", p->git_scan_depth);
	policy_globs_print_json(&p->globs, b);
	env_json_print(b, &p->env);
	sbuf_add(b, "\n}\n");
}
