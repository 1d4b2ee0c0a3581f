/* Opening agentbox's own configuration files (a --policy-file, the
 * --approvals-save file) so that nobody can redirect them: no symbolic
 * link is followed on any component, the file is read through the fd that
 * was checked, and a new version is written next to it and renamed over
 * it through the same directory fd. A sandboxed command that planted a
 * link at such a path (or on the way to it) gets ELOOP, not a write to
 * the link's target. */
#ifndef AB_COMMON_CONFIG_OPEN_H
#define AB_COMMON_CONFIG_OPEN_H

#include <stddef.h>

/* The directory holding `path` (absolute or relative to the current
 * directory), opened O_DIRECTORY without following links; *base points
 * into path at the last component. Returns the fd or -errno. */
int config_open_parent(const char *path, const char **base);

/* `base` in dirfd for reading: a regular file, not followed if it is a
 * link (ELOOP), not blocking on a FIFO (EINVAL for anything but a regular
 * file or a character device such as /dev/null). Returns the fd or -errno. */
int config_open_file(int dirfd, const char *base);

/* Writes `len` bytes of `text` as `base` in dirfd: a temporary file in
 * the same directory, flushed, then renamed over `base`; the directory is
 * flushed last. `mode`, `uid`, `gid` of the old file are kept when
 * `keep_owner` is set (a new file gets 0644). Returns 0 or -errno with
 * *what set to the step that failed. */
int config_write_atomically(int dirfd, const char *base, const char *text, size_t len,
			    unsigned mode, int uid, int gid, int keep_owner, const char **what);

#endif
