/* Host placeholders and their registry; see placeholders.h for the rules. */
#include "run/placeholders.h"

#include "common/error.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REGISTRY_DIR "placeholders"
#define LOCK_NAME "lock"
#define TMP_PREFIX "tmp."
#define RECORD_MAX (PATH_MAX + 256)

/* A process as the registry knows it. start is field 22 of /proc/<pid>/stat
 * so that a recycled pid does not pass for the owner; 0 when /proc was
 * unreadable and only the pid can be trusted. */
struct owner {
	pid_t pid;
	unsigned long long start;
};

/* What we recognise a placeholder by: anything else at the path is not ours. */
struct ident {
	dev_t dev;
	ino_t ino;
	bool dir;
};

struct record {
	char *name; /* file name in the registry */
	char *path;
	struct owner owner, janitor; /* janitor.pid == 0: none */
	struct ident id;
	bool created;
	bool alive;
	bool gone; /* unlinked since it was loaded */
};

/* The registry while we hold its lock. */
struct registry {
	int dirfd, lockfd;
	struct record *recs;
	size_t n, cap;
};

struct ph_entry {
	char *path;
	bool dir;
	bool usable;
	bool dup;        /* same path as an earlier entry of the set */
	bool registered; /* we own a record, hence a say in removal */
	bool created;
	struct ident id;
	char *record;
};

struct placeholder_set {
	char *state_dir;
	struct owner owner;
	struct ph_entry *e;
	size_t n;
	int janitor_fd; /* supervisor end of the janitor socket, or -1 */
	pid_t janitor_fork;   /* the janitor's short-lived parent, until confirmed */
	int janitor_report;   /* where the janitor says who it is, or -1 */
	bool released;
};

/* ---- processes ------------------------------------------------------- */

/* Reads state (field 3) and starttime (field 22) of /proc/<pid>/stat. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -e : -EIO;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and ')'; fields go on after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	char *save = NULL;
	int field = 2;
	for (char *tok = strtok_r(p + 1, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 3)
			*state = tok[0];
		if (field == 22) {
			*start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -EIO;
}

static struct owner self_owner(void)
{
	struct owner o = { .pid = getpid(), .start = 0 };
	char state;
	proc_stat(o.pid, &state, &o.start);
	return o;
}

static bool owner_alive(const struct owner *o)
{
	unsigned long long start = 0;
	char state = 0;

	if (o->pid <= 0)
		return false;
	if (kill(o->pid, 0) < 0 && errno == ESRCH)
		return false;
	if (proc_stat(o->pid, &state, &start) < 0)
		/* Exited between the two calls, unless /proc is unreadable
		 * altogether, where kill() is all we have. */
		return access("/proc/self/stat", R_OK) != 0;
	/* A zombie has closed its fds and left its namespaces: it uses
	 * nothing, and its parent may take long to reap it. */
	if (state == 'Z' || state == 'X')
		return false;
	return o->start == 0 || o->start == start;
}

static bool record_alive(const struct record *r, pid_t ignore_janitor)
{
	if (owner_alive(&r->owner))
		return true;
	return r->janitor.pid > 0 && r->janitor.pid != ignore_janitor &&
	       owner_alive(&r->janitor);
}

/* ---- record files ---------------------------------------------------- */

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

char *placeholders_record_name(const char *path, pid_t pid, unsigned long long start)
{
	return xasprintf("%016" PRIx64 ".%d.%llu", fnv1a64(path), (int)pid, start);
}

static bool parse_uint(const char *s, char stop, unsigned long long *v,
		       const char **end)
{
	char *e;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &e, 10);
	if (errno || *e != stop)
		return false;
	*end = e;
	return true;
}

static bool parse_record_name(const char *name, uint64_t *hash,
			      struct owner *o)
{
	unsigned long long pid, start;
	const char *p;

	for (int i = 0; i < 16; i++)
		if (!name[i] || !strchr("0123456789abcdef", name[i]))
			return false;
	if (name[16] != '.')
		return false;
	if (!parse_uint(name + 17, '.', &pid, &p) || pid == 0 || pid > INT_MAX)
		return false;
	if (!parse_uint(p + 1, '\0', &start, &p))
		return false;
	*hash = strtoull(name, NULL, 16);
	o->pid = (pid_t)pid;
	o->start = start;
	return true;
}

/* Splits off the next '\n'-terminated line of *s. */
static char *next_line(char **s)
{
	char *line = *s, *nl = strchr(line, '\n');
	if (!nl)
		return NULL;
	*nl = '\0';
	*s = nl + 1;
	return line;
}

static bool parse_record(char *buf, struct record *r)
{
	char kind[16], type;
	unsigned long long dev, ino, start;
	int pid, off = 0;
	char *s = buf, *line;

	line = next_line(&s);
	if (!line || sscanf(line, "%15s %llu %llu %c%n", kind, &dev, &ino,
			    &type, &off) != 4 || line[off])
		return false;
	if (strcmp(kind, "created") && strcmp(kind, "borrowed"))
		return false;
	if (type != 'd' && type != 'f')
		return false;
	line = next_line(&s);
	if (!line || line[0] != '/')
		return false;
	r->path = xstrdup(line);
	r->created = kind[0] == 'c';
	r->id = (struct ident){ (dev_t)dev, (ino_t)ino, type == 'd' };
	r->janitor = (struct owner){ 0, 0 };
	if (*s) {
		line = next_line(&s);
		off = 0;
		if (!line || *s ||
		    sscanf(line, "janitor %d %llu%n", &pid, &start, &off) != 2 ||
		    line[off] || pid <= 0) {
			free(r->path);
			r->path = NULL;
			return false;
		}
		r->janitor = (struct owner){ pid, start };
	}
	return true;
}

static char *read_small_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = xmalloc(RECORD_MAX + 1);
	size_t len = 0;
	ssize_t n;
	while (len < RECORD_MAX &&
	       (n = read(fd, buf + len, RECORD_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			len = 0;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static void records_free(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->recs[i].name);
		free(r->recs[i].path);
	}
	free(r->recs);
	r->recs = NULL;
	r->n = r->cap = 0;
}

/* Loads every record, judging each owner's liveness once. Debris from a
 * writer that died holding the lock, and unreadable records of dead owners,
 * are removed on the way. */
static void registry_load(struct registry *r, pid_t ignore_janitor)
{
	int fd = openat(r->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		struct record rec = { 0 };
		uint64_t hash;

		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    !strcmp(name, LOCK_NAME))
			continue;
		if (!strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX))) {
			unlinkat(r->dirfd, name, 0);
			continue;
		}
		if (!parse_record_name(name, &hash, &rec.owner))
			continue; /* not ours to judge */
		_cleanup_free_ char *text = read_small_file(r->dirfd, name);
		if (!text || !parse_record(text, &rec) ||
		    fnv1a64(rec.path) != hash) {
			free(rec.path);
			if (!owner_alive(&rec.owner))
				unlinkat(r->dirfd, name, 0);
			continue;
		}
		rec.name = xstrdup(name);
		rec.alive = record_alive(&rec, ignore_janitor);
		grow_array((void **)&r->recs, &r->cap, r->n + 1, sizeof(rec));
		r->recs[r->n++] = rec;
	}
	closedir(d);
}

static int registry_open(const char *state_dir, struct registry *r,
			 bool create, ab_error *err)
{
	_cleanup_free_ char *dir = path_join(state_dir, REGISTRY_DIR);

	*r = (struct registry){ .dirfd = -1, .lockfd = -1 };
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dirfd < 0)
		goto fail;
	r->lockfd = openat(r->dirfd, LOCK_NAME,
			   O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (r->lockfd < 0)
		goto fail;
	while (flock(r->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			goto fail;
	return 0;
fail:;
	int e = errno;
	if (r->lockfd >= 0)
		close(r->lockfd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = r->lockfd = -1;
	ab_fail_errno(err, e, "cannot open the placeholder registry %s", dir);
	ab_error_hint(err, "It lives in agentbox's state directory; check that "
			   "%s is yours and writable, or remove it.", state_dir);
	return -e;
}

static void registry_close(struct registry *r)
{
	records_free(r);
	if (r->lockfd >= 0)
		close(r->lockfd); /* drops the flock */
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = r->lockfd = -1;
}

static void registry_unlink(struct registry *r, struct record *rec)
{
	unlinkat(r->dirfd, rec->name, 0);
	rec->gone = true;
}

static void drop_dead_records(struct registry *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++) {
		struct record *rec = &r->recs[i];
		if (!rec->gone && !rec->alive && !strcmp(rec->path, path))
			registry_unlink(r, rec);
	}
}

static bool path_in_use(const struct registry *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct record *rec = &r->recs[i];
		if (!rec->gone && rec->alive && !strcmp(rec->path, path))
			return true;
	}
	return false;
}

/* Writes a record atomically (temp file + rename): a half-written record
 * would lose the identity that makes removal safe. */
static int registry_write(struct registry *r, const struct ph_entry *e,
			  const struct owner *janitor, bool replace)
{
	char tmp[32];
	sbuf b = { 0 };
	int fd, ret = 0;

	sbuf_addf(&b, "%s %llu %llu %c\n%s\n",
		  e->created ? "created" : "borrowed",
		  (unsigned long long)e->id.dev, (unsigned long long)e->id.ino,
		  e->id.dir ? 'd' : 'f', e->path);
	if (janitor && janitor->pid > 0)
		sbuf_addf(&b, "janitor %d %llu\n", (int)janitor->pid,
			  janitor->start);

	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d", (int)getpid());
	fd = openat(r->dirfd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t n = write(fd, b.s + off, b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat2(r->dirfd, tmp, r->dirfd, e->record,
			      replace ? 0 : RENAME_NOREPLACE) < 0) {
		ret = -errno;
		/* Filesystems without RENAME_NOREPLACE: the lock makes a
		 * check-then-rename safe among agentbox runs. */
		if (ret == -EINVAL && !replace) {
			if (faccessat(r->dirfd, e->record, F_OK,
				      AT_SYMLINK_NOFOLLOW) == 0)
				ret = -EEXIST;
			else if (renameat(r->dirfd, tmp, r->dirfd, e->record) == 0)
				ret = 0;
			else
				ret = -errno;
		}
	}
	if (ret)
		unlinkat(r->dirfd, tmp, 0);
out:
	sbuf_free(&b);
	return ret;
}

/* ---- the placeholders themselves ------------------------------------- */

/* Component walk for kernels before openat2 (5.6). */
static int open_dir_nofollow_walk(const char *dir)
{
	_cleanup_free_ char *copy = xstrdup(dir);
	char *save = NULL;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (char *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
		if (next < 0) {
			int e = errno;
			struct stat st;
			/* O_PATH|O_NOFOLLOW reports a symlink as ENOTDIR. */
			if (e == ENOTDIR &&
			    fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				e = ELOOP;
			close(fd);
			return -e;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

/* Opens the parent of `path` refusing any symlink on the way: the parent
 * is in a writable area, so this is where a race could redirect us. */
static int open_parent(const char *path, const char **name)
{
	_cleanup_free_ char *parent = path_parent(path);
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS,
	};

	*name = strrchr(path, '/') + 1;
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, AT_FDCWD, parent, &how,
				  sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno == EAGAIN && tries < 16)
			continue;
		if (errno == ENOSYS)
			return open_dir_nofollow_walk(parent);
		return -errno;
	}
}

static bool same_ident(const struct stat *st, const struct ident *id)
{
	return st->st_dev == id->dev && st->st_ino == id->ino &&
	       (S_ISDIR(st->st_mode) ? id->dir : !id->dir && S_ISREG(st->st_mode));
}

/* Removes the placeholder if it is still exactly what we created and still
 * empty; anything else at the path belongs to someone else now. */
static void remove_placeholder(const char *path, const struct ident *id)
{
	const char *name;
	struct stat st;
	_cleanup_close_ int pfd = open_parent(path, &name);

	if (pfd < 0 || fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!same_ident(&st, id))
		return;
	if (id->dir)
		unlinkat(pfd, name, AT_REMOVEDIR); /* fails when not empty */
	else if (st.st_size == 0)
		unlinkat(pfd, name, 0);
}

static int fail_parent(ab_error *err, int code, const char *path)
{
	_cleanup_free_ char *parent = path_parent(path);

	switch (code) {
	case ELOOP:
		ab_fail(err, code,
			"cannot create placeholder %s: its parent path %s "
			"contains a symlink",
			path, parent);
		ab_error_hint(err,
			      "The path was canonical when the plan was made, so "
			      "something replaced a directory with a symlink since "
			      "(a concurrent process, or tampering). Check %s and "
			      "run again.",
			      parent);
		break;
	case ENOENT:
		ab_fail(err, code,
			"cannot create placeholder %s: parent directory %s does "
			"not exist",
			path, parent);
		ab_error_hint(err, "Only the first missing component of a "
				   "protected path gets a placeholder; the "
				   "directory changed since the plan was made. "
				   "Run again.");
		break;
	default:
		ab_fail_errno(err, code,
			      "cannot create placeholder %s: cannot open parent "
			      "directory %s",
			      path, parent);
		break;
	}
	return -code;
}

static int register_entry(struct registry *r, struct placeholder_set *set,
			  struct ph_entry *e, ab_error *err)
{
	e->record = placeholders_record_name(e->path, set->owner.pid, set->owner.start);
	int ret = registry_write(r, e, NULL, false);
	if (ret == -EEXIST) {
		ab_fail(err, EEXIST,
			"placeholder %s is already registered by this process "
			"(pid %d)",
			e->path, (int)set->owner.pid);
		ab_error_hint(err, "One process cannot hold two placeholder "
				   "sets naming the same path; release the "
				   "first one.");
	} else if (ret < 0) {
		ab_fail_errno(err, -ret,
			      "cannot write placeholder record %s for %s",
			      e->record, e->path);
	}
	if (ret < 0) {
		free(e->record);
		e->record = NULL;
		return ret;
	}
	e->registered = true;
	return 0;
}

/* The path exists. It is a placeholder of ours if a record knows its
 * identity; otherwise it is the user's and stays out of the registry. */
static int adopt_existing(struct registry *r, struct placeholder_set *set,
			  struct ph_entry *e, const struct stat *st,
			  ab_error *err)
{
	const struct record *live = NULL, *dead = NULL;
	int ret = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct record *rec = &r->recs[i];
		if (rec->gone || strcmp(rec->path, e->path) ||
		    !same_ident(st, &rec->id))
			continue;
		if (rec->alive)
			live = rec;
		else
			dead = rec;
	}
	if (live || dead) {
		/* Without a live user the placeholder is ours to clean. */
		e->created = !live;
		e->id = (live ? live : dead)->id;
		ret = register_entry(r, set, e, err);
	}
	/* Written first, dropped after: the dead records are the only
	 * memory of the placeholder until ours is on disk. */
	if (ret == 0)
		drop_dead_records(r, e->path);
	return ret;
}

/* Creates an empty dir or file; *st gets its identity. */
static int create_placeholder(int pfd, const char *name, bool dir,
			      struct stat *st)
{
	if (dir) {
		if (mkdirat(pfd, name, 0755) < 0)
			return -errno;
		return fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
								       : 0;
	}
	_cleanup_close_ int fd = openat(
		pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		0644);
	if (fd < 0)
		return -errno;
	return fstat(fd, st) < 0 ? -errno : 0;
}

static int acquire_one(struct registry *r, struct placeholder_set *set,
		       struct ph_entry *e, ab_error *err)
{
	const char *name;
	struct stat st;
	int ret;
	_cleanup_close_ int pfd = open_parent(e->path, &name);

	if (pfd == -EACCES) {
		/* The user cannot reach the parent, so neither can the
		 * sandboxed command create anything there. */
		e->usable = false;
		return 0;
	}
	if (pfd < 0)
		return fail_parent(err, -pfd, e->path);

	for (int tries = 0;; tries++) {
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return adopt_existing(r, set, e, &st, err);
		if (errno != ENOENT)
			return ab_fail_errno(err, errno, "cannot inspect %s",
					     e->path);
		ret = create_placeholder(pfd, name, e->dir, &st);
		/* EEXIST: someone else made it meanwhile; judge that. */
		if (ret != -EEXIST || tries == 3)
			break;
	}
	if (ret == -EACCES || ret == -EPERM || ret == -EROFS) {
		e->usable = false;
		return 0;
	}
	if (ret < 0)
		return ab_fail_errno(err, -ret, "cannot create placeholder %s",
				     e->path);

	e->created = true;
	e->id = (struct ident){ st.st_dev, st.st_ino, S_ISDIR(st.st_mode) };
	ret = register_entry(r, set, e, err);
	if (ret < 0) {
		remove_placeholder(e->path, &e->id);
		return ret;
	}
	drop_dead_records(r, e->path);
	return 0;
}

/* ---- sets -------------------------------------------------------------- */

/* Unregisters the set's entries, then removes each placeholder that no live
 * run still records. */
static void release_locked(struct registry *r, struct placeholder_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct ph_entry *e = &set->e[i];
		if (!e->registered)
			continue;
		unlinkat(r->dirfd, e->record, 0);
		for (size_t j = 0; j < r->n; j++)
			if (!strcmp(r->recs[j].name, e->record))
				r->recs[j].gone = true;
	}
	for (size_t i = 0; i < set->n; i++) {
		struct ph_entry *e = &set->e[i];
		if (!e->registered)
			continue;
		e->registered = false;
		if (!path_in_use(r, e->path))
			remove_placeholder(e->path, &e->id);
		drop_dead_records(r, e->path);
	}
}

static void set_free(struct placeholder_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->e[i].path);
		free(set->e[i].record);
	}
	free(set->e);
	free(set->state_dir);
	free(set);
}

static bool set_has_records(const struct placeholder_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->e[i].registered)
			return true;
	return false;
}

static int check_request(const struct placeholder_request *rq, ab_error *err)
{
	if (!rq->path || !path_is_absolute(rq->path) || !strcmp(rq->path, "/"))
		return ab_fail(err, EINVAL,
			       "placeholder path \"%s\" is not an absolute path "
			       "below /",
			       rq->path ? rq->path : "(null)");
	_cleanup_free_ char *norm = path_normalize(rq->path);
	if (strcmp(norm, rq->path) || path_has_dotdot(rq->path))
		return ab_fail(err, EINVAL,
			       "placeholder path %s is not canonical", rq->path);
	/* The record format is line based. */
	if (strchr(rq->path, '\n'))
		return ab_fail(err, EINVAL,
			       "cannot protect a missing path whose name contains "
			       "a newline: %s",
			       rq->path);
	return 0;
}

int placeholders_acquire(const char *state_dir,
			 const struct placeholder_request *req, size_t n,
			 struct placeholder_set **out, ab_error *err)
{
	struct placeholder_set *set;
	struct registry r;
	int ret;

	for (size_t i = 0; i < n; i++)
		if ((ret = check_request(&req[i], err)) < 0)
			return ret;

	set = xcalloc(1, sizeof(*set));
	set->state_dir = xstrdup(state_dir);
	set->owner = self_owner();
	set->janitor_fd = -1;
	set->janitor_report = -1;
	set->n = n;
	set->e = xcalloc(n, sizeof(*set->e));
	for (size_t i = 0; i < n; i++) {
		set->e[i].path = xstrdup(req[i].path);
		set->e[i].dir = req[i].dir;
		set->e[i].usable = true;
	}
	if (n == 0)
		goto done;

	ret = registry_open(state_dir, &r, true, err);
	if (ret < 0) {
		set_free(set);
		return ret;
	}
	registry_load(&r, 0);
	for (size_t i = 0; i < n; i++) {
		struct ph_entry *e = &set->e[i];
		for (size_t j = 0; j < i && !e->dup; j++) {
			if (!set->e[j].dup && !strcmp(set->e[j].path, e->path)) {
				e->dup = true;
				e->usable = set->e[j].usable;
			}
		}
		if (e->dup)
			continue;
		ret = acquire_one(&r, set, e, err);
		if (ret < 0) {
			release_locked(&r, set);
			registry_close(&r);
			set_free(set);
			return ret;
		}
	}
	registry_close(&r);
done:
	*out = set;
	return 0;
}

bool placeholders_usable(const struct placeholder_set *set, size_t i)
{
	return set && i < set->n && set->e[i].usable;
}

void placeholders_release(struct placeholder_set *set)
{
	struct registry r;

	if (!set || set->released)
		return;
	set->released = true;
	if (set_has_records(set) &&
	    registry_open(set->state_dir, &r, false, NULL) == 0) {
		registry_load(&r, 0);
		release_locked(&r, set);
		registry_close(&r);
	}
	if (set->janitor_fd < 0)
		set_free(set);
}

/* ---- sweeping ------------------------------------------------------------ */

static bool registry_has_records(const char *state_dir)
{
	_cleanup_free_ char *dir = path_join(state_dir, REGISTRY_DIR);
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			strcmp(de->d_name, LOCK_NAME);
	closedir(d);
	return found;
}

/* ignore_janitor: the janitor sweeping for its dead owner must not count
 * itself as keeping that owner's records alive. */
static void sweep(const char *state_dir, pid_t ignore_janitor)
{
	struct registry r;

	if (!registry_has_records(state_dir))
		return;
	if (registry_open(state_dir, &r, false, NULL) < 0)
		return;
	registry_load(&r, ignore_janitor);
	for (size_t i = 0; i < r.n; i++) {
		const char *path = r.recs[i].path;
		if (r.recs[i].gone || r.recs[i].alive)
			continue;
		if (!path_in_use(&r, path))
			for (size_t j = i; j < r.n; j++)
				if (!r.recs[j].gone &&
				    !strcmp(r.recs[j].path, path))
					remove_placeholder(path, &r.recs[j].id);
		drop_dead_records(&r, path);
	}
	registry_close(&r);
}

void placeholders_sweep(const char *state_dir)
{
	sweep(state_dir, 0);
}

/* ---- janitor ----------------------------------------------------------- */

static void close_all_except(int *keep, size_t n)
{
	/* Sorted so the gaps between kept fds can be closed as ranges. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned int from = 3;
	for (size_t i = 0; i <= n; i++) {
		unsigned int to = i < n ? (unsigned int)keep[i] : ~0U;
		if (to > from && close_range(from, to - 1, 0) < 0) {
			long max = sysconf(_SC_OPEN_MAX);
			for (long fd = from; fd < (i < n ? (long)to : max); fd++)
				close((int)fd);
		}
		from = to + 1;
	}
}

static int fd_above_stdio(int fd)
{
	if (fd > 2)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs in the detached grandchild; never returns. */
static void janitor_main(struct placeholder_set *set, int sup, int sandbox,
			 int report)
{
	int keep[3];
	sigset_t none;
	char c;
	ssize_t n;

	setsid();
	keep[0] = sup = fd_above_stdio(sup);
	keep[1] = sandbox = fd_above_stdio(sandbox);
	keep[2] = report = fd_above_stdio(report);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	/* Anything else held open here (say the caller's stdout pipe) would
	 * keep its readers waiting for an EOF as long as we live. */
	close_all_except(keep, 3);
	if (chdir("/") < 0)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct owner me = self_owner();
	if (write(report, &me, sizeof(me)) != (ssize_t)sizeof(me))
		_exit(1);
	close(report);

	for (;;) {
		n = read(sup, &c, 1);
		if (n == 1 && c == 'D')
			_exit(0); /* release already cleaned up */
		if (n == 1 || (n < 0 && errno == EINTR))
			continue;
		break; /* EOF without 'D': agentbox died */
	}
	/* Its sandbox may still use the placeholders as mountpoints; the
	 * sandbox pipe hits EOF once bwrap and the sandbox are gone. */
	char buf[64];
	while ((n = read(sandbox, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EINTR)
			break;
	/* The supervisor socket closes while the owner is still exiting;
	 * wait (bounded) until liveness checks see it dead. */
	for (int i = 0; i < 1000 && owner_alive(&set->owner); i++)
		sleep_ms(10);
	sweep(set->state_dir, me.pid);
	_exit(0);
}

/* Tells the records who stands in for us if we die before the sandbox. */
static int register_janitor(struct placeholder_set *set,
			    const struct owner *janitor, ab_error *err)
{
	struct registry r;
	int ret = 0;

	if (!set_has_records(set))
		return 0;
	ret = registry_open(set->state_dir, &r, true, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < set->n && ret == 0; i++) {
		struct ph_entry *e = &set->e[i];
		if (!e->registered)
			continue;
		ret = registry_write(&r, e, janitor, true);
		if (ret < 0)
			ab_fail_errno(err, -ret,
				      "cannot update placeholder record %s",
				      e->record);
	}
	registry_close(&r);
	return ret;
}

int placeholders_start_janitor(struct placeholder_set *set, int *sandbox_fd_out,
			       ab_error *err)
{
	/* A socket rather than a pipe for the supervisor channel: writing
	 * 'D' with MSG_NOSIGNAL cannot raise SIGPIPE if the janitor is gone. */
	int sup[2], sbx[2] = { -1, -1 }, rep[2] = { -1, -1 };
	pid_t pid;
	int ret;

	if (set->janitor_fd >= 0 || set->released)
		return ab_fail(err, EBUSY,
			       "placeholder janitor already started or set "
			       "released");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sup) < 0)
		return ab_fail_errno(err, errno, "cannot create janitor socket");
	if (pipe2(sbx, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		ret = ab_fail_errno(err, errno, "cannot create janitor pipe");
		goto fail_fds;
	}

	pid = fork();
	if (pid < 0) {
		ret = ab_fail_errno(err, errno, "cannot fork placeholder janitor");
		goto fail_fds;
	}
	if (pid == 0) {
		/* Double fork: the janitor must not be our child, or our
		 * death would leave it to whatever reaps our children. */
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		close(sup[0]);
		close(sbx[1]);
		close(rep[0]);
		janitor_main(set, sup[1], sbx[0], rep[1]);
	}
	close(sup[1]);
	close(sbx[0]);
	close(rep[1]);
	set->janitor_fd = sup[0];
	set->janitor_fork = pid;
	set->janitor_report = rep[0];
	/* bwrap must inherit it for --sync-fd. */
	fcntl(sbx[1], F_SETFD, 0);
	*sandbox_fd_out = sbx[1];
	return 0;

fail_fds:
	for (int i = 0; i < 2; i++) {
		if (sup[i] >= 0)
			close(sup[i]);
		if (sbx[i] >= 0)
			close(sbx[i]);
		if (rep[i] >= 0)
			close(rep[i]);
	}
	return ret;
}

int placeholders_confirm_janitor(struct placeholder_set *set, ab_error *err)
{
	struct owner janitor;
	ssize_t n;

	if (set->janitor_report < 0)
		return 0;
	while (waitpid(set->janitor_fork, NULL, 0) < 0 && errno == EINTR)
		;
	while ((n = read(set->janitor_report, &janitor, sizeof(janitor))) < 0 &&
	       errno == EINTR)
		;
	close(set->janitor_report);
	set->janitor_report = -1;
	if (n != (ssize_t)sizeof(janitor))
		return ab_fail(err, EIO, "placeholder janitor failed to start");
	return register_janitor(set, &janitor, err);
}

void placeholders_finish_janitor(struct placeholder_set *set)
{
	if (!set)
		return;
	if (set->janitor_report >= 0) {
		/* Never confirmed (the run failed first): still reap the
		 * janitor's short-lived parent. */
		while (waitpid(set->janitor_fork, NULL, 0) < 0 && errno == EINTR)
			;
		close(set->janitor_report);
		set->janitor_report = -1;
	}
	if (set->janitor_fd >= 0) {
		char c = 'D';
		while (send(set->janitor_fd, &c, 1, MSG_NOSIGNAL) < 0 &&
		       errno == EINTR)
			;
		close(set->janitor_fd);
		set->janitor_fd = -1;
	}
	if (set->released)
		set_free(set);
}
