/* Events against real pipes: a reader that stalls must not stall the
 * emitters once the writer thread runs, lines stay whole and in order,
 * overflow is counted and reported, and callbacks see every line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
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
#include "run/events.h"
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
 * with no gap. Returns the number of events_dropped warnings' counts in
 * *dropped and the lines of each emitter in got[]. */
static void check_lines(const char *text, int got[2], uint64_t *dropped)
{
	int next[2] = {0, 0};
	got[0] = got[1] = 0;
	*dropped = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* the last line ends too */
		json_error_t je;
		json_t *o = json_loadb(p, (size_t)(nl - p), 0, &je);
		if (!o)
			fail_msg("not a whole JSON line (%s): %.80s", je.text, p);
		json_t *ev = json_object_get(o, "event");
		if (ev) {
			assert_string_equal(json_string_value(ev), "warning");
			assert_string_equal(json_string_value(json_object_get(o, "code")),
					    "events_dropped");
			assert_true(json_is_null(json_object_get(o, "path")));
			const char *msg = json_string_value(json_object_get(o, "message"));
			uint64_t n = 0;
			assert_int_equal(sscanf(msg, "%" SCNu64 " events dropped", &n), 1);
			assert_true(n > 0);
			*dropped += n;
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

static void make_pipe(int fds[2], int size)
{
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	/* a small pipe fills fast: the reader's stall is felt at once */
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, size) >= size);
}

/* Stops the events in a helper thread, as a reader drains the pipe. */
static void drain_and_stop(struct events *ev, int fds[2], struct reader *r)
{
	r->fd = fds[0];
	pthread_t rt;
	assert_int_equal(pthread_create(&rt, NULL, reader_main, r), 0);
	events_async_stop(ev);
	assert_null(ev->async);
	close(fds[1]);
	pthread_join(rt, NULL);
	close(fds[0]);
}

static void test_stalled_reader_does_not_block(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 4096);
	struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self()};
	struct events ev = {.fd = fds[1], .fn = on_event, .user = &s, .quiet = true};
	events_async_start(&ev);
	assert_non_null(ev.async);
	/* 2 x 3000 lines of about 300 bytes: 1.8 MB, far beyond the pipe
	 * and within the queue, while nobody reads. */
	struct events copy = ev; /* a by-value copy shares the queue */
	run_emitters(&copy, 3000, 256);
	struct reader r = {0};
	drain_and_stop(&ev, fds, &r);
	int got[2];
	uint64_t dropped;
	assert_non_null(r.got.s);
	check_lines(r.got.s, got, &dropped);
	assert_int_equal(got[0], 3000);
	assert_int_equal(got[1], 3000);
	assert_int_equal(dropped, 0);
	/* the callback saw the same lines, one at a time, off the emitters'
	 * and the main thread */
	assert_int_equal(s.calls, 6000);
	assert_string_equal(s.text.s, r.got.s);
	assert_int_equal(s.max_concurrent, 1);
	assert_false(s.on_main);
	sbuf_free(&r.got);
	sbuf_free(&s.text);
}

static void test_overflow_is_counted(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 4096);
	struct events ev = {.fd = fds[1], .fn = NULL, .quiet = true};
	events_async_start(&ev);
	/* 2 x 6000 lines of about 1 KiB: 12 MB against a 4 MiB queue */
	run_emitters(&ev, 6000, 1000);
	struct reader r = {0};
	drain_and_stop(&ev, fds, &r);
	int got[2];
	uint64_t dropped;
	check_lines(r.got.s, got, &dropped);
	assert_true(dropped > 0);
	assert_true(got[0] + got[1] > 0);
	/* nothing vanished unaccounted for */
	assert_int_equal((uint64_t)got[0] + (uint64_t)got[1] + dropped, 12000);
	sbuf_free(&r.got);
}

/* After the drop, lines are accepted again and the warning comes before
 * them, at the place of the gap. */
static void test_warning_where_lines_went_missing(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 4096);
	struct events ev = {.fd = fds[1], .quiet = true};
	events_async_start(&ev);
	char *big = make_line(0, 0, EVENTS_QUEUE_MAX); /* never fits */
	events_emit(&ev, big);
	free(big);
	char *small = make_line(0, 1, 10);
	events_emit(&ev, small);
	free(small);
	struct reader r = {0};
	drain_and_stop(&ev, fds, &r);
	const char *w = strstr(r.got.s, "\"code\":\"events_dropped\"");
	const char *l = strstr(r.got.s, "\"n\":1,");
	assert_non_null(w);
	assert_non_null(l);
	assert_true(w < l);
	assert_non_null(strstr(r.got.s, "1 events dropped"));
	sbuf_free(&r.got);
}

/* Synchronous mode: lines longer than PIPE_BUF from two threads. */
static void test_sync_lines_do_not_interleave(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 4096);
	struct reader r = {.fd = fds[0]};
	pthread_t rt;
	assert_int_equal(pthread_create(&rt, NULL, reader_main, &r), 0);
	struct events ev = {.fd = fds[1], .quiet = true};
	run_emitters(&ev, 500, 20000);
	close(fds[1]);
	pthread_join(rt, NULL);
	close(fds[0]);
	int got[2];
	uint64_t dropped;
	check_lines(r.got.s, got, &dropped);
	assert_int_equal(got[0], 500);
	assert_int_equal(got[1], 500);
	sbuf_free(&r.got);
}

/* A reader that went away: no SIGPIPE death (it is not ignored here), no
 * hang in stop, and the callback still gets every line. */
static void test_closed_reader(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 4096);
	close(fds[0]);
	struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .main_thread = pthread_self()};
	struct events ev = {.fd = fds[1], .fn = on_event, .user = &s, .quiet = true};
	events_async_start(&ev);
	run_emitters(&ev, 200, 10);
	events_async_stop(&ev);
	close(fds[1]);
	assert_int_equal(s.calls, 400);
	int got[2];
	uint64_t dropped;
	check_lines(s.text.s, got, &dropped);
	assert_int_equal(got[0], 200);
	assert_int_equal(got[1], 200);
	sbuf_free(&s.text);
}

/* Nothing listens: no thread, and emit is a no-op. */
static void test_nothing_listens(void **state)
{
	(void)state;
	struct events ev = {.fd = -1, .quiet = true};
	events_async_start(&ev);
	assert_null(ev.async);
	events_emit(&ev, "{}");
	events_async_stop(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_reader_does_not_block),
		cmocka_unit_test(test_overflow_is_counted),
		cmocka_unit_test(test_warning_where_lines_went_missing),
		cmocka_unit_test(test_sync_lines_do_not_interleave),
		cmocka_unit_test(test_closed_reader),
		cmocka_unit_test(test_nothing_listens),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
