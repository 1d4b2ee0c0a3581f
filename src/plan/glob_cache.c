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

/* One line of the file: its fields before the path, and the path (the
 * rest of the line). */
static bool parse_line(struct glob_walk *w, char *line, const char *key, bool *key_ok, bool *end)
{
	char *nl = strchr(line, '\n');
	if (!nl)
		return false; /* a line cut short: the file is not complete */
	*nl = '\0';
	int off = 0;
	if (strncmp(line, "key ", 4) == 0) {
		*key_ok = strcmp(line + 4, key) == 0;
		return *key_ok;
	}
	if (strcmp(line, "end") == 0) {
		*end = true;
		return true;
	}
	if (strcmp(line, CACHE_MAGIC) == 0)
		return true;
	if (line[0] == 's') {
		return sscanf(line, "s %zu %zu %zu", &w->dirs, &w->entries, &w->skipped_trees) == 3;
	}
	if (line[0] == 'd') {
		struct cache_dir d;
		if (!cache_dir_parse(line, &d))
			return false;
		grow_array((void **)&w->seen, &w->cap_seen, w->n_seen + 1, sizeof(*w->seen));
		w->seen[w->n_seen++] = d;
		return true;
	}
	if (line[0] == 'h') {
		size_t pat;
		int is_dir, is_link, allowed;
		if (sscanf(line, "h %zu %d %d %d %n", &pat, &is_dir, &is_link, &allowed, &off) != 4 ||
		    off <= 0 || line[off] != '/' || pat >= w->n_pats)
			return false;
		grow_array((void **)&w->hits, &w->cap_hits, w->n_hits + 1, sizeof(*w->hits));
		w->hits[w->n_hits++] = (struct glob_hit){
			.path = xstrdup(line + off), .pattern = pat, .is_dir = is_dir,
			.is_link = is_link, .allowed = allowed,
		};
		w->pats[pat].matches++;
		return true;
	}
	return false;
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
	FILE *f = cache_file_open(path);
	if (!f)
		return false;
	char *line = NULL;
	size_t cap = 0;
	bool ok = true, key_ok = false, end = false;
	while (ok && !end && getline(&line, &cap, f) > 0)
		ok = parse_line(w, line, key, &key_ok, &end);
	free(line);
	fclose(f);
	for (size_t i = 0; ok && i < w->n_seen; i++)
		ok = cache_dir_unchanged(&w->seen[i]);
	if (ok && key_ok && end && w->n_seen > 0)
		return true;
	forget(w);
	return false;
}

void glob_cache_save(const char *dir, const char *key, const struct glob_walk *w,
		     long long walk_start_s)
{
	if (!dir || w->bound_hit || w->n_seen == 0)
		return;
	for (size_t i = 0; i < w->n_seen; i++)
		if (strchr(w->seen[i].path, '\n'))
			return;
	for (size_t i = 0; i < w->n_hits; i++)
		if (strchr(w->hits[i].path, '\n'))
			return;
	sbuf b = {0};
	sbuf_addf(&b, "%s\nkey %s\ns %zu %zu %zu\n", CACHE_MAGIC, key, w->dirs, w->entries, w->skipped_trees);
	for (size_t i = 0; i < w->n_seen; i++)
		cache_dir_format(&b, &w->seen[i], walk_start_s);
	for (size_t i = 0; i < w->n_hits; i++) {
		const struct glob_hit *h = &w->hits[i];
		sbuf_addf(&b, "h %zu %d %d %d %s\n", h->pattern, h->is_dir, h->is_link, h->allowed, h->path);
	}
	sbuf_add(&b, "end\n");
	_cleanup_free_ char *path = cache_path(dir, key);
	cache_file_write(path, &b);
	sbuf_free(&b);
}
