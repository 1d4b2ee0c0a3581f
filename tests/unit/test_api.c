/* The public API as a program sees it (this binary links libagentbox.so
 * and includes only agentbox.h): how ab_run_options carries its size from
 * ab_run_options_init to ab_run and ab_explain. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentbox.h"
#include "probe_child.h"

/* The smallest ab_run_options any header had: the first one with a size
 * field ended with allow_writable_self. */
#define FIRST_SIZE (offsetof(ab_run_options, allow_writable_self) + sizeof(bool))

static int explain(const ab_run_options *o, ab_error *err)
{
	ab_policy *p = ab_policy_new();
	assert_non_null(p);
	assert_int_equal(ab_policy_apply_preset(p, "read-only", err), 0);
	FILE *out = tmpfile();
	assert_non_null(out);
	int r = ab_explain(p, o, NULL, true, out, err);
	if (r == 0) {
		/* it printed the plan */
		long n = ftell(out);
		assert_true(n > 0);
	}
	fclose(out);
	ab_policy_free(p);
	return r;
}

static void test_init_sets_size_and_defaults(void **state)
{
	(void)state;
	ab_run_options o;
	memset(&o, 0x5a, sizeof(o));
	ab_run_options_init(&o);
	assert_int_equal(o.size, sizeof(o));
	assert_int_equal(o.events_fd, -1);
	assert_int_equal(o.approvals_fd, -1);
	assert_int_equal(o.backend, AB_BACKEND_AUTO);
	assert_null(o.cwd);
	assert_false(o.allow_writable_self);
	assert_int_equal(o.stdin_fd, -1);
	assert_int_equal(o.stdout_fd, -1);
	assert_int_equal(o.stderr_fd, -1);
	assert_null(o.envp);
}

/* Everything a pipe holds once its writers are gone. */
static void read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* The command's stdin, stdout, stderr and environment as the options
 * give them, on each backend: not the caller's. */
static void run_with_stdio_and_env(ab_backend backend)
{
	char dir[] = "/var/tmp/ab-api-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int in[2], out[2], errp[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(errp), 0);
	assert_int_equal(write(in[1], "hello\n", 6), 6);
	close(in[1]);
	setenv("AB_API_CALLER_ONLY", "1", 1);

	ab_policy *p = ab_policy_new();
	assert_non_null(p);
	ab_error err = {0};
	/* read-only but for the working directory: wherever the build tree
	 * is (a checkout under /tmp, say), this program stays out of the
	 * sandbox's reach, so the run is not refused for it */
	assert_int_equal(ab_policy_apply_preset(p, "read-only", &err), 0);
	assert_int_equal(ab_policy_add_path(p, dir, AB_ACCESS_WRITE, "test", &err), 0);
	/* the environment policy applies to envp: a built-in drop, a keep
	 * that passes a secret-looking name, a set */
	assert_int_equal(ab_policy_add_env_rule(p, "keep", "KEEP_SECRET", &err), 0);
	assert_int_equal(ab_policy_add_env_rule(p, "set", "SET_ME=s", &err), 0);
	assert_int_equal(ab_policy_add_env_rule(p, "keep", "A*", &err), -EINVAL);
	assert_int_equal(ab_policy_set_env_inherit(p, "some", &err), -EINVAL);
	ab_run_options o;
	ab_run_options_init(&o);
	o.backend = backend;
	o.cwd = dir;
	o.quiet = true;
	o.stdin_fd = in[0];
	o.stdout_fd = out[1];
	o.stderr_fd = errp[1];
	char foo[] = "FOO=bar", path[] = "PATH=/usr/bin:/bin", tok[] = "SOME_TOKEN=t",
	     kept[] = "KEEP_SECRET=k";
	char *env[] = {foo, path, tok, kept, NULL};
	o.envp = env;
	char sh[] = "/bin/sh", c[] = "-c",
	     script[] = "read x; echo \"$x $FOO ${AB_API_CALLER_ONLY:-unset} $AGENTBOX_SANDBOX"
			" ${SOME_TOKEN:-gone} $KEEP_SECRET $SET_ME\"; echo oops >&2";
	char *argv[] = {sh, c, script, NULL};
	int status = -1;
	int r = ab_run(p, &o, argv, &status, &err);
	ab_policy_free(p);
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	char got_out[256], got_err[256];
	read_all(out[0], got_out, sizeof(got_out));
	read_all(errp[0], got_err, sizeof(got_err));
	close(out[0]);
	close(errp[0]);
	rmdir(dir);
	if (r < 0)
		fail_msg("ab_run on %s: %s", ab_backend_name(backend), err.message);
	assert_int_equal(status, 0);
	assert_string_equal(got_out, "hello bar unset 1 gone k s\n");
	assert_string_equal(got_err, "oops\n");
}

static void test_stdio_and_env_builtin(void **state)
{
	(void)state;
	run_with_stdio_and_env(AB_BACKEND_BUILTIN);
}

static void test_stdio_and_env_bwrap(void **state)
{
	(void)state;
	if (access("/usr/bin/bwrap", X_OK) != 0)
		skip(); /* no system bubblewrap */
	run_with_stdio_and_env(AB_BACKEND_BWRAP);
}

static void test_stdio_and_env_landlock(void **state)
{
	(void)state;
	run_with_stdio_and_env(AB_BACKEND_LANDLOCK);
}

/* A caller whose struct is smaller than the library's: init writes only
 * the bytes the caller has. */
static void test_init_writes_only_the_callers_bytes(void **state)
{
	(void)state;
	unsigned char buf[sizeof(ab_run_options) + 64];
	memset(buf, 0xaa, sizeof(buf));
	size_t small = offsetof(ab_run_options, events_fd);
	ab_run_options_init_size((ab_run_options *)buf, small);
	size_t size;
	memcpy(&size, buf, sizeof(size));
	assert_int_equal(size, small);
	for (size_t i = small; i < sizeof(buf); i++)
		if (buf[i] != 0xaa)
			fail_msg("ab_run_options_init_size(%zu) wrote byte %zu", small, i);
}

/* Exactly sizeof bytes, followed by an inaccessible page: ab_explain must
 * not read past the caller's struct. */
static void test_struct_at_the_end_of_a_page(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + page, (size_t)page, PROT_NONE), 0);
	ab_run_options *o = (ab_run_options *)(m + page - sizeof(ab_run_options));
	ab_run_options_init(o);
	ab_error err = {0};
	if (explain(o, &err) != 0)
		fail_msg("ab_explain: %s", err.message);
	munmap(m, (size_t)page * 2);
}

/* The first header's size is accepted: the fields it did not have keep
 * their defaults. */
static void test_older_size_is_accepted(void **state)
{
	(void)state;
	ab_run_options o;
	ab_run_options_init(&o);
	o.size = FIRST_SIZE;
	ab_error err = {0};
	if (explain(&o, &err) != 0)
		fail_msg("ab_explain with size %zu: %s", (size_t)FIRST_SIZE, err.message);
}

static void expect_refused(size_t size, const char *words)
{
	ab_run_options o;
	ab_run_options_init(&o);
	o.size = size;
	ab_error err = {0};
	assert_int_equal(explain(&o, &err), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	if (!strstr(err.message, words))
		fail_msg("size %zu: message lacks \"%s\": %s", size, words, err.message);
	/* ab_run refuses the same way, before anything runs */
	ab_policy *p = ab_policy_new();
	assert_non_null(p);
	char t[] = "/bin/true";
	char *argv[] = {t, NULL};
	int status = -1;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ab_run(p, &o, argv, &status, &err), -EINVAL);
	assert_int_equal(status, -1);
	assert_non_null(strstr(err.message, words));
	ab_policy_free(p);
}

static void test_uninitialised_options_are_refused(void **state)
{
	(void)state;
	expect_refused(0, "ab_run_options_init");
}

static void test_newer_larger_size_is_refused(void **state)
{
	(void)state;
	expect_refused(sizeof(ab_run_options) + 8, "newer agentbox.h");
}

static void test_too_small_size_is_refused(void **state)
{
	(void)state;
	expect_refused(FIRST_SIZE - 1, "smaller than any agentbox.h");
}

/* fds 0-2 are the command's stdin, stdout and stderr: an events or
 * approvals channel there is refused by ab_run and ab_explain alike,
 * before anything runs. */
static void test_channel_fds_0_to_2_are_refused(void **state)
{
	(void)state;
	for (int field = 0; field < 2; field++) {
		for (int fd = 0; fd <= 2; fd++) {
			ab_run_options o;
			ab_run_options_init(&o);
			if (field == 0)
				o.events_fd = fd;
			else
				o.approvals_fd = fd;
			char words[64];
			snprintf(words, sizeof(words), "ab_run_options.%s %d: that is the sandboxed command's",
				 field == 0 ? "events_fd" : "approvals_fd", fd);
			ab_error err = {0};
			assert_int_equal(explain(&o, &err), -EINVAL);
			if (!strstr(err.message, words) || !strstr(err.message, "3 or above"))
				fail_msg("explain: message lacks \"%s\" or the fix: %s", words, err.message);
			ab_policy *p = ab_policy_new();
			assert_non_null(p);
			char t[] = "/bin/true";
			char *argv[] = {t, NULL};
			int status = -1;
			memset(&err, 0, sizeof(err));
			assert_int_equal(ab_run(p, &o, argv, &status, &err), -EINVAL);
			assert_int_equal(status, -1);
			if (!strstr(err.message, words))
				fail_msg("ab_run: message lacks \"%s\": %s", words, err.message);
			ab_policy_free(p);
		}
	}
}

/* ---- ab_start ---------------------------------------------------------- */

/* A policy that reads everything and writes dir; the options for it. */
static ab_policy *start_policy(const char *dir, ab_run_options *o, ab_backend backend)
{
	ab_policy *p = ab_policy_new();
	assert_non_null(p);
	ab_error err = {0};
	assert_int_equal(ab_policy_apply_preset(p, "read-only", &err), 0);
	assert_int_equal(ab_policy_add_path(p, dir, AB_ACCESS_WRITE, "test", &err), 0);
	ab_run_options_init(o);
	o->backend = backend;
	o->cwd = dir;
	o->quiet = true;
	return p;
}

/* Every backend this host has, for the ab_start tests. */
static const ab_backend start_backends[] = {AB_BACKEND_BUILTIN, AB_BACKEND_BWRAP, AB_BACKEND_LANDLOCK};

static bool backend_here(ab_backend b)
{
	return b != AB_BACKEND_BWRAP || access("/usr/bin/bwrap", X_OK) == 0;
}

static ab_child *start_or_fail(ab_policy *p, const ab_run_options *o, char **argv)
{
	ab_child *c = NULL;
	ab_error err = {0};
	int r = ab_start(p, o, argv, &c, &err);
	if (r < 0)
		fail_msg("ab_start on %s: %s", ab_backend_name(o->backend), err.message);
	assert_non_null(c);
	return c;
}

/* Start, then wait: the command's own exit status, as ab_run gives it; a
 * second wait gives the same. */
static void test_start_wait(void **state)
{
	(void)state;
	char dir[] = "/var/tmp/ab-api-XXXXXX", sub[64];
	assert_non_null(mkdtemp(dir));
	/* Landlock refuses new entries directly in a writable root (to keep
	 * .git uncreatable there): the command writes in sub/ */
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	for (size_t i = 0; i < sizeof(start_backends) / sizeof(start_backends[0]); i++) {
		if (!backend_here(start_backends[i]))
			continue;
		ab_run_options o;
		ab_policy *p = start_policy(dir, &o, start_backends[i]);
		char sh[] = "/bin/sh", c[] = "-c", script[] = "echo x > sub/started; exit 7";
		char *argv[] = {sh, c, script, NULL};
		ab_child *ch = start_or_fail(p, &o, argv);
		ab_policy_free(p); /* the run has its own copy */
		int status = -1;
		ab_error err = {0};
		if (ab_child_wait(ch, &status, &err) < 0)
			fail_msg("ab_child_wait on %s: %s", ab_backend_name(start_backends[i]), err.message);
		assert_int_equal(status, 7);
		status = -1;
		assert_int_equal(ab_child_wait(ch, &status, &err), 0);
		assert_int_equal(status, 7);
		ab_child_free(ch);
		char f[128];
		snprintf(f, sizeof(f), "%s/started", sub);
		if (access(f, F_OK) != 0)
			fail_msg("%s backend: the command did not run (no %s)", ab_backend_name(start_backends[i]), f);
		unlink(f);
	}
	rmdir(sub);
	rmdir(dir);
}

/* Reads until "ready\n" arrived on fd: the command runs. */
static void wait_ready(int fd)
{
	char buf[64];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			fail_msg("the command never said ready (read: %zd)", r);
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "ready\n"))
			return;
	}
	fail_msg("unexpected output: %s", buf);
}

/* A command that says ready on a pipe and then sleeps long: started. */
static ab_child *start_sleeper(ab_backend b, const char *dir, int *ready_fd)
{
	int out[2];
	assert_int_equal(pipe(out), 0);
	ab_run_options o;
	ab_policy *p = start_policy(dir, &o, b);
	o.stdout_fd = out[1];
	char sh[] = "/bin/sh", c[] = "-c", script[] = "echo ready; exec sleep 300";
	char *argv[] = {sh, c, script, NULL};
	ab_child *ch = start_or_fail(p, &o, argv);
	ab_policy_free(p);
	close(out[1]);
	*ready_fd = out[0];
	return ch;
}

/* ab_child_kill(SIGTERM) reaches the command: 143; the pidfd is readable
 * only after the end; then kill says the run is over. */
static void test_start_kill_and_pidfd(void **state)
{
	(void)state;
	char dir[] = "/var/tmp/ab-api-XXXXXX";
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(start_backends) / sizeof(start_backends[0]); i++) {
		ab_backend b = start_backends[i];
		if (!backend_here(b))
			continue;
		int ready;
		ab_child *ch = start_sleeper(b, dir, &ready);
		wait_ready(ready);
		struct pollfd pf = {.fd = ab_child_pidfd(ch), .events = POLLIN};
		assert_true(pf.fd >= 0);
		/* still running: not readable */
		assert_int_equal(poll(&pf, 1, 0), 0);
		assert_int_equal(ab_child_kill(ch, SIGTERM), 0);
		/* no timeout: readable once the run ends */
		assert_int_equal(poll(&pf, 1, -1), 1);
		assert_true(pf.revents & POLLIN);
		int status = -1;
		ab_error err = {0};
		if (ab_child_wait(ch, &status, &err) < 0)
			fail_msg("ab_child_wait on %s: %s", ab_backend_name(b), err.message);
		if (status != 128 + SIGTERM)
			fail_msg("%s backend: exit status %d, not %d", ab_backend_name(b), status, 128 + SIGTERM);
		assert_int_equal(ab_child_kill(ch, SIGTERM), -ESRCH);
		assert_int_equal(ab_child_kill(ch, 0), -EINVAL);
		ab_child_free(ch);
		close(ready);
	}
	rmdir(dir);
}

/* Several started runs at once, on every backend, each with its own
 * result; they end in the order the caller chooses. */
static void test_start_concurrent(void **state)
{
	(void)state;
	char dir[] = "/var/tmp/ab-api-XXXXXX";
	assert_non_null(mkdtemp(dir));
	enum { N = 6 };
	ab_child *ch[N];
	int ready[N];
	ab_backend used[N];
	size_t n = 0;
	for (size_t k = 0; n < N; k++) {
		ab_backend b = start_backends[k % 3];
		if (!backend_here(b))
			continue;
		used[n] = b;
		ch[n] = start_sleeper(b, dir, &ready[n]);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		wait_ready(ready[i]);
	/* every one is running at the same time */
	for (size_t i = 0; i < n; i++) {
		struct pollfd pf = {.fd = ab_child_pidfd(ch[i]), .events = POLLIN};
		assert_int_equal(poll(&pf, 1, 0), 0);
	}
	/* each gets its own signal, backwards */
	for (size_t i = n; i-- > 0;) {
		int sig = i % 2 ? SIGTERM : SIGINT;
		assert_int_equal(ab_child_kill(ch[i], sig), 0);
		int status = -1;
		ab_error err = {0};
		if (ab_child_wait(ch[i], &status, &err) < 0)
			fail_msg("run %zu (%s): %s", i, ab_backend_name(used[i]), err.message);
		if (status != 128 + sig)
			fail_msg("run %zu (%s): exit status %d, not %d", i, ab_backend_name(used[i]), status, 128 + sig);
		ab_child_free(ch[i]);
		close(ready[i]);
	}
	rmdir(dir);
}

/* Freeing a running child ends its sandbox: the command's stdout pipe
 * reaches EOF (every process that held it is gone) once free returns. */
static void test_free_running_child(void **state)
{
	(void)state;
	char dir[] = "/var/tmp/ab-api-XXXXXX";
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(start_backends) / sizeof(start_backends[0]); i++) {
		if (!backend_here(start_backends[i]))
			continue;
		int ready;
		ab_child *ch = start_sleeper(start_backends[i], dir, &ready);
		wait_ready(ready);
		ab_child_free(ch);
		char buf[16];
		fcntl(ready, F_SETFL, O_NONBLOCK);
		ssize_t r = read(ready, buf, sizeof(buf));
		if (r != 0)
			fail_msg("%s backend: after ab_child_free the command still holds its stdout (read: %zd, %s)",
				 ab_backend_name(start_backends[i]), r, r < 0 ? strerror(errno) : "data");
		close(ready);
	}
	rmdir(dir);
}

/* What cannot be set up is ab_start's error, and nothing is returned. */
static void test_start_setup_failure(void **state)
{
	(void)state;
	char dir[] = "/var/tmp/ab-api-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char t[] = "/bin/true";
	char *argv[] = {t, NULL};
	ab_child *ch = NULL;
	ab_error err = {0};

	/* a working directory that does not exist */
	ab_run_options o;
	ab_policy *p = start_policy(dir, &o, AB_BACKEND_AUTO);
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	o.cwd = missing;
	int r = ab_start(p, &o, argv, &ch, &err);
	assert_true(r < 0);
	assert_null(ch);
	if (!strstr(err.message, "missing"))
		fail_msg("the error does not name the directory: %s", err.message);

	/* --require a PID namespace from the Landlock backend */
	o.cwd = dir;
	o.backend = AB_BACKEND_LANDLOCK;
	o.require = AB_REQUIRE_PID_NS;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ab_start(p, &o, argv, &ch, &err), -EPERM);
	assert_null(ch);
	assert_non_null(strstr(err.message, "pid-ns"));

	/* options never initialised */
	o.size = 0;
	assert_int_equal(ab_start(p, &o, argv, &ch, &err), -EINVAL);
	assert_null(ch);
	ab_policy_free(p);
	rmdir(dir);
}

/* In a probe child as uid 65534: ab_start with a working directory the
 * sandbox cannot enter (mode 000, owned by root). The host-side checks
 * pass; the sandbox's own setup fails, and that is ab_start's error too,
 * not a started run whose wait fails. Exit codes: 0 as expected, 2 cannot
 * drop to 65534, 3 ab_start succeeded, 4 wrong message. */
static int probe_start_fails_inside(void *arg)
{
	const char *dir = arg;
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return 2;
	/* as after an exec by setpriv: setuid() left the process undumpable,
	 * and the built-in engine's id maps need its /proc files to be ours */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	for (size_t i = 0; i < 3; i++) {
		ab_backend b = start_backends[i];
		if (!backend_here(b) || b == AB_BACKEND_BWRAP)
			continue; /* bwrap: its errors after PID 1 come from wait */
		ab_policy *p = ab_policy_new();
		ab_error err = {0};
		if (!p || ab_policy_apply_preset(p, "read-only", &err) < 0)
			return 5;
		ab_run_options o;
		ab_run_options_init(&o);
		o.backend = b;
		o.cwd = dir;
		o.quiet = true;
		char t[] = "/bin/true";
		char *argv[] = {t, NULL};
		ab_child *ch = NULL;
		int r = ab_start(p, &o, argv, &ch, &err);
		ab_policy_free(p);
		if (r == 0) {
			int st;
			ab_child_wait(ch, &st, &err);
			dprintf(2, "%s: ab_start succeeded; wait said: %s\n", ab_backend_name(b), err.message);
			ab_child_free(ch);
			return 3;
		}
		if (ch || !strstr(err.message, "working directory")) {
			dprintf(2, "%s: %s\n", ab_backend_name(b), err.message);
			return 4;
		}
	}
	return 0;
}

static void test_start_setup_failure_inside_sandbox(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip(); /* needs a uid to drop to and a directory it cannot enter */
	char dir[] = "/var/tmp/ab-api-XXXXXX", sub[64];
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/closed", dir);
	assert_int_equal(mkdir(sub, 0), 0);
	int st = probe_child_run(probe_start_fails_inside, sub);
	rmdir(sub);
	rmdir(dir);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 2)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_sets_size_and_defaults),
		cmocka_unit_test(test_init_writes_only_the_callers_bytes),
		cmocka_unit_test(test_struct_at_the_end_of_a_page),
		cmocka_unit_test(test_older_size_is_accepted),
		cmocka_unit_test(test_uninitialised_options_are_refused),
		cmocka_unit_test(test_newer_larger_size_is_refused),
		cmocka_unit_test(test_too_small_size_is_refused),
		cmocka_unit_test(test_channel_fds_0_to_2_are_refused),
		cmocka_unit_test(test_stdio_and_env_builtin),
		cmocka_unit_test(test_stdio_and_env_bwrap),
		cmocka_unit_test(test_stdio_and_env_landlock),
		cmocka_unit_test(test_start_wait),
		cmocka_unit_test(test_start_kill_and_pidfd),
		cmocka_unit_test(test_start_concurrent),
		cmocka_unit_test(test_free_running_child),
		cmocka_unit_test(test_start_setup_failure),
		cmocka_unit_test(test_start_setup_failure_inside_sandbox),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
