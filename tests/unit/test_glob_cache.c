/* The deny glob cache (src/plan/glob_cache.c) on a real tree: a walk
 * saved and reused while nothing changed, and refused when a walked
 * directory gained an entry, was replaced, when the file is incomplete,
 * writable by others or for another key; directories whose times moved or
 * were too fresh to trust are checked by their listings. */
#include <errno.h>
#include <fcntl.h>
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

#include "common/rmtree.h"
#include "common/util.h"
#include "plan/glob_cache.h"
#include "plan/glob_walk.h"
#include "probe_child.h"

struct fx {
	char root[64];   /* the tree */
	char state[128]; /* the cache dir */
	char *pattern;
	struct glob_walk_pattern pat;
	strv roots;
};

static void put(const struct fx *f, const char *rel)
{
	_cleanup_free_ char *p = path_join(f->root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void dir(const struct fx *f, const char *rel)
{
	_cleanup_free_ char *p = path_join(f->root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/ab-globcache.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	char *real = realpath(f->root, NULL);
	snprintf(f->root, sizeof(f->root), "%s", real);
	free(real);
	snprintf(f->state, sizeof(f->state), "%s/state", f->root);
	assert_int_equal(mkdir(f->state, 0700), 0);
	dir(f, "ws");
	dir(f, "ws/a");
	dir(f, "ws/a/b");
	put(f, "ws/.env");
	put(f, "ws/a/b/k.pem");
	put(f, "ws/a/plain");
	f->pattern = xasprintf("%s/ws/**/*.pem", f->root);
	ab_error err;
	assert_int_equal(glob_compile(f->pattern, "test", &f->pat.g, &err), 0);
	f->pat.label = xstrdup("test");
	strv_push_owned(&f->roots, path_join(f->root, "ws"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ab_error err;
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rmtree_at(tmp, f->root + strlen("/tmp/"), &err);
	close(tmp);
	glob_free(&f->pat.g);
	free(f->pat.label);
	free(f->pattern);
	strv_free(&f->roots);
	free(f);
	return 0;
}

/* A fresh walk of the tree (matches counted on a copy of the pattern). */
static void walk(struct fx *f, struct glob_walk *w)
{
	memset(w, 0, sizeof(*w));
	f->pat.matches = 0;
	w->pats = &f->pat;
	w->n_pats = 1;
	w->limits = (struct glob_limits){.depth = 32, .entries = 1000, .ms = 60000};
	w->start_ms = monotonic_ms();
	assert_int_equal(glob_walk_root(w, f->roots.v[0]), 0);
	assert_false(w->bound_hit);
}

/* Saves a walk as if it began well after the tree was made. */
static void save(struct fx *f, char key[65])
{
	struct glob_walk w;
	walk(f, &w);
	glob_cache_key(&w, &f->roots, key);
	glob_cache_save(f->state, key, &w, (long long)time(NULL) + 10);
	glob_walk_free(&w);
}

static bool load(struct fx *f, const char *key, size_t *hits)
{
	struct glob_walk w = {0};
	f->pat.matches = 0;
	w.pats = &f->pat;
	w.n_pats = 1;
	bool r = glob_cache_load(f->state, key, &w);
	*hits = w.n_hits;
	glob_walk_free(&w);
	return r;
}

static void unchanged_tree_is_reused(void **state)
{
	struct fx *f = *state;
	char key[65];
	save(f, key);
	size_t hits = 0;
	assert_true(load(f, key, &hits));
	assert_int_equal(hits, 1);
	char other[65];
	memcpy(other, key, sizeof(other));
	other[0] = other[0] == 'a' ? 'b' : 'a';
	assert_false(load(f, other, &hits));
}

static void new_entry_in_a_subdirectory_invalidates(void **state)
{
	struct fx *f = *state;
	char key[65];
	save(f, key);
	put(f, "ws/a/b/new.pem");
	size_t hits = 0;
	assert_false(load(f, key, &hits));
	assert_int_equal(hits, 0);
}

static void replaced_directory_invalidates(void **state)
{
	struct fx *f = *state;
	char key[65];
	save(f, key);
	_cleanup_free_ char *a = path_join(f->root, "ws/a");
	_cleanup_free_ char *moved = path_join(f->root, "moved");
	_cleanup_free_ char *fresh = path_join(f->root, "ws/a");
	/* the same names, another directory: ws/a renamed away, a new ws/a */
	assert_int_equal(rename(a, moved), 0);
	assert_int_equal(mkdir(fresh, 0755), 0);
	size_t hits;
	assert_false(load(f, key, &hits));
}

static void foreign_or_incomplete_file_is_refused(void **state)
{
	struct fx *f = *state;
	char key[65];
	save(f, key);
	_cleanup_free_ char *file = xasprintf("%s/deny-glob-%.32s.cache", f->state, key);
	size_t hits;
	assert_int_equal(chmod(file, 0620), 0);
	assert_false(load(f, key, &hits));
	assert_int_equal(chmod(file, 0600), 0);
	assert_true(load(f, key, &hits));
	/* cut before its "end" line */
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(truncate(file, st.st_size - 4), 0);
	assert_false(load(f, key, &hits));
	/* a symbolic link in its place is not followed */
	save(f, key);
	_cleanup_free_ char *real = xasprintf("%s.real", file);
	assert_int_equal(rename(file, real), 0);
	assert_int_equal(symlink(real, file), 0);
	assert_false(load(f, key, &hits));
}

/* A tree changed just before the walk: its directories are saved without
 * times, so their listings decide. */
static void fresh_tree_is_checked_by_its_listings(void **state)
{
	struct fx *f = *state;
	struct glob_walk w;
	walk(f, &w);
	char key[65];
	glob_cache_key(&w, &f->roots, key);
	glob_cache_save(f->state, key, &w, (long long)time(NULL));
	glob_walk_free(&w);
	size_t hits;
	assert_true(load(f, key, &hits));
	assert_int_equal(hits, 1);
	put(f, "ws/a/b/other.pem");
	assert_false(load(f, key, &hits));
}

/* Times moved but the same entries are there (a placeholder made and
 * removed): still valid; a renamed entry is not. */
static void same_listing_with_new_times_is_reused(void **state)
{
	struct fx *f = *state;
	char key[65];
	save(f, key);
	put(f, "ws/placeholder");
	_cleanup_free_ char *ph = path_join(f->root, "ws/placeholder");
	assert_int_equal(unlink(ph), 0);
	size_t hits;
	assert_true(load(f, key, &hits));
	assert_int_equal(hits, 1);
	_cleanup_free_ char *from = path_join(f->root, "ws/a/plain");
	_cleanup_free_ char *to = path_join(f->root, "ws/a/plain.pem");
	assert_int_equal(rename(from, to), 0);
	assert_false(load(f, key, &hits));
}

int main(void)
{
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T_(unchanged_tree_is_reused),
		T_(new_entry_in_a_subdirectory_invalidates),
		T_(replaced_directory_invalidates),
		T_(foreign_or_incomplete_file_is_refused),
		T_(fresh_tree_is_checked_by_its_listings),
		T_(same_listing_with_new_times_is_reused),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
