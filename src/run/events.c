#include "run/events.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

struct line {
	struct line *next;
	size_t len;  /* with the newline */
	char text[]; /* the JSON, then '\n' */
};

struct events_async {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct line *head, *tail;
	size_t queued;    /* bytes held by the queue, headers included */
	uint64_t dropped; /* lines dropped since the last report */
	bool stopping;
	bool fd_dead;     /* the writer only: the fd refused a write */
	int fd;
	ab_event_fn fn;
	void *user;
};

/* Synchronous mode: one writer at a time, so that lines longer than
 * PIPE_BUF do not interleave and callbacks do not overlap. Recursive: a
 * callback that emits must not deadlock. */
static pthread_mutex_t sync_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void events_init(struct events *ev, const ab_run_options *o)
{
	ev->fd = o->events_fd;
	ev->fn = o->on_event;
	ev->user = o->event_user;
	ev->quiet = o->quiet;
	ev->async = NULL;
}

/* Returns 0, or -errno when the fd takes no more (a closed reader must
 * not stop the run: the caller just stops writing). */
static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* an fd handed over non-blocking: wait rather than spin */
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			poll(&p, 1, -1);
			continue;
		}
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
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

static bool try_enqueue_locked(struct events_async *a, struct line *l)
{
	if (a->queued + line_size(l) > EVENTS_QUEUE_MAX)
		return false;
	if (a->tail)
		a->tail->next = l;
	else
		a->head = l;
	a->tail = l;
	a->queued += line_size(l);
	pthread_cond_signal(&a->cond);
	return true;
}

static char *warning_json(const char *code, const char *path, const char *message)
{
	sbuf b = {0};
	sbuf_add(&b, "{\"event\":\"warning\",");
	sbuf_add_json_notice(&b, code, path, message);
	sbuf_add(&b, "}");
	return b.s;
}

/* Once there is room, the reader learns how many lines it missed, at the
 * place in the stream where they went missing. */
static void report_dropped_locked(struct events_async *a)
{
	if (a->dropped == 0)
		return;
	_cleanup_free_ char *msg = xasprintf(
		"%" PRIu64 " events dropped: the events reader did not keep up and more than %u KiB were waiting",
		a->dropped, EVENTS_QUEUE_MAX / 1024);
	_cleanup_free_ char *json = warning_json("events_dropped", NULL, msg);
	struct line *l = line_new(json);
	if (try_enqueue_locked(a, l))
		a->dropped = 0;
	else
		free(l);
}

/* Under the synchronous emitters' lock too: agentbox run's supervisor
 * emits on the same fd (and to the same callback) without a queue. */
static void deliver(struct events_async *a, struct line *l)
{
	pthread_mutex_lock(&sync_lock);
	if (a->fd >= 0 && !a->fd_dead && write_all(a->fd, l->text, l->len) < 0)
		a->fd_dead = true;
	if (a->fn) {
		l->text[l->len - 1] = '\0';
		a->fn(l->text, a->user);
	}
	pthread_mutex_unlock(&sync_lock);
}

static void *writer_main(void *arg)
{
	struct events_async *a = arg;
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
		report_dropped_locked(a);
		pthread_mutex_unlock(&a->lock);
		deliver(a, l);
		free(l);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void emit_async(struct events_async *a, const char *json)
{
	/* allocated outside the lock: emitters wait only for list updates */
	struct line *l = line_new(json);
	pthread_mutex_lock(&a->lock);
	report_dropped_locked(a);
	if (!try_enqueue_locked(a, l)) {
		a->dropped++;
		free(l);
	}
	pthread_mutex_unlock(&a->lock);
}

void events_emit(const struct events *ev, const char *json)
{
	if (ev->async) {
		emit_async(ev->async, json);
		return;
	}
	if (!events_enabled(ev))
		return;
	pthread_mutex_lock(&sync_lock);
	if (ev->fd >= 0) {
		struct line *l = line_new(json);
		write_all(ev->fd, l->text, l->len);
		free(l);
	}
	if (ev->fn)
		ev->fn(json, ev->user);
	pthread_mutex_unlock(&sync_lock);
}

void events_warning(const struct events *ev, const char *code, const char *path,
		    const char *message)
{
	_cleanup_free_ char *json = warning_json(code, path, message);
	events_emit(ev, json);
	if (!ev->quiet)
		fprintf(stderr, "agentbox: warning: %s\n", message);
}

void events_async_start(struct events *ev)
{
	if (ev->async || !events_enabled(ev))
		return;
	struct events_async *a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->fd = ev->fd;
	a->fn = ev->fn;
	a->user = ev->user;
	/* The writer takes no signals: the supervisor's SIGCHLD and SIGTERM
	 * are for its own thread, and a SIGPIPE from a reader that went away
	 * stays pending instead of killing the process (write says EPIPE). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&a->thread, NULL, writer_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
		free(a);
		_cleanup_free_ char *msg = xasprintf(
			"cannot start the events writer thread: %s; events are written synchronously, so a stalled events reader slows the run",
			strerror(r));
		events_warning(ev, "events_sync", NULL, msg);
		return;
	}
	ev->async = a;
}

void events_async_stop(struct events *ev)
{
	struct events_async *a = ev->async;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	/* Lines a racing emitter queued after the writer left, and the count
	 * of any dropped then, are written from here. */
	report_dropped_locked(a);
	for (struct line *l = a->head; l; l = a->head) {
		a->head = l->next;
		deliver(a, l);
		free(l);
	}
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
	ev->async = NULL;
}
