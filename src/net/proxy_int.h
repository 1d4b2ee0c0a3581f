/* Internals shared by proxy.c (the loop, listeners, timers) and
 * proxy_conn.c (one connection's state machine). */
#ifndef AB_NET_PROXY_INT_H
#define AB_NET_PROXY_INT_H

#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/host_addrs.h"
#include "net/http_body.h"
#include "net/proxy.h"
#include "net/relay.h"
#include "net/resolver.h"
#include "net/socks5.h"
#include "common/events.h"

enum watch_kind {
	W_LISTEN_HTTP, W_LISTEN_SOCKS, W_STOP, W_RESOLVER, W_CLIENT, W_UPSTREAM,
	W_DECIDER, /* a descriptor of the decider (proxy_watch_fd) */
	W_HOST_ADDRS, /* changes of the host's own addresses (host_addrs.h) */
};

/* What an epoll event points at. */
struct watch {
	enum watch_kind kind;
	int fd;
	uint32_t events;    /* current interest */
	bool registered;
	struct conn *conn;  /* W_CLIENT, W_UPSTREAM */
	proxy_fd_fn fn;     /* W_DECIDER */
	void *user;
};

enum conn_state {
	ST_HTTP_HEAD,
	ST_SOCKS_GREETING,
	ST_SOCKS_REQUEST,
	ST_DECIDING,
	ST_RESOLVING,
	ST_CONNECTING,
	ST_RELAY,
	ST_REFUSING, /* writing an error reply, then drain */
	ST_DRAIN,    /* reply sent and write side shut: read until EOF so the
			kernel does not answer unread data with a reset that
			could destroy the reply before the client reads it */
	ST_DEAD,
};

enum conn_proto { PROTO_HTTP, PROTO_CONNECT, PROTO_SOCKS };

struct conn {
	struct watch cw, uw;
	struct proxy *p;
	struct conn *prev, *next;
	uint64_t id;
	enum conn_state st;
	enum conn_proto proto;
	double deadline, started;
	/* the request head, until parsed */
	char *buf;
	size_t len, cap;
	bool client_eof;
	char host[DOMAIN_HOST_MAX];
	unsigned port;
	/* bytes to write before relaying: a reply to the client, the request
	 * head and early data to the upstream */
	char *tc, *tu;
	size_t tc_len, tc_off, tu_len, tu_off;
	struct resolve_job *job;
	struct addrinfo *addrs, *next_addr;
	bool addrs_numeric; /* from getaddrinfo(AI_NUMERICHOST), not a job */
	int last_errno;
	const char *decided_by;
	char *rule;
	char *reason;       /* the decider's words on an allow, for the event */
	bool asked;         /* the decider was asked and has not answered */
	bool allowed;       /* an allow decision was reported: report the end too */
	bool answer_reported; /* a decider's allow was reported when it came */
	char *error;        /* why it failed, for the end event */
	struct relay_dir up, down;
	/* PROTO_HTTP: the one request's body, the only client bytes relayed
	 * after its head (http_body.h); `peek` holds the bytes the gate
	 * looked at before letting them through. */
	struct http_body body;
	struct relay_gate gate;
	char peek[512];
	size_t peek_len;
};

struct proxy {
	struct proxy_config cfg;
	struct events ev;
	int epfd;
	struct watch lhttp, lsocks, stop, wres, waddrs;
	struct host_addrs *own; /* the host's addresses, refused like loopback */
	unsigned http_port, socks_port;
	struct resolver *res;
	struct conn *conns, *dead;
	unsigned n_conns;
	uint64_t next_id;
	double next_deadline;
	double accept_resume; /* accepting paused after EMFILE until then */
	bool stopping;
	/* the decider's descriptors (freed by proxy_free only: an event of
	 * the current batch may still point at an unwatched one) */
	struct watch **dwatch;
	size_t n_dwatch, cap_dwatch;
	double decider_deadline;
	bool decider_attached;
};

void watch_set(struct proxy *p, struct watch *w, uint32_t events);
void conn_set_deadline(struct conn *c, double at);

/* proxy_conn.c */
void conn_start(struct proxy *p, int fd, enum conn_proto proto);
void conn_on_event(struct conn *c, struct watch *w, uint32_t events);
void conn_on_resolved(struct conn *c, struct resolve_job *j);
void conn_on_deadline(struct conn *c);
/* proxy_decide.c */
/* NULL for an address the proxy may reach through a wildcard, else the
 * name of its class: a range of addr_class.h, or "this-host" for an
 * address assigned to one of the host's interfaces. */
const char *proxy_addr_class(const struct proxy *p, const struct sockaddr *sa);
void conn_decide(struct conn *c);
void conn_check_addresses(struct conn *c);
void conn_resolve_timeout(struct conn *c);

/* proxy_events.c */
const char *conn_proto_name(const struct conn *c);
void emit_decision(struct conn *c, bool allow, const char *by, const char *rule,
		   const char *reason);
void emit_end(struct conn *c, const char *error);
struct refusal;
/* A refusal: a policy decision is a `network` event; a failure is kept as
 * the error of the connection's end event. */
void emit_refusal(struct conn *c, const struct refusal *r);

/* A refusal or failure the client is told about. */
struct refusal {
	int status;           /* 403, 502 ... */
	const char *code;     /* x-agentbox-error */
	const char *decided_by; /* NULL: not a policy decision: a failure after an
				  allow (the end event's error) or a request refused
				  for what it is (a `rejected` event) */
	const char *rule;
	const char *reason;   /* machine-readable prefix, then details */
	const char *message;  /* one human sentence */
	int socks_code;
};
/* The reply text for the client's protocol; *len its length. */
char *refusal_reply(const struct conn *c, const struct refusal *r, size_t *len);
char *http_error_reply(int status, const char *code, const char *text, size_t *len);

/* proxy_conn.c */
void conn_refuse(struct conn *c, const struct refusal *r);
void conn_connect_next(struct conn *c);
void conn_decided(struct conn *c, bool allow, const char *by, const char *reason);
void conn_close(struct conn *c, const char *error);

#endif
