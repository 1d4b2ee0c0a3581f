/* The strict git configuration reader (src/plan/gitconfig_parse.c) and
 * the table of keys that name programs and files, with how a value turns
 * into paths (src/plan/git_config_keys.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "plan/git_config_keys.h"
#include "plan/gitconfig_parse.h"
#include "probe_child.h"

/* Every variable as "key=value" (or "key" for a bare one) and its line. */
static int collect(const char *key, const char *value, unsigned line, void *arg)
{
	sbuf *b = arg;
	sbuf_addf(b, "%u:%s%s%s|", line, key, value ? "=" : "", value ? value : "");
	return 0;
}

static char *parse_ok(const char *text)
{
	sbuf b = {0};
	sbuf_add(&b, "");
	ab_error err = {0};
	if (gitconfig_parse(text, strlen(text), "cfg", collect, &b, &err) < 0)
		fail_msg("refused: %s\n--- text:\n%s", err.message, text);
	return b.s;
}

static void assert_parse(const char *text, const char *want)
{
	char *got = parse_ok(text);
	if (strcmp(got, want) != 0)
		fail_msg("text:\n%s\ngot:  %s\nwant: %s", text, got, want);
	free(got);
}

static void assert_refused(const char *text, unsigned line, const char *what)
{
	sbuf b = {0};
	ab_error err = {0};
	int r = gitconfig_parse(text, strlen(text), "/r/.git/config", collect, &b, &err);
	sbuf_free(&b);
	if (r != -EINVAL)
		fail_msg("accepted (%d):\n%s", r, text);
	char at[64];
	snprintf(at, sizeof(at), "/r/.git/config, line %u", line);
	if (!strstr(err.message, at) || !strstr(err.message, what))
		fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err.message, at, what);
}

static void test_sections_and_subsections(void **state)
{
	assert_parse("[core]\n\thooksPath = .husky\n", "2:core.hookspath=.husky|");
	assert_parse("[Filter \"LFS\"]\n  Smudge = git-lfs smudge %f\n", "2:filter.LFS.smudge=git-lfs smudge %f|");
	/* the old [section.sub] form lower-cases the subsection too */
	assert_parse("[Diff.Foo]\ntextconv = x\n", "2:diff.foo.textconv=x|");
	assert_parse("[includeIf \"gitdir:~/w/\"]\npath = a\n", "2:includeif.gitdir:~/w/.path=a|");
	/* escapes inside a subsection keep the character */
	assert_parse("[a \"x\\\"y\\\\z\"]\nk = v\n", "2:a.x\"y\\z.k=v|");
	/* a variable on the header's line, a bare (boolean) one, CRLF */
	assert_parse("[core] bare\r\n[x]k=1", "1:core.bare|2:x.k=1|");
}

static void test_values_quotes_escapes_comments_continuations(void **state)
{
	assert_parse("[a]\nk =   two  words  ; comment\n", "2:a.k=two  words|");
	assert_parse("[a]\nk = \" kept ; # \"  after\n", "2:a.k= kept ; #   after|");
	assert_parse("[a]\nk = a\\tb\\nc\\\\d\\\"e\n", "2:a.k=a\tb\nc\\d\"e|");
	assert_parse("[a]\nk = first \\\n  second\nj = 3\n", "2:a.k=first   second|4:a.j=3|");
	assert_parse("# top\n; also\n\n[a] # after header\nk=\n", "5:a.k=|");
	assert_parse("\xef\xbb\xbf[a]\nk=v\n", "2:a.k=v|");
}

static void test_malformed_files_are_refused_with_file_and_line(void **state)
{
	assert_refused("k = v\n", 1, "before any [section]");
	assert_refused("[core]\nk = \"open\n", 2, "unterminated quoted value");
	assert_refused("[core]\n\nk = a\\qb\n", 3, "unknown escape");
	assert_refused("[core\n", 1, "section");
	assert_refused("[a \"sub]\n", 1, "unterminated subsection");
	assert_refused("[a sub]\n", 1, "double quotes");
	assert_refused("[a]\nk v\n", 2, "expected '='");
	assert_refused("[a]\n_k = v\n", 2, "neither");
	assert_refused("[a]\nk = v\\", 2, "backslash at the end");
	const char nul[] = "[a]\nk = a\0b\n";
	sbuf b = {0};
	ab_error err = {0};
	assert_int_equal(gitconfig_parse(nul, sizeof(nul) - 1, "f", collect, &b, &err), -EINVAL);
	assert_non_null(strstr(err.message, "NUL"));
	sbuf_free(&b);
}

static int stop_at_second(const char *key, const char *value, unsigned line, void *arg)
{
	int *n = arg;
	return ++*n == 2 ? -ECANCELED : 0;
}

static void test_callback_result_stops_the_parse(void **state)
{
	int n = 0;
	ab_error err = {0};
	const char *t = "[a]\nx=1\ny=2\nz=3\n";
	assert_int_equal(gitconfig_parse(t, strlen(t), "f", stop_at_second, &n, &err), -ECANCELED);
	assert_int_equal(n, 2);
}

static void test_table_finds_keys_with_and_without_subsections(void **state)
{
	assert_int_equal(git_key_find("core.hookspath")->kind, GIT_KEY_DIR);
	assert_int_equal(git_key_find("core.fsmonitor")->kind, GIT_KEY_BOOL_OR_COMMAND);
	assert_int_equal(git_key_find("filter.lfs.smudge")->kind, GIT_KEY_COMMAND);
	assert_int_equal(git_key_find("includeif.gitdir:~/w/.path")->kind, GIT_KEY_INCLUDE);
	assert_int_equal(git_key_find("diff.a.b.textconv")->kind, GIT_KEY_COMMAND); /* dots in a subsection */
	assert_int_equal(git_key_find("gpg.program")->kind, GIT_KEY_COMMAND);
	assert_int_equal(git_key_find("gpg.ssh.program")->kind, GIT_KEY_COMMAND);
	assert_int_equal(git_key_find("alias.st")->kind, GIT_KEY_BANG_COMMAND);
	/* the shape matters: filter.clean has no subsection, include.x.path has one */
	assert_null(git_key_find("filter.clean"));
	assert_null(git_key_find("include.x.path"));
	assert_null(git_key_find("core.bare"));
	/* a key the table does not name: nothing is protected for it
	 * (README "Security notes" lists this limit) */
	assert_null(git_key_find("core.unknownprogram"));
	for (const struct git_key *k = git_config_keys; k->section; k++)
		assert_true(k->why && *k->why);
}

static char *paths_of(const char *key, const char *value)
{
	const struct git_key *k = git_key_find(key);
	assert_non_null(k);
	struct git_key_base base = {.worktree = "/ws", .config_dir = "/ws/.git", .home = "/home/u"};
	strv out = {0};
	ab_error err = {0};
	if (git_key_paths(k, key, value, &base, &out, &err) < 0)
		fail_msg("%s = %s refused: %s", key, value, err.message);
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; i < out.n; i++)
		sbuf_addf(&b, "%s%s", i ? " " : "", out.v[i]);
	strv_free(&out);
	return b.s;
}

#define assert_paths(key, value, want)                                        \
	do {                                                                  \
		char *got_ = paths_of(key, value);                            \
		if (strcmp(got_, want) != 0)                                  \
			fail_msg("%s = %s: got '%s', want '%s'", key, value, got_, want); \
		free(got_);                                                   \
	} while (0)

static void test_values_resolve_as_git_does(void **state)
{
	assert_paths("core.hookspath", ".husky", "/ws/.husky");
	assert_paths("core.hookspath", "./a/../hooks", "/ws/a/../hooks");
	assert_paths("core.hookspath", "~/hooks", "/home/u/hooks");
	assert_paths("core.hookspath", "/abs/h", "/abs/h");
	/* husky 9: .husky/_ runs the scripts in .husky/ */
	assert_paths("core.hookspath", ".husky/_", "/ws/.husky/_ /ws/.husky");
	assert_paths("include.path", "extra.inc", "/ws/.git/extra.inc");
	assert_paths("include.path", ":(optional)~/x.inc", "/home/u/x.inc");
	assert_paths("core.fsmonitor", "true", "");
	assert_paths("core.fsmonitor", "false", "");
	assert_paths("core.fsmonitor", ".git-hooks/fsmon.sh", "/ws/.git-hooks/fsmon.sh");
	assert_paths("core.pager", "less -R", "");
	assert_paths("core.editor", "'./my editor' --wait", "/ws/my editor");
	assert_paths("core.sshcommand", "GIT_TRACE=1 ./bin/ssh -i ~/.ssh/k", "/ws/bin/ssh /home/u/.ssh/k");
	assert_paths("filter.lfs.smudge", "git-lfs smudge -- %f", "");
	assert_paths("diff.x.textconv", "sh tools/conv.sh --opt=a/b https://h/p", "/ws/tools/conv.sh");
	assert_paths("credential.helper", "store", "");
	assert_paths("credential.helper", "/usr/bin/helper", "/usr/bin/helper");
	assert_paths("credential.helper", "!./cred.sh get", "/ws/cred.sh");
	assert_paths("alias.x", "log --oneline", "");
	assert_paths("alias.x", "!scripts/x.sh; echo done", "/ws/scripts/x.sh");
	assert_paths("pager.log", "false", "");
	assert_paths("pager.log", "./p", "/ws/p");
}

static void assert_value_refused(const char *key, const char *value, const char *what)
{
	const struct git_key *k = git_key_find(key);
	struct git_key_base base = {.worktree = "/ws", .config_dir = "/ws/.git", .home = "/home/u"};
	strv out = {0};
	ab_error err = {0};
	assert_int_equal(git_key_paths(k, key, value, &base, &out, &err), -EINVAL);
	strv_free(&out);
	if (!strstr(err.message, key) || !strstr(err.message, value) || !strstr(err.message, what))
		fail_msg("message \"%s\" lacks the key, the value or \"%s\"", err.message, what);
}

static void test_values_that_cannot_be_read_safely_are_refused(void **state)
{
	assert_value_refused("core.fsmonitor", "$HOME/fsmon", "expansion");
	assert_value_refused("core.editor", "`which vim`", "expansion");
	assert_value_refused("core.pager", "./pag*", "expansion");
	assert_value_refused("core.hookspath", "~other/hooks", "~user");
	assert_value_refused("include.path", "%(prefix)/etc/x", "prefix");
}

static void test_relative_paths_without_a_worktree_are_left_out(void **state)
{
	const struct git_key *k = git_key_find("core.hookspath");
	struct git_key_base base = {.config_dir = "/home/u", .home = "/home/u"};
	strv out = {0};
	ab_error err = {0};
	assert_int_equal(git_key_paths(k, "core.hookspath", ".husky", &base, &out, &err), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(git_key_paths(k, "core.hookspath", "/abs", &base, &out, &err), 0);
	assert_int_equal(out.n, 1);
	strv_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_and_subsections),
		cmocka_unit_test(test_values_quotes_escapes_comments_continuations),
		cmocka_unit_test(test_malformed_files_are_refused_with_file_and_line),
		cmocka_unit_test(test_callback_result_stops_the_parse),
		cmocka_unit_test(test_table_finds_keys_with_and_without_subsections),
		cmocka_unit_test(test_values_resolve_as_git_does),
		cmocka_unit_test(test_values_that_cannot_be_read_safely_are_refused),
		cmocka_unit_test(test_relative_paths_without_a_worktree_are_left_out),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
