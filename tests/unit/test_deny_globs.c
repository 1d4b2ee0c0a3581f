/* Deny globs resolved against a real tree (src/plan/deny_globs.c): which
 * matches become hidden nodes, the built-in set only under a writable
 * working directory, --allow-read, a rule naming the path itself, links,
 * and the refusal at the bound unless partial. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan/plan.h"
#include "policy/policy.h"
#include "probe_child.h"
#include "tree_fixture.h"

static bool hidden_by_glob(const struct plan *plan, const char *rel)
{
	int i = plan_find_node(plan, P(rel));
	return i >= 0 && plan->nodes[i].access == AB_ACCESS_NONE && plan->nodes[i].source == NODE_GLOB;
}

static void tree(void)
{
	mkdirs("w/a/b");
	mkdirs("w/node_modules/p");
	mkdirs("w/secrets/x");
	mkfile("w/.env", "S\n");
	mkfile("w/.env.example", "\n");
	mkfile("w/a/b/k.pem", "K\n");
	mkfile("w/a/b/c.tok", "T\n");
	mkfile("w/a/keep.pem", "K\n");
	mkfile("w/node_modules/p/f.pem", "F\n");
	mkfile("w/secrets/x/y", "Y\n");
	mklink("w/link.pem", "a/keep.pem");
}

static int resolve(ab_policy *p, struct plan *plan, ab_error *err)
{
	struct plan_context ctx = {.cwd = P("w")};
	return plan_resolve(p, &ctx, plan, err);
}

static void patterns_and_the_default_set(void **state)
{
	(void)state;
	tree();
	ab_policy *p = ab_policy_new();
	rule(p, P(""), AB_ACCESS_READ);
	rule(p, P("w"), AB_ACCESS_WRITE);
	ab_error err;
	assert_int_equal(policy_add_deny_glob(p, GLOB_CWD, "**/*.tok", "t", &err), 0);
	assert_int_equal(policy_add_deny_glob(p, GLOB_CWD, "secrets/**", "t", &err), 0);
	assert_int_equal(policy_add_allow_read(p, GLOB_CWD, "a/keep.pem", "t", &err), 0);
	struct plan plan;
	assert_int_equal(resolve(p, &plan, &err), 0);
	assert_true(hidden_by_glob(&plan, "w/.env"));
	assert_false(hidden_by_glob(&plan, "w/.env.example"));
	assert_true(hidden_by_glob(&plan, "w/a/b/k.pem"));
	assert_true(hidden_by_glob(&plan, "w/a/b/c.tok"));
	assert_true(hidden_by_glob(&plan, "w/secrets"));
	assert_int_equal(plan_find_node(&plan, P("w/secrets/x/y")), -1);
	assert_false(hidden_by_glob(&plan, "w/a/keep.pem"));      /* --allow-read */
	assert_false(hidden_by_glob(&plan, "w/node_modules/p/f.pem")); /* not entered by the set */
	assert_int_equal(plan_find_node(&plan, P("w/link.pem")), -1); /* a link: named, not hidden */
	assert_int_equal(plan.glob_hidden, 4);
	plan_free(&plan);

	/* read-only working directory: the set does not apply, patterns do */
	ab_policy *ro = ab_policy_new();
	rule(ro, P(""), AB_ACCESS_READ);
	assert_int_equal(policy_add_deny_glob(ro, GLOB_CWD, "**/*.tok", "t", &err), 0);
	assert_int_equal(resolve(ro, &plan, &err), 0);
	assert_false(hidden_by_glob(&plan, "w/.env"));
	assert_true(hidden_by_glob(&plan, "w/a/b/c.tok"));
	plan_free(&plan);
	ab_policy_free(ro);
	ab_policy_free(p);
}

static void a_rule_naming_the_path_wins(void **state)
{
	(void)state;
	tree();
	ab_policy *p = ab_policy_new();
	rule(p, P(""), AB_ACCESS_READ);
	rule(p, P("w"), AB_ACCESS_WRITE);
	rule(p, P("w/.env"), AB_ACCESS_READ);
	struct plan plan;
	ab_error err;
	assert_int_equal(resolve(p, &plan, &err), 0);
	int i = plan_find_node(&plan, P("w/.env"));
	assert_true(i >= 0);
	assert_int_equal(plan.nodes[i].access, AB_ACCESS_READ);
	bool noted = false;
	for (size_t n = 0; n < plan.n_notes; n++)
		noted |= strstr(plan.notes[n], "stays read: a rule names the path itself") != NULL;
	assert_true(noted);
	plan_free(&plan);
	ab_policy_free(p);
}

static void the_bound_refuses_unless_partial(void **state)
{
	(void)state;
	tree();
	ab_policy *p = ab_policy_new();
	rule(p, P(""), AB_ACCESS_READ);
	rule(p, P("w"), AB_ACCESS_WRITE);
	ab_error err;
	assert_int_equal(ab_policy_set_glob_limits(p, 32, 3, 2000, &err), 0);
	struct plan plan;
	assert_int_equal(resolve(p, &plan, &err), -E2BIG);
	assert_non_null(strstr(err.message, "the walk reached its bound (3 entries)"));
	assert_non_null(strstr(err.message, "--glob-partial"));
	plan_free(&plan); /* a failed resolution leaves what it had built */
	ab_policy_set_glob_partial(p, true);
	assert_int_equal(resolve(p, &plan, &err), 0);
	assert_true(plan.glob_partial);
	bool warned = false;
	for (size_t n = 0; n < plan.n_warnings; n++)
		warned |= strcmp(plan.warnings[n].code, "glob_partial") == 0;
	assert_true(warned);
	plan_free(&plan);
	ab_policy_set_default_secret_globs(p, false);
	assert_int_equal(resolve(p, &plan, &err), 0);
	assert_int_equal(plan.glob_patterns, 0);
	plan_free(&plan);
	ab_policy_free(p);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(patterns_and_the_default_set),
		T_(a_rule_naming_the_path_wins),
		T_(the_bound_refuses_unless_partial),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
