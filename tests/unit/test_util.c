/* Pure helpers: path strings, string building, quoting, vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/fdpass.h"
#include "common/util.h"
#include "probe_child.h"

static void assert_normalizes(const char *in, const char *want)
{
	char *got = path_normalize(in);
	if (strcmp(got, want) != 0)
		fail_msg("path_normalize(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	free(got);
}

static void test_path_normalize_collapses_slashes_and_dots(void **state)
{
	assert_normalizes("/", "/");
	assert_normalizes("//", "/");
	assert_normalizes("/.", "/");
	assert_normalizes("/./.", "/");
	assert_normalizes("/a", "/a");
	assert_normalizes("/a/", "/a");
	assert_normalizes("//a///b//", "/a/b");
	assert_normalizes("/a/./b/.", "/a/b");
	assert_normalizes("/.hidden/.x", "/.hidden/.x");
	assert_normalizes("/a/.../b", "/a/.../b");
}

static void test_path_normalize_keeps_dotdot_for_the_caller(void **state)
{
	assert_normalizes("/a/../b", "/a/../b");
	assert_normalizes("/..", "/..");
}

static void test_path_is_absolute(void **state)
{
	assert_true(path_is_absolute("/"));
	assert_true(path_is_absolute("/a"));
	assert_false(path_is_absolute("a/b"));
	assert_false(path_is_absolute(""));
	assert_false(path_is_absolute("~/a"));
	assert_false(path_is_absolute(NULL));
}

static void test_path_has_dotdot_only_matches_whole_components(void **state)
{
	assert_true(path_has_dotdot(".."));
	assert_true(path_has_dotdot("/.."));
	assert_true(path_has_dotdot("/a/.."));
	assert_true(path_has_dotdot("/a/../b"));
	assert_true(path_has_dotdot("../a"));
	assert_true(path_has_dotdot("/a/b/../"));
	assert_false(path_has_dotdot("/a/..b"));
	assert_false(path_has_dotdot("/a/b.."));
	assert_false(path_has_dotdot("/a/.../b"));
	assert_false(path_has_dotdot("/a..b/c"));
	assert_false(path_has_dotdot("/a/./b"));
	assert_false(path_has_dotdot("/"));
	assert_true(path_has_dotdot("/x..y/.."));
}

static void test_path_is_under_matches_components_not_prefixes(void **state)
{
	assert_true(path_is_under("/a/b", "/a/b"));
	assert_true(path_is_under("/a/b/c", "/a/b"));
	assert_true(path_is_under("/a/b/c/d", "/a"));
	assert_false(path_is_under("/a/bc", "/a/b"));
	assert_false(path_is_under("/a/b-c/d", "/a/b"));
	assert_false(path_is_under("/a", "/a/b"));
	assert_false(path_is_under("/b", "/a"));
}

static void test_path_is_under_root_contains_everything(void **state)
{
	assert_true(path_is_under("/", "/"));
	assert_true(path_is_under("/a", "/"));
	assert_true(path_is_under("/a/b/c", "/"));
	assert_false(path_is_under("/", "/a"));
}

static void test_path_depth_counts_components(void **state)
{
	assert_int_equal(path_depth("/"), 0);
	assert_int_equal(path_depth("/a"), 1);
	assert_int_equal(path_depth("/a/b"), 2);
	assert_int_equal(path_depth("/a/b/c"), 3);
	assert_int_equal(path_depth("/usr/lib64/x"), 3);
}

static void test_path_parent(void **state)
{
	static const char *const cases[][2] = {
		{"/a/b/c", "/a/b"},
		{"/a/b", "/a"},
		{"/a", "/"},
		{"/", "/"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = path_parent(cases[i][0]);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

static void test_path_join_does_not_double_the_root_slash(void **state)
{
	char *a = path_join("/", "etc");
	char *b = path_join("/a/b", "c");
	char *c = path_join("/a", ".git");
	assert_string_equal(a, "/etc");
	assert_string_equal(b, "/a/b/c");
	assert_string_equal(c, "/a/.git");
	free(a);
	free(b);
	free(c);
}

static void test_parent_and_join_round_trip(void **state)
{
	const char *p = "/home/user/repo/.git";
	char *parent = path_parent(p);
	char *again = path_join(parent, ".git");
	assert_string_equal(again, p);
	assert_int_equal(path_depth(parent) + 1, path_depth(p));
	assert_true(path_is_under(p, parent));
	free(parent);
	free(again);
}

static char *json_of(const char *s)
{
	sbuf b = {0};
	sbuf_add_json_string(&b, s);
	return b.s;
}

static void test_sbuf_add_json_string_escapes_quotes_backslashes_and_controls(void **state)
{
	static const char *const cases[][2] = {
		{"", "\"\""},
		{"plain /path", "\"plain /path\""},
		{"say \"hi\"", "\"say \\\"hi\\\"\""},
		{"C:\\dir", "\"C:\\\\dir\""},
		{"a\nb\tc\rd", "\"a\\nb\\tc\\rd\""},
		{"\x01\x1f", "\"\\u0001\\u001f\""},
		{"\x7f", "\"\x7f\""},
		{"caf\xc3\xa9", "\"caf\xc3\xa9\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = json_of(cases[i][0]);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

static void test_sbuf_json_string_or_null_and_notice(void **state)
{
	sbuf b = {0};
	sbuf_add_json_string_or_null(&b, NULL);
	sbuf_add(&b, " ");
	sbuf_add_json_string_or_null(&b, "a\"b");
	assert_string_equal(b.s, "null \"a\\\"b\"");
	sbuf_free(&b);
	sbuf_add_json_notice(&b, "no_list", NULL, "listing \"/x\" is refused");
	assert_string_equal(b.s, "\"code\":\"no_list\",\"path\":null,"
				 "\"message\":\"listing \\\"/x\\\" is refused\"");
	sbuf_free(&b);
	sbuf_add_json_notice(&b, "c", "/p\n", "m");
	assert_string_equal(b.s, "\"code\":\"c\",\"path\":\"/p\\n\",\"message\":\"m\"");
	sbuf_free(&b);
}

/* Real descriptors travel: the received one is the same open file. */
static void test_fdpass_sends_descriptors_and_data(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	int fds[2] = {p[0], p[1]};
	assert_int_equal(fdpass_send(sv[0], "tag", 3, fds, 2), 3);
	char buf[8];
	int got[FDPASS_MAX];
	size_t n_got = 9;
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), got, &n_got), 3);
	assert_memory_equal(buf, "tag", 3);
	assert_int_equal(n_got, 2);
	struct stat a, b;
	assert_int_equal(fstat(p[0], &a), 0);
	assert_int_equal(fstat(got[0], &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	assert_true(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(got[1], "x", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	/* data only, then end of file */
	assert_int_equal(fdpass_send(sv[0], "ok", 2, NULL, 0), 2);
	int none[FDPASS_MAX];
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), none, &n_got), 2);
	assert_int_equal(n_got, 0);
	close(sv[0]);
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), none, &n_got), 0);
	close(sv[1]);
	close(got[0]);
	close(got[1]);
	close(p[0]);
	close(p[1]);
}

/* A message bigger than the buffer is refused, and what it carried is not
 * left open in the receiver. */
static void test_fdpass_refuses_a_truncated_message(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fdpass_send(sv[0], "too long", 8, p, 1), 8);
	int probe = dup(0);
	assert_true(probe >= 0);
	close(probe); /* the lowest free number: where a leaked fd would land */
	char buf[4];
	int got[FDPASS_MAX];
	size_t n_got;
	errno = 0;
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), got, &n_got), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(n_got, 0);
	assert_int_equal(fcntl(probe, F_GETFD), -1);
	int too_many[FDPASS_MAX + 1] = {0};
	errno = 0;
	assert_int_equal(fdpass_send(sv[0], "x", 1, too_many, FDPASS_MAX + 1), -1);
	assert_int_equal(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

static char *shell_of(const char *s)
{
	sbuf b = {0};
	sbuf_add_shell_word(&b, s);
	return b.s;
}

static void test_sbuf_add_shell_word_quotes_only_when_needed(void **state)
{
	static const char *const cases[][2] = {
		{"/usr/bin/bwrap", "/usr/bin/bwrap"},
		{"--ro-bind", "--ro-bind"},
		{"a=b,c:d@e%f+g", "a=b,c:d@e%f+g"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", "'it'\\''s'"},
		{"$HOME", "'$HOME'"},
		{"a;b", "'a;b'"},
		{"*", "'*'"},
		{"~", "'~'"},
		{"new\nline", "'new\nline'"},
		{"back\\slash", "'back\\slash'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = shell_of(cases[i][0]);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

static void test_sbuf_appends_and_formats(void **state)
{
	sbuf b = {0};
	sbuf_add(&b, "ab");
	sbuf_addn(&b, "cdef", 2);
	sbuf_addf(&b, "-%d-%s", 42, "x");
	assert_string_equal(b.s, "abcd-42-x");
	assert_int_equal(b.len, strlen("abcd-42-x"));
	for (int i = 0; i < 1000; i++)
		sbuf_add(&b, "0123456789");
	assert_int_equal(b.len, 9 + 10000);
	assert_int_equal(strlen(b.s), b.len);
	sbuf_free(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
}

static void test_strv_stays_null_terminated_while_growing(void **state)
{
	strv s = {0};
	char name[16];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "arg%d", i);
		if (i % 2)
			strv_push(&s, name);
		else
			strv_push_owned(&s, xstrdup(name));
		assert_int_equal(s.n, (size_t)i + 1);
		assert_null(s.v[s.n]);
	}
	assert_string_equal(s.v[0], "arg0");
	assert_string_equal(s.v[99], "arg99");
	strv_free(&s);
	assert_null(s.v);
	assert_int_equal(s.n, 0);
}

static void test_strv_push_copies_the_string(void **state)
{
	strv s = {0};
	char buf[] = "original";
	strv_push(&s, buf);
	buf[0] = 'X';
	assert_string_equal(s.v[0], "original");
	strv_free(&s);
}

static void test_xasprintf_and_xstrndup(void **state)
{
	char *a = xasprintf("%s:%d:%d", "p.json", 3, 12);
	char *b = xstrndup("abcdef", 3);
	assert_string_equal(a, "p.json:3:12");
	assert_string_equal(b, "abc");
	free(a);
	free(b);
}

static void test_grow_array_keeps_contents(void **state)
{
	int *v = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < 1000; i++) {
		grow_array((void **)&v, &cap, i + 1, sizeof(*v));
		assert_true(cap >= i + 1);
		v[i] = (int)i;
	}
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(v[i], (int)i);
	free(v);
}

static void test_error_helpers_fill_message_and_return_negative_errno(void **state)
{
	ab_error err = {0};
	assert_int_equal(ab_fail(&err, ENOENT, "cannot open %s", "/x"), -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.message, "cannot open /x");
	assert_int_equal(ab_fail_errno(&err, EACCES, "cannot open %s", "/y"), -EACCES);
	assert_string_equal(err.message, "cannot open /y: Permission denied");
	ab_error_hint(&err, "hint: %s", "fix it");
	assert_string_equal(err.message, "cannot open /y: Permission denied\nhint: fix it");
	assert_int_equal(ab_fail(&err, 0, "no code"), -EINVAL);
	assert_int_equal(ab_fail(NULL, EPERM, "ignored"), -EPERM);
	ab_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.message, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_normalize_collapses_slashes_and_dots),
		cmocka_unit_test(test_path_normalize_keeps_dotdot_for_the_caller),
		cmocka_unit_test(test_path_is_absolute),
		cmocka_unit_test(test_path_has_dotdot_only_matches_whole_components),
		cmocka_unit_test(test_path_is_under_matches_components_not_prefixes),
		cmocka_unit_test(test_path_is_under_root_contains_everything),
		cmocka_unit_test(test_path_depth_counts_components),
		cmocka_unit_test(test_path_parent),
		cmocka_unit_test(test_path_join_does_not_double_the_root_slash),
		cmocka_unit_test(test_parent_and_join_round_trip),
		cmocka_unit_test(test_sbuf_add_json_string_escapes_quotes_backslashes_and_controls),
		cmocka_unit_test(test_sbuf_json_string_or_null_and_notice),
		cmocka_unit_test(test_fdpass_sends_descriptors_and_data),
		cmocka_unit_test(test_fdpass_refuses_a_truncated_message),
		cmocka_unit_test(test_sbuf_add_shell_word_quotes_only_when_needed),
		cmocka_unit_test(test_sbuf_appends_and_formats),
		cmocka_unit_test(test_strv_stays_null_terminated_while_growing),
		cmocka_unit_test(test_strv_push_copies_the_string),
		cmocka_unit_test(test_xasprintf_and_xstrndup),
		cmocka_unit_test(test_grow_array_keeps_contents),
		cmocka_unit_test(test_error_helpers_fill_message_and_return_negative_errno),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
