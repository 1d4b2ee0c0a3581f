/* The relay's set-up and tear-down (see tty_relay.h): the pty, the
 * command's fds, the real terminal's modes. The loop's side and the gate
 * are tty_relay_io.c. */
#include "supervisor/tty_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "supervisor/tty_relay_int.h"

static bool is_terminal(int fd)
{
	return isatty(fd) == 1;
}

/* The pty's other end from the master itself (TIOCGPTPEER), not from a
 * path in /dev/pts that someone else could have replaced. */
static int open_pty(int *master, int *peer, ab_error *err)
{
	*master = *peer = -1;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return ab_fail_errno(err, errno, "cannot open a pseudo-terminal (posix_openpt on /dev/ptmx)");
	if (grantpt(m) < 0 || unlockpt(m) < 0) {
		int r = ab_fail_errno(err, errno, "cannot unlock the pseudo-terminal (grantpt/unlockpt)");
		close(m);
		return r;
	}
	int p = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p < 0) {
		int r = ab_fail_errno(err, errno, "cannot open the pseudo-terminal's other end (TIOCGPTPEER, Linux 4.13 or later)");
		close(m);
		return r;
	}
	*master = m;
	*peer = p;
	return 0;
}

void tty_relay_copy_size(struct tty_relay *r)
{
	struct winsize ws;
	if (r->term >= 0 && r->master >= 0 && ioctl(r->term, TIOCGWINSZ, &ws) == 0)
		ioctl(r->master, TIOCSWINSZ, &ws);
}

/* The pty starts in the user's terminal modes and size. */
static int setup_pty(struct tty_relay *r, ab_error *err)
{
	r->term = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (r->term < 0)
		return ab_fail_errno(err, errno, "cannot open the controlling terminal /dev/tty to relay it");
	if (tcgetattr(r->term, &r->saved) < 0)
		return ab_fail_errno(err, errno, "cannot read the terminal's modes (tcgetattr on /dev/tty)");
	r->have_saved = true;
	int peer;
	int ret = open_pty(&r->master, &peer, err);
	if (ret < 0)
		return ret;
	r->child_fd = peer;
	int fl = fcntl(r->master, F_GETFL);
	if (tcsetattr(peer, TCSANOW, &r->saved) < 0 || fl < 0 ||
	    fcntl(r->master, F_SETFL, fl | O_NONBLOCK) < 0)
		return ab_fail_errno(err, errno, "cannot set up the pseudo-terminal's modes");
	tty_relay_copy_size(r);
	r->pty = true;
	r->term_in = r->term_out = true;
	return 0;
}

void tty_relay_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* No pty: no terminal at all for the command, never the shared one. */
static int no_terminal(struct tty_relay *r, const ab_error *why, const struct events *ev,
		       ab_error *err)
{
	tty_relay_close_fd(&r->child_fd);
	tty_relay_close_fd(&r->master);
	tty_relay_close_fd(&r->term);
	r->pty = false;
	r->child_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (r->child_fd < 0)
		return ab_fail_errno(err, errno, "cannot open /dev/null for the command's terminal fds (after: %s)",
				     why->message);
	_cleanup_free_ char *msg = xasprintf("%s; the command gets /dev/null instead of the terminal (approvals are asked there, and the command must not share it)",
					     why->message);
	events_warning(ev, "no_pty", "/dev/tty", msg);
	return 0;
}

int tty_relay_open(struct tty_relay **out, const int stdio[3], const struct events *ev,
		   ab_error *err)
{
	*out = NULL;
	bool any = false;
	bool is_tty[3];
	for (int i = 0; i < 3; i++) {
		is_tty[i] = is_terminal(stdio[i] >= 0 ? stdio[i] : i);
		any = any || is_tty[i];
	}
	if (!any)
		return 0;
	struct tty_relay *r = xcalloc(1, sizeof(*r));
	memcpy(r->is_tty, is_tty, sizeof(is_tty));
	r->child_fd = r->term = r->master = -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ab_error perr = {0};
	if (r->wake < 0)
		ab_fail_errno(&perr, errno, "cannot create an eventfd for the terminal relay");
	if (r->wake < 0 || setup_pty(r, &perr) < 0) {
		int ret = no_terminal(r, &perr, ev, err);
		if (ret < 0) {
			tty_relay_free(r);
			return ret;
		}
	}
	*out = r;
	return 0;
}

void tty_relay_stdio(const struct tty_relay *r, const int stdio[3], int out[3])
{
	for (int i = 0; i < 3; i++)
		out[i] = r && r->is_tty[i] ? r->child_fd : stdio[i];
}

void tty_relay_set_raw(struct tty_relay *r, bool raw)
{
	if (!r->have_saved)
		return;
	struct termios t = r->saved;
	if (raw)
		cfmakeraw(&t);
	tcsetattr(r->term, TCSANOW, &t);
}

void tty_relay_start(struct tty_relay *r)
{
	if (!r)
		return;
	tty_relay_close_fd(&r->child_fd);
	if (!r->pty)
		return;
	r->held = xmalloc(TTY_RELAY_HOLD_MAX);
	pthread_mutex_lock(&r->mu);
	r->started = true;
	if (!r->want_prompt) {
		tty_relay_set_raw(r, true);
		r->relaying = true;
	}
	pthread_mutex_unlock(&r->mu);
}

void tty_relay_winch(struct tty_relay *r)
{
	if (r && r->pty)
		tty_relay_copy_size(r);
}

void tty_relay_finish(struct tty_relay *r)
{
	if (!r || !r->pty || !r->started)
		return;
	/* what the command wrote last is still in the pty */
	while (r->master >= 0 && r->n_held < TTY_RELAY_HOLD_MAX) {
		size_t before = r->n_held;
		tty_relay_read_output(r);
		if (r->n_held == before)
			break;
		if (r->n_held == TTY_RELAY_HOLD_MAX)
			tty_relay_flush_held(r);
	}
	pthread_mutex_lock(&r->mu);
	r->stopped = true;
	r->relaying = false;
	tty_relay_set_raw(r, false);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	tty_relay_flush_held(r);
}

void tty_relay_free(struct tty_relay *r)
{
	if (!r)
		return;
	if (r->pty && r->started && !r->stopped)
		tty_relay_finish(r);
	tty_relay_close_fd(&r->child_fd);
	tty_relay_close_fd(&r->master);
	tty_relay_close_fd(&r->term);
	tty_relay_close_fd(&r->wake);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->held);
	free(r);
}

