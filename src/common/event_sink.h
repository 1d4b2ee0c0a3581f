/* The bounded writer behind --events-fd: JSON lines to a descriptor that
 * agentbox was handed and whose reader it does not control.
 *
 * What it promises (issue #11, "events never stall the run"):
 *
 * - Bounded waits. Per run, everything that agentbox itself waits on
 *   (the supervisor's own lines, and the proxy's queue drained when the
 *   run ends) waits at most EVENT_SINK_BUDGET_MS in total for the reader
 *   to make room; the last EVENT_SINK_FINAL_MS of it are kept for the
 *   closing lines (exit, events_dropped). A line that does not fit in
 *   time is dropped and counted. A thread that nobody waits for (the
 *   proxy's events writer while the run lasts) may wait without limit
 *   until its wake fd says that somebody now does.
 *
 * - No blocking write(2). The caller's open file description is never
 *   touched (its O_NONBLOCK is theirs, shared with whoever else holds
 *   it): sockets get send(MSG_DONTWAIT | MSG_NOSIGNAL); pipes and FIFOs
 *   get poll(POLLOUT) and then at most PIPE_BUF bytes, which the kernel
 *   stores without waiting once POLLOUT has said that a buffer slot is
 *   free (only another process writing into the same pipe between the
 *   two calls could take that slot); a terminal is reopened through
 *   /proc/self/fd with O_NONBLOCK, a description of our own (if that
 *   fails it is treated like a pipe); regular files are written as they
 *   are (nothing waits for a reader there).
 *
 * - Room for the end. On a pipe or socket whose fill level can be read
 *   (FIONREAD / SIOCOUTQ), ordinary lines leave a quarter of the buffer
 *   free, so that the closing lines still fit when the reader has read
 *   nothing at all until agentbox exits. (On a pipe that has only one
 *   page, F_SETPIPE_SZ 4096, that page is one buffer slot and POLLOUT
 *   says no as soon as it holds anything: the closing lines then fit
 *   only if the reader empties it.)
 *
 * - Whole lines. A line is started only when it fits (where the fill
 *   level is known). If a line was started and its rest could not be
 *   written in time, the rest is dropped (the line counts as dropped)
 *   and the next write begins with '\n': the fragment stays a line of its
 *   own, which a JSON-lines reader rejects by itself, and every later
 *   line is whole and starts a line.
 *
 * - No SIGPIPE. A reader that went away turns the sink off for the rest
 *   of the run with one warning on stderr (unless quiet); the run goes
 *   on. SIGPIPE is blocked in the writing thread around each write(2) and
 *   taken back with sigtimedwait when that write raised it; the process's
 *   disposition (a library caller's handler, or SIG_IGN) is never
 *   changed.
 *
 * Not thread-safe: one thread at a time (events.c serialises). */
#ifndef AB_COMMON_EVENT_SINK_H
#define AB_COMMON_EVENT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_SINK_BUDGET_MS 100.0
#define EVENT_SINK_FINAL_MS 20.0
/* How often a writer that may wait looks again while the buffer is
 * writable but below the reserve (the kernel wakes writers only when a
 * full pipe gets room, so there is nothing to wait on). */
#define EVENT_SINK_SLICE_MS 10

enum event_sink_kind {
	SINK_OFF,      /* no fd, or turned off after an error */
	SINK_PIPE,     /* pipe, FIFO, other character device */
	SINK_SOCKET,
	SINK_NONBLOCK, /* a terminal reopened with O_NONBLOCK */
	SINK_FILE,     /* regular file, block device */
};

enum event_sink_result {
	SINK_WRITTEN,
	SINK_DROPPED, /* counted in dropped */
	SINK_GONE,    /* the sink is off: nothing written, nothing counted */
};

struct event_sink {
	int fd;           /* where lines go: the caller's fd, or our own reopening */
	int user_fd;      /* the caller's fd number, for messages */
	bool own_fd;      /* fd was opened here; event_sink_close closes it */
	enum event_sink_kind kind;
	double budget_ms; /* what is left of EVENT_SINK_BUDGET_MS */
	uint64_t dropped; /* lines not written whole */
	bool torn;        /* a line was cut short: the next write starts with '\n' */
	bool quiet;       /* no warning on stderr when the fd fails */
};

/* fd < 0: a sink that is off. */
void event_sink_init(struct event_sink *s, int fd, bool quiet);

/* Writes `len` bytes of `line` (which ends with '\n').
 * wake_fd: -1 when somebody waits for this call (every wait is charged
 * to the budget); else the caller is a thread that nobody waits for: it
 * waits for room as long as it takes, until wake_fd becomes readable,
 * and from then on out of the budget. closing: a line of the run's end,
 * which may use the reserve and the budget's last EVENT_SINK_FINAL_MS. */
enum event_sink_result event_sink_write(struct event_sink *s, const char *line, size_t len,
					int wake_fd, bool closing);

/* Counts n lines that were given up on without trying (while on). */
void event_sink_drop(struct event_sink *s, uint64_t n);

/* Whether ordinary lines may still wait (budget left beyond the part kept
 * for the closing lines). */
bool event_sink_may_wait(const struct event_sink *s);

void event_sink_close(struct event_sink *s);

#endif
