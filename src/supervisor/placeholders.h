/* Host placeholders for masks over paths that do not exist yet.
 *
 * To stop a sandboxed command from creating a protected path inside a
 * writable root (/repo/.git missing, say), the sandbox mounts an empty
 * read-only dir or file there, and a mount needs an existing mountpoint on
 * the host. So agentbox creates the placeholder before the sandbox starts
 * and removes it once no sandbox needs it any more.
 *
 * The lifetime is held by the kernel, not by records: every run that
 * mounts over a placeholder holds a shared flock(2) on it until its sandbox
 * is gone, and a run that ends removes the placeholder only if it gets the
 * exclusive lock at once (so no sandbox, of any user, from any state
 * directory, still needs it). Removing a mountpoint that another mount
 * namespace uses would silently detach that mount and lift its protection,
 * which is why nothing but the lock decides.
 *
 * What agentbox creates is recognisable without records: an empty
 * directory or empty regular file with the sticky bit and no write or
 * execute bits (mode 01444, less whatever the umask cleared before the
 * chmod). Only such an entry, unchanged since we locked it, is ever
 * removed; anything else at the path belongs to the user. A placeholder
 * left by a kill -9 of agentbox is adopted and removed by the next run
 * that needs the same path.
 *
 * Everyone who may read the placeholder can flock it, so a process that
 * holds an exclusive lock on it for long makes runs that need it wait; the
 * wait is bounded (placeholders_acquire fails naming the path after
 * PLACEHOLDER_LOCK_WAIT_MS). agentbox's own runs hold the exclusive lock
 * only for the few system calls of a removal.
 */
#ifndef AB_SUPERVISOR_PLACEHOLDERS_H
#define AB_SUPERVISOR_PLACEHOLDERS_H

#include "agentbox.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define PLACEHOLDER_MODE 01444
#define PLACEHOLDER_LOCK_WAIT_MS 2000

struct placeholder_request {
	const char *path; /* canonical absolute path, parent must exist */
	bool dir;         /* empty directory, else empty regular file */
};

struct placeholder_set;

/* Makes every requested path exist, creating what is missing, and takes a
 * shared lock on each that the caller holds until release. Call it before
 * the sandbox mounts over the paths and release only after the sandbox has
 * ended. A symlink in a parent path is an error: paths are canonical, so
 * one appearing means something is racing on the directory. On error
 * nothing stays created or locked. */
int placeholders_acquire(const struct placeholder_request *req, size_t n,
			 struct placeholder_set **out, ab_error *err);

/* False when request i could not be created because the user cannot create
 * it either (EACCES, EPERM, EROFS): the caller drops that mask, since the
 * sandboxed command, same uid and no capabilities, cannot create it either. */
bool placeholders_usable(const struct placeholder_set *set, size_t i);

/* The placeholder this run holds for request i (the inode its lock is
 * on): the sandbox must mount over exactly that one, since the lock is
 * what keeps it there. held is false when nothing is held (unusable, or
 * a path that is not ours to hold). */
struct placeholder_ident {
	bool held;
	dev_t dev;
	ino_t ino;
};
struct placeholder_ident placeholders_ident(const struct placeholder_set *set, size_t i);

/* Drops the locks and removes each placeholder that no other run holds.
 * NULL is a no-op. */
void placeholders_release(struct placeholder_set *set);

/* True when `st` looks like a placeholder agentbox made (see above). */
bool placeholder_is_marked(const struct stat *st);

#endif
