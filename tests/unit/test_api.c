/* The public API as a program sees it (this binary links libagentbox.so
 * and includes only agentbox.h): how ab_run_options carries its size from
 * ab_run_options_init to ab_run and ab_explain. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
