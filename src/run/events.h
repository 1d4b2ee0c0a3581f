/* Events: one JSON object per line on --events-fd, the same text to a
 * library callback, and warnings as one short line on stderr.
 *
 * Two modes. Synchronous (the default): events_emit writes the line with a
 * blocking write(2) and calls the callback before it returns. Asynchronous
 * (after events_async_start): events_emit queues the line and returns at
 * once; a writer thread writes the lines in order and calls the callback,
 * so a reader that stalls cannot stall the emitter (the proxy's loop). In
 * both modes events_emit may be called from several threads: a line is one
 * write(2), never interleaved with another, and callbacks never overlap. */
#ifndef AB_RUN_EVENTS_H
#define AB_RUN_EVENTS_H

#include <stdbool.h>
#include "agentbox.h"

/* The writer thread's state. Behind a pointer so that copies of a struct
 * events taken after events_async_start (the proxy keeps one by value)
 * share the one queue. */
struct events_async;

struct events {
	int fd;
	ab_event_fn fn;
	void *user;
	bool quiet;
	struct events_async *async; /* NULL: synchronous */
};

/* Queued bytes beyond which lines are dropped (and counted) rather than
 * queued; a warning line with the count follows once there is room. */
#define EVENTS_QUEUE_MAX (4u * 1024 * 1024)

void events_init(struct events *ev, const ab_run_options *o);
/* Whether an event would go anywhere: callers can skip building it. */
static inline bool events_enabled(const struct events *ev)
{
	return ev->fd >= 0 || ev->fn;
}
void events_emit(const struct events *ev, const char *json);
void events_warning(const struct events *ev, const char *code, const char *path,
		    const char *message);

/* Starts the writer thread. Call it before copying *ev anywhere (copies
 * taken earlier stay synchronous) and only once no child is to be made
 * with a raw clone(2) anymore: the built-in engine's children are made
 * that way, and a thread that holds malloc's lock at the moment of the
 * clone leaves the child deadlocked on its first allocation. No thread
 * exists before this call. If the thread cannot be created, *ev stays
 * synchronous (a warning says so). Does nothing when nothing listens. */
void events_async_start(struct events *ev);
/* Writes what is queued (blocking, unless the fd is closed: EPIPE or
 * EBADF end the writing, callbacks still run), joins the writer and makes
 * *ev synchronous again. No copy of *ev may be used concurrently or after
 * it: they share the state this frees. */
void events_async_stop(struct events *ev);

#endif
