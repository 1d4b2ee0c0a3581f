/* The answers of lstat, stat and readlink remembered for one plan
 * resolution, so that each path is looked up once.
 *
 * Why it is safe: a plan is a snapshot of the host's tree, and every
 * backend checks the identity (device and inode) of what it mounts by fd
 * before mounting. Looking the same path up a second time within one
 * resolution learns nothing the first answer did not say; it only costs a
 * system call (canonicalisation lstats every component of every path, and
 * the workspace or $HOME are the prefix of dozens of them).
 *
 * Lifetime: a memo exists only between stat_memo_begin and stat_memo_end
 * of one owner (plan_resolve: the plan it fills), in the calling thread
 * only (thread-local: parallel runs of libagentbox never share one), and
 * a new resolution always starts empty, so a second resolution (run/run.c
 * plans again after creating directories) sees the tree as it is then.
 * Outside a memo the calls below are the plain system calls.
 *
 * What resolution itself changes must be forgotten: stat_memo_forget
 * drops a path and everything under it (the deny glob cache written into
 * the state directory). */
#ifndef AB_PLAN_STAT_MEMO_H
#define AB_PLAN_STAT_MEMO_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Starts an empty memo for `owner` in this thread; memos nest (a nested
 * one starts empty too and sees nothing of the outer one). */
void stat_memo_begin(const void *owner);

/* Drops `owner`'s memo, with any memo begun after it that was never ended
 * (a resolution unwound by an out-of-memory longjmp, see common/util.h);
 * does nothing when `owner` has none, so that plan_free can call it too. */
void stat_memo_end(const void *owner);

/* lstat(2), stat(2) and readlink(2), with the same results and errno:
 * from the memo when this path was asked before in it. memo_stat of a
 * path whose lstat found no symbolic link answers from that lstat. */
int memo_lstat(const char *path, struct stat *st);
int memo_stat(const char *path, struct stat *st);
ssize_t memo_readlink(const char *path, char *buf, size_t size);

/* Forgets what the memo knows of `path` and every path under it. */
void stat_memo_forget(const char *path);

#endif
