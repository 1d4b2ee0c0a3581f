/* --git commit: a git directory writable except what git trusts.
 *
 * git runs hooks and obeys its config; it reads info/attributes and
 * info/exclude, config.worktree, and follows commondir and gitdir files to
 * other git directories. A command that could write any of those would
 * run code on the host the next time the user types a git command there.
 * Everything else (objects, refs, logs, index, HEAD, packed-refs, the
 * lock and temporary files, rebase-merge/, a new worktrees/NAME/) is data
 * that git checks, and that a commit, a branch, a stash or a rebase
 * writes.
 *
 * So the git directory stays writable and each trusted name in it gets a
 * read-only node of its own: an existing one is bound read-only (a mount
 * point also refuses rename, so `config.lock` renamed onto `config`
 * fails), a missing one that git would read is blocked. pin.c then pins
 * the git directory itself, so that it cannot be renamed away and
 * replaced by one the command wrote.
 *
 * modules/ stays read-only as a whole (the submodule git dirs in it are
 * reopened the same way), so that no new one can be planted.
 *
 * What cannot be blocked: a missing `commondir` (git dies on an empty
 * one, so no placeholder will do); run/git_refs.c looks for one created
 * during the run. A worktree added during the run gets its commondir and
 * gitdir files from the command: they name its own repository, and git
 * reads them only when run in that new worktree. */
#include "plan/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

/* Submodule git dirs nest (modules/a/modules/b) and their names may hold
 * slashes (modules/lib/x): bounded walks. */
#define GIT_MODULES_DEPTH 4
#define GIT_DIR_ENTRIES_MAX 4096

struct trusted_name {
	const char *name;
	bool is_dir;
	bool block_missing; /* git reads it when present: must not be created */
	const char *why;
};

/* In every git dir (a repository's, a submodule's). */
static const struct trusted_name in_git_dir[] = {
	{"config", false, true, "git obeys it (core.fsmonitor, core.hooksPath, aliases, filters)"},
	{"config.worktree", false, true, "git obeys it when extensions.worktreeConfig is set"},
	{"hooks", true, true, "git runs the hooks in it"},
	{"info", true, true, "attributes (filters, diff drivers), exclude, sparse-checkout"},
	{"commondir", false, false, "names the git dir whose config and hooks git uses"},
	{"gitdir", false, false, "names the checkout of a worktree"},
	{NULL, false, false, NULL},
};

/* In each worktrees/NAME of a repository (git reads only these there). */
static const struct trusted_name in_worktree_dir[] = {
	{"config.worktree", false, true, "git obeys it in that worktree"},
	{"commondir", false, false, "names the git dir whose config and hooks git uses"},
	{"gitdir", false, false, "names the worktree's checkout"},
	{NULL, false, false, NULL},
};

bool git_dir_looks_valid(const char *dir)
{
	struct stat st;
	_cleanup_free_ char *head = path_join(dir, "HEAD");
	_cleanup_free_ char *objects = path_join(dir, "objects");
	_cleanup_free_ char *refs = path_join(dir, "refs");
	_cleanup_free_ char *common = path_join(dir, "commondir");
	if (lstat(head, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if (lstat(common, &st) == 0 && S_ISREG(st.st_mode))
		return true; /* a worktree's git dir: objects and refs are common */
	return lstat(objects, &st) == 0 && S_ISDIR(st.st_mode) && lstat(refs, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* The canonical path (as the plan's nodes have them, and as git compares
 * safe.directory), or the path as given when it cannot be resolved. */
static char *canonical_or_same(const char *p)
{
	char *c = realpath(p, NULL);
	return c ? c : xstrdup(p);
}

void plan_add_git_repo(struct plan *plan, const char *worktree, const char *gitdir,
		       const char *commondir, bool writable)
{
	_cleanup_free_ char *g = canonical_or_same(gitdir);
	for (size_t i = 0; i < plan->n_git_repos; i++)
		if (strcmp(plan->git_repos[i].gitdir, g) == 0)
			return;
	grow_array((void **)&plan->git_repos, &plan->cap_git_repos, plan->n_git_repos + 1,
		   sizeof(*plan->git_repos));
	plan->git_repos[plan->n_git_repos++] = (struct plan_git_repo){
		.worktree = canonical_or_same(worktree), .gitdir = g,
		.commondir = canonical_or_same(commondir), .writable = writable,
	};
	g = NULL;
}

/* One trusted name of `dir`: read-only when it exists, blocked when it is
 * missing and git would read it. A symbolic link is refused: it lies in
 * the writable git dir, so the command could re-point it. */
static int keep_trusted(struct plan *plan, const char *dir, const struct trusted_name *t, ab_error *err)
{
	_cleanup_free_ char *path = path_join(dir, t->name);
	if (plan_find_node(plan, path) >= 0)
		return 0; /* a rule names it: the user decided */
	struct stat st;
	bool present = lstat(path, &st) == 0;
	if (present && S_ISLNK(st.st_mode))
		return ab_fail(err, ELOOP,
			       "%s is a symbolic link; with --git commit the git directory is writable, so the sandboxed command could re-point it and write what git trusts (%s)\n"
			       "fix: replace the link by what it points to, or run with --git protect",
			       path, t->why);
	if (!present && !t->block_missing)
		return 0;
	_cleanup_free_ char *why = xasprintf("--git commit: %s stays read-only (%s)", t->name, t->why);
	int idx = plan_add_node_exact(plan, path, AB_ACCESS_READ, NODE_GITDIR, why, err);
	if (idx < 0)
		return idx;
	struct plan_node *n = &plan->nodes[idx];
	if (!n->exists && t->is_dir) {
		/* blocked as an empty read-only directory (order.c) */
		n->protected_name = true;
		n->is_dir = true;
	}
	return 0;
}

static int keep_all(struct plan *plan, const char *dir, const struct trusted_name *list, ab_error *err)
{
	for (size_t i = 0; list[i].name; i++) {
		int r = keep_trusted(plan, dir, &list[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The subdirectories of `dir`, without following links; bounded. */
static void list_subdirs(const char *dir, strv *out)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	size_t seen = 0;
	while ((e = readdir(d)) && seen++ < GIT_DIR_ENTRIES_MAX) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			strv_push_owned(out, path_join(dir, e->d_name));
	}
	closedir(d);
}

static int protect_git_dir(struct plan *plan, const char *dir, int depth, ab_error *err);

/* A submodule's git dir: writable like the repository's, but for what git
 * trusts in it. */
static int open_module(struct plan *plan, const char *dir, int depth, ab_error *err)
{
	_cleanup_free_ char *why = xasprintf("--git commit: submodule git dir, writable but for what git trusts");
	int idx = plan_add_node(plan, dir, AB_ACCESS_WRITE, NODE_GITDIR, why, err);
	return idx < 0 ? idx : protect_git_dir(plan, dir, depth, err);
}

/* Below modules/: each submodule's git dir, found by its HEAD file at any
 * depth up to GIT_MODULES_DEPTH (names may hold slashes). */
static int open_modules_below(struct plan *plan, const char *dir, int depth, ab_error *err)
{
	if (depth > GIT_MODULES_DEPTH)
		return 0;
	strv subs = {0};
	list_subdirs(dir, &subs);
	int r = 0;
	for (size_t i = 0; i < subs.n && r == 0; i++)
		r = git_dir_looks_valid(subs.v[i]) ? open_module(plan, subs.v[i], depth + 1, err)
						   : open_modules_below(plan, subs.v[i], depth + 1, err);
	strv_free(&subs);
	return r;
}

/* modules/ itself stays read-only: `git submodule update --init` on the
 * host takes an existing modules/NAME for the submodule's git dir, config
 * and hooks included, so the command must not be able to plant one. The
 * submodule git dirs already there are reopened. A missing modules/ is
 * blocked only where a .gitmodules makes git look for it (the checkout of
 * a `.git` directory); elsewhere nothing names a submodule. */
static int protect_modules(struct plan *plan, const char *dir, int depth, ab_error *err)
{
	_cleanup_free_ char *modules = path_join(dir, "modules");
	struct stat st;
	bool present = lstat(modules, &st) == 0;
	if (!present) {
		const char *base = strrchr(dir, '/');
		_cleanup_free_ char *checkout = path_parent(dir);
		_cleanup_free_ char *gitmodules = path_join(checkout, ".gitmodules");
		bool named = base && strcmp(base, "/.git") == 0 && lstat(gitmodules, &st) == 0;
		if (!named)
			return 0;
	}
	static const struct trusted_name modules_dir = {
		"modules", true, true, "git takes the submodule git dirs in it, config and hooks included",
	};
	int r = keep_trusted(plan, dir, &modules_dir, err);
	if (r < 0 || !present)
		return r;
	return open_modules_below(plan, modules, depth, err);
}
static int protect_git_dir(struct plan *plan, const char *dir, int depth, ab_error *err)
{
	int r = keep_all(plan, dir, in_git_dir, err);
	if (r < 0)
		return r;
	strv subs = {0};
	_cleanup_free_ char *worktrees = path_join(dir, "worktrees");
	list_subdirs(worktrees, &subs);
	for (size_t i = 0; i < subs.n && r == 0; i++)
		r = keep_all(plan, subs.v[i], in_worktree_dir, err);
	strv_free(&subs);
	if (r < 0)
		return r;
	return protect_modules(plan, dir, depth, err);
}

int git_commit_open_dir(struct plan *plan, const char *dir, const char *why, bool widen,
			ab_error *err)
{
	/* canonical, so that a rule of the user's for it is found (a pointer
	 * names it with "..", links or relative parts) */
	_cleanup_free_ char *gitdir = canonical_or_same(dir);
	int existing = plan_find_node(plan, gitdir);
	if (existing >= 0 && plan->nodes[existing].source == NODE_RULE)
		return 0; /* the user's own rule for this path wins */
	int a = plan_access_at(plan, gitdir, -1);
	if (a == AB_ACCESS_NONE)
		return 0; /* hidden by a rule: not ours to open */
	if (widen || a == AB_ACCESS_WRITE) {
		/* a node even when the root already makes it writable: explain
		 * names it, and pin.c pins it (the read-only names below) */
		int idx = plan_add_node(plan, gitdir, AB_ACCESS_WRITE, NODE_GITDIR, why, err);
		if (idx < 0)
			return idx;
	} else {
		return 0;
	}
	int r = protect_git_dir(plan, gitdir, 0, err);
	return r < 0 ? r : 1;
}
