/* The post-start check: what the plan expects at each mounted path
 * (plan/expect.h: identities recorded by resolution, the --expect specs
 * that carry them to the inner stage) and the decision whether what a
 * lookup found is that (inner/verify.h), first as a pure function, then
 * against real files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "inner/verify.h"
#include "plan/expect.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "tree_fixture.h"

/* ---- helpers ---------------------------------------------------------- */

static struct stat lstat_ok(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		fail_msg("lstat %s: %s", path, strerror(errno));
	return st;
}

/* The expectations on one line: "kind:=:path" when they carry the
 * identity lstat sees there now, "kind:-:path" when they carry none. */
static char *render_expects(const struct mount_expect *e, size_t n)
{
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_add(&b, " ");
		if (e[i].have_id) {
			struct stat st = lstat_ok(e[i].path);
			if (st.st_dev != e[i].dev || st.st_ino != e[i].ino)
				fail_msg("%s: expectation has %llu:%llu, lstat says %llu:%llu", e[i].path,
					 e[i].dev, e[i].ino, (unsigned long long)st.st_dev,
					 (unsigned long long)st.st_ino);
		}
		sbuf_addf(&b, "%c:%s:", (char)e[i].kind, e[i].have_id ? "=" : "-");
		tree_add_path(&b, e[i].path);
	}
	return b.s;
}

static void assert_expects(const struct plan *plan, const bool *skip, const char *want)
{
	struct mount_expect *e = xcalloc(plan->n_ops + 1, sizeof(*e));
	size_t n = plan_mount_expects(plan, skip, e);
	char *got = render_expects(e, n);
	bool same = strcmp(got, want) == 0;
	if (!same)
		print_error("expectations differ\n got: %s\nwant: %s\n", got, want);
	free(got);
	free(e);
	if (!same)
		fail();
}

static void op(struct plan *plan, enum plan_op_kind kind, const char *path, int node)
{
	grow_array((void **)&plan->ops, &plan->cap_ops, plan->n_ops + 1, sizeof(*plan->ops));
	plan->ops[plan->n_ops++] = (struct plan_op){
		.kind = kind, .path = xstrdup(path), .node = node,
	};
}

/* ---- resolution records identities ------------------------------------ */

static void test_resolution_records_the_identity_found_at_each_existing_path(void **state)
{
	(void)state;
	mkdirs("w/.git");
	mkdirs("w/secret");
	mkfile("w/notes", "n");
	ab_policy *p = policy_git_agentbox_only();
	assert_int_equal(ab_policy_apply_preset(p, "workspace-write", NULL), 0);
	rule(p, P("w/secret"), AB_ACCESS_NONE);
	rule(p, P("w/notes"), AB_ACCESS_READ);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	size_t checked = 0;
	for (size_t i = 0; i < plan.n_nodes; i++) {
		const struct plan_node *n = &plan.nodes[i];
		if (!n->exists)
			continue;
		struct stat st = lstat_ok(n->path);
		assert_true(n->dev == st.st_dev && n->ino == st.st_ino);
		checked++;
	}
	/* /, /tmp, w, w/.git, w/secret, w/notes at least */
	assert_true(checked >= 6);
	plan_free(&plan);
}

/* ---- plan -> expectations --------------------------------------------- */

static void test_expectations_follow_the_mounting_ops_with_their_identities(void **state)
{
	(void)state;
	mkdirs("w/.git");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	struct plan plan;
	nested_reopen_plan(&plan);
	/* The root bind and /dev have none; the mask's mountpoint and its
	 * remount neither (the mask's own expectation says read-only); a
	 * block of a missing path knows no file. */
	assert_expects(&plan, NULL,
		       "w:=:T/w d:-:T/w/.agentbox r:=:T/w/.git d:=:T/w/a f:=:T/w/secret.env"
		       " w:=:T/w/a/b f:-:T/w/docs d:-:T/w/a/b/.agentbox d:-:T/w/a/b/.git");
	plan_free(&plan);
}

static void test_an_empty_protected_dir_keeps_its_identity_for_its_block(void **state)
{
	(void)state;
	mkdirs("w/.git");
	mkdirs("w/.agentbox");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	/* the empty .agentbox is covered like a missing one, but the cover
	 * must not turn out to be the directory itself */
	assert_expects(&plan, NULL, "w:=:T/w d:=:T/w/.agentbox r:=:T/w/.git");
	plan_free(&plan);
}

static void test_skipped_ops_and_paths_under_a_fresh_proc_have_no_expectation(void **state)
{
	(void)state;
	struct plan plan;
	memset(&plan, 0, sizeof(plan));
	plan.cwd = xstrdup("/");
	plan.mount_proc = true;
	op(&plan, OP_ROOT_BIND_RO, "/", -1);
	op(&plan, OP_DEV, "/dev", -1);
	op(&plan, OP_BIND_RW, "/a", -1);
	op(&plan, OP_BLOCK_FILE, "/a/b", -1);
	op(&plan, OP_MASK_FILE, "/proc/x", -1);
	op(&plan, OP_MASK_DIR, "/procs", -1);
	bool skip[6] = {false, false, false, true, false, false};
	assert_expects(&plan, skip, "w:-:/a d:-:/procs");
	assert_expects(&plan, NULL, "w:-:/a f:-:/a/b d:-:/procs");
	/* without a fresh /proc the plan's mounts there are what remains */
	plan.mount_proc = false;
	assert_expects(&plan, skip, "w:-:/a f:-:/proc/x d:-:/procs");
	plan_free(&plan);
}

/* ---- --expect specs ----------------------------------------------------- */

static void test_spec_round_trips_through_format_and_parse(void **state)
{
	(void)state;
	const struct mount_expect in[] = {
		{MX_BIND_RO, true, 65024, 10953041, "/repo/.git"},
		{MX_BIND_RW, true, 0, 2, "/"},
		{MX_COVER_DIR, false, 0, 0, "/repo/.agentbox"},
		{MX_COVER_FILE, true, 18446744073709551615ULL, 1, "/a dir/with:colons:1:2"},
	};
	const char *want[] = {
		"r:65024:10953041:/repo/.git",
		"w:0:2:/",
		"d:-:-:/repo/.agentbox",
		"f:18446744073709551615:1:/a dir/with:colons:1:2",
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *s = mount_expect_format(&in[i]);
		assert_string_equal(s, want[i]);
		struct mount_expect out;
		assert_int_equal(mount_expect_parse(s, &out), 0);
		assert_int_equal(out.kind, in[i].kind);
		assert_int_equal(out.have_id, in[i].have_id);
		assert_true(out.dev == in[i].dev && out.ino == in[i].ino);
		assert_string_equal(out.path, in[i].path);
		free(s);
	}
}

static void test_malformed_specs_are_rejected(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "r", "r:", "x:1:2:/a", "r1:2:/a", "r:1:2", "r:1:2:", "r:1:2:a",
		"r:1:-:/a", "r:-:2:/a", "r:1::/a", "r::2:/a", "r:-1:2:/a", "r:1x:2:/a",
		"r:99999999999999999999:2:/a", "rr:1:2:/a", "r:--:-:/a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mount_expect e;
		if (mount_expect_parse(bad[i], &e) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
}

/* ---- the decision ----------------------------------------------------- */

static const struct mount_expect git_ro = {MX_BIND_RO, true, 2049, 500, "/w/.git"};

/* The planned .git, read-only, the root of its bind: what a sound start
 * looks like. */
static struct mount_seen good_bind(void)
{
	return (struct mount_seen){
		.mode = S_IFDIR | 0755, .dev = 2049, .ino = 500, .readonly = true, .mount_root = 1,
	};
}

static void assert_met(const struct mount_expect *e, const struct mount_seen *s)
{
	char why[512] = "";
	if (!mount_expect_met(e, s, why, sizeof(why)))
		fail_msg("refused: %s", why);
}

static void assert_refused(const struct mount_expect *e, const struct mount_seen *s,
			   const char *words)
{
	char why[512] = "";
	if (mount_expect_met(e, s, why, sizeof(why)))
		fail_msg("accepted, wanted a refusal saying '%s'", words);
	if (!strstr(why, words))
		fail_msg("refusal '%s' does not say '%s'", why, words);
}

static void test_planned_file_read_only_and_mounted_is_met(void **state)
{
	(void)state;
	struct mount_seen s = good_bind();
	assert_met(&git_ro, &s);
	/* a kernel that cannot tell mount roots is not held against the run */
	s.mount_root = -1;
	assert_met(&git_ro, &s);
}

static void test_another_directory_at_a_bound_path_is_refused_with_both_identities(void **state)
{
	(void)state;
	struct mount_seen s = good_bind();
	s.ino = 777;
	char why[512];
	assert_false(mount_expect_met(&git_ro, &s, why, sizeof(why)));
	char *want = xasprintf("found a directory with device %u:%u inode 777, but the plan resolved device %u:%u inode 500",
			       major(2049), minor(2049), major(2049), minor(2049));
	assert_string_equal(why, want);
	free(want);
	s = good_bind();
	s.dev = 2050;
	assert_refused(&git_ro, &s, "the plan resolved");
}

static void test_a_symlink_at_a_bound_path_is_refused(void **state)
{
	(void)state;
	struct mount_seen s = good_bind();
	s.mode = S_IFLNK | 0777;
	s.ino = 901;
	assert_refused(&git_ro, &s, "found a symbolic link");
	s = (struct mount_seen){.open_err = ELOOP};
	assert_refused(&git_ro, &s, "a symbolic link is on its path");
	s = (struct mount_seen){.open_err = ENOENT};
	assert_refused(&git_ro, &s, "does not exist");
	s = (struct mount_seen){.open_err = EACCES};
	assert_refused(&git_ro, &s, "Permission denied");
}

/* The planned file at the path, but under its parent's (writable) mount:
 * the read-only bind landed on something else. */
static void test_the_planned_file_without_its_mount_is_refused(void **state)
{
	(void)state;
	struct mount_seen s = good_bind();
	s.mount_root = 0;
	s.readonly = false;
	assert_refused(&git_ro, &s, "nothing is mounted on it");
	s.readonly = true; /* under a read-only parent: still not the plan's mount */
	assert_refused(&git_ro, &s, "nothing is mounted on it");
}

static void test_a_writable_mount_at_a_read_only_path_is_refused(void **state)
{
	(void)state;
	struct mount_seen s = good_bind();
	s.readonly = false;
	assert_refused(&git_ro, &s, "writable");
	/* a writable bind need not be (the host's file system may be
	 * read-only), but it must be the planned file, mounted */
	struct mount_expect rw = git_ro;
	rw.kind = MX_BIND_RW;
	assert_met(&rw, &s);
	s.mount_root = 0;
	assert_refused(&rw, &s, "nothing is mounted on it");
}

static const struct mount_expect secret_dir = {MX_COVER_DIR, true, 2049, 600, "/w/secret"};

static struct mount_seen good_cover_dir(void)
{
	return (struct mount_seen){
		.mode = S_IFDIR | 0000, .dev = 77, .ino = 1, .readonly = true, .tmpfs = true,
		.mount_root = 1,
	};
}

static void test_an_empty_read_only_tmpfs_over_a_hidden_dir_is_met(void **state)
{
	(void)state;
	struct mount_seen s = good_cover_dir();
	assert_met(&secret_dir, &s);
	/* a block over a path that did not exist: nothing to compare with */
	struct mount_expect block = {MX_COVER_DIR, false, 0, 0, "/w/.agentbox"};
	assert_met(&block, &s);
}

static void test_the_hidden_dir_itself_is_refused(void **state)
{
	(void)state;
	struct mount_seen s = {
		.mode = S_IFDIR | 0700, .dev = 2049, .ino = 600, .readonly = true, .tmpfs = true,
		.mount_root = 1,
	};
	/* even on a tmpfs host, mounted and read-only: it is the file */
	assert_refused(&secret_dir, &s, "the host's directory itself is visible");
}

static void test_a_cover_dir_that_is_not_what_agentbox_mounts_is_refused(void **state)
{
	(void)state;
	struct mount_seen s = good_cover_dir();
	s.tmpfs = false;
	assert_refused(&secret_dir, &s, "not the empty tmpfs");
	s = good_cover_dir();
	s.mode = S_IFREG | 0644;
	assert_refused(&secret_dir, &s, "found a regular file instead of an empty directory");
	s = good_cover_dir();
	s.mount_root = 0;
	assert_refused(&secret_dir, &s, "not mounted over the path");
	s = good_cover_dir();
	s.readonly = false;
	assert_refused(&secret_dir, &s, "on a writable mount");
	s = (struct mount_seen){.open_err = ELOOP};
	assert_refused(&secret_dir, &s, "symbolic link");
}

static const struct mount_expect env_file = {MX_COVER_FILE, true, 2049, 700, "/w/secret.env"};

static void test_an_empty_read_only_file_or_dev_null_over_a_hidden_file_is_met(void **state)
{
	(void)state;
	struct mount_seen s = {
		.mode = S_IFREG | 0000, .dev = 77, .ino = 9, .size = 0, .readonly = true,
		.mount_root = 1,
	};
	assert_met(&env_file, &s);
	/* bwrap without --ro-bind-data binds /dev/null */
	s.mode = S_IFCHR | 0666;
	s.rdev_major = 1;
	s.rdev_minor = 3;
	assert_met(&env_file, &s);
	s.rdev_minor = 5; /* /dev/zero is not empty */
	assert_refused(&env_file, &s, "character device");
}

static void test_a_cover_file_that_is_not_empty_or_is_the_host_file_is_refused(void **state)
{
	(void)state;
	struct mount_seen s = {
		.mode = S_IFREG | 0600, .dev = 2049, .ino = 700, .size = 0, .readonly = true,
		.mount_root = 1,
	};
	assert_refused(&env_file, &s, "the host's file itself is visible");
	s.ino = 701;
	s.size = 12;
	assert_refused(&env_file, &s, "a regular file of 12 bytes instead of an empty file");
	s.size = 0;
	s.mount_root = 0;
	assert_refused(&env_file, &s, "not mounted over the path");
	s.mount_root = 1;
	s.readonly = false;
	assert_refused(&env_file, &s, "on a writable mount");
}

/* ---- against real files ------------------------------------------------- */

static void assert_verify_refuses(const struct mount_expect *e, const char *words)
{
	ab_error err = {0};
	int r = mount_verify_all(e, 1, &err);
	if (r == 0)
		fail_msg("%s was accepted, wanted '%s'", e->path, words);
	assert_int_equal(r, -EXDEV);
	if (!strstr(err.message, words) || !strstr(err.message, e->path) ||
	    !strstr(err.message, "\nfix: "))
		fail_msg("message does not name %s and say '%s' with a fix line: %s", e->path, words,
			 err.message);
}

/* No namespace here: the tree's paths are plain directories of the host,
 * so a bind expected on them finds nothing mounted, and what lookups meet
 * is judged as inside a sandbox. */
static void test_verify_looks_up_real_paths_without_following_links(void **state)
{
	(void)state;
	mkdirs("w/d");
	mklink("w/l", "d");
	struct stat st = lstat_ok(P("w/d"));
	struct mount_expect e = {MX_BIND_RW, true, st.st_dev, st.st_ino, P("w/d")};
	assert_verify_refuses(&e, "nothing is mounted on it");
	e.ino++;
	assert_verify_refuses(&e, "but the plan resolved");
	e.ino--;
	e.path = P("w/l");
	assert_verify_refuses(&e, "found a symbolic link");
	e.path = P("w/l/x");
	assert_verify_refuses(&e, "a symbolic link is on its path now");
	e.path = P("w/none");
	assert_verify_refuses(&e, "does not exist");
	struct mount_expect cover = {MX_COVER_DIR, true, st.st_dev, st.st_ino, P("w/d")};
	assert_verify_refuses(&cover, "the host's directory itself is visible");

	/* The root of a mount, the planned file: a writable bind is met. */
	st = lstat_ok("/");
	struct mount_expect root = {MX_BIND_RW, true, st.st_dev, st.st_ino, "/"};
	ab_error err = {0};
	if (mount_verify_all(&root, 1, &err) < 0)
		fail_msg("/ refused: %s", err.message);
	assert_int_equal(mount_verify_all(NULL, 0, &err), 0);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_resolution_records_the_identity_found_at_each_existing_path),
		T_(test_expectations_follow_the_mounting_ops_with_their_identities),
		T_(test_an_empty_protected_dir_keeps_its_identity_for_its_block),
		cmocka_unit_test(test_skipped_ops_and_paths_under_a_fresh_proc_have_no_expectation),
		cmocka_unit_test(test_spec_round_trips_through_format_and_parse),
		cmocka_unit_test(test_malformed_specs_are_rejected),
		cmocka_unit_test(test_planned_file_read_only_and_mounted_is_met),
		cmocka_unit_test(test_another_directory_at_a_bound_path_is_refused_with_both_identities),
		cmocka_unit_test(test_a_symlink_at_a_bound_path_is_refused),
		cmocka_unit_test(test_the_planned_file_without_its_mount_is_refused),
		cmocka_unit_test(test_a_writable_mount_at_a_read_only_path_is_refused),
		cmocka_unit_test(test_an_empty_read_only_tmpfs_over_a_hidden_dir_is_met),
		cmocka_unit_test(test_the_hidden_dir_itself_is_refused),
		cmocka_unit_test(test_a_cover_dir_that_is_not_what_agentbox_mounts_is_refused),
		cmocka_unit_test(test_an_empty_read_only_file_or_dev_null_over_a_hidden_file_is_met),
		cmocka_unit_test(test_a_cover_file_that_is_not_empty_or_is_the_host_file_is_refused),
		T_(test_verify_looks_up_real_paths_without_following_links),
	};
#undef T_
	return cmocka_run_group_tests(tests, NULL, NULL);
}
