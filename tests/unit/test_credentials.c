/* The credential deny set's resolution (plan/credentials.c) against real
 * trees: entries hidden only where they exist under the test's $HOME,
 * the tools' variables (KUBECONFIG lists, DOCKER_CONFIG, XDG_CONFIG_HOME)
 * followed, --allow-credentials and an explicit rule keeping one
 * visible, and "allow_credentials" in a policy file. The tests pass the
 * real table with their own $HOME and environment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe_child.h"
#include "tree_fixture.h"

static const char *env[8];

/* T/h is $HOME (read through :root), T/w the writable working directory. */
static ab_policy *setup(struct plan_context *ctx)
{
	mkdirs("w");
	mkdirs("h");
	env[0] = NULL;
	*ctx = (struct plan_context){.cwd = P("w"), .home = P("h"), .no_proc = true,
				     .credentials = policy_credential_list, .env = env};
	ab_policy *p = policy_git_agentbox_only();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	return p;
}

/* mkfile with its parent directories made first. */
static void put(const char *rel, const char *content)
{
	_cleanup_free_ char *parent = xstrdup(rel);
	char *slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(parent);
	}
	mkfile(rel, content);
}

static const struct plan_node *node(const struct plan *plan, const char *path)
{
	int i = plan_find_node(plan, path);
	return i < 0 ? NULL : &plan->nodes[i];
}

static bool has_op(const struct plan *plan, enum plan_op_kind kind, const char *path)
{
	for (size_t i = 0; i < plan->n_ops; i++)
		if (plan->ops[i].kind == kind && strcmp(plan->ops[i].path, path) == 0)
			return true;
	return false;
}

static const struct plan_credential *cred(const struct plan *plan, const char *path)
{
	for (size_t i = 0; i < plan->n_credentials; i++)
		if (strcmp(plan->credentials[i].path, path) == 0)
			return &plan->credentials[i];
	return NULL;
}

static bool hidden(const struct plan *plan, const char *path)
{
	const struct plan_node *n = node(plan, path);
	const struct plan_credential *c = cred(plan, path);
	return n && n->access == AB_ACCESS_NONE && n->source == NODE_CREDENTIAL && c && c->hidden;
}

/* Existing entries get a mask each, ~/.ssh keeps known_hosts and config
 * readable, and what does not exist costs neither a node nor a mount. */
static void test_existing_entries_hidden_missing_ones_cost_nothing(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup(&ctx);
	put("h/.ssh/id_ed25519", "PRIVATE");
	put("h/.ssh/known_hosts", "host key");
	put("h/.ssh/config", "Host x");
	put("h/.npmrc", "registry=https://r.example/");
	put("h/.config/gh/hosts.yml", "oauth_token: x");
	put("h/.bashrc", "alias x=y");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_true(hidden(&plan, P("h/.ssh")));
	assert_true(has_op(&plan, OP_MASK_DIR, P("h/.ssh")));
	assert_int_equal(node(&plan, P("h/.ssh/known_hosts"))->access, AB_ACCESS_READ);
	assert_true(has_op(&plan, OP_BIND_RO, P("h/.ssh/known_hosts")));
	assert_true(has_op(&plan, OP_BIND_RO, P("h/.ssh/config")));
	assert_null(node(&plan, P("h/.ssh/id_ed25519")));
	assert_true(hidden(&plan, P("h/.npmrc")));
	assert_true(has_op(&plan, OP_MASK_FILE, P("h/.npmrc")));
	assert_true(hidden(&plan, P("h/.config/gh/hosts.yml")));
	assert_null(node(&plan, P("h/.bashrc")));
	assert_null(node(&plan, P("h/.aws")));
	assert_int_equal(plan.n_credentials, 3);
	plan_free(&plan);
	ab_policy_free(p);
}

/* Without a table (a test's own context) nothing is added. */
static void test_no_table_adds_nothing(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup(&ctx);
	put("h/.netrc", "machine x password y");
	ctx.credentials = NULL;
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("h/.netrc")));
	assert_int_equal(plan.n_credentials, 0);
	plan_free(&plan);
	ab_policy_free(p);
}

/* The tools' variables: every absolute part of a KUBECONFIG list that
 * exists, DOCKER_CONFIG's config.json, $XDG_CONFIG_HOME's gh/hosts.yml;
 * a relative value names nothing. */
static void test_tool_variables_and_xdg_config_home(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup(&ctx);
	put("k/one.yaml", "token: a");
	put("k/two.yaml", "token: b");
	put("d/config.json", "{\"auths\": {}}");
	put("x/gh/hosts.yml", "oauth_token: x");
	put("w/rel.yaml", "token: c");
	_cleanup_free_ char *kube = xasprintf("KUBECONFIG=%s:%s:%s:rel.yaml", P("k/one.yaml"),
					       P("k/missing.yaml"), P("k/two.yaml"));
	_cleanup_free_ char *docker = xasprintf("DOCKER_CONFIG=%s", P("d"));
	_cleanup_free_ char *xdg = xasprintf("XDG_CONFIG_HOME=%s", P("x"));
	env[0] = kube;
	env[1] = docker;
	env[2] = xdg;
	env[3] = "NPM_CONFIG_USERCONFIG=w/rel.yaml";
	env[4] = NULL;
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_true(hidden(&plan, P("k/one.yaml")));
	assert_true(hidden(&plan, P("k/two.yaml")));
	assert_null(node(&plan, P("k/missing.yaml")));
	assert_true(hidden(&plan, P("d/config.json")));
	assert_null(node(&plan, P("d")));
	assert_true(hidden(&plan, P("x/gh/hosts.yml")));
	assert_null(node(&plan, P("w/rel.yaml")));
	assert_string_equal(cred(&plan, P("k/two.yaml"))->name, "kube");
	plan_free(&plan);
	ab_policy_free(p);
}

/* A variable naming $HOME (or the working directory) would hide the work:
 * a warning, no node. */
static void test_variable_naming_home_is_refused_with_warning(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup(&ctx);
	_cleanup_free_ char *gnupg = xasprintf("GNUPGHOME=%s", P("h"));
	env[0] = gnupg;
	env[1] = NULL;
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("h")));
	bool warned = false;
	for (size_t i = 0; i < plan.n_warnings; i++)
		warned |= strcmp(plan.warnings[i].code, "credential_path_too_wide") == 0;
	assert_true(warned);
	plan_free(&plan);
	ab_policy_free(p);
}

/* --allow-credentials NAME keeps that entry (and only it) visible and
 * says by what; "all" keeps every one; an unknown name is refused. */
static void test_allow_credentials_by_name(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup(&ctx);
	put("h/.aws/credentials", "aws_secret_access_key = x");
	put("h/.pypirc", "password = y");
	ab_error err;
	assert_int_equal(ab_policy_allow_credentials(p, "aws", &err), 0);
	assert_int_equal(ab_policy_allow_credentials(p, "nope", &err), -EINVAL);
	assert_non_null(strstr(err.message, "not an entry of the credential deny set"));
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("h/.aws")));
	assert_false(cred(&plan, P("h/.aws"))->hidden);
	assert_string_equal(cred(&plan, P("h/.aws"))->why, "--allow-credentials aws");
	assert_true(hidden(&plan, P("h/.pypirc")));
	plan_free(&plan);
	assert_int_equal(ab_policy_allow_credentials(p, "all", &err), 0);
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("h/.pypirc")));
	assert_false(cred(&plan, P("h/.pypirc"))->hidden);
	plan_free(&plan);
	ab_policy_free(p);
}

/* A rule that names the credential path itself wins; a rule on a parent
 * ($HOME) does not, and a rule below a hidden entry reopens that part. */
static void test_explicit_rule_wins_parent_rule_does_not(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup(&ctx);
	put("h/.aws/credentials", "aws_secret_access_key = x");
	put("h/.kube/config", "token: x");
	put("h/.gnupg/pubring.kbx", "keys");
	rule(p, P("h/.aws"), AB_ACCESS_READ);
	rule(p, P("h"), AB_ACCESS_READ);
	rule(p, P("h/.gnupg/pubring.kbx"), AB_ACCESS_READ);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, P("h/.aws"))->access, AB_ACCESS_READ);
	assert_int_equal(node(&plan, P("h/.aws"))->source, NODE_RULE);
	assert_false(cred(&plan, P("h/.aws"))->hidden);
	assert_true(hidden(&plan, P("h/.kube")));
	assert_true(hidden(&plan, P("h/.gnupg")));
	assert_true(has_op(&plan, OP_BIND_RO, P("h/.gnupg/pubring.kbx")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* A hidden $HOME (a policy that does not read it) needs no mask. */
static void test_invisible_home_costs_nothing(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup(&ctx);
	put("h/.netrc", "machine x password y");
	rule(p, P("h"), AB_ACCESS_NONE);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(plan.n_credentials, 0);
	assert_null(node(&plan, P("h/.netrc")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* "allow_credentials" in a policy file, with where it was written; a
 * copy keeps it; a wrong type or name is an error at its place. */
static void test_policy_file_allow_credentials(void **state)
{
	(void)state;
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_load_json(p, "{\"version\": 1, \"allow_credentials\": [\"npmrc\", \"ssh\"]}",
					     "p.json", &err), 0);
	assert_int_equal(p->n_allow_credentials, 2);
	assert_non_null(strstr(policy_credentials_allowed(p, "ssh"), "p.json"));
	assert_null(policy_credentials_allowed(p, "aws"));
	ab_policy *c = NULL;
	assert_int_equal(policy_clone(p, &c, &err), 0);
	assert_non_null(policy_credentials_allowed(c, "npmrc"));
	ab_policy_free(c);
	ab_policy_free(p);
	p = ab_policy_new();
	assert_int_equal(ab_policy_load_json(p, "{\"version\": 1, \"allow_credentials\": [\"sssh\"]}", "p.json", &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "p.json:1:"));
	assert_non_null(strstr(err.message, "'sssh'"));
	assert_int_equal(ab_policy_load_json(p, "{\"version\": 1, \"allow_credentials\": \"ssh\"}", "p.json", &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "must be an array"));
	ab_policy_free(p);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_existing_entries_hidden_missing_ones_cost_nothing),
		T_(test_no_table_adds_nothing),
		T_(test_tool_variables_and_xdg_config_home),
		T_(test_variable_naming_home_is_refused_with_warning),
		T_(test_allow_credentials_by_name),
		T_(test_explicit_rule_wins_parent_rule_does_not),
		T_(test_invisible_home_costs_nothing),
		T_(test_policy_file_allow_credentials),
	};
#undef T_
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
