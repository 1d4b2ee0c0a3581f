/* The deny glob walk's cache (plan/glob_cache.h).
 *
 * Why it is safe: the matches of a walk follow from the listings (names
 * and kinds) of the directories it read, and from nothing else: it
 * enters a directory by its name alone. Each directory is recorded with
 * its device, inode, mtime, ctime and a digest of its sorted listing. A
 * later run reuses the walk only while each of them is still the same
 * directory (device and inode: not renamed away, no mount on top) and
 * either has the same times (adding, removing or renaming an entry
 * changes both) or, when its times moved, lists the same entries now.
 * The second check covers agentbox's own placeholders, which come and go
 * in a working directory on every run, and directories whose times were
 * too fresh to trust when the walk read them (a change within the same
 * timestamp tick could leave them as they were): those are saved with no
 * times, so that their listing is always compared. Either way a reused
 * walk sees what a new walk would see: a stale cache cannot hide less.
 *
 * The file lives in agentbox's state directory (run/state_dir.c: owned by
 * the euid, mode 0700, hidden in every sandbox) and is read only when it
 * is a regular file of this euid that no one else can write, complete up
 * to its "end" line. Paths holding a newline are not cached. */
#include "plan/glob_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sha256.h"
#include "plan/dir_cache.h"

#define CACHE_MAGIC "agentbox deny-glob cache 1"

void glob_cache_key(const struct glob_walk *w, const strv *roots, char out[65])
{
	sbuf b = {0};
	sbuf_addf(&b, "%s\nlimits %d %ld\n", CACHE_MAGIC, w->limits.depth, w->limits.entries);
	for (size_t i = 0; i < w->n_pats; i++)
		sbuf_addf(&b, "pattern %d %s\n", w->pats[i].builtin, w->pats[i].g.text);
	for (size_t i = 0; i < w->n_allow; i++)
		sbuf_addf(&b, "allow %s\n", w->allow[i]);
	for (size_t i = 0; i < roots->n; i++)
		sbuf_addf(&b, "root %s\n", roots->v[i]);
	sha256_hex(b.s, b.len, out);
	sbuf_free(&b);
}

static char *cache_path(const char *dir, const char *key)
{
	return xasprintf("%s/deny-glob-%.32s.cache", dir, key);
}

/* A line of the walk's own: its counts ("s") or a match ("h": the fields
 * before the path, and the path, the rest of the line). */
static bool own_line(void *ctx, const char *line)
{
	struct glob_walk *w = ctx;
	if (line[0] == 's')
		return sscanf(line, "s %zu %zu %zu", &w->dirs, &w->entries, &w->skipped_trees) == 3;
	if (line[0] != 'h')
		return false;
	size_t pat;
	int is_dir, is_link, allowed, off = 0;
	if (sscanf(line, "h %zu %d %d %d %n", &pat, &is_dir, &is_link, &allowed, &off) != 4 || off <= 0 ||
	    line[off] != '/' || pat >= w->n_pats)
		return false;
	grow_array((void **)&w->hits, &w->cap_hits, w->n_hits + 1, sizeof(*w->hits));
	w->hits[w->n_hits++] = (struct glob_hit){
		.path = xstrdup(line + off), .pattern = pat, .is_dir = is_dir,
		.is_link = is_link, .allowed = allowed,
	};
	w->pats[pat].matches++;
	return true;
}

static void forget(struct glob_walk *w)
{
	glob_walk_free(w);
	w->dirs = w->entries = w->skipped_trees = 0;
	for (size_t i = 0; i < w->n_pats; i++)
		w->pats[i].matches = 0;
}

bool glob_cache_load(const char *dir, const char *key, struct glob_walk *w)
{
	if (!dir)
		return false;
	_cleanup_free_ char *path = cache_path(dir, key);
	if (cache_file_load(path, CACHE_MAGIC, key, &w->seen, &w->n_seen, &w->cap_seen, own_line, w))
		return true;
	forget(w);
	return false;
}

void glob_cache_save(const char *dir, const char *key, const struct glob_walk *w,
		     long long walk_start_s)
{
	if (!dir || w->bound_hit)
		return;
	for (size_t i = 0; i < w->n_hits; i++)
		if (strchr(w->hits[i].path, '\n'))
			return;
	sbuf head = {0}, body = {0};
	sbuf_addf(&head, "s %zu %zu %zu\n", w->dirs, w->entries, w->skipped_trees);
	for (size_t i = 0; i < w->n_hits; i++) {
		const struct glob_hit *h = &w->hits[i];
		sbuf_addf(&body, "h %zu %d %d %d %s\n", h->pattern, h->is_dir, h->is_link, h->allowed, h->path);
	}
	_cleanup_free_ char *path = cache_path(dir, key);
	cache_file_save(path, CACHE_MAGIC, key, head.s, w->seen, w->n_seen, body.s ? body.s : "",
			walk_start_s);
	sbuf_free(&head);
	sbuf_free(&body);
}
