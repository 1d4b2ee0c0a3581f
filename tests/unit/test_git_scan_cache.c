/* The nested-repository scan's cache (src/plan/git_scan_cache.c,
 * src/plan/dir_cache.c) on a real tree: the key, a record saved and
 * reused while nothing changed, refused when a listed directory gained a
 * .git, when a directory recorded without its listing changed at all,
 * when a directory was replaced by another of the same name, when the
 * file is not agentbox's own or incomplete; the settle window; and, end
 * to end through plan_resolve, a repository created after the cache was
 * written is found. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "plan/git_scan_cache.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "probe_child.h"
#include "tree_fixture.h"

/* A record of the directory `rel`; `listed`: with its listing digest. */
static void add_seen(struct git_scan_record *r, const char *rel, bool listed)
{
	struct stat st;
	assert_int_equal(lstat(P(rel), &st), 0);
	grow_array((void **)&r->seen, &r->cap_seen, r->n_seen + 1, sizeof(*r->seen));
	r->seen[r->n_seen] = cache_dir_from_stat(P(rel), &st);
	if (listed)
		assert_int_equal(cache_dir_digest(P(rel), st.st_dev, st.st_ino, r->seen[r->n_seen].digest), 0);
	r->n_seen++;
}

/* w (listed) holding the repository w/r, w/r (listed), w/leaf (recorded
 * without its listing, as the deepest level is). */
static void tree(void)
{
	mkdirs("state");
	mkdirs("w/r/.git");
	mkdirs("w/leaf");
}

/* Saves the record of tree(); `start`: when the walk began (times
 * fresher than two seconds before it are not trusted). */
static void save(const char *key, long long start)
{
	struct git_scan_record r = {.dirs = 3, .entries = 3};
	add_seen(&r, "w", true);
	add_seen(&r, "w/r", true);
	add_seen(&r, "w/leaf", false);
	struct stat st;
	assert_int_equal(lstat(P("w/r"), &st), 0);
	grow_array((void **)&r.found, &r.cap_found, 1, sizeof(*r.found));
	r.found[r.n_found++] = (struct git_scan_found){
		.path = xstrdup(P("w/r")), .level = 1, .dev = st.st_dev, .ino = st.st_ino};
	git_scan_cache_save(P("state"), key, &r, start);
	git_scan_record_free(&r);
}

static bool load(const char *key)
{
	struct git_scan_record r = {0};
	bool ok = git_scan_cache_load(P("state"), key, &r);
	if (ok) {
		assert_int_equal(r.n_found, 1);
		assert_string_equal(r.found[0].path, P("w/r"));
		assert_int_equal(r.found[0].level, 1);
		assert_int_equal(r.dirs, 3);
		assert_int_equal(r.n_seen, 3);
	} else {
		assert_int_equal(r.n_seen + r.n_found, 0);
	}
	git_scan_record_free(&r);
	return ok;
}

static const char *key_of(const char *root, char out[65])
{
	git_scan_cache_key(root, 4, 200000, 3000, out);
	return out;
}

/* as if the walk began well after the tree was made: times trusted */
#define SETTLED ((long long)time(NULL) + 10)

static void test_key_covers_root_depth_and_bounds(void **state)
{
	(void)state;
	char a[65], b[65];
	git_scan_cache_key("/w", 4, 200000, 3000, a);
	git_scan_cache_key("/w", 4, 200000, 3000, b);
	assert_string_equal(a, b);
	git_scan_cache_key("/v", 4, 200000, 3000, b);
	assert_string_not_equal(a, b);
	git_scan_cache_key("/w", 5, 200000, 3000, b);
	assert_string_not_equal(a, b);
	git_scan_cache_key("/w", 4, 100, 3000, b);
	assert_string_not_equal(a, b);
	git_scan_cache_key("/w", 4, 200000, 10, b);
	assert_string_not_equal(a, b);
}

static void test_reused_while_unchanged(void **state)
{
	(void)state;
	char key[65];
	tree();
	save(key_of(P("w"), key), SETTLED);
	assert_true(load(key));
	char other[65];
	assert_false(load(key_of(P("v"), other)));
}

static void test_refused_when_a_repository_appears(void **state)
{
	(void)state;
	char key[65];
	tree();
	save(key_of(P("w"), key), SETTLED);
	mkdirs("w/new/.git");
	assert_false(load(key));
}

static void test_refused_when_an_unlisted_directory_changes(void **state)
{
	(void)state;
	char key[65];
	tree();
	save(key_of(P("w"), key), SETTLED);
	mkfile("w/leaf/.git", "gitdir: /elsewhere\n");
	assert_false(load(key));
}

static void test_refused_when_a_directory_is_replaced(void **state)
{
	(void)state;
	char key[65];
	tree();
	save(key_of(P("w"), key), SETTLED);
	/* w/r swapped for another directory of the same name and listing:
	 * only its identity tells */
	assert_int_equal(rename(P("w/r"), P("old-r")), 0);
	mkdirs("w/r/.git");
	assert_false(load(key));
}

static void test_settle_window(void **state)
{
	(void)state;
	char key[65];
	tree();
	/* fresh times: not trusted, the listing is compared */
	save(key_of(P("w"), key), (long long)time(NULL));
	/* the listed ones: times moved, listing the same: reused ... */
	mkfile("w/r/tmp", "");
	assert_int_equal(unlink(P("w/r/tmp")), 0);
	struct git_scan_record r = {0};
	bool ok = git_scan_cache_load(P("state"), key, &r);
	/* ... but w/leaf, recorded without its listing and too fresh to
	 * trust its times, refuses it */
	assert_false(ok);
	git_scan_record_free(&r);

	/* times trusted: the same change in a listed directory is allowed
	 * (agentbox's placeholders come and go), the leaf unchanged */
	save(key, SETTLED);
	mkfile("w/tmp", "");
	assert_int_equal(unlink(P("w/tmp")), 0);
	assert_true(load(key));
}

static void test_unsafe_or_incomplete_file_refused(void **state)
{
	(void)state;
	char key[65];
	tree();
	save(key_of(P("w"), key), SETTLED);
	_cleanup_free_ char *file = xasprintf("%s/git-scan-%.32s.cache", P("state"), key);
	assert_true(load(key));
	assert_int_equal(chmod(file, 0666), 0);
	assert_false(load(key));
	assert_int_equal(chmod(file, 0600), 0);
	assert_true(load(key));
	/* a link in its place is not followed */
	_cleanup_free_ char *moved = xasprintf("%s.real", file);
	assert_int_equal(rename(file, moved), 0);
	assert_int_equal(symlink(moved, file), 0);
	assert_false(load(key));
	assert_int_equal(unlink(file), 0);
	/* cut short before its "end" line */
	assert_int_equal(truncate(moved, 0), 0);
	assert_int_equal(rename(moved, file), 0);
	assert_false(load(key));
	save(key, SETTLED);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(truncate(file, st.st_size - 4), 0);
	assert_false(load(key));
}

static bool noted_from_cache(const struct plan *plan)
{
	for (size_t i = 0; i < plan->n_notes; i++)
		if (strstr(plan->notes[i], "git scan of") && strstr(plan->notes[i], "(from the cache"))
			return true;
	return false;
}

/* End to end: the scan saves, reuses, and walks again when a repository
 * appeared; the new one gets its read-only node. */
static void test_resolution_finds_a_repository_made_after_the_cache(void **state)
{
	(void)state;
	mkdirs("state");
	mkdirs("w/.git");
	mkdirs("w/a/b");
	setenv("GIT_CONFIG_GLOBAL", P("global.cfg"), 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("AGENTBOX_GIT_SCAN_MAX_ENTRIES");
	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = {.cwd = P("w"), .home = P("home"), .no_proc = true,
				   .glob_cache_dir = P("state")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_false(noted_from_cache(&plan));
	plan_free(&plan);
	resolve_ok(p, &ctx, &plan);
	assert_true(noted_from_cache(&plan));
	assert_int_equal(plan_find_node(&plan, P("w/a/b/.git")), -1);
	plan_free(&plan);
	mkdirs("w/a/b/.git");
	resolve_ok(p, &ctx, &plan);
	assert_false(noted_from_cache(&plan));
	int i = plan_find_node(&plan, P("w/a/b/.git"));
	assert_true(i >= 0);
	assert_int_equal(plan.nodes[i].access, AB_ACCESS_READ);
	plan_free(&plan);
	resolve_ok(p, &ctx, &plan);
	assert_true(noted_from_cache(&plan));
	assert_true(plan_find_node(&plan, P("w/a/b/.git")) >= 0);
	plan_free(&plan);
	ab_policy_free(p);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_covers_root_depth_and_bounds),
		T_(test_reused_while_unchanged),
		T_(test_refused_when_a_repository_appears),
		T_(test_refused_when_an_unlisted_directory_changes),
		T_(test_refused_when_a_directory_is_replaced),
		T_(test_settle_window),
		T_(test_unsafe_or_incomplete_file_refused),
		T_(test_resolution_finds_a_repository_made_after_the_cache),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
