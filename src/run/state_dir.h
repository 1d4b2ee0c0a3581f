/* agentbox's per-user state directory: where runs that share a uid meet
 * (the placeholder registry lives there), so it must be private to the user
 * and survive nothing but the user's own session. */
#ifndef AB_RUN_STATE_DIR_H
#define AB_RUN_STATE_DIR_H

#include "agentbox.h"

/* Finds or creates the state dir: $XDG_RUNTIME_DIR/agentbox when
 * XDG_RUNTIME_DIR is set, absolute, and a directory owned by the euid (it is
 * per-session and cleared at logout, the right lifetime); otherwise
 * /tmp/agentbox-<euid>. Created with mode 0700.
 *
 * Other users can pre-create names in /tmp, and whatever we read from this
 * directory decides what agentbox deletes, so it refuses (error naming the
 * path and the fix) a symlink, a non-directory, a directory not owned by the
 * euid, or one that is group/other-writable. Returns a malloc'd path. */
int state_dir_get(char **path_out, ab_error *err);

#endif
