/* Opening a path that a racing process could redirect: below a directory
 * fd, following no symbolic link (nor magic link), never above it. The
 * built-in engine's mounts, the inner stage's check of the mounts and the
 * host placeholders all open through here. */
#ifndef AB_COMMON_OPEN_BENEATH_H
#define AB_COMMON_OPEN_BENEATH_H

#include <stdbool.h>

/* Whether this kernel has openat2 (5.6); one cheap probe. */
bool open_beneath_probe_openat2(void);

/* Opens `rel` (relative, no "..") under dirfd. With `openat2` false (old
 * kernels, or tests of the fallback) it walks one component at a time
 * with O_NOFOLLOW. Returns the fd or -errno (ELOOP when a component is a
 * symlink). `flags` are O_* flags (O_PATH, O_DIRECTORY, ...); O_NOFOLLOW
 * and O_CLOEXEC are implied. An empty `rel` (or only slashes) reopens
 * dirfd itself. */
int open_beneath(bool openat2, int dirfd, const char *rel, int flags);

#endif
