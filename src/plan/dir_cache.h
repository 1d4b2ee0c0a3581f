/* What the state-directory caches of directory walks share (the deny
 * glob walk's, plan/glob_cache.c, and the nested-repository scan's,
 * plan/git_scan_cache.c): the record of a directory a walk read, the
 * check that it is still unchanged, and the safe reading and writing of
 * a cache file in agentbox's state directory. */
#ifndef AB_PLAN_DIR_CACHE_H
#define AB_PLAN_DIR_CACHE_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/util.h"

/* A directory a walk read, as it found it: a later run may reuse the
 * walk only while every one of them is still this directory, unchanged. */
struct cache_dir {
	char *path;
	dev_t dev;
	ino_t ino;
	long long mtime_s, mtime_ns, ctime_s, ctime_ns; /* -1: check the listing */
	char digest[65]; /* of its sorted listing (names and kinds); all
			  * zeros: not listed, so unchanged only while its
			  * times are */
};

/* A record of the directory `st` at `path`, with no digest yet. */
struct cache_dir cache_dir_from_stat(const char *path, const struct stat *st);

/* A directory, a symbolic link or anything else (DT_REG here); 0 when
 * the entry is gone since the listing. */
unsigned char cache_entry_type(int dfd, const struct dirent *de);
/* "d name", "l name" or "f name": one entry of a listing digest. */
char *cache_listing_name(unsigned char type, const char *name);
/* The digest of such names, sorted so that readdir's order does not
 * matter (sorts `names`). */
void cache_listing_digest(strv *names, char out[65]);
/* The listing digest of the directory at `path`, which must still be the
 * directory dev/ino (else -ESTALE). */
int cache_dir_digest(const char *path, dev_t dev, ino_t ino, char out[65]);

/* Unchanged: the same directory (device, inode) with the same times, or,
 * when its times moved (agentbox's own placeholders come and go in a
 * working directory) or were too fresh to trust, the same listing now. */
bool cache_dir_unchanged(const struct cache_dir *d);

/* A directory that changed less than CACHE_SETTLE_S before the walk
 * began is saved without its times, so that its listing is compared every
 * time (a change in the same clock tick would not show in them). */
#define CACHE_SETTLE_S 2

/* A cache file, as both caches write it: a magic line, "key KEY", the
 * walk's own lines, a "d" line for every directory it read, and "end".
 *
 * cache_file_load reads `path` only when it is a regular file of this
 * euid that nobody else can write and not larger than a cache can be. It
 * appends the directories to *seen (n_seen, cap_seen) and hands every
 * other line, without its newline, to own_line (false refuses the file).
 * True only when the file is complete (every line whole, up to "end"), of
 * `key`, lists at least one directory and every one of them is unchanged;
 * on false the caller drops what was read. */
bool cache_file_load(const char *path, const char *magic, const char *key, struct cache_dir **seen,
		     size_t *n_seen, size_t *cap_seen, bool (*own_line)(void *ctx, const char *line),
		     void *ctx);
/* Writes such a file whole or not at all (a temporary file renamed over
 * it; best effort): `head` and `body` are the walk's own lines, before
 * and after the directories. Nothing is saved when there is no directory
 * or a directory's path holds a newline (the caller checks its own
 * paths). */
void cache_file_save(const char *path, const char *magic, const char *key, const char *head,
		     const struct cache_dir *seen, size_t n_seen, const char *body,
		     long long walk_start_s);

#endif
