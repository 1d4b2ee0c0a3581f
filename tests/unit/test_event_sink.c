/* The bounded events writer against real pipes, FIFOs, sockets,
 * terminals and files whose reader stalls or went away: it returns within
 * its budget, keeps room for the closing lines, leaves whole lines, never
 * changes the caller's descriptor flags and never lets SIGPIPE through. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "common/event_sink.h"
#include "probe_child.h"

/* What scheduling on a busy machine may add to the budget in a test. */
#define SLACK_MS 150.0

static char *make_line(int n, size_t pad)
{
	char *p = xmalloc(pad + 1);
	memset(p, 'x', pad);
	p[pad] = '\0';
	char *s = xasprintf("{\"n\":%d,\"pad\":\"%s\"}\n", n, p);
	free(p);
	return s;
}

static enum event_sink_result put_line(struct event_sink *s, int n, size_t pad, bool closing)
{
	char *l = make_line(n, pad);
	enum event_sink_result r = event_sink_write(s, l, strlen(l), -1, closing);
	free(l);
	return r;
}

/* Everything readable on fd now, without waiting. */
static char *read_now(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	sbuf b = {0};
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sbuf_addn(&b, buf, (size_t)n);
	fcntl(fd, F_SETFL, fl);
	return b.s ? b.s : xstrdup("");
}

/* Every line whole and ending in '\n'; returns how many, and the text of
 * the last one in *last (owned by the caller). */
static int whole_lines(const char *text, char **last)
{
	int n = 0;
	const char *p = text;
	*last = NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		if (p[0] != '{' || nl[-1] != '}')
			fail_msg("not a whole line: %.60s", p);
		free(*last);
		*last = xstrndup(p, (size_t)(nl - p));
		n++;
		p = nl + 1;
	}
	return n;
}

static void make_pipe(int fds[2], int size)
{
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, size) >= size);
}

/* Writes ordinary lines into a reader that never reads until one is
 * dropped; returns how many were written. */
static int fill(struct event_sink *s, size_t pad)
{
	int n = 0;
	while (put_line(s, n, pad, false) == SINK_WRITTEN)
		n++;
	return n;
}

/* Nobody reads: every write gives up, and all of them together wait no
 * longer than the budget; the caller's flags are never touched. */
static void test_full_pipe_bounded(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 65536);
	int fl = fcntl(fds[1], F_GETFL);
	struct event_sink s;
	event_sink_init(&s, fds[1], true);
	assert_int_equal(s.kind, SINK_PIPE);
	double t0 = monotonic_ms();
	int written = fill(&s, 200);
	assert_true(written > 100);
	for (int i = 0; i < 50; i++)
		assert_int_equal(put_line(&s, 1000 + i, 200, false), SINK_DROPPED);
	double spent = monotonic_ms() - t0;
	if (spent > EVENT_SINK_BUDGET_MS + SLACK_MS)
		fail_msg("51 writes to a stalled reader took %.0f ms (budget %g ms)", spent,
			 EVENT_SINK_BUDGET_MS);
	assert_int_equal(s.dropped, 51);
	assert_false(event_sink_may_wait(&s));
	assert_int_equal(fcntl(fds[1], F_GETFL), fl);
	event_sink_close(&s);
	close(fds[0]);
	close(fds[1]);
}

/* The reader reads only after the writer is done: the closing line still
 * fits and comes last; ordinary lines were whole and in order. */
static void check_reserve_kept(int wfd, int rfd, enum event_sink_kind kind)
{
	struct event_sink s;
	event_sink_init(&s, wfd, true);
	assert_int_equal(s.kind, kind);
	int written = fill(&s, 300);
	assert_true(written > 10);
	assert_int_equal(put_line(&s, -1, 10, true), SINK_WRITTEN);
	char *text = read_now(rfd), *last;
	assert_int_equal(whole_lines(text, &last), written + 1);
	assert_non_null(strstr(last, "\"n\":-1"));
	free(last);
	free(text);
	event_sink_close(&s);
}

static void test_pipe_keeps_room_for_the_end(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 65536);
	check_reserve_kept(fds[1], fds[0], SINK_PIPE);
	close(fds[0]);
	close(fds[1]);
}

/* A FIFO opened the way a shell's `3>fifo` opens it (blocking). */
static void test_fifo_keeps_room_for_the_end(void **state)
{
	(void)state;
	char dir[] = "/tmp/ab-sink-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	int r = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int w = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(r >= 0 && w >= 0);
	double t0 = monotonic_ms();
	check_reserve_kept(w, r, SINK_PIPE);
	assert_true(monotonic_ms() - t0 < EVENT_SINK_BUDGET_MS + SLACK_MS);
	close(r);
	close(w);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void test_socket_keeps_room_for_the_end(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int fl = fcntl(sv[0], F_GETFL);
	double t0 = monotonic_ms();
	check_reserve_kept(sv[0], sv[1], SINK_SOCKET);
	assert_true(monotonic_ms() - t0 < EVENT_SINK_BUDGET_MS + SLACK_MS);
	assert_int_equal(fcntl(sv[0], F_GETFL), fl);
	close(sv[0]);
	close(sv[1]);
}

/* A line bigger than the pipe goes in pieces; when the rest does not fit
 * in time it is dropped, and the next line starts on a line of its own. */
static void test_torn_line_ends_before_the_next(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 65536);
	struct event_sink s;
	event_sink_init(&s, fds[1], true);
	assert_int_equal(put_line(&s, 0, 100000, false), SINK_DROPPED);
	assert_true(s.torn);
	char *fragment = read_now(fds[0]);
	size_t flen = strlen(fragment);
	assert_true(flen > 0 && flen < 100000);
	assert_null(strchr(fragment, '\n'));
	/* the reader caught up; the budget is spent, but room is there now */
	assert_int_equal(put_line(&s, 1, 10, false), SINK_WRITTEN);
	assert_false(s.torn);
	char *rest = read_now(fds[0]), *expect = make_line(1, 10);
	assert_int_equal(rest[0], '\n');
	assert_string_equal(rest + 1, expect);
	assert_int_equal(s.dropped, 1);
	free(fragment);
	free(rest);
	free(expect);
	event_sink_close(&s);
	close(fds[0]);
	close(fds[1]);
}

static int stderr_saved = -1;

/* Sends stderr to a temporary file until stderr_text(). */
static void capture_stderr(void)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fflush(stderr);
	stderr_saved = dup(2);
	assert_true(dup2(fileno(f), 2) == 2);
	fclose(f);
}

static char *stderr_text(void)
{
	fflush(stderr);
	lseek(2, 0, SEEK_SET);
	char *t = read_now(2);
	dup2(stderr_saved, 2);
	close(stderr_saved);
	return t;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The reader went away: SIGPIPE keeps its default action (death), yet the
 * process lives; the sink says so once and stays off. */
static void test_reader_gone_no_sigpipe(void **state)
{
	(void)state;
	struct sigaction dfl = {.sa_handler = SIG_DFL}, before;
	assert_int_equal(sigaction(SIGPIPE, &dfl, &before), 0);
	int fds[2];
	make_pipe(fds, 65536);
	close(fds[0]);
	struct event_sink s;
	capture_stderr();
	event_sink_init(&s, fds[1], false);
	for (int i = 0; i < 5; i++)
		assert_int_equal(put_line(&s, i, 10, false), SINK_GONE);
	char *err = stderr_text();
	assert_int_equal(count(err, "went away"), 1);
	assert_non_null(strstr(err, "fd "));
	assert_int_equal(s.kind, SINK_OFF);
	assert_int_equal(s.dropped, 0);
	sigset_t pending;
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	struct sigaction now;
	sigaction(SIGPIPE, NULL, &now);
	assert_ptr_equal(now.sa_handler, SIG_DFL);
	free(err);
	close(fds[1]);
	sigaction(SIGPIPE, &before, NULL);
}

/* A SIGPIPE the caller had pending (blocked) before is theirs: it stays. */
static void test_callers_pending_sigpipe_stays(void **state)
{
	(void)state;
	sigset_t pipe_only, old, pending;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	raise(SIGPIPE);
	int fds[2];
	make_pipe(fds, 65536);
	close(fds[0]);
	struct event_sink s;
	event_sink_init(&s, fds[1], true);
	assert_int_equal(put_line(&s, 0, 10, false), SINK_GONE);
	sigpending(&pending);
	assert_true(sigismember(&pending, SIGPIPE));
	/* the mask is the caller's again */
	sigset_t mask;
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	assert_true(sigismember(&mask, SIGPIPE));
	static const struct timespec now = {0, 0};
	assert_int_equal(sigtimedwait(&pipe_only, NULL, &now), SIGPIPE);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
}

/* A terminal nobody drains: written through a non-blocking description
 * of our own, so the writes return, and the caller's stays blocking. */
static void test_terminal_not_drained(void **state)
{
	(void)state;
	int master, slave;
	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		skip();
		return;
	}
	int fl = fcntl(slave, F_GETFL);
	struct event_sink s;
	event_sink_init(&s, slave, true);
	assert_int_equal(s.kind, SINK_NONBLOCK);
	assert_true(s.fd != slave);
	double t0 = monotonic_ms();
	int n = 0;
	while (put_line(&s, n, 500, false) == SINK_WRITTEN && n < 100000)
		n++;
	assert_true(n < 100000);
	for (int i = 0; i < 20; i++)
		assert_int_equal(put_line(&s, i, 500, false), SINK_DROPPED);
	assert_true(monotonic_ms() - t0 < EVENT_SINK_BUDGET_MS + SLACK_MS);
	assert_int_equal(fcntl(slave, F_GETFL), fl);
	assert_false(fl & O_NONBLOCK);
	event_sink_close(&s);
	close(master);
	close(slave);
}

struct free_writer {
	struct event_sink *s;
	int wake_fd;
	enum event_sink_result r;
	atomic_bool done;
};

static void *free_writer_main(void *arg)
{
	struct free_writer *f = arg;
	char *l = make_line(7, 1000); /* longer than what filled the pipe: no room */
	f->r = event_sink_write(f->s, l, strlen(l), f->wake_fd, false);
	free(l);
	f->done = true;
	return NULL;
}

/* A thread nobody waits for waits for room as long as it takes; once
 * woken, only within the budget. */
static void test_wake_fd_ends_an_unlimited_wait(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds, 65536);
	struct event_sink s;
	event_sink_init(&s, fds[1], true);
	fill(&s, 300);
	/* a writer of its own, with the whole budget */
	event_sink_init(&s, fds[1], true);
	struct free_writer f = {.s = &s, .wake_fd = eventfd(0, EFD_CLOEXEC)};
	assert_true(f.wake_fd >= 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, free_writer_main, &f), 0);
	usleep(3 * (unsigned)EVENT_SINK_BUDGET_MS * 1000);
	/* three budgets long, and still waiting: nothing was charged */
	assert_false(atomic_load(&f.done));
	double t0 = monotonic_ms();
	uint64_t one = 1;
	assert_int_equal(write(f.wake_fd, &one, sizeof(one)), sizeof(one));
	pthread_join(t, NULL);
	assert_true(monotonic_ms() - t0 < EVENT_SINK_BUDGET_MS + SLACK_MS);
	assert_int_equal(f.r, SINK_DROPPED);
	close(f.wake_fd);
	event_sink_close(&s);
	close(fds[0]);
	close(fds[1]);
}

/* A regular file waits for no reader: everything is written. */
static void test_file_takes_everything(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	struct event_sink s;
	event_sink_init(&s, fileno(f), true);
	assert_int_equal(s.kind, SINK_FILE);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(put_line(&s, i, 300, false), SINK_WRITTEN);
	lseek(fileno(f), 0, SEEK_SET);
	char *text = read_now(fileno(f)), *last;
	assert_int_equal(whole_lines(text, &last), 2000);
	free(last);
	free(text);
	event_sink_close(&s);
	fclose(f);
}

static void test_no_fd_is_off(void **state)
{
	(void)state;
	struct event_sink s;
	event_sink_init(&s, -1, true);
	assert_int_equal(s.kind, SINK_OFF);
	assert_int_equal(put_line(&s, 0, 1, false), SINK_GONE);
	event_sink_drop(&s, 3);
	assert_int_equal(s.dropped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_pipe_bounded),
		cmocka_unit_test(test_pipe_keeps_room_for_the_end),
		cmocka_unit_test(test_fifo_keeps_room_for_the_end),
		cmocka_unit_test(test_socket_keeps_room_for_the_end),
		cmocka_unit_test(test_torn_line_ends_before_the_next),
		cmocka_unit_test(test_reader_gone_no_sigpipe),
		cmocka_unit_test(test_callers_pending_sigpipe_stays),
		cmocka_unit_test(test_terminal_not_drained),
		cmocka_unit_test(test_wake_fd_ends_an_unlimited_wait),
		cmocka_unit_test(test_file_takes_everything),
		cmocka_unit_test(test_no_fd_is_off),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
