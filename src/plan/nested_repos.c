/* The search for nested repositories and submodules under each writable
 * root. protected.c keeps a root's own .git read-only; a repository
 * further down (vendor/lib/.git, a submodule's .git pointer file) would
 * otherwise stay writable, and a hook planted there runs on the host the
 * next time the user types `git commit` in it. Every directory is opened
 * by fd below its parent (O_NOFOLLOW|O_DIRECTORY), so a concurrent writer
 * cannot redirect the walk; the nodes record device and inode, so a swap
 * between the walk and the mounts is caught by the backend (expect.c).
 * The walk stays on the root's filesystem, enters no build-output tree
 * without a .git directly inside, and is bounded in entries and time:
 * at the bound the run is refused unless the user accepted a partial
 * search (--git-scan-partial). */
#include "plan/nested_repos.h"
#include "plan/git_scan_cache.h"
#include "plan/stat_memo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/plan.h"

/* Installed packages, caches and build output: large, and a repository
 * inside would be a copy, not one the user works in. Entered anyway when
 * a .git lies directly inside. */
const char *const git_scan_skipped_dirs[] = {
	"node_modules", "bower_components", "target", "build", "dist", "out",
	".venv", "venv", "__pycache__", ".tox", ".nox", ".mypy_cache",
	".pytest_cache", ".gradle", ".next", ".cache", ".cargo", NULL,
};

struct scan {
	struct plan *plan;
	struct git_repo_list *repos;
	int depth;
	dev_t dev;
	size_t entries, max_entries, dirs, found;
	double deadline;
	bool bound_hit;
	bool record;                /* for the cache: off without one */
	struct git_scan_record rec; /* what the walk read, for the cache */
	ab_error *err;
};

void git_repo_list_free(struct git_repo_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].worktree);
		free(l->v[i].gitdir);
		free(l->v[i].commondir);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool is_skipped_dir(const char *name)
{
	for (size_t i = 0; git_scan_skipped_dirs[i]; i++)
		if (strcmp(git_scan_skipped_dirs[i], name) == 0)
			return true;
	return false;
}

/* `.git` found in the directory `path` (dirfd) at `level` below the root. */
static int found_dotgit(struct scan *s, int dirfd, const char *path, int level)
{
	struct stat st;
	if (fstatat(dirfd, ".git", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* gone since readdir */
	_cleanup_free_ char *dotgit = path_join(path, ".git");
	if (S_ISLNK(st.st_mode) && level == 0)
		return 0; /* the root's own: protected.c refuses it or a rule names it */
	if (S_ISLNK(st.st_mode))
		return ab_fail(s->err, ELOOP,
			       "nested repository %s: its .git is a symbolic link; agentbox refuses to run because the sandboxed command could re-point it\n"
			       "fix: replace the link by the directory it points to, or lower --git-scan-depth below %d",
			       path, level);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return 0;
	if (level > 0 && s->plan->git == AB_GIT_COMMIT && S_ISDIR(st.st_mode) && git_dir_looks_valid(dotgit)) {
		/* --git commit holds for every repository under the roots, not
		 * only the top-level one: writable but for what git trusts */
		_cleanup_free_ char *why = xasprintf(
			"--git commit: nested repository %s, depth %d (git scan), writable but for what git trusts",
			path, level);
		int r = git_commit_open_dir(s->plan, dotgit, why, false, s->err);
		if (r < 0)
			return r;
		if (r == 1) {
			s->found++;
			plan_add_git_repo(s->plan, path, dotgit, dotgit, true);
			return git_repo_record(s->plan, s->repos, dirfd, path, false, s->err);
		}
	}
	if (level > 0) {
		/* level 0 is the root's own .git: protected.c's */
		_cleanup_free_ char *why = xasprintf("nested repository %s, depth %d (git scan)%s", path, level,
						     S_ISREG(st.st_mode) ? ": its .git pointer file" : "");
		int idx = plan_add_node_exact(s->plan, dotgit, AB_ACCESS_READ, NODE_GITDIR, why, s->err);
		if (idx < 0)
			return idx;
		s->found++;
	}
	return git_repo_record(s->plan, s->repos, dirfd, path, S_ISREG(st.st_mode), s->err);
}

/* Records a directory the walk read or looked into (plan/git_scan_cache.h);
 * returns its index. */
static size_t seen(struct scan *s, const char *path, const struct stat *st)
{
	struct git_scan_record *r = &s->rec;
	if (!s->record)
		return 0;
	grow_array((void **)&r->seen, &r->cap_seen, r->n_seen + 1, sizeof(*r->seen));
	r->seen[r->n_seen] = cache_dir_from_stat(path, st);
	return r->n_seen++;
}

/* `.git` in the directory `path` (dirfd): recorded for the cache, then
 * protected. */
static int found_here(struct scan *s, int dirfd, const char *path, int level)
{
	struct stat st;
	if (!s->record)
		return found_dotgit(s, dirfd, path, level);
	if (fstat(dirfd, &st) < 0)
		return ab_fail_errno(s->err, errno, "searching %s for nested git repositories", path);
	struct git_scan_record *r = &s->rec;
	grow_array((void **)&r->found, &r->cap_found, r->n_found + 1, sizeof(*r->found));
	r->found[r->n_found++] = (struct git_scan_found){
		.path = xstrdup(path), .level = level, .dev = st.st_dev, .ino = st.st_ino,
	};
	return found_dotgit(s, dirfd, path, level);
}

static bool over_bound(struct scan *s)
{
	if (++s->entries > s->max_entries || ((s->entries & 255) == 0 && monotonic_ms() > s->deadline))
		s->bound_hit = true;
	return s->bound_hit;
}

static int scan_dir(struct scan *s, int dirfd, const char *path, int level)
{
	/* at the depth limit only .git itself matters: no need to list */
	if (level >= s->depth) {
		struct stat st;
		s->dirs++;
		if (over_bound(s))
			return 0;
		if (fstat(dirfd, &st) < 0)
			return ab_fail_errno(s->err, errno, "searching %s for nested git repositories", path);
		/* not listed: the cache reuses it only while its times hold */
		seen(s, path, &st);
		if (fstatat(dirfd, ".git", &st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0;
		return found_here(s, dirfd, path, level);
	}
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ab_fail_errno(s->err, e, "searching %s for nested git repositories", path);
	}
	s->dirs++;
	struct stat self;
	if (fstat(dirfd, &self) < 0) {
		int e = errno;
		closedir(d);
		return ab_fail_errno(s->err, e, "searching %s for nested git repositories", path);
	}
	size_t me = seen(s, path, &self);
	strv names = {0};
	int r = 0;
	struct dirent *de;
	while (r == 0 && !over_bound(s) && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		unsigned char type = cache_entry_type(dirfd, de);
		if (type && s->record)
			strv_push_owned(&names, cache_listing_name(type, name));
		if (strcmp(name, ".git") == 0) {
			r = found_here(s, dirfd, path, level);
			continue;
		}
		if (type != DT_DIR)
			continue;
		_cleanup_free_ char *child = path_join(path, name);
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			/* not a directory or a link (ENOTDIR, ELOOP), gone
			 * (ENOENT), or one this user cannot read (EACCES):
			 * nothing the user's git could use either; the one
			 * it cannot read is recorded, so that the cache is
			 * refused once its mode changes */
			struct stat st;
			if (errno == EACCES && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
				seen(s, child, &st);
			else if (errno != ENOTDIR && errno != ELOOP && errno != ENOENT && errno != EACCES)
				r = ab_fail_errno(s->err, errno, "searching %s for nested git repositories", child);
			continue;
		}
		struct stat st;
		struct stat g;
		if (fstat(sub, &st) < 0) {
			r = ab_fail_errno(s->err, errno, "searching %s for nested git repositories", child);
		} else if (st.st_dev != s->dev ||
			   (is_skipped_dir(name) && fstatat(sub, ".git", &g, AT_SYMLINK_NOFOLLOW) < 0)) {
			/* not entered (another filesystem, or a skipped tree
			 * with no .git directly inside): recorded without
			 * its listing, so that a .git created in it, or a
			 * mount going away, refuses the cache */
			seen(s, child, &st);
		} else {
			r = scan_dir(s, sub, child, level + 1);
		}
		close(sub);
	}
	if (r == 0 && !s->bound_hit && errno && errno != EACCES)
		r = ab_fail_errno(s->err, errno, "reading the directory %s while searching for nested git repositories", path);
	if (r == 0 && !s->bound_hit && s->record)
		cache_listing_digest(&names, s->rec.seen[me].digest);
	strv_free(&names);
	closedir(d);
	return r;
}

static size_t max_entries(void)
{
	const char *v = getenv("AGENTBOX_GIT_SCAN_MAX_ENTRIES");
	char *end;
	unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
	return n > 0 && !*end && n < GIT_SCAN_MAX_ENTRIES ? n : GIT_SCAN_MAX_ENTRIES;
}

/* /tmp and $TMPDIR are shared scratch space: other programs create and
 * delete repositories there all the time, and a nested one that vanished
 * between the search and the mounts would fail the run. Only their own
 * .git is looked at; a repository there is searched when it is the
 * working directory or a writable root of its own. */
static bool is_shared_tmp(const char *root, const struct plan_context *ctx)
{
	if (strcmp(root, "/tmp") == 0)
		return true;
	if (!ctx->tmpdir || !path_is_absolute(ctx->tmpdir))
		return false;
	_cleanup_free_ char *t = path_normalize(ctx->tmpdir);
	_cleanup_free_ char *real = realpath(t, NULL);
	return strcmp(root, t) == 0 || (real && strcmp(root, real) == 0);
}

/* The scan of `root` from the cache: every directory the saved walk read
 * is unchanged, so it found .git in the same directories. Each is opened
 * again (no link followed) and must still be the directory recorded;
 * found_dotgit then looks at its .git as a walk would. Returns 1 when the
 * cache could not be used after all (walk), 0 or an error otherwise. */
static int replay(struct scan *s, const struct git_scan_record *rec)
{
	int *fds = xcalloc(rec->n_found ? rec->n_found : 1, sizeof(int));
	size_t opened = 0;
	bool ok = true;
	for (; ok && opened < rec->n_found; opened++) {
		const struct git_scan_found *g = &rec->found[opened];
		struct stat st;
		fds[opened] = open(g->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		ok = fds[opened] >= 0 && fstat(fds[opened], &st) == 0 && st.st_dev == g->dev &&
		     st.st_ino == g->ino;
	}
	int r = ok ? 0 : 1;
	for (size_t i = 0; r == 0 && i < rec->n_found; i++)
		r = found_dotgit(s, fds[i], rec->found[i].path, rec->found[i].level);
	for (size_t i = 0; i < opened; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	if (r != 1) {
		s->dirs = rec->dirs;
		s->entries = rec->entries;
	}
	return r;
}

static int scan_root(struct plan *plan, const char *root, int depth, bool partial, bool note,
		     struct git_repo_list *repos, const char *cache_dir, ab_error *err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ab_fail_errno(err, e, "opening the writable root %s to search it for nested git repositories", root);
	}
	double start = monotonic_ms();
	struct scan s = {
		.plan = plan, .repos = repos, .depth = depth, .dev = st.st_dev,
		.max_entries = max_entries(), .deadline = start + GIT_SCAN_MAX_MS, .err = err,
	};
	/* depth 0 looks at one .git: nothing worth caching */
	char key[65];
	struct git_scan_record rec = {0};
	s.record = depth > 0 && cache_dir;
	if (s.record)
		git_scan_cache_key(root, depth, s.max_entries, GIT_SCAN_MAX_MS, key);
	bool cached = s.record && git_scan_cache_load(cache_dir, key, &rec);
	int r = cached ? replay(&s, &rec) : 1;
	git_scan_record_free(&rec);
	if (r == 1) {
		cached = false;
		time_t wall_start = time(NULL);
		r = scan_dir(&s, fd, root, 0);
		if (r == 0 && !s.bound_hit && s.record) {
			s.rec.dirs = s.dirs;
			s.rec.entries = s.entries;
			git_scan_cache_save(cache_dir, key, &s.rec, (long long)wall_start);
			/* written just now: what this resolution looked up
			 * there before is out of date (plan/stat_memo.h) */
			stat_memo_forget(cache_dir);
		}
	}
	git_scan_record_free(&s.rec);
	close(fd);
	if (r < 0)
		return r;
	double ms = monotonic_ms() - start;
	plan->git_nested_found += s.found;
	if (s.bound_hit && !partial)
		return ab_fail(err, E2BIG,
			       "the search for nested git repositories under %s reached its bound (%zu entries or %d ms) at depth %d; a repository it did not reach would stay writable, and git runs its hooks on the host, so agentbox refuses to run\n"
			       "fix: lower the depth (--git-scan-depth N, or \"git_scan_depth\" in the policy; 0 = the top-level .git only), run in a smaller directory, or pass --git-scan-partial to protect only what the search reached",
			       root, s.max_entries, GIT_SCAN_MAX_MS, depth);
	if (s.bound_hit)
		plan_add_warning(plan, "git_scan_partial", root,
				 "the search for nested git repositories under %s stopped at its bound (%zu entries or %d ms); repositories it did not reach are not protected (--git-scan-partial)",
				 root, s.max_entries, GIT_SCAN_MAX_MS);
	if (note)
		plan_add_note(plan,
		      "git scan of %s: depth %d (--git-scan-depth), %zu directories, %zu entries, %zu nested repositories, %.1f ms%s%s; a repository deeper than %d levels is not protected",
		      root, depth, s.dirs, s.entries, s.found, ms,
		      cached ? " (from the cache: every directory it read is unchanged)" : "",
		      s.bound_hit ? ", stopped at its bound" : "", depth);
	return 0;
}

int nested_repos_add_nodes(struct plan *plan, const ab_policy *policy,
			   const struct plan_context *ctx, ab_error *err)
{
	bool git_protected = false;
	for (size_t k = 0; k < policy->n_protect; k++)
		git_protected |= strcmp(policy->protect[k], ".git") == 0;
	if (!git_protected)
		return 0;
	/* roots first: protecting adds nodes, which may move the array */
	strv roots = {0};
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		/* not "/" (full access: nothing is protected, as in
		 * protected.c), nor kernel interfaces, which hold no
		 * repository */
		if (n->access == AB_ACCESS_WRITE && n->exists && n->is_dir && strcmp(n->path, "/") != 0 &&
		    !path_is_under(n->path, "/proc") && !path_is_under(n->path, "/sys") &&
		    !path_is_under(n->path, "/dev"))
			strv_push(&roots, n->path);
	}
	struct git_repo_list repos = {0};
	int r = 0;
	plan->git_scan_depth = policy->git_scan_depth;
	for (size_t i = 0; i < roots.n && r == 0; i++) {
		bool shared = is_shared_tmp(roots.v[i], ctx);
		/* a cache holds downloaded copies (git_scan_skipped_dirs),
		 * often more entries than the search's bound */
		int at = plan_find_node(plan, roots.v[i]);
		bool cache = at >= 0 && plan->nodes[at].cache;
		r = scan_root(plan, roots.v[i], shared || cache ? 0 : policy->git_scan_depth,
			      policy->git_scan_partial, !shared && !cache, &repos, ctx->glob_cache_dir, err);
		if (r == 0 && shared && policy->git_scan_depth > 0)
			plan_add_note(plan, "%s is shared scratch space: only its own .git is looked at, not nested repositories (a repository there is searched when it is the working directory or a writable root)",
				      roots.v[i]);
	}
	strv_free(&roots);
	if (r == 0 && plan_access_at(plan, "/", -1) != AB_ACCESS_WRITE)
		r = git_config_paths_add_nodes(plan, &repos, ctx, err);
	git_repo_list_free(&repos);
	return r;
}
