/* The relay between the command's pty and the real terminal; see
 * tty_relay.h. Everything but tty_relay_hold/release runs on the
 * supervisor's thread (watch_loop); the two share only the gate fields,
 * under the mutex. */
#include "supervisor/tty_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

/* How long the approvals wait for the relay to hand the terminal over:
 * the supervisor's loop answers at once unless something is badly wrong,
 * and then the question is better refused than shown to the command. */
#define HOLD_WAIT_S 5

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

static void copy_size(struct tty_relay *r)
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
	copy_size(r);
	r->pty = true;
	r->term_in = r->term_out = true;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* No pty: no terminal at all for the command, never the shared one. */
static int no_terminal(struct tty_relay *r, const ab_error *why, const struct events *ev,
		       ab_error *err)
{
	close_fd(&r->child_fd);
	close_fd(&r->master);
	close_fd(&r->term);
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

static void set_raw(struct tty_relay *r, bool raw)
{
	if (!r->have_saved)
		return;
	struct termios t = r->saved;
	if (raw)
		cfmakeraw(&t);
	tcsetattr(r->term, TCSANOW, &t);
}

static void wake(struct tty_relay *r)
{
	uint64_t one = 1;
	if (write(r->wake, &one, sizeof(one)) < 0) {
		/* the counter is full: the relay is woken anyway */
	}
}

void tty_relay_start(struct tty_relay *r)
{
	if (!r)
		return;
	close_fd(&r->child_fd);
	if (!r->pty)
		return;
	r->held = xmalloc(TTY_RELAY_HOLD_MAX);
	pthread_mutex_lock(&r->mu);
	r->started = true;
	if (!r->want_prompt) {
		set_raw(r, true);
		r->relaying = true;
	}
	pthread_mutex_unlock(&r->mu);
}

/* The gate, on the supervisor's side: follow what the approvals want. */
static void follow_gate(struct tty_relay *r)
{
	uint64_t n;
	if (read(r->wake, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing new */
	}
	pthread_mutex_lock(&r->mu);
	if (r->want_prompt && r->relaying) {
		/* the user's own modes for the prompt (echo, line editing) */
		set_raw(r, false);
		r->relaying = false;
		pthread_cond_broadcast(&r->cv);
	} else if (!r->want_prompt && !r->relaying && !r->stopped) {
		set_raw(r, true);
		r->relaying = true;
	}
	pthread_mutex_unlock(&r->mu);
}

void tty_relay_pollfds(struct tty_relay *r, struct pollfd *p)
{
	for (int i = 0; i < TTY_RELAY_NFDS; i++)
		p[i] = (struct pollfd){.fd = -1};
	if (!r || !r->pty || !r->started)
		return;
	p[0].fd = r->wake;
	p[0].events = POLLIN;
	if (r->relaying) {
		short ev = 0;
		if (r->term_in && r->n_keys < sizeof(r->keys))
			ev |= POLLIN;
		if (r->term_out && r->n_held > 0)
			ev |= POLLOUT;
		if (ev) {
			p[1].fd = r->term;
			p[1].events = ev;
		}
	}
	if (r->master >= 0) {
		/* a full hold stops the reads: the command then blocks */
		short ev = (r->n_held < TTY_RELAY_HOLD_MAX ? POLLIN : 0) | (r->n_keys ? POLLOUT : 0);
		if (ev) {
			p[2].fd = r->master;
			p[2].events = ev;
		}
	}
}

static void consume(char *buf, size_t *len, size_t n)
{
	memmove(buf, buf + n, *len - n);
	*len -= n;
}

static void read_keys(struct tty_relay *r)
{
	ssize_t n = read(r->term, r->keys + r->n_keys, sizeof(r->keys) - r->n_keys);
	if (n > 0)
		r->n_keys += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		r->term_in = false; /* hung up: the command gets no more keys */
}

static void show_output(struct tty_relay *r)
{
	ssize_t n = write(r->term, r->held, r->n_held);
	if (n > 0)
		consume(r->held, &r->n_held, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		r->term_out = false; /* nobody to show it to */
		r->n_held = 0;
	}
}

static void read_output(struct tty_relay *r)
{
	ssize_t n = read(r->master, r->held + r->n_held, TTY_RELAY_HOLD_MAX - r->n_held);
	if (n > 0) {
		r->n_held += (size_t)n;
		if (!r->term_out)
			r->n_held = 0;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* EIO: every holder of the pty's other end is gone */
		close_fd(&r->master);
	}
}

static void give_keys(struct tty_relay *r)
{
	ssize_t n = write(r->master, r->keys, r->n_keys);
	if (n > 0)
		consume(r->keys, &r->n_keys, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		r->n_keys = 0;
}

void tty_relay_handle(struct tty_relay *r, const struct pollfd *p)
{
	if (!r || !r->pty || !r->started)
		return;
	/* the gate first: no key is read once the prompt wants the terminal */
	if (p[0].revents)
		follow_gate(r);
	if (p[2].fd >= 0 && r->master >= 0 && (p[2].revents & POLLOUT))
		give_keys(r);
	if (p[2].fd >= 0 && r->master >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    r->n_held < TTY_RELAY_HOLD_MAX)
		read_output(r);
	if (p[1].fd < 0 || !r->relaying)
		return;
	if (r->term_in && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
		read_keys(r);
	if (r->term_out && r->n_held && (p[1].revents & (POLLOUT | POLLHUP | POLLERR)))
		show_output(r);
}

void tty_relay_winch(struct tty_relay *r)
{
	if (r && r->pty)
		copy_size(r);
}

/* Writes what is held, waiting for the terminal at most a few seconds. */
static void flush_held(struct tty_relay *r)
{
	double end = monotonic_ms() + 3000;
	while (r->term_out && r->n_held > 0 && monotonic_ms() < end) {
		struct pollfd p = {.fd = r->term, .events = POLLOUT};
		if (poll(&p, 1, 100) > 0)
			show_output(r);
	}
}

void tty_relay_finish(struct tty_relay *r)
{
	if (!r || !r->pty || !r->started)
		return;
	/* what the command wrote last is still in the pty */
	while (r->master >= 0 && r->n_held < TTY_RELAY_HOLD_MAX) {
		size_t before = r->n_held;
		read_output(r);
		if (r->n_held == before)
			break;
		if (r->n_held == TTY_RELAY_HOLD_MAX)
			flush_held(r);
	}
	pthread_mutex_lock(&r->mu);
	r->stopped = true;
	r->relaying = false;
	set_raw(r, false);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	flush_held(r);
}

void tty_relay_free(struct tty_relay *r)
{
	if (!r)
		return;
	if (r->pty && r->started && !r->stopped)
		tty_relay_finish(r);
	close_fd(&r->child_fd);
	close_fd(&r->master);
	close_fd(&r->term);
	close_fd(&r->wake);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->held);
	free(r);
}

int tty_relay_hold(void *relay)
{
	struct tty_relay *r = relay;
	if (!r->pty)
		return 0;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += HOLD_WAIT_S;
	int ret = 0;
	pthread_mutex_lock(&r->mu);
	r->want_prompt = true;
	wake(r);
	while (r->relaying && !r->stopped && ret == 0)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT && r->relaying)
			ret = -1;
	if (ret < 0)
		r->want_prompt = false;
	pthread_mutex_unlock(&r->mu);
	return ret;
}

void tty_relay_release(void *relay)
{
	struct tty_relay *r = relay;
	if (!r->pty)
		return;
	pthread_mutex_lock(&r->mu);
	r->want_prompt = false;
	wake(r);
	pthread_mutex_unlock(&r->mu);
}
