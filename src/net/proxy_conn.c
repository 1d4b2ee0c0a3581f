/* One client connection: read the request (HTTP head or SOCKS5
 * handshake) under a deadline, have it decided (proxy_decide.c), connect,
 * then relay bytes both ways until both sides are done. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/util.h"
#include "net/http_head.h"
#include "net/proxy_int.h"

/* How long a refused client gets to read its reply. */
#define DRAIN_MS 2000
#define REPLY_MS 5000

void conn_start(struct proxy *p, int fd, enum conn_proto proto)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->p = p;
	c->id = p->next_id++;
	c->proto = proto;
	c->st = proto == PROTO_SOCKS ? ST_SOCKS_GREETING : ST_HTTP_HEAD;
	c->cw = (struct watch){.kind = W_CLIENT, .fd = fd, .conn = c};
	c->uw = (struct watch){.kind = W_UPSTREAM, .fd = -1, .conn = c};
	relay_dir_init(&c->up);
	relay_dir_init(&c->down);
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->n_conns++;
	c->started = monotonic_ms();
	/* The deadline covers the whole head, not each read: a client sending
	 * one byte a second would otherwise hold the connection forever. */
	conn_set_deadline(c, c->started + p->cfg.header_timeout_ms);
	watch_set(p, &c->cw, EPOLLIN);
}

void conn_close(struct conn *c, const char *error)
{
	struct proxy *p = c->p;
	if (c->st == ST_DEAD)
		return;
	if (c->asked) {
		/* Before anything is freed: the decider may look the id up. */
		c->asked = false;
		const struct proxy_decider *d = p->cfg.decider;
		if (d->withdraw)
			d->withdraw(d->user, p, c->id);
	}
	if (c->allowed)
		emit_end(c, error ? error : c->error);
	close(c->cw.fd);
	if (c->uw.fd >= 0)
		close(c->uw.fd);
	relay_dir_close(&c->up);
	relay_dir_close(&c->down);
	if (c->job)
		resolver_cancel(p->res, c->job);
	if (c->addrs)
		freeaddrinfo(c->addrs);
	free(c->buf);
	free(c->tc);
	free(c->tu);
	free(c->rule);
	free(c->reason);
	free(c->error);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->n_conns--;
	c->st = ST_DEAD;
	/* Freed after the current batch of epoll events, which may still
	 * point at it. */
	c->next = p->dead;
	p->dead = c;
}

/* Writes what is pending; 1 when all is written, 0 to wait, -errno. */
static int flush(int fd, const char *s, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = send(fd, s + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN ? 0 : errno == EINTR ? 0 : -errno;
		*off += (size_t)n;
	}
	return 1;
}

static void set_tc(struct conn *c, char *s, size_t len)
{
	free(c->tc);
	c->tc = s;
	c->tc_len = len;
	c->tc_off = 0;
}

static void refusing_step(struct conn *c)
{
	int r = flush(c->cw.fd, c->tc, c->tc_len, &c->tc_off);
	if (r < 0) {
		conn_close(c, NULL);
		return;
	}
	if (r == 0) {
		watch_set(c->p, &c->cw, EPOLLOUT);
		return;
	}
	shutdown(c->cw.fd, SHUT_WR);
	c->st = ST_DRAIN;
	conn_set_deadline(c, monotonic_ms() + DRAIN_MS);
	watch_set(c->p, &c->cw, EPOLLIN);
}

/* Sends `reply` (owned) and ends the connection. */
static void reply_and_close(struct conn *c, char *reply, size_t len)
{
	set_tc(c, reply, len);
	if (c->uw.fd >= 0) {
		close(c->uw.fd);
		c->uw = (struct watch){.kind = W_UPSTREAM, .fd = -1, .conn = c};
	}
	free(c->buf);
	c->buf = NULL;
	c->st = ST_REFUSING;
	conn_set_deadline(c, monotonic_ms() + REPLY_MS);
	refusing_step(c);
}

void conn_refuse(struct conn *c, const struct refusal *r)
{
	emit_refusal(c, r);
	size_t len;
	char *reply = refusal_reply(c, r, &len);
	reply_and_close(c, reply, len);
}

/* A request refused for what it is (malformed, too big, too slow): a
 * `rejected` event, then the plain reply. */
static void http_error(struct conn *c, int status, const char *code, const char *text)
{
	struct refusal r = {.status = status, .code = code, .reason = text, .message = text};
	conn_refuse(c, &r);
}

/* The relay's gate for a plain-HTTP request: the body's bytes pass, the
 * rest of the connection (a pipelined request) is never read. Data of a
 * known length passes unseen (spliced); size lines and trailers are
 * peeked at and judged on a copy of the reader, and the real reader then
 * takes exactly the bytes the splice moved, which are the first of those
 * peeked. */
static size_t body_allow(void *user, int src, bool *over)
{
	struct conn *c = user;
	c->peek_len = 0;
	if (c->body.done || c->body.bad) {
		*over = true;
		return 0;
	}
	uint64_t blind = http_body_blind(&c->body);
	if (blind)
		return blind > SIZE_MAX ? SIZE_MAX : (size_t)blind;
	ssize_t k = recv(src, c->peek, sizeof(c->peek), MSG_PEEK | MSG_DONTWAIT);
	if (k == 0)
		return 1; /* EOF: the relay reads it and passes the half-close on */
	if (k < 0)
		return 0; /* nothing yet, or an error the read will report */
	struct http_body trial = c->body;
	size_t m = http_body_feed(&trial, c->peek, (size_t)k);
	if (m == 0) {
		/* bad right here: relay_step ends the connection */
		c->body.bad = trial.bad;
		*over = true;
	}
	c->peek_len = m;
	return m;
}

static void body_took(void *user, size_t n)
{
	struct conn *c = user;
	if (c->peek_len)
		http_body_feed(&c->body, c->peek, n);
	else
		http_body_skip(&c->body, n);
	c->peek_len = 0;
}

/* Bytes the client sent after the request: they go upstream first; for
 * plain HTTP only those of the request's body (the head says how many). */
static void keep_leftover(struct conn *c, size_t used, const char *head, size_t head_len)
{
	size_t left = c->len - used;
	if (c->up.gate)
		left = http_body_feed(&c->body, c->buf + used, left);
	c->tu_len = head_len + left;
	c->tu_off = 0;
	c->tu = xmalloc(c->tu_len + 1);
	if (head_len)
		memcpy(c->tu, head, head_len);
	memcpy(c->tu + head_len, c->buf + used, left);
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

static void http_progress(struct conn *c)
{
	ssize_t hl = http_head_length(c->buf, c->len);
	if (hl < 0) {
		http_error(c, 431, "head-too-large", "request head larger than 64 KiB");
		return;
	}
	if (hl == 0) {
		if (c->client_eof && c->len > 0)
			http_error(c, 400, "bad-request", "the client closed before the request head ended");
		else if (c->client_eof)
			conn_close(c, NULL);
		return;
	}
	struct http_request *req = xmalloc(sizeof(*req));
	if (http_head_parse(c->buf, (size_t)hl, req) < 0) {
		const char *code = req->status == 431 || req->status == 414 ? "head-too-large"
										    : "bad-request";
		http_error(c, req->status, code, req->error);
		free(req);
		return;
	}
	c->proto = req->is_connect ? PROTO_CONNECT : PROTO_HTTP;
	memcpy(c->host, req->host, sizeof(c->host));
	c->port = req->port;
	if (!req->is_connect) {
		http_body_init(&c->body, req->body, req->content_length);
		c->gate = (struct relay_gate){.allow = body_allow, .took = body_took, .user = c};
		c->up.gate = &c->gate;
	}
	size_t fl = 0;
	_cleanup_free_ char *fwd = req->is_connect ? NULL : http_head_forward(req, &fl);
	free(req);
	keep_leftover(c, (size_t)hl, fwd, fl);
	conn_set_deadline(c, 0);
	conn_decide(c);
}

static void socks_refuse(struct conn *c, enum socks5_reply code)
{
	const char *what = code == SOCKS5_CMD_UNSUPPORTED ? "only CONNECT is supported (no BIND, no UDP ASSOCIATE)"
			   : code == SOCKS5_ATYP_UNSUPPORTED ? "unknown address type"
							     : "malformed request";
	_cleanup_free_ char *why = xasprintf("bad_request: SOCKS5: %s (reply 0x%02x)", what, (unsigned)code);
	struct refusal r = {
		.status = 400, .code = code == SOCKS5_CMD_UNSUPPORTED ? "unsupported" : "bad-request",
		.reason = why, .message = why, .socks_code = code,
	};
	conn_refuse(c, &r);
}

static void socks_progress(struct conn *c)
{
	const uint8_t *b = (const uint8_t *)c->buf;
	if (c->st == ST_SOCKS_GREETING) {
		bool no_auth;
		ssize_t n = socks5_parse_greeting(b, c->len, &no_auth);
		if (n < 0 || (n == 0 && c->client_eof)) {
			conn_close(c, NULL);
			return;
		}
		if (n == 0)
			return;
		memmove(c->buf, c->buf + n, c->len - (size_t)n);
		c->len -= (size_t)n;
		if (!no_auth) {
			char *out = xmalloc(2);
			out[0] = SOCKS5_VERSION;
			out[1] = (char)SOCKS5_NO_ACCEPTABLE;
			reply_and_close(c, out, 2);
			return;
		}
		/* Two bytes into an empty socket buffer: cannot block. */
		static const char ok[2] = {SOCKS5_VERSION, SOCKS5_NO_AUTH};
		if (send(c->cw.fd, ok, 2, MSG_NOSIGNAL | MSG_DONTWAIT) != 2) {
			conn_close(c, NULL);
			return;
		}
		c->st = ST_SOCKS_REQUEST;
	}
	struct socks5_request req;
	enum socks5_reply code;
	ssize_t n = socks5_parse_request(b, c->len, &req, &code);
	if (n < 0) {
		socks_refuse(c, code);
		return;
	}
	if (n == 0) {
		if (c->client_eof)
			conn_close(c, NULL);
		return;
	}
	memcpy(c->host, req.host, sizeof(c->host));
	c->port = req.port;
	keep_leftover(c, (size_t)n, NULL, 0);
	conn_set_deadline(c, 0);
	conn_decide(c);
}

static void read_request(struct conn *c)
{
	if (c->len == c->cap) {
		/* Grown in steps: most heads fit in 2 KiB, and idle clients
		 * should not each hold 64 KiB. One byte past the limit lets
		 * http_head_length see that the limit is exceeded. */
		size_t cap = c->cap ? c->cap * 2 : 2048;
		if (cap > HTTP_HEAD_MAX + 1)
			cap = HTTP_HEAD_MAX + 1;
		if (cap == c->cap) {
			http_error(c, 431, "head-too-large", "request head larger than 64 KiB");
			return;
		}
		c->buf = xrealloc(c->buf, cap);
		c->cap = cap;
	}
	ssize_t n = recv(c->cw.fd, c->buf + c->len, c->cap - c->len, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(c, NULL);
		return;
	}
	if (n == 0) {
		c->client_eof = true;
		watch_set(c->p, &c->cw, 0);
	}
	c->len += (size_t)n;
	if (c->proto == PROTO_SOCKS)
		socks_progress(c);
	else
		http_progress(c);
}

static void fail_errno_text(struct conn *c, int e, char **out)
{
	*out = xasprintf("upstream_failed: cannot connect to %s:%u: %s", c->host, c->port,
			 strerror(e));
}

static void upstream_failed(struct conn *c)
{
	int e = c->last_errno ? c->last_errno : ECONNREFUSED;
	_cleanup_free_ char *reason = NULL;
	fail_errno_text(c, e, &reason);
	int code = e == ECONNREFUSED ? SOCKS5_CONN_REFUSED
		 : e == ENETUNREACH ? SOCKS5_NET_UNREACHABLE
		 : e == EHOSTUNREACH ? SOCKS5_HOST_UNREACHABLE
		 : e == ETIMEDOUT ? SOCKS5_TTL_EXPIRED : SOCKS5_GENERAL_FAILURE;
	struct refusal r = {
		.status = 502, .code = "upstream-failure", .reason = reason,
		.message = "upstream failure", .socks_code = code,
	};
	conn_refuse(c, &r);
}

static void relay_step(struct conn *c);

static void start_drain(struct conn *c)
{
	if (c->uw.fd >= 0) {
		close(c->uw.fd);
		c->uw = (struct watch){.kind = W_UPSTREAM, .fd = -1, .conn = c};
	}
	c->st = ST_DRAIN;
	conn_set_deadline(c, monotonic_ms() + DRAIN_MS);
	watch_set(c->p, &c->cw, c->client_eof ? 0 : EPOLLIN);
	if (c->client_eof)
		conn_close(c, NULL);
}

static void on_connected(struct conn *c)
{
	conn_set_deadline(c, 0);
	c->st = ST_RELAY;
	if (c->proto == PROTO_CONNECT) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		set_tc(c, xstrdup(ok), sizeof(ok) - 1);
	} else if (c->proto == PROTO_SOCKS) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		uint8_t *out = xmalloc(32);
		size_t n;
		if (getsockname(c->uw.fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
			n = socks5_encode_reply(out, SOCKS5_OK, s6->sin6_addr.s6_addr, 16, ntohs(s6->sin6_port));
		} else if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
			n = socks5_encode_reply(out, SOCKS5_OK, (const uint8_t *)&s4->sin_addr, 4, ntohs(s4->sin_port));
		} else {
			n = socks5_encode_reply(out, SOCKS5_OK, NULL, 0, 0);
		}
		set_tc(c, (char *)out, n);
	}
	c->up.src_eof = c->client_eof;
	relay_step(c);
}

void conn_connect_next(struct conn *c)
{
	while (c->next_addr) {
		struct addrinfo *ai = c->next_addr;
		c->next_addr = ai->ai_next;
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		struct sockaddr_storage ss;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)c->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)c->port);
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			c->last_errno = errno;
			continue;
		}
		int r = connect(fd, (struct sockaddr *)&ss, ai->ai_addrlen);
		if (r < 0 && errno != EINPROGRESS) {
			c->last_errno = errno;
			close(fd);
			continue;
		}
		c->uw = (struct watch){.kind = W_UPSTREAM, .fd = fd, .conn = c};
		c->st = ST_CONNECTING;
		watch_set(c->p, &c->uw, EPOLLOUT);
		conn_set_deadline(c, monotonic_ms() + c->p->cfg.connect_timeout_ms);
		return;
	}
	upstream_failed(c);
}

static void on_connect_ready(struct conn *c)
{
	int e = 0;
	socklen_t sl = sizeof(e);
	if (getsockopt(c->uw.fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
		e = errno;
	if (e == 0) {
		on_connected(c);
		return;
	}
	c->last_errno = e;
	close(c->uw.fd);
	c->uw = (struct watch){.kind = W_UPSTREAM, .fd = -1, .conn = c};
	conn_connect_next(c);
}

static void relay_fail(struct conn *c, const char *side, int e)
{
	_cleanup_free_ char *why = xasprintf("%s: %s", side, strerror(e));
	conn_close(c, why);
}

static void relay_step(struct conn *c)
{
	bool c_in = false, c_out = false, u_in = false, u_out = false;
	int r;
	if (c->tc_off < c->tc_len) {
		if ((r = flush(c->cw.fd, c->tc, c->tc_len, &c->tc_off)) < 0)
			return relay_fail(c, "writing to the client", -r);
		c_out = r == 0;
	}
	if (c->tu_off < c->tu_len) {
		size_t before = c->tu_off;
		if ((r = flush(c->uw.fd, c->tu, c->tu_len, &c->tu_off)) < 0)
			return relay_fail(c, "writing upstream", -r);
		c->up.bytes += c->tu_off - before;
		u_out = r == 0;
	}
	if (!u_out && (r = relay_pump(&c->up, c->cw.fd, c->uw.fd, &c_in, &u_out)) < 0)
		return relay_fail(c, "client to upstream", -r);
	if (!c_out && (r = relay_pump(&c->down, c->uw.fd, c->cw.fd, &u_in, &c_out)) < 0)
		return relay_fail(c, "upstream to client", -r);
	if (c->body.bad) {
		/* what came before the error went upstream; the rest of the
		 * request cannot be framed the way the upstream would */
		_cleanup_free_ char *why = xasprintf(
			"client to upstream: malformed chunked request body for %s:%u; the connection is closed",
			c->host, c->port);
		conn_close(c, why);
		return;
	}
	if (c->up.over && c->down.shut) {
		/* The response is relayed and the client's write side is
		 * shut; what it sent after the request (pipelined requests)
		 * was never read. Closing now would answer those bytes with a
		 * reset that can destroy the response in flight: read them
		 * away until the client closes, as after a refusal. */
		start_drain(c);
		return;
	}
	if (c->up.shut && c->down.shut) {
		conn_close(c, NULL);
		return;
	}
	watch_set(c->p, &c->cw, (c_in ? EPOLLIN : 0) | (c_out ? EPOLLOUT : 0));
	watch_set(c->p, &c->uw, (u_in ? EPOLLIN : 0) | (u_out ? EPOLLOUT : 0));
}

static void drain(struct conn *c)
{
	char scratch[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->cw.fd, scratch, sizeof(scratch), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c, NULL);
			return;
		}
		if (n < 0)
			return;
	}
}

void conn_on_event(struct conn *c, struct watch *w, uint32_t events)
{
	bool broken = events & (EPOLLERR | EPOLLHUP);
	switch (c->st) {
	case ST_HTTP_HEAD:
	case ST_SOCKS_GREETING:
	case ST_SOCKS_REQUEST:
		read_request(c);
		return;
	case ST_DECIDING:
		/* Only hangups are watched while the decider thinks (see
		 * conn_decide): the client is gone, and so is the question. */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_close(c, NULL);
		return;
	case ST_RESOLVING:
		return; /* the client is not watched meanwhile */
	case ST_CONNECTING:
		if (w == &c->uw)
			on_connect_ready(c);
		return;
	case ST_RELAY:
		if (events & EPOLLERR) {
			int e = 0;
			socklen_t sl = sizeof(e);
			getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &e, &sl);
			if (e)
				return relay_fail(c, w == &c->cw ? "client" : "upstream", e);
		}
		relay_step(c);
		return;
	case ST_REFUSING:
		if (broken)
			conn_close(c, NULL);
		else
			refusing_step(c);
		return;
	case ST_DRAIN:
		drain(c);
		return;
	case ST_DEAD:
		return;
	}
}

void conn_on_deadline(struct conn *c)
{
	c->deadline = 0;
	switch (c->st) {
	case ST_HTTP_HEAD: {
		_cleanup_free_ char *why = xasprintf(
			"request head not complete within %u ms (header timeout)",
			c->p->cfg.header_timeout_ms);
		http_error(c, 408, "header-timeout", why);
		return;
	}
	case ST_RESOLVING:
		conn_resolve_timeout(c);
		return;
	case ST_CONNECTING:
		c->last_errno = ETIMEDOUT;
		c->next_addr = NULL;
		close(c->uw.fd);
		c->uw = (struct watch){.kind = W_UPSTREAM, .fd = -1, .conn = c};
		upstream_failed(c);
		return;
	default:
		conn_close(c, NULL);
		return;
	}
}
