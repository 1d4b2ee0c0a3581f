/* The deny-glob walk (plan/glob_walk.h). */
#include "plan/glob_walk.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/secret_globs.h"

/* the path being walked, as components and as a string */
struct pos {
	const char **comp;
	size_t n, cap;
	sbuf path;
	int in_skipped; /* levels below a tree the built-in set skips */
};

static void stop(struct glob_walk *w, const char *what, const char *where)
{
	if (w->bound_hit)
		return;
	w->bound_hit = true;
	w->bound_what = xstrdup(what);
	w->bound_where = xstrdup(where);
}

static bool allowed(const struct glob_walk *w, const char *path)
{
	for (size_t i = 0; i < w->n_allow; i++)
		if (path_is_under(path, w->allow[i]))
			return true;
	return false;
}

static void add_hit(struct glob_walk *w, const char *path, size_t pat, bool is_dir, bool is_link,
		    bool allow)
{
	grow_array((void **)&w->hits, &w->cap_hits, w->n_hits + 1, sizeof(*w->hits));
	w->hits[w->n_hits++] = (struct glob_hit){
		.path = xstrdup(path), .pattern = pat, .is_dir = is_dir, .is_link = is_link, .allowed = allow,
	};
	w->pats[pat].matches++;
}

/* The first pattern matching the entry at pos, or -1. */
static long first_match(const struct glob_walk *w, const struct pos *p, const char *name)
{
	for (size_t i = 0; i < w->n_pats; i++) {
		if (w->pats[i].builtin && (p->in_skipped || policy_secret_glob_kept(name)))
			continue;
		if (glob_match_components(&w->pats[i].g, p->comp, p->n))
			return (long)i;
	}
	return -1;
}

/* Whether some pattern still wants the directory at pos entered. */
static bool worth_entering(struct glob_walk *w, const struct pos *p, const char *name)
{
	bool any = false;
	for (size_t i = 0; i < w->n_pats && !any; i++) {
		if (w->pats[i].builtin && (p->in_skipped || policy_secret_glob_skipped_dir(name)))
			continue;
		any = glob_may_match_below(&w->pats[i].g, p->comp, p->n);
	}
	return any;
}

static void push(struct pos *p, const char *name)
{
	grow_array((void **)&p->comp, &p->cap, p->n + 1, sizeof(*p->comp));
	p->comp[p->n++] = name;
	if (p->path.len > 1)
		sbuf_add(&p->path, "/");
	sbuf_add(&p->path, name);
}

static void pop(struct pos *p, size_t len)
{
	p->n--;
	p->path.len = len;
	p->path.s[len] = '\0';
}

static void walk_dir(struct glob_walk *w, int dfd, struct pos *p, int depth);

/* A directory agentbox may not read. The sandboxed command runs with
 * the same credentials and fewer privileges, so it cannot read one that
 * another user owns either (nor make it readable): skipped. One of the
 * caller's own could be opened up by a chmod inside the sandbox, so what
 * it holds is unknown: the walk stops, and the run is refused unless
 * --glob-partial. */
static void unreadable(struct glob_walk *w, int dfd, const char *name, const char *path)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != geteuid()) {
		w->skipped_trees++;
		return;
	}
	stop(w, "permission denied", path);
}

static void visit(struct glob_walk *w, int dfd, struct pos *p, const struct dirent *de,
		  unsigned char type, int depth)
{
	long m = first_match(w, p, de->d_name);
	bool allow = m >= 0 && allowed(w, p->path.s);
	if (m >= 0) {
		add_hit(w, p->path.s, (size_t)m, type == DT_DIR, type == DT_LNK, allow);
		if (type == DT_DIR && !allow)
			return; /* hidden whole: nothing below needs a node */
	}
	if (type != DT_DIR || strcmp(de->d_name, ".git") == 0)
		return;
	/* kernel interfaces hold no file of the user's, and /proc alone
	 * would exhaust the bound of a pattern anchored at / */
	if (strcmp(p->path.s, "/proc") == 0 || strcmp(p->path.s, "/sys") == 0) {
		w->skipped_trees++;
		return;
	}
	if (!worth_entering(w, p, de->d_name)) {
		w->skipped_trees++;
		return;
	}
	if (depth + 1 > w->limits.depth) {
		_cleanup_free_ char *what = xasprintf("depth %d", w->limits.depth);
		stop(w, what, p->path.s);
		return;
	}
	int fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* a link swapped in since the listing is not followed (ELOOP,
		 * ENOTDIR) */
		if (errno == EACCES || errno == EPERM)
			unreadable(w, dfd, de->d_name, p->path.s);
		else if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
			stop(w, strerror(errno), p->path.s);
		return;
	}
	bool skipped = policy_secret_glob_skipped_dir(de->d_name);
	p->in_skipped += skipped;
	walk_dir(w, fd, p, depth + 1);
	p->in_skipped -= skipped;
}

/* Takes dfd over. */
static void walk_dir(struct glob_walk *w, int dfd, struct pos *p, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		stop(w, strerror(errno), p->path.s);
		return;
	}
	w->dirs++;
	struct stat st;
	size_t me = w->n_seen;
	strv names = {0};
	if (fstat(dfd, &st) == 0) {
		grow_array((void **)&w->seen, &w->cap_seen, w->n_seen + 1, sizeof(*w->seen));
		w->seen[w->n_seen++] = cache_dir_from_stat(p->path.s, &st);
	} else {
		stop(w, strerror(errno), p->path.s);
	}
	struct dirent *de;
	while (!w->bound_hit && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((long)++w->entries > w->limits.entries) {
			_cleanup_free_ char *what = xasprintf("%ld entries", w->limits.entries);
			stop(w, what, p->path.s);
			break;
		}
		if ((w->entries & 255) == 0 && monotonic_ms() - w->start_ms > w->limits.ms) {
			_cleanup_free_ char *what = xasprintf("%d ms", w->limits.ms);
			stop(w, what, p->path.s);
			break;
		}
		unsigned char type = cache_entry_type(dirfd(d), de);
		if (!type)
			continue; /* gone since the listing */
		strv_push_owned(&names, cache_listing_name(type, de->d_name));
		size_t len = p->path.len;
		push(p, de->d_name);
		visit(w, dirfd(d), p, de, type, depth);
		pop(p, len);
	}
	if (!w->bound_hit && errno)
		stop(w, strerror(errno), p->path.s);
	if (!w->bound_hit && me < w->n_seen)
		cache_listing_digest(&names, w->seen[me].digest);
	strv_free(&names);
	closedir(d);
}

int glob_walk_root(struct glob_walk *w, const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		unreadable(w, AT_FDCWD, root, root);
		return 0;
	}
	if (fd < 0)
		return ab_fail_errno(w->err, errno, "opening %s to expand the deny globs below it", root);
	struct pos p = {0};
	sbuf_add(&p.path, "/");
	p.path.len = 1;
	/* the root's own components, so that patterns match whole paths */
	_cleanup_free_ char *copy = xstrdup(root);
	char *save = NULL;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
		push(&p, t);
	walk_dir(w, fd, &p, 0);
	free(p.comp);
	sbuf_free(&p.path);
	return 0;
}

void glob_walk_free(struct glob_walk *w)
{
	for (size_t i = 0; i < w->n_hits; i++)
		free(w->hits[i].path);
	free(w->hits);
	for (size_t i = 0; i < w->n_seen; i++)
		free(w->seen[i].path);
	free(w->seen);
	w->seen = NULL;
	w->n_seen = w->cap_seen = 0;
	free(w->bound_what);
	free(w->bound_where);
	w->hits = NULL;
	w->n_hits = w->cap_hits = 0;
	w->bound_what = w->bound_where = NULL;
}
