/* A process that stops bubblewrap's leftovers if agentbox is killed.
 *
 * bwrap's clone child waits for its parent before it arms
 * --die-with-parent; bwrap itself dies with agentbox. A kill -9 of
 * agentbox in that window leaves the child blocked forever, in bwrap's
 * process group. (Once the inner stage runs, it watches agentbox's life
 * pipe itself: inner.h, life_fd.) The keeper waits on a pipe only
 * agentbox writes: EOF without the "done" byte means agentbox died, and it
 * kills its process group, which bwrap joins.
 *
 * The keeper is started before bwrap and leads the group: started after,
 * a kill between the two forks left bwrap's child with no keeper (seen
 * once in about a hundred kills under load). */
#ifndef AB_BACKEND_BWRAP_KEEPER_H
#define AB_BACKEND_BWRAP_KEEPER_H

#include <sys/types.h>

#include "agentbox.h"

struct bwrap_keeper {
	pid_t pid; /* -1: none */
	int fd;    /* our write end, close-on-exec */
};

/* Starts the keeper, the leader of a new process group (its pid) that
 * bwrap must join (setpgid(0, k->pid)) as the first thing after its fork.
 * Call before forking bwrap, in a process whose children are only its own
 * (the keeper is one of them until keeper_stop reaps it). */
int bwrap_keeper_start(struct bwrap_keeper *k, ab_error *err);

/* Once bwrap has been reaped: tells the keeper to leave the group alone,
 * and reaps it. No-op for a keeper that was never started. */
void bwrap_keeper_stop(struct bwrap_keeper *k);

#endif
