/* Git inside the sandbox does not see the run's file placeholders
 * (plan/git_exclude.c): the patterns, the plan's cover of info/exclude
 * against real trees, and the inner stage's check of that cover. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/bwrap/bwrap.h"
#include "common/util.h"
#include "inner/verify.h"
#include "plan/expect.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "tree_fixture.h"

static void assert_pattern(const char *rel, const char *want)
{
	char *got = git_exclude_pattern(rel);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_patterns_are_anchored_and_escaped(void **state)
{
	(void)state;
	assert_pattern(".envrc", "/.envrc");
	assert_pattern("sub/.mcp.json", "/sub/.mcp.json");
	/* glob characters and the escape match themselves only */
	assert_pattern("a*b?c[d]\\e", "/a\\*b\\?c\\[d]\\\\e");
	/* a leading # or ! of any component, and spaces (git trims
	 * trailing ones) */
	assert_pattern("#x/!y/z#!", "/\\#x/\\!y/z#!");
	assert_pattern("trailing ", "/trailing\\ ");
	/* a name git cannot say in one line gets no pattern */
	assert_pattern("new\nline", NULL);
	assert_pattern("cr\r", NULL);
}

/* A repository at T/w (what git takes for one), with `exclude` as its
 * info/exclude (NULL: none), resolved under workspace-write's defaults
 * with T/w as the working directory. */
static void plan_repo(struct plan *plan, const char *exclude, ab_git_mode git)
{
	mkdirs("w/.git/objects");
	mkdirs("w/.git/refs/heads");
	mkdirs("w/.git/info");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	if (exclude)
		mkfile("w/.git/info/exclude", exclude);
	ab_policy *p = ab_policy_new();
	rule(p, P("w"), AB_ACCESS_WRITE);
	ab_policy_set_git(p, git);
	struct plan_context ctx = {.cwd = P("w")};
	resolve_ok(p, &ctx, plan);
	ab_policy_free(p);
}

static const struct plan_op *cover_op(const struct plan *plan)
{
	const struct plan_op *found = NULL;
	for (size_t i = 0; i < plan->n_ops; i++)
		if (plan->ops[i].kind == OP_COVER_DATA) {
			assert_null(found); /* one per repository */
			found = &plan->ops[i];
		}
	return found;
}

static bool has_note(const struct plan *plan, const char *words)
{
	for (size_t i = 0; i < plan->n_notes; i++)
		if (strstr(plan->notes[i], words))
			return true;
	return false;
}

static void check_cover(ab_git_mode git)
{
	struct plan plan;
	plan_repo(&plan, "# user's own\n*.log", git);
	const struct plan_op *op = cover_op(&plan);
	assert_non_null(op);
	assert_string_equal(op->path, P("w/.git/info/exclude"));
	assert_int_equal(op->mode, 0444);
	/* the user's patterns first (a newline added), then the placeholders;
	 * nothing for the file placeholders inside .git (commit mode blocks
	 * config.worktree) */
	assert_string_equal(op->data, "# user's own\n*.log\n"
				      "# agentbox (this run only): empty placeholders of missing protected names\n"
				      "/.envrc\n/.gitmodules\n/.mcp.json\n");
	assert_int_equal(op->data_len, strlen(op->data));
	/* it covers the very file it read, after the bind of .git or info/ */
	struct stat st;
	assert_int_equal(lstat(P("w/.git/info/exclude"), &st), 0);
	assert_true(op->dev == st.st_dev && op->ino == st.st_ino);
	size_t cover = (size_t)(op - plan.ops), bind = plan.n_ops;
	for (size_t i = 0; i < plan.n_ops; i++)
		if (plan.ops[i].kind == OP_BIND_RO && path_is_under(op->path, plan.ops[i].path))
			bind = i;
	assert_true(bind < cover);
	/* and the inner stage expects agentbox's copy there, not that file */
	struct mount_expect *e = xcalloc(plan.n_ops + 1, sizeof(*e));
	size_t n = plan_mount_expects(&plan, NULL, e), seen = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].kind == MX_COVER_DATA) {
			assert_string_equal(e[i].path, op->path);
			assert_true(e[i].have_id && e[i].dev == st.st_dev && e[i].ino == st.st_ino);
			seen++;
		}
	assert_int_equal(seen, 1);
	free(e);
	plan_free(&plan);
}

static void test_protect_mode_covers_info_exclude(void **state)
{
	(void)state;
	check_cover(AB_GIT_PROTECT);
}

static void test_commit_mode_covers_info_exclude(void **state)
{
	(void)state;
	check_cover(AB_GIT_COMMIT);
}

static void test_without_info_exclude_nothing_is_covered_and_a_note_says_so(void **state)
{
	(void)state;
	struct plan plan;
	plan_repo(&plan, NULL, AB_GIT_PROTECT);
	assert_null(cover_op(&plan));
	assert_true(has_note(&plan, "git inside sees the placeholders"));
	plan_free(&plan);
}

static void test_a_symlinked_info_exclude_is_not_followed(void **state)
{
	(void)state;
	mkfile("elsewhere", "secret\n");
	mkdirs("w/.git/info");
	mklink("w/.git/info/exclude", P("elsewhere"));
	struct plan plan;
	plan_repo(&plan, NULL, AB_GIT_PROTECT);
	assert_null(cover_op(&plan));
	assert_true(plan_has_warning(&plan, "git_exclude_unread"));
	plan_free(&plan);
}

static void test_an_oversized_info_exclude_is_left_alone(void **state)
{
	(void)state;
	char *big = xcalloc(1024 * 1024 + 2, 1);
	memset(big, '#', 1024 * 1024 + 1);
	struct plan plan;
	plan_repo(&plan, big, AB_GIT_PROTECT);
	free(big);
	assert_null(cover_op(&plan));
	assert_true(plan_has_warning(&plan, "git_exclude_unread"));
	plan_free(&plan);
}

/* ---- bwrap ------------------------------------------------------------ */

static bool argv_has(const struct bwrap_cmd *cmd, const char *a, const char *b)
{
	for (size_t i = 0; i + 1 < cmd->argv.n; i++)
		if (strcmp(cmd->argv.v[i], a) == 0 && strcmp(cmd->argv.v[i + 1], b) == 0)
			return true;
	return false;
}

static void test_bwrap_copies_the_data_with_ro_bind_data_or_leaves_it_out(void **state)
{
	(void)state;
	struct plan plan;
	plan_repo(&plan, "*.log\n", AB_GIT_PROTECT);
	const struct plan_op *op = cover_op(&plan);
	assert_non_null(op);
	char *const command[] = {(char *)"true", NULL};
	struct bwrap_build_opts opts = {.command = command};
	struct bwrap_info info = {.path = (char *)"/usr/bin/bwrap", .perms = true, .ro_bind_data = true};
	struct bwrap_cmd cmd;
	ab_error err = {0};
	assert_int_equal(bwrap_build(&plan, &info, &opts, &cmd, &err), 0);
	/* the data fd carries the op's content, numbered in order */
	const struct bwrap_fd *data = NULL;
	for (size_t i = 0; i < cmd.n_fds; i++)
		if (cmd.fds[i].kind == BFD_DATA)
			data = &cmd.fds[i];
	assert_non_null(data);
	assert_ptr_equal(data->data, op->data);
	assert_int_equal(data->data_len, op->data_len);
	char *fd = xasprintf("%d", data->target);
	assert_true(argv_has(&cmd, "--ro-bind-data", fd));
	assert_true(argv_has(&cmd, fd, op->path));
	char *spec = xasprintf("c:%llu:%llu:%s", (unsigned long long)op->dev,
			       (unsigned long long)op->ino, op->path);
	assert_true(argv_has(&cmd, "--expect", spec));
	bwrap_cmd_free(&cmd);
	/* a bwrap without --ro-bind-data: neither the cover nor its check
	 * (git then sees the placeholders, as without info/exclude) */
	info.ro_bind_data = false;
	assert_int_equal(bwrap_build(&plan, &info, &opts, &cmd, &err), 0);
	for (size_t i = 0; i < cmd.n_fds; i++)
		assert_int_not_equal(cmd.fds[i].kind, BFD_DATA);
	assert_false(argv_has(&cmd, "--expect", spec));
	for (size_t i = 0; i < cmd.argv.n; i++)
		assert_string_not_equal(cmd.argv.v[i], op->path);
	bwrap_cmd_free(&cmd);
	free(fd);
	free(spec);
	plan_free(&plan);
}

/* ---- the inner stage's check ------------------------------------------ */

static const struct mount_expect exclude_cover = {MX_COVER_DATA, true, 2049, 800, "/w/.git/info/exclude"};

static void test_the_copy_on_its_read_only_tmpfs_mount_is_met(void **state)
{
	(void)state;
	struct mount_seen s = {
		.mode = S_IFREG | 0444, .dev = 77, .ino = 9, .size = 120, .readonly = true,
		.tmpfs = true, .mount_root = 1,
	};
	char why[512] = "";
	assert_true(mount_expect_met(&exclude_cover, &s, why, sizeof(why)));
	/* and the spec travels to the inner stage (bwrap's --expect) */
	char *spec = mount_expect_format(&exclude_cover);
	assert_string_equal(spec, "c:2049:800:/w/.git/info/exclude");
	struct mount_expect back;
	assert_int_equal(mount_expect_parse(spec, &back), 0);
	assert_int_equal(back.kind, MX_COVER_DATA);
	free(spec);
}

static void assert_refused(const struct mount_seen *s, const char *words)
{
	char why[512] = "";
	if (mount_expect_met(&exclude_cover, s, why, sizeof(why)))
		fail_msg("accepted, wanted a refusal saying '%s'", words);
	if (!strstr(why, words))
		fail_msg("refusal '%s' does not say '%s'", why, words);
}

static void test_anything_but_the_copy_is_refused(void **state)
{
	(void)state;
	struct mount_seen s = {
		.mode = S_IFREG | 0644, .dev = 2049, .ino = 800, .size = 30, .readonly = true,
		.tmpfs = true, .mount_root = 1,
	};
	assert_refused(&s, "the host's file itself is visible");
	s.ino = 801;
	s.tmpfs = false;
	assert_refused(&s, "not agentbox's copy");
	s.tmpfs = true;
	s.mode = S_IFDIR | 0755;
	assert_refused(&s, "a directory that is not agentbox's copy");
	s.mode = S_IFREG | 0444;
	s.mount_root = 0;
	assert_refused(&s, "not mounted over the path");
	s.mount_root = 1;
	s.readonly = false;
	assert_refused(&s, "on a writable mount");
	s = (struct mount_seen){.open_err = ELOOP};
	assert_refused(&s, "symbolic link");
}

#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns_are_anchored_and_escaped),
		T_(test_protect_mode_covers_info_exclude),
		T_(test_commit_mode_covers_info_exclude),
		T_(test_without_info_exclude_nothing_is_covered_and_a_note_says_so),
		T_(test_a_symlinked_info_exclude_is_not_followed),
		T_(test_an_oversized_info_exclude_is_left_alone),
		T_(test_bwrap_copies_the_data_with_ro_bind_data_or_leaves_it_out),
		cmocka_unit_test(test_the_copy_on_its_read_only_tmpfs_mount_is_met),
		cmocka_unit_test(test_anything_but_the_copy_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
