/* The git parts of a run that need no sandbox: the refs reader and its
 * diff (run/git_refs.h) against real repository files, the GIT_CONFIG_*
 * environment (supervisor/git_env.h), the protect-mode hint's command
 * matching (run/git_watch.h), and the plan nodes of --git commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "run/git_refs.h"
#include "run/git_watch.h"
#include "supervisor/git_env.h"
#include "tree_fixture.h"

#define OID_A "1111111111111111111111111111111111111111"
#define OID_B "2222222222222222222222222222222222222222"
#define OID_C "3333333333333333333333333333333333333333"

static const char *value_of(const struct git_refs *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			return r->v[i].value;
	return NULL;
}

static void test_refs_loose_packed_head(void **state)
{
	(void)state;
	mkdirs(".git/refs/heads/feature");
	mkdirs(".git/refs/tags");
	mkfile(".git/HEAD", "ref: refs/heads/main\n");
	mkfile(".git/refs/heads/main", OID_A "\n");
	mkfile(".git/refs/heads/feature/x", OID_B "\n");
	mkfile(".git/refs/heads/main.lock", OID_C "\n");
	mkfile(".git/packed-refs", "# pack-refs with: peeled fully-peeled sorted\n"
				   OID_C " refs/heads/main\n"
				   OID_C " refs/tags/v1\n^" OID_A "\n");
	/* a link the command could plant: never read through */
	mklink(".git/refs/tags/evil", "/etc/hostname");
	struct git_refs r;
	git_refs_read(P(".git"), P(".git"), &r);
	assert_string_equal(value_of(&r, "HEAD"), "ref: refs/heads/main");
	assert_string_equal(value_of(&r, "refs/heads/main"), OID_A); /* loose wins */
	assert_string_equal(value_of(&r, "refs/heads/feature/x"), OID_B);
	assert_string_equal(value_of(&r, "refs/tags/v1"), OID_C);
	assert_null(value_of(&r, "refs/heads/main.lock"));
	assert_null(value_of(&r, "refs/tags/evil"));
	assert_int_equal(r.n, 4);
	assert_false(r.truncated);
	for (size_t i = 1; i < r.n; i++)
		assert_true(strcmp(r.v[i - 1].name, r.v[i].name) < 0);
	git_refs_free(&r);
}

static void test_refs_worktree_head_only(void **state)
{
	(void)state;
	mkdirs("g/refs/heads");
	mkfile("g/HEAD", OID_B "\n");
	mkfile("g/refs/heads/main", OID_A "\n");
	struct git_refs r;
	git_refs_read(P("g"), NULL, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(value_of(&r, "HEAD"), OID_B);
	git_refs_free(&r);
}

static void push(struct git_refs *r, const char *name, const char *value)
{
	grow_array((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = (struct git_ref){.name = xstrdup(name), .value = xstrdup(value)};
}

static void test_refs_diff(void **state)
{
	(void)state;
	struct git_refs before = {0}, after = {0};
	push(&before, "HEAD", "ref: refs/heads/main");
	push(&before, "refs/heads/gone", OID_A);
	push(&before, "refs/heads/main", OID_A);
	push(&after, "HEAD", "ref: refs/heads/main");
	push(&after, "refs/heads/main", OID_B);
	push(&after, "refs/tags/new", OID_C);
	sbuf s = {0};
	bool first = true;
	size_t room = 10;
	assert_int_equal(git_refs_diff_json("/r/.git", &before, &after, &s, &first, &room), 3);
	assert_int_equal(room, 7);
	assert_string_equal(s.s,
		"{\"repo\":\"/r/.git\",\"ref\":\"refs/heads/gone\",\"old\":\"" OID_A "\",\"new\":null},"
		"{\"repo\":\"/r/.git\",\"ref\":\"refs/heads/main\",\"old\":\"" OID_A "\",\"new\":\"" OID_B "\"},"
		"{\"repo\":\"/r/.git\",\"ref\":\"refs/tags/new\",\"old\":null,\"new\":\"" OID_C "\"}");
	sbuf_free(&s);
	first = true;
	sbuf none = {0};
	assert_int_equal(git_refs_diff_json("/r/.git", &after, &after, &none, &first, &room), 0);
	assert_true(first);
	sbuf_free(&none);
	/* out of room: counted, not listed */
	sbuf one = {0};
	first = true;
	room = 1;
	assert_int_equal(git_refs_diff_json("/r/.git", &before, &after, &one, &first, &room), 3);
	assert_int_equal(room, 0);
	assert_string_equal(one.s, "{\"repo\":\"/r/.git\",\"ref\":\"refs/heads/gone\",\"old\":\"" OID_A "\",\"new\":null}");
	sbuf_free(&one);
	git_refs_free(&before);
	git_refs_free(&after);
}

static char *env_value(const strv *env, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=')
			return env->v[i] + len + 1;
	return NULL;
}

static void test_env_appends_after_caller(void **state)
{
	(void)state;
	strv env = {0};
	strv_push(&env, "PATH=/bin");
	strv_push(&env, "GIT_CONFIG_COUNT=1");
	strv_push(&env, "GIT_CONFIG_KEY_0=user.name");
	strv_push(&env, "GIT_CONFIG_VALUE_0=me");
	strv_push(&env, "GIT_CONFIG_KEY_2=stale.key"); /* beyond their count: ours replace it */
	const char *dirs[] = {"/w/a", "/w/b"};
	git_env_add(&env, dirs, 2);
	assert_string_equal(env_value(&env, "GIT_CONFIG_COUNT"), "5");
	assert_string_equal(env_value(&env, "GIT_CONFIG_KEY_0"), "user.name");
	assert_string_equal(env_value(&env, "GIT_CONFIG_VALUE_0"), "me");
	assert_string_equal(env_value(&env, "GIT_CONFIG_KEY_1"), "core.hooksPath");
	assert_string_equal(env_value(&env, "GIT_CONFIG_VALUE_1"), "/dev/null");
	assert_string_equal(env_value(&env, "GIT_CONFIG_KEY_2"), "core.fsmonitor");
	assert_string_equal(env_value(&env, "GIT_CONFIG_VALUE_2"), "false");
	assert_string_equal(env_value(&env, "GIT_CONFIG_KEY_3"), "safe.directory");
	assert_string_equal(env_value(&env, "GIT_CONFIG_VALUE_3"), "/w/a");
	assert_string_equal(env_value(&env, "GIT_CONFIG_VALUE_4"), "/w/b");
	assert_string_equal(env_value(&env, "PATH"), "/bin");
	size_t keys2 = 0, counts = 0;
	for (size_t i = 0; i < env.n; i++) {
		keys2 += strncmp(env.v[i], "GIT_CONFIG_KEY_2=", 17) == 0;
		counts += strncmp(env.v[i], "GIT_CONFIG_COUNT=", 17) == 0;
	}
	assert_int_equal(keys2, 1);
	assert_int_equal(counts, 1);
	assert_null(env.v[env.n]);
	strv_free(&env);
}

static void test_env_bad_count_replaced(void **state)
{
	(void)state;
	const char *bad[] = {"GIT_CONFIG_COUNT=x", "GIT_CONFIG_COUNT=-1", "GIT_CONFIG_COUNT=1000000", "GIT_CONFIG_COUNT="};
	for (size_t k = 0; k < 4; k++) {
		strv env = {0};
		strv_push(&env, bad[k]);
		git_env_add(&env, NULL, 0);
		assert_string_equal(env_value(&env, "GIT_CONFIG_COUNT"), "2");
		assert_string_equal(env_value(&env, "GIT_CONFIG_KEY_0"), "core.hooksPath");
		strv_free(&env);
	}
}

static void test_writing_subcommand(void **state)
{
	(void)state;
	char *direct[] = {(char *)"/usr/bin/git", (char *)"-C", (char *)"x", (char *)"-c",
			  (char *)"a=b", (char *)"commit", (char *)"-m", (char *)"m", NULL};
	assert_string_equal(git_writing_subcommand(direct), "commit");
	char *shell[] = {(char *)"sh", (char *)"-c", (char *)"cd x && git add . && git commit -m x", NULL};
	assert_string_equal(git_writing_subcommand(shell), "add");
	char *reading[] = {(char *)"git", (char *)"status", NULL};
	assert_null(git_writing_subcommand(reading));
	char *log_then[] = {(char *)"bash", (char *)"-lc", (char *)"git log; make", NULL};
	assert_null(git_writing_subcommand(log_then));
	char *other[] = {(char *)"make", (char *)"commit", NULL};
	assert_null(git_writing_subcommand(other));
	char *legit[] = {(char *)"sh", (char *)"-c", (char *)"echo legit commit", NULL};
	assert_null(git_writing_subcommand(legit));
}

static void test_policy_git_key(void **state)
{
	(void)state;
	ab_policy *p = ab_policy_new();
	ab_error err;
	assert_int_equal(ab_policy_git(p), AB_GIT_PROTECT); /* the default */
	assert_int_equal(ab_policy_load_json(p, "{\"version\": 1, \"git\": \"commit\"}", "a.json", &err), 0);
	assert_int_equal(ab_policy_git(p), AB_GIT_COMMIT);
	/* a later file without the key keeps it; one with it sets it */
	assert_int_equal(ab_policy_load_json(p, "{\"version\": 1}", "b.json", &err), 0);
	assert_int_equal(ab_policy_git(p), AB_GIT_COMMIT);
	assert_int_equal(ab_policy_load_json(p, "{\"version\": 1, \"git\": \"protect\"}", "c.json", &err), 0);
	assert_int_equal(ab_policy_git(p), AB_GIT_PROTECT);
	assert_true(ab_policy_load_json(p, "{\"version\": 1, \"git\": true}", "d.json", &err) < 0);
	assert_non_null(strstr(err.message, "d.json:1:"));
	assert_non_null(strstr(err.message, "\"git\" must be \"protect\""));
	assert_int_equal(ab_policy_git(p), AB_GIT_PROTECT); /* unchanged on error */
	ab_policy_free(p);
}

static const struct plan_node *node(const struct plan *plan, const char *rel)
{
	int i = plan_find_node(plan, P(rel));
	return i < 0 ? NULL : &plan->nodes[i];
}

static void test_plan_commit_mode(void **state)
{
	(void)state;
	mkdirs("w/.git/objects");
	mkdirs("w/.git/refs/heads");
	mkdirs("w/.git/hooks");
	mkdirs("w/.git/worktrees/wt");
	mkdirs("w/.git/modules/lib/x/objects");
	mkdirs("w/.git/modules/lib/x/refs");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	mkfile("w/.git/config", "");
	mkfile("w/.git/worktrees/wt/gitdir", "/elsewhere/.git\n");
	mkfile("w/.git/worktrees/wt/commondir", "../..\n");
	mkfile("w/.git/modules/lib/x/HEAD", "ref: refs/heads/main\n");
	mkfile("w/.git/modules/lib/x/config", "");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, P("w"), AB_ACCESS_WRITE);
	ab_policy_set_git(p, AB_GIT_COMMIT);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, "w/.git")->access, AB_ACCESS_WRITE);
	assert_true(node(&plan, "w/.git")->pin);
	const char *ro[] = {"w/.git/config", "w/.git/hooks", "w/.git/worktrees/wt/gitdir",
			    "w/.git/worktrees/wt/commondir", "w/.git/modules/lib/x/config"};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(node(&plan, ro[i])->access, AB_ACCESS_READ);
	/* missing: blocked where git reads them, as git expects them */
	assert_false(node(&plan, "w/.git/config.worktree")->exists);
	assert_false(node(&plan, "w/.git/config.worktree")->is_dir);
	assert_true(node(&plan, "w/.git/info")->is_dir);
	assert_false(node(&plan, "w/.git/worktrees/wt/config.worktree")->exists);
	assert_true(node(&plan, "w/.git/modules/lib/x/hooks")->is_dir);
	/* modules/ read-only (nothing planted there), the submodule reopened */
	assert_int_equal(node(&plan, "w/.git/modules")->access, AB_ACCESS_READ);
	assert_int_equal(node(&plan, "w/.git/modules/lib/x")->access, AB_ACCESS_WRITE);
	assert_null(node(&plan, "w/.git/modules/lib"));
	/* not blockable (git dies on an empty one): no node, checked after */
	assert_null(node(&plan, "w/.git/commondir"));
	assert_null(node(&plan, "w/.git/objects"));
	assert_int_equal(plan.n_git_repos, 1);
	assert_string_equal(plan.git_repos[0].worktree, P("w"));
	assert_true(plan.git_repos[0].writable);
	plan_free(&plan);

	/* protect mode: .git read-only as a whole, the repository known */
	ab_policy_set_git(p, AB_GIT_PROTECT);
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, "w/.git")->access, AB_ACCESS_READ);
	assert_null(node(&plan, "w/.git/config"));
	assert_int_equal(plan.n_git_repos, 1);
	assert_false(plan.git_repos[0].writable);
	plan_free(&plan);
	ab_policy_free(p);
}

/* A .git that is not a repository stays read-only as a whole; a symbolic
 * link among the trusted names is refused. */
static void test_plan_commit_mode_refusals(void **state)
{
	(void)state;
	mkdirs("w/.git");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, P("w"), AB_ACCESS_WRITE);
	ab_policy_set_git(p, AB_GIT_COMMIT);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, "w/.git")->access, AB_ACCESS_READ);
	assert_int_equal(plan.n_git_repos, 0);
	plan_free(&plan);

	/* a missing modules/ is blocked only when .gitmodules names submodules */
	mkdirs("w/.git/objects");
	mkdirs("w/.git/refs");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, "w/.git/modules"));
	plan_free(&plan);
	mkfile("w/.gitmodules", "[submodule \"s\"]\n");
	resolve_ok(p, &ctx, &plan);
	assert_false(node(&plan, "w/.git/modules")->exists);
	assert_true(node(&plan, "w/.git/modules")->is_dir);
	plan_free(&plan);

	mkdirs("w/.husky");
	mklink("w/.git/hooks", "../.husky");
	ab_error err;
	assert_true(plan_resolve(p, &ctx, &plan, &err) < 0);
	assert_non_null(strstr(err.message, "hooks is a symbolic link"));
	assert_non_null(strstr(err.message, "--git protect"));
	plan_free(&plan);
	ab_policy_free(p);
}

/* A worktree's pointer file: its git dir and the common dir, outside the
 * writable root, become writable but for what git trusts; a rule of the
 * user's on the common dir wins (read-only stays read-only). */
static void test_plan_commit_mode_pointer(void **state)
{
	(void)state;
	mkdirs("main/.git/objects");
	mkdirs("main/.git/refs");
	mkdirs("main/.git/hooks");
	mkdirs("main/.git/worktrees/wt");
	mkfile("main/.git/HEAD", "ref: refs/heads/main\n");
	mkfile("main/.git/config", "");
	mkfile("main/.git/worktrees/wt/HEAD", "ref: refs/heads/wt\n");
	mkfile("main/.git/worktrees/wt/commondir", "../..\n");
	mkfile("main/.git/worktrees/wt/gitdir", "x\n");
	mkdirs("wt");
	mkfile("wt/.git", "gitdir: ../main/.git/worktrees/wt\n");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, P(""), AB_ACCESS_READ);
	rule(p, P("wt"), AB_ACCESS_WRITE);
	ab_policy_set_git(p, AB_GIT_COMMIT);
	struct plan_context ctx = {.cwd = P("wt")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, "wt/.git")->access, AB_ACCESS_READ);
	assert_int_equal(node(&plan, "main/.git/worktrees/wt")->access, AB_ACCESS_WRITE);
	assert_int_equal(node(&plan, "main/.git")->access, AB_ACCESS_WRITE);
	assert_int_equal(node(&plan, "main/.git/config")->access, AB_ACCESS_READ);
	assert_int_equal(node(&plan, "main/.git/hooks")->access, AB_ACCESS_READ);
	assert_int_equal(node(&plan, "main/.git/worktrees/wt/commondir")->access, AB_ACCESS_READ);
	assert_int_equal(node(&plan, "main/.git/worktrees/wt/gitdir")->access, AB_ACCESS_READ);
	assert_null(node(&plan, "main")); /* the main checkout is not opened */
	assert_int_equal(plan.n_git_repos, 1);
	assert_string_equal(plan.git_repos[0].commondir, P("main/.git"));
	assert_true(plan.git_repos[0].writable);
	plan_free(&plan);

	rule(p, P("main/.git"), AB_ACCESS_READ);
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, "main/.git")->access, AB_ACCESS_READ);
	assert_null(node(&plan, "main/.git/config"));
	assert_false(plan.git_repos[0].writable);
	plan_free(&plan);
	ab_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refs_loose_packed_head, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_refs_worktree_head_only, tree_setup, tree_teardown),
		cmocka_unit_test(test_refs_diff),
		cmocka_unit_test(test_env_appends_after_caller),
		cmocka_unit_test(test_env_bad_count_replaced),
		cmocka_unit_test(test_writing_subcommand),
		cmocka_unit_test(test_policy_git_key),
		cmocka_unit_test_setup_teardown(test_plan_commit_mode, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_plan_commit_mode_refusals, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_plan_commit_mode_pointer, tree_setup, tree_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
