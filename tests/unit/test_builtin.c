/* The built-in engine's pure decisions (src/backend/builtin/builtin_steps.c) and
 * its setup report. The mounts themselves are tested against the kernel
 * by the integration suite (every case runs on the built-in backend). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/builtin/builtin.h"
#include "backend/builtin/builtin_steps.h"
#include "plan/plan.h"
#include "probe_child.h"

static struct plan_op op(enum plan_op_kind kind, const char *path)
{
	return (struct plan_op){.kind = kind, .path = (char *)path, .node = -1};
}

/* /proc and the empty root's final remount are plan operations now
 * (plan_order_ops puts them last): the steps keep the plan's order. */
static void test_steps_keep_the_plan_order_proc_and_root_remount_included(void **state)
{
	(void)state;
	struct plan_op ops[] = {
		op(OP_ROOT_TMPFS, "/"), op(OP_DEV, "/dev"), op(OP_BIND_RO, "/usr"),
		op(OP_SYMLINK, "/lib64"), op(OP_PROC, "/proc"), op(OP_PROC_KNOB, "/proc/sys"),
		op(OP_REMOUNT_RO, "/"),
	};
	struct plan plan = {.ops = ops, .n_ops = 7, .mount_proc = true};
	struct step steps[9];
	size_t n = builtin_steps(&plan, NULL, steps);
	assert_int_equal(n, 8);
	assert_int_equal(steps[0].kind, STEP_ROOT);
	for (size_t i = 1; i < 7; i++) {
		assert_int_equal(steps[i].kind, STEP_OP);
		assert_int_equal(steps[i].op, i);
	}
	assert_int_equal(steps[7].kind, STEP_PIVOT);
}

static void test_bound_root_keeps_plan_order_and_skips(void **state)
{
	(void)state;
	struct plan_op ops[] = {
		op(OP_ROOT_BIND_RO, "/"), op(OP_DEV, "/dev"), op(OP_BIND_RW, "/w"),
		op(OP_BLOCK_DIR, "/w/.git"), op(OP_MASK_DIR, "/w/secret"), op(OP_MKDIR, "/w/secret/open"),
		op(OP_REMOUNT_RO, "/w/secret"), op(OP_BIND_RW, "/w/secret/open"),
	};
	bool skip[8] = {false, false, false, true, false, false, false, false};
	struct plan plan = {.ops = ops, .n_ops = 8, .mount_proc = false, .root_readable = true};
	struct step steps[12];
	size_t n = builtin_steps(&plan, skip, steps);
	/* root, 6 ops (the skipped block left out), pivot; no /proc, and the
	 * mask's own remount stays in place, before the reopened bind */
	assert_int_equal(n, 8);
	size_t expect_ops[] = {1, 2, 4, 5, 6, 7};
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(steps[1 + i].kind, STEP_OP);
		assert_int_equal(steps[1 + i].op, expect_ops[i]);
	}
	assert_int_equal(steps[7].kind, STEP_PIVOT);
}

static struct stat mode_stat(mode_t mode, dev_t dev, ino_t ino)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_dev = dev;
	st.st_ino = ino;
	return st;
}

static void test_missing_components_are_created_only_on_own_tmpfs(void **state)
{
	(void)state;
	assert_int_equal(builtin_component_action(false, NULL, false, true), COMP_CREATE);
	assert_int_equal(builtin_component_action(false, NULL, true, true), COMP_CREATE);
	/* on a host filesystem (a writable root, say) nothing is created */
	assert_int_equal(builtin_component_action(false, NULL, true, false), COMP_REFUSE_MISSING);
	assert_int_equal(builtin_component_action(false, NULL, false, false), COMP_REFUSE_MISSING);
}

static void test_symlinks_are_refused_at_every_component(void **state)
{
	(void)state;
	struct stat link = mode_stat(S_IFLNK | 0777, 1, 2);
	assert_int_equal(builtin_component_action(true, &link, false, false), COMP_REFUSE_SYMLINK);
	assert_int_equal(builtin_component_action(true, &link, true, false), COMP_REFUSE_SYMLINK);
	/* even on our own tmpfs: nothing there should be a link we follow */
	assert_int_equal(builtin_component_action(true, &link, true, true), COMP_REFUSE_SYMLINK);
}

static void test_files_only_at_the_end(void **state)
{
	(void)state;
	struct stat file = mode_stat(S_IFREG | 0644, 1, 2);
	struct stat dir = mode_stat(S_IFDIR | 0755, 1, 3);
	assert_int_equal(builtin_component_action(true, &file, false, false), COMP_REFUSE_NOTDIR);
	assert_int_equal(builtin_component_action(true, &file, true, false), COMP_DESCEND);
	assert_int_equal(builtin_component_action(true, &dir, false, false), COMP_DESCEND);
	assert_int_equal(builtin_component_action(true, &dir, true, false), COMP_DESCEND);
}

static void test_target_must_be_the_source_unless_ours(void **state)
{
	(void)state;
	struct stat src = mode_stat(S_IFDIR | 0755, 10, 100);
	struct stat same = mode_stat(S_IFDIR | 0755, 10, 100);
	struct stat other_ino = mode_stat(S_IFDIR | 0755, 10, 101);
	struct stat other_dev = mode_stat(S_IFDIR | 0755, 11, 100);
	assert_true(builtin_same_target(&src, &same, false));
	assert_false(builtin_same_target(&src, &other_ino, false));
	assert_false(builtin_same_target(&src, &other_dev, false));
	/* a mountpoint this run created on its own tmpfs */
	assert_true(builtin_same_target(&src, &other_dev, true));
}

static void test_empty_report_means_setup_succeeded(void **state)
{
	(void)state;
	ab_error err = {0};
	enum builtin_failure f = BUILTIN_FAIL_REFUSE;
	assert_int_equal(builtin_decode_report(NULL, 0, &f, &err), 0);
	assert_int_equal(f, BUILTIN_OK);
}

static void test_truncated_report_is_refused(void **state)
{
	(void)state;
	ab_error err = {0};
	enum builtin_failure f = BUILTIN_OK;
	char junk[10] = "xxxxxxxxx";
	assert_int_equal(builtin_decode_report(junk, sizeof(junk), &f, &err), -EIO);
	assert_int_equal(f, BUILTIN_FAIL_REFUSE);
	assert_non_null(strstr(err.message, "malformed"));
}

/* builtin_check clones a real child into the namespaces and decodes its
 * report. This machine allows namespaces (the whole suite relies on it),
 * so it must say so for both network modes; the refusing hosts are the
 * integration suite's (t_builtin.sh, nested user namespaces). */
static void test_check_reports_this_host(void **state)
{
	(void)state;
	ab_error err = {0};
	assert_int_equal(builtin_check(AB_NET_NONE, &err), 0);
	assert_int_equal(builtin_check(AB_NET_FULL, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_keep_the_plan_order_proc_and_root_remount_included),
		cmocka_unit_test(test_bound_root_keeps_plan_order_and_skips),
		cmocka_unit_test(test_missing_components_are_created_only_on_own_tmpfs),
		cmocka_unit_test(test_symlinks_are_refused_at_every_component),
		cmocka_unit_test(test_files_only_at_the_end),
		cmocka_unit_test(test_target_must_be_the_source_unless_ours),
		cmocka_unit_test(test_empty_report_means_setup_succeeded),
		cmocka_unit_test(test_truncated_report_is_refused),
		cmocka_unit_test(test_check_reports_this_host),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
