/* The policy proxy: an HTTP proxy (absolute-form requests and CONNECT) and
 * a SOCKS5 proxy (CONNECT) in one single-threaded epoll loop, which lets a
 * connection through only when the domain rules, the address checks and,
 * for destinations no rule covers, a decider agree. Every decision and
 * every finished connection is reported as a `network` event. */
#ifndef AB_NET_PROXY_H
#define AB_NET_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agentbox.h"
#include "policy/domain.h"

struct proxy;
struct events;
struct refusal_log;

/* A destination that no rule covers, waiting for an answer. */
struct proxy_ask {
	uint64_t id;
	const char *host;
	unsigned port;
	const char *protocol; /* "http", "https_connect", "socks5_tcp" */
};

/* Who answers for destinations no rule covers (src/net/approvals.c). Every
 * callback runs on the loop's thread, so a decider needs no locks: it
 * watches its own descriptors through proxy_watch_fd() and its deadlines
 * through tick(), and answers with proxy_answer(), at once from ask() or
 * later. Only ask is required. */
struct proxy_decider {
	/* From proxy_new: register descriptors. A failure fails proxy_new. */
	int (*attach)(void *user, struct proxy *p, ab_error *err);
	void (*ask)(void *user, struct proxy *p, const struct proxy_ask *q);
	/* The connection asked about as `id` is gone unanswered (the client
	 * closed, or the proxy is stopping): an answer is no longer needed. */
	void (*withdraw)(void *user, struct proxy *p, uint64_t id);
	/* After every wakeup of the loop; returns the monotonic_ms() time it
	 * wants to be called again at the latest, 0 for no deadline. */
	double (*tick)(void *user, struct proxy *p, double now);
	/* A destination this decider allowed was refused afterwards by the
	 * address check (it resolves to a non-public address): the user who
	 * said yes should learn that it did not help, and why. Optional. */
	void (*overruled)(void *user, struct proxy *p, const char *host, unsigned port,
			  const char *why);
	/* From proxy_free, after every connection is closed: forget p. */
	void (*detach)(void *user, struct proxy *p);
	void *user;
};

struct proxy_config {
	const struct domain_rules *rules;
	const char *http_listen;  /* ADDR:PORT, or NULL for no HTTP proxy */
	const char *socks_listen; /* ADDR:PORT, or NULL for no SOCKS5 proxy */
	bool listen_any;          /* allow non-loopback listen addresses */
	int events_fd;            /* -1, or --events-fd, which the caller opens as `events` */
	const struct events *events; /* the run's events (agentbox run), or NULL */
	unsigned header_timeout_ms, dns_timeout_ms, connect_timeout_ms;
	unsigned max_conns;
	const struct proxy_decider *decider; /* NULL: unmatched is refused */
	struct refusal_log *refusals; /* policy refusals are added here, or NULL */
};

#define PROXY_DEFAULT_HEADER_TIMEOUT_MS 10000
#define PROXY_DEFAULT_DNS_TIMEOUT_MS 5000
#define PROXY_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define PROXY_DEFAULT_MAX_CONNS 4096

void proxy_config_defaults(struct proxy_config *c);

/* Binds the listeners (so their ports are known before proxy_run). */
int proxy_new(struct proxy **out, const struct proxy_config *cfg, ab_error *err);
/* Serves a listening socket bound elsewhere: agentbox run's bridge, bound
 * on 127.0.0.1 inside the sandbox's network namespace and handed over. The
 * proxy owns fd from then on (closes it, also on failure). Call before
 * proxy_run. */
int proxy_adopt_listener(struct proxy *p, int fd, bool socks, ab_error *err);
/* The bound ports, 0 for a proxy not configured. */
unsigned proxy_http_port(const struct proxy *p);
unsigned proxy_socks_port(const struct proxy *p);
/* Serves until stop_fd becomes readable (a signalfd, an eventfd...). */
int proxy_run(struct proxy *p, int stop_fd, ab_error *err);
void proxy_free(struct proxy *p);

/* The decider's answer for request `id`; ignored if the client is gone.
 * `by` (a string constant: "human", "session", "timeout", "no_channel")
 * and `reason` go into the decision event. */
void proxy_answer(struct proxy *p, uint64_t id, bool allow, const char *by, const char *reason);

/* For a decider: the loop calls fn(user, p, fd, revents) when fd is ready
 * for `events` (EPOLLIN, EPOLLOUT). Calling it again for the same fd
 * changes the interest (0: none for now); proxy_unwatch_fd stops
 * watching. The fd stays the caller's: the proxy never closes it. */
typedef void (*proxy_fd_fn)(void *user, struct proxy *p, int fd, uint32_t events);
int proxy_watch_fd(struct proxy *p, int fd, uint32_t events, proxy_fd_fn fn, void *user,
		   ab_error *err);
void proxy_unwatch_fd(struct proxy *p, int fd);

/* Parses ADDR:PORT ([v6]:PORT) into a socket address. */
int proxy_parse_listen(const char *text, bool listen_any, struct sockaddr_storage *ss,
		       unsigned *len, ab_error *err);

#endif
