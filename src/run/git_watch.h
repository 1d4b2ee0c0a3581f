/* What agentbox tells about git after a run (README.md, "Git"):
 *  - --git commit: the refs the command changed, in the `exit` event
 *    ("git_refs"), so that rewritten history is visible; and a
 *    `commondir` file the command created in a main git dir (the one name
 *    commit mode cannot block, plan/git_commit.c), removed with a warning;
 *    and a warning for a rebase or cherry-pick left in progress, whose
 *    todo list (exec lines) the command wrote.
 *  - --git protect: when the command was a git command that writes the
 *    repository and it failed, one stderr line and "git_hint" in the
 *    exit event naming --git commit. */
#ifndef AB_RUN_GIT_WATCH_H
#define AB_RUN_GIT_WATCH_H

#include <stdbool.h>

#include "common/events.h"
#include "common/util.h"
#include "plan/plan.h"
#include "run/git_refs.h"

struct git_watch {
	struct git_refs *before; /* one per plan->git_repos entry */
	bool *had_commondir;
	size_t n;
};

/* Before the command starts: the snapshot (commit mode only). */
void git_watch_start(struct git_watch *w, const struct plan *plan);
/* After it ended with `status`: appends the exit event's fields (each
 * starting with a comma) to `fields`, warns through `ev`, prints the hint
 * unless `quiet`. Frees what start took. */
void git_watch_finish(struct git_watch *w, const struct plan *plan, char *const argv[],
		      int status, const struct events *ev, bool quiet, sbuf *fields);

/* The git subcommand that writes a repository which argv runs, directly
 * (git [-C DIR] [-c K=V] commit ...) or in a shell command string
 * (sh -c 'git add . && git commit -m x'), or NULL. A heuristic: a script
 * file that runs git is not seen. */
const char *git_writing_subcommand(char *const argv[]);

#endif
