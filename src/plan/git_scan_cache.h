/* The nested-repository scan's cache (plan/git_scan_cache.c): the walk of
 * one writable root (plan/nested_repos.c) saved in agentbox's state
 * directory with every directory it read, reused by a later run only
 * while each of them is unchanged (plan/dir_cache.h). Only the walk is
 * cached: what the scan then reads (a .git pointer file, a repository's
 * configuration) is read again on every run. */
#ifndef AB_PLAN_GIT_SCAN_CACHE_H
#define AB_PLAN_GIT_SCAN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plan/dir_cache.h"

/* A directory in which the walk found an entry named .git. */
struct git_scan_found {
	char *path;
	int level; /* below the root */
	dev_t dev;
	ino_t ino;
};

/* What one walk read and found. */
struct git_scan_record {
	struct cache_dir *seen; /* every directory it read or looked into */
	size_t n_seen, cap_seen;
	struct git_scan_found *found;
	size_t n_found, cap_found;
	size_t dirs, entries;
};

void git_scan_record_free(struct git_scan_record *r);

/* What the walk depends on besides the tree: the root, the depth, the
 * skipped directory names, the bounds, the credentials it reads with and
 * the scan's version. 64 hex digits in out. */
void git_scan_cache_key(const char *root, int depth, size_t max_entries, int max_ms, char out[65]);
/* Fills r from the cache file for `key` in `dir` and returns true when
 * it is agentbox's own (a regular file of this euid that nobody else can
 * write, complete) and every directory it lists is unchanged; false
 * otherwise (r is left empty: walk). */
bool git_scan_cache_load(const char *dir, const char *key, struct git_scan_record *r);
/* Saves a complete walk (the caller does not save one that stopped at a
 * bound or failed). Best effort. */
void git_scan_cache_save(const char *dir, const char *key, const struct git_scan_record *r,
			 long long walk_start_s);

#endif
