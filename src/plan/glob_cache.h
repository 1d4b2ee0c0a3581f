/* The deny glob walk's cache (plan/glob_cache.c): a complete walk saved
 * in agentbox's state directory with the device, inode, mtime, ctime and
 * listing digest of every directory it read, reused by a later run with
 * the same patterns only while every one of those directories is
 * unchanged. */
#ifndef AB_PLAN_GLOB_CACHE_H
#define AB_PLAN_GLOB_CACHE_H

#include <stdbool.h>

#include "common/util.h"
#include "plan/glob_walk.h"

/* What the walk depends on besides the tree: the anchored patterns (and
 * which are built-in), the --allow-read paths, the bounds and the walk's
 * starts. 64 hex digits in out. */
void glob_cache_key(const struct glob_walk *w, const strv *roots, char out[65]);
/* Fills w's hits, seen directories and counts from the cache file for
 * `key` in `dir` and returns true when it exists, is agentbox's own (a
 * regular file of this euid that nobody else can write, in full) and
 * every directory it lists is unchanged; false otherwise (walk). */
bool glob_cache_load(const char *dir, const char *key, struct glob_walk *w);
/* Saves a complete walk (not one that stopped at a bound). A directory
 * that changed less than GLOB_CACHE_SETTLE_S (plan/dir_cache.h) before the walk began is
 * saved without its times, so that its listing is compared every time (a
 * change in the same clock tick would not show in them). Best effort: a
 * cache that cannot be written only means the next run walks. */
#define GLOB_CACHE_SETTLE_S CACHE_SETTLE_S
void glob_cache_save(const char *dir, const char *key, const struct glob_walk *w,
		     long long walk_start_s);

#endif
