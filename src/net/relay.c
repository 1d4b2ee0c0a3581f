#include "net/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A larger pipe means fewer splice calls per megabyte on a busy tunnel.
 * The kernel may refuse (pipe-user-pages-soft); the default 64 KiB works. */
#define RELAY_PIPE_SIZE (1024 * 1024)

void relay_dir_init(struct relay_dir *d)
{
	*d = (struct relay_dir){.pipe = {-1, -1}};
}

static int ensure_pipe(struct relay_dir *d)
{
	if (d->pipe[0] >= 0)
		return 0;
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(d->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE) < 0) {
		/* keep the default size */
	}
	return 0;
}

int relay_pump(struct relay_dir *d, int src, int dst, bool *want_read, bool *want_write)
{
	*want_read = *want_write = false;
	if (d->shut || d->over)
		return 0;
	bool gate_over = false;
	for (;;) {
		bool progress = false;
		if (d->in_pipe > 0) {
			ssize_t n = splice(d->pipe[0], NULL, dst, NULL, d->in_pipe,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->in_pipe -= (size_t)n;
				d->bytes += (uint64_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		/* Read only into an empty pipe. A pipe counts its capacity in
		 * buffers, not bytes, so after many small segments a splice can
		 * fail with EAGAIN though bytes remain free; waiting for src
		 * then would spin on a readable socket. Waiting for dst to
		 * drain the pipe first cannot. */
		size_t want = RELAY_PIPE_SIZE;
		if (!d->src_eof && d->in_pipe == 0 && d->gate && !gate_over) {
			size_t a = d->gate->allow(d->gate->user, src, &gate_over);
			if (a < want)
				want = a;
		}
		if (!d->src_eof && d->in_pipe == 0 && !gate_over && want > 0) {
			/* No pipe until there is something to move: a thousand idle
			 * tunnels then hold two sockets each, not six fds. */
			if (d->pipe[0] < 0) {
				char c;
				ssize_t k = recv(src, &c, 1, MSG_PEEK | MSG_DONTWAIT);
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					break;
			}
			int r = ensure_pipe(d);
			if (r < 0)
				return r;
			ssize_t n = splice(src, NULL, d->pipe[1], NULL, want,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->in_pipe = (size_t)n;
				if (d->gate)
					d->gate->took(d->gate->user, (size_t)n);
				progress = true;
			} else if (n == 0) {
				d->src_eof = true;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		if (!progress)
			break;
	}
	if (gate_over && d->in_pipe == 0) {
		d->over = true;
		relay_dir_close(d);
		return 0;
	}
	if (d->src_eof && d->in_pipe == 0) {
		if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN)
			return -errno;
		d->shut = true;
		/* The pipe is no longer needed; a long half-closed tunnel
		 * should not keep it. */
		relay_dir_close(d);
		return 0;
	}
	*want_write = d->in_pipe > 0;
	*want_read = !d->src_eof && !gate_over && d->in_pipe == 0;
	return 0;
}

void relay_dir_close(struct relay_dir *d)
{
	for (int i = 0; i < 2; i++) {
		if (d->pipe[i] >= 0)
			close(d->pipe[i]);
		d->pipe[i] = -1;
	}
}
