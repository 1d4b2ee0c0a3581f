/* Events: one JSON object per line on --events-fd, the same text to a
 * library callback, and warnings as one short line on stderr.
 *
 * The fd is written through a bounded writer (common/event_sink.h): agentbox
 * never waits more than EVENT_SINK_BUDGET_MS per run for its reader,
 * never dies of SIGPIPE, and lines that did not fit are dropped, counted
 * and reported by a last `events_dropped` line (events_close).
 *
 * Two modes. Synchronous (the default): events_emit writes the line and
 * calls the callback before it returns. Asynchronous (after
 * events_async_start): events_emit queues the line and returns at once; a
 * writer thread writes the lines in order and calls the callback, so a
 * reader that stalls cannot stall the emitter (the proxy's loop). The
 * mode belongs to the run: every copy of a struct events shares it. In
 * both modes events_emit may be called from several threads: lines never
 * interleave, and callbacks never overlap. */
#ifndef AB_COMMON_EVENTS_H
#define AB_COMMON_EVENTS_H

#include <stdbool.h>
#include "agentbox.h"

/* The run's shared state: the writer, the queue, what was dropped. */
struct events_state;

struct events {
	int fd;
	ab_event_fn fn;
	void *user;
	bool quiet;
	struct events_state *st; /* NULL: nothing listens */
};

/* Queued bytes beyond which lines are dropped (and counted) rather than
 * queued. */
#define EVENTS_QUEUE_MAX (4u * 1024 * 1024)

/* Sets up the run's events from the options; events_close ends them. */
void events_init(struct events *ev, const ab_run_options *o);
/* The same for a given fd and callback (fd -1 and fn NULL: nothing). */
void events_open(struct events *ev, int fd, ab_event_fn fn, void *user, bool quiet);
/* The end of the run: stops the writer thread if it still runs, then,
 * when lines were dropped, one last line
 * {"event":"events_dropped","count":N,"message":...} (the fd's count to
 * the fd, the callback's to the callback: the callback misses lines only
 * when the queue overflows). Frees the shared state; no copy of *ev may
 * be used after it. */
void events_close(struct events *ev);

/* Whether an event would go anywhere: callers can skip building it. */
static inline bool events_enabled(const struct events *ev)
{
	return ev->st != NULL;
}
void events_emit(const struct events *ev, const char *json);
/* For the run's last lines (exit): they may use the room the writer
 * keeps free for the end, so that a reader who reads only after agentbox
 * exits still finds them. */
void events_emit_closing(const struct events *ev, const char *json);
void events_warning(const struct events *ev, const char *code, const char *path,
		    const char *message);

/* Starts the writer thread. Call it only once no child is to be made with
 * a raw clone(2) anymore: the built-in engine's children are made that
 * way, and a thread that holds malloc's lock at the moment of the clone
 * leaves the child deadlocked on its first allocation. No thread exists
 * before this call. If the thread cannot be created, the events stay
 * synchronous (a warning says so). Does nothing when nothing listens. */
void events_async_start(struct events *ev);
/* Writes what is queued, within what is left of the wait budget (the
 * rest is dropped and counted), joins the writer and makes the events
 * synchronous again. Callbacks still run for every queued line. */
void events_async_stop(struct events *ev);

#endif
