/* The lookups memo of one plan resolution (src/plan/stat_memo.c) on a real
 * tree: inside a memo a path is looked up once (a change after the first
 * lookup is not seen), a new memo sees the change, errno is the one the
 * system call gave, a stat through a link is not answered from lstat,
 * forgotten paths are looked up again, and a memo is seen by its own
 * thread and its own nesting level only. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "plan/canonical.h"
#include "plan/stat_memo.h"
#include "probe_child.h"
#include "tree_fixture.h"

static const int owner = 0; /* any address names a memo's owner */

/* "T/rel", for the caller to free */
static char *at(const char *rel)
{
	return xstrdup(P(rel));
}

static void put(const char *rel)
{
	_cleanup_free_ char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}


static void test_second_lookup_is_remembered_and_a_new_memo_sees_the_change(void **state)
{
	(void)state;
	put("f");
	_cleanup_free_ char *f = at("f");
	struct stat first, st;
	stat_memo_begin(&owner);
	assert_int_equal(memo_lstat(f, &first), 0);
	assert_int_equal(unlink(f), 0);
	assert_int_equal(memo_lstat(f, &st), 0);
	assert_int_equal(st.st_ino, first.st_ino);
	assert_int_equal(memo_stat(f, &st), 0); /* no link: lstat's answer */
	assert_int_equal(st.st_ino, first.st_ino);
	stat_memo_end(&owner);

	errno = 0;
	assert_int_equal(memo_lstat(f, &st), -1); /* no memo: the real call */
	assert_int_equal(errno, ENOENT);
	stat_memo_begin(&owner);
	errno = 0;
	assert_int_equal(memo_lstat(f, &st), -1);
	assert_int_equal(errno, ENOENT);
	stat_memo_end(&owner);
}

static void test_errno_is_the_system_calls_every_time(void **state)
{
	(void)state;
	put("file");
	_cleanup_free_ char *missing = at("missing");
	_cleanup_free_ char *below_file = at("file/x");
	struct stat st;
	stat_memo_begin(&owner);
	for (int i = 0; i < 2; i++) {
		errno = 0;
		assert_int_equal(memo_lstat(missing, &st), -1);
		assert_int_equal(errno, ENOENT);
		errno = 0;
		assert_int_equal(memo_stat(missing, &st), -1);
		assert_int_equal(errno, ENOENT);
		errno = 0;
		assert_int_equal(memo_lstat(below_file, &st), -1);
		assert_int_equal(errno, ENOTDIR);
		errno = 0;
		char buf[8];
		assert_int_equal(memo_readlink(below_file, buf, sizeof(buf)), -1);
		assert_int_equal(errno, ENOTDIR);
	}
	/* the missing file appears: still missing for this memo */
	put("missing");
	errno = 0;
	assert_int_equal(memo_stat(missing, &st), -1);
	assert_int_equal(errno, ENOENT);
	stat_memo_end(&owner);
}

/* EACCES, not ENOENT, below a directory that uid 65534 cannot search;
 * run as that user in a child when the test runs as root. */
static int eacces_twice(void *arg)
{
	const char *path = arg;
	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		return 10;
	struct stat st;
	stat_memo_begin(&owner);
	for (int i = 0; i < 2; i++) {
		errno = 0;
		if (memo_lstat(path, &st) != -1 || errno != EACCES)
			return 20 + i;
		errno = 0;
		if (memo_stat(path, &st) != -1 || errno != EACCES)
			return 30 + i;
	}
	stat_memo_end(&owner);
	return 0;
}

static void test_eacces_stays_eacces(void **state)
{
	(void)state;
	_cleanup_free_ char *closed = at("closed");
	assert_int_equal(mkdir(closed, 0700), 0);
	put("closed/x");
	if (geteuid() != 0 && access(closed, X_OK) == 0)
		assert_int_equal(chmod(closed, 0), 0);
	assert_int_equal(chmod(T, 0755), 0);
	_cleanup_free_ char *x = at("closed/x");
	int status = probe_child_run(eacces_twice, x);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	chmod(closed, 0700);
}

static void test_stat_through_a_link_is_not_lstat(void **state)
{
	(void)state;
	put("target");
	_cleanup_free_ char *target = at("target");
	_cleanup_free_ char *link = at("link");
	assert_int_equal(symlink("target", link), 0);
	struct stat l, s, t;
	assert_int_equal(lstat(target, &t), 0);
	stat_memo_begin(&owner);
	assert_int_equal(memo_lstat(link, &l), 0);
	assert_true(S_ISLNK(l.st_mode));
	assert_int_equal(memo_stat(link, &s), 0);
	assert_true(S_ISREG(s.st_mode));
	assert_int_equal(s.st_ino, t.st_ino);

	char buf[64];
	ssize_t n = memo_readlink(link, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "target", 6);
	/* re-pointed: the memo keeps the first answer; truncation as readlink(2) */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("elsewhere", link), 0);
	n = memo_readlink(link, buf, 3);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "tar", 3);
	stat_memo_end(&owner);
}

static void test_forget_drops_a_path_and_what_is_below_it(void **state)
{
	(void)state;
	_cleanup_free_ char *d = at("d");
	_cleanup_free_ char *in = at("d/in");
	_cleanup_free_ char *sibling = at("dd");
	struct stat st;
	stat_memo_begin(&owner);
	assert_int_equal(memo_lstat(d, &st), -1);
	assert_int_equal(memo_lstat(in, &st), -1);
	assert_int_equal(memo_lstat(sibling, &st), -1);
	assert_int_equal(mkdir(d, 0755), 0);
	put("d/in");
	assert_int_equal(mkdir(sibling, 0755), 0);
	stat_memo_forget(d);
	assert_int_equal(memo_lstat(d, &st), 0);
	assert_int_equal(memo_lstat(in, &st), 0);
	assert_int_equal(memo_lstat(sibling, &st), -1); /* not below d: kept */
	stat_memo_end(&owner);
}

/* Enough paths to grow the table several times; each still answers. */
static void test_many_paths(void **state)
{
	(void)state;
	struct stat st;
	stat_memo_begin(&owner);
	for (int i = 0; i < 1000; i++) {
		_cleanup_free_ char *p = xasprintf("%s/n%d", T, i);
		assert_int_equal(memo_lstat(p, &st), -1);
	}
	put("n999");
	put("n5");
	_cleanup_free_ char *p5 = at("n5");
	assert_int_equal(memo_lstat(p5, &st), -1);
	stat_memo_end(&owner);
	assert_int_equal(lstat(p5, &st), 0);
}

static void test_nested_memo_starts_empty_and_ends_with_its_owner(void **state)
{
	(void)state;
	static const int inner = 0;
	_cleanup_free_ char *f = at("f");
	struct stat st;
	stat_memo_begin(&owner);
	assert_int_equal(memo_lstat(f, &st), -1); /* outer: missing */
	put("f");
	stat_memo_begin(&inner);
	assert_int_equal(memo_lstat(f, &st), 0); /* inner: sees it */
	stat_memo_end(&inner);
	assert_int_equal(memo_lstat(f, &st), -1); /* outer again */
	/* an inner memo never ended (unwound): ended with its outer one */
	stat_memo_begin(&inner);
	stat_memo_end(&owner);
	assert_int_equal(memo_lstat(f, &st), 0); /* no memo left */
	stat_memo_end(&inner);			 /* nothing left: no-op */
	/* the same owner begun again (its last resolution was unwound):
	 * the stale memo goes */
	_cleanup_free_ char *g = at("g");
	stat_memo_begin(&owner);
	assert_int_equal(memo_lstat(g, &st), -1);
	put("g");
	stat_memo_begin(&owner);
	assert_int_equal(memo_lstat(g, &st), 0);
	stat_memo_end(&owner);
	assert_int_equal(memo_lstat(g, &st), 0); /* not the stale one */
}

static void *other_thread(void *arg)
{
	struct stat st;
	return (void *)(intptr_t)(memo_lstat(arg, &st) == 0);
}

static void test_another_thread_does_not_see_the_memo(void **state)
{
	(void)state;
	_cleanup_free_ char *f = at("f");
	struct stat st;
	stat_memo_begin(&owner);
	assert_int_equal(memo_lstat(f, &st), -1);
	put("f");
	pthread_t t;
	void *found = NULL;
	assert_int_equal(pthread_create(&t, NULL, other_thread, f), 0);
	assert_int_equal(pthread_join(t, &found), 0);
	assert_true((intptr_t)found == 1);
	assert_int_equal(memo_lstat(f, &st), -1);
	stat_memo_end(&owner);
}

/* canonicalize goes through the memo: a component replaced by a link
 * after the first resolution does not change the second. */
static void test_canonicalize_uses_the_memo(void **state)
{
	(void)state;
	_cleanup_free_ char *d = at("d");
	_cleanup_free_ char *e = at("e");
	_cleanup_free_ char *in = at("d/x");
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(mkdir(e, 0755), 0);
	struct canonical c;
	ab_error err;
	stat_memo_begin(&owner);
	assert_int_equal(canonicalize(in, &c, &err), 0);
	assert_string_equal(c.path, in);
	canonical_free(&c);
	assert_int_equal(rmdir(d), 0);
	assert_int_equal(symlink("e", d), 0);
	assert_int_equal(canonicalize(in, &c, &err), 0);
	assert_string_equal(c.path, in);
	assert_int_equal(c.n_links, 0);
	canonical_free(&c);
	stat_memo_end(&owner);
	assert_int_equal(canonicalize(in, &c, &err), 0);
	_cleanup_free_ char *want = at("e/x");
	assert_string_equal(c.path, want);
	assert_int_equal(c.n_links, 1);
	canonical_free(&c);
}

int main(void)
{
#define T_(fn) cmocka_unit_test_setup_teardown(fn, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_second_lookup_is_remembered_and_a_new_memo_sees_the_change),
		T_(test_errno_is_the_system_calls_every_time),
		T_(test_eacces_stays_eacces),
		T_(test_stat_through_a_link_is_not_lstat),
		T_(test_forget_drops_a_path_and_what_is_below_it),
		T_(test_many_paths),
		T_(test_nested_memo_starts_empty_and_ends_with_its_owner),
		T_(test_another_thread_does_not_see_the_memo),
		T_(test_canonicalize_uses_the_memo),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
