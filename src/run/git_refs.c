/* Reading refs from a repository's files (git_refs.h).
 *
 * Loose refs are files under refs/ holding an object id (or "ref: NAME"
 * for a symbolic one); packed-refs holds "<id> <name>" lines, "^<id>"
 * peel lines and a "#" header. Every file is opened relative to its
 * directory's fd with O_NOFOLLOW: the command may have planted links in
 * the writable git directory, and agentbox must not read through them. */
#include "run/git_refs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GIT_REF_FILE_MAX 512

static void add_ref(struct git_refs *r, const char *name, const char *value)
{
	if (r->n >= GIT_REFS_MAX) {
		r->truncated = true;
		return;
	}
	grow_array((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = (struct git_ref){.name = xstrdup(name), .value = xstrdup(value)};
}

/* The first line of a small regular file at dirfd/name, or NULL. */
static char *read_ref_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char buf[GIT_REF_FILE_MAX + 1];
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = read(fd, buf, GIT_REF_FILE_MAX);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? xstrdup(buf) : NULL;
}

/* Loose refs below dirfd (named prefix/...), depth-first. */
static void read_loose(struct git_refs *r, int dirfd, const char *prefix, int depth)
{
	if (depth > GIT_REFS_DEPTH) {
		r->truncated = true;
		return;
	}
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) && !r->truncated) {
		if (e->d_name[0] == '.' || strstr(e->d_name, ".lock"))
			continue; /* no ref name starts with '.'; locks are not refs */
		_cleanup_free_ char *name = xasprintf("%s/%s", prefix, e->d_name);
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				read_loose(r, sub, name, depth + 1);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_free_ char *v = read_ref_file(dirfd, e->d_name);
			if (v)
				add_ref(r, name, v);
		}
	}
	closedir(d);
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct git_ref *)a)->name, ((const struct git_ref *)b)->name);
}

/* Whether the first n refs (sorted) hold `name`. */
static bool has_ref(const struct git_refs *r, size_t n, const char *name)
{
	struct git_ref key = {.name = (char *)name};
	return n && bsearch(&key, r->v, n, sizeof(*r->v), cmp_ref) != NULL;
}

static void read_packed(struct git_refs *r, int commonfd)
{
	int fd = openat(commonfd, "packed-refs", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	FILE *f = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	if ((size_t)st.st_size > GIT_PACKED_REFS_MAX)
		r->truncated = true;
	size_t loose = r->n, total = 0;
	if (loose)
		qsort(r->v, loose, sizeof(*r->v), cmp_ref);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0 && !r->truncated) {
		total += (size_t)len;
		if (total > GIT_PACKED_REFS_MAX)
			break;
		line[strcspn(line, "\r\n")] = '\0';
		char *sp = strchr(line, ' ');
		if (line[0] == '#' || line[0] == '^' || !sp)
			continue;
		*sp = '\0';
		/* a loose ref wins over its packed copy */
		if (!has_ref(r, loose, sp + 1))
			add_ref(r, sp + 1, line);
	}
	free(line);
	fclose(f);
}

void git_refs_read(const char *gitdir, const char *commondir, struct git_refs *out)
{
	memset(out, 0, sizeof(*out));
	int gfd = open(gitdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (gfd >= 0) {
		_cleanup_free_ char *head = read_ref_file(gfd, "HEAD");
		if (head)
			add_ref(out, "HEAD", head);
		close(gfd);
	}
	int cfd = commondir ? open(commondir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (cfd >= 0) {
		int refs = openat(cfd, "refs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (refs >= 0) {
			read_loose(out, refs, "refs", 1);
			close(refs);
		}
		read_packed(out, cfd);
		close(cfd);
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_ref);
}

void git_refs_free(struct git_refs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].value);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static void change_json(sbuf *b, bool *first, size_t *room, const char *repo, const char *name,
			const char *old, const char *new)
{
	if (!*room)
		return;
	(*room)--;
	sbuf_add(b, *first ? "{\"repo\":" : ",{\"repo\":");
	*first = false;
	sbuf_add_json_string(b, repo);
	sbuf_add(b, ",\"ref\":");
	sbuf_add_json_string(b, name);
	sbuf_add(b, ",\"old\":");
	sbuf_add_json_string_or_null(b, old);
	sbuf_add(b, ",\"new\":");
	sbuf_add_json_string_or_null(b, new);
	sbuf_add(b, "}");
}

size_t git_refs_diff_json(const char *repo, const struct git_refs *before,
			  const struct git_refs *after, sbuf *b, bool *first, size_t *room)
{
	size_t i = 0, k = 0, changed = 0;
	while (i < before->n || k < after->n) {
		int c = i == before->n ? 1 : k == after->n ? -1 : strcmp(before->v[i].name, after->v[k].name);
		if (c < 0) {
			change_json(b, first, room, repo, before->v[i].name, before->v[i].value, NULL);
			i++;
			changed++;
		} else if (c > 0) {
			change_json(b, first, room, repo, after->v[k].name, NULL, after->v[k].value);
			k++;
			changed++;
		} else {
			if (strcmp(before->v[i].value, after->v[k].value) != 0) {
				change_json(b, first, room, repo, after->v[k].name, before->v[i].value,
					    after->v[k].value);
				changed++;
			}
			i++;
			k++;
		}
	}
	return changed;
}
