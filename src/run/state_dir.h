/* agentbox's per-user state directory. Today it holds only the bwrap
 * probe cache, which nothing security-relevant is taken from (see
 * bwrap.h), and every candidate location is hidden inside every sandbox
 * (plan_context.state_dirs), so the sandboxed command can neither read
 * nor forge what a later run finds there. */
#ifndef AB_RUN_STATE_DIR_H
#define AB_RUN_STATE_DIR_H

#include "agentbox.h"
#include "common/util.h"

/* Finds or creates this run's state dir: $XDG_RUNTIME_DIR/agentbox when
 * XDG_RUNTIME_DIR is set, absolute, and a directory owned by the euid (it is
 * per-session and cleared at logout, the right lifetime); otherwise
 * /tmp/agentbox-<euid>. Created with mode 0700.
 *
 * Other users can pre-create names in /tmp, so it refuses (error naming the
 * path and the fix) a symlink, a non-directory or a directory not owned by
 * the euid. One of ours that others could write to is made private again
 * and its contents dropped, not obeyed. Returns a malloc'd path. */
int state_dir_get(char **path_out, ab_error *err);

/* Every place a state dir of this user may be, whichever one a run picks:
 * /tmp/agentbox-<euid>, /run/user/<euid>/agentbox and
 * $XDG_RUNTIME_DIR/agentbox. The one in /tmp is created when missing, so
 * that hiding it needs no placeholder. */
void state_dir_candidates(strv *out);

#endif
