/* Paths that the protected git configuration names inside a writable
 * area. Keeping .git read-only is not enough when its config says
 * core.hooksPath=.husky: the hooks then live in the writable worktree,
 * and the user's next `git commit` on the host runs what the sandboxed
 * command planted there. For every repository found (nested_repos.c),
 * the user's global and the system configuration, every key of the table
 * in git_config_keys.c is resolved as git would, and each path it names
 * in a writable area becomes a read-only plan node (a missing one is
 * blocked); what cannot be read or made read-only refuses the run. */
#include "plan/nested_repos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/open_beneath.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "plan/git_config_keys.h"
#include "plan/gitconfig_parse.h"
#include "plan/stat_memo.h"

#define CONFIG_MAX_BYTES (1 << 20)
#define INCLUDE_MAX_DEPTH 10 /* git's own limit */
/* Included files can fan out (one file including many, each including
 * many): a bound on all files read in one resolution keeps it finite. */
#define CONFIG_MAX_FILES 256

/* One value of a key in the table, with where it was found. */
struct named_value {
	const struct git_key *key;
	char *name, *value, *file, *dir;
	unsigned line;
};

struct reader {
	struct plan *plan;
	const struct plan_context *ctx;
	struct named_value *v;
	size_t n, cap;
	const char *file, *dir; /* the file being parsed */
	int depth;
	size_t files_read;
	bool openat2;
	ab_error *err;
};

static int read_config(struct reader *rd, const char *path, int depth);

static void free_values(struct reader *rd)
{
	for (size_t i = 0; i < rd->n; i++) {
		free(rd->v[i].name);
		free(rd->v[i].value);
		free(rd->v[i].file);
		free(rd->v[i].dir);
	}
	free(rd->v);
	rd->v = NULL;
	rd->n = rd->cap = 0;
}

static int on_value(const char *key, const char *value, unsigned line, void *arg)
{
	struct reader *rd = arg;
	const struct git_key *k = git_key_find(key);
	if (!k || !value)
		return 0;
	grow_array((void **)&rd->v, &rd->cap, rd->n + 1, sizeof(*rd->v));
	rd->v[rd->n++] = (struct named_value){
		.key = k, .name = xstrdup(key), .value = xstrdup(value),
		.file = xstrdup(rd->file), .dir = xstrdup(rd->dir), .line = line,
	};
	if (k->kind != GIT_KEY_INCLUDE)
		return 0;
	/* git reads the included file right there; its relative paths
	 * are relative to the including file */
	struct git_key_base base = {.config_dir = rd->dir, .home = rd->ctx->home};
	strv paths = {0};
	int r = git_key_paths(k, key, value, &base, &paths, rd->err);
	const char *file = rd->file, *dir = rd->dir;
	int depth = rd->depth;
	for (size_t i = 0; i < paths.n && r == 0; i++) {
		if (depth + 1 > INCLUDE_MAX_DEPTH) {
			r = ab_fail(rd->err, ELOOP,
				    "git configuration %s, line %u: %s = '%s' goes deeper than %d includes; agentbox refuses to run\n"
				    "fix: remove the include loop", file, line, key, value, INCLUDE_MAX_DEPTH);
			break;
		}
		r = read_config(rd, paths.v[i], depth + 1);
		rd->file = file;
		rd->dir = dir;
		rd->depth = depth;
	}
	strv_free(&paths);
	return r;
}

/* Reads and parses one configuration file, if it exists. It is opened
 * from / without following any symbolic link (its canonical path is
 * found first), so that nothing can swap in another file on the way. */
static int read_config(struct reader *rd, const char *path, int depth)
{
	struct canonical c;
	int r = canonicalize(path, &c, rd->err);
	if (r < 0)
		return r;
	if (!c.exists || c.is_dir) {
		canonical_free(&c);
		return 0; /* git skips a missing file; the caller blocks it where writable */
	}
	if (++rd->files_read > CONFIG_MAX_FILES) {
		canonical_free(&c);
		return ab_fail(rd->err, E2BIG,
			       "reading the git configuration %s: more than %d configuration files (with their includes) in one run; agentbox cannot follow them all and refuses to run\n"
			       "fix: reduce the include.path / includeIf chains, or make the repositories unreachable for this run",
			       path, CONFIG_MAX_FILES);
	}
	int fd = -1;
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root >= 0) {
		fd = open_beneath(rd->openat2, root, c.path + 1, O_RDONLY | O_NONBLOCK);
		close(root);
	}
	_cleanup_free_ char *real = c.path;
	c.path = NULL;
	canonical_free(&c);
	if (fd < 0) {
		int e = fd < -1 ? -fd : errno;
		if (e == EACCES || e == ENOENT) /* the user's own git cannot read it either */
			return 0;
		return ab_fail_errno(rd->err, e,
				     "reading the git configuration %s (to find the programs and files it names)\n"
				     "fix: make the file readable, or remove it", path);
	}
	struct stat st;
	sbuf text = {0};
	r = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		r = ab_fail(rd->err, EINVAL,
			    "git configuration %s is not a regular file of at most %d bytes; agentbox cannot read what it names and refuses to run",
			    path, CONFIG_MAX_BYTES);
	} else {
		char buf[8192];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0 && text.len <= CONFIG_MAX_BYTES)
			sbuf_addn(&text, buf, (size_t)n);
		if (n < 0)
			r = ab_fail_errno(rd->err, errno, "reading the git configuration %s", path);
	}
	close(fd);
	if (r == 0) {
		_cleanup_free_ char *dir = path_parent(real);
		rd->file = real; /* messages name the file itself, not "x/.git/../cfg" */
		rd->dir = dir;
		rd->depth = depth;
		r = gitconfig_parse(text.s ? text.s : "", text.len, real, on_value, rd, rd->err);
		rd->file = rd->dir = NULL;
	}
	sbuf_free(&text);
	return r;
}

char *git_canonical_path(const char *path)
{
	struct canonical c;
	ab_error ignored;
	if (canonicalize(path, &c, &ignored) < 0)
		return NULL;
	char *p = c.path;
	c.path = NULL;
	canonical_free(&c);
	return p;
}

/* A path a key names: read-only where it is writable. A missing one is
 * blocked (it cannot be created); one that a rule of the user keeps
 * writable cannot be protected, and the run is refused. */
static int protect_path(struct plan *plan, const char *named, const struct named_value *nv, ab_error *err)
{
	/* where git ends up ("../x" from .git/ leaves the read-only .git) */
	_cleanup_free_ char *path = git_canonical_path(named);
	if (!path || plan_access_at(plan, path, -1) != AB_ACCESS_WRITE)
		return 0;
	_cleanup_free_ char *why = xasprintf("named by git config %s = '%s' (%s:%u; %s)", nv->name, nv->value,
					     nv->file, nv->line, nv->key->why);
	int idx = plan_add_node(plan, path, AB_ACCESS_READ, NODE_GITDIR, why, err);
	if (idx < 0)
		return idx;
	if (plan->nodes[idx].access == AB_ACCESS_WRITE)
		return ab_fail(err, EPERM,
			       "git configuration %s, line %u: %s = '%s' names %s, which the rule %s keeps writable; git on the host would run or read what the sandboxed command writes there, so agentbox refuses to run\n"
			       "fix: drop that rule, point the key outside the writable roots, or --unprotect .git (not recommended)",
			       nv->file, nv->line, nv->name, nv->value, path, plan->nodes[idx].why);
	return 0;
}

static int protect_values(struct plan *plan, const struct reader *rd, size_t from, size_t to,
			  const char *worktree, ab_error *err)
{
	int r = 0;
	for (size_t i = from; i < to && r == 0; i++) {
		const struct named_value *nv = &rd->v[i];
		struct git_key_base base = {.worktree = worktree, .config_dir = nv->dir, .home = rd->ctx->home};
		strv paths = {0};
		r = git_key_paths(nv->key, nv->name, nv->value, &base, &paths, err);
		if (r < 0)
			ab_error_hint(err, "in %s, line %u", nv->file, nv->line);
		for (size_t k = 0; k < paths.n && r == 0; k++)
			r = protect_path(plan, paths.v[k], nv, err);
		strv_free(&paths);
	}
	return r;
}

/* The user's global configuration files and the system one, as git finds
 * them (GIT_CONFIG_GLOBAL and GIT_CONFIG_SYSTEM replace them). */
static void global_config_files(const struct plan_context *ctx, strv *out)
{
	const char *g = getenv("GIT_CONFIG_GLOBAL");
	if (g && *g) {
		strv_push(out, g);
	} else {
		const char *xdg = getenv("XDG_CONFIG_HOME");
		if (xdg && path_is_absolute(xdg))
			strv_push_owned(out, path_join(xdg, "git/config"));
		else if (ctx->home)
			strv_push_owned(out, path_join(ctx->home, ".config/git/config"));
		if (ctx->home)
			strv_push_owned(out, path_join(ctx->home, ".gitconfig"));
	}
	const char *nosys = getenv("GIT_CONFIG_NOSYSTEM");
	const char *sys = getenv("GIT_CONFIG_SYSTEM");
	if (!nosys || !*nosys || strcmp(nosys, "0") == 0 || strcasecmp(nosys, "false") == 0)
		strv_push(out, sys && *sys ? sys : "/etc/gitconfig");
}

/* A global configuration file in a writable area: read-only (a missing
 * one blocked when its directory exists), or the next git on the host
 * reads what the command wrote. ~/.gitconfig is also a protected name. */
static int protect_config_file(struct plan *plan, const char *path, ab_error *err)
{
	if (!path_is_absolute(path) || plan_access_at(plan, path, -1) != AB_ACCESS_WRITE)
		return 0;
	struct stat st;
	_cleanup_free_ char *norm = path_normalize(path);
	_cleanup_free_ char *parent = path_parent(norm);
	if (memo_lstat(norm, &st) < 0 && (memo_lstat(parent, &st) < 0 || !S_ISDIR(st.st_mode)))
		return 0;
	int idx = plan_add_node(plan, norm, AB_ACCESS_READ, NODE_GITDIR, "git global configuration", err);
	if (idx >= 0 && plan->nodes[idx].access == AB_ACCESS_WRITE)
		return ab_fail(err, EPERM,
			       "the git configuration %s is kept writable by the rule %s; git on the host reads it, so agentbox refuses to run\n"
			       "fix: drop that rule or --unprotect .git (not recommended)", norm, plan->nodes[idx].why);
	return idx < 0 ? idx : 0;
}

static void repo_config_files(const struct git_repo *repo, strv *out)
{
	/* config lives in the common dir of a linked worktree; its
	 * config.worktree in the worktree's own git dir. Both are read
	 * whatever extensions.worktreeConfig says (a superset). */
	const char *common = repo->commondir ? repo->commondir : repo->gitdir;
	strv_push_owned(out, path_join(common, "config"));
	strv_push_owned(out, path_join(repo->gitdir, "config.worktree"));
	if (repo->commondir)
		strv_push_owned(out, path_join(repo->commondir, "config.worktree"));
}

int git_config_paths_add_nodes(struct plan *plan, const struct git_repo_list *repos,
			       const struct plan_context *ctx, ab_error *err)
{
	struct reader rd = {.plan = plan, .ctx = ctx, .openat2 = open_beneath_probe_openat2(), .err = err};
	strv globals = {0};
	global_config_files(ctx, &globals);
	int r = 0;
	for (size_t i = 0; i < globals.n && r == 0; i++) {
		r = protect_config_file(plan, globals.v[i], err);
		if (r == 0)
			r = read_config(&rd, globals.v[i], 0);
	}
	strv_free(&globals);
	size_t n_global = rd.n;
	/* absolute paths of the global configuration, with no repository */
	if (r == 0)
		r = protect_values(plan, &rd, 0, n_global, NULL, err);
	for (size_t i = 0; i < repos->n && r == 0; i++) {
		const struct git_repo *repo = &repos->v[i];
		if (!repo->gitdir)
			continue;
		/* the global values again: their relative paths are relative
		 * to each repository */
		r = protect_values(plan, &rd, 0, n_global, repo->worktree, err);
		size_t from = rd.n;
		strv files = {0};
		repo_config_files(repo, &files);
		for (size_t k = 0; k < files.n && r == 0; k++)
			r = read_config(&rd, files.v[k], 0);
		strv_free(&files);
		if (r == 0)
			r = protect_values(plan, &rd, from, rd.n, repo->worktree, err);
	}
	free_values(&rd);
	return r;
}
