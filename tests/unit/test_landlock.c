/* Landlock rules from real plans on real temp trees (tree_fixture.h): how
 * narrower nodes push rights down, which rights files may carry, what the
 * narrowings say; then the kernel itself: the rules are accepted and a
 * restricted child is refused exactly what the rules leave out. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/landlock/landlock.h"
#include "common/error.h"
#include "common/util.h"
#include "inner/landlock_enforce.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "probe_child.h"
#include "tree_fixture.h"

#define ALL_V7 LL_FS_ALL

static void compute(const struct plan *plan, struct ll_rules *r)
{
	ab_error err = {0};
	int ret = landlock_rules_compute(plan, ALL_V7, NULL, NULL, r, &err);
	if (ret < 0)
		print_error("landlock_rules_compute: %s\n", err.message);
	assert_int_equal(ret, 0);
}

/* The access of the rule placed exactly on `path`, or 0 if there is none. */
static uint64_t rule_on(const struct ll_rules *r, const char *path)
{
	for (size_t i = 0; i < r->n_rules; i++)
		if (strcmp(r->rules[i].path, path) == 0)
			return r->rules[i].access;
	return 0;
}

static const struct ll_narrowing *narrowing(const struct ll_rules *r, const char *code,
					    const char *path)
{
	for (size_t i = 0; i < r->n_narrowings; i++)
		if (strcmp(r->narrowings[i].code, code) == 0 && r->narrowings[i].path &&
		    strcmp(r->narrowings[i].path, path) == 0)
			return &r->narrowings[i];
	return NULL;
}

static void plan_for(ab_policy *p, const char *cwd_rel, struct plan *plan)
{
	struct plan_context ctx = {.cwd = P(cwd_rel)};
	resolve_ok(p, &ctx, plan);
}

static void read_only_git_pushes_write_down(void **state)
{
	(void)state;
	mkdirs("ws/.git/refs");
	mkfile("ws/.git/HEAD", "ref: refs/heads/main\n");
	mkdirs("ws/src");
	mkfile("ws/README", "hi\n");
	ab_policy *p = ab_policy_new();
	rule(p, P("ws"), AB_ACCESS_WRITE);
	struct plan plan;
	plan_for(p, "ws", &plan);
	struct ll_rules r;
	compute(&plan, &r);

	/* the workspace itself: only what .git may have too */
	assert_int_equal(rule_on(&r, P("ws")), LL_FS_READ);
	/* every other entry: the workspace's full rights, legal ones only */
	assert_int_equal(rule_on(&r, P("ws/src")), ALL_V7);
	assert_int_equal(rule_on(&r, P("ws/README")), LL_FS_FILE_RIGHTS);
	/* .git: read, and nothing above it gives more */
	assert_int_equal(rule_on(&r, P("ws/.git")), LL_FS_READ);
	assert_int_equal(landlock_rules_access_at(&r, P("ws/.git/HEAD")), LL_FS_READ);
	assert_int_equal(landlock_rules_access_at(&r, P("ws/.agentbox")) & LL_FS_MAKE_ALL, 0);
	assert_int_equal(landlock_rules_access_at(&r, P("ws/src/new.c")), ALL_V7);

	const struct ll_narrowing *n = narrowing(&r, "no_create", P("ws"));
	assert_non_null(n);
	_cleanup_free_ char *want = xasprintf("creating, removing or renaming entries directly in %s is refused "
					      "(Landlock cannot otherwise keep %s read-only)",
					      P("ws"), P("ws/.git"));
	assert_string_equal(n->message, want);
	assert_null(narrowing(&r, "no_list", P("ws")));
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

static void hidden_dir_under_readable_parent(void **state)
{
	(void)state;
	mkdirs("home/.ssh");
	mkfile("home/.ssh/id", "secret\n");
	mkdirs("home/docs");
	mkfile("home/notes", "n\n");
	ab_policy *p = ab_policy_new();
	rule(p, P("home"), AB_ACCESS_READ);
	rule(p, P("home/.ssh"), AB_ACCESS_NONE);
	struct plan plan;
	plan_for(p, "home", &plan);
	struct ll_rules r;
	compute(&plan, &r);

	assert_int_equal(rule_on(&r, P("home")), 0);
	assert_int_equal(rule_on(&r, P("home/docs")), LL_FS_READ);
	assert_int_equal(rule_on(&r, P("home/notes")), LL_FS_READ & LL_FS_FILE_RIGHTS);
	assert_int_equal(landlock_rules_access_at(&r, P("home/.ssh/id")), 0);
	assert_int_equal(landlock_rules_access_at(&r, P("home/.ssh")), 0);

	const struct ll_narrowing *n = narrowing(&r, "no_list", P("home"));
	assert_non_null(n);
	_cleanup_free_ char *want = xasprintf("listing %s is refused (Landlock cannot otherwise keep %s hidden)",
					      P("home"), P("home/.ssh"));
	assert_string_equal(n->message, want);
	/* read-only parent: nothing about creating */
	assert_null(narrowing(&r, "no_create", P("home")));
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

/* A hidden file (a workspace's .env matched by the secret set) keeps its
 * directory listable: READ_DIR reaches no file's content. Its content,
 * and renaming it away, stay refused. */
static void hidden_file_leaves_its_directory_listable(void **state)
{
	(void)state;
	mkdirs("ws/src");
	mkfile("ws/.env", "TOKEN=x\n");
	mkfile("ws/README", "r\n");
	ab_policy *p = ab_policy_new();
	rule(p, P(""), AB_ACCESS_READ);
	rule(p, P("ws"), AB_ACCESS_WRITE);
	rule(p, P("ws/.env"), AB_ACCESS_NONE);
	struct plan plan;
	plan_for(p, "ws", &plan);
	struct ll_rules r;
	compute(&plan, &r);

	assert_int_equal(rule_on(&r, P("ws")), LL_FS_READ_DIR);
	assert_int_equal(landlock_rules_access_at(&r, P("ws/.env")) & LL_FS_FILE_RIGHTS, 0);
	assert_int_equal(rule_on(&r, P("ws/README")), LL_FS_FILE_RIGHTS);
	assert_int_equal(rule_on(&r, P("ws/src")), ALL_V7);
	assert_null(narrowing(&r, "no_list", P("ws")));
	assert_null(narrowing(&r, "no_list", P("")));
	assert_non_null(narrowing(&r, "no_create", P("ws")));
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

static void missing_protected_name_is_not_creatable(void **state)
{
	(void)state;
	mkdirs("w/a");
	mkfile("w/f", "");
	ab_policy *p = ab_policy_new();
	rule(p, P("w"), AB_ACCESS_WRITE);
	struct plan plan;
	plan_for(p, "w", &plan);
	struct ll_rules r;
	compute(&plan, &r);

	/* w keeps removing (nothing protected exists to remove) but not making */
	assert_int_equal(rule_on(&r, P("w")), ALL_V7 & ~LL_FS_MAKE_ALL);
	assert_int_equal(rule_on(&r, P("w/a")), ALL_V7);
	assert_int_equal(rule_on(&r, P("w/f")), LL_FS_FILE_RIGHTS);
	assert_int_equal(landlock_rules_access_at(&r, P("w/.git")) & LL_FS_MAKE_ALL, 0);
	const struct ll_narrowing *n = narrowing(&r, "no_create", P("w"));
	assert_non_null(n);
	assert_non_null(strstr(n->message, "creating entries directly in"));
	assert_non_null(strstr(n->message, "uncreatable"));
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

/* agentbox's state dirs: hidden by the mount backends, but under Landlock
 * hiding one below a readable directory would refuse listing it (and /),
 * so they keep the parent's access, read-only at most. */
static void state_dirs_are_read_only_not_hidden(void **state)
{
	(void)state;
	mkdirs("r/agentbox-0");
	mkdirs("w/agentbox-1");
	mkdirs("w/src");
	ab_policy *p = ab_policy_new();
	rule(p, P("r"), AB_ACCESS_READ);
	rule(p, P("w"), AB_ACCESS_WRITE);
	const char *dirs[] = {P("r/agentbox-0"), P("w/agentbox-1"), NULL};
	struct plan_context ctx = {.cwd = P("w"), .state_dirs = dirs};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	struct ll_rules r;
	compute(&plan, &r);

	/* under a readable parent: nothing narrowed, still readable */
	assert_null(narrowing(&r, "no_list", P("r")));
	assert_int_equal(landlock_rules_access_at(&r, P("r/agentbox-0")), LL_FS_READ);
	/* under a writable one: read-only, as any read-only node there */
	assert_int_equal(rule_on(&r, P("w/agentbox-1")), LL_FS_READ);
	assert_int_equal(rule_on(&r, P("w/src")), ALL_V7);
	const struct ll_narrowing *n = narrowing(&r, "no_create", P("w"));
	assert_non_null(n);
	assert_null(narrowing(&r, "no_list", P("w")));
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

static void nested_reopen(void **state)
{
	(void)state;
	mkdirs("a/b/c/d");
	mkdirs("a/b/y");
	mkdirs("a/x");
	mkdirs("a/.git");
	ab_policy *p = ab_policy_new();
	rule(p, P("a"), AB_ACCESS_WRITE);
	rule(p, P("a/b"), AB_ACCESS_NONE);
	rule(p, P("a/b/c"), AB_ACCESS_WRITE);
	struct plan plan;
	plan_for(p, "a/x", &plan);
	struct ll_rules r;
	compute(&plan, &r);

	/* /a holds a hidden entry: it gets nothing at all */
	assert_int_equal(rule_on(&r, P("a")), 0);
	assert_int_equal(rule_on(&r, P("a/x")), ALL_V7);
	assert_int_equal(landlock_rules_access_at(&r, P("a/b")), 0);
	assert_int_equal(landlock_rules_access_at(&r, P("a/b/y")), 0);
	assert_int_equal(landlock_rules_access_at(&r, P("a/b/c/d/new")), ALL_V7);
	assert_int_equal(rule_on(&r, P("a/.git")), LL_FS_READ);
	/* b/c is a writable root with a missing .git: c itself cannot make */
	assert_int_equal(rule_on(&r, P("a/b/c")), ALL_V7 & ~LL_FS_MAKE_ALL);
	assert_non_null(narrowing(&r, "no_list", P("a")));
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

static void file_rules_carry_file_rights_only(void **state)
{
	(void)state;
	mkdirs("ws/.git");
	mkdirs("ws/d");
	mkfile("ws/f1", "");
	mkfile("ws/d/f2", "");
	mklink("ws/link", "d");
	ab_policy *p = ab_policy_new();
	rule(p, P("ws"), AB_ACCESS_WRITE);
	rule(p, P("ws/d/f2"), AB_ACCESS_READ);
	struct plan plan;
	plan_for(p, "ws", &plan);
	struct ll_rules r;
	compute(&plan, &r);
	for (size_t i = 0; i < r.n_rules; i++) {
		struct stat st;
		if (stat(r.rules[i].path, &st) < 0)
			continue;
		assert_int_equal(r.rules[i].is_dir, S_ISDIR(st.st_mode) != 0);
		if (!r.rules[i].is_dir)
			assert_int_equal(r.rules[i].access & ~LL_FS_FILE_RIGHTS, 0);
	}
	/* the link gets no rule: Landlock checks what it points to */
	assert_int_equal(rule_on(&r, P("ws/link")), 0);
	/* a read-only file: its directory loses what could replace it */
	assert_int_equal(rule_on(&r, P("ws/d")), LL_FS_READ);
	assert_int_equal(rule_on(&r, P("ws/d/f2")), LL_FS_READ & LL_FS_FILE_RIGHTS);
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

static void abi_features_and_limits(void **state)
{
	(void)state;
	struct plan plan = {0};
	plan.net = AB_NET_NONE;
	plan.root_writable = true;
	struct ll_features f;
	landlock_features_for(1, AB_NET_NONE, &f);
	assert_int_equal(f.fs & (LL_FS_REFER | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV), 0);
	assert_int_equal(f.net, 0);
	assert_int_equal(f.scoped, 0);
	struct ll_rules r = {0};
	strv gaps = {0};
	landlock_note_abi_limits(&f, &plan, &r, &gaps);
	assert_int_equal(r.n_narrowings, 1);
	assert_string_equal(r.narrowings[0].code, "no_refer");
	assert_true(gaps.n >= 4);
	landlock_rules_free(&r);
	strv_free(&gaps);

	landlock_features_for(7, AB_NET_NONE, &f);
	assert_int_equal(f.fs, ALL_V7);
	assert_int_equal(f.net, LL_NET_BIND_TCP | LL_NET_CONNECT_TCP);
	assert_int_equal(f.scoped, LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL);
	assert_int_equal(f.restrict_flags, LL_RESTRICT_LOG_NEW_EXEC_ON);
	landlock_note_abi_limits(&f, &plan, &r, &gaps);
	assert_int_equal(r.n_narrowings, 0);
	assert_int_equal(gaps.n, 0);
	/* --net full: abstract sockets stay reachable, as without a netns */
	landlock_features_for(7, AB_NET_FULL, &f);
	assert_int_equal(f.net, 0);
	assert_int_equal(f.scoped, LL_SCOPE_SIGNAL);
}

/* Opens (creating with O_CREAT) and returns 0 or the errno. */
static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* In a probe child (no cmocka calls): restricts itself with the ruleset
 * and reports the first access that went the wrong way as 10..17. */
static int restricted_child(void *arg)
{
	ab_error err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || landlock_restrict(*(int *)arg, 0, &err) < 0)
		return 10;
	if (try_open(P("ws/src/new.c"), O_WRONLY | O_CREAT) != 0)
		return 11;
	if (try_open(P("ws/.git/HEAD"), O_WRONLY) != EACCES)
		return 12;
	if (try_open(P("ws/top.c"), O_WRONLY | O_CREAT) != EACCES)
		return 13;
	if (try_open(P("ws/.git/HEAD"), O_RDONLY) != 0)
		return 14;
	if (mkdir(P("ws/.agentbox"), 0755) == 0 || errno != EACCES)
		return 15;
	if (rename(P("ws/.git"), P("ws/src/g")) == 0 || errno != EACCES)
		return 16;
	if (try_open("/etc/hostname", O_RDONLY) != EACCES)
		return 17; /* outside every rule: the plan's root is empty */
	return 0;
}

static void kernel_enforces_the_rules(void **state)
{
	(void)state;
	ab_error err = {0};
	int abi = landlock_abi(&err);
	if (abi < 0) {
		print_message("skipped: %s\n", err.message);
		skip();
	}
	mkdirs("ws/.git");
	mkfile("ws/.git/HEAD", "ref\n");
	mkdirs("ws/src");
	ab_policy *p = ab_policy_new();
	rule(p, P("ws"), AB_ACCESS_WRITE);
	struct plan plan;
	plan_for(p, "ws", &plan);
	struct ll_features f;
	landlock_features_for(abi, AB_NET_NONE, &f);
	struct ll_rules r;
	assert_int_equal(landlock_rules_compute(&plan, f.fs, NULL, NULL, &r, &err), 0);
	int fd = landlock_build_ruleset(&r, &f, &err);
	if (fd < 0)
		print_error("%s\n", err.message);
	assert_true(fd >= 0);

	int st = probe_child_run(restricted_child, &fd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(fd);
	landlock_rules_free(&r);
	plan_free(&plan);
	ab_policy_free(p);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_(read_only_git_pushes_write_down),
		T_(hidden_dir_under_readable_parent),
		T_(hidden_file_leaves_its_directory_listable),
		T_(missing_protected_name_is_not_creatable),
		T_(nested_reopen),
		T_(state_dirs_are_read_only_not_hidden),
		T_(file_rules_carry_file_rights_only),
		cmocka_unit_test(abi_features_and_limits),
		T_(kernel_enforces_the_rules),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
