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

#define CACHE_MAGIC "agentbox deny-glob cache 1"
#define CACHE_MAX_BYTES (256L << 20)

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

/* Unchanged: the same directory with the same times, or, when its
 * times moved (agentbox's own placeholders come and go in a working
 * directory) or were too fresh to trust, the same listing now. */
static bool dir_unchanged(const struct glob_dir *d)
{
	struct stat st;
	if (lstat(d->path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_dev != d->dev || st.st_ino != d->ino)
		return false;
	if (st.st_mtim.tv_sec == d->mtime_s && st.st_mtim.tv_nsec == d->mtime_ns &&
	    st.st_ctim.tv_sec == d->ctime_s && st.st_ctim.tv_nsec == d->ctime_ns)
		return true;
	char now[65];
	return glob_dir_digest(d->path, d->dev, d->ino, now) == 0 && strcmp(now, d->digest) == 0;
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
		struct glob_dir d = {0};
		unsigned long long dev, ino;
		if (sscanf(line, "d %llu %llu %lld %lld %lld %lld %64[0-9a-f] %n", &dev, &ino, &d.mtime_s,
			   &d.mtime_ns, &d.ctime_s, &d.ctime_ns, d.digest, &off) != 7 || off <= 0 ||
		    line[off] != '/' || strlen(d.digest) != 64)
			return false;
		d.dev = (dev_t)dev;
		d.ino = (ino_t)ino;
		d.path = xstrdup(line + off);
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
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	struct stat st;
	FILE *f = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_size > CACHE_MAX_BYTES || !(f = fdopen(fd, "r"))) {
		close(fd);
		return false;
	}
	char *line = NULL;
	size_t cap = 0;
	bool ok = true, key_ok = false, end = false;
	while (ok && !end && getline(&line, &cap, f) > 0)
		ok = parse_line(w, line, key, &key_ok, &end);
	free(line);
	fclose(f);
	for (size_t i = 0; ok && i < w->n_seen; i++)
		ok = dir_unchanged(&w->seen[i]);
	if (ok && key_ok && end && w->n_seen > 0)
		return true;
	forget(w);
	return false;
}

static bool write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		s += k;
		n -= (size_t)k;
	}
	return true;
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
	for (size_t i = 0; i < w->n_seen; i++) {
		const struct glob_dir *d = &w->seen[i];
		/* times too fresh to trust: the next run compares the listing */
		bool fresh = d->mtime_s > walk_start_s - GLOB_CACHE_SETTLE_S ||
			     d->ctime_s > walk_start_s - GLOB_CACHE_SETTLE_S;
		sbuf_addf(&b, "d %llu %llu %lld %lld %lld %lld %s %s\n", (unsigned long long)d->dev,
			  (unsigned long long)d->ino, fresh ? -1LL : d->mtime_s, fresh ? -1LL : d->mtime_ns,
			  fresh ? -1LL : d->ctime_s, fresh ? -1LL : d->ctime_ns, d->digest, d->path);
	}
	for (size_t i = 0; i < w->n_hits; i++) {
		const struct glob_hit *h = &w->hits[i];
		sbuf_addf(&b, "h %zu %d %d %d %s\n", h->pattern, h->is_dir, h->is_link, h->allowed, h->path);
	}
	sbuf_add(&b, "end\n");
	_cleanup_free_ char *path = cache_path(dir, key);
	_cleanup_free_ char *tmp = xasprintf("%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = write_all(fd, b.s, b.len);
		ok = close(fd) == 0 && ok;
		if (!ok || rename(tmp, path) < 0)
			unlink(tmp);
	}
	sbuf_free(&b);
}
