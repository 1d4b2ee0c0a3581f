/* Git repositories under the writable roots of a plan: the search for
 * nested repositories and submodules (nested_repos.c) and the paths their
 * configuration names (git_config_paths.c). */
#ifndef AB_PLAN_NESTED_REPOS_H
#define AB_PLAN_NESTED_REPOS_H

#include <stdbool.h>
#include <stddef.h>

#include "plan/plan.h"
#include "policy/policy.h"

struct git_repo {
	char *worktree;  /* the directory holding .git */
	char *gitdir;    /* .git itself, or the directory a pointer file names; NULL when unusable */
	char *commondir; /* what gitdir/commondir names (linked worktrees), or NULL */
};

struct git_repo_list {
	struct git_repo *v;
	size_t n, cap;
};

void git_repo_list_free(struct git_repo_list *l);

/* Bounds of one search, per writable root; AGENTBOX_GIT_SCAN_MAX_ENTRIES
 * may lower (never raise) the entry bound, for tests. */
#define GIT_SCAN_MAX_ENTRIES 200000
#define GIT_SCAN_MAX_MS 3000

/* Directories that hold build output or installed packages: not entered
 * unless a .git lies directly inside (README "Security notes" lists them). */
extern const char *const git_scan_skipped_dirs[]; /* NULL-terminated */

/* Searches each writable root for .git down to policy->git_scan_depth,
 * makes every nested .git read-only (a pointer file, the git dir it
 * names and its common dir too), then protects what the configuration of
 * every repository found names (git_config_paths_add_nodes). Nothing when
 * .git is not a protected name (--unprotect .git). */
int nested_repos_add_nodes(struct plan *plan, const ab_policy *policy,
			   const struct plan_context *ctx, ab_error *err);

/* plan/git_repo_record.c: records the repository whose .git lies in
 * `worktree` (dirfd, opened without following links); for a pointer file
 * (`pointer`), protects the git dir it names and that git dir's common
 * dir (a linked worktree's main .git). */
int git_repo_record(struct plan *plan, struct git_repo_list *repos, int dirfd,
		    const char *worktree, bool pointer, ab_error *err);

/* plan/git_config_paths.c: reads the configuration of every repository
 * in `repos`, the user's global and the system configuration, and makes
 * each path that a key of the table names read-only where it lies in a
 * writable area, or refuses the run. */
int git_config_paths_add_nodes(struct plan *plan, const struct git_repo_list *repos,
			       const struct plan_context *ctx, ab_error *err);

/* The canonical form of an absolute path ("..", links resolved, a missing
 * tail kept), NULL when it cannot be resolved (a link loop). */
char *git_canonical_path(const char *path);

#endif
