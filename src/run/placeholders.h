/* Host placeholders for masks over paths that do not exist yet.
 *
 * To stop a sandboxed command from creating a protected path inside a
 * writable root (/repo/.git missing, say), bubblewrap mounts an empty
 * read-only dir or file there, and a mount needs an existing mountpoint on
 * the host. So agentbox creates the placeholder before bwrap starts and
 * removes it afterwards.
 *
 * Rules this module keeps:
 *  - a file that existed before agentbox looked is never removed;
 *  - nothing non-empty, replaced (different dev/ino) or reached through a
 *    symlink is ever removed;
 *  - concurrent runs share placeholders: removing a mountpoint that another
 *    run's mount namespace uses silently detaches that mount and lifts its
 *    protection, so a placeholder goes only when no live run uses it;
 *  - nothing is left behind even after kill -9 (a janitor process cleans up
 *    once the orphaned sandbox has ended; sweeps at start catch the rest).
 *
 * Runs of the same user coordinate through a registry in
 * <state_dir>/placeholders/: one record file per (path, owner run), named
 * <fnv1a64(path) as 16 hex>.<pid>.<starttime>, holding
 *   created|borrowed <dev> <ino> <d|f>\n<path>\n[janitor <pid> <starttime>\n]
 * Every change happens under flock(<registry>/lock). An owner counts as alive
 * while its process (pid with the same /proc starttime, not a zombie) or its
 * janitor lives: the janitor stands in for a killed agentbox whose sandbox
 * still runs.
 */
#ifndef AB_RUN_PLACEHOLDERS_H
#define AB_RUN_PLACEHOLDERS_H

#include "agentbox.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct placeholder_request {
	const char *path; /* canonical absolute path, parent must exist */
	bool dir;         /* empty directory, else empty regular file */
};

struct placeholder_set;

/* Makes every requested path exist, creating what is missing and
 * registering it (or borrowing another live run's placeholder). The owner is
 * the calling process; one process must not hold two sets naming the same
 * path. A symlink in a parent path is an error: paths are canonical, so one
 * appearing means something is racing on the directory. On error nothing
 * stays created or registered. */
int placeholders_acquire(const char *state_dir,
			 const struct placeholder_request *req, size_t n,
			 struct placeholder_set **out, ab_error *err);

/* False when request i could not be created because the user cannot create
 * it either (EACCES, EPERM, EROFS): the caller drops that mask, since the
 * sandboxed command, same uid and no capabilities, cannot create it either. */
bool placeholders_usable(const struct placeholder_set *set, size_t i);

/* Removes own registrations and the placeholders no live run still uses.
 * Frees the set, except that with a janitor still attached the set lives on
 * until placeholders_finish_janitor (which is called after release, so that
 * an agentbox killed during release still gets cleaned up). NULL is a no-op. */
void placeholders_release(struct placeholder_set *set);

/* Cleans records of dead owners and the placeholders only they used. Called
 * at every start, so the empty case costs one opendir. */
void placeholders_sweep(const char *state_dir);

/* Starts a detached janitor (own session, stdio on /dev/null, no fd of the
 * caller but its two pipe read ends) that makes cleanup survive kill -9:
 *  - it reads a supervisor pipe whose write end stays in the set (CLOEXEC);
 *    'D' there means release already ran, and it exits quietly;
 *  - EOF there without 'D' means agentbox died: it then waits for EOF on the
 *    sandbox pipe, whose write end is returned in *sandbox_fd_out without
 *    CLOEXEC for bwrap's --sync-fd (bwrap holds it while the sandbox lives;
 *    close your copy right after spawning bwrap), then sweeps and exits.
 * Order: acquire, start_janitor, spawn bwrap, confirm_janitor, wait,
 * release, finish_janitor. */
int placeholders_start_janitor(struct placeholder_set *set, int *sandbox_fd_out,
			       ab_error *err);

/* Waits for the janitor to report in and names it in our records, so that
 * another run's sweep counts it as alive while our sandbox may be. Split
 * from start_janitor so that the wait overlaps with the sandbox's setup;
 * the records name us meanwhile, which is as safe while we live. */
int placeholders_confirm_janitor(struct placeholder_set *set, ab_error *err);

/* Tells the janitor to exit and frees the set if release already ran. */
void placeholders_finish_janitor(struct placeholder_set *set);

/* The registry's record file name for `path` owned by (pid, start): the
 * format above. Exposed for tests that plant records. */
char *placeholders_record_name(const char *path, pid_t pid, unsigned long long start);

#endif
