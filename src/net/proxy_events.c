/* What the proxy reports: `network` events on --events-fd and the replies
 * a refused client gets. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "net/proxy_int.h"

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

void emit_refusal(struct conn *c, const struct refusal *r)
{
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

static char *http_reply(int status, const char *code, const char *type, const char *body,
			size_t *len)
{
	char *s = xasprintf("HTTP/1.1 %d %s\r\n"
			    "Content-Type: %s\r\n"
			    "x-agentbox-error: %s\r\n"
			    "Content-Length: %zu\r\n"
			    "Connection: close\r\n\r\n%s",
			    status, status_text(status), type, code, strlen(body), body);
	*len = strlen(s);
	return s;
}

char *http_error_reply(int status, const char *code, const char *text, size_t *len)
{
	_cleanup_free_ char *body = xasprintf("agentbox proxy: %s\n", text);
	return http_reply(status, code, "text/plain; charset=utf-8", body, len);
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
	if (c->proto == PROTO_CONNECT) {
		_cleanup_free_ char *line = xasprintf("%s:%u: %s", c->host, c->port, r->reason);
		return http_error_reply(r->status, r->code, line, len);
	}
	sbuf b = {0};
	sbuf_add(&b, r->status == 403 ? "{\"status\":\"blocked\"" : "{\"status\":\"error\"");
	add_destination(&b, c);
	sbuf_addf(&b, ",\"decision\":\"%s\"", r->decided_by ? "deny" : "allow");
	/* A failure after an allow names what allowed it. */
	add_string_or_null(&b, "decided_by", r->decided_by ? r->decided_by : c->decided_by);
	add_string_or_null(&b, "rule", r->decided_by ? r->rule : c->rule);
	add_string_or_null(&b, "reason", r->reason);
	add_string_or_null(&b, "message", r->message);
	sbuf_add(&b, "}\n");
	char *s = http_reply(r->status, r->code, "application/json", b.s, len);
	sbuf_free(&b);
	return s;
}
