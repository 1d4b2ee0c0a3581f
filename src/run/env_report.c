/* The environment policy of a run, evaluated and reported (env_report.h).
 * Only names and the rules' patterns are printed, never values: explain
 * and the events go to logs. */
#include "run/env_report.h"

#include <string.h>

#include "plan/plan.h"
#include "policy/policy.h"
#include "supervisor/sandbox_proxy.h"

extern char **environ;

int env_report_eval(const ab_policy *p, const ab_run_options *o, const struct plan *plan,
		    struct env_result *out, ab_error *err)
{
	strv sockets = {0};
	for (size_t i = 0; i < p->n_allow_unix; i++)
		strv_push(&sockets, p->allow_unix[i].path);
	struct env_context ctx = {
		.allow_unix = (const char *const *)sockets.v,
		.n_allow_unix = sockets.n,
	};
	if (plan->net == AB_NET_PROXY) {
		ctx.reserved = sandbox_proxy_sets;
		ctx.reserved_why = "under --net proxy agentbox points the proxy variables at its policy proxy";
	}
	int r = env_policy_eval(&p->env, o->envp ? o->envp : environ, &ctx, out, err);
	strv_free(&sockets);
	return r;
}

static void names_json(sbuf *b, char *const *names, size_t n)
{
	sbuf_add(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_add(b, ",");
		sbuf_add_json_string(b, names[i]);
	}
	sbuf_add(b, "]");
}

static void dropped_names_json(sbuf *b, const struct env_result *r)
{
	sbuf_add(b, "[");
	for (size_t i = 0; i < r->n_dropped; i++) {
		if (i)
			sbuf_add(b, ",");
		sbuf_add_json_string(b, r->dropped[i].name);
	}
	sbuf_add(b, "]");
}

void env_report_start_json(sbuf *b, const struct env_result *r)
{
	sbuf_add(b, ",\"env_dropped\":");
	dropped_names_json(b, r);
	sbuf_add(b, ",\"env_kept\":");
	names_json(b, r->kept, r->n_kept);
}

/* The names `set` gives, without their values. */
static void set_names_json(sbuf *b, const ab_policy *p)
{
	const struct env_rules *set = &p->env.lists[ENV_SET];
	sbuf_add(b, "[");
	for (size_t i = 0; i < set->n; i++) {
		if (i)
			sbuf_add(b, ",");
		_cleanup_free_ char *name = xstrndup(set->v[i].text, strcspn(set->v[i].text, "="));
		sbuf_add_json_string(b, name);
	}
	sbuf_add(b, "]");
}

void env_report_explain_json(sbuf *b, const ab_policy *p, const struct env_result *r)
{
	sbuf_addf(b, ",\"env\":{\"inherit\":\"%s\",\"dropped\":[", env_inherit_name(p->env.inherit));
	for (size_t i = 0; i < r->n_dropped; i++) {
		sbuf_add(b, i ? ",{\"name\":" : "{\"name\":");
		sbuf_add_json_string(b, r->dropped[i].name);
		sbuf_add(b, ",\"why\":");
		sbuf_add_json_string(b, r->dropped[i].why);
		sbuf_add(b, "}");
	}
	sbuf_add(b, "],\"kept\":");
	names_json(b, r->kept, r->n_kept);
	sbuf_add(b, ",\"set\":");
	set_names_json(b, p);
	sbuf_add(b, "}");
}

void env_report_explain_text(FILE *out, const ab_policy *p, const struct env_result *r)
{
	fprintf(out, "\nenvironment: inherit %s; %zu variable%s passed, %zu dropped (values not shown)\n",
		env_inherit_name(p->env.inherit), r->n_env, r->n_env == 1 ? "" : "s", r->n_dropped);
	for (size_t i = 0; i < r->n_dropped; i++)
		fprintf(out, "  dropped %s: %s\n", r->dropped[i].name, r->dropped[i].why);
	for (size_t i = 0; i < r->n_kept; i++)
		fprintf(out, "  kept %s: passed through by keep (--env-keep) over the rule that dropped it\n",
			r->kept[i]);
	const struct env_rules *set = &p->env.lists[ENV_SET];
	for (size_t i = 0; i < set->n; i++)
		fprintf(out, "  set %.*s (%s)\n", (int)strcspn(set->v[i].text, "="), set->v[i].text,
			set->v[i].origin);
	fputs("  then agentbox sets AGENTBOX_SANDBOX, AGENTBOX_NETWORK, GIT_CONFIG_* (and under --net proxy the proxy variables) over these\n",
	      out);
}
