/* The environment policy (src/policy/env_policy.c, env_secret_list.c):
 * pattern matching, the built-in secret list and its exemptions, and the
 * documented order inherit -> built-in -> exclude -> include_only ->
 * keep -> set. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/env_policy.h"

static void add_ok(struct env_policy *ep, enum env_list which, const char *text)
{
	ab_error err = {0};
	if (env_policy_add(ep, which, text, NULL, &err) < 0)
		fail_msg("'%s' refused: %s", text, err.message);
}

static void eval_ok(const struct env_policy *ep, const char *const *base, const struct env_context *ctx,
		    struct env_result *r)
{
	static const struct env_context none = {0};
	ab_error err = {0};
	if (env_policy_eval(ep, (char *const *)base, ctx ? ctx : &none, r, &err) < 0)
		fail_msg("eval refused: %s", err.message);
}

/* The value of name in r, or NULL. */
static const char *value_of(const struct env_result *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->n_env; i++)
		if (strncmp(r->env[i], name, n) == 0 && r->env[i][n] == '=')
			return r->env[i] + n + 1;
	return NULL;
}

static const char *why_dropped(const struct env_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_dropped; i++)
		if (strcmp(r->dropped[i].name, name) == 0)
			return r->dropped[i].why;
	return NULL;
}

static void test_patterns_ignore_case_and_glob(void **state)
{
	(void)state;
	assert_true(env_pattern_match("*key*", "OPENAI_API_KEY"));
	assert_true(env_pattern_match("*KEY*", "some_api_key"));
	assert_true(env_pattern_match("AWS_*", "aws_session_token"));
	assert_true(env_pattern_match("ED?TOR", "editor"));
	assert_true(env_pattern_match("[AB]X", "bx"));
	assert_true(env_pattern_match("LC_*", "LC_ALL"));
	assert_false(env_pattern_match("AWS_*", "XAWS_A"));
	assert_false(env_pattern_match("ED?TOR", "EDDITOR"));
	assert_false(env_pattern_match("*_AUTH*", "XAUTHORITY"));
}

static void test_builtin_list_drops_secrets_keeps_ordinary_work(void **state)
{
	(void)state;
	const char *base[] = {
		"AWS_SECRET_ACCESS_KEY=a", "AWS_ACCESS_KEY_ID=a", "AWS_SESSION_TOKEN=a",
		"GITHUB_TOKEN=a", "GH_TOKEN=a", "GITHUB_PAT=a", "GITLAB_PRIVATE_TOKEN=a", "NPM_TOKEN=a",
		"OPENAI_API_KEY=a", "ANTHROPIC_API_KEY=a", "AZURE_CLIENT_SECRET=a", "AZURE_CLIENT_ID=a",
		"GOOGLE_APPLICATION_CREDENTIALS=a", "CI_JOB_TOKEN=a", "ACTIONS_RUNTIME_TOKEN=a",
		"ACTIONS_ID_TOKEN_REQUEST_URL=a", "DOCKER_AUTH_CONFIG=a", "FOO_PASSWORD=a",
		"MYSQL_PWD_PASSWD=a", "SSH_AUTH_SOCK=/tmp/agent", "VAULT_ADDR=a",
		/* ordinary work */
		"PATH=/bin", "HOME=/h", "LANG=C", "TERM=xterm", "EDITOR=vi", "GOPATH=/g",
		"CARGO_HOME=/c", "VIRTUAL_ENV=/v", "NODE_OPTIONS=--x", "XAUTHORITY=/x",
		"AWS_REGION=eu", "AWS_DEFAULT_REGION=eu", "AWS_PROFILE=dev", "KEYBOARD_LAYOUT=us",
		"GIT_AUTHOR_NAME=me", "GIT_CONFIG_KEY_0=user.name", "TOKENIZERS_PARALLELISM=false", "REDIS_URL=redis://h:6379",
		"HTTP_PROXY=http://user@h:3128", NULL,
	};
	struct env_policy ep = {0};
	struct env_result r;
	eval_ok(&ep, base, NULL, &r);
	for (size_t i = 0; i < 21; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(base[i], "="), base[i]);
		if (value_of(&r, name))
			fail_msg("%s was passed on", name);
		assert_non_null(why_dropped(&r, name));
	}
	for (size_t i = 21; base[i]; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(base[i], "="), base[i]);
		if (!value_of(&r, name))
			fail_msg("%s was dropped: %s", name, why_dropped(&r, name));
	}
	assert_string_equal(why_dropped(&r, "OPENAI_API_KEY"),
			    "built-in exclude *KEY*: API keys, access key ids, private keys (OPENAI_API_KEY, ANTHROPIC_API_KEY, AWS_SECRET_ACCESS_KEY ...)");
	env_result_free(&r);
}

static void test_url_with_password_is_dropped(void **state)
{
	(void)state;
	const char *base[] = {"DATABASE_URL=postgres://app:pw@db/app", "PIP_INDEX_URL=https://u:t@pypi.example/simple",
			"PLAIN_URL=https://example.com/a:b@c", "NOT_URL=a:b@c", NULL};
	struct env_policy ep = {0};
	struct env_result r;
	eval_ok(&ep, base, NULL, &r);
	assert_null(value_of(&r, "DATABASE_URL"));
	assert_null(value_of(&r, "PIP_INDEX_URL"));
	assert_non_null(strstr(why_dropped(&r, "DATABASE_URL"), "URL with a password"));
	assert_non_null(value_of(&r, "PLAIN_URL")); /* the '@' is in the path */
	assert_non_null(value_of(&r, "NOT_URL"));
	env_result_free(&r);
}

static void test_order_inherit_exclude_include_only_keep_set(void **state)
{
	(void)state;
	const char *base[] = {"PATH=/bin", "HOME=/h", "EDITOR=vi", "PAGER=less", "GITHUB_TOKEN=t",
			"LC_ALL=C", "ODD", NULL};
	struct env_policy ep = {0};
	struct env_result r;

	/* core: only the core names, LC_* included */
	env_policy_set_inherit(&ep, ENV_INHERIT_CORE);
	eval_ok(&ep, base, NULL, &r);
	assert_string_equal(value_of(&r, "PATH"), "/bin");
	assert_non_null(value_of(&r, "LC_ALL"));
	assert_null(value_of(&r, "EDITOR"));
	assert_string_equal(why_dropped(&r, "EDITOR"), "inherit core: not a core variable");
	assert_null(why_dropped(&r, "ODD")); /* not NAME=VALUE: not a variable */
	env_result_free(&r);

	/* all, exclude (any case) then include_only */
	env_policy_set_inherit(&ep, ENV_INHERIT_ALL);
	add_ok(&ep, ENV_EXCLUDE, "pag*");
	add_ok(&ep, ENV_INCLUDE_ONLY, "P*");
	add_ok(&ep, ENV_INCLUDE_ONLY, "EDITOR");
	eval_ok(&ep, base, NULL, &r);
	assert_non_null(value_of(&r, "PATH"));
	assert_non_null(value_of(&r, "EDITOR"));
	assert_null(value_of(&r, "PAGER"));
	assert_string_equal(why_dropped(&r, "PAGER"), "exclude pag* (--env-exclude)");
	assert_string_equal(why_dropped(&r, "HOME"), "include_only: matches none of P*, EDITOR");
	env_result_free(&r);

	/* keep wins over exclude, include_only and the built-in list */
	add_ok(&ep, ENV_KEEP, "PAGER");
	add_ok(&ep, ENV_KEEP, "GITHUB_TOKEN");
	eval_ok(&ep, base, NULL, &r);
	assert_string_equal(value_of(&r, "PAGER"), "less");
	assert_string_equal(value_of(&r, "GITHUB_TOKEN"), "t");
	assert_int_equal(r.n_kept, 2);
	assert_null(why_dropped(&r, "GITHUB_TOKEN"));
	env_result_free(&r);

	/* set wins over everything, also inherit none; the last set wins */
	env_policy_set_inherit(&ep, ENV_INHERIT_NONE);
	add_ok(&ep, ENV_SET, "HOME=/one");
	add_ok(&ep, ENV_SET, "HOME=/two");
	add_ok(&ep, ENV_SET, "GITHUB_TOKEN=from-set");
	eval_ok(&ep, base, NULL, &r);
	assert_string_equal(value_of(&r, "HOME"), "/two");
	assert_string_equal(value_of(&r, "GITHUB_TOKEN"), "from-set");
	assert_string_equal(value_of(&r, "PAGER"), "less"); /* keep, also under none */
	assert_null(value_of(&r, "PATH"));
	assert_string_equal(why_dropped(&r, "PATH"), "inherit none");
	env_result_free(&r);
	env_policy_free(&ep);
}

static bool proxy_var(const char *entry)
{
	return strncmp(entry, "HTTPS_PROXY=", 12) == 0;
}

static void test_ssh_agent_and_reserved_names(void **state)
{
	(void)state;
	const char *base[] = {"SSH_AUTH_SOCK=/run/agent.sock", NULL};
	struct env_policy ep = {0};
	struct env_result r;
	eval_ok(&ep, base, NULL, &r);
	assert_null(value_of(&r, "SSH_AUTH_SOCK"));
	env_result_free(&r);
	const char *socks[] = {"/run/agent.sock"};
	struct env_context ctx = {.allow_unix = socks, .n_allow_unix = 1};
	eval_ok(&ep, base, &ctx, &r);
	assert_string_equal(value_of(&r, "SSH_AUTH_SOCK"), "/run/agent.sock");
	env_result_free(&r);

	add_ok(&ep, ENV_SET, "HTTPS_PROXY=http://elsewhere:1");
	struct env_context proxy = {.reserved = proxy_var, .reserved_why = "proxy"};
	ab_error err = {0};
	assert_int_equal(env_policy_eval(&ep, (char *const *)base, &proxy, &r, &err), -EINVAL);
	assert_non_null(strstr(err.message, "--env-set: HTTPS_PROXY is set by agentbox itself"));
	env_policy_free(&ep);
}

static void test_rules_are_checked(void **state)
{
	(void)state;
	struct env_policy ep = {0};
	ab_error err = {0};
	assert_int_equal(env_policy_add(&ep, ENV_KEEP, "GITHUB_*", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "exact variable name"));
	assert_int_equal(env_policy_add(&ep, ENV_SET, "NOVALUE", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "NAME=VALUE"));
	assert_int_equal(env_policy_add(&ep, ENV_SET, "AGENTBOX_SANDBOX=0", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.message, "agentbox's own"));
	assert_int_equal(env_policy_add(&ep, ENV_EXCLUDE, "A=B", NULL, &err), -EINVAL);
	assert_int_equal(env_policy_add(&ep, ENV_EXCLUDE, "", NULL, &err), -EINVAL);
	env_policy_free(&ep);
}

static void test_merge_adds_lists_last_wins_for_inherit_and_set(void **state)
{
	(void)state;
	struct env_policy a = {0}, b = {0};
	add_ok(&a, ENV_EXCLUDE, "A*");
	add_ok(&a, ENV_SET, "X=1");
	add_ok(&b, ENV_EXCLUDE, "B*");
	add_ok(&b, ENV_EXCLUDE, "A*");
	add_ok(&b, ENV_SET, "X=2");
	env_policy_set_inherit(&b, ENV_INHERIT_CORE);
	env_policy_merge(&a, &b);
	assert_int_equal(a.lists[ENV_EXCLUDE].n, 2);
	assert_int_equal(a.lists[ENV_SET].n, 1);
	assert_string_equal(a.lists[ENV_SET].v[0].text, "X=2");
	assert_int_equal(a.inherit, ENV_INHERIT_CORE);
	struct env_policy c = {0};
	env_policy_merge(&a, &c); /* a layer without inherit leaves it */
	assert_int_equal(a.inherit, ENV_INHERIT_CORE);
	env_policy_free(&a);
	env_policy_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns_ignore_case_and_glob),
		cmocka_unit_test(test_builtin_list_drops_secrets_keeps_ordinary_work),
		cmocka_unit_test(test_url_with_password_is_dropped),
		cmocka_unit_test(test_order_inherit_exclude_include_only_keep_set),
		cmocka_unit_test(test_ssh_agent_and_reserved_names),
		cmocka_unit_test(test_rules_are_checked),
		cmocka_unit_test(test_merge_adds_lists_last_wins_for_inherit_and_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
