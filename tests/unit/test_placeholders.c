/* Placeholders and the state dir, against real files and real processes:
 * creation and removal, never touching the user's files, sharing between
 * concurrent runs, refusing symlinks, dead owners, and the janitor that
 * cleans up after kill -9. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "run/placeholders.h"
#include "run/state_dir.h"

#include "probe_child.h"

#define NOBODY 65534

struct fx {
	char *root;  /* 0755 temp dir */
	char *state; /* root/state, 0700 */
	char *ws;    /* root/ws, the "workspace" */
};

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
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
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	rm_rf(fx->root);
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

static bool is_dir(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Record files in the registry (everything but the lock). */
static int registry_count(const char *state)
{
	char *dir = path_join(state, "placeholders");
	char *cmd = xasprintf("ls -A '%s' 2>/dev/null | grep -vx lock | wc -l",
			      dir);
	FILE *f = popen(cmd, "r");
	int n = -1;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	free(cmd);
	free(dir);
	return n;
}

static bool wait_gone(const char *p, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (!exists(p))
			return true;
		usleep(10000);
	}
	return !exists(p);
}

static void write_byte(int fd, char c)
{
	assert_int_equal(write(fd, &c, 1), 1);
}

/* write_byte for probe children, which must not call cmocka. */
static bool child_write_byte(int fd, char c)
{
	return write(fd, &c, 1) == 1;
}

static char read_byte(int fd)
{
	char c = 0;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : 0;
}

static int acquire1(const char *state, const char *path, bool dir,
		    struct placeholder_set **set, ab_error *err)
{
	struct placeholder_request rq = { path, dir };
	return placeholders_acquire(state, &rq, 1, set, err);
}

/* ---- a second run in its own process -------------------------------- */

struct run {
	pid_t pid;
	int cmd, reply;
};

struct run_args {
	const char *state, *path;
	bool dir;
	int cmd, reply;    /* the child's ends */
	int parent_ends[2]; /* closed in the child */
};

/* The child acquires `path`, replies 'U' (usable), 'N' (unusable) or 'E',
 * then obeys: 'R' release and reply 'r'; 'X' exit without releasing. */
static int run_child(void *arg)
{
	const struct run_args *a = arg;
	struct placeholder_set *set = NULL;
	ab_error err;

	close(a->parent_ends[0]);
	close(a->parent_ends[1]);
	if (acquire1(a->state, a->path, a->dir, &set, &err) < 0) {
		child_write_byte(a->reply, 'E');
		return 1;
	}
	if (!child_write_byte(a->reply, placeholders_usable(set, 0) ? 'U' : 'N'))
		return 2;
	while (read_byte(a->cmd) == 'R') {
		placeholders_release(set);
		if (!child_write_byte(a->reply, 'r'))
			return 2;
	}
	return 0;
}

static struct run start_run(const char *state, const char *path, bool dir)
{
	int to[2], from[2];
	struct run r;
	assert_int_equal(pipe2(to, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from, O_CLOEXEC), 0);
	struct run_args a = { state, path, dir, to[0], from[1], { to[1], from[0] } };
	r.pid = probe_child_start(run_child, &a);
	close(to[0]);
	close(from[1]);
	r.cmd = to[1];
	r.reply = from[0];
	return r;
}

static void end_run(struct run *r)
{
	int status;
	write_byte(r->cmd, 'X');
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
	struct placeholder_request rq[] = { { d, true }, { f, false } };
	struct placeholder_set *set = NULL;
	ab_error err;
	struct stat st;

	assert_int_equal(placeholders_acquire(fx->state, rq, 2, &set, &err), 0);
	assert_true(placeholders_usable(set, 0));
	assert_true(placeholders_usable(set, 1));
	assert_true(is_dir(d));
	assert_int_equal(lstat(f, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	assert_int_equal(registry_count(fx->state), 2);

	placeholders_release(set);
	assert_false(exists(d));
	assert_false(exists(f));
	assert_int_equal(registry_count(fx->state), 0);
	free(d);
	free(f);
}

static void test_preexisting_empty_file_and_dir_are_never_removed(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	char *f = path_join(fx->ws, ".agentbox");
	struct placeholder_request rq[] = { { d, true }, { f, false } };
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_int_equal(mkdir(d, 0755), 0);
	int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);

	assert_int_equal(placeholders_acquire(fx->state, rq, 2, &set, &err), 0);
	assert_true(placeholders_usable(set, 0));
	assert_true(placeholders_usable(set, 1));
	assert_int_equal(registry_count(fx->state), 0);
	placeholders_release(set);
	placeholders_sweep(fx->state);
	assert_true(is_dir(d));
	assert_true(exists(f));
	free(d);
	free(f);
}

static void test_borrowed_placeholder_stays_until_last_run_releases(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, ".git");
	struct placeholder_set *a = NULL;
	ab_error err;

	assert_int_equal(acquire1(fx->state, p, true, &a, &err), 0);
	assert_true(is_dir(p));

	struct run b = start_run(fx->state, p, true);
	assert_int_equal(read_byte(b.reply), 'U');
	assert_int_equal(registry_count(fx->state), 2);

	placeholders_release(a);
	assert_true(is_dir(p)); /* B still mounts over it */
	placeholders_sweep(fx->state);
	assert_true(is_dir(p));

	write_byte(b.cmd, 'R');
	assert_int_equal(read_byte(b.reply), 'r');
	assert_false(exists(p));
	assert_int_equal(registry_count(fx->state), 0);
	end_run(&b);
	free(p);
}

static void test_placeholder_that_got_content_is_kept(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->ws, ".git");
	char *f = path_join(fx->ws, ".agentbox");
	char *inner = path_join(d, "HEAD");
	struct placeholder_request rq[] = { { d, true }, { f, false } };
	struct placeholder_set *set = NULL;
	ab_error err;

	assert_int_equal(placeholders_acquire(fx->state, rq, 2, &set, &err), 0);
	int fd = open(inner, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	fd = open(f, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);

	placeholders_release(set);
	assert_true(exists(inner));
	assert_true(exists(f));
	assert_int_equal(registry_count(fx->state), 0);
	free(inner);
	free(d);
	free(f);
}

static void test_placeholder_replaced_by_other_inode_is_kept(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, ".git");
	char *p2 = path_join(fx->ws, "other");
	struct placeholder_set *set = NULL;
	ab_error err;
	struct stat before, after;

	assert_int_equal(acquire1(fx->state, p, true, &set, &err), 0);
	assert_int_equal(lstat(p, &before), 0);
	/* Made while the placeholder exists, so it cannot reuse its inode. */
	assert_int_equal(mkdir(p2, 0755), 0);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(rename(p2, p), 0);
	assert_int_equal(lstat(p, &after), 0);
	assert_true(before.st_ino != after.st_ino);

	placeholders_release(set);
	assert_true(is_dir(p));
	assert_int_equal(registry_count(fx->state), 0);
	free(p);
	free(p2);
}

static void test_symlink_in_parent_is_an_error_and_creates_nothing(void **state)
{
	struct fx *fx = *state;
	char *outside = path_join(fx->root, "outside");
	char *link = path_join(fx->ws, "sub");
	char *p = path_join(link, ".git");
	char *escaped = path_join(outside, ".git");
	struct placeholder_set *set = NULL;
	ab_error err = { 0 };

	assert_int_equal(mkdir(outside, 0755), 0);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(acquire1(fx->state, p, true, &set, &err), -ELOOP);
	assert_null(set);
	assert_false(exists(escaped));
	assert_non_null(strstr(err.message, p));
	assert_non_null(strstr(err.message, "symlink"));
	assert_int_equal(registry_count(fx->state), 0);
	free(outside);
	free(link);
	free(p);
	free(escaped);
}

static void test_missing_parent_is_an_error(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, "nope/.git");
	struct placeholder_set *set = NULL;
	ab_error err = { 0 };

	assert_int_equal(acquire1(fx->state, p, true, &set, &err), -ENOENT);
	assert_non_null(strstr(err.message, "does not exist"));
	assert_false(exists(p));
	free(p);
}

static void test_failed_request_rolls_back_earlier_ones(void **state)
{
	struct fx *fx = *state;
	char *ok = path_join(fx->ws, ".git");
	char *bad = path_join(fx->ws, "nope/.git");
	struct placeholder_request rq[] = { { ok, true }, { bad, true } };
	struct placeholder_set *set = NULL;
	ab_error err = { 0 };

	assert_int_equal(placeholders_acquire(fx->state, rq, 2, &set, &err),
			 -ENOENT);
	assert_false(exists(ok));
	assert_int_equal(registry_count(fx->state), 0);
	free(ok);
	free(bad);
}

struct nobody_args {
	const char *state, *path;
};

/* In a probe child: as nobody, acquiring `path` works but the placeholder
 * is unusable (10..12 say which step went wrong). */
static int acquire_as_nobody(void *arg)
{
	const struct nobody_args *a = arg;
	struct placeholder_set *set = NULL;
	ab_error err;
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return 10;
	if (acquire1(a->state, a->path, true, &set, &err) < 0)
		return 11;
	if (placeholders_usable(set, 0))
		return 12;
	placeholders_release(set);
	return 0;
}

static void test_uncreatable_path_is_unusable_not_an_error(void **state)
{
	struct fx *fx = *state;
	char *ro = path_join(fx->ws, "rootonly");
	char *p = path_join(ro, ".git");
	char *nstate = path_join(fx->root, "nobody-state");
	int status;

	assert_int_equal(mkdir(ro, 0755), 0); /* root-owned */
	assert_int_equal(mkdir(nstate, 0700), 0);
	assert_int_equal(chown(nstate, NOBODY, NOBODY), 0);

	struct nobody_args na = { nstate, p };
	status = probe_child_run(acquire_as_nobody, &na);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(exists(p));
	assert_int_equal(registry_count(nstate), 0);
	free(ro);
	free(p);
	free(nstate);
}

static void test_sweep_removes_placeholders_of_dead_owner(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, ".agentbox");

	struct run r = start_run(fx->state, p, false);
	assert_int_equal(read_byte(r.reply), 'U');
	end_run(&r); /* exits without release */
	assert_true(exists(p));
	assert_int_equal(registry_count(fx->state), 1);

	placeholders_sweep(fx->state);
	assert_false(exists(p));
	assert_int_equal(registry_count(fx->state), 0);
	free(p);
}

static void test_dead_owners_placeholder_is_taken_over(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, ".git");
	struct placeholder_set *set = NULL;
	ab_error err;

	struct run r = start_run(fx->state, p, true);
	assert_int_equal(read_byte(r.reply), 'U');
	end_run(&r);

	assert_int_equal(acquire1(fx->state, p, true, &set, &err), 0);
	assert_int_equal(registry_count(fx->state), 1); /* stale one dropped */
	placeholders_release(set);
	assert_false(exists(p));
	assert_int_equal(registry_count(fx->state), 0);
	free(p);
}

/* A live pid whose start time differs is a recycled pid, not the owner. */
static void test_recycled_pid_does_not_keep_a_record_alive(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, ".git");
	char *reg = path_join(fx->state, "placeholders");
	struct stat st;

	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(mkdir(reg, 0700), 0);
	char *name = placeholders_record_name(p, getpid(), 1);
	char *rec = path_join(reg, name);
	free(name);
	FILE *f = fopen(rec, "w");
	assert_non_null(f);
	fprintf(f, "created %llu %llu d\n%s\n", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino, p);
	fclose(f);

	placeholders_sweep(fx->state);
	assert_false(exists(p));
	assert_false(exists(rec));
	free(rec);
	free(reg);
	free(p);
}

struct agent_args {
	const char *state, *path;
	bool holder;
	int ctl, hold;      /* the child's ends */
	int parent_ends[2]; /* closed in the child */
};

/* In a probe child: an agentbox run with a confirmed janitor and, with
 * `holder`, a sandbox (cat) holding the sync fd until `hold` ends. Says
 * 'R' on `ctl` when ready, then waits to be killed. */
static int agent_child(void *arg)
{
	const struct agent_args *a = arg;
	struct placeholder_set *set = NULL;
	ab_error err;
	int sfd;

	close(a->parent_ends[0]);
	close(a->parent_ends[1]);
	if (acquire1(a->state, a->path, true, &set, &err) < 0 ||
	    placeholders_start_janitor(set, &sfd, &err) < 0 ||
	    placeholders_confirm_janitor(set, &err) < 0)
		return 1;
	if (a->holder) {
		/* a child of a probe child: default handlers already */
		pid_t h = fork();
		if (h == 0) {
			/* cat: inherits sfd, exits on EOF of hold. */
			dup2(a->hold, 0);
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			execl("/bin/cat", "cat", (char *)NULL);
			_exit(127);
		}
	}
	close(sfd);
	close(a->hold);
	if (!child_write_byte(a->ctl, 'R'))
		return 2;
	for (;;)
		pause();
}

/* An agentbox is SIGKILLed while its sandbox (a process holding the sync
 * fd) lives on: the placeholder must outlive agentbox, survive other runs'
 * sweeps, and go once the sandbox ends. `holder` false: agentbox dies
 * before any sandbox was started. */
static void kill_run_with_janitor(struct fx *fx, bool holder)
{
	char *p = path_join(fx->ws, ".git");
	int ctl[2], hold[2];

	assert_int_equal(pipe2(ctl, O_CLOEXEC), 0);
	assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
	struct agent_args aa = { fx->state, p, holder, ctl[1], hold[0], { ctl[0], hold[1] } };
	pid_t agent = probe_child_start(agent_child, &aa);
	close(ctl[1]);
	close(hold[0]);
	assert_int_equal(read_byte(ctl[0]), 'R');
	assert_true(is_dir(p));

	assert_int_equal(kill(agent, SIGKILL), 0);
	/* Not reaped yet: a zombie owner must count as dead. */
	if (holder) {
		usleep(300000);
		assert_true(is_dir(p));
		placeholders_sweep(fx->state); /* another run starting */
		assert_true(is_dir(p));
		close(hold[1]); /* the sandbox ends */
	}
	assert_true(wait_gone(p, 5000));
	assert_int_equal(registry_count(fx->state), 0);

	int status = probe_child_wait(agent);
	assert_true(WIFSIGNALED(status));
	if (!holder)
		close(hold[1]);
	close(ctl[0]);
	free(p);
}

static void test_janitor_cleans_up_after_kill_once_sandbox_ends(void **state)
{
	kill_run_with_janitor(*state, true);
}

static void test_janitor_cleans_up_after_kill_without_sandbox(void **state)
{
	kill_run_with_janitor(*state, false);
}

/* The janitor closing its read end of the sandbox pipe shows as POLLERR
 * on our write end; waits up to 5 s for it. */
static void assert_janitor_gone(int sfd)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLOUT };
	for (int i = 0; i < 500 && !(pfd.revents & POLLERR); i++) {
		assert_true(poll(&pfd, 1, 10) >= 0);
		if (!(pfd.revents & POLLERR))
			usleep(10000);
	}
	assert_true(pfd.revents & POLLERR);
}

static void test_janitor_exits_after_finish_and_holds_no_caller_fds(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, ".git");
	struct placeholder_set *set = NULL;
	ab_error err;
	int out[2], sfd = -1;
	struct pollfd pfd;
	char c;

	/* Like a test harness reading agentbox's stdout pipe. */
	assert_int_equal(pipe(out), 0);
	assert_int_equal(acquire1(fx->state, p, true, &set, &err), 0);
	assert_int_equal(placeholders_start_janitor(set, &sfd, &err), 0);
	assert_int_equal(placeholders_confirm_janitor(set, &err), 0);
	assert_true(sfd >= 0);
	assert_int_equal(fcntl(sfd, F_GETFD) & FD_CLOEXEC, 0);
	close(out[1]);
	pfd = (struct pollfd){ .fd = out[0], .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(out[0], &c, 1), 0); /* EOF: nobody else has it */
	close(out[0]);
	/* The intermediate child is reaped; the janitor is not our child. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	placeholders_release(set);
	assert_false(exists(p));
	placeholders_finish_janitor(set);
	assert_janitor_gone(sfd);
	close(sfd);
	free(p);
}

/* A run that fails between starting and confirming the janitor: finish
 * still reaps the janitor's parent and the janitor exits. */
static void test_unconfirmed_janitor_is_reaped_and_exits(void **state)
{
	struct fx *fx = *state;
	char *p = path_join(fx->ws, ".git");
	struct placeholder_set *set = NULL;
	ab_error err;
	int sfd = -1;

	assert_int_equal(acquire1(fx->state, p, true, &set, &err), 0);
	assert_int_equal(placeholders_start_janitor(set, &sfd, &err), 0);
	placeholders_release(set);
	assert_false(exists(p));
	placeholders_finish_janitor(set);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_janitor_gone(sfd);
	close(sfd);
	free(p);
}

static void test_sweep_of_empty_or_missing_registry_is_harmless(void **state)
{
	struct fx *fx = *state;
	char *reg = path_join(fx->state, "placeholders");

	placeholders_sweep(fx->state);
	assert_false(exists(reg)); /* sweep creates nothing */
	free(reg);
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

static void test_state_dir_refuses_group_writable_dir(void **state)
{
	struct fx *fx = *state;
	char *d = path_join(fx->root, "agentbox");
	char *got = NULL;
	ab_error err = { 0 };

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 0770), 0);
	setenv("XDG_RUNTIME_DIR", fx->root, 1);
	assert_int_equal(state_dir_get(&got, &err), -EPERM);
	assert_non_null(strstr(err.message, "writable by group or others"));
	free(d);
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
	assert_true(is_dir(got));
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
		T(test_borrowed_placeholder_stays_until_last_run_releases),
		T(test_placeholder_that_got_content_is_kept),
		T(test_placeholder_replaced_by_other_inode_is_kept),
		T(test_symlink_in_parent_is_an_error_and_creates_nothing),
		T(test_missing_parent_is_an_error),
		T(test_failed_request_rolls_back_earlier_ones),
		T(test_uncreatable_path_is_unusable_not_an_error),
		T(test_sweep_removes_placeholders_of_dead_owner),
		T(test_dead_owners_placeholder_is_taken_over),
		T(test_recycled_pid_does_not_keep_a_record_alive),
		T(test_janitor_cleans_up_after_kill_once_sandbox_ends),
		T(test_janitor_cleans_up_after_kill_without_sandbox),
		T(test_janitor_exits_after_finish_and_holds_no_caller_fds),
		T(test_unconfirmed_janitor_is_reaped_and_exits),
		T(test_sweep_of_empty_or_missing_registry_is_harmless),
		TX(test_state_dir_is_created_private_under_xdg_runtime_dir),
		TX(test_state_dir_refuses_a_symlink),
		TX(test_state_dir_refuses_dir_of_another_user),
		TX(test_state_dir_refuses_group_writable_dir),
		TX(test_state_dir_falls_back_to_tmp_without_usable_xdg),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
