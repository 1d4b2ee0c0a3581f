/* Directory records and cache files for the walk caches (plan/dir_cache.h).
 *
 * Why reuse is safe: a walk that enters directories by name alone sees
 * only the listings (names and kinds) of the directories it read. Adding,
 * removing or renaming an entry changes its directory's mtime and ctime;
 * replacing the directory changes its device or inode. So a directory
 * with the same identity and times, or with the same listing now, gives
 * a new walk what it gave the old one. Times fresher than the settle
 * window are not trusted (a change in the same tick would not show). */
#include "plan/dir_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sha256.h"

#define CACHE_MAX_BYTES (256L << 20)

struct cache_dir cache_dir_from_stat(const char *path, const struct stat *st)
{
	struct cache_dir d = {
		.path = xstrdup(path), .dev = st->st_dev, .ino = st->st_ino,
		.mtime_s = st->st_mtim.tv_sec, .mtime_ns = st->st_mtim.tv_nsec,
		.ctime_s = st->st_ctim.tv_sec, .ctime_ns = st->st_ctim.tv_nsec,
	};
	memset(d.digest, '0', 64);
	d.digest[64] = '\0';
	return d;
}

unsigned char cache_entry_type(int dfd, const struct dirent *de)
{
	if (de->d_type == DT_DIR || de->d_type == DT_LNK)
		return de->d_type;
	if (de->d_type != DT_UNKNOWN)
		return DT_REG;
	struct stat st;
	if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void cache_listing_digest(strv *names, char out[65])
{
	if (names->n)
		qsort(names->v, names->n, sizeof(char *), cmp_str);
	struct sha256 h;
	sha256_init(&h);
	for (size_t i = 0; i < names->n; i++)
		sha256_update(&h, names->v[i], strlen(names->v[i]) + 1);
	unsigned char d[SHA256_DIGEST_LEN];
	sha256_final(&h, d);
	for (size_t i = 0; i < SHA256_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

char *cache_listing_name(unsigned char type, const char *name)
{
	size_t n = strlen(name);
	char *s = xmalloc(n + 3);
	s[0] = type == DT_DIR ? 'd' : type == DT_LNK ? 'l' : 'f';
	s[1] = ' ';
	memcpy(s + 2, name, n + 1);
	return s;
}

int cache_dir_digest(const char *path, dev_t dev, ino_t ino, char out[65])
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	DIR *d = NULL;
	if (fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino || !(d = fdopendir(fd))) {
		close(fd);
		return -ESTALE;
	}
	strv names = {0};
	struct dirent *de;
	int r = 0;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		unsigned char type = cache_entry_type(dirfd(d), de);
		if (type)
			strv_push_owned(&names, cache_listing_name(type, de->d_name));
	}
	if (errno)
		r = -errno;
	closedir(d);
	if (r == 0)
		cache_listing_digest(&names, out);
	strv_free(&names);
	return r;
}

static bool not_listed(const struct cache_dir *d)
{
	return strspn(d->digest, "0") == 64;
}

bool cache_dir_unchanged(const struct cache_dir *d)
{
	struct stat st;
	if (lstat(d->path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_dev != d->dev || st.st_ino != d->ino)
		return false;
	if (st.st_mtim.tv_sec == d->mtime_s && st.st_mtim.tv_nsec == d->mtime_ns &&
	    st.st_ctim.tv_sec == d->ctime_s && st.st_ctim.tv_nsec == d->ctime_ns)
		return true;
	if (not_listed(d))
		return false;
	char now[65];
	return cache_dir_digest(d->path, d->dev, d->ino, now) == 0 && strcmp(now, d->digest) == 0;
}

static void cache_dir_format(sbuf *b, const struct cache_dir *d, long long walk_start_s)
{
	bool fresh = d->mtime_s > walk_start_s - CACHE_SETTLE_S || d->ctime_s > walk_start_s - CACHE_SETTLE_S;
	sbuf_addf(b, "d %llu %llu %lld %lld %lld %lld %s %s\n", (unsigned long long)d->dev,
		  (unsigned long long)d->ino, fresh ? -1LL : d->mtime_s, fresh ? -1LL : d->mtime_ns,
		  fresh ? -1LL : d->ctime_s, fresh ? -1LL : d->ctime_ns, d->digest, d->path);
}

static bool cache_dir_parse(const char *line, struct cache_dir *d)
{
	unsigned long long dev, ino;
	int off = 0;
	*d = (struct cache_dir){0};
	if (sscanf(line, "d %llu %llu %lld %lld %lld %lld %64[0-9a-f] %n", &dev, &ino, &d->mtime_s,
		   &d->mtime_ns, &d->ctime_s, &d->ctime_ns, d->digest, &off) != 7 || off <= 0 ||
	    line[off] != '/' || strlen(d->digest) != 64)
		return false;
	d->dev = (dev_t)dev;
	d->ino = (ino_t)ino;
	d->path = xstrdup(line + off);
	return true;
}

static FILE *cache_file_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	FILE *f = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_size > CACHE_MAX_BYTES || !(f = fdopen(fd, "r"))) {
		close(fd);
		return NULL;
	}
	return f;
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

static void cache_file_write(const char *path, const sbuf *b)
{
	_cleanup_free_ char *tmp = xasprintf("%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	bool ok = write_all(fd, b->s, b->len);
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

/* One line of a cache file: the frame's own here, the walk's to own_line. */
static bool frame_line(char *line, const char *magic, const char *key, bool *key_ok, bool *end,
		       struct cache_dir **seen, size_t *n_seen, size_t *cap_seen,
		       bool (*own_line)(void *ctx, const char *line), void *ctx)
{
	char *nl = strchr(line, '\n');
	if (!nl)
		return false; /* a line cut short: the file is not complete */
	*nl = '\0';
	if (strncmp(line, "key ", 4) == 0)
		return (*key_ok = strcmp(line + 4, key) == 0);
	if (strcmp(line, "end") == 0)
		return (*end = true);
	if (strcmp(line, magic) == 0)
		return true;
	if (line[0] != 'd')
		return own_line(ctx, line);
	struct cache_dir d;
	if (!cache_dir_parse(line, &d))
		return false;
	grow_array((void **)seen, cap_seen, *n_seen + 1, sizeof(**seen));
	(*seen)[(*n_seen)++] = d;
	return true;
}

bool cache_file_load(const char *path, const char *magic, const char *key, struct cache_dir **seen,
		     size_t *n_seen, size_t *cap_seen, bool (*own_line)(void *ctx, const char *line),
		     void *ctx)
{
	FILE *f = cache_file_open(path);
	if (!f)
		return false;
	char *line = NULL;
	size_t cap = 0;
	bool ok = true, key_ok = false, end = false;
	while (ok && !end && getline(&line, &cap, f) > 0)
		ok = frame_line(line, magic, key, &key_ok, &end, seen, n_seen, cap_seen, own_line, ctx);
	free(line);
	fclose(f);
	for (size_t i = 0; ok && i < *n_seen; i++)
		ok = cache_dir_unchanged(&(*seen)[i]);
	return ok && key_ok && end && *n_seen > 0;
}

void cache_file_save(const char *path, const char *magic, const char *key, const char *head,
		     const struct cache_dir *seen, size_t n_seen, const char *body,
		     long long walk_start_s)
{
	if (n_seen == 0)
		return;
	for (size_t i = 0; i < n_seen; i++)
		if (strchr(seen[i].path, '\n'))
			return;
	sbuf b = {0};
	sbuf_addf(&b, "%s\nkey %s\n%s", magic, key, head);
	for (size_t i = 0; i < n_seen; i++)
		cache_dir_format(&b, &seen[i], walk_start_s);
	sbuf_addf(&b, "%send\n", body);
	cache_file_write(path, &b);
	sbuf_free(&b);
}
