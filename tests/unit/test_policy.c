/* The policy layer: presets, path rules, protected names and the JSON
 * policy file with its file:line:column error messages. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/domain.h"
#include "net/net_policy.h"
#include "policy/policy.h"
#include "probe_child.h"

static const struct policy_entry *find_entry(const ab_policy *p,
					     enum policy_path_kind kind,
					     const char *path)
{
	for (size_t i = 0; i < p->n_entries; i++)
		if (p->entries[i].kind == kind && strcmp(p->entries[i].path, path) == 0)
			return &p->entries[i];
	return NULL;
}

static void assert_entry(const ab_policy *p, enum policy_path_kind kind,
			 const char *path, ab_access access)
{
	const struct policy_entry *e = find_entry(p, kind, path);
	if (!e)
		fail_msg("no entry for kind %d path \"%s\"", kind, path);
	assert_int_equal(e->access, access);
}

/* How many names every new policy protects (policy/protect_list.c). */
static size_t n_builtin(void)
{
	size_t n = 0;
	while (policy_protect_defaults[n].name)
		n++;
	return n;
}

static bool has_protect(const ab_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_protect; i++)
		if (strcmp(p->protect[i], name) == 0)
			return true;
	return false;
}

/* Loads `text` as "p.json" into a fresh policy and checks that it fails
 * with exactly `want` as the message, leaving the policy untouched. */
static void assert_load_error(const char *text, const char *want)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	int r = ab_policy_load_json(p, text, "p.json", &err);
	if (r != -EINVAL || strcmp(err.message, want) != 0)
		fail_msg("r=%d\n got: %s\nwant: %s", r, err.message, want);
	assert_int_equal(p->n_entries, 0);
	assert_int_equal(p->n_protect, n_builtin());
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	assert_false(p->net_set);
	assert_int_equal(p->domains.n_allow, 0);
	assert_int_equal(p->domains.n_deny, 0);
	ab_policy_free(p);
}

static ab_policy *load_ok(const char *text)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	int r = ab_policy_load_json(p, text, "p.json", &err);
	if (r != 0)
		fail_msg("load failed (%d): %s", r, err.message);
	return p;
}

/* ---- model and presets ------------------------------------------------ */

static void test_new_policy_protects_git_and_agentbox_without_network(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(p->n_entries, 0);
	assert_int_equal(p->n_protect, n_builtin());
	assert_true(has_protect(p, ".git"));
	assert_true(has_protect(p, ".agentbox"));
	/* the dangerous files of issue #14, one of each scope */
	assert_true(has_protect(p, ".bashrc"));
	assert_true(has_protect(p, ".vscode"));
	assert_true(has_protect(p, ".config/fish"));
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy_free(p);
}

/* --unprotect / "unprotect": a built-in or added name goes for one
 * policy; an unknown one is an error that lists what is protected. */
static void test_unprotect_removes_one_name(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_unprotect(p, ".vscode", &err), 0);
	assert_false(has_protect(p, ".vscode"));
	assert_true(has_protect(p, ".idea"));
	assert_int_equal(p->n_protect, n_builtin() - 1);
	assert_int_equal(ab_policy_unprotect(p, ".vscode", &err), -EINVAL);
	assert_non_null(strstr(err.message, "cannot unprotect '.vscode': it is not a protected name"));
	assert_non_null(strstr(err.message, ".idea"));
	/* added back by a later --protect */
	assert_int_equal(ab_policy_add_protect(p, ".vscode", NULL), 0);
	assert_true(has_protect(p, ".vscode"));
	ab_policy_free(p);

	p = load_ok("{\"version\": 1, \"protect\": [\"node_modules\"],"
		    " \"unprotect\": [\".envrc\", \"node_modules\"]}");
	assert_false(has_protect(p, ".envrc"));
	assert_false(has_protect(p, "node_modules"));
	assert_int_equal(p->n_protect, n_builtin() - 1);
	ab_policy_free(p);
	assert_load_error("{\"version\": 1, \"unprotect\": \".envrc\"}",
			  "p.json:1:29: \"unprotect\" must be an array of protected names such as [\".vscode\"], found a string");
}

static void test_read_only_preset_reads_root(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_apply_preset(p, "read-only", NULL), 0);
	assert_int_equal(p->n_entries, 1);
	assert_entry(p, PP_ROOT, "", AB_ACCESS_READ);
	assert_string_equal(p->entries[0].origin, "preset read-only");
	ab_policy_free(p);
}

static void test_workspace_write_preset_writes_cwd_and_temp_dirs(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_apply_preset(p, "workspace-write", NULL), 0);
	assert_int_equal(p->n_entries, 4);
	assert_entry(p, PP_ROOT, "", AB_ACCESS_READ);
	assert_entry(p, PP_CWD, "", AB_ACCESS_WRITE);
	assert_entry(p, PP_SLASH_TMP, "", AB_ACCESS_WRITE);
	assert_entry(p, PP_TMPDIR, "", AB_ACCESS_WRITE);
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy_free(p);
}

static void test_full_access_preset_writes_root(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_apply_preset(p, "full-access", NULL), 0);
	assert_int_equal(p->n_entries, 1);
	assert_entry(p, PP_ROOT, "", AB_ACCESS_WRITE);
	ab_policy_free(p);
}

static void test_later_preset_replaces_same_path(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_apply_preset(p, "workspace-write", NULL), 0);
	assert_int_equal(ab_policy_apply_preset(p, "full-access", NULL), 0);
	assert_int_equal(p->n_entries, 4);
	assert_entry(p, PP_ROOT, "", AB_ACCESS_WRITE);
	assert_string_equal(find_entry(p, PP_ROOT, "")->origin, "preset full-access");
	ab_policy_free(p);
}

static void test_unknown_preset_is_rejected_and_adds_nothing(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_apply_preset(p, "yolo", &err), -EINVAL);
	assert_non_null(strstr(err.message, "unknown policy preset 'yolo'"));
	assert_non_null(strstr(err.message, "workspace-write"));
	assert_int_equal(p->n_entries, 0);
	ab_policy_free(p);
}

/* ---- paths ------------------------------------------------------------ */

static void test_add_path_replaces_earlier_entry_for_same_path(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_add_path(p, "/repo", AB_ACCESS_WRITE, "--write", NULL), 0);
	assert_int_equal(ab_policy_add_path(p, "/other", AB_ACCESS_READ, "--read", NULL), 0);
	assert_int_equal(ab_policy_add_path(p, "//repo/./", AB_ACCESS_NONE, "--deny", NULL), 0);
	assert_int_equal(p->n_entries, 2);
	/* Replacement keeps the entry's place and takes the new origin. */
	assert_string_equal(p->entries[0].path, "/repo");
	assert_int_equal(p->entries[0].access, AB_ACCESS_NONE);
	assert_string_equal(p->entries[0].origin, "--deny");
	ab_policy_free(p);
}

static void test_add_path_normalises_absolute_paths(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_add_path(p, "/a//b/./c/", AB_ACCESS_READ, "x", NULL), 0);
	assert_entry(p, PP_ABSOLUTE, "/a/b/c", AB_ACCESS_READ);
	ab_policy_free(p);
}

static void test_every_special_token_has_its_own_kind(void **state)
{
	static const struct {
		const char *text;
		enum policy_path_kind kind;
		const char *sub;
	} cases[] = {
		{":root", PP_ROOT, ""},
		{":minimal", PP_MINIMAL, ""},
		{":cwd", PP_CWD, ""},
		{":tmpdir", PP_TMPDIR, ""},
		{":slash_tmp", PP_SLASH_TMP, ""},
		{"~", PP_HOME, ""},
		{"~/", PP_HOME, ""},
		{"~/.ssh", PP_HOME, ".ssh"},
		{"~//a/./b/", PP_HOME, "a/b"},
		{"/", PP_ABSOLUTE, "/"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum policy_path_kind kind;
		char *sub = NULL;
		ab_error err = {0};
		if (policy_parse_path(cases[i].text, &kind, &sub, &err) != 0)
			fail_msg("%s: %s", cases[i].text, err.message);
		assert_int_equal(kind, cases[i].kind);
		assert_string_equal(sub, cases[i].sub);
		free(sub);
	}
}

static void test_entry_spelling_round_trips_special_paths(void **state)
{
	static const char *const texts[] = {
		":root", ":minimal", ":cwd", ":tmpdir", ":slash_tmp", "~", "~/x/y", "/a/b",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ab_policy *p = ab_policy_new();
		assert_int_equal(ab_policy_add_path(p, texts[i], AB_ACCESS_READ, "t", NULL), 0);
		char *s = policy_entry_spelling(&p->entries[0]);
		assert_string_equal(s, texts[i]);
		free(s);
		ab_policy_free(p);
	}
}

static void test_bad_paths_are_rejected_with_reason(void **state)
{
	static const struct {
		const char *text;
		const char *reason;
	} cases[] = {
		{"repo/a", "is relative"},
		{"./a", "is relative"},
		{"/a/../b", "contains '..'"},
		{"/a/..", "contains '..'"},
		{"~/../etc", "contains '..'"},
		{":home", "unknown special path ':home'"},
		{"~bob", "not ~user"},
		{"", "empty path"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ab_policy *p = ab_policy_new();
		ab_error err = {0};
		assert_int_equal(ab_policy_add_path(p, cases[i].text, AB_ACCESS_READ, "t", &err),
				 -EINVAL);
		if (!strstr(err.message, cases[i].reason))
			fail_msg("%s: %s", cases[i].text, err.message);
		assert_int_equal(p->n_entries, 0);
		ab_policy_free(p);
	}
}

static void test_dotdot_inside_a_name_is_allowed(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_add_path(p, "/a/..b/c..", AB_ACCESS_READ, "t", NULL), 0);
	assert_entry(p, PP_ABSOLUTE, "/a/..b/c..", AB_ACCESS_READ);
	ab_policy_free(p);
}

static void test_minimal_can_only_be_read(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_add_path(p, ":minimal", AB_ACCESS_WRITE, "t", &err), -EINVAL);
	assert_non_null(strstr(err.message, ":minimal can only be 'read'"));
	assert_int_equal(ab_policy_add_path(p, ":minimal", AB_ACCESS_NONE, "t", &err), -EINVAL);
	assert_int_equal(p->n_entries, 0);
	assert_int_equal(ab_policy_add_path(p, ":minimal", AB_ACCESS_READ, "t", &err), 0);
	assert_entry(p, PP_MINIMAL, "", AB_ACCESS_READ);
	ab_policy_free(p);
}

static void test_access_words_parse(void **state)
{
	ab_access a;
	assert_true(policy_parse_access("read", &a));
	assert_int_equal(a, AB_ACCESS_READ);
	assert_true(policy_parse_access("write", &a));
	assert_int_equal(a, AB_ACCESS_WRITE);
	assert_true(policy_parse_access("none", &a));
	assert_int_equal(a, AB_ACCESS_NONE);
	assert_false(policy_parse_access("rw", &a));
	assert_false(policy_parse_access("Read", &a));
	assert_string_equal(ab_access_name(AB_ACCESS_NONE), "none");
	assert_string_equal(ab_net_name(AB_NET_FULL), "full");
}

/* ---- protect and network ------------------------------------------------ */

static void test_protect_adds_single_component_names_once(void **state)
{
	ab_policy *p = ab_policy_new();
	assert_int_equal(ab_policy_add_protect(p, "node_modules", NULL), 0);
	assert_int_equal(ab_policy_add_protect(p, "node_modules", NULL), 0);
	assert_int_equal(ab_policy_add_protect(p, ".git", NULL), 0);
	assert_int_equal(p->n_protect, n_builtin() + 1);
	assert_true(has_protect(p, "node_modules"));
	ab_policy_free(p);
}

static void test_protect_rejects_paths_dots_and_empty_names(void **state)
{
	static const char *const bad[] = {"a/b", "/x", ".", "..", "", "x/"};
	ab_policy *p = ab_policy_new();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ab_error err = {0};
		assert_int_equal(ab_policy_add_protect(p, bad[i], &err), -EINVAL);
		assert_non_null(strstr(err.message, "single path component"));
	}
	assert_int_equal(ab_policy_add_protect(p, NULL, NULL), -EINVAL);
	assert_int_equal(p->n_protect, n_builtin());
	ab_policy_free(p);
}

static void test_network_setting_round_trips(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_policy_set_network(p, AB_NET_FULL);
	assert_int_equal(ab_policy_network(p), AB_NET_FULL);
	ab_policy_set_network(p, AB_NET_NONE);
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy_free(p);
}

/* ---- JSON: accepted files -------------------------------------------------- */

static void test_json_version_only_changes_nothing(void **state)
{
	ab_policy *p = load_ok("{\"version\": 1}");
	assert_int_equal(p->n_entries, 0);
	assert_int_equal(p->n_protect, n_builtin());
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy_free(p);
}

static void test_json_full_policy_is_applied(void **state)
{
	ab_policy *p = load_ok(
		"{\n"
		"  \"version\": 1,\n"
		"  \"preset\": \"workspace-write\",\n"
		"  \"filesystem\": {\"~/.ssh\": \"none\", \"/repo/docs\": \"read\"},\n"
		"  \"protect\": [\"node_modules\", \".git\"],\n"
		"  \"network\": {\"mode\": \"full\"}\n"
		"}\n");
	assert_int_equal(p->n_entries, 6);
	assert_entry(p, PP_CWD, "", AB_ACCESS_WRITE);
	assert_entry(p, PP_HOME, ".ssh", AB_ACCESS_NONE);
	assert_entry(p, PP_ABSOLUTE, "/repo/docs", AB_ACCESS_READ);
	assert_int_equal(p->n_protect, n_builtin() + 1);
	assert_true(has_protect(p, "node_modules"));
	assert_int_equal(ab_policy_network(p), AB_NET_FULL);
	ab_policy_free(p);
}

static void test_json_origin_is_file_line_column_of_key(void **state)
{
	ab_policy *p = load_ok(
		"{\"version\": 1,\n"
		" \"filesystem\": {\n"
		"   \"/a\": \"read\",\n"
		"\t\"/b\":\"write\", \"/c\": \"none\"}}");
	assert_string_equal(find_entry(p, PP_ABSOLUTE, "/a")->origin, "p.json:3:4");
	assert_string_equal(find_entry(p, PP_ABSOLUTE, "/b")->origin, "p.json:4:2");
	assert_string_equal(find_entry(p, PP_ABSOLUTE, "/c")->origin, "p.json:4:16");
	ab_policy_free(p);
}

static void test_json_entries_keep_file_order(void **state)
{
	ab_policy *p = load_ok(
		"{\"version\": 1, \"filesystem\": {"
		"\"/zeta\": \"read\", \"/alpha\": \"write\", \"/mid\": \"none\", "
		"\"/beta\": \"read\", \":cwd\": \"write\"}}");
	static const char *const order[] = {"/zeta", "/alpha", "/mid", "/beta", ""};
	assert_int_equal(p->n_entries, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(p->entries[i].path, order[i]);
	assert_int_equal(p->entries[4].kind, PP_CWD);
	ab_policy_free(p);
}

static void test_json_later_spelling_of_same_path_replaces_earlier(void **state)
{
	ab_policy *p = load_ok(
		"{\"version\": 1, \"filesystem\": {\"/repo\": \"write\",\n"
		"\"/repo/a\": \"read\",\n"
		"  \"/repo/\": \"none\"}}");
	assert_int_equal(p->n_entries, 2);
	const struct policy_entry *e = find_entry(p, PP_ABSOLUTE, "/repo");
	assert_int_equal(e->access, AB_ACCESS_NONE);
	assert_string_equal(e->origin, "p.json:3:3");
	ab_policy_free(p);
}

static void test_json_preset_applies_before_entries_wherever_written(void **state)
{
	ab_policy *p = load_ok(
		"{\"filesystem\": {\":root\": \"none\", \":cwd\": \"read\"},"
		" \"preset\": \"workspace-write\", \"version\": 1}");
	assert_int_equal(p->n_entries, 4);
	assert_entry(p, PP_ROOT, "", AB_ACCESS_NONE);
	assert_entry(p, PP_CWD, "", AB_ACCESS_READ);
	assert_entry(p, PP_TMPDIR, "", AB_ACCESS_WRITE);
	ab_policy_free(p);
}

static void test_json_layers_on_top_of_existing_policy(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_apply_preset(p, "read-only", NULL), 0);
	assert_int_equal(ab_policy_add_path(p, "/keep", AB_ACCESS_WRITE, "--write", NULL), 0);
	ab_policy_set_network(p, AB_NET_FULL);
	assert_int_equal(ab_policy_load_json(p,
		"{\"version\": 1, \"filesystem\": {\":root\": \"none\", \"/new\": \"read\"}}",
		"p.json", &err), 0);
	assert_int_equal(p->n_entries, 3);
	assert_entry(p, PP_ROOT, "", AB_ACCESS_NONE);
	assert_entry(p, PP_ABSOLUTE, "/keep", AB_ACCESS_WRITE);
	assert_entry(p, PP_ABSOLUTE, "/new", AB_ACCESS_READ);
	/* No "network" key: the earlier setting stays. */
	assert_int_equal(ab_policy_network(p), AB_NET_FULL);
	assert_int_equal(ab_policy_load_json(p,
		"{\"version\": 1, \"network\": {\"mode\": \"none\"}}", "q.json", &err), 0);
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy_free(p);
}

static void test_json_every_special_token_is_accepted(void **state)
{
	ab_policy *p = load_ok(
		"{\"version\": 1, \"filesystem\": {\":root\": \"read\", \":minimal\": \"read\","
		" \":cwd\": \"write\", \":tmpdir\": \"write\", \":slash_tmp\": \"none\","
		" \"~\": \"read\", \"~/.ssh\": \"none\", \"/\": \"read\"}}");
	assert_int_equal(p->n_entries, 8);
	assert_entry(p, PP_ROOT, "", AB_ACCESS_READ);
	assert_entry(p, PP_MINIMAL, "", AB_ACCESS_READ);
	assert_entry(p, PP_CWD, "", AB_ACCESS_WRITE);
	assert_entry(p, PP_TMPDIR, "", AB_ACCESS_WRITE);
	assert_entry(p, PP_SLASH_TMP, "", AB_ACCESS_NONE);
	assert_entry(p, PP_HOME, "", AB_ACCESS_READ);
	assert_entry(p, PP_HOME, ".ssh", AB_ACCESS_NONE);
	assert_entry(p, PP_ABSOLUTE, "/", AB_ACCESS_READ);
	ab_policy_free(p);
}

static void test_json_escaped_keys_are_decoded(void **state)
{
	ab_policy *p = load_ok(
		"{\"version\": 1, \"filesystem\": {\"/caf\\u00e9\": \"read\","
		" \"/a\\/b\": \"write\", \"/x\\ud83d\\ude00\": \"none\"}}");
	assert_entry(p, PP_ABSOLUTE, "/caf\xc3\xa9", AB_ACCESS_READ);
	assert_entry(p, PP_ABSOLUTE, "/a/b", AB_ACCESS_WRITE);
	assert_entry(p, PP_ABSOLUTE, "/x\xf0\x9f\x98\x80", AB_ACCESS_NONE);
	assert_string_equal(find_entry(p, PP_ABSOLUTE, "/a/b")->origin, "p.json:1:53");
	ab_policy_free(p);
}

static void test_json_empty_sections_are_accepted(void **state)
{
	ab_policy *p = load_ok(
		"{\"version\": 1, \"filesystem\": {}, \"protect\": [], \"network\": {}}");
	assert_int_equal(p->n_entries, 0);
	assert_int_equal(p->n_protect, n_builtin());
	ab_policy_free(p);
}

/* ---- JSON: rejected files ---------------------------------------------------- */

static void test_json_syntax_error_uses_parser_position(void **state)
{
	assert_load_error("{\"version\": 1,\n \"filesystem\": {\"/a\": tru}}",
			  "p.json:2:25: invalid JSON: invalid token near 'tru'");
	assert_load_error("{\"version\": 1} x",
			  "p.json:1:16: invalid JSON: end of file expected near 'x'");
	assert_load_error("{\"version\": 1,\n",
			  "p.json:2:1: invalid JSON: string or '}' expected near end of file");
}

static void test_json_empty_text_is_rejected(void **state)
{
	assert_load_error(" \n\t",
			  "p.json:1:1: the policy is empty; the smallest policy is {\"version\": 1}");
}

static void test_json_duplicate_key_points_at_second_key(void **state)
{
	assert_load_error("{\"version\": 1,\n  \"version\": 1}",
			  "p.json:2:3: duplicate key \"version\"; a key may appear only once in an object, keep one of the two");
	assert_load_error("{\"version\": 1, \"filesystem\": {\n"
			  "  \"/a\\\"b\": \"read\",\n"
			  "    \"/a\\\"b\": \"none\"}}",
			  "p.json:3:5: duplicate key \"/a\\\"b\"; a key may appear only once in an object, keep one of the two");
	/* A key ending in an escaped backslash: its closing quote is real. */
	assert_load_error("{\"version\": 1, \"filesystem\": {\"/a\\\\\": \"read\", \"/a\\\\\": \"none\"}}",
			  "p.json:1:47: duplicate key \"/a\\\\\"; a key may appear only once in an object, keep one of the two");
}

static void test_json_top_level_must_be_object(void **state)
{
	assert_load_error("\n  [1, 2]",
			  "p.json:2:3: a policy must be a JSON object such as {\"version\": 1}, found an array");
	assert_load_error("\"hello\"",
			  "p.json:1:1: a policy must be a JSON object such as {\"version\": 1}, found a string");
}

static void test_json_unknown_top_level_key_is_rejected(void **state)
{
	assert_load_error("{\"version\": 1,\n  \"filesytem\": {}}",
			  "p.json:2:3: unknown key \"filesytem\" (known keys: version, preset, filesystem, protect, unprotect, network, git, git_scan_depth, allow_credentials, cache, deny_globs, allow_read, glob_limits, default_secret_globs, env)");
}

/* "deny_globs", "allow_read", "glob_limits", "default_secret_globs"
 * (src/policy/glob_json.c): anchors, origins, limits, and errors placed
 * at the bad value. */
static void test_json_deny_glob_keys(void **state)
{
	ab_policy *p = load_ok("{\"version\": 1, \"deny_globs\": [\"**/.env\", \":cwd/a/*.key\", \"~/n/**\", \"/srv/*.pem\"],\n"
			       " \"allow_read\": [\"tests/x.pem\"], \"glob_limits\": {\"entries\": 10},\n"
			       " \"default_secret_globs\": false}");
	const struct policy_globs *g = &p->globs;
	assert_int_equal(g->n_deny, 4);
	assert_int_equal(g->deny[0].anchor, GLOB_CWD);
	assert_string_equal(g->deny[0].text, "**/.env");
	assert_string_equal(g->deny[0].origin, "p.json deny_globs[0]");
	assert_int_equal(g->deny[1].anchor, GLOB_CWD);
	assert_string_equal(g->deny[1].text, "a/*.key");
	assert_int_equal(g->deny[2].anchor, GLOB_HOME);
	assert_string_equal(g->deny[2].text, "n/**");
	assert_int_equal(g->deny[3].anchor, GLOB_ABSOLUTE);
	assert_int_equal(g->n_allow, 1);
	assert_int_equal(g->allow[0].anchor, GLOB_CWD);
	assert_true(g->limits_set);
	assert_int_equal(g->limits.entries, 10);
	assert_int_equal(g->limits.depth, GLOB_DEPTH_DEFAULT);
	assert_true(g->secrets_set && g->secrets_off);
	ab_policy_free(p);

	assert_load_error("{\"version\": 1,\n \"deny_globs\": [\"ok/*\", \"a/../b/*\"]}",
			  "p.json:2:25: deny pattern 'a/../b/*' (p.json deny_globs[1]) has a '..' component; write the path without it");
	assert_load_error("{\"version\": 1, \"glob_limits\": {\"depth\": 0}}",
			  "p.json:1:41: \"glob_limits\" \"depth\" must be a positive integer");
	assert_load_error("{\"version\": 1, \"default_secret_globs\": \"no\"}",
			  "p.json:1:40: \"default_secret_globs\" must be true or false");
}

static void test_json_version_is_required_and_must_be_1(void **state)
{
	assert_load_error("\n {\"preset\": \"read-only\"}",
			  "p.json:2:2: missing \"version\"; add \"version\": 1 to the top-level object");
	assert_load_error("{\"version\": \"1\"}",
			  "p.json:1:13: \"version\" must be an integer, found a string");
	assert_load_error("{\"version\": 1.0}",
			  "p.json:1:13: \"version\" must be an integer, found a real number");
	assert_load_error("{\n\"version\":2}",
			  "p.json:2:11: unsupported policy version 2; this agentbox reads version 1");
}

static void test_json_preset_must_be_a_known_name(void **state)
{
	assert_load_error("{\"version\": 1, \"preset\": true}",
			  "p.json:1:26: \"preset\" must be a string, found a boolean");
	assert_load_error("{\"version\": 1, \"preset\": \"danger\"}",
			  "p.json:1:26: unknown preset \"danger\" (valid: read-only, workspace-write, full-access)");
}

static void test_json_filesystem_must_be_an_object_of_strings(void **state)
{
	assert_load_error("{\"version\": 1, \"filesystem\": [\"/a\"]}",
			  "p.json:1:30: \"filesystem\" must be an object mapping paths to \"read\", \"write\" or \"none\", found an array");
	assert_load_error("{\"version\": 1, \"filesystem\": {\"/a\": \"read\",\n \"/b\": null}}",
			  "p.json:2:8: filesystem entry \"/b\" must be a string (\"read\", \"write\" or \"none\"), found null");
}

static void test_json_bad_access_word_lists_valid_ones(void **state)
{
	assert_load_error("{\"version\": 1, \"filesystem\": {\n   \"/a\": \"rw\"}}",
			  "p.json:2:10: filesystem entry \"/a\": unknown access \"rw\" (valid: read, write, write+create, none)");
}

static void test_json_relative_path_is_rejected_at_key(void **state)
{
	assert_load_error("{\n  \"version\": 1,\n  \"filesystem\": {\n    \"repo/a\": \"write\"}}",
			  "p.json:4:5: filesystem path \"repo/a\" is relative; policy paths must be absolute, ~/..., or a special path such as :cwd");
}

static void test_json_dotdot_path_is_rejected_at_key(void **state)
{
	assert_load_error("{\"version\": 1, \"filesystem\": {\"/a\": \"read\", \"/a/../b\": \"read\"}}",
			  "p.json:1:45: filesystem path \"/a/../b\" contains \"..\"; write the path without it");
	assert_load_error("{\"version\": 1, \"filesystem\": {\"~/..\": \"read\"}}",
			  "p.json:1:31: filesystem path \"~/..\" contains \"..\"; write the path without it");
}

static void test_json_unknown_special_path_is_rejected_at_key(void **state)
{
	assert_load_error("{\"version\": 1, \"filesystem\": {\":home\": \"read\"}}",
			  "p.json:1:31: filesystem path \":home\" is not a known special path (known: :root, :minimal, :cwd, :tmpdir, :slash_tmp, ~)");
	assert_load_error("{\"version\": 1, \"filesystem\": {\"~bob/x\": \"read\"}}",
			  "p.json:1:31: filesystem path \"~bob/x\": only \"~\" and \"~/...\" are supported, not ~user");
	assert_load_error("{\"version\": 1, \"filesystem\": {\"\": \"read\"}}",
			  "p.json:1:31: filesystem path is empty; write an absolute path, ~/..., or a special path such as :cwd");
}

static void test_json_minimal_must_be_read(void **state)
{
	assert_load_error("{\"version\": 1, \"filesystem\": {\":minimal\": \"write\"}}",
			  "p.json:1:43: \":minimal\" can only be \"read\" (it adds the platform's default read roots), found \"write\"");
}

static void test_json_protect_must_be_array_of_names(void **state)
{
	assert_load_error("{\"version\": 1, \"protect\": \".venv\"}",
			  "p.json:1:27: \"protect\" must be an array of names such as [\"node_modules\"], found a string");
	assert_load_error("{\"version\": 1, \"protect\": [\".venv\", 7]}",
			  "p.json:1:37: \"protect\" entries must be strings, found an integer");
	assert_load_error("{\"version\": 1, \"protect\": [\".venv\", [\"x]\"],\n  \"a/b\"]}",
			  "p.json:1:37: \"protect\" entries must be strings, found an array");
	assert_load_error("{\"version\": 1, \"protect\": [\".venv\", \"ok\",\n  \"a/b\"]}",
			  "p.json:2:3: protected name \"a/b\" must be a single path component such as \".git\" (no \"/\", not \".\" or \"..\")");
	assert_load_error("{\"version\": 1, \"protect\": [\"..\"]}",
			  "p.json:1:28: protected name \"..\" must be a single path component such as \".git\" (no \"/\", not \".\" or \"..\")");
}

static void test_json_network_modes(void **state)
{
	static const struct {
		const char *word;
		ab_net net;
	} modes[] = {{"none", AB_NET_NONE}, {"full", AB_NET_FULL}, {"proxy", AB_NET_PROXY}};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *text = xasprintf("{\"version\": 1, \"network\": {\"mode\": \"%s\"}}", modes[i].word);
		ab_policy *p = load_ok(text);
		assert_int_equal(ab_policy_network(p), modes[i].net);
		assert_true(p->net_set);
		assert_int_equal(p->domains.n_allow + p->domains.n_deny, 0);
		ab_policy_free(p);
		free(text);
	}
	/* An empty section chooses nothing. */
	ab_policy *p = load_ok("{\"version\": 1, \"network\": {}}");
	assert_false(p->net_set);
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy_free(p);
}

static void test_json_network_allow_and_deny_become_domain_rules(void **state)
{
	ab_policy *p = load_ok(
		"{\"version\": 1, \"network\": {\"mode\": \"proxy\",\n"
		"  \"allow\": [\"**.GitHub.com\", \"api.example.com.:443\", \"[2001:DB8::1]:8000-8080\"],\n"
		"  \"deny\": [\"gist.github.com\"]}}");
	assert_int_equal(ab_policy_network(p), AB_NET_PROXY);
	const struct domain_rules *d = &p->domains;
	assert_int_equal(d->n_allow, 3);
	assert_int_equal(d->n_deny, 1);
	assert_string_equal(d->allow[0].text, "**.GitHub.com");
	assert_int_equal(d->allow[0].kind, DOMAIN_APEX_AND_SUB);
	assert_string_equal(d->allow[0].host, "github.com");
	assert_string_equal(d->allow[1].host, "api.example.com");
	assert_int_equal(d->allow[1].port_lo, 443);
	assert_int_equal(d->allow[1].port_hi, 443);
	assert_true(d->allow[2].is_ip);
	assert_string_equal(d->allow[2].host, "2001:db8::1");
	assert_int_equal(d->allow[2].port_lo, 8000);
	assert_int_equal(d->allow[2].port_hi, 8080);
	assert_string_equal(d->deny[0].text, "gist.github.com");

	const struct domain_pattern *rule = NULL;
	assert_int_equal(domain_rules_check(d, "github.com", 443, &rule), DOMAIN_ALLOWED);
	assert_ptr_equal(rule, &d->allow[0]);
	assert_int_equal(domain_rules_check(d, "raw.github.com", 80, NULL), DOMAIN_ALLOWED);
	/* Deny wins over the allow rule that covers it too. */
	assert_int_equal(domain_rules_check(d, "gist.github.com", 443, &rule), DOMAIN_DENIED);
	assert_ptr_equal(rule, &d->deny[0]);
	assert_int_equal(domain_rules_check(d, "api.example.com", 80, NULL), DOMAIN_UNMATCHED);
	assert_int_equal(domain_rules_check(d, "2001:db8::1", 8080, NULL), DOMAIN_ALLOWED);
	assert_int_equal(domain_rules_check(d, "example.org", 443, NULL), DOMAIN_UNMATCHED);
	ab_policy_free(p);
}

static void test_json_network_rules_without_mode_imply_proxy(void **state)
{
	ab_policy *p = load_ok("{\"version\": 1, \"network\": {\"allow\": [\"a.com\"]}}");
	assert_true(p->net_set);
	assert_int_equal(ab_policy_network(p), AB_NET_PROXY);
	assert_int_equal(p->domains.n_allow, 1);
	ab_policy_free(p);
	/* An empty list still says "proxy": ask about every destination. */
	p = load_ok("{\"version\": 1, \"network\": {\"deny\": []}}");
	assert_true(p->net_set);
	assert_int_equal(ab_policy_network(p), AB_NET_PROXY);
	assert_int_equal(p->domains.n_allow + p->domains.n_deny, 0);
	ab_policy_free(p);
}

static void test_json_network_rules_add_to_existing_ones(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_add_domain(p, "first.com", true, &err), 0);
	assert_int_equal(ab_policy_load_json(p,
		"{\"version\": 1, \"network\": {\"allow\": [\"second.com\"], \"deny\": [\"*.second.com\"]}}",
		"p.json", &err), 0);
	assert_int_equal(p->domains.n_allow, 2);
	assert_string_equal(p->domains.allow[0].text, "first.com");
	assert_string_equal(p->domains.allow[1].text, "second.com");
	assert_int_equal(p->domains.n_deny, 1);
	assert_string_equal(p->domains.deny[0].text, "*.second.com");
	assert_int_equal(ab_policy_network(p), AB_NET_PROXY);
	ab_policy_free(p);
}

static void test_json_network_section_errors(void **state)
{
	assert_load_error("{\"version\": 1, \"network\": \"full\"}",
			  "p.json:1:27: \"network\" must be an object such as {\"mode\": \"none\"}, found a string");
	assert_load_error("{\"version\": 1, \"network\": {\"mode\": \"proxy\",\n \"alow\": []}}",
			  "p.json:2:2: unknown key \"alow\" in \"network\" (known keys: mode, allow, deny, allow_unix)");
	assert_load_error("{\"version\": 1, \"network\": {\"mode\": false}}",
			  "p.json:1:36: \"network\".\"mode\" must be a string (\"none\", \"full\" or \"proxy\"), found a boolean");
	assert_load_error("{\"version\": 1, \"network\": {\"mode\": \"sometimes\"}}",
			  "p.json:1:36: unknown network mode \"sometimes\" (valid: none, full, proxy)");
	assert_load_error("{\"version\": 1, \"network\": {\"allow\": \"a.com\"}}",
			  "p.json:1:37: \"network\".\"allow\" must be an array of domain patterns such as [\"**.example.com\"], found a string");
	assert_load_error("{\"version\": 1, \"network\": {\"deny\": [\"a.com\", 7]}}",
			  "p.json:1:46: \"network\".\"deny\" entries must be strings (domain patterns), found an integer");
}

/* "network"."allow_unix": absolute socket paths, any mode, kept with
 * where they were written; the mode stays what it was. */
static void test_json_network_allow_unix(void **state)
{
	(void)state;
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_load_json(p,
		"{\"version\": 1, \"network\": {\"allow_unix\": [\"/run/pg/.s.PGSQL.5432\", \"/a//b/./c.sock\"]}}",
		"p.json", &err), 0);
	assert_int_equal(p->n_allow_unix, 2);
	assert_string_equal(p->allow_unix[0].path, "/run/pg/.s.PGSQL.5432");
	assert_string_equal(p->allow_unix[1].path, "/a/b/c.sock");
	assert_non_null(strstr(p->allow_unix[0].origin, "p.json"));
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy *c = NULL;
	assert_int_equal(policy_clone(p, &c, &err), 0);
	assert_int_equal(c->n_allow_unix, 2);
	assert_string_equal(c->allow_unix[1].path, "/a/b/c.sock");
	ab_policy_free(c);
	ab_policy_free(p);
	assert_load_error("{\"version\": 1, \"network\": {\"allow_unix\": \"/x.sock\"}}",
			  "p.json:1:42: \"network\".\"allow_unix\" must be an array of socket paths such as [\"/run/postgresql/.s.PGSQL.5432\"], found a string");
	assert_load_error("{\"version\": 1, \"network\": {\"allow_unix\": [\"x.sock\"]}}",
			  "p.json:1:43: --allow-unix 'x.sock': the socket's path must be absolute, such as \"$SSH_AUTH_SOCK\" or /run/postgresql/.s.PGSQL.5432");
}

static void test_json_network_rules_conflict_with_mode_none_or_full(void **state)
{
	assert_load_error("{\"version\": 1, \"network\": {\"mode\": \"full\",\n  \"allow\": [\"a.com\"]}}",
			  "p.json:2:3: \"network\".\"allow\" needs \"mode\": \"proxy\" (domain rules are the proxy's), but the mode is \"full\"; use mode \"proxy\" or drop the rules");
	/* Wherever the mode is written, and even with an empty list. */
	assert_load_error("{\"version\": 1, \"network\": {\"deny\": [], \"mode\": \"none\"}}",
			  "p.json:1:28: \"network\".\"deny\" needs \"mode\": \"proxy\" (domain rules are the proxy's), but the mode is \"none\"; use mode \"proxy\" or drop the rules");
}

static void test_json_network_bad_patterns_quote_text_and_reason(void **state)
{
	assert_load_error("{\"version\": 1, \"network\": {\"mode\": \"proxy\", \"allow\": [\"a.com\",\n  \"a*b.com\"]}}",
			  "p.json:2:3: \"network\".\"allow\"[1]: invalid domain pattern 'a*b.com': '*' is allowed only as a leading '*.' (subdomains) or '**.' (the domain and its subdomains), or alone");
	assert_load_error("{\"version\": 1, \"network\": {\"deny\": [\"*\"]}}",
			  "p.json:1:37: \"network\".\"deny\"[0]: invalid deny pattern '*': to refuse every destination use --net none");
	assert_load_error("{\"version\": 1, \"network\": {\"allow\": [\"\"]}}",
			  "p.json:1:38: \"network\".\"allow\"[0]: empty domain pattern");
	assert_load_error("{\"version\": 1, \"network\": {\"allow\": [\"a.com:99999\"]}}",
			  "p.json:1:38: \"network\".\"allow\"[0]: invalid domain pattern 'a.com:99999': '99999' is not a port (1-65535) or a port range LO-HI");
	assert_load_error("{\"version\": 1, \"network\": {\"allow\": [\"a.com:443-80\"]}}",
			  "p.json:1:38: \"network\".\"allow\"[0]: invalid domain pattern 'a.com:443-80': the port range 443-80 runs backwards");
	assert_load_error("{\"version\": 1, \"network\": {\"allow\": [\"2001:db8::1\"]}}",
			  "p.json:1:38: \"network\".\"allow\"[0]: invalid domain pattern '2001:db8::1': write IPv6 addresses in brackets, e.g. [2001:db8::1]:443");
	assert_load_error("{\"version\": 1, \"network\": {\"allow\": [\"**.10.0.0.1\"]}}",
			  "p.json:1:38: \"network\".\"allow\"[0]: invalid domain pattern '**.10.0.0.1': wildcards apply to names, not to IP addresses");
}

static void test_json_network_failure_changes_nothing(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	ab_policy_set_network(p, AB_NET_FULL);
	assert_int_equal(ab_policy_add_domain(p, "kept.com", false, &err), 0);
	/* A bad pattern after good ones. */
	assert_int_equal(ab_policy_load_json(p,
		"{\"version\": 1, \"network\": {\"mode\": \"proxy\", \"allow\": [\"ok.com\"], \"deny\": [\"x.org\", \"bad*\"]}}",
		"p.json", &err), -EINVAL);
	assert_non_null(strstr(err.message, "'bad*'"));
	/* A good network section in a file that fails elsewhere. */
	assert_int_equal(ab_policy_load_json(p,
		"{\"version\": 1, \"network\": {\"allow\": [\"ok.com\"]}, \"filesystem\": {\"rel\": \"read\"}}",
		"p.json", &err), -EINVAL);
	assert_non_null(strstr(err.message, "\"rel\" is relative"));
	assert_int_equal(ab_policy_network(p), AB_NET_FULL);
	assert_int_equal(p->domains.n_allow, 0);
	assert_int_equal(p->domains.n_deny, 1);
	assert_string_equal(p->domains.deny[0].text, "kept.com");
	ab_policy_free(p);
}

/* ---- the proxy's reading of a policy file --------------------------------- */

static char *write_temp(const char *text)
{
	char *path = xstrdup("/tmp/agentbox-test-policy-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_net_policy_appends_the_files_rules(void **state)
{
	char *path = write_temp("{\"version\": 1, \"preset\": \"read-only\",\n"
				" \"network\": {\"mode\": \"proxy\", \"allow\": [\"**.example.com\"], \"deny\": [\"bad.example.com:25\"]}}\n");
	struct domain_rules rules = {0};
	ab_error err = {0};
	assert_int_equal(domain_rules_add(&rules, "first.org", true, &err), 0);
	int r = net_policy_load_file(path, &rules, &err);
	if (r != 0)
		fail_msg("%s", err.message);
	assert_int_equal(rules.n_allow, 2);
	assert_string_equal(rules.allow[0].text, "first.org");
	assert_string_equal(rules.allow[1].text, "**.example.com");
	assert_int_equal(rules.n_deny, 1);
	assert_int_equal(domain_rules_check(&rules, "bad.example.com", 25, NULL), DOMAIN_DENIED);
	assert_int_equal(domain_rules_check(&rules, "bad.example.com", 443, NULL), DOMAIN_ALLOWED);
	domain_rules_free(&rules);
	unlink(path);
	free(path);

	/* No network section: nothing to add, and no error. */
	path = write_temp("{\"version\": 1}");
	assert_int_equal(net_policy_load_file(path, &rules, &err), 0);
	assert_int_equal(rules.n_allow + rules.n_deny, 0);
	unlink(path);
	free(path);
}

static void test_net_policy_errors_leave_rules_unchanged(void **state)
{
	struct domain_rules rules = {0};
	ab_error err = {0};
	assert_int_equal(domain_rules_add(&rules, "first.org", true, &err), 0);

	char *path = write_temp("{\"version\": 1,\n \"network\": {\"allow\": [\"ok.com\", \"[::1\"]}}");
	assert_int_equal(net_policy_load_file(path, &rules, &err), -EINVAL);
	char *want = xasprintf("%s:2:34: \"network\".\"allow\"[1]: invalid domain pattern '[::1': '[' without ']'", path);
	assert_string_equal(err.message, want);
	free(want);
	unlink(path);
	free(path);

	path = write_temp("{\"version\": 1, \"network\": {\"mode\": \"full\"}}");
	assert_int_equal(net_policy_load_file(path, &rules, &err), -EINVAL);
	want = xasprintf("%s: the policy's network mode is \"full\"; agentbox proxy applies the rules of a \"network\" section with \"mode\": \"proxy\" (or no mode)", path);
	assert_string_equal(err.message, want);
	free(want);
	unlink(path);
	free(path);

	assert_int_equal(net_policy_load_file("/nonexistent-agentbox-dir/p.json", &rules, &err), -ENOENT);
	assert_non_null(strstr(err.message, "cannot open policy file /nonexistent-agentbox-dir/p.json"));

	assert_int_equal(rules.n_allow, 1);
	assert_int_equal(rules.n_deny, 0);
	domain_rules_free(&rules);
}

static void test_json_error_columns_count_characters_not_bytes(void **state)
{
	/* "é" is two bytes; the column is counted in characters like jansson's. */
	assert_load_error("{\"version\": 1, \"filesystem\": {\"/\xc3\xa9\": \"rw\"}}",
			  "p.json:1:37: filesystem entry \"/\xc3\xa9\": unknown access \"rw\" (valid: read, write, write+create, none)");
	/* An escaped key is matched after decoding. */
	assert_load_error("{\"version\": 1, \"filesystem\": {\"/\\u00e9\": \"rw\"}}",
			  "p.json:1:42: filesystem entry \"/\xc3\xa9\": unknown access \"rw\" (valid: read, write, write+create, none)");
}

static void test_json_error_skips_nested_values_before_target(void **state)
{
	assert_load_error("{\"version\": 1, \"network\": {\"mode\": \"none\"},\n"
			  " \"protect\": [\"a\"], \"filesystem\": {\"/x\": \"read\", \"/y\": \"write\",\n"
			  "\"/z\":\n\n   {\"a\": [1, {\"b\": \"}]\"}]}}}",
			  "p.json:5:4: filesystem entry \"/z\" must be a string (\"read\", \"write\" or \"none\"), found an object");
}

static void test_json_nothing_is_applied_on_error(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_add_path(p, "/keep", AB_ACCESS_READ, "--read", NULL), 0);
	int r = ab_policy_load_json(p,
		"{\"version\": 1, \"preset\": \"full-access\", \"protect\": [\"node_modules\"],"
		" \"network\": {\"mode\": \"full\"},"
		" \"filesystem\": {\"/keep\": \"none\", \"/new\": \"write\", \"bad\": \"read\"}}",
		"p.json", &err);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err.message, "\"bad\" is relative"));
	assert_int_equal(p->n_entries, 1);
	assert_entry(p, PP_ABSOLUTE, "/keep", AB_ACCESS_READ);
	assert_string_equal(p->entries[0].origin, "--read");
	assert_int_equal(p->n_protect, n_builtin());
	assert_false(has_protect(p, "node_modules"));
	assert_int_equal(ab_policy_network(p), AB_NET_NONE);
	ab_policy_free(p);
}

/* ---- policy files on disk ------------------------------------------------- */

static void test_load_file_reads_a_real_file(void **state)
{
	char path[] = "/tmp/agentbox-test-policy-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "{\n  \"version\": 1,\n  \"filesystem\": {\"/srv\": \"write\"},\n"
			   "  \"network\": {\"mode\": \"full\"}\n}\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	int r = ab_policy_load_file(p, path, &err);
	if (r != 0)
		fail_msg("%s", err.message);
	assert_entry(p, PP_ABSOLUTE, "/srv", AB_ACCESS_WRITE);
	char *want = xasprintf("%s:3:18", path);
	assert_string_equal(p->entries[0].origin, want);
	free(want);
	assert_int_equal(ab_policy_network(p), AB_NET_FULL);
	ab_policy_free(p);
	unlink(path);
}

static void test_load_file_errors_name_the_file(void **state)
{
	char path[] = "/tmp/agentbox-test-policy-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "{\"version\": 1,\n \"filesystem\": {\"x\": \"read\"}}";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_load_file(p, path, &err), -EINVAL);
	char *want = xasprintf("%s:2:17: filesystem path \"x\" is relative", path);
	assert_memory_equal(err.message, want, strlen(want));
	free(want);
	assert_int_equal(p->n_entries, 0);
	ab_policy_free(p);
	unlink(path);
}

static void test_load_file_missing_names_path_errno_and_hint(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	const char *path = "/nonexistent-agentbox-dir/policy.json";
	assert_int_equal(ab_policy_load_file(p, path, &err), -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.message,
		"cannot open policy file /nonexistent-agentbox-dir/policy.json: No such file or directory\nhint: "));
	assert_int_equal(p->n_entries, 0);
	ab_policy_free(p);
}

static void test_load_file_directory_is_rejected_with_hint(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_load_file(p, "/tmp", &err), -EISDIR);
	assert_non_null(strstr(err.message, "cannot open policy file /tmp: Is a directory"));
	assert_non_null(strstr(err.message, "not of its directory"));
	ab_policy_free(p);
}

static void test_load_file_empty_file_is_rejected(void **state)
{
	ab_policy *p = ab_policy_new();
	ab_error err = {0};
	assert_int_equal(ab_policy_load_file(p, "/dev/null", &err), -EINVAL);
	assert_string_equal(err.message,
		"/dev/null:1:1: the policy is empty; the smallest policy is {\"version\": 1}");
	ab_policy_free(p);
}

/* ---- out of memory --------------------------------------------------- */

/* In a probe child: caps the address space a few MiB above what the
 * process uses now, so that the next large allocation fails for real. */
static bool cap_address_space(size_t headroom)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	char line[256];
	unsigned long kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
			break;
	fclose(f);
	if (!kb)
		return false;
	struct rlimit rl = {.rlim_cur = kb * 1024 + headroom, .rlim_max = RLIM_INFINITY};
	return setrlimit(RLIMIT_AS, &rl) == 0;
}

static void uncap_address_space(void)
{
	struct rlimit rl = {.rlim_cur = RLIM_INFINITY, .rlim_max = RLIM_INFINITY};
	setrlimit(RLIMIT_AS, &rl);
}

/* Exit codes of the probes below. */
enum { OOM_OK = 0, OOM_NO_CAP = 2, OOM_NOT_ENOMEM = 3, OOM_NO_MESSAGE = 4, OOM_CHANGED = 5,
       OOM_SETUP = 6, OOM_UNUSABLE = 7 };

/* ab_policy_add_path with a path larger than the memory left: -ENOMEM
 * and the policy as it was, instead of the process ending (it used to
 * abort in xmalloc). */
static int probe_add_path_oom(void *arg)
{
	(void)arg;
	ab_error err = {0};
	ab_policy *p = ab_policy_new();
	if (!p || ab_policy_apply_preset(p, "workspace-write", &err) < 0)
		return OOM_SETUP;
	size_t n_before = p->n_entries;
	size_t len = 64u << 20;
	char *huge = malloc(len + 1);
	if (!huge)
		return OOM_SETUP;
	memset(huge, 'a', len);
	huge[0] = '/';
	huge[len] = '\0';
	if (!cap_address_space(8u << 20))
		return OOM_NO_CAP;
	int r = ab_policy_add_path(p, huge, AB_ACCESS_WRITE, "--write", &err);
	uncap_address_space();
	if (r != -ENOMEM || err.code != ENOMEM) {
		dprintf(2, "ab_policy_add_path returned %d: %s\n", r, err.message);
		return OOM_NOT_ENOMEM;
	}
	if (!strstr(err.message, "out of memory") || !strstr(err.message, "ab_policy_add_path"))
		return OOM_NO_MESSAGE;
	if (p->n_entries != n_before || !find_entry(p, PP_CWD, ""))
		return OOM_CHANGED;
	/* and the policy still works afterwards */
	if (ab_policy_add_path(p, "/srv", AB_ACCESS_READ, "--read", &err) < 0 ||
	    p->n_entries != n_before + 1)
		return OOM_UNUSABLE;
	ab_policy_free(p);
	free(huge);
	return OOM_OK;
}

/* A policy file too large for the memory left: -ENOMEM, and not one of
 * its rules in the policy (they are loaded into a copy that is dropped). */
static int probe_load_json_oom(void *arg)
{
	(void)arg;
	ab_error err = {0};
	ab_policy *p = ab_policy_new();
	if (!p || ab_policy_apply_preset(p, "read-only", &err) < 0)
		return OOM_SETUP;
	size_t n_before = p->n_entries;
	sbuf json = {0};
	sbuf_add(&json, "{\"version\": 1, \"filesystem\": {");
	for (int i = 0; i < 40000; i++)
		sbuf_addf(&json, "%s\"/srv/data/some/rather/long/path/number/%d\": \"write\"",
			  i ? ", " : "", i);
	sbuf_add(&json, "}}");
	if (!cap_address_space(2u << 20))
		return OOM_NO_CAP;
	int r = ab_policy_load_json(p, json.s, "big.json", &err);
	uncap_address_space();
	if (r != -ENOMEM || err.code != ENOMEM) {
		dprintf(2, "ab_policy_load_json returned %d: %s\n", r, err.message);
		return OOM_NOT_ENOMEM;
	}
	if (!strstr(err.message, "out of memory"))
		return OOM_NO_MESSAGE;
	if (p->n_entries != n_before || find_entry(p, PP_ABSOLUTE, "/srv/data/some/rather/long/path/number/0"))
		return OOM_CHANGED;
	ab_policy_free(p);
	sbuf_free(&json);
	return OOM_OK;
}

static void expect_oom_probe_arg(probe_child_fn fn, void *arg, const char *what)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)fn;
	(void)arg;
	print_message("%s: skipped: ASan reserves more address space than RLIMIT_AS lets through\n", what);
	skip();
#else
	int st = probe_child_run(fn, arg);
	if (WIFSIGNALED(st))
		fail_msg("%s: the process was killed by signal %d (%s) instead of getting -ENOMEM",
			 what, WTERMSIG(st), strsignal(WTERMSIG(st)));
	if (WEXITSTATUS(st) == OOM_NO_CAP) {
		print_message("%s: skipped: cannot lower RLIMIT_AS here\n", what);
		skip();
	}
	assert_int_equal(WEXITSTATUS(st), OOM_OK);
#endif
}

static void expect_oom_probe(probe_child_fn fn, const char *what)
{
	expect_oom_probe_arg(fn, NULL, what);
}

static void test_add_path_out_of_memory_is_enomem(void **state)
{
	(void)state;
	expect_oom_probe(probe_add_path_oom, "ab_policy_add_path");
}

static void test_load_json_out_of_memory_is_enomem(void **state)
{
	(void)state;
	expect_oom_probe(probe_load_json_oom, "ab_policy_load_json");
}

/* ab_explain and ab_run on a policy whose one path (48 MiB) cannot be
 * copied again in the memory left: the plan's resolution fails, and that
 * is -ENOMEM from the call, before anything is started (it used to end
 * the process in xmalloc). */
static int probe_run_oom(void *arg)
{
	bool explain = arg != NULL;
	ab_error err = {0};
	ab_policy *p = ab_policy_new();
	if (!p || ab_policy_apply_preset(p, "read-only", &err) < 0)
		return OOM_SETUP;
	size_t len = 48u << 20;
	char *huge = malloc(len + 1);
	if (!huge)
		return OOM_SETUP;
	memset(huge, 'a', len);
	huge[0] = '/';
	huge[len] = '\0';
	if (ab_policy_add_path(p, huge, AB_ACCESS_NONE, "--deny", &err) < 0)
		return OOM_SETUP;
	free(huge);
	ab_run_options o;
	ab_run_options_init(&o);
	o.quiet = true;
	o.backend = AB_BACKEND_LANDLOCK;
	char t[] = "/bin/true";
	char *argv[] = {t, NULL};
	FILE *out = fopen("/dev/null", "we");
	if (!out)
		return OOM_SETUP;
	if (!cap_address_space(8u << 20))
		return OOM_NO_CAP;
	int status = -1;
	int r = explain ? ab_explain(p, &o, argv, true, out, &err) : ab_run(p, &o, argv, &status, &err);
	uncap_address_space();
	fclose(out);
	if (r != -ENOMEM || err.code != ENOMEM) {
		dprintf(2, "%s returned %d: %s\n", explain ? "ab_explain" : "ab_run", r, err.message);
		return OOM_NOT_ENOMEM;
	}
	if (!strstr(err.message, "out of memory"))
		return OOM_NO_MESSAGE;
	if (status != -1)
		return OOM_CHANGED; /* nothing ran */
	ab_policy_free(p);
	return OOM_OK;
}

static void test_explain_out_of_memory_is_enomem(void **state)
{
	(void)state;
	static int explain = 1;
	expect_oom_probe_arg(probe_run_oom, &explain, "ab_explain");
}

static void test_run_out_of_memory_before_start_is_enomem(void **state)
{
	(void)state;
	expect_oom_probe_arg(probe_run_oom, NULL, "ab_run");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_policy_protects_git_and_agentbox_without_network),
		cmocka_unit_test(test_unprotect_removes_one_name),
		cmocka_unit_test(test_read_only_preset_reads_root),
		cmocka_unit_test(test_workspace_write_preset_writes_cwd_and_temp_dirs),
		cmocka_unit_test(test_full_access_preset_writes_root),
		cmocka_unit_test(test_later_preset_replaces_same_path),
		cmocka_unit_test(test_unknown_preset_is_rejected_and_adds_nothing),
		cmocka_unit_test(test_add_path_replaces_earlier_entry_for_same_path),
		cmocka_unit_test(test_add_path_normalises_absolute_paths),
		cmocka_unit_test(test_every_special_token_has_its_own_kind),
		cmocka_unit_test(test_entry_spelling_round_trips_special_paths),
		cmocka_unit_test(test_bad_paths_are_rejected_with_reason),
		cmocka_unit_test(test_dotdot_inside_a_name_is_allowed),
		cmocka_unit_test(test_minimal_can_only_be_read),
		cmocka_unit_test(test_access_words_parse),
		cmocka_unit_test(test_protect_adds_single_component_names_once),
		cmocka_unit_test(test_protect_rejects_paths_dots_and_empty_names),
		cmocka_unit_test(test_network_setting_round_trips),
		cmocka_unit_test(test_json_version_only_changes_nothing),
		cmocka_unit_test(test_json_full_policy_is_applied),
		cmocka_unit_test(test_json_origin_is_file_line_column_of_key),
		cmocka_unit_test(test_json_entries_keep_file_order),
		cmocka_unit_test(test_json_later_spelling_of_same_path_replaces_earlier),
		cmocka_unit_test(test_json_preset_applies_before_entries_wherever_written),
		cmocka_unit_test(test_json_layers_on_top_of_existing_policy),
		cmocka_unit_test(test_json_every_special_token_is_accepted),
		cmocka_unit_test(test_json_escaped_keys_are_decoded),
		cmocka_unit_test(test_json_empty_sections_are_accepted),
		cmocka_unit_test(test_json_syntax_error_uses_parser_position),
		cmocka_unit_test(test_json_empty_text_is_rejected),
		cmocka_unit_test(test_json_duplicate_key_points_at_second_key),
		cmocka_unit_test(test_json_top_level_must_be_object),
		cmocka_unit_test(test_json_unknown_top_level_key_is_rejected),
		cmocka_unit_test(test_json_deny_glob_keys),
		cmocka_unit_test(test_json_version_is_required_and_must_be_1),
		cmocka_unit_test(test_json_preset_must_be_a_known_name),
		cmocka_unit_test(test_json_filesystem_must_be_an_object_of_strings),
		cmocka_unit_test(test_json_bad_access_word_lists_valid_ones),
		cmocka_unit_test(test_json_relative_path_is_rejected_at_key),
		cmocka_unit_test(test_json_dotdot_path_is_rejected_at_key),
		cmocka_unit_test(test_json_unknown_special_path_is_rejected_at_key),
		cmocka_unit_test(test_json_minimal_must_be_read),
		cmocka_unit_test(test_json_protect_must_be_array_of_names),
		cmocka_unit_test(test_json_network_modes),
		cmocka_unit_test(test_json_network_allow_and_deny_become_domain_rules),
		cmocka_unit_test(test_json_network_rules_without_mode_imply_proxy),
		cmocka_unit_test(test_json_network_rules_add_to_existing_ones),
		cmocka_unit_test(test_json_network_section_errors),
		cmocka_unit_test(test_json_network_allow_unix),
		cmocka_unit_test(test_json_network_rules_conflict_with_mode_none_or_full),
		cmocka_unit_test(test_json_network_bad_patterns_quote_text_and_reason),
		cmocka_unit_test(test_json_network_failure_changes_nothing),
		cmocka_unit_test(test_net_policy_appends_the_files_rules),
		cmocka_unit_test(test_net_policy_errors_leave_rules_unchanged),
		cmocka_unit_test(test_json_error_columns_count_characters_not_bytes),
		cmocka_unit_test(test_json_error_skips_nested_values_before_target),
		cmocka_unit_test(test_json_nothing_is_applied_on_error),
		cmocka_unit_test(test_load_file_reads_a_real_file),
		cmocka_unit_test(test_load_file_errors_name_the_file),
		cmocka_unit_test(test_load_file_missing_names_path_errno_and_hint),
		cmocka_unit_test(test_load_file_directory_is_rejected_with_hint),
		cmocka_unit_test(test_load_file_empty_file_is_rejected),
		cmocka_unit_test(test_add_path_out_of_memory_is_enomem),
		cmocka_unit_test(test_load_json_out_of_memory_is_enomem),
		cmocka_unit_test(test_explain_out_of_memory_is_enomem),
		cmocka_unit_test(test_run_out_of_memory_before_start_is_enomem),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
