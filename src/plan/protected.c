/* Protected names under writable roots: the built-in list of
 * policy/protect_list.c (.git, .agentbox, shell start-up files, editor,
 * direnv and agent configuration) and names the user adds. Each stays
 * read-only; a missing one is blocked so that it cannot be created, where
 * its scope says the host reads it; one that is a symbolic link makes us
 * refuse to run, because the sandboxed command could re-point it. .git may
 * also be a pointer file: the git dir it names and a worktree's common dir
 * are protected too. */
#include "plan/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "plan/stat_memo.h"
#include "policy/policy.h"
#include "supervisor/placeholders.h"

#define GIT_POINTER_MAX 4096

/* Reads a small text file and trims surrounding whitespace; NULL if it
 * cannot be read or is too large to be what we expect. */
static char *read_small_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char buf[GIT_POINTER_MAX + 1];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > GIT_POINTER_MAX)
		return NULL;
	buf[n] = '\0';
	char *s = buf;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return xstrdup(s);
}

static char *resolve_relative(const char *base_dir, const char *p)
{
	char *joined = p[0] == '/' ? xstrdup(p) : path_join(base_dir, p);
	char *norm = path_normalize(joined);
	free(joined);
	return norm;
}

/* Adds a read-only node for a path that protects a repository, unless a
 * rule already names that path (the user's explicit rule wins). */
static int add_git_node(struct plan *plan, const char *path, const char *why, ab_error *err)
{
	int r = plan_add_node(plan, path, AB_ACCESS_READ, NODE_GITDIR, why, err);
	return r < 0 ? r : 0;
}

/* A git dir a pointer file names: with --git commit (and when it looks
 * like one) writable but for what git trusts, plan/git_commit.c; else,
 * or where a rule of the user's decides, read-only. 1 when writable. */
static int protect_pointed_dir(struct plan *plan, const char *dir, const char *what, ab_error *err)
{
	if (plan->git == AB_GIT_COMMIT && git_dir_looks_valid(dir)) {
		_cleanup_free_ char *why = xasprintf("--git commit: %s, writable but for what git trusts", what);
		int r = git_commit_open_dir(plan, dir, why, true, err);
		if (r != 0)
			return r;
	}
	return add_git_node(plan, dir, what, err);
}

/* `.git` is a file: "gitdir: <path>", relative to the worktree root. The
 * git dir it names holds the index, HEAD and hooks of this checkout; for a
 * linked worktree, <gitdir>/commondir names the main repository's .git,
 * which holds the objects, refs and config. All of them must stay
 * read-only, wherever they live. */
static int protect_git_pointer(struct plan *plan, const char *root, const char *dotgit, ab_error *err)
{
	_cleanup_free_ char *text = read_small_file(dotgit);
	if (!text || strncmp(text, "gitdir:", 7) != 0) {
		plan_add_warning(plan, "malformed_git_pointer", dotgit,
				 "%s is a file but not a 'gitdir:' pointer; only the file itself is protected",
				 dotgit);
		return 0;
	}
	const char *target = text + 7;
	while (*target == ' ' || *target == '\t')
		target++;
	_cleanup_free_ char *gitdir = resolve_relative(root, target);
	struct stat st;
	if (*target == '\0' || memo_stat(gitdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		plan_add_warning(plan, "missing_gitdir", dotgit,
				 "%s points to '%s', which is not a directory; only the pointer file is protected",
				 dotgit, target);
		return 0;
	}
	_cleanup_free_ char *why = xasprintf("git dir named by %s", dotgit);
	int r = protect_pointed_dir(plan, gitdir, why, err);
	if (r < 0)
		return r;
	bool writable = r == 1;

	_cleanup_free_ char *commondir_file = path_join(gitdir, "commondir");
	_cleanup_free_ char *common = read_small_file(commondir_file);
	if (!common || !*common) {
		plan_add_git_repo(plan, root, gitdir, gitdir, writable);
		return 0;
	}
	_cleanup_free_ char *common_path = resolve_relative(gitdir, common);
	if (memo_stat(common_path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		plan_add_warning(plan, "missing_git_commondir", commondir_file,
				 "%s names '%s', which is not a directory; not protected", commondir_file, common);
		return 0;
	}
	_cleanup_free_ char *why2 = xasprintf("common git dir of the worktree %s", root);
	r = protect_pointed_dir(plan, common_path, why2, err);
	if (r < 0)
		return r;
	plan_add_git_repo(plan, root, gitdir, common_path, writable && r == 1);
	return 0;
}

/* Whether a missing `name` under `root` is blocked: only where the host
 * reads it, because each block is a placeholder on the host for the
 * length of the run (policy/protect_list.c says why per name). */
static bool block_missing(const struct protect_default *d, const char *root,
			  const struct plan *plan, const char *home, bool home_only)
{
	bool is_home = home && strcmp(root, home) == 0;
	if (!d)
		return !home_only; /* a name the user added: every writable root */
	switch (d->scope) {
	case PROTECT_EVERY_ROOT: return !home_only;
	case PROTECT_PROJECT: return is_home || strcmp(root, plan->cwd) == 0;
	case PROTECT_HOME: return is_home;
	}
	return true;
}

static int protect_name(struct plan *plan, const char *root, const char *name,
			const char *home, bool home_only, ab_error *err)
{
	const struct protect_default *d = policy_protect_default(name);
	_cleanup_free_ char *path = path_join(root, name);
	int existing = plan_find_node(plan, path);
	if (existing >= 0) {
		/* an explicit rule names it: the user decided the access, but
		 * if it is blocked it is blocked as a protected name */
		struct plan_node *n = &plan->nodes[existing];
		n->protected_name = true;
		if (!n->exists)
			n->is_dir = !(d && d->block_as_file);
		return 0;
	}

	struct stat st;
	bool present = memo_lstat(path, &st) == 0;
	if (present && S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = memo_readlink(path, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		return ab_fail(err, ELOOP,
			       "protected path %s is a symbolic link (to '%s'); agentbox refuses to run because the sandboxed command could re-point it and write through it\n"
			       "fix: replace the link by the directory it points to, add an explicit rule for %s, or --unprotect %s",
			       path, target, path, name);
	}
	if (!present) {
		if (!block_missing(d, root, plan, home, home_only))
			return 0;
		/* .config/fish: blocking it when ~/.config is missing would
		 * block all of ~/.config (the first missing component) */
		if (strchr(name, '/')) {
			_cleanup_free_ char *parent = path_parent(path);
			struct stat pst;
			/* another run's placeholder there (the user
			 * configuration's block of a missing ~/.config) is no
			 * ~/.config: it goes when that run ends */
			if (memo_lstat(parent, &pst) < 0 || !S_ISDIR(pst.st_mode) || placeholder_is_marked(&pst))
				return 0;
		}
	}
	bool dotgit = strcmp(name, ".git") == 0 && present;
	/* commit mode only for what git takes for a repository; any other
	 * .git stays read-only as a whole */
	if (dotgit && S_ISDIR(st.st_mode) && git_dir_looks_valid(path)) {
		int r = 0;
		if (plan->git == AB_GIT_COMMIT) {
			_cleanup_free_ char *why = xasprintf(
				"--git commit: .git under writable %s, writable but for what git trusts (hooks, config, info/: below)",
				root);
			r = git_commit_open_dir(plan, path, why, false, err);
			if (r < 0)
				return r;
		}
		plan_add_git_repo(plan, root, path, path, r == 1);
		if (r == 1)
			return 0;
	}
	_cleanup_free_ char *why = d ? xasprintf("protected name %s under writable %s (%s)", name, root, d->why)
				     : xasprintf("protected name %s under writable %s", name, root);
	int idx = plan_add_node_exact(plan, path, AB_ACCESS_READ, NODE_PROTECTED, why, err);
	if (idx < 0)
		return idx;
	struct plan_node *n = &plan->nodes[idx];
	n->protected_name = true;
	if (!n->exists) /* block it as an (empty, read-only) directory or file */
		n->is_dir = !(d && d->block_as_file);
	else if (dotgit && S_ISREG(st.st_mode))
		return protect_git_pointer(plan, root, path, err);
	return 0;
}

int protected_add_nodes(struct plan *plan, const ab_policy *policy,
			const struct plan_context *ctx, ab_error *err)
{
	_cleanup_free_ char *home = canonical_existing_dir(ctx->home);
	/* Writable roots are collected first: protecting adds nodes, which
	 * may move the array. */
	strv roots = {0};
	bool home_is_root = false;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		/* "/" writable means full access; masking /.git there would
		 * only leave placeholders at the top of the filesystem. */
		if (n->access == AB_ACCESS_WRITE && n->exists && n->is_dir && strcmp(n->path, "/") != 0) {
			strv_push(&roots, n->path);
			home_is_root |= home && strcmp(n->path, home) == 0;
		}
	}
	int r = 0;
	for (size_t i = 0; i < roots.n && r == 0; i++)
		for (size_t k = 0; k < policy->n_protect && r == 0; k++)
			r = protect_name(plan, roots.v[i], policy->protect[k], home, false, err);
	strv_free(&roots);
	/* $HOME writable as part of a wider root (/tmp/u as home under
	 * /tmp): the shell still reads its start-up files there. Only the
	 * names whose scope includes $HOME get blocked when missing;
	 * existing ones of every scope are kept read-only. Not under full
	 * access (see above). */
	if (r == 0 && home && !home_is_root && plan_access_at(plan, home, -1) == AB_ACCESS_WRITE &&
	    plan_access_at(plan, "/", -1) != AB_ACCESS_WRITE)
		for (size_t k = 0; k < policy->n_protect && r == 0; k++)
			r = protect_name(plan, home, policy->protect[k], home, true, err);
	return r;
}
