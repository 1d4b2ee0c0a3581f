/* Configuration layers (cli/config_stack.c, policy/layer.c): how layers
 * merge, the widening classifier (config/widen.c) on real directories,
 * and `agentbox config` output (config/config_print.c) round-tripping
 * through the policy loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/config_stack.h"
#include "common/util.h"
#include "config/config_print.h"
#include "config/widen.h"
#include "policy/layer.h"
#include "policy/policy.h"

static struct policy_layer layer(const char *text, const char *source)
{
	struct policy_layer l = {0};
	ab_error err;
	int r = policy_layer_parse(text, strlen(text), source, &l, &err);
	if (r < 0)
		fail_msg("%s", err.message);
	return l;
}

static const struct policy_entry *entry(const ab_policy *p, enum policy_path_kind kind,
					const char *path)
{
	for (size_t i = 0; i < p->n_entries; i++)
		if (p->entries[i].kind == kind && strcmp(p->entries[i].path, path) == 0)
			return &p->entries[i];
	return NULL;
}

static bool protects(const ab_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_protect; i++)
		if (strcmp(p->protect[i], name) == 0)
			return true;
	return false;
}

static void test_preset_is_last_wins_and_rules_replace_by_path(void **state)
{
	(void)state;
	struct policy_layer u = layer("{\"version\":1,\"preset\":\"workspace-write\","
				      "\"filesystem\":{\"/a\":\"write\",\"/b\":\"read\"}}", "user config U");
	struct policy_layer p = layer("{\"version\":1,\"preset\":\"read-only\","
				      "\"filesystem\":{\"/a\":\"read\"}}", "project file P");
	const struct policy_layer *ls[] = {&u, &p};
	const char *preset, *from;
	ab_policy *pol = cli_config_compose(ls, 2, NULL, false, &preset, &from);
	assert_string_equal(preset, "read-only");
	assert_string_equal(from, "project file P");
	/* the user's preset is gone entirely, not only where read-only
	 * names the same special paths */
	assert_null(entry(pol, PP_CWD, ""));
	const struct policy_entry *a = entry(pol, PP_ABSOLUTE, "/a");
	assert_non_null(a);
	assert_int_equal(a->access, AB_ACCESS_READ);
	assert_string_equal(a->origin, "project file P:1:49");
	const struct policy_entry *b = entry(pol, PP_ABSOLUTE, "/b");
	assert_non_null(b);
	assert_true(strncmp(b->origin, "user config U:", 14) == 0);
	assert_string_equal(entry(pol, PP_ROOT, "")->origin, "preset read-only (project file P)");
	ab_policy_free(pol);

	/* a --policy flag beats every file's preset */
	pol = cli_config_compose(ls, 2, "workspace-write", false, &preset, &from);
	assert_string_equal(from, "--policy");
	assert_non_null(entry(pol, PP_CWD, ""));
	ab_policy_free(pol);
	policy_layer_free(&u);
	policy_layer_free(&p);
}

static void test_builtin_default_only_when_nothing_names_a_preset(void **state)
{
	(void)state;
	const char *preset, *from;
	ab_policy *pol = cli_config_compose(NULL, 0, NULL, false, &preset, &from);
	assert_string_equal(preset, "read-only");
	assert_string_equal(from, "built-in default");
	assert_non_null(entry(pol, PP_ROOT, ""));
	ab_policy_free(pol);
	/* a --policy-file without a preset starts from nothing */
	struct policy_layer f = layer("{\"version\":1,\"filesystem\":{\":minimal\":\"read\"}}", "f.json");
	const struct policy_layer *ls[] = {&f};
	pol = cli_config_compose(ls, 1, NULL, true, &preset, &from);
	assert_null(preset);
	assert_null(entry(pol, PP_ROOT, ""));
	assert_non_null(entry(pol, PP_MINIMAL, ""));
	ab_policy_free(pol);
	policy_layer_free(&f);
}

static void test_lists_accumulate_and_mode_is_last_wins(void **state)
{
	(void)state;
	struct policy_layer u = layer("{\"version\":1,\"protect\":[\"secrets\"],"
				      "\"network\":{\"mode\":\"proxy\",\"allow\":[\"a.example\"],\"deny\":[\"b.example\"]}}",
				      "user config U");
	struct policy_layer p = layer("{\"version\":1,\"unprotect\":[\".vscode\"],"
				      "\"network\":{\"allow\":[\"c.example\"],\"deny\":[\"d.example\"]}}",
				      "project file P");
	struct policy_layer f = layer("{\"version\":1,\"network\":{\"mode\":\"none\"}}", "f.json");
	const struct policy_layer *ls[] = {&u, &p, &f};
	ab_policy *pol = cli_config_compose(ls, 2, NULL, false, NULL, NULL);
	assert_int_equal(pol->domains.n_allow, 2);
	assert_int_equal(pol->domains.n_deny, 2);
	assert_string_equal(pol->domains.allow[1].text, "c.example");
	assert_string_equal(pol->domains.deny[0].text, "b.example");
	assert_int_equal(pol->net, AB_NET_PROXY);
	assert_true(protects(pol, "secrets"));
	assert_false(protects(pol, ".vscode"));
	assert_true(protects(pol, ".git"));
	ab_policy_free(pol);
	pol = cli_config_compose(ls, 3, NULL, false, NULL, NULL);
	assert_int_equal(pol->net, AB_NET_NONE);
	ab_policy_free(pol);
	policy_layer_free(&u);
	policy_layer_free(&p);
	policy_layer_free(&f);
}

/* ---- the classifier, on a real directory ---------------------------- */

struct tree {
	char dir[64];
};

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/ab-layers-XXXXXX");
	if (!t || !mkdtemp(t->dir))
		return -1;
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/sub", t->dir);
	mkdir(sub, 0755);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/sub", t->dir);
	rmdir(sub);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* `text` with every "DIR" replaced by dir. */
static char *with_dir(const char *text, const char *dir)
{
	sbuf b = {0};
	for (const char *s = text; *s;) {
		if (strncmp(s, "DIR", 3) == 0) {
			sbuf_add(&b, dir);
			s += 3;
		} else {
			sbuf_addn(&b, s++, 1);
		}
	}
	return b.s;
}

/* The widenings of `project` over `user` (texts with DIR for the tree). */
static size_t widenings(const struct tree *t, const char *user_fmt, const char *project_fmt,
			strv *out)
{
	_cleanup_free_ char *ut = with_dir(user_fmt, t->dir);
	_cleanup_free_ char *pt = with_dir(project_fmt, t->dir);
	struct policy_layer u = layer(ut, "user config U"), p = layer(pt, "project file P");
	const struct policy_layer *ls[] = {&u, &p};
	ab_policy *without = cli_config_compose(ls, 1, NULL, false, NULL, NULL);
	ab_policy *with = cli_config_compose(ls, 2, NULL, false, NULL, NULL);
	ab_error err;
	if (config_widenings(without, with, t->dir, out, &err) < 0)
		fail_msg("%s", err.message);
	ab_policy_free(without);
	ab_policy_free(with);
	policy_layer_free(&u);
	policy_layer_free(&p);
	return out->n;
}

static void test_narrowing_is_no_widening(void **state)
{
	const struct tree *t = *state;
	strv w = {0};
	/* deny more, read-only instead of writable, protect more, less
	 * network, a narrower preset */
	assert_int_equal(widenings(t,
				   "{\"version\":1,\"preset\":\"workspace-write\",\"filesystem\":{\"DIR\":\"write\"},\"network\":{\"mode\":\"full\"}}",
				   "{\"version\":1,\"preset\":\"read-only\",\"filesystem\":{\"DIR/sub\":\"none\"},"
				   "\"protect\":[\"build\"],\"network\":{\"mode\":\"proxy\",\"allow\":[\"x.example\"]}}",
				   &w), 0);
	strv_free(&w);
}

static void test_each_widening_is_named(void **state)
{
	const struct tree *t = *state;
	strv w = {0};
	assert_int_equal(widenings(t, "{\"version\":1,\"filesystem\":{\"DIR/sub\":\"none\"}}",
				   "{\"version\":1,\"filesystem\":{\"DIR/sub\":\"write\"}}", &w), 1);
	_cleanup_free_ char *want = xasprintf("%s/sub becomes writable (without the project file: hidden), by project file P:1:28", t->dir);
	assert_true(strncmp(w.v[0], want, strlen(want)) == 0);
	strv_free(&w);

	assert_int_equal(widenings(t, "{\"version\":1,\"network\":{\"mode\":\"proxy\",\"allow\":[\"a.example\"]}}",
				   "{\"version\":1,\"network\":{\"allow\":[\"b.example\"]}}", &w), 1);
	assert_string_equal(w.v[0], "allows the domain b.example");
	strv_free(&w);

	assert_int_equal(widenings(t, "{\"version\":1}", "{\"version\":1,\"network\":{\"mode\":\"full\"}}", &w), 1);
	assert_string_equal(w.v[0], "network mode full (without the project file: none)");
	strv_free(&w);

	/* a wider preset shows as the paths it opens */
	assert_true(widenings(t, "{\"version\":1}", "{\"version\":1,\"preset\":\"full-access\"}", &w) >= 1);
	assert_true(strncmp(w.v[0], "/ becomes writable (without the project file: read-only)", 56) == 0);
	strv_free(&w);

	assert_int_equal(widenings(t, "{\"version\":1}", "{\"version\":1,\"unprotect\":[\".envrc\"]}", &w), 1);
	assert_true(strncmp(w.v[0], "unprotects .envrc", 17) == 0);
	strv_free(&w);
}

static void test_config_output_round_trips(void **state)
{
	(void)state;
	struct policy_layer u = layer("{\"version\":1,\"preset\":\"workspace-write\",\"protect\":[\"secrets\"],"
				      "\"unprotect\":[\".idea\"],\"filesystem\":{\"~/x\":\"none\",\"/opt\":\"write\"},"
				      "\"network\":{\"mode\":\"proxy\",\"allow\":[\"**.example.com:443\"],\"deny\":[\"bad.example.com\"]}}",
				      "user config U");
	const struct policy_layer *ls[] = {&u};
	const char *preset;
	ab_policy *pol = cli_config_compose(ls, 1, NULL, false, &preset, NULL);
	sbuf first = {0}, second = {0};
	config_print_json(pol, preset, &first);
	struct policy_layer again = layer(first.s, "printed");
	const struct policy_layer *ls2[] = {&again};
	const char *preset2;
	ab_policy *pol2 = cli_config_compose(ls2, 1, NULL, true, &preset2, NULL);
	config_print_json(pol2, preset2, &second);
	assert_string_equal(first.s, second.s);
	assert_non_null(strstr(first.s, "\"unprotect\": [\".idea\"]"));
	assert_non_null(strstr(first.s, "\"~/x\": \"none\""));
	sbuf_free(&first);
	sbuf_free(&second);
	ab_policy_free(pol);
	ab_policy_free(pol2);
	policy_layer_free(&u);
	policy_layer_free(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preset_is_last_wins_and_rules_replace_by_path),
		cmocka_unit_test(test_builtin_default_only_when_nothing_names_a_preset),
		cmocka_unit_test(test_lists_accumulate_and_mode_is_last_wins),
		cmocka_unit_test_setup_teardown(test_narrowing_is_no_widening, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_widening_is_named, setup, teardown),
		cmocka_unit_test(test_config_output_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
