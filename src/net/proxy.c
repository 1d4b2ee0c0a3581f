#include "net/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "net/proxy_int.h"

/* After EMFILE/ENFILE on accept the pending connection stays in the
 * backlog and the listener stays readable: accepting again at once would
 * spin. Pause, let closing connections free descriptors, retry. */
#define ACCEPT_PAUSE_MS 100

void proxy_config_defaults(struct proxy_config *c)
{
	*c = (struct proxy_config){
		.events_fd = -1,
		.header_timeout_ms = PROXY_DEFAULT_HEADER_TIMEOUT_MS,
		.dns_timeout_ms = PROXY_DEFAULT_DNS_TIMEOUT_MS,
		.connect_timeout_ms = PROXY_DEFAULT_CONNECT_TIMEOUT_MS,
		.max_conns = PROXY_DEFAULT_MAX_CONNS,
	};
}

int proxy_parse_listen(const char *text, bool listen_any, struct sockaddr_storage *ss,
		       unsigned *len, ab_error *err)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t hn;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			goto bad;
		colon = close + 1;
		hn = (size_t)(close - text - 1);
		text++;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			goto bad;
		hn = (size_t)(colon - text);
	}
	if (hn == 0 || hn >= sizeof(host))
		goto bad;
	memcpy(host, text, hn);
	host[hn] = '\0';
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535)
		goto bad;
	memset(ss, 0, sizeof(*ss));
	bool loopback;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	} else {
		goto bad;
	}
	if (!loopback && !listen_any)
		return ab_fail(err, EINVAL,
			       "listen address '%s' is not a loopback address; the proxy lets through whatever its rules allow to anyone who can reach it, so it listens on loopback only unless --listen-any is given",
			       host);
	return 0;
bad:
	return ab_fail(err, EINVAL,
		       "invalid listen address '%s': expected ADDR:PORT with an IP address, e.g. 127.0.0.1:3128 or [::1]:0",
		       text);
}

static int listen_on(struct proxy *p, struct watch *w, enum watch_kind kind, const char *text,
		     unsigned *port, ab_error *err)
{
	struct sockaddr_storage ss;
	unsigned len;
	int r = proxy_parse_listen(text, p->cfg.listen_any, &ss, &len, err);
	if (r < 0)
		return r;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ab_fail_errno(err, errno, "cannot create a socket for %s", text);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		r = ab_fail_errno(err, e, "cannot listen on %s", text);
		if (e == EADDRINUSE)
			ab_error_hint(err, "another process uses that port; pick another one or port 0 for any free port");
		return r;
	}
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	*w = (struct watch){.kind = kind, .fd = fd};
	watch_set(p, w, EPOLLIN);
	return 0;
}

/* Interest 0 removes the fd from the epoll set instead of modifying it:
 * a socket that has hung up keeps reporting EPOLLHUP whatever the mask,
 * and a tunnel waiting on its other side would spin on it. */
void watch_set(struct proxy *p, struct watch *w, uint32_t events)
{
	if (w->fd < 0)
		return;
	struct epoll_event e = {.events = events, .data.ptr = w};
	if (events == 0) {
		if (w->registered && epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->fd, NULL) == 0)
			w->registered = false;
	} else if (!w->registered) {
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, w->fd, &e) == 0)
			w->registered = true;
	} else if (w->events != events) {
		epoll_ctl(p->epfd, EPOLL_CTL_MOD, w->fd, &e);
	}
	w->events = events;
}

void conn_set_deadline(struct conn *c, double at)
{
	c->deadline = at;
	if (at > 0 && (c->p->next_deadline == 0 || at < c->p->next_deadline))
		c->p->next_deadline = at;
}

/* Each tunnel holds two sockets and up to two pipes: the usual soft limit
 * of 1024 descriptors would cap the proxy near 170 busy tunnels. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int proxy_new(struct proxy **out, const struct proxy_config *cfg, ab_error *err)
{
	raise_fd_limit();
	struct proxy *p = xcalloc(1, sizeof(*p));
	p->cfg = *cfg;
	p->ev = cfg->events ? *cfg->events : (struct events){.fd = -1, .quiet = true};
	p->lhttp.fd = p->lsocks.fd = p->stop.fd = p->wres.fd = p->waddrs.fd = -1;
	p->next_id = 1;
	int r;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		r = ab_fail_errno(err, errno, "cannot create the proxy's epoll instance");
		goto fail;
	}
	if ((r = resolver_new(&p->res, 4, err)) < 0)
		goto fail;
	p->wres = (struct watch){.kind = W_RESOLVER, .fd = resolver_fd(p->res)};
	watch_set(p, &p->wres, EPOLLIN);
	if ((r = host_addrs_open(&p->own, err)) < 0)
		goto fail;
	p->waddrs = (struct watch){.kind = W_HOST_ADDRS, .fd = host_addrs_fd(p->own)};
	watch_set(p, &p->waddrs, EPOLLIN);
	if (cfg->http_listen &&
	    (r = listen_on(p, &p->lhttp, W_LISTEN_HTTP, cfg->http_listen, &p->http_port, err)) < 0)
		goto fail;
	if (cfg->socks_listen &&
	    (r = listen_on(p, &p->lsocks, W_LISTEN_SOCKS, cfg->socks_listen, &p->socks_port, err)) < 0)
		goto fail;
	const struct proxy_decider *d = cfg->decider;
	if (d && d->attach) {
		if ((r = d->attach(d->user, p, err)) < 0)
			goto fail;
	}
	p->decider_attached = d != NULL;
	*out = p;
	return 0;
fail:
	proxy_free(p);
	return r;
}

int proxy_adopt_listener(struct proxy *p, int fd, bool socks, ab_error *err)
{
	struct watch *w = socks ? &p->lsocks : &p->lhttp;
	if (w->fd >= 0) {
		close(fd);
		return ab_fail(err, EBUSY, "the proxy already has a%s listener", socks ? " SOCKS5" : "n HTTP");
	}
	int type = 0, acc = 0;
	socklen_t tl = sizeof(type), al = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || type != SOCK_STREAM || !acc) {
		close(fd);
		return ab_fail(err, EINVAL, "the proxy was handed a descriptor that is not a listening TCP socket");
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;
		close(fd);
		return ab_fail_errno(err, e, "cannot make the handed-over listener non-blocking");
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	*(socks ? &p->socks_port : &p->http_port) = port;
	*w = (struct watch){.kind = socks ? W_LISTEN_SOCKS : W_LISTEN_HTTP, .fd = fd};
	watch_set(p, w, EPOLLIN);
	return 0;
}

unsigned proxy_http_port(const struct proxy *p)
{
	return p->http_port;
}

unsigned proxy_socks_port(const struct proxy *p)
{
	return p->socks_port;
}

static void pause_accepting(struct proxy *p, double now)
{
	p->accept_resume = now + ACCEPT_PAUSE_MS;
	watch_set(p, &p->lhttp, 0);
	watch_set(p, &p->lsocks, 0);
}

static void on_accept(struct proxy *p, struct watch *w)
{
	/* A bounded batch per wakeup keeps one busy listener from starving
	 * the connections already open. */
	for (int i = 0; i < 64; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				fprintf(stderr, "agentbox proxy: cannot accept a connection: %s; pausing %d ms\n",
					strerror(errno), ACCEPT_PAUSE_MS);
				pause_accepting(p, monotonic_ms());
			}
			return; /* EAGAIN, or an aborted connection */
		}
		if (p->n_conns >= p->cfg.max_conns) {
			if (w->kind == W_LISTEN_HTTP) {
				static const char busy[] =
					"HTTP/1.1 503 Service Unavailable\r\n"
					"Content-Type: text/plain\r\n"
					"x-agentbox-error: too-many-connections\r\n"
					"Content-Length: 56\r\n"
					"Connection: close\r\n\r\n"
					"agentbox proxy: too many open connections; retry later\n";
				if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
					/* the client is told by the close anyway */
				}
			}
			close(fd);
			continue;
		}
		conn_start(p, fd, w->kind == W_LISTEN_HTTP ? PROTO_HTTP : PROTO_SOCKS);
	}
}

static void on_resolved(struct proxy *p)
{
	struct resolve_job *list = resolver_take_done(p->res);
	while (list) {
		struct resolve_job *j = list;
		list = j->next;
		struct conn *c = j->owner;
		if (c && c->st == ST_RESOLVING && c->job == j)
			conn_on_resolved(c, j);
		else
			resolver_job_free(j);
	}
}

static void run_deadlines(struct proxy *p, double now)
{
	const struct proxy_decider *d = p->cfg.decider;
	if (d && d->tick)
		p->decider_deadline = d->tick(d->user, p, now);
	if (p->accept_resume > 0 && now >= p->accept_resume) {
		p->accept_resume = 0;
		watch_set(p, &p->lhttp, EPOLLIN);
		watch_set(p, &p->lsocks, EPOLLIN);
	}
	if (p->next_deadline == 0 || now < p->next_deadline)
		return;
	p->next_deadline = 0;
	for (struct conn *c = p->conns, *next; c; c = next) {
		next = c->next;
		if (c->deadline > 0 && now >= c->deadline)
			conn_on_deadline(c);
	}
	/* Recompute: handlers may have set new deadlines, closed ones are gone. */
	p->next_deadline = 0;
	for (struct conn *c = p->conns; c; c = c->next)
		if (c->deadline > 0 && (p->next_deadline == 0 || c->deadline < p->next_deadline))
			p->next_deadline = c->deadline;
}

static void free_dead(struct proxy *p)
{
	while (p->dead) {
		struct conn *c = p->dead;
		p->dead = c->next;
		free(c);
	}
}

static int wait_timeout(const struct proxy *p, double now)
{
	double t = 0;
	if (p->next_deadline > 0)
		t = p->next_deadline;
	if (p->accept_resume > 0 && (t == 0 || p->accept_resume < t))
		t = p->accept_resume;
	if (p->decider_deadline > 0 && (t == 0 || p->decider_deadline < t))
		t = p->decider_deadline;
	if (t == 0)
		return -1;
	return t <= now ? 0 : (int)(t - now) + 1;
}

int proxy_run(struct proxy *p, int stop_fd, ab_error *err)
{
	p->stop = (struct watch){.kind = W_STOP, .fd = stop_fd};
	watch_set(p, &p->stop, EPOLLIN);
	struct epoll_event evs[128];
	while (!p->stopping) {
		int n = epoll_wait(p->epfd, evs, 128, wait_timeout(p, monotonic_ms()));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ab_fail_errno(err, errno, "epoll_wait failed in the proxy loop");
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			switch (w->kind) {
			case W_LISTEN_HTTP:
			case W_LISTEN_SOCKS:
				on_accept(p, w);
				break;
			case W_STOP:
				p->stopping = true;
				break;
			case W_RESOLVER:
				on_resolved(p);
				break;
			case W_HOST_ADDRS:
				host_addrs_on_readable(p->own);
				break;
			case W_CLIENT:
			case W_UPSTREAM:
				if (w->conn->st != ST_DEAD)
					conn_on_event(w->conn, w, evs[i].events);
				break;
			case W_DECIDER:
				if (w->fd >= 0)
					w->fn(w->user, p, w->fd, evs[i].events);
				break;
			}
		}
		run_deadlines(p, monotonic_ms());
		free_dead(p);
	}
	return 0;
}

void proxy_answer(struct proxy *p, uint64_t id, bool allow, const char *by, const char *reason)
{
	/* A linear search: answers are rare (one per unmatched destination). */
	for (struct conn *c = p->conns; c; c = c->next)
		if (c->id == id && c->st == ST_DECIDING && c->asked) {
			c->asked = false;
			conn_decided(c, allow, by, reason);
			return;
		}
}

static struct watch *find_dwatch(struct proxy *p, int fd)
{
	for (size_t i = 0; i < p->n_dwatch; i++)
		if (p->dwatch[i]->fd == fd)
			return p->dwatch[i];
	return NULL;
}

int proxy_watch_fd(struct proxy *p, int fd, uint32_t events, proxy_fd_fn fn, void *user,
		   ab_error *err)
{
	struct watch *w = find_dwatch(p, fd);
	if (!w) {
		grow_array((void **)&p->dwatch, &p->cap_dwatch, p->n_dwatch + 1, sizeof(*p->dwatch));
		w = xcalloc(1, sizeof(*w));
		*w = (struct watch){.kind = W_DECIDER, .fd = fd};
		p->dwatch[p->n_dwatch++] = w;
		/* Registered here rather than by watch_set, which cannot
		 * report a descriptor epoll refuses (a regular file). */
		struct epoll_event e = {.events = events, .data.ptr = w};
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			w->fd = -1;
			return ab_fail_errno(err, errno, "cannot watch descriptor %d in the proxy loop", fd);
		}
		w->registered = true;
		w->events = events;
	}
	w->fn = fn;
	w->user = user;
	/* Kept registered with no interest: a removal would lose a hangup
	 * reported meanwhile, and these descriptors do not spin. */
	if (w->events != events) {
		struct epoll_event e = {.events = events, .data.ptr = w};
		epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &e);
		w->events = events;
	}
	return 0;
}

void proxy_unwatch_fd(struct proxy *p, int fd)
{
	struct watch *w = find_dwatch(p, fd);
	if (!w)
		return;
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->fd = -1;
	w->registered = false;
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	while (p->conns)
		conn_close(p->conns, "proxy stopped");
	free_dead(p);
	const struct proxy_decider *d = p->cfg.decider;
	if (p->decider_attached && d->detach)
		d->detach(d->user, p);
	for (size_t i = 0; i < p->n_dwatch; i++)
		free(p->dwatch[i]);
	free(p->dwatch);
	resolver_free(p->res);
	host_addrs_free(p->own);
	if (p->lhttp.fd >= 0)
		close(p->lhttp.fd);
	if (p->lsocks.fd >= 0)
		close(p->lsocks.fd);
	if (p->epfd >= 0)
		close(p->epfd);
	free(p);
}
