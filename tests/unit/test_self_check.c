/* agentbox's own binary against real plans (src/run/self_check.c): a
 * binary in a writable root, in a read-only sub-path of one, in a
 * read-only file whose directory is writable, hidden, under a writable /,
 * a shared object in a writable place, a second hard link, an executable
 * that cannot be found, and this test program's own mappings. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "run/self_check.h"
#include "probe_child.h"
#include "tree_fixture.h"

/* :root read, T/ws write (the working directory), plus a read and a deny
 * rule when given. */
static void plan_ws(struct plan *plan, const char *read_rel, const char *deny_rel)
{
	mkdirs("ws");
	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("ws"), AB_ACCESS_WRITE);
	if (read_rel)
		rule(p, P(read_rel), AB_ACCESS_READ);
	if (deny_rel)
		rule(p, P(deny_rel), AB_ACCESS_NONE);
	struct plan_context ctx = {.cwd = P("ws")};
	resolve_ok(p, &ctx, plan);
	ab_policy_free(p);
}

/* A file with its parent directories. */
static void put(const char *rel)
{
	char *dir = xstrdup(rel);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(dir);
	}
	free(dir);
	mkfile(rel, "x");
}

static void check(const struct plan *plan, const char *rel, bool allow, struct self_check *c)
{
	const char *files[] = {P(rel)};
	self_check_files(plan, files, 1, NULL, NULL, allow, c);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

static void test_binary_in_writable_root_is_refused(void **state)
{
	(void)state;
	put("ws/agentbox");
	struct plan plan;
	plan_ws(&plan, NULL, NULL);
	struct self_check c;
	check(&plan, "ws/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_REFUSED);
	assert_string_equal(c.file, P("ws/agentbox"));
	assert_string_equal(c.writable, P("ws/agentbox"));
	assert_string_equal(c.writable_root, P("ws"));
	assert_null(c.accepted_by);
	assert_contains(c.reason, "agentbox's own executable");
	assert_contains(c.reason, "is writable inside the sandbox");
	ab_error err;
	assert_int_equal(self_check_refusal(&c, &err), -EPERM);
	assert_contains(err.message, "--allow-writable-self");
	assert_contains(err.message, "make install");
	sbuf b = {0};
	self_check_append_json(&c, &b);
	assert_contains(b.s, "\"verdict\":\"refused\"");
	assert_contains(b.s, "\"writable\":true");
	sbuf_free(&b);
	self_check_free(&c);
	plan_free(&plan);
}

static void test_allow_accepts_with_the_flag_named(void **state)
{
	(void)state;
	put("ws/agentbox");
	struct plan plan;
	plan_ws(&plan, NULL, NULL);
	struct self_check c;
	check(&plan, "ws/agentbox", true, &c);
	assert_int_equal(c.verdict, SELF_ACCEPTED);
	assert_string_equal(c.accepted_by, "--allow-writable-self");
	char *w = self_check_warning(&c);
	assert_contains(w, "--allow-writable-self");
	assert_contains(w, P("ws/agentbox"));
	free(w);
	self_check_free(&c);
	plan_free(&plan);
}

static void test_binary_in_read_only_sub_path_is_fine(void **state)
{
	(void)state;
	put("ws/tools/bin/agentbox");
	struct plan plan;
	plan_ws(&plan, "ws/tools", NULL);
	struct self_check c;
	check(&plan, "ws/tools/bin/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_NOT_WRITABLE);
	assert_string_equal(c.exe, P("ws/tools/bin/agentbox"));
	assert_null(c.reason);
	sbuf b = {0};
	self_check_append_json(&c, &b);
	assert_contains(b.s, "\"writable\":false");
	sbuf_free(&b);
	self_check_free(&c);
	plan_free(&plan);
}

/* The file is read-only and the directory holding it lies in the
 * writable root: that directory is pinned (plan/pin.c), so it cannot be
 * renamed away and rebuilt with another file. (Before pins: refused.) */
static void test_read_only_file_in_writable_directory_is_pinned(void **state)
{
	(void)state;
	put("ws/sub/agentbox");
	struct plan plan;
	plan_ws(&plan, "ws/sub/agentbox", NULL);
	assert_int_equal(plan_access_at(&plan, P("ws/sub/agentbox"), -1), AB_ACCESS_READ);
	int pin = plan_find_node(&plan, P("ws/sub"));
	assert_true(pin >= 0 && plan.nodes[pin].source == NODE_PIN);
	struct self_check c;
	check(&plan, "ws/sub/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_NOT_WRITABLE);
	self_check_free(&c);
	plan_free(&plan);
}

/* Directly in the writable root, a read-only file is a mountpoint of its
 * own: it cannot be renamed or removed there. */
static void test_read_only_file_directly_in_writable_root_is_fine(void **state)
{
	(void)state;
	put("ws/agentbox");
	struct plan plan;
	plan_ws(&plan, "ws/agentbox", NULL);
	struct self_check c;
	check(&plan, "ws/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_NOT_WRITABLE);
	self_check_free(&c);
	plan_free(&plan);
}

static void test_binary_in_hidden_dir_is_fine(void **state)
{
	(void)state;
	put("ws/secret/agentbox");
	struct plan plan;
	plan_ws(&plan, NULL, "ws/secret");
	struct self_check c;
	check(&plan, "ws/secret/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_NOT_WRITABLE);
	self_check_free(&c);
	plan_free(&plan);
}

/* The workspace itself sits in a writable parent without a mount of its
 * own: it is pinned, so renaming the whole workspace away fails (EBUSY)
 * and the read-only binary in it stays. (Before pins: refused.) */
static void test_writable_root_nested_in_writable_parent_is_pinned(void **state)
{
	(void)state;
	put("outer/ws/tools/agentbox");
	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("outer"), AB_ACCESS_WRITE);
	rule(p, P("outer/ws"), AB_ACCESS_WRITE);
	rule(p, P("outer/ws/tools"), AB_ACCESS_READ);
	struct plan_context ctx = {.cwd = P("outer/ws")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	int ws = plan_find_node(&plan, P("outer/ws"));
	assert_true(ws >= 0 && plan.nodes[ws].pin);
	struct self_check c;
	check(&plan, "outer/ws/tools/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_NOT_WRITABLE);
	self_check_free(&c);
	plan_free(&plan);
}

static void test_writable_slash_is_accepted_as_full_access(void **state)
{
	(void)state;
	put("bin/agentbox");
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_apply_preset(p, "full-access", NULL), 0);
	struct plan_context ctx = {.cwd = P("")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	struct self_check c;
	check(&plan, "bin/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_ACCEPTED);
	assert_string_equal(c.accepted_by, "full-access");
	assert_string_equal(c.writable_root, "/");
	char *w = self_check_warning(&c);
	assert_contains(w, "full-access");
	free(w);
	self_check_free(&c);
	plan_free(&plan);
}

static void test_shared_object_in_writable_root_is_refused(void **state)
{
	(void)state;
	put("bin/agentbox");
	put("ws/lib/libx.so");
	struct plan plan;
	plan_ws(&plan, NULL, NULL);
	const char *files[] = {P("bin/agentbox"), P("ws/lib/libx.so")};
	struct self_check c;
	self_check_files(&plan, files, 2, NULL, NULL, false, &c);
	assert_int_equal(c.verdict, SELF_REFUSED);
	assert_string_equal(c.exe, P("bin/agentbox"));
	assert_string_equal(c.file, P("ws/lib/libx.so"));
	assert_contains(c.reason, "shared object");
	assert_int_equal(c.n_files, 2);
	self_check_free(&c);
	plan_free(&plan);
}

static void test_second_hard_link_is_refused(void **state)
{
	(void)state;
	put("bin/agentbox");
	mkdirs("elsewhere");
	if (link(P("bin/agentbox"), P("elsewhere/agentbox")) < 0)
		fail_msg("link: %s", strerror(errno));
	struct plan plan;
	plan_ws(&plan, NULL, NULL);
	struct self_check c;
	check(&plan, "bin/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_REFUSED);
	assert_contains(c.reason, "2 hard links");
	assert_null(c.writable);
	self_check_free(&c);
	/* One name again: fine. */
	assert_int_equal(unlink(P("elsewhere/agentbox")), 0);
	check(&plan, "bin/agentbox", false, &c);
	assert_int_equal(c.verdict, SELF_NOT_WRITABLE);
	self_check_free(&c);
	plan_free(&plan);
}

static void test_unknown_executable_fails_closed(void **state)
{
	(void)state;
	struct plan plan;
	plan_ws(&plan, NULL, NULL);
	struct self_check c;
	self_check_files(&plan, NULL, 0, "cannot find agentbox's own executable (test)",
			 "fix: (test)", false, &c);
	assert_int_equal(c.verdict, SELF_REFUSED);
	assert_null(c.exe);
	assert_contains(c.reason, "(test)");
	ab_error err;
	self_check_refusal(&c, &err);
	assert_contains(err.message, "\nfix: (test)");
	sbuf b = {0};
	self_check_append_json(&c, &b);
	assert_contains(b.s, "\"path\":null");
	sbuf_free(&b);
	self_check_free(&c);
	self_check_files(&plan, NULL, 0, "cannot find agentbox's own executable (test)",
			 "fix: (test)", true, &c);
	assert_int_equal(c.verdict, SELF_ACCEPTED);
	self_check_free(&c);
	plan_free(&plan);
}

/* This test program is linked dynamically: its libc comes from
 * /proc/self/maps, and a plan that makes libc's directory writable is
 * refused for it. */
static void test_real_process_checks_its_shared_objects(void **state)
{
	(void)state;
	char *exe = realpath("/proc/self/exe", NULL);
	assert_non_null(exe);
	Dl_info info;
	if (!dladdr((void *)&printf, &info) || !info.dli_fname)
		fail_msg("dladdr found no object for printf");
	char *libc = realpath(info.dli_fname, NULL);
	assert_non_null(libc);
	char *libdir = path_parent(libc);
	if (path_is_under(exe, libdir))
		skip();

	struct plan plan;
	plan_ws(&plan, NULL, NULL);
	struct self_check c;
	self_check_run(&plan, exe, false, &c);
	assert_int_equal(c.verdict, SELF_NOT_WRITABLE);
	assert_string_equal(c.exe, exe);
	assert_true(c.n_files >= 2);
	self_check_free(&c);
	plan_free(&plan);

	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, libdir, AB_ACCESS_WRITE);
	struct plan_context ctx = {.cwd = P("")};
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	self_check_run(&plan, exe, false, &c);
	assert_int_equal(c.verdict, SELF_REFUSED);
	/* Sanitizer builds map more objects from that directory; which one
	 * comes first in the maps does not matter. */
	assert_true(path_is_under(c.file, libdir));
	assert_contains(c.reason, "shared object");
	self_check_free(&c);
	plan_free(&plan);
	free(libdir);
	free(libc);
	free(exe);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_binary_in_writable_root_is_refused),
		T_(test_allow_accepts_with_the_flag_named),
		T_(test_binary_in_read_only_sub_path_is_fine),
		T_(test_read_only_file_in_writable_directory_is_pinned),
		T_(test_read_only_file_directly_in_writable_root_is_fine),
		T_(test_binary_in_hidden_dir_is_fine),
		T_(test_writable_root_nested_in_writable_parent_is_pinned),
		T_(test_writable_slash_is_accepted_as_full_access),
		T_(test_shared_object_in_writable_root_is_refused),
		T_(test_second_hard_link_is_refused),
		T_(test_unknown_executable_fails_closed),
		T_(test_real_process_checks_its_shared_objects),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
