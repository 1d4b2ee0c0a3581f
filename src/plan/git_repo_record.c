/* A repository the git scan found (plan/nested_repos.h): recorded, and
 * for a pointer file the git dir it names and that git dir's common dir
 * protected. The files read here (the pointer, commondir) are read on
 * every run, also when the scan itself came from its cache. */
#include "plan/nested_repos.h"
#include "plan/stat_memo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define POINTER_MAX 4096

/* A small file `name` in dirfd (not through a link), trimmed; NULL when
 * missing, not a regular file or too large for what git writes there. */
static char *read_small_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char buf[POINTER_MAX + 1];
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > POINTER_MAX)
		return NULL;
	buf[n] = '\0';
	char *s = buf, *e = buf + n;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return xstrdup(s);
}

static char *resolve_from(const char *base, const char *p)
{
	_cleanup_free_ char *joined = p[0] == '/' ? xstrdup(p) : path_join(base, p);
	return path_normalize(joined);
}

/* A directory that protects a repository (a git dir, a common dir): made
 * read-only where it is writable, and where it is missing there, blocked
 * (else the command could create it, with a config of its own, for the
 * pointer that names it); elsewhere its access stays what the rules say
 * (never widened: a hidden git dir stays hidden). Sets *canon to the
 * canonical path when it is a directory git can use. */
static int protect_dir(struct plan *plan, const char *named, const char *why,
		       char **canon, ab_error *err)
{
	*canon = NULL;
	_cleanup_free_ char *path = git_canonical_path(named);
	if (!path)
		return 0;
	struct stat st;
	bool is_dir = memo_stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (plan_access_at(plan, path, -1) == AB_ACCESS_WRITE) {
		int idx = plan_add_node(plan, path, AB_ACCESS_READ, NODE_GITDIR, why, err);
		if (idx < 0)
			return idx;
	}
	if (is_dir)
		*canon = xstrdup(path);
	return 0;
}

int git_repo_record(struct plan *plan, struct git_repo_list *repos, int dirfd,
		    const char *worktree, bool pointer, ab_error *err)
{
	struct git_repo repo = {.worktree = xstrdup(worktree)};
	int r = 0;
	if (!pointer) {
		repo.gitdir = path_join(worktree, ".git");
	} else {
		_cleanup_free_ char *text = read_small_at(dirfd, ".git");
		if (!text || strncmp(text, "gitdir:", 7) != 0) {
			plan_add_warning(plan, "malformed_git_pointer", worktree,
					 "%s/.git is a file but not a 'gitdir:' pointer; only the file itself is protected",
					 worktree);
		} else {
			const char *t = text + 7;
			while (*t == ' ' || *t == '\t')
				t++;
			_cleanup_free_ char *gitdir = resolve_from(worktree, t);
			_cleanup_free_ char *why = xasprintf("git dir named by %s/.git (git scan)", worktree);
			r = *t ? protect_dir(plan, gitdir, why, &repo.gitdir, err) : 0;
		}
	}
	if (r == 0 && repo.gitdir) {
		int gfd = open(repo.gitdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_free_ char *common = gfd >= 0 ? read_small_at(gfd, "commondir") : NULL;
		if (gfd >= 0)
			close(gfd);
		if (common && *common) {
			_cleanup_free_ char *cpath = resolve_from(repo.gitdir, common);
			_cleanup_free_ char *why = xasprintf("common git dir of the worktree %s (git scan)", worktree);
			r = protect_dir(plan, cpath, why, &repo.commondir, err);
		}
	}
	grow_array((void **)&repos->v, &repos->cap, repos->n + 1, sizeof(*repos->v));
	repos->v[repos->n++] = repo;
	return r;
}
