/* One direction of a tunnel: bytes from a source socket to a destination
 * socket through a pipe with splice(2), so the payload never enters user
 * space. A half-close is passed on: when the source ends and the pipe is
 * empty, the destination's write side is shut down. */
#ifndef AB_NET_RELAY_H
#define AB_NET_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Optional: a limit on what is read from src, for a stream that ends
 * before the connection does (one HTTP request's body). */
struct relay_gate {
	/* How many bytes may be read from src now (0: none yet); *over when
	 * none ever will. May peek at src. */
	size_t (*allow)(void *user, int src, bool *over);
	/* n of the allowed bytes were read. */
	void (*took)(void *user, size_t n);
	void *user;
};

struct relay_dir {
	int pipe[2];       /* -1, -1 until the first byte: idle tunnels cost no pipe */
	size_t in_pipe;    /* bytes read from src, not yet written to dst */
	uint64_t bytes;    /* written to dst */
	bool src_eof;      /* src sent FIN */
	bool shut;         /* dst's write side shut down: this direction is over */
	const struct relay_gate *gate; /* NULL: everything src sends */
	bool over;         /* the gate let through all it will and the pipe is
			      empty: this direction is over, src is no longer
			      read and dst's write side stays open (the other
			      side is still answering) */
};

void relay_dir_init(struct relay_dir *d);
/* Moves whatever can move without blocking. Returns 0, or a negative errno
 * (the connection is broken: reset, or dst no longer reads). *want_read:
 * wait for src to be readable; *want_write: wait for dst to be writable. */
int relay_pump(struct relay_dir *d, int src, int dst, bool *want_read, bool *want_write);
void relay_dir_close(struct relay_dir *d);

#endif
