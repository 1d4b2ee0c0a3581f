/* Removing a directory tree that an untrusted process filled: agentbox's
 * per-run TMPDIR of the Landlock backend, after the command (same uid)
 * could make directories mode 000, nest them deeper than any fd or stack
 * budget, make files and directories read-only, and plant symbolic links
 * to anything outside.
 *
 * Everything goes through file descriptors and single names: no symbolic
 * link is followed (O_NOFOLLOW opens, unlinkat on the link itself,
 * fchmodat with AT_SYMLINK_NOFOLLOW), and the walk holds one directory fd
 * at a time. It descends by name and comes back up through "..", checked
 * against the identity (dev, inode) it recorded on the way down, so a
 * directory moved meanwhile ends the walk instead of leading it elsewhere.
 * Directories owned by the caller that deny it access are made 0700
 * first; nothing outside the tree is ever changed. */
#ifndef AB_COMMON_RMTREE_H
#define AB_COMMON_RMTREE_H

#include "common/error.h"

/* Removes `name` (a single component, not "." or "..") below the
 * directory `parent_fd`, whatever it is: a file, a symlink or a tree.
 * Returns 0 when it is gone (or was never there), else -errno with err
 * naming what was left and why. */
int rmtree_at(int parent_fd, const char *name, ab_error *err);

#endif
