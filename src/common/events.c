#include "common/events.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/util.h"
#include "common/event_sink.h"

struct line {
	struct line *next;
	size_t len;  /* with the newline */
	char text[]; /* the JSON, then '\n' */
};

/* The writer thread and its queue. */
struct events_async {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct line *head, *tail;
	size_t queued;    /* bytes held by the queue, headers included */
	uint64_t dropped; /* lines the queue had no room for */
	bool stopping;
	/* Readable once stop began: until then nobody waits for the writer,
	 * so it may wait for the reader without limit; from then on its
	 * waits come out of the run's budget. */
	int wake_fd;
	struct events_state *st;
};

struct events_state {
	/* Synchronous emits hold it for the line and its callback, so that
	 * lines do not interleave and callbacks do not overlap; recursive, so
	 * that a callback that emits does not deadlock. Emitters also hold it
	 * while they queue, so that stop sees every queued line. */
	pthread_mutex_t lock;
	struct event_sink sink; /* the writer thread's alone while async is set */
	ab_event_fn fn;
	void *user;
	struct events_async *async;
	uint64_t fn_missed; /* lines the callback never got (queue overflow) */
};

void events_open(struct events *ev, int fd, ab_event_fn fn, void *user, bool quiet)
{
	*ev = (struct events){.fd = fd, .fn = fn, .user = user, .quiet = quiet};
	if (fd < 0 && !fn)
		return;
	struct events_state *st = xcalloc(1, sizeof(*st));
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	event_sink_init(&st->sink, fd, quiet);
	st->fn = fn;
	st->user = user;
	ev->st = st;
}

void events_init(struct events *ev, const ab_run_options *o)
{
	events_open(ev, o->events_fd, o->on_event, o->event_user, o->quiet);
}

static struct line *line_new(const char *json)
{
	size_t n = strlen(json);
	struct line *l = xmalloc(sizeof(*l) + n + 1);
	l->next = NULL;
	l->len = n + 1;
	memcpy(l->text, json, n);
	l->text[n] = '\n';
	return l;
}

static size_t line_size(const struct line *l)
{
	return sizeof(*l) + l->len;
}

/* The callback gets the JSON without the newline. */
static void call_back(struct events_state *st, struct line *l)
{
	if (!st->fn)
		return;
	l->text[l->len - 1] = '\0';
	st->fn(l->text, st->user);
	l->text[l->len - 1] = '\n';
}

static void *writer_main(void *arg)
{
	struct events_async *a = arg;
	struct events_state *st = a->st;
	/* Stopping, the budget spent and a line just dropped: the reader is
	 * not there, so the rest of the queue is dropped without trying
	 * (callbacks still run). */
	bool give_up = false;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->head && !a->stopping)
			pthread_cond_wait(&a->cond, &a->lock);
		struct line *l = a->head;
		if (!l)
			break;
		a->head = l->next;
		if (!a->head)
			a->tail = NULL;
		a->queued -= line_size(l);
		bool stopping = a->stopping;
		pthread_mutex_unlock(&a->lock);
		if (give_up) {
			event_sink_drop(&st->sink, 1);
		} else if (event_sink_write(&st->sink, l->text, l->len, a->wake_fd, false) ==
				   SINK_DROPPED &&
			   stopping && !event_sink_may_wait(&st->sink)) {
			give_up = true;
		}
		call_back(st, l);
		free(l);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void emit_async(struct events_async *a, struct line *l)
{
	pthread_mutex_lock(&a->lock);
	if (a->queued + line_size(l) > EVENTS_QUEUE_MAX) {
		a->dropped++;
		free(l);
	} else {
		if (a->tail)
			a->tail->next = l;
		else
			a->head = l;
		a->tail = l;
		a->queued += line_size(l);
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
}

/* With st->lock held and no writer thread. */
static void deliver_sync(struct events_state *st, struct line *l, bool closing)
{
	event_sink_write(&st->sink, l->text, l->len, -1, closing);
	call_back(st, l);
}

static void emit(const struct events *ev, const char *json, bool closing)
{
	struct events_state *st = ev->st;
	if (!st)
		return;
	/* Allocated before any lock: emitters wait only for list updates,
	 * and an allocation failure that unwinds to an oom_guarded() (a run's
	 * checks before it starts anything) leaves no lock held. */
	struct line *l = line_new(json);
	pthread_mutex_lock(&st->lock);
	if (st->async) {
		emit_async(st->async, l);
	} else {
		deliver_sync(st, l, closing);
		free(l);
	}
	pthread_mutex_unlock(&st->lock);
}

void events_emit(const struct events *ev, const char *json)
{
	emit(ev, json, false);
}

void events_emit_closing(const struct events *ev, const char *json)
{
	emit(ev, json, true);
}

static char *warning_json(const char *code, const char *path, const char *message)
{
	sbuf b = {0};
	sbuf_add(&b, "{\"event\":\"warning\",");
	sbuf_add_json_notice(&b, code, path, message);
	sbuf_add(&b, "}");
	return b.s;
}

void events_warning(const struct events *ev, const char *code, const char *path,
		    const char *message)
{
	if (ev->st) {
		_cleanup_free_ char *json = warning_json(code, path, message);
		events_emit(ev, json);
	}
	if (!ev->quiet)
		fprintf(stderr, "agentbox: warning: %s\n", message);
}

void events_async_start(struct events *ev)
{
	struct events_state *st = ev->st;
	if (!st || st->async)
		return;
	struct events_async *a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->st = st;
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r = a->wake_fd < 0 ? errno : 0;
	if (r == 0) {
		/* The writer takes no signals: the supervisor's SIGCHLD and
		 * SIGTERM are for its own thread (and the sink takes back the
		 * SIGPIPE of a reader that went away). */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&a->thread, NULL, writer_main, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (r != 0) {
		if (a->wake_fd >= 0)
			close(a->wake_fd);
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
		free(a);
		_cleanup_free_ char *msg = xasprintf(
			"cannot start the events writer thread: %s; events are written synchronously, so a slow events reader slows the run (by at most %g ms)",
			strerror(r), EVENT_SINK_BUDGET_MS);
		events_warning(ev, "events_sync", NULL, msg);
		return;
	}
	pthread_mutex_lock(&st->lock);
	st->async = a;
	pthread_mutex_unlock(&st->lock);
}

void events_async_stop(struct events *ev)
{
	struct events_state *st = ev->st;
	if (!st || !st->async)
		return;
	struct events_async *a = st->async;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	/* ends a wait for the reader that had no limit */
	uint64_t one = 1;
	if (write(a->wake_fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "agentbox: cannot wake the events writer thread: %s\n", strerror(errno));
	pthread_join(a->thread, NULL);
	pthread_mutex_lock(&st->lock);
	st->async = NULL;
	/* Lines a racing emitter queued after the writer left: emitters
	 * queue with st->lock held, so there are no more after this. */
	for (struct line *l = a->head; l; l = a->head) {
		a->head = l->next;
		deliver_sync(st, l, false);
		free(l);
	}
	event_sink_drop(&st->sink, a->dropped);
	st->fn_missed += a->dropped;
	pthread_mutex_unlock(&st->lock);
	close(a->wake_fd);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static char *dropped_json(uint64_t n, const char *why)
{
	_cleanup_free_ char *msg = xasprintf("%" PRIu64 " events were not delivered: %s", n, why);
	sbuf b = {0};
	sbuf_addf(&b, "{\"event\":\"events_dropped\",\"count\":%" PRIu64 ",\"message\":", n);
	sbuf_add_json_string(&b, msg);
	sbuf_add(&b, "}");
	return b.s;
}

void events_close(struct events *ev)
{
	struct events_state *st = ev->st;
	if (!st)
		return;
	events_async_stop(ev);
	pthread_mutex_lock(&st->lock);
	if (st->sink.dropped > 0) {
		_cleanup_free_ char *why = xasprintf(
			"the events reader did not keep up (agentbox waits for it at most %g ms per run, and queues at most %u KiB of the proxy's events)",
			EVENT_SINK_BUDGET_MS, EVENTS_QUEUE_MAX / 1024);
		_cleanup_free_ char *json = dropped_json(st->sink.dropped, why);
		struct line *l = line_new(json);
		event_sink_write(&st->sink, l->text, l->len, -1, true);
		free(l);
	}
	if (st->fn && st->fn_missed > 0) {
		_cleanup_free_ char *why = xasprintf(
			"more than %u KiB of the proxy's events were waiting for the callback",
			EVENTS_QUEUE_MAX / 1024);
		_cleanup_free_ char *json = dropped_json(st->fn_missed, why);
		st->fn(json, st->user);
	}
	event_sink_close(&st->sink);
	pthread_mutex_unlock(&st->lock);
	pthread_mutex_destroy(&st->lock);
	free(st);
	ev->st = NULL;
}
