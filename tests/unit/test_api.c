/* The public API as a program sees it (this binary links libagentbox.so
 * and includes only agentbox.h): how ab_run_options carries its size from
 * ab_run_options_init to ab_run and ab_explain. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
	ab_run_options o;
	ab_run_options_init(&o);
	o.backend = backend;
	o.cwd = dir;
	o.quiet = true;
	o.stdin_fd = in[0];
	o.stdout_fd = out[1];
	o.stderr_fd = errp[1];
	char foo[] = "FOO=bar", path[] = "PATH=/usr/bin:/bin";
	char *env[] = {foo, path, NULL};
	o.envp = env;
	char sh[] = "/bin/sh", c[] = "-c",
	     script[] = "read x; echo \"$x $FOO ${AB_API_CALLER_ONLY:-unset} $AGENTBOX_SANDBOX\"; echo oops >&2";
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
	assert_string_equal(got_out, "hello bar unset 1\n");
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
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
