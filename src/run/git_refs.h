/* The refs of a repository, read from its files without running git
 * (git is not ours to trust: the sandboxed command may have written the
 * repository's config), for the refs that a run in --git commit mode
 * changed (the `exit` event's "git_refs"). */
#ifndef AB_RUN_GIT_REFS_H
#define AB_RUN_GIT_REFS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

/* Bounds: a repository with more refs, deeper ref names or a larger
 * packed-refs is read in part, and the event says "truncated". */
#define GIT_REFS_MAX 20000
#define GIT_REFS_DEPTH 16
#define GIT_PACKED_REFS_MAX (64u * 1024 * 1024)

struct git_ref {
	char *name;  /* "HEAD", "refs/heads/main" */
	char *value; /* an object id in hex, or "ref: refs/heads/main" */
};

struct git_refs {
	struct git_ref *v;
	size_t n, cap;
	bool truncated;
};

/* Reads HEAD from `gitdir` and, when `commondir` is not NULL, the loose
 * refs under commondir/refs (winning over packed ones) and
 * commondir/packed-refs. Never follows a symbolic link; unreadable parts
 * are skipped. The result is sorted by name. */
void git_refs_read(const char *gitdir, const char *commondir, struct git_refs *out);
void git_refs_free(struct git_refs *r);

/* Changes listed in one exit event at most: the event must fit in the
 * room the events fd keeps for the run's last lines (a quarter of a pipe
 * buffer, common/event_sink.h); the count of all is given too. */
#define GIT_REFS_EVENT_MAX 50

/* Appends one JSON object per ref whose value differs between `before`
 * and `after` (both sorted): {"repo":REPO,"ref":NAME,"old":V|null,
 * "new":V|null}, each preceded by a comma unless *first, while *room is
 * above 0 (decremented for each). Returns how many differ, listed or
 * not. */
size_t git_refs_diff_json(const char *repo, const struct git_refs *before,
			  const struct git_refs *after, sbuf *b, bool *first, size_t *room);

#endif
