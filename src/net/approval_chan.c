/* A line channel of the approvals (the JSON fd, the terminal), served by
 * the proxy loop: nothing here may block it. Input is read until EAGAIN
 * and cut into lines; output is queued and written as the descriptor
 * takes it (EPOLLOUT). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/error.h"
#include "net/approval_int.h"

static ssize_t chan_read(struct approval_chan *ch, char *buf, size_t n)
{
	if (ch->is_socket)
		return recv(ch->fd, buf, n, MSG_DONTWAIT);
	return read(ch->fd, buf, n);
}

static ssize_t chan_send(struct approval_chan *ch, const char *buf, size_t n)
{
	if (ch->is_socket)
		return send(ch->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(ch->fd, buf, n);
}

static void on_event(void *user, struct proxy *p, int fd, uint32_t events);

static void set_interest(struct approval_chan *ch, struct proxy *p)
{
	uint32_t ev = (ch->no_input ? 0 : EPOLLIN) | (ch->out_off < ch->out.len ? EPOLLOUT : 0);
	proxy_watch_fd(p, ch->fd, ev, on_event, ch, NULL);
}

/* Hands the complete lines in the buffer to on_line; keeps the rest. */
static void split_lines(struct approval_chan *ch)
{
	size_t start = 0;
	for (size_t i = 0; i < ch->in_len && ch->live; i++) {
		if (ch->in[i] != '\n')
			continue;
		if (ch->skipping) {
			ch->skipping = false;
		} else {
			size_t n = i - start;
			if (n > 0 && ch->in[start + n - 1] == '\r')
				n--;
			ch->in[start + n] = '\0';
			ch->on_line(ch, ch->in + start, n);
		}
		start = i + 1;
		if (ch->drop_rest) {
			start = ch->in_len;
			break;
		}
	}
	ch->drop_rest = false;
	if (!ch->live)
		return;
	memmove(ch->in, ch->in + start, ch->in_len - start);
	ch->in_len -= start;
	if (ch->in_len >= APPROVAL_LINE_MAX) {
		if (!ch->skipping)
			fprintf(stderr,
				"agentbox: approvals: dropping a line longer than %d bytes on %s\n",
				APPROVAL_LINE_MAX, ch->name);
		ch->skipping = true;
		ch->in_len = 0;
	}
}

static void on_readable(struct approval_chan *ch, struct proxy *p)
{
	/* Bounded per wakeup, so a flooding peer cannot hold the loop. */
	for (int round = 0; round < 16 && ch->live; round++) {
		ssize_t n = chan_read(ch, ch->in + ch->in_len, APPROVAL_LINE_MAX + 1 - ch->in_len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			_cleanup_free_ char *why = xasprintf("read error: %s", strerror(errno));
			approval_chan_close(ch, p, why);
			return;
		}
		if (n == 0) {
			approval_chan_close(ch, p, "end of file");
			return;
		}
		ch->in_len += (size_t)n;
		split_lines(ch);
	}
}

static void flush_out(struct approval_chan *ch, struct proxy *p)
{
	while (ch->live && ch->out_off < ch->out.len) {
		ssize_t n = chan_send(ch, ch->out.s + ch->out_off, ch->out.len - ch->out_off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			_cleanup_free_ char *why = xasprintf("write error: %s", strerror(errno));
			approval_chan_close(ch, p, why);
			return;
		}
		ch->out_off += (size_t)n;
	}
	/* What was written goes, so the queue holds only what is pending. */
	if (ch->out_off > 0) {
		memmove(ch->out.s, ch->out.s + ch->out_off, ch->out.len - ch->out_off + 1);
		ch->out.len -= ch->out_off;
		ch->out_off = 0;
	}
	if (ch->live)
		set_interest(ch, p);
}

static void on_event(void *user, struct proxy *p, int fd, uint32_t events)
{
	struct approval_chan *ch = user;
	if (ch->live && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(ch, p);
	if (ch->live && (events & EPOLLOUT))
		flush_out(ch, p);
	/* A hangup with nothing left to read: read() said 0 above, except
	 * for a terminal, whose hangup can leave reads failing with EIO. */
	if (ch->live && (events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN))
		approval_chan_close(ch, p, "hangup");
}

int approval_chan_open(struct approval_chan *ch, struct proxy *p, ab_error *err)
{
	int type;
	socklen_t tl = sizeof(type);
	ch->is_socket = getsockopt(ch->fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0;
	if (!ch->is_socket) {
		int fl = fcntl(ch->fd, F_GETFL);
		if (fl < 0 || fcntl(ch->fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return ab_fail_errno(err, errno, "cannot make %s (fd %d) non-blocking", ch->name,
					     ch->fd);
	}
	if (!ch->in)
		ch->in = xmalloc(APPROVAL_LINE_MAX + 1);
	int r = proxy_watch_fd(p, ch->fd, ch->no_input ? 0 : EPOLLIN, on_event, ch, err);
	if (r < 0)
		return r;
	ch->live = true;
	return 0;
}

bool approval_chan_write(struct approval_chan *ch, struct proxy *p, const char *text)
{
	if (!ch->live)
		return false;
	size_t n = strlen(text);
	if (ch->out.len - ch->out_off + n > APPROVAL_OUT_MAX) {
		fprintf(stderr,
			"agentbox: approvals: %s is not reading; a message was not sent (its question will time out)\n",
			ch->name);
		return false;
	}
	sbuf_add(&ch->out, text);
	flush_out(ch, p);
	return ch->live;
}

void approval_chan_input(struct approval_chan *ch, struct proxy *p, bool on)
{
	ch->no_input = !on;
	if (ch->live)
		set_interest(ch, p);
}

void approval_chan_close(struct approval_chan *ch, struct proxy *p, const char *why)
{
	if (!ch->live)
		return;
	ch->live = false;
	if (p)
		proxy_unwatch_fd(p, ch->fd);
	if (ch->on_close)
		ch->on_close(ch, why);
}

void approval_chan_free(struct approval_chan *ch)
{
	free(ch->in);
	ch->in = NULL;
	sbuf_free(&ch->out);
}
