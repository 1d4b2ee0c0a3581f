/* The run's file placeholders, out of git's sight inside the sandbox.
 *
 * A missing protected name that is blocked as a file (.envrc, .mcp.json,
 * .gitmodules: policy/protect_list.c block_as_file) needs an empty
 * placeholder on the host for the length of the run (order.c,
 * supervisor/placeholders.c). In a repository's worktree git takes it
 * for an untracked file: `git status` lists it, and `git add -A && git
 * commit` under --git commit puts it into the user's history, where it
 * shows as deleted once the run is over and the placeholder is gone.
 *
 * The fix changes nothing on the host: inside the sandbox the
 * repository's info/exclude (in the common git dir, which every linked
 * worktree shares) is covered with a read-only copy that holds the
 * user's own patterns and then one anchored pattern per placeholder.
 * Only an existing info/exclude can be covered (a mount needs a file to
 * land on, and nothing may be created in the user's .git); without one,
 * explain says that git will see the placeholders.
 *
 * The copy is read by descriptor, without following links, and tied to
 * the file's device and inode: the backend mounts only on that very file
 * (plan/expect.h), so a swap between now and the mount refuses the run.
 * A directory placeholder needs nothing: git does not list empty
 * directories. */
#include "plan/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/open_beneath.h"
#include "common/util.h"

/* info/exclude is a short list of patterns; a larger one is left alone
 * rather than copied into every run. */
#define GIT_EXCLUDE_MAX (1024 * 1024)

char *git_exclude_pattern(const char *rel)
{
	sbuf b = {0};
	sbuf_add(&b, "/");
	bool start = true; /* at the start of a component */
	for (const char *p = rel; *p; p++) {
		/* git cuts a pattern at a newline and drops a trailing CR */
		if (*p == '\n' || *p == '\r') {
			sbuf_free(&b);
			return NULL;
		}
		/* glob characters, the escape itself, spaces (git trims
		 * trailing ones) and what would start a comment or negation */
		if (strchr("*?[\\ ", *p) || (start && (*p == '#' || *p == '!')))
			sbuf_add(&b, "\\");
		sbuf_addn(&b, p, 1);
		start = *p == '/';
	}
	return b.s;
}

/* The repository whose worktree holds `path` most closely, or -1. */
static int owning_repo(const struct plan *plan, const char *path)
{
	int best = -1;
	for (size_t i = 0; i < plan->n_git_repos; i++) {
		const char *wt = plan->git_repos[i].worktree;
		if (strcmp(path, wt) == 0 || !path_is_under(path, wt))
			continue;
		if (best < 0 || strlen(wt) > strlen(plan->git_repos[best].worktree))
			best = (int)i;
	}
	return best;
}

/* Whether `rel` goes through a .git: git never lists what is in there. */
static bool inside_dot_git(const char *rel)
{
	for (const char *p = rel; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (strncmp(p, ".git", 4) == 0 && (p[4] == '/' || p[4] == '\0'))
			return true;
	}
	return false;
}

/* The patterns for every file placeholder in a worktree of the
 * repositories sharing `commondir`; `names` gets the paths for notes. */
static size_t collect_patterns(const struct plan *plan, const char *commondir, sbuf *patterns,
			       sbuf *names)
{
	size_t n = 0;
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		if (op->kind != OP_BLOCK_FILE)
			continue;
		int r = owning_repo(plan, op->path);
		if (r < 0 || strcmp(plan->git_repos[r].commondir, commondir) != 0)
			continue;
		const char *wt = plan->git_repos[r].worktree;
		const char *rel = op->path + strlen(wt);
		while (*rel == '/')
			rel++;
		if (inside_dot_git(rel))
			continue;
		_cleanup_free_ char *pat = git_exclude_pattern(rel);
		if (!pat)
			continue;
		sbuf_addf(patterns, "%s\n", pat);
		sbuf_addf(names, "%s%s", n ? ", " : "", op->path);
		n++;
	}
	return n;
}

/* Reads info/exclude by descriptor, without following links. Returns 0,
 * -ENOENT when there is none, or -errno (-EFBIG when too large, -EINVAL
 * when not a regular file). */
static int read_exclude(const char *path, sbuf *out, struct stat *st)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	int fd = open_beneath(open_beneath_probe_openat2(), root, path + 1,
			      O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	int r = 0;
	if (fstat(fd, st) < 0)
		r = -errno;
	else if (!S_ISREG(st->st_mode))
		r = -EINVAL;
	else if (st->st_size > GIT_EXCLUDE_MAX)
		r = -EFBIG;
	char buf[8192];
	while (r == 0) {
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r = -errno;
		else if (got == 0)
			break;
		else if (out->len + (size_t)got > GIT_EXCLUDE_MAX)
			r = -EFBIG; /* it grew since fstat */
		else
			sbuf_addn(out, buf, (size_t)got);
	}
	close(fd);
	return r;
}

static void add_cover_op(struct plan *plan, const char *path, sbuf *data, const struct stat *st,
			 const char *why)
{
	grow_array((void **)&plan->ops, &plan->cap_ops, plan->n_ops + 1, sizeof(*plan->ops));
	plan->ops[plan->n_ops++] = (struct plan_op){
		.kind = OP_COVER_DATA, .path = xstrdup(path), .mode = 0444, .node = -1,
		.data = data->s ? data->s : xstrdup(""), .data_len = data->len,
		.dev = st->st_dev, .ino = st->st_ino, .why = xstrdup(why),
	};
	data->s = NULL;
	data->len = 0;
}

static void cover_exclude(struct plan *plan, const char *commondir, const char *patterns,
			  const char *names)
{
	_cleanup_free_ char *path = path_join(commondir, "info/exclude");
	if (plan_access_at(plan, path, -1) != AB_ACCESS_READ) {
		plan_add_note(plan, "namespace backends: git inside sees the placeholders %s as untracked files: %s is not visible read-only inside, so agentbox does not cover it",
			      names, path);
		return;
	}
	sbuf data = {0};
	struct stat st;
	int r = read_exclude(path, &data, &st);
	if (r == -ENOENT) {
		plan_add_note(plan, "namespace backends: git inside sees the placeholders %s as untracked files: the repository has no %s to extend (agentbox creates nothing in .git); `git add -A` would commit them",
			      names, path);
	} else if (r < 0) {
		plan_add_warning(plan, "git_exclude_unread", path,
				 "namespace backends: git inside sees the placeholders %s as untracked files: cannot read %s (%s); fix: make it a regular file of at most %d bytes",
				 names, path,
				 r == -EINVAL ? "not a regular file" : r == -ELOOP ? "a symbolic link, not followed" : strerror(-r),
				 GIT_EXCLUDE_MAX);
	} else {
		if (data.len && data.s[data.len - 1] != '\n')
			sbuf_add(&data, "\n");
		sbuf_add(&data, "# agentbox (this run only): empty placeholders of missing protected names\n");
		sbuf_add(&data, patterns);
		_cleanup_free_ char *why = xasprintf("git inside ignores the run's file placeholders %s (the repository's own patterns stay first)",
						     names);
		add_cover_op(plan, path, &data, &st, why);
	}
	sbuf_free(&data);
}

void plan_add_git_excludes(struct plan *plan)
{
	for (size_t i = 0; i < plan->n_git_repos; i++) {
		const char *common = plan->git_repos[i].commondir;
		bool done = false; /* worktrees of one repository share it */
		for (size_t k = 0; k < i && !done; k++)
			done = strcmp(plan->git_repos[k].commondir, common) == 0;
		if (done)
			continue;
		sbuf patterns = {0}, names = {0};
		if (collect_patterns(plan, common, &patterns, &names) > 0)
			cover_exclude(plan, common, patterns.s, names.s);
		sbuf_free(&patterns);
		sbuf_free(&names);
	}
}
