/* The deny-glob matcher (src/policy/glob_match.c): `**` at the start, in
 * the middle and at the end, `*` and `?` never crossing `/`, classes,
 * dotfiles, anchoring, escapes, the literal prefix the walk starts from,
 * and the refusals of malformed patterns. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/glob_match.h"
#include "probe_child.h"

static bool m(const char *pattern, const char *path)
{
	struct glob_pattern g;
	ab_error err;
	if (glob_compile(pattern, "test", &g, &err) < 0)
		fail_msg("compiling %s: %s", pattern, err.message);
	bool r = glob_match_path(&g, path);
	glob_free(&g);
	return r;
}

static bool below(const char *pattern, const char *dir)
{
	struct glob_pattern g;
	ab_error err;
	if (glob_compile(pattern, "test", &g, &err) < 0)
		fail_msg("compiling %s: %s", pattern, err.message);
	bool r = glob_may_match_below_path(&g, dir);
	glob_free(&g);
	return r;
}

static void globstar_at_start(void **state)
{
	(void)state;
	assert_true(m("/ws/**/.env", "/ws/.env"));
	assert_true(m("/ws/**/.env", "/ws/a/.env"));
	assert_true(m("/ws/**/.env", "/ws/a/b/c/d/.env"));
	assert_false(m("/ws/**/.env", "/ws/a/.env.local"));
	assert_false(m("/ws/**/.env", "/other/.env"));
	assert_true(m("/**/id_rsa*", "/home/u/.ssh/id_rsa.pub"));
}

static void globstar_in_middle_and_end(void **state)
{
	(void)state;
	assert_true(m("/ws/a/**/b/x", "/ws/a/b/x"));
	assert_true(m("/ws/a/**/b/x", "/ws/a/1/2/b/x"));
	assert_false(m("/ws/a/**/b/x", "/ws/a/1/2/b/y"));
	/* a trailing ** matches the directory itself and all below */
	assert_true(m("/ws/secrets/**", "/ws/secrets"));
	assert_true(m("/ws/secrets/**", "/ws/secrets/a/b"));
	assert_false(m("/ws/secrets/**", "/ws/secretsx"));
	assert_true(m("/ws/**/**/k", "/ws/k"));
}

static void star_and_question_stay_in_a_component(void **state)
{
	(void)state;
	assert_true(m("/ws/*.pem", "/ws/server.pem"));
	assert_false(m("/ws/*.pem", "/ws/sub/server.pem"));
	assert_false(m("/ws/*", "/ws/a/b"));
	assert_true(m("/ws/?.key", "/ws/a.key"));
	assert_false(m("/ws/?.key", "/ws/ab.key"));
	assert_false(m("/ws/a?b", "/ws/a/b"));
	assert_true(m("/ws/*a*b*c", "/ws/xxaybzzc"));
	assert_false(m("/ws/*a*b*c", "/ws/xxaybzzcd"));
	assert_true(m("/ws/**/.env.*", "/ws/x/.env.local"));
	assert_false(m("/ws/**/.env.*", "/ws/x/.env"));
}

static void classes(void **state)
{
	(void)state;
	assert_true(m("/ws/key[0-9]", "/ws/key7"));
	assert_false(m("/ws/key[0-9]", "/ws/keyx"));
	assert_true(m("/ws/key[!0-9]", "/ws/keyx"));
	assert_false(m("/ws/key[^0-9]", "/ws/key1"));
	assert_true(m("/ws/[]a]", "/ws/]"));
	assert_true(m("/ws/[ab].pem", "/ws/b.pem"));
	assert_false(m("/ws/[ab].pem", "/ws/c.pem"));
}

static void dotfiles_and_anchoring(void **state)
{
	(void)state;
	assert_true(m("/ws/**/*.pem", "/ws/.hidden.pem"));
	assert_true(m("/ws/**/*.pem", "/ws/.d/x.pem"));
	/* anchored: the whole path, not a substring or a suffix */
	assert_false(m("/ws/*.pem", "/ws/a.pem.bak"));
	assert_false(m("/ws/a.pem", "/x/ws/a.pem"));
	assert_false(m("/ws/a", "/ws/a/b"));
}

static void escapes(void **state)
{
	(void)state;
	assert_true(glob_has_magic("/ws/*.pem"));
	assert_true(glob_has_magic("/ws/[ab]"));
	assert_false(glob_has_magic("/ws/a\\*b"));
	assert_false(glob_has_magic("/ws/plain"));
	char *u = glob_unescape("/ws/a\\*b\\[c");
	assert_string_equal(u, "/ws/a*b[c");
	free(u);
	assert_true(m("/ws/a\\*b", "/ws/a*b"));
	assert_false(m("/ws/a\\*b", "/ws/axb"));
}

static void literal_prefix_and_pruning(void **state)
{
	(void)state;
	struct glob_pattern g;
	ab_error err;
	assert_int_equal(glob_compile("/ws//a/**/*.pem/", "t", &g, &err), 0);
	assert_string_equal(g.text, "/ws/a/**/*.pem");
	char *p = glob_literal_prefix(&g);
	assert_string_equal(p, "/ws/a");
	free(p);
	glob_free(&g);
	assert_true(below("/ws/a/**/*.pem", "/ws"));
	assert_true(below("/ws/a/**/*.pem", "/ws/a/x/y"));
	assert_false(below("/ws/a/**/*.pem", "/ws/b"));
	assert_true(below("/ws/*/x.key", "/ws/q"));
	assert_false(below("/ws/*/x.key", "/ws/q/r"));
}

static void malformed_patterns_are_refused(void **state)
{
	(void)state;
	struct glob_pattern g;
	ab_error err;
	assert_int_equal(glob_compile("/ws/../*.pem", "t", &g, &err), -EINVAL);
	assert_non_null(strstr(err.message, "'..'"));
	assert_int_equal(glob_compile("/ws/a**", "t", &g, &err), -EINVAL);
	assert_non_null(strstr(err.message, "whole component"));
	assert_int_equal(glob_compile("/ws/[ab", "t", &g, &err), -EINVAL);
	assert_non_null(strstr(err.message, "closing ']'"));
	assert_int_equal(glob_compile("/ws/a\\", "t", &g, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(globstar_at_start),
		cmocka_unit_test(globstar_in_middle_and_end),
		cmocka_unit_test(star_and_question_stay_in_a_component),
		cmocka_unit_test(classes),
		cmocka_unit_test(dotfiles_and_anchoring),
		cmocka_unit_test(escapes),
		cmocka_unit_test(literal_prefix_and_pruning),
		cmocka_unit_test(malformed_patterns_are_refused),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
