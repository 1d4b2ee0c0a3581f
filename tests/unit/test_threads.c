/* ab_run from two threads at once, through the public API of the shared
 * library (this binary links libagentbox.so, not the internal archive):
 * real sandboxes on every backend this host has, in two different working
 * directories and in the same one, several rounds each. Each command writes
 * a file of its own in its working directory's out/ (the Landlock backend
 * refuses new entries directly in a writable root, to keep .git
 * uncreatable there), which is checked afterwards, so a run that returned
 * 0 without running anything fails too.
 *
 * The main thread leaves SIGCHLD unblocked, as most programs do: a
 * supervisor that waited for its sandbox through a SIGCHLD on its signalfd
 * never learnt that it ended (the kernel gives the signal to the main
 * thread, or to the other run's signalfd) and hung. A run that has not
 * returned after RUN_DEADLINE_S seconds fails the test instead of hanging
 * it.
 *
 * Built a second time with ThreadSanitizer (tests/meson.build) when the
 * compiler can: then the library's code itself is checked for data races
 * between the two runs. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentbox.h"
#include "probe_child.h"

#define RUN_DEADLINE_S 30
#define ROUNDS 3

struct run {
	ab_backend backend;
	const char *cwd;
	char tag[32];     /* written by the command into cwd/out/<tag> */
	int ret;          /* ab_run's return value */
	int status;       /* the command's exit status */
	ab_error err;
	pthread_t thread;
};

static void *run_thread(void *arg)
{
	struct run *r = arg;
	ab_policy *p = ab_policy_new();
	if (!p) {
		r->ret = -ENOMEM;
		snprintf(r->err.message, sizeof(r->err.message), "ab_policy_new: out of memory");
		return NULL;
	}
	/* read-only but for the working directory: wherever the build tree
	 * is (a checkout under /tmp, say), this program stays out of the
	 * sandbox's reach, so no run is refused for it */
	r->ret = ab_policy_apply_preset(p, "read-only", &r->err);
	if (r->ret == 0)
		r->ret = ab_policy_add_path(p, r->cwd, AB_ACCESS_WRITE, "test", &r->err);
	if (r->ret == 0) {
		ab_run_options o;
		ab_run_options_init(&o);
		o.backend = r->backend;
		o.cwd = r->cwd;
		o.quiet = true;
		char sh[] = "/bin/sh", c[] = "-c", script[] = "printf %s \"$1\" > out/\"$1\"", name[] = "sh";
		char *argv[] = {sh, c, script, name, r->tag, NULL};
		r->ret = ab_run(p, &o, argv, &r->status, &r->err);
	}
	ab_policy_free(p);
	return NULL;
}

/* A fresh working directory with an empty out/ in it. */
static void make_dir(char *tmpl)
{
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
	char out[4200];
	snprintf(out, sizeof(out), "%s/out", tmpl);
	if (mkdir(out, 0755) < 0)
		fail_msg("mkdir %s: %s", out, strerror(errno));
}

static void remove_tree(const char *dir, const struct run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *path;
		/* the probe run may have written nothing */
		if (asprintf(&path, "%s/out/%s", dir, runs[i].tag) < 0)
			fail_msg("asprintf: out of memory");
		unlink(path);
		free(path);
	}
	char *out;
	if (asprintf(&out, "%s/out", dir) < 0)
		fail_msg("asprintf: out of memory");
	rmdir(out);
	free(out);
	rmdir(dir);
}

/* The file the command of r wrote holds its tag. */
static void check_marker(const struct run *r)
{
	char path[4200], buf[64] = {0};
	snprintf(path, sizeof(path), "%s/out/%s", r->cwd, r->tag);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("run %s: the command did not write %s: %s", r->tag, path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, r->tag);
}

/* Joins r's thread, failing the test if ab_run has not returned in time. */
static void join_or_fail(struct run *r, const struct timespec *deadline)
{
	int e = pthread_timedjoin_np(r->thread, NULL, deadline);
	if (e == ETIMEDOUT)
		fail_msg("run %s (%s backend): ab_run has not returned after %d s: its supervisor missed the sandbox's end",
			 r->tag, ab_backend_name(r->backend), RUN_DEADLINE_S);
	if (e != 0)
		fail_msg("pthread_timedjoin_np: %s", strerror(e));
}

/* Runs both at once and checks both. */
static void run_two(struct run *a, struct run *b)
{
	struct run *runs[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		int e = pthread_create(&runs[i]->thread, NULL, run_thread, runs[i]);
		if (e != 0)
			fail_msg("pthread_create: %s", strerror(e));
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += RUN_DEADLINE_S;
	for (int i = 0; i < 2; i++)
		join_or_fail(runs[i], &deadline);
	for (int i = 0; i < 2; i++) {
		struct run *r = runs[i];
		if (r->ret != 0)
			fail_msg("run %s (%s backend) in %s failed: %s", r->tag,
				 ab_backend_name(r->backend), r->cwd, r->err.message);
		assert_int_equal(r->status, 0);
		check_marker(r);
	}
}

/* One run on its own first: a backend this host cannot give is skipped
 * with the library's reason, not counted as a threading failure. */
static void require_backend(ab_backend backend)
{
	char dir[] = "/tmp/ab-threads-probe-XXXXXX";
	make_dir(dir);
	struct run r = {.backend = backend, .cwd = dir};
	snprintf(r.tag, sizeof(r.tag), "probe");
	run_thread(&r);
	remove_tree(dir, &r, 1);
	if (r.ret != 0) {
		print_message("the %s backend is not usable here: %s\n", ab_backend_name(backend),
			      r.err.message);
		skip();
	}
	if (r.status != 0)
		fail_msg("a single run on the %s backend exited %d", ab_backend_name(backend),
			 r.status);
}

static void two_dirs(ab_backend backend)
{
	require_backend(backend);
	for (int round = 0; round < ROUNDS; round++) {
		char d1[] = "/tmp/ab-threads-a-XXXXXX", d2[] = "/tmp/ab-threads-b-XXXXXX";
		make_dir(d1);
		make_dir(d2);
		struct run a = {.backend = backend, .cwd = d1}, b = {.backend = backend, .cwd = d2};
		snprintf(a.tag, sizeof(a.tag), "a%d", round);
		snprintf(b.tag, sizeof(b.tag), "b%d", round);
		run_two(&a, &b);
		remove_tree(d1, &a, 1);
		remove_tree(d2, &b, 1);
	}
}

static void same_dir(ab_backend backend)
{
	require_backend(backend);
	for (int round = 0; round < ROUNDS; round++) {
		char d[] = "/tmp/ab-threads-same-XXXXXX";
		make_dir(d);
		struct run r[2] = {{.backend = backend, .cwd = d}, {.backend = backend, .cwd = d}};
		snprintf(r[0].tag, sizeof(r[0].tag), "first%d", round);
		snprintf(r[1].tag, sizeof(r[1].tag), "second%d", round);
		run_two(&r[0], &r[1]);
		remove_tree(d, r, 2);
	}
}

static void test_builtin_two_dirs(void **state) { (void)state; two_dirs(AB_BACKEND_BUILTIN); }
static void test_builtin_same_dir(void **state) { (void)state; same_dir(AB_BACKEND_BUILTIN); }
static void test_bwrap_two_dirs(void **state) { (void)state; two_dirs(AB_BACKEND_BWRAP); }
static void test_bwrap_same_dir(void **state) { (void)state; same_dir(AB_BACKEND_BWRAP); }
static void test_landlock_two_dirs(void **state) { (void)state; two_dirs(AB_BACKEND_LANDLOCK); }
static void test_landlock_same_dir(void **state) { (void)state; same_dir(AB_BACKEND_LANDLOCK); }

/* Two backends side by side, in the same directory. */
static void mixed(ab_backend x, ab_backend y)
{
	require_backend(x);
	require_backend(y);
	for (int round = 0; round < ROUNDS; round++) {
		char d[] = "/tmp/ab-threads-mixed-XXXXXX";
		make_dir(d);
		struct run r[2] = {{.backend = x, .cwd = d}, {.backend = y, .cwd = d}};
		snprintf(r[0].tag, sizeof(r[0].tag), "%s%d", ab_backend_name(x), round);
		snprintf(r[1].tag, sizeof(r[1].tag), "%s%d", ab_backend_name(y), round);
		run_two(&r[0], &r[1]);
		remove_tree(d, r, 2);
	}
}

/* The built-in engine's clone and bwrap's fork+exec of this very program
 * (whose inner stage the library's constructor takes over). */
static void test_builtin_and_bwrap(void **state)
{
	(void)state;
	mixed(AB_BACKEND_BUILTIN, AB_BACKEND_BWRAP);
}

/* Landlock's reaper ends what its command left behind: it must not take
 * the other run's sandbox with it (the reaper is a process of its own and
 * only its descendants are ended, src/backend/landlock/reaper.h). The
 * built-in run is slower to set up, so it is started while the Landlock
 * run is still going. */
static void test_landlock_and_builtin(void **state)
{
	(void)state;
	mixed(AB_BACKEND_LANDLOCK, AB_BACKEND_BUILTIN);
}

/* ---- started runs (ab_start) across threads -------------------------- */

struct killer {
	ab_child *c[2];
	int ret[2];
};

static void *kill_both(void *arg)
{
	struct killer *k = arg;
	for (int i = 0; i < 2; i++)
		k->ret[i] = ab_child_kill(k->c[i], SIGTERM);
	return NULL;
}

/* A command that says ready on its stdout, then sleeps. */
static ab_child *start_sleeper(ab_backend b, const char *dir, int *ready)
{
	int out[2];
	if (pipe(out) < 0)
		fail_msg("pipe: %s", strerror(errno));
	ab_policy *p = ab_policy_new();
	assert_non_null(p);
	ab_error err = {0};
	assert_int_equal(ab_policy_apply_preset(p, "read-only", &err), 0);
	assert_int_equal(ab_policy_add_path(p, dir, AB_ACCESS_WRITE, "test", &err), 0);
	ab_run_options o;
	ab_run_options_init(&o);
	o.backend = b;
	o.cwd = dir;
	o.quiet = true;
	o.stdout_fd = out[1];
	char sh[] = "/bin/sh", c[] = "-c", script[] = "echo ready; exec sleep 300";
	char *argv[] = {sh, c, script, NULL};
	ab_child *ch = NULL;
	if (ab_start(p, &o, argv, &ch, &err) < 0)
		fail_msg("ab_start on %s: %s", ab_backend_name(b), err.message);
	ab_policy_free(p);
	close(out[1]);
	char buf[16] = {0};
	if (read(out[0], buf, sizeof(buf) - 1) <= 0 || strcmp(buf, "ready\n") != 0)
		fail_msg("the command on %s did not say ready: '%s'", ab_backend_name(b), buf);
	*ready = out[0];
	return ch;
}

/* Two started runs (builtin and Landlock), killed from another thread
 * while this one polls their fds and then waits: the kill requests, the
 * end and the results cross threads (checked for races under TSan). */
static void test_started_runs_killed_from_another_thread(void **state)
{
	(void)state;
	require_backend(AB_BACKEND_BUILTIN);
	require_backend(AB_BACKEND_LANDLOCK);
	char d[] = "/tmp/ab-threads-start-XXXXXX";
	make_dir(d);
	int ready[2];
	struct killer k = {{start_sleeper(AB_BACKEND_BUILTIN, d, &ready[0]),
			    start_sleeper(AB_BACKEND_LANDLOCK, d, &ready[1])}, {-1, -1}};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, kill_both, &k), 0);
	struct pollfd pf[2] = {{.fd = ab_child_pidfd(k.c[0]), .events = POLLIN},
			       {.fd = ab_child_pidfd(k.c[1]), .events = POLLIN}};
	int seen = 0;
	while (seen != 3) {
		if (poll(pf, 2, RUN_DEADLINE_S * 1000) <= 0)
			fail_msg("the started runs did not end within %d s of SIGTERM", RUN_DEADLINE_S);
		for (int i = 0; i < 2; i++)
			if (pf[i].revents & POLLIN) {
				seen |= 1 << i;
				pf[i].fd = -1;
			}
	}
	pthread_join(t, NULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(k.ret[i], 0);
		int status = -1;
		ab_error err = {0};
		if (ab_child_wait(k.c[i], &status, &err) < 0)
			fail_msg("run %d: %s", i, err.message);
		assert_int_equal(status, 128 + SIGTERM);
		ab_child_free(k.c[i]);
		close(ready[i]);
	}
	remove_tree(d, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_two_dirs),
		cmocka_unit_test(test_builtin_same_dir),
		cmocka_unit_test(test_bwrap_two_dirs),
		cmocka_unit_test(test_bwrap_same_dir),
		cmocka_unit_test(test_landlock_two_dirs),
		cmocka_unit_test(test_landlock_same_dir),
		cmocka_unit_test(test_builtin_and_bwrap),
		cmocka_unit_test(test_landlock_and_builtin),
		cmocka_unit_test(test_started_runs_killed_from_another_thread),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
