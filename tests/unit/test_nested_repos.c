/* Nested repositories and the paths git's configuration names, resolved
 * against a real tree (src/plan/nested_repos.c, src/plan/git_config_paths.c):
 * which .git get nodes, how deep, what is skipped, the bound, and the
 * refusals that name the key, the file and the line. */
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

static const struct plan_node *node(const struct plan *plan, const char *path)
{
	int i = plan_find_node(plan, path);
	return i < 0 ? NULL : &plan->nodes[i];
}

static void assert_read_only(const struct plan *plan, const char *path, const char *why)
{
	const struct plan_node *n = node(plan, path);
	if (!n)
		fail_msg("no node for %s", path);
	if (n->access != AB_ACCESS_READ || n->source != NODE_GITDIR || !strstr(n->why, why))
		fail_msg("node %s: access %s source %s why '%s'; want read gitdir '%s'", path,
			 ab_access_name(n->access), plan_node_source_name(n->source), n->why, why);
}

/* T/w writable, the rest readable; no global or system git configuration
 * but the one the test writes at T/global.cfg. */
static ab_policy *workspace(struct plan_context *ctx)
{
	setenv("GIT_CONFIG_GLOBAL", P("global.cfg"), 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("AGENTBOX_GIT_SCAN_MAX_ENTRIES");
	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	*ctx = (struct plan_context){.cwd = P("w"), .home = P("home"), .no_proc = true};
	return p;
}

static void resolve_fails(const ab_policy *p, const struct plan_context *ctx, int want,
			  const char *n1, const char *n2)
{
	struct plan plan;
	ab_error err = {0};
	int r = plan_resolve(p, ctx, &plan, &err);
	plan_free(&plan);
	if (r != -want)
		fail_msg("plan_resolve returned %d, want %d (%s)", r, -want, err.message);
	if (!strstr(err.message, n1) || (n2 && !strstr(err.message, n2)))
		fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err.message, n1, n2 ? n2 : "");
}

static void test_nested_repositories_down_to_the_depth(void **state)
{
	mkdirs("w/.git/hooks");
	mkdirs("w/sub/.git/hooks");
	mkdirs("w/a/b/c/d4/.git");
	mkdirs("w/a/b/c/d4/e5/.git");
	mkdirs("w/node_modules/pkg/.git");    /* skipped: no .git in node_modules itself */
	mkdirs("w/target/.git");              /* a skipped name with .git inside: a repository */
	mkdirs("w/.git/modules/m");
	mkdirs("w/m");
	mkfile("w/m/.git", "gitdir: ../.git/modules/m\n");
	mkdirs("elsewhere/gd");               /* a git dir outside, in another writable root */
	mkdirs("w/ext");
	mkfile("w/ext/.git", "gitdir: ../../elsewhere/gd\n");
	mkdirs("w/gone");                     /* names a git dir that does not exist yet */
	mkfile("w/gone/.git", "gitdir: ../planted\n");
	struct plan_context ctx;
	ab_policy *p = workspace(&ctx);
	rule(p, P("elsewhere"), AB_ACCESS_WRITE);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_read_only(&plan, P("w/sub/.git"), "nested repository");
	assert_read_only(&plan, P("w/a/b/c/d4/.git"), "depth 4");
	assert_null(node(&plan, P("w/a/b/c/d4/e5/.git")));
	assert_null(node(&plan, P("w/node_modules/pkg/.git")));
	assert_read_only(&plan, P("w/target/.git"), "nested repository");
	assert_read_only(&plan, P("w/m/.git"), "pointer file");
	assert_false(node(&plan, P("w/m/.git"))->is_dir);
	/* inside the read-only .git already: no node of its own */
	assert_null(node(&plan, P("w/.git/modules/m")));
	assert_read_only(&plan, P("elsewhere/gd"), "git dir named by");
	/* missing in a writable area: blocked, so that it cannot be planted */
	assert_read_only(&plan, P("w/planted"), "git dir named by");
	assert_false(node(&plan, P("w/planted"))->exists);
	assert_int_equal(plan.git_scan_depth, 4);
	assert_int_equal(plan.git_nested_found, 6);
	bool noted = false;
	for (size_t i = 0; i < plan.n_notes; i++)
		noted |= strstr(plan.notes[i], "depth 4") && strstr(plan.notes[i], "not protected");
	assert_true(noted);
	plan_free(&plan);

	ab_error err = {0};
	assert_int_equal(ab_policy_set_git_scan_depth(p, 5, &err), 0);
	resolve_ok(p, &ctx, &plan);
	assert_read_only(&plan, P("w/a/b/c/d4/e5/.git"), "depth 5");
	plan_free(&plan);
	assert_int_equal(ab_policy_set_git_scan_depth(p, 0, &err), 0);
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("w/sub/.git")));
	plan_free(&plan);
	assert_int_equal(ab_policy_set_git_scan_depth(p, 33, &err), -EINVAL);
	ab_policy_free(p);
}

static void test_unprotected_git_means_no_scan(void **state)
{
	mkdirs("w/sub/.git");
	struct plan_context ctx;
	ab_policy *p = workspace(&ctx);
	ab_error err = {0};
	assert_int_equal(ab_policy_unprotect(p, ".git", &err), 0);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("w/sub/.git")));
	assert_int_equal(plan.git_scan_depth, -1);
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_symlinked_nested_git_is_refused(void **state)
{
	mkdirs("w/sub");
	mkdirs("w/decoy");
	mklink("w/sub/.git", "../decoy");
	struct plan_context ctx;
	ab_policy *p = workspace(&ctx);
	resolve_fails(p, &ctx, ELOOP, P("w/sub"), "symbolic link");
	ab_policy_free(p);
}

static void test_bound_refuses_unless_partial(void **state)
{
	mkdirs("w/d");
	for (int i = 0; i < 20; i++) {
		char rel[32];
		snprintf(rel, sizeof(rel), "w/d/f%d", i);
		mkfile(rel, "");
	}
	struct plan_context ctx;
	ab_policy *p = workspace(&ctx);
	setenv("AGENTBOX_GIT_SCAN_MAX_ENTRIES", "10", 1);
	resolve_fails(p, &ctx, E2BIG, "reached its bound (10 entries", "--git-scan-partial");
	ab_policy_set_git_scan_partial(p, true);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(plan.n_warnings, 1);
	assert_string_equal(plan.warnings[0].code, "git_scan_partial");
	plan_free(&plan);
	/* the variable only lowers the bound */
	setenv("AGENTBOX_GIT_SCAN_MAX_ENTRIES", "99999999", 1);
	ab_policy_set_git_scan_partial(p, false);
	resolve_ok(p, &ctx, &plan);
	plan_free(&plan);
	unsetenv("AGENTBOX_GIT_SCAN_MAX_ENTRIES");
	ab_policy_free(p);
}

static void test_paths_the_config_names_become_read_only(void **state)
{
	mkdirs("w/.git");
	mkfile("w/.git/config", "[core]\n\thooksPath = .husky\n[include]\n\tpath = ../extra.cfg\n");
	mkfile("w/extra.cfg", "[filter \"x\"]\n\tclean = ./tools/clean.sh --fast\n[core]\n\tunknownProgram = ./u.sh\n");
	mkdirs("w/tools");
	mkfile("w/tools/clean.sh", "");
	mkdirs("w/sub/.git");
	/* "fsmon.sh" alone would be looked up on PATH, as git does */
	mkfile("w/sub/.git/config", "[core]\n\tfsmonitor = .hooks/fsmon.sh\n\tpager = less\n");
	mkfile("global.cfg", "[core]\n\tfsmonitor = true\n\tattributesFile = ~/attrs\n");
	struct plan_context ctx;
	ab_policy *p = workspace(&ctx);
	rule(p, P("home"), AB_ACCESS_WRITE);
	mkdirs("home");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_read_only(&plan, P("w/.husky"), "core.hookspath = '.husky'");
	assert_false(node(&plan, P("w/.husky"))->exists);
	assert_read_only(&plan, P("w/extra.cfg"), "include.path");
	assert_read_only(&plan, P("w/tools/clean.sh"), "filter.x.clean");
	assert_non_null(strstr(node(&plan, P("w/tools/clean.sh"))->why, P("w/extra.cfg:2")));
	/* relative to the nested repository's own top directory */
	assert_read_only(&plan, P("w/sub/.hooks/fsmon.sh"), "core.fsmonitor");
	assert_read_only(&plan, P("home/attrs"), "core.attributesfile");
	/* not in the table: not protected */
	assert_null(node(&plan, P("w/u.sh")));
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_config_refusals_name_key_file_and_line(void **state)
{
	mkdirs("w/.git");
	mkdirs("w/tools");
	mkfile("w/tools/ssh", "");
	mkfile("w/.git/config", "[core]\n\tsshCommand = ./tools/ssh\n");
	struct plan_context ctx;
	ab_policy *p = workspace(&ctx);
	rule(p, P("w/tools/ssh"), AB_ACCESS_WRITE);
	resolve_fails(p, &ctx, EPERM, "core.sshcommand = './tools/ssh'", P("w/.git/config"));
	ab_policy_free(p);

	p = workspace(&ctx);
	mkfile("w/.git/config", "[core]\n\tpager = \"$PAGER\" -R\n");
	resolve_fails(p, &ctx, EINVAL, "core.pager", "expansion");
	mkfile("w/.git/config", "[core]\n\n\tpager = \"less\n");
	resolve_fails(p, &ctx, EINVAL, "line 3", P("w/.git/config"));
	mkfile("w/.git/config", "[include]\n\tpath = config\n");
	resolve_fails(p, &ctx, ELOOP, "includes", NULL);
	/* fan-out: 300 includes of one file, each read */
	sbuf many = {0};
	sbuf_add(&many, "[include]\n");
	for (int i = 0; i < 300; i++)
		sbuf_add(&many, "\tpath = empty.cfg\n");
	mkfile("w/.git/empty.cfg", "");
	mkfile("w/.git/config", many.s);
	sbuf_free(&many);
	resolve_fails(p, &ctx, E2BIG, "more than 256 configuration files", NULL);
	ab_policy_free(p);
}

static void test_full_access_reads_no_git_configuration(void **state)
{
	mkdirs("w/.git");
	mkfile("w/.git/config", "[core]\n\tpager = \"broken\n");
	setenv("GIT_CONFIG_GLOBAL", P("global.cfg"), 1);
	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_WRITE);
	struct plan_context ctx = {.cwd = P("w"), .no_proc = true};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	plan_free(&plan);
	ab_policy_free(p);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_nested_repositories_down_to_the_depth),
		T_(test_unprotected_git_means_no_scan),
		T_(test_symlinked_nested_git_is_refused),
		T_(test_bound_refuses_unless_partial),
		T_(test_paths_the_config_names_become_read_only),
		T_(test_config_refusals_name_key_file_and_line),
		T_(test_full_access_reads_no_git_configuration),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
