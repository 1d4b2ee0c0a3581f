#include "common/event_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static void turn_off(struct event_sink *s, int err)
{
	if (!s->quiet) {
		if (err == EPIPE)
			fprintf(stderr,
				"agentbox: warning: the reader of the events fd %d went away (%s); no more events are written to it in this run\n",
				s->user_fd, strerror(err));
		else
			fprintf(stderr,
				"agentbox: warning: cannot write events to fd %d: %s; no more events are written to it in this run (is it open for writing?)\n",
				s->user_fd, strerror(err));
	}
	if (s->own_fd)
		close(s->fd);
	s->fd = -1;
	s->own_fd = false;
	s->kind = SINK_OFF;
}

/* A terminal cannot be polled for "this many bytes fit" and a blocking
 * write to one that is stopped (^S) or not drained waits forever; a
 * description of our own with O_NONBLOCK leaves the caller's flags alone.
 * O_NOCTTY: reopening must not make it our controlling terminal. */
static void open_terminal(struct event_sink *s, int fd)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int own = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (own < 0) {
		s->kind = SINK_PIPE; /* no /proc, or not ours to open: poll it */
		return;
	}
	s->fd = own;
	s->own_fd = true;
	s->kind = SINK_NONBLOCK;
}

void event_sink_init(struct event_sink *s, int fd, bool quiet)
{
	*s = (struct event_sink){
		.fd = -1, .user_fd = fd, .kind = SINK_OFF,
		.budget_ms = EVENT_SINK_BUDGET_MS, .quiet = quiet,
	};
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		turn_off(s, errno);
		return;
	}
	s->fd = fd;
	if (S_ISSOCK(st.st_mode))
		s->kind = SINK_SOCKET;
	else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		s->kind = SINK_FILE;
	else if (S_ISCHR(st.st_mode) && isatty(fd))
		open_terminal(s, fd);
	else
		s->kind = SINK_PIPE;
}

/* write(2) that cannot kill the process with SIGPIPE: blocked in this
 * thread for the call; if this write raised it (EPIPE) and none was
 * pending before, it is taken back. The disposition is left alone. */
static ssize_t write_nosigpipe(int fd, const char *buf, size_t n)
{
	sigset_t pipe_only, old, pending;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	ssize_t w = write(fd, buf, n);
	int e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		static const struct timespec now = {0, 0};
		while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

static bool has_slot(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	return poll(&p, 1, 0) > 0;
}

/* One write that does not wait: bytes written, or -1 with errno (EAGAIN:
 * no room now). */
static ssize_t write_piece(struct event_sink *s, const char *buf, size_t n)
{
	switch (s->kind) {
	case SINK_SOCKET:
		return send(s->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	case SINK_PIPE:
		/* POLLOUT: a buffer slot is free, and a write of at most
		 * PIPE_BUF needs at most one. POLLERR/POLLHUP/POLLNVAL: the
		 * write says what is wrong (EPIPE, EIO, EBADF) at once. */
		if (!has_slot(s->fd)) {
			errno = EAGAIN;
			return -1;
		}
		return write_nosigpipe(s->fd, buf, n > PIPE_BUF ? PIPE_BUF : n);
	default:
		return write_nosigpipe(s->fd, buf, n);
	}
}

/* Free bytes in the fd's buffer (and its size in *cap), or -1 when the
 * fd does not say. */
static long room(const struct event_sink *s, long *cap)
{
	int used = 0, size = 0;
	if (s->kind == SINK_PIPE) {
		size = fcntl(s->fd, F_GETPIPE_SZ);
		if (size < 0 || ioctl(s->fd, FIONREAD, &used) < 0)
			return -1;
	} else if (s->kind == SINK_SOCKET) {
		socklen_t l = sizeof(size);
		if (getsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, &l) < 0 ||
		    ioctl(s->fd, SIOCOUTQ, &used) < 0)
			return -1;
	} else {
		return -1;
	}
	*cap = size;
	return used >= size ? 0 : size - used;
}

struct waiter {
	struct event_sink *s;
	int wake_fd; /* -1: every wait is charged to the budget */
	bool closing;
};

/* How long the next wait may last, in ms: -1 without limit, 0 not at all. */
static int allowance(const struct waiter *w)
{
	if (w->wake_fd >= 0)
		return -1;
	double left = w->s->budget_ms - (w->closing ? 0 : EVENT_SINK_FINAL_MS);
	return left <= 0 ? 0 : (int)ceil(left);
}

/* Waits for a free slot (for_slot) or one slice; false once the
 * allowance is spent. True does not promise room: look again. */
static bool wait_room(struct waiter *w, bool for_slot)
{
	for (;;) {
		int limit = allowance(w);
		if (limit == 0)
			return false;
		int t = limit;
		if (!for_slot && (t < 0 || t > EVENT_SINK_SLICE_MS))
			t = EVENT_SINK_SLICE_MS;
		struct pollfd p[2] = {
			{.fd = for_slot ? w->s->fd : -1, .events = POLLOUT},
			{.fd = w->wake_fd, .events = POLLIN},
		};
		double t0 = monotonic_ms();
		int n = poll(p, 2, t);
		if (w->wake_fd < 0)
			w->s->budget_ms -= monotonic_ms() - t0;
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0 && p[1].revents) {
			/* somebody waits for this thread now: from the budget on */
			w->wake_fd = -1;
			continue;
		}
		return true;
	}
}

/* Waits until `len` bytes fit above the reserve, where the fill level is
 * known; false when they do not in time. */
static bool wait_fits(struct waiter *w, size_t len)
{
	for (;;) {
		long cap = 0;
		long free_bytes = room(w->s, &cap);
		if (free_bytes < 0)
			return true; /* unknown: put() waits piece by piece */
		size_t need = len + (w->closing ? 0 : (size_t)cap / 4);
		/* a line too long for the space above the reserve waits for an
		 * empty buffer and then goes in pieces */
		if (need > (size_t)cap)
			need = (size_t)cap;
		if ((size_t)free_bytes >= need)
			return true;
		/* A full buffer wakes us when it gets room; one that is only
		 * above the reserve does not, so look again after a slice. */
		if (!wait_room(w, !has_slot(w->s->fd)))
			return false;
	}
}

/* Writes buf within the allowance; returns the bytes written. An error
 * other than "no room" turns the sink off. */
static size_t put(struct waiter *w, const char *buf, size_t n)
{
	struct event_sink *s = w->s;
	size_t done = 0;
	bool stuck = false; /* told writable, yet the write took nothing */
	while (done < n && s->kind != SINK_OFF) {
		ssize_t k = write_piece(s, buf + done, n - done);
		if (k > 0) {
			done += (size_t)k;
			stuck = false;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			/* after a writable poll that did not help, sleep a slice
			 * instead of polling straight back */
			if (!wait_room(w, !stuck))
				break;
			stuck = true;
			continue;
		}
		turn_off(s, k == 0 ? EIO : errno);
	}
	return done;
}

static enum event_sink_result lost(struct event_sink *s)
{
	if (s->kind == SINK_OFF)
		return SINK_GONE;
	s->dropped++;
	return SINK_DROPPED;
}

enum event_sink_result event_sink_write(struct event_sink *s, const char *line, size_t len,
					int wake_fd, bool closing)
{
	if (s->kind == SINK_OFF)
		return SINK_GONE;
	struct waiter w = {.s = s, .wake_fd = wake_fd, .closing = closing};
	if (s->torn) {
		/* end the fragment's line first: what follows starts a line */
		if (put(&w, "\n", 1) != 1)
			return lost(s);
		s->torn = false;
	}
	if (!wait_fits(&w, len))
		return lost(s);
	size_t done = put(&w, line, len);
	if (done == len)
		return SINK_WRITTEN;
	if (done > 0)
		s->torn = true;
	return lost(s);
}

void event_sink_drop(struct event_sink *s, uint64_t n)
{
	if (s->kind != SINK_OFF)
		s->dropped += n;
}

bool event_sink_may_wait(const struct event_sink *s)
{
	return s->kind != SINK_OFF && s->budget_ms > EVENT_SINK_FINAL_MS;
}

void event_sink_close(struct event_sink *s)
{
	if (s->own_fd)
		close(s->fd);
	s->fd = -1;
	s->own_fd = false;
	s->kind = SINK_OFF;
}
