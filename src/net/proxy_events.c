/* What the proxy reports: `network` events on --events-fd and the replies
 * a refused client gets. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "net/proxy_int.h"
#include "net/refusal_log.h"

const char *conn_proto_name(const struct conn *c)
{
	switch (c->proto) {
	case PROTO_HTTP:
		return "http";
	case PROTO_CONNECT:
		return "https_connect";
	case PROTO_SOCKS:
		return "socks5_tcp";
	}
	return "unknown";
}

static void add_string_or_null(sbuf *b, const char *key, const char *v)
{
	sbuf_addf(b, ",\"%s\":", key);
	sbuf_add_json_string_or_null(b, v);
}

static void add_destination(sbuf *b, const struct conn *c)
{
	sbuf_add(b, ",\"host\":");
	sbuf_add_json_string(b, c->host);
	sbuf_addf(b, ",\"port\":%u,\"protocol\":\"%s\"", c->port, conn_proto_name(c));
}

void emit_decision(struct conn *c, bool allow, const char *by, const char *rule,
		   const char *reason)
{
	if (!events_enabled(&c->p->ev))
		return;
	sbuf b = {0};
	sbuf_addf(&b, "{\"event\":\"network\",\"phase\":\"decision\",\"id\":%" PRIu64, c->id);
	add_destination(&b, c);
	sbuf_addf(&b, ",\"decision\":\"%s\"", allow ? "allow" : "deny");
	add_string_or_null(&b, "decided_by", by);
	add_string_or_null(&b, "rule", rule);
	add_string_or_null(&b, "reason", reason);
	sbuf_add(&b, "}");
	events_emit(&c->p->ev, b.s);
	sbuf_free(&b);
}

/* A request refused before any destination was decided on (malformed,
 * too large, too slow): no decision was made, but the audit trail still
 * shows that a client tried, and why it was turned away. */
static void emit_rejected(struct conn *c, const struct refusal *r)
{
	if (!events_enabled(&c->p->ev))
		return;
	sbuf b = {0};
	sbuf_addf(&b, "{\"event\":\"network\",\"phase\":\"rejected\",\"id\":%" PRIu64, c->id);
	if (c->host[0]) {
		add_destination(&b, c);
	} else {
		sbuf_addf(&b, ",\"host\":null,\"port\":null,\"protocol\":\"%s\"",
			  conn_proto_name(c));
	}
	sbuf_addf(&b, ",\"status\":%d", r->status);
	add_string_or_null(&b, "error", r->code);
	add_string_or_null(&b, "reason", r->reason);
	sbuf_add(&b, "}");
	events_emit(&c->p->ev, b.s);
	sbuf_free(&b);
}

/* A policy refusal (403) as the run's summary names it; NULL for a
 * failure (a lookup that failed is not agentbox refusing). */
static bool refusal_cause_of(const struct refusal *r, enum refusal_cause *out)
{
	if (r->status != 403 || !r->decided_by)
		return false;
	const char *by = r->decided_by;
	if (strcmp(by, "rule") == 0)
		*out = REFUSED_DENY_RULE;
	else if (strcmp(by, "non_public") == 0)
		*out = REFUSED_NON_PUBLIC;
	else if (strcmp(by, "human") == 0 || strcmp(by, "session") == 0)
		*out = REFUSED_DECLINED;
	else if (strcmp(by, "timeout") == 0)
		*out = REFUSED_TIMEOUT;
	else
		*out = REFUSED_NO_RULE; /* no_channel */
	return true;
}

void emit_refusal(struct conn *c, const struct refusal *r)
{
	enum refusal_cause cause;
	if (c->p->cfg.refusals && c->host[0] && refusal_cause_of(r, &cause))
		refusal_log_add(c->p->cfg.refusals, c->host, c->port, cause, r->rule);
	if (r->decided_by)
		emit_decision(c, false, r->decided_by, r->rule, r->reason);
	else if (!c->allowed && !c->answer_reported)
		emit_rejected(c, r);
	else if (!c->error)
		c->error = xstrdup(r->reason); /* for the end event */
}

void emit_end(struct conn *c, const char *error)
{
	if (!events_enabled(&c->p->ev))
		return;
	sbuf b = {0};
	sbuf_addf(&b, "{\"event\":\"network\",\"phase\":\"end\",\"id\":%" PRIu64, c->id);
	add_destination(&b, c);
	sbuf_addf(&b, ",\"bytes_up\":%" PRIu64 ",\"bytes_down\":%" PRIu64 ",\"duration_ms\":%.0f",
		  c->up.bytes, c->down.bytes, monotonic_ms() - c->started);
	add_string_or_null(&b, "error", error);
	sbuf_add(&b, "}");
	events_emit(&c->p->ev, b.s);
	sbuf_free(&b);
}

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

/* `line` (NULL or one line, no CR/LF): agentbox's explanation of a
 * policy refusal, also put where tools show something: the reason phrase
 * (Python's and pip's "Tunnel connection failed: 403 ...") and a header
 * (curl -v, browsers' developer tools). */
static char *http_reply(int status, const char *code, const char *type, const char *body,
			const char *line, size_t *len)
{
	_cleanup_free_ char *phrase = line ? xasprintf("%s: %s", status_text(status), line)
					   : xstrdup(status_text(status));
	_cleanup_free_ char *header = line ? xasprintf("x-agentbox-refused: %s\r\n", line)
					   : xstrdup("");
	char *s = xasprintf("HTTP/1.1 %d %s\r\n"
			    "Content-Type: %s\r\n"
			    "x-agentbox-error: %s\r\n"
			    "%s"
			    "Content-Length: %zu\r\n"
			    "Connection: close\r\n\r\n%s",
			    status, phrase, type, code, header, strlen(body), body);
	*len = strlen(s);
	return s;
}

char *http_error_reply(int status, const char *code, const char *text, size_t *len)
{
	_cleanup_free_ char *body = xasprintf("agentbox proxy: %s\n", text);
	return http_reply(status, code, "text/plain; charset=utf-8", body, NULL, len);
}

/* "agentbox: refused HOST:PORT (why); to allow: ..." for a policy
 * refusal, the words of the run's summary (refusal_log.h); else NULL. */
static char *refusal_line(const struct conn *c, const struct refusal *r)
{
	enum refusal_cause cause;
	if (!c->host[0] || !refusal_cause_of(r, &cause))
		return NULL;
	_cleanup_free_ char *reason = NULL, *allow = NULL;
	refusal_describe(c->host, c->port, cause, r->rule, &reason, &allow);
	bool v6 = strchr(c->host, ':') != NULL;
	return xasprintf("agentbox: refused %s%s%s:%u (%s); to allow: %s", v6 ? "[" : "", c->host,
			 v6 ? "]" : "", c->port, reason, allow);
}

char *refusal_reply(const struct conn *c, const struct refusal *r, size_t *len)
{
	if (c->proto == PROTO_SOCKS) {
		uint8_t *out = xmalloc(32);
		*len = socks5_encode_reply(out, (enum socks5_reply)r->socks_code, NULL, 0, 0);
		return (char *)out;
	}
	if (!r->decided_by && !c->allowed && !c->answer_reported) {
		/* The request itself was refused: no destination to name. */
		return http_error_reply(r->status, r->code, r->reason, len);
	}
	_cleanup_free_ char *line = refusal_line(c, r);
	if (c->proto == PROTO_CONNECT) {
		/* The explanation, then the machine-readable reason. */
		_cleanup_free_ char *body = line
			? xasprintf("%s [%s]\n", line, r->reason)
			: xasprintf("agentbox proxy: %s:%u: %s\n", c->host, c->port, r->reason);
		return http_reply(r->status, r->code, "text/plain; charset=utf-8", body, line, len);
	}
	sbuf b = {0};
	/* One line: what a tool printing the body shows starts with the
	 * explanation. */
	if (line) {
		sbuf_add(&b, "{\"refused\":");
		sbuf_add_json_string(&b, line);
		sbuf_add(&b, ",\"status\":\"blocked\"");
	} else {
		sbuf_add(&b, r->status == 403 ? "{\"status\":\"blocked\"" : "{\"status\":\"error\"");
	}
	add_destination(&b, c);
	sbuf_addf(&b, ",\"decision\":\"%s\"", r->decided_by ? "deny" : "allow");
	/* A failure after an allow names what allowed it. */
	add_string_or_null(&b, "decided_by", r->decided_by ? r->decided_by : c->decided_by);
	add_string_or_null(&b, "rule", r->decided_by ? r->rule : c->rule);
	add_string_or_null(&b, "reason", r->reason);
	add_string_or_null(&b, "message", r->message);
	sbuf_add(&b, "}\n");
	char *s = http_reply(r->status, r->code, "application/json", b.s, line, len);
	sbuf_free(&b);
	return s;
}
