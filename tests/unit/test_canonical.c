/* canonicalize (src/plan/canonical.c) on a real tree: ".", ".." and
 * repeated slashes, relative and absolute links with components after
 * them, the links crossed, a missing tail kept lexically, the identity
 * found, and a loop refused. */
#include <errno.h>
#include <fcntl.h>
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

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "probe_child.h"
#include "tree_fixture.h"


/* "T/rel", for the caller to free */
static char *at(const char *rel)
{
	return xstrdup(P(rel));
}

static int setup(void **state)
{
	if (tree_setup(state) != 0)
		return -1;
	_cleanup_free_ char *a = at("a");
	_cleanup_free_ char *b = at("a/b");
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	_cleanup_free_ char *rel = at("rel");
	_cleanup_free_ char *abs = at("abs");
	_cleanup_free_ char *chain = at("chain");
	_cleanup_free_ char *loop1 = at("loop1");
	_cleanup_free_ char *loop2 = at("loop2");
	assert_int_equal(symlink("a/./b", rel), 0);
	assert_int_equal(symlink(b, abs), 0);
	assert_int_equal(symlink("rel/..", chain), 0);
	assert_int_equal(symlink("loop2", loop1), 0);
	assert_int_equal(symlink("loop1", loop2), 0);
	return 0;
}


static void expect(const char *rel_in, const char *rel_want, bool exists, const char *rel_missing,
		   size_t n_links)
{
	_cleanup_free_ char *in = xasprintf("%s%s", T, rel_in);
	_cleanup_free_ char *want = xasprintf("%s%s", T, rel_want);
	struct canonical c;
	ab_error err;
	assert_int_equal(canonicalize(in, &c, &err), 0);
	assert_string_equal(c.path, want);
	assert_int_equal(c.exists, exists);
	if (rel_missing) {
		_cleanup_free_ char *m = xasprintf("%s%s", T, rel_missing);
		assert_non_null(c.first_missing);
		assert_string_equal(c.first_missing, m);
	} else {
		assert_null(c.first_missing);
	}
	assert_int_equal(c.n_links, n_links);
	if (exists) {
		struct stat st;
		assert_int_equal(lstat(want, &st), 0);
		assert_int_equal(c.dev, st.st_dev);
		assert_int_equal(c.ino, st.st_ino);
		assert_int_equal(c.is_dir, S_ISDIR(st.st_mode));
	}
	canonical_free(&c);
}

static void test_plain_paths_dots_and_slashes(void **state)
{
	(void)state;
	expect("/a/b", "/a/b", true, NULL, 0);
	expect("//a///b/", "/a/b", true, NULL, 0);
	expect("/a/./b/.", "/a/b", true, NULL, 0);
	expect("/a/b/../b", "/a/b", true, NULL, 0);
	expect("/a/b/..", "/a", true, NULL, 0);
}

static void test_links_with_components_after_them(void **state)
{
	(void)state;
	expect("/rel", "/a/b", true, NULL, 1);
	expect("/rel/x/y", "/a/b/x/y", false, "/a/b/x", 1);
	expect("/abs/../b", "/a/b", true, NULL, 1);
	expect("/chain/b", "/a/b", true, NULL, 2);

	_cleanup_free_ char *in = at("chain/b");
	struct canonical c;
	ab_error err;
	assert_int_equal(canonicalize(in, &c, &err), 0);
	_cleanup_free_ char *chain = at("chain");
	_cleanup_free_ char *rel = at("rel");
	assert_string_equal(c.links[0].location, chain);
	assert_string_equal(c.links[0].target, "rel/..");
	assert_string_equal(c.links[1].location, rel);
	assert_string_equal(c.links[1].target, "a/./b");
	canonical_free(&c);
}

static void test_missing_tail_is_kept_lexically(void **state)
{
	(void)state;
	expect("/none", "/none", false, "/none", 0);
	expect("/none/x/../y", "/none/y", false, "/none", 0);
}

static void test_a_loop_is_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *in = at("loop1/x");
	struct canonical c;
	ab_error err;
	assert_int_equal(canonicalize(in, &c, &err), -ELOOP);
	assert_null(c.path);
	assert_int_equal(canonicalize("relative/path", &c, &err), -EINVAL);
}

int main(void)
{
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_plain_paths_dots_and_slashes),
		T_(test_links_with_components_after_them),
		T_(test_missing_tail_is_kept_lexically),
		T_(test_a_loop_is_refused),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
