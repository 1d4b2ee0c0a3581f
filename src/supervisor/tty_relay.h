/* The command's own terminal while approvals are asked on agentbox's
 * (--approvals-tty): a pseudo-terminal that agentbox's supervisor relays
 * to and from the real one, so that the command never holds the terminal
 * the prompt is on.
 *
 * While the relay runs, the real terminal is in raw mode and every key
 * goes to the pty (whose line discipline turns ^C into SIGINT for the
 * command, as a terminal would). When the approvals want the terminal
 * (tty_relay_hold, from the proxy's thread), the relay gives it back in
 * the user's own modes, stops reading keys and holds the command's output
 * (bounded: past TTY_RELAY_HOLD_MAX it stops reading the pty, and the
 * command blocks in write); tty_relay_release resumes and lets the held
 * output out. The command can therefore neither read the answer nor draw
 * over the prompt.
 *
 * If the pty cannot be set up, the command gets /dev/null instead of the
 * terminal (with a warning), never the shared terminal. */
#ifndef AB_SUPERVISOR_TTY_RELAY_H
#define AB_SUPERVISOR_TTY_RELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "agentbox.h"
#include "common/events.h"

#define TTY_RELAY_HOLD_MAX (256 * 1024)
#define TTY_RELAY_NFDS 3

struct tty_relay;

/* stdio: the command's fds 0-2 as the caller gave them (-1: agentbox's
 * own). When none is a terminal, *out = NULL and nothing changes.
 * Otherwise *out is a relay whose tty_relay_stdio replaces each terminal
 * among them. Fails only when not even /dev/null can be opened. */
int tty_relay_open(struct tty_relay **out, const int stdio[3], const struct events *ev,
		   ab_error *err);
/* The command's fds 0-2: the pty's end (or /dev/null) where the caller's
 * was a terminal, the caller's elsewhere. */
void tty_relay_stdio(const struct tty_relay *r, const int stdio[3], int out[3]);
/* After the sandbox has its end: closes ours, puts the real terminal in
 * raw mode and starts relaying. */
void tty_relay_start(struct tty_relay *r);

/* For the supervisor's poll loop: fills TTY_RELAY_NFDS entries (fd -1 for
 * those not wanted now), then hands them back after poll. */
void tty_relay_pollfds(struct tty_relay *r, struct pollfd *p);
void tty_relay_handle(struct tty_relay *r, const struct pollfd *p);
/* SIGWINCH: the real terminal's size goes to the pty. */
void tty_relay_winch(struct tty_relay *r);
/* The command has ended: what it wrote goes out, the terminal gets its
 * modes back, and the approvals may use it freely from now on. */
void tty_relay_finish(struct tty_relay *r);
/* Also restores the terminal if tty_relay_finish did not run. */
void tty_relay_free(struct tty_relay *r);

/* For the approvals (struct approvals_config): from another thread.
 * hold returns once the relay no longer reads keys nor writes output
 * (0), or -1 when it did not answer in time; release undoes it. */
int tty_relay_hold(void *relay);
void tty_relay_release(void *relay);

#endif
