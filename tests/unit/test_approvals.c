/* The pure parts of the approvals (src/net/approval_table.c,
 * approval_save.c): reply parsing, the question table that deduplicates
 * by (host, protocol, port), session answers, the saved pattern and the
 * policy file merge, on real files in a fresh directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#include "common/util.h"
#include "net/approval_int.h"
#include "probe_child.h"

static int parse(const char *line, uint64_t *id, enum approval_choice *c, const char **why)
{
	*why = NULL;
	return approval_parse_reply(line, strlen(line), id, c, why);
}

static void test_choices(void **state)
{
	(void)state;
	for (int c = AC_ALLOW_ONCE; c <= AC_DENY_ALWAYS; c++)
		assert_int_equal(approval_choice_from_name(approval_choice_name((enum approval_choice)c)), c);
	assert_int_equal(approval_choice_from_name("allow"), AC_NONE);
	assert_int_equal(approval_choice_from_name(""), AC_NONE);
	assert_true(approval_choice_allows(AC_ALLOW_ALWAYS));
	assert_false(approval_choice_allows(AC_DENY_ONCE));
	assert_false(approval_choice_allows(AC_NONE));
}

static void test_parse_reply(void **state)
{
	(void)state;
	uint64_t id = 0;
	enum approval_choice c = AC_NONE;
	const char *why;
	assert_int_equal(parse("{\"id\":7,\"decision\":\"allow_session\"}", &id, &c, &why), 0);
	assert_int_equal(id, 7);
	assert_int_equal(c, AC_ALLOW_SESSION);
	/* Other keys are tolerated: a peer may add its own. */
	assert_int_equal(parse("{\"decision\":\"deny_always\",\"id\":12,\"by\":\"ci\"}", &id, &c, &why), 0);
	assert_int_equal(id, 12);
	assert_int_equal(c, AC_DENY_ALWAYS);

	static const struct {
		const char *line, *why;
	} bad[] = {
		{"not json", "not valid JSON"},
		{"{\"id\":1,\"decision\":\"allow_once\"", "not valid JSON"},
		{"[1, \"allow_once\"]", "not a JSON object"},
		{"{\"decision\":\"allow_once\"}", "\"id\" must be"},
		{"{\"id\":\"1\",\"decision\":\"allow_once\"}", "\"id\" must be"},
		{"{\"id\":0,\"decision\":\"allow_once\"}", "\"id\" must be"},
		{"{\"id\":-3,\"decision\":\"allow_once\"}", "\"id\" must be"},
		{"{\"id\":1.5,\"decision\":\"allow_once\"}", "\"id\" must be"},
		{"{\"id\":1}", "\"decision\" must be a string"},
		{"{\"id\":1,\"decision\":true}", "\"decision\" must be a string"},
		{"{\"id\":1,\"decision\":\"yes\"}", "\"decision\" must be one of"},
		{"{\"id\":1,\"id\":2,\"decision\":\"allow_once\"}", "not valid JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id = 99;
		assert_int_equal(parse(bad[i].line, &id, &c, &why), -EINVAL);
		assert_non_null(why);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)) != 0)
			fail_msg("'%s': got '%s', expected '%s'", bad[i].line, why, bad[i].why);
		assert_int_equal(id, 99);
	}
	/* The length bounds the parse, not a terminator. */
	const char two[] = "{\"id\":3,\"decision\":\"deny_once\"}{\"id\":4}";
	assert_int_equal(approval_parse_reply(two, 31, &id, &c, &why), 0);
	assert_int_equal(id, 3);
	assert_int_equal(c, AC_DENY_ONCE);
}

static void test_table_dedup(void **state)
{
	(void)state;
	struct approval_table t = {0};
	struct approval_key k1, k1b, port, proto;
	approval_key_set(&k1, "example.com", "https_connect", 443);
	approval_key_set(&k1b, "example.com", "https_connect", 443);
	approval_key_set(&port, "example.com", "https_connect", 8443);
	approval_key_set(&proto, "example.com", "socks5_tcp", 443);
	bool created;
	struct question *q1 = approval_table_join(&t, &k1, 101, &created);
	assert_true(created);
	struct question *again = approval_table_join(&t, &k1b, 102, &created);
	assert_false(created);
	assert_ptr_equal(again, q1);
	assert_int_equal(q1->n_waiters, 2);
	struct question *qp = approval_table_join(&t, &port, 103, &created);
	assert_true(created);
	struct question *qq = approval_table_join(&t, &proto, 104, &created);
	assert_true(created);
	assert_true(q1 != qp && q1 != qq && qp != qq);
	assert_true(q1->id != qp->id && qp->id != qq->id && q1->id != qq->id);
	assert_ptr_equal(approval_table_by_id(&t, qp->id), qp);
	assert_null(approval_table_by_id(&t, 424242));
	/* Oldest first: the terminal shows them in that order. */
	assert_ptr_equal(t.questions, q1);
	assert_ptr_equal(q1->next, qp);

	assert_null(approval_table_withdraw(&t, 101)); /* 102 still waits */
	assert_int_equal(q1->n_waiters, 1);
	assert_ptr_equal(approval_table_withdraw(&t, 102), q1);
	assert_null(approval_table_withdraw(&t, 555)); /* nobody */
	uint64_t old_id = q1->id;
	approval_table_unlink(&t, q1);
	question_free(q1);
	assert_ptr_equal(t.questions, qp);
	assert_null(approval_table_by_id(&t, old_id));
	/* Unlinked: the same key opens a new question with a new id. */
	struct question *fresh = approval_table_join(&t, &k1, 105, &created);
	assert_true(created);
	assert_true(fresh->id > qq->id);
	approval_table_free(&t);
	assert_null(t.questions);
}

static void test_session(void **state)
{
	(void)state;
	struct approval_table t = {0};
	struct approval_key http80, conn80, http81, other;
	approval_key_set(&http80, "example.com", "http", 80);
	approval_key_set(&conn80, "example.com", "https_connect", 80);
	approval_key_set(&http81, "example.com", "http", 81);
	approval_key_set(&other, "example.org", "http", 80);
	assert_null(approval_session_get(&t, &http80));

	approval_session_set(&t, &http80, false, true, "allow_session earlier");
	const struct session_entry *e = approval_session_get(&t, &http80);
	assert_non_null(e);
	assert_true(e->allow);
	assert_string_equal(e->reason, "allow_session earlier");
	/* Scoped to the protocol and the port, like the questions. */
	assert_null(approval_session_get(&t, &conn80));
	assert_null(approval_session_get(&t, &http81));
	assert_null(approval_session_get(&t, &other));

	/* An "always" answer covers every protocol on that host:port, as the
	 * saved HOST:PORT rule would, and overrides the opposite answer. */
	approval_session_set(&t, &conn80, true, false, "deny_always earlier");
	e = approval_session_get(&t, &http80);
	assert_non_null(e);
	assert_false(e->allow);
	e = approval_session_get(&t, &conn80);
	assert_non_null(e);
	assert_false(e->allow);
	assert_null(approval_session_get(&t, &http81));

	/* Same key again: replaced, not added. */
	approval_session_set(&t, &http81, false, false, "one");
	approval_session_set(&t, &http81, false, true, "two");
	e = approval_session_get(&t, &http81);
	assert_true(e->allow);
	assert_string_equal(e->reason, "two");
	size_t n = 0;
	for (e = t.session; e; e = e->next)
		n++;
	assert_int_equal(n, 2);
	approval_table_free(&t);
}

static void test_pattern(void **state)
{
	(void)state;
	char *p = approval_pattern("example.com", 443);
	assert_string_equal(p, "example.com:443");
	free(p);
	p = approval_pattern("2001:db8::1", 8080);
	assert_string_equal(p, "[2001:db8::1]:8080");
	free(p);
	p = approval_pattern("192.0.2.7", 22);
	assert_string_equal(p, "192.0.2.7:22");
	/* What is saved must load back as a rule covering the destination. */
	struct domain_rules r = {0};
	ab_error err = {0};
	assert_int_equal(domain_rules_add(&r, p, true, &err), 0);
	const struct domain_pattern *rule;
	assert_int_equal(domain_rules_check(&r, "192.0.2.7", 22, &rule), DOMAIN_ALLOWED);
	assert_int_equal(domain_rules_check(&r, "192.0.2.7", 23, &rule), DOMAIN_UNMATCHED);
	domain_rules_free(&r);
	free(p);
}

/* ---- saving, on real files */

static char *tmpdir_new(void)
{
	char *d = xstrdup("/tmp/ab-test-approvals.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void tmpdir_free(char *d)
{
	DIR *dir = opendir(d);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			_cleanup_free_ char *p = path_join(d, de->d_name);
			unlink(p);
		}
	}
	if (dir)
		closedir(dir);
	rmdir(d);
	free(d);
}

static size_t dir_entries(const char *d)
{
	DIR *dir = opendir(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dir)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(dir);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	sbuf b = {0};
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_addn(&b, buf, n);
	fclose(f);
	return b.s ? b.s : xstrdup("");
}

/* The strings of network.<key>, joined by spaces. */
static char *list_text(json_t *root, const char *key)
{
	json_t *l = json_object_get(json_object_get(root, "network"), key);
	sbuf b = {0};
	size_t i;
	json_t *v;
	sbuf_add(&b, "");
	json_array_foreach(l, i, v) {
		if (i)
			sbuf_add(&b, " ");
		sbuf_add(&b, json_string_value(v));
	}
	return b.s;
}

static void test_save_new_file(void **state)
{
	(void)state;
	char *d = tmpdir_new();
	_cleanup_free_ char *path = path_join(d, "policy.json");
	ab_error err = {0};
	bool changed = false;
	assert_int_equal(approval_save(path, "example.com:443", true, &changed, &err), 0);
	assert_true(changed);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "network"), "mode")),
			    "proxy");
	_cleanup_free_ char *allow = list_text(root, "allow");
	assert_string_equal(allow, "example.com:443");
	assert_null(json_object_get(json_object_get(root, "network"), "deny"));
	json_decref(root);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* No temporary file left behind. */
	assert_int_equal(dir_entries(d), 1);
	_cleanup_free_ char *text = read_file(path);
	assert_true(text[strlen(text) - 1] == '\n');
	/* Versioned, first, and indented: a policy file a person can read
	 * and --policy-file accepts as it is. */
	const char *head = "{\n  \"version\": 1,\n  \"network\": {\n    ";
	assert_true(strncmp(text, head, strlen(head)) == 0);
	ab_policy *pol = ab_policy_new();
	assert_non_null(pol);
	assert_int_equal(ab_policy_load_file(pol, path, &err), 0);
	ab_policy_free(pol);
	tmpdir_free(d);
}

/* A file that lacked "version" (so --policy-file refused it) gets it in
 * front, the rest in its order. */
static void test_save_adds_missing_version(void **state)
{
	(void)state;
	char *d = tmpdir_new();
	_cleanup_free_ char *path = path_join(d, "policy.json");
	write_file(path, "{\"preset\": \"workspace-write\", \"network\": {\"mode\": \"proxy\", \"allow\": [\"a.example\"]}}\n");
	ab_error err = {0};
	bool changed;
	/* already there: written all the same, for the version */
	assert_int_equal(approval_save(path, "a.example", true, &changed, &err), 0);
	assert_true(changed);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	void *it = json_object_iter(root);
	assert_string_equal(json_object_iter_key(it), "version");
	assert_int_equal(json_integer_value(json_object_iter_value(it)), 1);
	it = json_object_iter_next(root, it);
	assert_string_equal(json_object_iter_key(it), "preset");
	it = json_object_iter_next(root, it);
	assert_string_equal(json_object_iter_key(it), "network");
	_cleanup_free_ char *allow = list_text(root, "allow");
	assert_string_equal(allow, "a.example");
	json_decref(root);
	ab_policy *pol = ab_policy_new();
	assert_int_equal(ab_policy_load_file(pol, path, &err), 0);
	ab_policy_free(pol);
	tmpdir_free(d);
}

static void test_save_merge_keeps_keys(void **state)
{
	(void)state;
	char *d = tmpdir_new();
	_cleanup_free_ char *path = path_join(d, "policy.json");
	write_file(path, "{\"version\": 1, \"preset\": \"workspace-write\",\n"
			 " \"filesystem\": {\"/srv\": \"read\"},\n"
			 " \"network\": {\"allow\": [\"a.example:1\"], \"deny\": [\"b.example:2\", \"c.example:3\"]}}\n");
	chmod(path, 0600);
	ab_error err = {0};
	bool changed;
	assert_int_equal(approval_save(path, "c.example:3", true, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(approval_save(path, "[2001:db8::1]:443", false, &changed, &err), 0);
	assert_true(changed);
	/* The same answer again changes nothing. */
	assert_int_equal(approval_save(path, "c.example:3", true, &changed, &err), 0);
	assert_false(changed);
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(root, "preset")), "workspace-write");
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "filesystem"), "/srv")),
			    "read");
	_cleanup_free_ char *allow = list_text(root, "allow");
	_cleanup_free_ char *deny = list_text(root, "deny");
	/* Allowed now: gone from the deny list, added once to allow. */
	assert_string_equal(allow, "a.example:1 c.example:3");
	assert_string_equal(deny, "b.example:2 [2001:db8::1]:443");
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "network"), "mode")),
			    "proxy");
	/* Key order kept: the user's file still reads the same way. */
	const char *first = json_object_iter_key(json_object_iter(root));
	assert_string_equal(first, "version");
	json_decref(root);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(dir_entries(d), 1);
	tmpdir_free(d);
}

/* A symbolic link at the save file, or on the way to it, is refused (issue
 * #14): a sandboxed command that planted one would have the answer
 * written over the link's target, outside every writable root. */
static void test_save_symlink_refused(void **state)
{
	(void)state;
	char *d = tmpdir_new();
	_cleanup_free_ char *real = path_join(d, "real.json");
	_cleanup_free_ char *link = path_join(d, "link.json");
	const char *content = "{\"network\": {\"mode\": \"proxy\"}}";
	write_file(real, content);
	assert_int_equal(symlink("real.json", link), 0);
	ab_error err = {0};
	bool changed = true;
	assert_int_equal(approval_save(link, "x.example:80", true, &changed, &err), -ELOOP);
	assert_false(changed);
	assert_non_null(strstr(err.message, link));
	assert_non_null(strstr(err.message, "symbolic link"));
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	_cleanup_free_ char *text = read_file(real);
	assert_string_equal(text, content);

	/* a dangling link (the file "does not exist yet") is no better */
	_cleanup_free_ char *dangling = path_join(d, "dangling.json");
	_cleanup_free_ char *victim = path_join(d, "victim.json");
	assert_int_equal(symlink("victim.json", dangling), 0);
	assert_int_equal(approval_save(dangling, "x.example:80", true, NULL, &err), -ELOOP);
	assert_int_equal(lstat(victim, &st), -1);

	/* a linked directory on the way */
	_cleanup_free_ char *sub = path_join(d, "sub");
	_cleanup_free_ char *sublink = path_join(d, "sublink");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(symlink("sub", sublink), 0);
	_cleanup_free_ char *via = path_join(sublink, "p.json");
	assert_int_equal(approval_save(via, "x.example:80", true, NULL, &err), -ELOOP);
	_cleanup_free_ char *inside = path_join(sub, "p.json");
	assert_int_equal(lstat(inside, &st), -1);
	assert_int_equal(dir_entries(sub), 0);

	/* the real path works, and leaves no temporary file */
	assert_int_equal(approval_save(real, "x.example:80", true, &changed, &err), 0);
	assert_true(changed);
	_cleanup_free_ char *after = read_file(real);
	assert_non_null(strstr(after, "x.example:80"));
	assert_int_equal(dir_entries(d), 5);
	tmpdir_free(d);
}

/* A file that cannot take the answer is left exactly as it was. */
static void expect_refused(const char *content, const char *message_part)
{
	char *d = tmpdir_new();
	_cleanup_free_ char *path = path_join(d, "policy.json");
	write_file(path, content);
	ab_error err = {0};
	bool changed = true;
	assert_int_equal(approval_save(path, "x.example:80", true, &changed, &err), -EINVAL);
	assert_false(changed);
	if (!strstr(err.message, message_part) || !strstr(err.message, path))
		fail_msg("'%s': message '%s' lacks '%s' or the path", content, err.message, message_part);
	_cleanup_free_ char *after = read_file(path);
	assert_string_equal(after, content);
	assert_int_equal(dir_entries(d), 1);
	tmpdir_free(d);
}

static void test_save_refusals(void **state)
{
	(void)state;
	expect_refused("{\"network\": ", "left as it is");
	expect_refused("[1, 2]", "not a JSON object");
	expect_refused("{\"network\": \"proxy\"}", "\"network\" is not a JSON object");
	expect_refused("{\"network\": {\"allow\": \"x\"}}", "\"network\".\"allow\" is not a list");
	expect_refused("{\"network\": {\"mode\": \"none\"}}", "\"mode\" is not \"proxy\"");
	expect_refused("{\"a\": 1, \"a\": 2}", "left as it is");

	ab_error err = {0};
	assert_true(approval_save("/nonexistent-dir-ab/policy.json", "x.example:80", true, NULL, &err) < 0);
	assert_non_null(strstr(err.message, "/nonexistent-dir-ab/policy.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_table_dedup),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_save_new_file),
		cmocka_unit_test(test_save_merge_keeps_keys),
		cmocka_unit_test(test_save_adds_missing_version),
		cmocka_unit_test(test_save_symlink_refused),
		cmocka_unit_test(test_save_refusals),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
