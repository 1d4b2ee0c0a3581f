/* The relay on the supervisor's thread (watch_loop: poll, then handle)
 * and the gate the approvals hold from the proxy's thread; see
 * tty_relay.h. The two threads share only the gate fields, under the
 * mutex. */
#include "supervisor/tty_relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "supervisor/tty_relay_int.h"

/* How long the approvals wait for the relay to hand the terminal over:
 * the supervisor's loop answers at once unless something is badly wrong,
 * and then the question is better refused than shown to the command. */
#define HOLD_WAIT_S 5

static void wake(struct tty_relay *r)
{
	uint64_t one = 1;
	if (write(r->wake, &one, sizeof(one)) < 0) {
		/* the counter is full: the relay is woken anyway */
	}
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
		tty_relay_set_raw(r, false);
		r->relaying = false;
		pthread_cond_broadcast(&r->cv);
	} else if (!r->want_prompt && !r->relaying && !r->stopped) {
		tty_relay_set_raw(r, true);
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

void tty_relay_read_output(struct tty_relay *r)
{
	ssize_t n = read(r->master, r->held + r->n_held, TTY_RELAY_HOLD_MAX - r->n_held);
	if (n > 0) {
		r->n_held += (size_t)n;
		if (!r->term_out)
			r->n_held = 0;
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* EIO: every holder of the pty's other end is gone */
		tty_relay_close_fd(&r->master);
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
		tty_relay_read_output(r);
	if (p[1].fd < 0 || !r->relaying)
		return;
	if (r->term_in && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
		read_keys(r);
	if (r->term_out && r->n_held && (p[1].revents & (POLLOUT | POLLHUP | POLLERR)))
		show_output(r);
}

void tty_relay_flush_held(struct tty_relay *r)
{
	double end = monotonic_ms() + 3000;
	while (r->term_out && r->n_held > 0 && monotonic_ms() < end) {
		struct pollfd p = {.fd = r->term, .events = POLLOUT};
		if (poll(&p, 1, 100) > 0)
			show_output(r);
	}
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
