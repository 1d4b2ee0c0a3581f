/* The nested-repository scan's cache (plan/git_scan_cache.h).
 *
 * Why it is safe: the scan enters directories by name and decides from
 * their listings alone (and, for a skipped or deepest directory, from
 * whether a .git lies directly inside). Every such directory is recorded
 * (plan/dir_cache.c): a .git created, renamed in or replaced anywhere the
 * scan looked changes the times (and listing) of the directory holding
 * it, and a directory replaced by another changes its inode, so the cache
 * is refused and the scan walks again. A directory recorded without its
 * listing (the deepest level, a skipped tree, another filesystem, one
 * this user cannot open) counts as unchanged only while its times are
 * the same. A stale cache therefore cannot miss a repository. */
#include "plan/git_scan_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sha256.h"
#include "plan/nested_repos.h"

#define CACHE_MAGIC "agentbox git-scan cache 1"

void git_scan_record_free(struct git_scan_record *r)
{
	for (size_t i = 0; i < r->n_seen; i++)
		free(r->seen[i].path);
	for (size_t i = 0; i < r->n_found; i++)
		free(r->found[i].path);
	free(r->seen);
	free(r->found);
	memset(r, 0, sizeof(*r));
}

void git_scan_cache_key(const char *root, int depth, size_t max_entries, int max_ms, char out[65])
{
	sbuf b = {0};
	sbuf_addf(&b, "%s\nroot %s\ndepth %d\nbounds %zu %d\nids %u %u\n", CACHE_MAGIC, root, depth,
		  max_entries, max_ms, (unsigned)geteuid(), (unsigned)getegid());
	for (size_t i = 0; git_scan_skipped_dirs[i]; i++)
		sbuf_addf(&b, "skip %s\n", git_scan_skipped_dirs[i]);
	sha256_hex(b.s, b.len, out);
	sbuf_free(&b);
}

static char *cache_path(const char *dir, const char *key)
{
	return xasprintf("%s/git-scan-%.32s.cache", dir, key);
}

/* A line of the scan's own: its counts ("s") or a directory holding a
 * .git ("g": level, device, inode, and the path, the rest of the line). */
static bool own_line(void *ctx, const char *line)
{
	struct git_scan_record *r = ctx;
	if (line[0] == 's')
		return sscanf(line, "s %zu %zu", &r->dirs, &r->entries) == 2;
	if (line[0] == 'g') {
		struct git_scan_found g = {0};
		unsigned long long dev, ino;
		int off = 0;
		if (sscanf(line, "g %d %llu %llu %n", &g.level, &dev, &ino, &off) != 3 || off <= 0 ||
		    line[off] != '/' || g.level < 0)
			return false;
		g.dev = (dev_t)dev;
		g.ino = (ino_t)ino;
		g.path = xstrdup(line + off);
		grow_array((void **)&r->found, &r->cap_found, r->n_found + 1, sizeof(*r->found));
		r->found[r->n_found++] = g;
		return true;
	}
	return false;
}

bool git_scan_cache_load(const char *dir, const char *key, struct git_scan_record *r)
{
	if (!dir)
		return false;
	_cleanup_free_ char *path = cache_path(dir, key);
	if (cache_file_load(path, CACHE_MAGIC, key, &r->seen, &r->n_seen, &r->cap_seen, own_line, r))
		return true;
	git_scan_record_free(r);
	return false;
}

void git_scan_cache_save(const char *dir, const char *key, const struct git_scan_record *r,
			 long long walk_start_s)
{
	if (!dir)
		return;
	for (size_t i = 0; i < r->n_found; i++)
		if (strchr(r->found[i].path, '\n'))
			return;
	sbuf head = {0}, body = {0};
	sbuf_addf(&head, "s %zu %zu\n", r->dirs, r->entries);
	for (size_t i = 0; i < r->n_found; i++)
		sbuf_addf(&body, "g %d %llu %llu %s\n", r->found[i].level, (unsigned long long)r->found[i].dev,
			  (unsigned long long)r->found[i].ino, r->found[i].path);
	_cleanup_free_ char *path = cache_path(dir, key);
	cache_file_save(path, CACHE_MAGIC, key, head.s, r->seen, r->n_seen, body.s ? body.s : "",
			walk_start_s);
	sbuf_free(&head);
	sbuf_free(&body);
}
