/* Events against real pipes: a reader that stalls must not stall the
 * emitters (with the writer thread, or within the wait budget without
 * it), nor stop and close; lines stay whole and in order, what is dropped
 * is counted and reported by the last line, a reader that went away does
 * not kill the process, and callbacks see every line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "common/event_sink.h"
#include "common/events.h"
#include "probe_child.h"

/* Only a hang fails this bound; it says nothing about speed. */
#define HANG_SECONDS 60

struct emitter {
	const struct events *ev;
	int id;
	int count;
	size_t pad; /* bytes of padding per line */
};

static char *make_line(int id, int n, size_t pad)
{
	char *p = xmalloc(pad + 1);
	memset(p, 'x', pad);
	p[pad] = '\0';
	char *s = xasprintf("{\"t\":%d,\"n\":%d,\"pad\":\"%s\"}", id, n, p);
	free(p);
	return s;
}

static void *emitter_main(void *arg)
{
	struct emitter *e = arg;
	for (int i = 0; i < e->count; i++) {
		char *s = make_line(e->id, i, e->pad);
		events_emit(e->ev, s);
		free(s);
	}
	return NULL;
}

/* Runs two emitters; fails if they do not both return within the bound. */
static void run_emitters(const struct events *ev, int count, size_t pad)
{
	struct emitter e[2] = {{ev, 0, count, pad}, {ev, 1, count, pad}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, emitter_main, &e[i]), 0);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HANG_SECONDS;
	for (int i = 0; i < 2; i++) {
		int r = pthread_timedjoin_np(t[i], NULL, &until);
		if (r != 0)
			fail_msg("emitter %d still blocked after %d s: events_emit blocks on a stalled reader",
				 i, HANG_SECONDS);
	}
}

struct reader {
	int fd;
	sbuf got;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char buf[65536];
	for (;;) {
		ssize_t n = read(r->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sbuf_addn(&r->got, buf, (size_t)n);
	}
	return NULL;
}

/* What the callback saw; it must run on the writer thread only. */
struct seen {
	pthread_mutex_t lock;
	sbuf text; /* each callback's json, then '\n' */
	int calls;
	int concurrent, max_concurrent;
	pthread_t main_thread;
	bool on_main;
};

static void on_event(const char *json, void *user)
{
	struct seen *s = user;
	pthread_mutex_lock(&s->lock);
	s->concurrent++;
	if (s->concurrent > s->max_concurrent)
		s->max_concurrent = s->concurrent;
	if (pthread_equal(pthread_self(), s->main_thread))
		s->on_main = true;
	pthread_mutex_unlock(&s->lock);
	usleep(10); /* widens the window for overlapping callbacks */
	pthread_mutex_lock(&s->lock);
	assert_null(strchr(json, '\n'));
	sbuf_add(&s->text, json);
	sbuf_add(&s->text, "\n");
	s->calls++;
	s->concurrent--;
	pthread_mutex_unlock(&s->lock);
}

/* Checks every line of `text`: whole JSON, per-emitter numbers in order
 * with no reordering. Returns the count of a last events_dropped line in
 * *dropped (0 without one) and the lines of each emitter in got[]. */
static void check_lines(const char *text, int got[2], uint64_t *dropped)
{
	int next[2] = {0, 0};
	got[0] = got[1] = 0;
	*dropped = 0;
	const char *p = text ? text : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* the last line ends too */
		json_error_t je;
		json_t *o = json_loadb(p, (size_t)(nl - p), 0, &je);
		if (!o)
			fail_msg("not a whole JSON line (%s): %.80s", je.text, p);
		json_t *ev = json_object_get(o, "event");
		if (ev) {
			assert_string_equal(json_string_value(ev), "events_dropped");
			assert_int_equal(nl[1], '\0'); /* the last line */
			*dropped = (uint64_t)json_integer_value(json_object_get(o, "count"));
			assert_true(*dropped > 0);
			assert_non_null(strstr(json_string_value(json_object_get(o, "message")),
					       "events were not delivered"));
		} else {
			int t = (int)json_integer_value(json_object_get(o, "t"));
			int n = (int)json_integer_value(json_object_get(o, "n"));
			assert_in_range(t, 0, 1);
			/* dropping may skip numbers, never reorder them */
			if (n < next[t])
				fail_msg("emitter %d: line %d after line %d", t, n, next[t] - 1);
			next[t] = n + 1;
			got[t]++;
		}
		json_decref(o);
		p = nl + 1;
	}
}

/* Once the writer is done: reads what the reader would have got and
 * counts it (check_lines); returns the dropped count the stream reports. */
static uint64_t drain(int fds[2], struct reader *r, int got[2])
{
	uint64_t dropped;
	close(fds[1]);
	reader_main(r);
	close(fds[0]);
	check_lines(r->got.s, got, &dropped);
	return dropped;
}

static void make_pipe(int fds[2], int size)
{
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	/* a small pipe fills fast: the reader's stall is felt at once */
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, size) >= size);
}

static int count_lines(const sbuf *b)
{
	int n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->s[i] == '\n';
	return n;
}

/* A reader that starts now; returns once it has `want` lines or after
 * HANG_SECONDS (the caller checks what it got). */
struct live_reader {
	struct reader r;
	pthread_t t;
	pthread_mutex_t lock;
};

static void *live_reader_main(void *arg)
{
	struct live_reader *lr = arg;
	char buf[65536];
	for (;;) {
		ssize_t n = read(lr->r.fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pthread_mutex_lock(&lr->lock);
		sbuf_addn(&lr->r.got, buf, (size_t)n);
		pthread_mutex_unlock(&lr->lock);
	}
	return NULL;
}

static void wait_lines(struct live_reader *lr, int want)
{
	double until = monotonic_ms() + HANG_SECONDS * 1000.0;
	for (;;) {
		pthread_mutex_lock(&lr->lock);
		int have = count_lines(&lr->r.got);
		pthread_mutex_unlock(&lr->lock);
		if (have >= want)
			return;
		if (monotonic_ms() > until)
			fail_msg("the reader got %d of %d lines in %d s", have, want, HANG_SECONDS);
		usleep(1000);
	}
}

static void live_reader_start(struct live_reader *lr, int fd)
{
	memset(lr, 0, sizeof(*lr));
	pthread_mutex_init(&lr->lock, NULL);
	lr->r.fd = fd;
	assert_int_equal(pthread_create(&lr->t, NULL, live_reader_main, lr), 0);
}

/* Closes the write end, so the reader sees EOF, and joins it. */
static void live_reader_finish(struct live_reader *lr, int fds[2])
{
	close(fds[1]);
	pthread_join(lr->t, NULL);
	close(fds[0]);
	pthread_mutex_destroy(&lr->lock);
}

static void test_stalled_reader_does_not_block(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 4096);
	struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self()};
	struct events ev;
	events_open(&ev, fds[1], on_event, &s, true);
	events_async_start(&ev);
	/* 2 x 3000 lines of about 300 bytes: 1.8 MB, far beyond the pipe
	 * and within the queue, while nobody reads. */
	struct events copy = ev; /* a by-value copy shares the queue */
	run_emitters(&copy, 3000, 256);
	/* the writer delivers everything once a reader comes */
	struct live_reader lr;
	live_reader_start(&lr, fds[0]);
	wait_lines(&lr, 6000);
	events_close(&ev);
	assert_null(ev.st);
	live_reader_finish(&lr, fds);
	int got[2];
	uint64_t dropped;
	assert_non_null(lr.r.got.s);
	check_lines(lr.r.got.s, got, &dropped);
	assert_int_equal(got[0], 3000);
	assert_int_equal(got[1], 3000);
	assert_int_equal(dropped, 0);
	/* the callback saw the same lines, one at a time, off the emitters'
	 * and the main thread */
	assert_int_equal(s.calls, 6000);
	assert_string_equal(s.text.s, lr.r.got.s);
	assert_int_equal(s.max_concurrent, 1);
	assert_false(s.on_main);
	sbuf_free(&lr.r.got);
	sbuf_free(&s.text);
}

/* More than the queue holds while nobody reads: nothing vanishes
 * unaccounted for, for the fd and for the callback. */
static void test_overflow_is_counted(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 4096);
	struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self()};
	struct events ev;
	events_open(&ev, fds[1], on_event, &s, true);
	events_async_start(&ev);
	/* 2 x 6000 lines of about 1 KiB: 12 MB against a 4 MiB queue */
	run_emitters(&ev, 6000, 1000);
	struct live_reader lr;
	live_reader_start(&lr, fds[0]);
	events_close(&ev);
	live_reader_finish(&lr, fds);
	int got[2];
	uint64_t dropped;
	check_lines(lr.r.got.s, got, &dropped);
	assert_true(dropped > 0);
	assert_true(got[0] + got[1] > 0);
	assert_int_equal((uint64_t)got[0] + (uint64_t)got[1] + dropped, 12000);
	/* the callback's own account: the lines the queue had no room for */
	int cb_got[2];
	uint64_t cb_dropped;
	check_lines(s.text.s, cb_got, &cb_dropped);
	assert_true(cb_dropped > 0);
	assert_int_equal((uint64_t)cb_got[0] + (uint64_t)cb_got[1] + cb_dropped, 12000);
	sbuf_free(&lr.r.got);
	sbuf_free(&s.text);
}

/* Nobody reads until everything is over: stop and close return within
 * the budget (a dropped queue, not a blocked writer), and the reader then
 * finds the closing lines after what fitted. */
static void test_close_with_a_stalled_reader_is_bounded(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 65536);
	struct events ev;
	events_open(&ev, fds[1], NULL, NULL, true);
	events_async_start(&ev);
	run_emitters(&ev, 2000, 300);
	double t0 = monotonic_ms();
	events_async_stop(&ev);
	events_emit_closing(&ev, "{\"t\":0,\"n\":999999}");
	events_close(&ev);
	double spent = monotonic_ms() - t0;
	if (spent > EVENT_SINK_BUDGET_MS + 400)
		fail_msg("stop and close took %.0f ms with a stalled reader", spent);
	struct reader r = {.fd = fds[0]};
	int got[2];
	uint64_t dropped = drain(fds, &r, got);
	assert_true(dropped > 0);
	/* the closing line made it, just before events_dropped */
	assert_int_equal((uint64_t)got[0] + (uint64_t)got[1] - 1 + dropped, 4000);
	assert_non_null(strstr(r.got.s, "{\"t\":0,\"n\":999999}\n{\"event\":\"events_dropped\""));
	sbuf_free(&r.got);
}

/* Synchronous mode: a stalled reader costs every emitter together at
 * most the budget; the rest is dropped and reported at close. */
static void test_sync_stalled_reader_is_bounded(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 65536);
	struct events ev;
	events_open(&ev, fds[1], NULL, NULL, true);
	double t0 = monotonic_ms();
	run_emitters(&ev, 500, 300);
	events_close(&ev);
	double spent = monotonic_ms() - t0;
	if (spent > EVENT_SINK_BUDGET_MS + 400)
		fail_msg("1000 synchronous emits to a stalled reader took %.0f ms", spent);
	struct reader r = {.fd = fds[0]};
	int got[2];
	uint64_t dropped = drain(fds, &r, got);
	assert_int_equal((uint64_t)got[0] + (uint64_t)got[1] + dropped, 1000);
	assert_true(dropped > 0);
	sbuf_free(&r.got);
}

/* Synchronous mode: lines longer than PIPE_BUF from two threads. */
static void test_sync_lines_do_not_interleave(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 1 << 20);
	struct live_reader lr;
	live_reader_start(&lr, fds[0]);
	struct events ev;
	events_open(&ev, fds[1], NULL, NULL, true);
	run_emitters(&ev, 500, 20000);
	events_close(&ev);
	live_reader_finish(&lr, fds);
	int got[2];
	uint64_t dropped;
	check_lines(lr.r.got.s, got, &dropped);
	/* a busy machine may cost some lines the budget, never a torn one */
	assert_int_equal((uint64_t)got[0] + (uint64_t)got[1] + dropped, 1000);
	sbuf_free(&lr.r.got);
}

/* A reader that went away: SIGPIPE keeps its default action (death) here,
 * yet nobody dies, in either mode; no hang in stop, and the callback still
 * gets every line. */
static void test_closed_reader(void **state)
{
	(void)state;
	struct sigaction dfl = {.sa_handler = SIG_DFL}, before;
	assert_int_equal(sigaction(SIGPIPE, &dfl, &before), 0);
	for (int async = 0; async < 2; async++) {
		int fds[2];
		make_pipe(fds, 4096);
		close(fds[0]);
		struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self()};
		struct events ev;
		events_open(&ev, fds[1], on_event, &s, true);
		if (async)
			events_async_start(&ev);
		run_emitters(&ev, 200, 10);
		events_emit_closing(&ev, "{\"t\":0,\"n\":200}");
		events_close(&ev);
		close(fds[1]);
		assert_int_equal(s.calls, 401);
		int got[2];
		uint64_t dropped;
		check_lines(s.text.s, got, &dropped);
		assert_int_equal(got[0], 201);
		assert_int_equal(got[1], 200);
		assert_int_equal(dropped, 0);
		sbuf_free(&s.text);
	}
	sigaction(SIGPIPE, &before, NULL);
}

/* Nothing listens: no state, no thread, and emit is a no-op. */
static void test_nothing_listens(void **state)
{
	(void)state;
	struct events ev;
	events_open(&ev, -1, NULL, NULL, true);
	assert_null(ev.st);
	assert_false(events_enabled(&ev));
	events_async_start(&ev);
	events_emit(&ev, "{}");
	events_async_stop(&ev);
	events_close(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_reader_does_not_block),
		cmocka_unit_test(test_overflow_is_counted),
		cmocka_unit_test(test_close_with_a_stalled_reader_is_bounded),
		cmocka_unit_test(test_sync_stalled_reader_is_bounded),
		cmocka_unit_test(test_sync_lines_do_not_interleave),
		cmocka_unit_test(test_closed_reader),
		cmocka_unit_test(test_nothing_listens),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
