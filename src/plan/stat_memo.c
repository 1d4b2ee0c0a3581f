/* One resolution's lookups (plan/stat_memo.h): an open-addressing hash
 * table from path to the answers asked of it so far. */
#include "plan/stat_memo.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* Whether a call was made for the path yet; once it was, its errno (0:
 * it succeeded) and its result are what every later caller gets. */
enum { UNASKED = 0, ANSWERED };

struct memo_entry {
	uint64_t hash;
	unsigned char l_state, s_state, r_state;
	int l_errno, s_errno, r_errno;
	struct stat l;
	struct stat *s; /* only where stat differs from lstat: a link */
	char *link;     /* readlink's answer (not NUL-terminated inside) */
	size_t link_len;
	char path[]; /* one allocation per path: each is new heap to touch */
};

struct stat_memo {
	const void *owner;
	struct stat_memo *outer; /* begun before this one, in this thread */
	/* pointers, so that growing the table moves 8 bytes per path, not
	 * a struct stat; NULL: a free slot */
	struct memo_entry **slots;
	size_t cap, used; /* cap: a power of two */
};

/* Thread-local: libagentbox may plan several runs at once in as many
 * threads, and each must see its own lookups only. */
static _Thread_local struct stat_memo *current;

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void entry_free(struct memo_entry *e)
{
	if (!e)
		return;
	free(e->s);
	free(e->link);
	free(e);
}

static void memo_free(struct stat_memo *m)
{
	for (size_t i = 0; i < m->cap; i++)
		entry_free(m->slots[i]);
	free(m->slots);
	free(m);
}

void stat_memo_begin(const void *owner)
{
	/* one left by an unwound resolution of the same owner: stale */
	stat_memo_end(owner);
	struct stat_memo *m = xcalloc(1, sizeof(*m));
	m->owner = owner;
	m->outer = current;
	m->cap = 256;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	current = m;
}

void stat_memo_end(const void *owner)
{
	struct stat_memo *m = current;
	while (m && m->owner != owner)
		m = m->outer;
	if (!m)
		return;
	while (current != m) {
		struct stat_memo *left = current;
		current = left->outer;
		memo_free(left);
	}
	current = m->outer;
	memo_free(m);
}

/* The slot holding `path`, or the free slot where it belongs. */
static struct memo_entry **slot_for(struct stat_memo *m, const char *path, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct memo_entry **e = &m->slots[i];
		if (!*e || ((*e)->hash == h && strcmp((*e)->path, path) == 0))
			return e;
	}
}

static void grow(struct stat_memo *m)
{
	struct memo_entry **old = m->slots;
	size_t old_cap = m->cap;
	m->slots = xcalloc(old_cap * 2, sizeof(*m->slots));
	m->cap = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			*slot_for(m, old[i]->path, old[i]->hash) = old[i];
	free(old);
}

/* The entry of `path` in the current memo, made when new; NULL without a
 * memo. */
static struct memo_entry *entry(const char *path)
{
	struct stat_memo *m = current;
	if (!m)
		return NULL;
	if ((m->used + 1) * 2 > m->cap)
		grow(m);
	uint64_t h = hash_path(path);
	struct memo_entry **slot = slot_for(m, path, h);
	if (!*slot) {
		size_t len = strlen(path);
		struct memo_entry *e = xmalloc(sizeof(*e) + len + 1);
		memset(e, 0, sizeof(*e));
		memcpy(e->path, path, len + 1);
		e->hash = h;
		*slot = e;
		m->used++;
	}
	return *slot;
}

static int answer(int result, int err, const struct stat *from, struct stat *st)
{
	if (result < 0) {
		errno = err;
		return -1;
	}
	*st = *from;
	return 0;
}

int memo_lstat(const char *path, struct stat *st)
{
	struct memo_entry *e = entry(path);
	if (!e)
		return lstat(path, st);
	if (e->l_state == UNASKED) {
		e->l_errno = lstat(path, &e->l) < 0 ? errno : 0;
		e->l_state = ANSWERED;
	}
	return answer(e->l_errno ? -1 : 0, e->l_errno, &e->l, st);
}

int memo_stat(const char *path, struct stat *st)
{
	struct memo_entry *e = entry(path);
	if (!e)
		return stat(path, st);
	/* no link at the end of the path: stat would find what lstat did */
	if (e->l_state == ANSWERED && !e->l_errno && !S_ISLNK(e->l.st_mode))
		return answer(0, 0, &e->l, st);
	if (e->s_state == UNASKED) {
		struct stat found;
		e->s_errno = stat(path, &found) < 0 ? errno : 0;
		if (!e->s_errno) {
			e->s = xmalloc(sizeof(*e->s));
			*e->s = found;
		}
		e->s_state = ANSWERED;
	}
	return answer(e->s_errno ? -1 : 0, e->s_errno, e->s, st);
}

ssize_t memo_readlink(const char *path, char *buf, size_t size)
{
	struct memo_entry *e = entry(path);
	if (!e)
		return readlink(path, buf, size);
	if (e->r_state == UNASKED) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target));
		e->r_errno = n < 0 ? errno : 0;
		if (n >= 0) {
			e->link = xmalloc((size_t)n + 1);
			memcpy(e->link, target, (size_t)n);
			e->link_len = (size_t)n;
		}
		e->r_state = ANSWERED;
	}
	if (e->r_errno) {
		errno = e->r_errno;
		return -1;
	}
	/* as readlink(2): truncated to `size`, no terminating NUL */
	size_t n = e->link_len < size ? e->link_len : size;
	memcpy(buf, e->link, n);
	return (ssize_t)n;
}

void stat_memo_forget(const char *path)
{
	struct stat_memo *m = current;
	if (!m)
		return;
	/* rebuilt without them: removing from open addressing in place
	 * would break the probe chains of the entries that remain */
	struct memo_entry **old = m->slots;
	size_t cap = m->cap;
	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->used = 0;
	for (size_t i = 0; i < cap; i++) {
		if (!old[i])
			continue;
		if (path_is_under(old[i]->path, path)) {
			entry_free(old[i]);
			continue;
		}
		*slot_for(m, old[i]->path, old[i]->hash) = old[i];
		m->used++;
	}
	free(old);
}
