/* --cache (src/policy/cache_dirs.c): the table's paths, the tools' own
 * variables over the defaults, refusals, and the policy entries made. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/cache_dirs.h"
#include "policy/policy.h"
#include "probe_child.h"

/* The environment a test sets: NAME=value pairs, NULL-terminated. */
static const char *const *test_env;

static const char *fake_getenv(const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; test_env && test_env[i]; i++)
		if (strncmp(test_env[i], name, len) == 0 && test_env[i][len] == '=')
			return test_env[i] + len + 1;
	return NULL;
}

/* The directories of `name` under `env`, joined by spaces. */
static char *dirs_of(const char *name, const char *const *env)
{
	test_env = env;
	strv out = {0};
	ab_error err;
	if (cache_dirs_resolve(name, fake_getenv, &out, &err) < 0)
		fail_msg("cache_dirs_resolve(%s): %s", name, err.message);
	sbuf b = {0};
	for (size_t i = 0; i < out.n; i++)
		sbuf_addf(&b, "%s%s", i ? " " : "", out.v[i]);
	strv_free(&out);
	return b.s ? b.s : xstrdup("");
}

#define assert_dirs(name, env, want)                                     \
	do {                                                             \
		char *got_ = dirs_of(name, env);                         \
		if (strcmp(got_, want) != 0)                             \
			fail_msg("--cache %s: got '%s', want '%s'", name, got_, want); \
		free(got_);                                              \
	} while (0)

static void test_defaults_under_home(void **state)
{
	(void)state;
	assert_dirs("npm", NULL, "~/.npm");
	assert_dirs("pip", NULL, "~/.cache/pip");
	assert_dirs("cargo", NULL, "~/.cargo/registry ~/.cargo/git");
	assert_dirs("go", NULL, "~/go/pkg/mod ~/.cache/go-build");
	assert_dirs("maven", NULL, "~/.m2/repository");
	assert_dirs("gradle", NULL, "~/.gradle/caches ~/.gradle/wrapper");
	assert_dirs("yarn", NULL, "~/.cache/yarn ~/.yarn/berry/cache");
	assert_dirs("pnpm", NULL, "~/.local/share/pnpm/store ~/.cache/pnpm");
	assert_dirs("uv", NULL, "~/.cache/uv");
	assert_dirs("poetry", NULL, "~/.cache/pypoetry");
	assert_dirs("composer", NULL, "~/.cache/composer");
	assert_dirs("bundler", NULL, "~/.bundle/cache");
}

static void test_tools_variables_win_over_xdg_and_home(void **state)
{
	(void)state;
	const char *const xdg[] = {"XDG_CACHE_HOME=/x/cache", "XDG_DATA_HOME=/x/data", NULL};
	assert_dirs("pip", xdg, "/x/cache/pip");
	assert_dirs("go", xdg, "~/go/pkg/mod /x/cache/go-build");
	assert_dirs("pnpm", xdg, "/x/data/pnpm/store /x/cache/pnpm");
	const char *const own[] = {"XDG_CACHE_HOME=/x/cache", "PIP_CACHE_DIR=/p//c/", "GOMODCACHE=/m",
				   "GOCACHE=/b", "npm_config_cache=/n", "UV_CACHE_DIR=/u", NULL};
	assert_dirs("pip", own, "/p/c");
	assert_dirs("go", own, "/m /b");
	assert_dirs("npm", own, "/n");
	assert_dirs("uv", own, "/u");
	/* GOPATH is a list: Go uses its first element */
	const char *const gopath[] = {"GOPATH=/g1:/g2", NULL};
	assert_dirs("go", gopath, "/g1/pkg/mod ~/.cache/go-build");
	const char *const homes[] = {"CARGO_HOME=/c", "GRADLE_USER_HOME=/gr", NULL};
	assert_dirs("cargo", homes, "/c/registry /c/git");
	assert_dirs("gradle", homes, "/gr/caches /gr/wrapper");
	/* set but empty: the default */
	const char *const empty[] = {"PIP_CACHE_DIR=", "XDG_CACHE_HOME=", NULL};
	assert_dirs("pip", empty, "~/.cache/pip");
}

static void test_refusals(void **state)
{
	(void)state;
	strv out = {0};
	ab_error err;
	const char *const rel[] = {"PIP_CACHE_DIR=cache/pip", NULL};
	test_env = rel;
	assert_int_equal(cache_dirs_resolve("pip", fake_getenv, &out, &err), -EINVAL);
	assert_non_null(strstr(err.message, "$PIP_CACHE_DIR is 'cache/pip', not an absolute path"));
	const char *const dots[] = {"CARGO_HOME=/a/../etc", NULL};
	test_env = dots;
	assert_int_equal(cache_dirs_resolve("cargo", fake_getenv, &out, &err), -EINVAL);
	assert_non_null(strstr(err.message, "$CARGO_HOME"));
	test_env = NULL;
	assert_int_equal(cache_dirs_resolve("apt", fake_getenv, &out, &err), -EINVAL);
	assert_non_null(strstr(err.message, "--cache apt: unknown package manager (known: npm,"));
	assert_int_equal(out.n, 0);
	strv_free(&out);
}

static void test_policy_entries_are_writable_created_caches(void **state)
{
	(void)state;
	ab_policy *p = policy_new();
	size_t before = p->n_entries;
	ab_error err;
	test_env = NULL;
	assert_int_equal(policy_add_cache(p, "npm, cargo", fake_getenv, NULL, &err), 0);
	assert_int_equal(p->n_entries, before + 3);
	const struct policy_entry *e = &p->entries[before];
	assert_int_equal(e->kind, PP_HOME);
	assert_string_equal(e->path, ".npm");
	assert_int_equal(e->access, AB_ACCESS_WRITE);
	assert_int_equal(e->create, POLICY_CREATE | POLICY_CACHE);
	assert_string_equal(e->origin, "--cache npm");
	assert_string_equal(p->entries[before + 2].path, ".cargo/git");
	assert_string_equal(p->entries[before + 2].origin, "--cache cargo");
	/* a later --deny of the same path takes the rule and its flags */
	assert_int_equal(policy_add_path(p, "~/.npm", AB_ACCESS_NONE, "--deny", &err), 0);
	assert_int_equal(p->entries[before].create, 0);
	/* from a policy file: its position in the origin */
	assert_int_equal(policy_add_cache(p, "maven", fake_getenv, "p.json \"cache\"[0]", &err), 0);
	assert_string_equal(p->entries[p->n_entries - 1].origin, "p.json \"cache\"[0] (cache maven)");
	assert_int_equal(policy_add_cache(p, " , ", fake_getenv, NULL, &err), -EINVAL);
	/* --write-create: only absolute or ~ paths */
	assert_int_equal(policy_add_path_create(p, "~/w", "--write-create", &err), 0);
	assert_int_equal(p->entries[p->n_entries - 1].create, POLICY_CREATE);
	assert_int_equal(policy_add_path_create(p, ":cwd", "--write-create", &err), -EINVAL);
	assert_non_null(strstr(err.message, "only a directory written out"));
	ab_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_under_home),
		cmocka_unit_test(test_tools_variables_win_over_xdg_and_home),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_policy_entries_are_writable_created_caches),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
