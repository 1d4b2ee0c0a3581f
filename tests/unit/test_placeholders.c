/* Placeholders and the state dir, against real files, real locks and real
 * processes: creation and removal, never touching the user's files,
 * sharing between concurrent runs (also of another user), refusing
 * symlinks and FIFOs, leftovers of a killed run, and the bounded wait for
 * a lock someone else holds. Forked children are probe children
 * (probe_child.h): no cmocka machinery runs in them. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "supervisor/placeholders.h"
#include "run/state_dir.h"
#include "probe_child.h"

#define NOBODY 65534

struct fx {
	char *root;  /* 0755 temp dir */
	char *state; /* root/state, 0700 */
	char *ws;    /* root/ws, the "workspace", writable by everyone */
};

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static int setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/ab-ph-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(chmod(tmpl, 0755), 0);
	fx->root = xstrdup(tmpl);
	fx->state = path_join(fx->root, "state");
	fx->ws = path_join(fx->root, "ws");
	assert_int_equal(mkdir(fx->state, 0700), 0);
	assert_int_equal(mkdir(fx->ws, 0755), 0);
	/* like /tmp: others may create here, and only owners remove */
	assert_int_equal(chmod(fx->ws, 01777), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx->root);
	free(fx->state);
	free(fx->ws);
	free(fx);
	return 0;
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static mode_t mode_of(const char *p)
{
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode;
}

static void write_byte(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static char read_byte(int fd)
{
	char c = 0;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : 0;
}

static int acquire1(const char *path, bool dir, struct placeholder_set **set, ab_error *err)
{
	struct placeholder_request rq = {path, dir};
	return placeholders_acquire(&rq, 1, set, err);
}

/* ---- another run in its own process ---------------------------------- */

struct run {
	pid_t pid;
	int cmd, reply;
};

struct run_args {
	const char *path;
	bool dir;
	int uid;
	int cmd, reply; /* the child's ends */
};

/* The child (as `uid` unless it is -1) acquires `path` and replies 'U'
 * (usable), 'N' (unusable) or 'E'; then 'R' releases and replies 'r', and
 * anything else (or EOF) makes it exit without releasing, as kill -9
 * would. A probe child: no cmocka in it. */
static int run_child(void *arg)
{
	const struct run_args *a = arg;
	struct placeholder_set *set = NULL;
	ab_error err;
	if (a->uid >= 0 && (setresgid((gid_t)a->uid, (gid_t)a->uid, (gid_t)a->uid) < 0 ||
			    setresuid((uid_t)a->uid, (uid_t)a->uid, (uid_t)a->uid) < 0))
		return 3;
	if (acquire1(a->path, a->dir, &set, &err) < 0) {
		write_byte(a->reply, 'E');
		return 1;
	}
	write_byte(a->reply, placeholders_usable(set, 0) ? 'U' : 'N');
	if (read_byte(a->cmd) == 'R') {
		placeholders_release(set);
		write_byte(a->reply, 'r');
	}
	return 0;
}

static struct run start_run(const char *path, bool dir, int uid)
{
	int to[2], from[2];
	struct run r;
	assert_int_equal(pipe2(to, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from, O_CLOEXEC), 0);
	struct run_args a = {path, dir, uid, to[0], from[1]};
	r.pid = probe_child_start(run_child, &a);
	close(to[0]);
	close(from[1]);
	r.cmd = to[1];
	r.reply = from[0];
	return r;
}

static void end_run(struct run *r, char how)
{
	int status;
	write_byte(r->cmd, how);
	if (how == 'R')
		assert_int_equal(read_byte(r->reply), 'r');
	close(r->cmd);
	close(r->reply);
	status = probe_child_wait(r->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- tests ------------------------------------------------------------ */

static void test_create_and_release_removes_placeholders(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	char *f = path_join(fx->ws, ".agentbox");
	struct placeholder_request rq[] = {{d, true}, {f, false}};
	struct placeholder_set *set = NULL;
	ab_error err;

	/* a restrictive umask must not keep other users' runs from opening
	 * (and so locking) the placeholders */
	mode_t old = umask(077);
	int ret = placeholders_acquire(rq, 2, &set, &err);
	umask(old);
	assert_int_equal(ret, 0);
	assert_true(placeholders_usable(set, 0));
	assert_true(placeholders_usable(set, 1));
	assert_int_equal(mode_of(d), S_IFDIR | PLACEHOLDER_MODE);
	assert_int_equal(mode_of(f), S_IFREG | PLACEHOLDER_MODE);

	placeholders_release(set);
	assert_false(exists(d));
	assert_false(exists(f));
	free(d);
	free(f);
}

static void test_preexisting_empty_file_and_dir_are_never_removed(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	char *f = path_join(fx->ws, ".agentbox");
	char *ro = path_join(fx->ws, "ro");
	struct placeholder_request rq[] = {{d, true}, {f, false}, {ro, true}};
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_int_equal(mkdir(d, 0755), 0);
	int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	/* read-only but without the sticky bit: still the user's */
	assert_int_equal(mkdir(ro, 0555), 0);

	assert_int_equal(placeholders_acquire(rq, 3, &set, &err), 0);
	placeholders_release(set);
	assert_int_equal(mode_of(d), S_IFDIR | 0755);
	assert_int_equal(mode_of(f), S_IFREG | 0644);
	assert_int_equal(mode_of(ro), S_IFDIR | 0555);
	free(d);
	free(f);
	free(ro);
}

/* The scenario: a run that ends while another still has its
 * sandbox mounted on the placeholder must leave it in place; the last one
 * removes it. Also across users, who share /tmp. */
static void shared_until_last(struct fx *fx, int other_uid)
{
	char *d = path_join(fx->ws, ".git");
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_int_equal(acquire1(d, true, &set, &err), 0);
	struct run other = start_run(d, true, other_uid);
	assert_int_equal(read_byte(other.reply), 'U');

	placeholders_release(set); /* we end first */
	assert_true(exists(d));
	end_run(&other, 'R'); /* the last one */
	if (other_uid < 0 || geteuid() == (uid_t)other_uid)
		assert_false(exists(d));
	else if (exists(d)) {
		/* another user may not remove ours in a sticky directory:
		 * our next run does */
		assert_int_equal(acquire1(d, true, &set, &err), 0);
		placeholders_release(set);
		assert_false(exists(d));
	}

	/* the other way round: the other user's run made it */
	other = start_run(d, true, other_uid);
	assert_int_equal(read_byte(other.reply), 'U');
	assert_int_equal(acquire1(d, true, &set, &err), 0);
	end_run(&other, 'R');
	assert_true(exists(d));
	placeholders_release(set);
	free(d);
}

static void test_placeholder_stays_until_the_last_run_releases(void **state)
{
	shared_until_last(*state, -1);
}

static void test_placeholder_is_shared_with_another_user(void **state)
{
	if (geteuid() != 0)
		skip(); /* needs to become uid 65534 */
	shared_until_last(*state, NOBODY);
}

static void test_placeholder_that_got_content_is_kept(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	char *f = path_join(fx->ws, ".agentbox");
	char *inner = path_join(d, "HEAD");
	struct placeholder_request rq[] = {{d, true}, {f, false}};
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_int_equal(placeholders_acquire(rq, 2, &set, &err), 0);
	/* the user (on the host) makes a repository and a file meanwhile */
	assert_int_equal(chmod(d, 0755), 0);
	int fd = open(inner, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(f, 0644), 0);
	placeholders_release(set);
	assert_true(exists(inner));
	assert_true(exists(f));
	free(inner);
	free(d);
	free(f);
}

static void test_placeholder_replaced_by_other_inode_is_kept(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_int_equal(acquire1(d, true, &set, &err), 0);
	/* replaced by an entry that even looks like a placeholder */
	assert_int_equal(rmdir(d), 0);
	assert_int_equal(mkdir(d, 0), 0);
	assert_int_equal(chmod(d, PLACEHOLDER_MODE), 0);
	struct stat before;
	assert_int_equal(lstat(d, &before), 0);
	placeholders_release(set);
	struct stat after;
	assert_int_equal(lstat(d, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	free(d);
}

/* kill -9 between creating and releasing: the next run that needs the
 * path adopts the leftover and removes it at its end. */
static void test_leftover_of_a_killed_run_is_removed_by_the_next(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	struct placeholder_set *set = NULL;
	ab_error err;

	struct run killed = start_run(d, true, -1);
	assert_int_equal(read_byte(killed.reply), 'U');
	end_run(&killed, 'X'); /* exits without releasing */
	assert_true(exists(d));

	assert_int_equal(acquire1(d, true, &set, &err), 0);
	placeholders_release(set);
	assert_false(exists(d));
	free(d);
}

static void test_symlink_in_parent_is_an_error_and_creates_nothing(void **state)
{
	struct fx *fx = *state;
	char *real = path_join(fx->ws, "real");
	char *link = path_join(fx->ws, "link");
	char *via = path_join(link, ".git");
	char *target = path_join(real, ".git");
	struct placeholder_set *set = NULL;
	ab_error err = {0};

	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(acquire1(via, true, &set, &err), -ELOOP);
	assert_non_null(strstr(err.message, "symlink"));
	assert_false(exists(target));
	free(real);
	free(link);
	free(via);
	free(target);
}

static void test_symlink_or_fifo_at_the_name_is_refused_without_hanging(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	char *f = path_join(fx->ws, ".agentbox");
	struct placeholder_set *set = NULL;
	ab_error err = {0};

	assert_int_equal(symlink(fx->state, d), 0);
	assert_int_equal(acquire1(d, true, &set, &err), -EEXIST);
	assert_non_null(strstr(err.message, d));
	assert_int_equal(mkfifo(f, 0644), 0);
	assert_int_equal(acquire1(f, false, &set, &err), -EEXIST);
	assert_non_null(strstr(err.message, "another type"));
	free(d);
	free(f);
}

static void test_missing_parent_is_an_error(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, "gone/.git");
	struct placeholder_set *set = NULL;
	ab_error err = {0};

	assert_int_equal(acquire1(p, true, &set, &err), -ENOENT);
	assert_non_null(strstr(err.message, "does not exist"));
	free(p);
}

static void test_failed_request_rolls_back_earlier_ones(void **state)
{
	struct fx *fx = *state;
	char *ok = path_join(fx->ws, ".git");
	char *bad = path_join(fx->ws, "gone/.git");
	struct placeholder_request rq[] = {{ok, true}, {bad, true}};
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_true(placeholders_acquire(rq, 2, &set, &err) < 0);
	assert_false(exists(ok));
	free(ok);
	free(bad);
}

static void test_uncreatable_path_is_unusable_not_an_error(void **state)
{
	struct fx *fx = *state;
	char *ro = path_join(fx->ws, "ro");
	char *p = path_join(ro, ".git");
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_int_equal(mkdir(ro, 0555), 0);
	if (geteuid() == 0) {
		/* root creates anyway: the check is for users */
		struct run r = start_run(p, true, NOBODY);
		assert_int_equal(read_byte(r.reply), 'N');
		end_run(&r, 'R');
	} else {
		assert_int_equal(acquire1(p, true, &set, &err), 0);
		assert_false(placeholders_usable(set, 0));
		placeholders_release(set);
	}
	assert_false(exists(p));
	free(ro);
	free(p);
}

/* procfs makes no entries on request (mkdir gives ENOENT with the parent
 * open): the name is left alone, at once, instead of retried for ever
 * (a --write /proc rule once hung every run this way). */
static void test_parent_that_makes_no_entries_is_unusable_at_once(void **state)
{
	(void)state;
	struct placeholder_set *set = NULL;
	ab_error err;

	/* before the fix this call never returned (the test times out) */
	assert_int_equal(acquire1("/proc/.git", true, &set, &err), 0);
	assert_false(placeholders_usable(set, 0));
	placeholders_release(set);
	assert_false(exists("/proc/.git"));
}

/* Someone holding the exclusive lock for long (any reader of the
 * placeholder can) makes a run wait, but only for a bounded time, and the
 * error names the path. */
static void test_exclusive_lock_holder_makes_acquire_fail_in_bounded_time(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	struct placeholder_set *set = NULL;
	ab_error err = {0};

	assert_int_equal(acquire1(d, true, &set, &err), 0);
	placeholders_release(set);
	assert_int_equal(mkdir(d, PLACEHOLDER_MODE), 0);
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);

	double t0 = monotonic_ms();
	assert_int_equal(acquire1(d, true, &set, &err), -EBUSY);
	double waited = monotonic_ms() - t0;
	assert_true(waited >= PLACEHOLDER_LOCK_WAIT_MS - 50);
	assert_true(waited < PLACEHOLDER_LOCK_WAIT_MS + 3000);
	assert_non_null(strstr(err.message, d));
	assert_non_null(strstr(err.message, "exclusive lock"));
	assert_true(exists(d)); /* and nothing was removed */

	/* released: the next run gets on */
	close(fd);
	assert_int_equal(acquire1(d, true, &set, &err), 0);
	placeholders_release(set);
	assert_false(exists(d));
	free(d);
}

/* Many processes acquiring and releasing the same path at once: none
 * fails, and at the end nothing is left. */
enum { LOOP_ROUNDS = 300 };

static int loop_child(void *arg)
{
	const char *d = arg;
	for (int k = 0; k < LOOP_ROUNDS; k++) {
		struct placeholder_set *set = NULL;
		ab_error err;
		struct stat st;
		if (acquire1(d, true, &set, &err) < 0) {
			dprintf(2, "round %d: %s\n", k, err.message);
			return 1;
		}
		/* while held, it is there and ours */
		if (lstat(d, &st) < 0 || !placeholder_is_marked(&st))
			return 2;
		placeholders_release(set);
	}
	return 0;
}

static void test_concurrent_acquire_and_release_never_fail(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	enum { PROCS = 8 };
	pid_t pids[PROCS];

	for (int i = 0; i < PROCS; i++)
		pids[i] = probe_child_start(loop_child, d);
	for (int i = 0; i < PROCS; i++) {
		int status = probe_child_wait(pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_false(exists(d));
	free(d);
}

/* ---- state dir -------------------------------------------------------- */

static char *saved_xdg;

static int xdg_setup(void **state)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	saved_xdg = x ? xstrdup(x) : NULL;
	return setup(state);
}

static int xdg_teardown(void **state)
{
	if (saved_xdg)
		setenv("XDG_RUNTIME_DIR", saved_xdg, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(saved_xdg);
	saved_xdg = NULL;
	return teardown(state);
}

static void test_state_dir_is_created_private_under_xdg_runtime_dir(void **state)
{
	struct fx *fx = *state;
	char *want = path_join(fx->root, "agentbox");
	char *got = NULL;
	ab_error err;
	struct stat st;

	setenv("XDG_RUNTIME_DIR", fx->root, 1);
	mode_t old = umask(0);
	int ret = state_dir_get(&got, &err);
	umask(old);
	assert_int_equal(ret, 0);
	assert_string_equal(got, want);
	assert_int_equal(lstat(got, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	free(got);

	/* Second call finds the same dir. */
	assert_int_equal(state_dir_get(&got, &err), 0);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void test_state_dir_refuses_a_symlink(void **state)
{
	struct fx *fx = *state;
	char *link = path_join(fx->root, "agentbox");
	char *got = NULL;
	ab_error err = { 0 };

	assert_int_equal(symlink(fx->state, link), 0);
	setenv("XDG_RUNTIME_DIR", fx->root, 1);
	assert_int_equal(state_dir_get(&got, &err), -ELOOP);
	assert_null(got);
	assert_non_null(strstr(err.message, link));
	assert_non_null(strstr(err.message, "symlink"));
	free(link);
}

static void test_state_dir_refuses_dir_of_another_user(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->root, "agentbox");
	char *got = NULL;
	ab_error err = { 0 };

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chown(d, NOBODY, NOBODY), 0);
	setenv("XDG_RUNTIME_DIR", fx->root, 1);
	assert_int_equal(state_dir_get(&got, &err), -EPERM);
	assert_null(got);
	assert_non_null(strstr(err.message, d));
	assert_non_null(strstr(err.message, "owned by uid 65534"));
	free(d);
}

/* One of ours that others could write to: made private again, and what
 * they may have planted there (a forged cache) is dropped, not obeyed. */
static void test_state_dir_writable_by_others_is_made_private_and_emptied(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->root, "agentbox");
	char *cache = path_join(d, "bwrap-probe-v1");
	char *got = NULL;
	ab_error err = {0};

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 0777), 0);
	int fd = open(cache, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	setenv("XDG_RUNTIME_DIR", fx->root, 1);
	assert_int_equal(state_dir_get(&got, &err), 0);
	assert_string_equal(got, d);
	assert_int_equal(mode_of(d), S_IFDIR | 0700);
	assert_false(exists(cache));
	free(got);
	free(cache);
	free(d);
}

static void test_state_dir_candidates_name_every_location(void **state)
{
	struct fx *fx = *state;
	unsigned uid = (unsigned)geteuid();
	char *tmp = xasprintf("/tmp/agentbox-%u", uid);
	char *run = xasprintf("/run/user/%u/agentbox", uid);
	char *xdg = path_join(fx->root, "agentbox");
	strv c = {0};

	setenv("XDG_RUNTIME_DIR", fx->root, 1);
	state_dir_candidates(&c);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], tmp);
	assert_string_equal(c.v[1], run);
	assert_string_equal(c.v[2], xdg);
	/* the one in /tmp exists afterwards, so hiding it needs no placeholder */
	assert_true(exists(tmp));
	strv_free(&c);

	unsetenv("XDG_RUNTIME_DIR");
	state_dir_candidates(&c);
	assert_int_equal(c.n, 2);
	strv_free(&c);
	free(tmp);
	free(run);
	free(xdg);
}

static void test_state_dir_falls_back_to_tmp_without_usable_xdg(void **state)
{
	struct fx *fx = *state;
	char *want = xasprintf("/tmp/agentbox-%u", (unsigned)geteuid());
	char *foreign = path_join(fx->root, "foreign");
	char *got = NULL;
	ab_error err;

	setenv("XDG_RUNTIME_DIR", "relative/dir", 1);
	assert_int_equal(state_dir_get(&got, &err), 0);
	assert_string_equal(got, want);
	assert_true(S_ISDIR(mode_of(got)));
	free(got);

	/* A runtime dir owned by someone else is not ours to use. */
	assert_int_equal(mkdir(foreign, 0700), 0);
	assert_int_equal(chown(foreign, NOBODY, NOBODY), 0);
	setenv("XDG_RUNTIME_DIR", foreign, 1);
	assert_int_equal(state_dir_get(&got, &err), 0);
	assert_string_equal(got, want);
	free(got);
	free(foreign);
	free(want);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TX(f) cmocka_unit_test_setup_teardown(f, xdg_setup, xdg_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_and_release_removes_placeholders),
		T(test_preexisting_empty_file_and_dir_are_never_removed),
		T(test_placeholder_stays_until_the_last_run_releases),
		T(test_placeholder_is_shared_with_another_user),
		T(test_placeholder_that_got_content_is_kept),
		T(test_placeholder_replaced_by_other_inode_is_kept),
		T(test_leftover_of_a_killed_run_is_removed_by_the_next),
		T(test_symlink_in_parent_is_an_error_and_creates_nothing),
		T(test_symlink_or_fifo_at_the_name_is_refused_without_hanging),
		T(test_missing_parent_is_an_error),
		T(test_failed_request_rolls_back_earlier_ones),
		T(test_uncreatable_path_is_unusable_not_an_error),
	T(test_parent_that_makes_no_entries_is_unusable_at_once),
		T(test_exclusive_lock_holder_makes_acquire_fail_in_bounded_time),
		T(test_concurrent_acquire_and_release_never_fail),
		TX(test_state_dir_is_created_private_under_xdg_runtime_dir),
		TX(test_state_dir_refuses_a_symlink),
		TX(test_state_dir_refuses_dir_of_another_user),
		TX(test_state_dir_writable_by_others_is_made_private_and_emptied),
		TX(test_state_dir_falls_back_to_tmp_without_usable_xdg),
		TX(test_state_dir_candidates_name_every_location),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
