/* rmtree_at (common/rmtree.h) against real trees: what an untrusted
 * command can leave in its TMPDIR goes, and nothing outside is touched. */
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
#include "common/rmtree.h"

struct fixture {
	char base[64];
	int base_fd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->base, sizeof(f->base), "/tmp/ab-rmtree-XXXXXX");
	if (!f || !mkdtemp(f->base))
		return -1;
	f->base_fd = open(f->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->base_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ab_error err;
	(void)rmtree_at(f->base_fd, "outside", &err);
	(void)rmtree_at(f->base_fd, "t", &err);
	close(f->base_fd);
	rmdir(f->base);
	free(f);
	return 0;
}

static void put(int at, const char *name, mode_t mode)
{
	int fd = openat(at, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int sub(int at, const char *name)
{
	assert_int_equal(mkdirat(at, name, 0700), 0);
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Everything the issue names at once: a mode-000 directory with files, a
 * 300-level chain, read-only files and a read-only directory, a fifo, and
 * symlinks to a directory and a file outside, which must not be followed. */
static void test_removes_hostile_tree_and_nothing_outside(void **state)
{
	struct fixture *f = *state;
	int out = sub(f->base_fd, "outside");
	put(out, "keep", 0444);
	close(out);

	int t = sub(f->base_fd, "t");
	int locked = sub(t, "locked");
	put(locked, "a", 0600);
	put(locked, "b", 0400);
	assert_int_equal(fchmod(locked, 0), 0);
	close(locked);
	int ro = sub(t, "ro");
	put(ro, "c", 0400);
	assert_int_equal(fchmod(ro, 0500), 0);
	close(ro);
	put(t, "readonly", 0400);
	assert_int_equal(mkfifoat(t, "fifo", 0600), 0);
	char target[128];
	snprintf(target, sizeof(target), "%s/outside", f->base);
	assert_int_equal(symlinkat(target, t, "to-outside"), 0);
	snprintf(target, sizeof(target), "%s/outside/keep", f->base);
	assert_int_equal(symlinkat(target, t, "to-keep"), 0);

	int d = openat(t, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 300; i++) {
		int n = sub(d, "d");
		if (i % 50 == 0)
			put(n, "f", 0400);
		if (i == 299)
			assert_int_equal(fchmod(n, 0), 0); /* the deepest one locked too */
		close(d);
		d = n;
	}
	close(d);
	close(t);

	ab_error err = {0};
	int r = rmtree_at(f->base_fd, "t", &err);
	if (r != 0)
		fail_msg("rmtree_at: %s", err.message);
	struct stat st;
	assert_int_equal(fstatat(f->base_fd, "t", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(errno, ENOENT);
	/* the symlinks' targets are intact, mode included */
	assert_int_equal(fstatat(f->base_fd, "outside/keep", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_int_equal(fstatat(f->base_fd, "outside", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

/* A name that is a symlink to a directory is removed as the link. */
static void test_symlink_at_the_top_is_unlinked_not_followed(void **state)
{
	struct fixture *f = *state;
	int out = sub(f->base_fd, "outside");
	put(out, "keep", 0600);
	close(out);
	assert_int_equal(symlinkat("outside", f->base_fd, "t"), 0);
	ab_error err = {0};
	assert_int_equal(rmtree_at(f->base_fd, "t", &err), 0);
	struct stat st;
	assert_int_equal(fstatat(f->base_fd, "outside/keep", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(f->base_fd, "t", &st, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_missing_name_is_success(void **state)
{
	struct fixture *f = *state;
	ab_error err = {0};
	assert_int_equal(rmtree_at(f->base_fd, "t", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_removes_hostile_tree_and_nothing_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_at_the_top_is_unlinked_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_name_is_success, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
