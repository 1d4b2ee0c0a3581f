/* Internals of the terminal relay (tty_relay.h): the state both halves
 * share. tty_relay.c sets the pty up and tears it down; tty_relay_io.c is
 * the supervisor loop's side and the gate the approvals hold. */
#ifndef AB_SUPERVISOR_TTY_RELAY_INT_H
#define AB_SUPERVISOR_TTY_RELAY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "supervisor/tty_relay.h"

struct tty_relay {
	bool is_tty[3];  /* which of the command's fds 0-2 were terminals */
	int child_fd;    /* what replaces them: the pty's end or /dev/null */
	bool pty;        /* child_fd is a pty (else /dev/null) */
	int term;        /* the real terminal, our own open of /dev/tty */
	int master;      /* -1 once the pty has no writer left */
	int wake;        /* eventfd: the gate changed */
	struct termios saved;
	bool have_saved;
	bool term_in, term_out; /* the real terminal still reads / writes */
	char keys[4096];         /* typed, not yet given to the pty */
	size_t n_keys;
	char *held;              /* the command's output, not yet shown */
	size_t n_held;
	/* the gate */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stopped;
	bool want_prompt; /* the approvals want the terminal */
	bool relaying;    /* raw mode, keys read, output written */
};

/* tty_relay.c */
void tty_relay_close_fd(int *fd);
/* The user's modes (raw = false) or raw mode on the real terminal. */
void tty_relay_set_raw(struct tty_relay *r, bool raw);
/* The real terminal's size to the pty. */
void tty_relay_copy_size(struct tty_relay *r);

/* tty_relay_io.c */
/* Reads what the command wrote into the hold (closes the master at EIO). */
void tty_relay_read_output(struct tty_relay *r);
/* Writes what is held, waiting for the terminal at most a few seconds. */
void tty_relay_flush_held(struct tty_relay *r);

#endif
