#include "net/http_head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

ssize_t http_head_length(const char *buf, size_t len)
{
	size_t line_start = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		size_t content = i - line_start;
		if (content == 0 || (content == 1 && buf[i - 1] == '\r')) {
			if (i + 1 > HTTP_HEAD_MAX)
				return -1;
			return (ssize_t)(i + 1);
		}
		line_start = i + 1;
	}
	return len >= HTTP_HEAD_MAX ? -1 : 0;
}

static int fail(struct http_request *req, int status, const char *why)
{
	req->status = status;
	req->error = why;
	return -1;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool name_is(const struct http_header *h, const char *name)
{
	return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* host[:port] or [v6][:port], into a normalised host and a port.
 * `need_port`: CONNECT has no default port. */
static int parse_authority(const char *s, size_t n, bool need_port, unsigned def_port,
			   char host[DOMAIN_HOST_MAX], unsigned *port)
{
	const char *h = s, *p = NULL;
	size_t hn;
	/* !s: gcc's sanitizer build cannot see that no caller passes NULL. */
	if (!s || n == 0 || memchr(s, '@', n))
		return -1;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		h = s + 1;
		hn = (size_t)(close - h);
		size_t rest = n - (size_t)(close + 1 - s);
		if (rest > 0) {
			if (close[1] != ':')
				return -1;
			p = close + 2;
		}
	} else {
		const char *colon = memrchr(s, ':', n);
		hn = colon ? (size_t)(colon - s) : n;
		if (colon) {
			if (memchr(s, ':', hn))
				return -1; /* an IPv6 literal must be bracketed */
			p = colon + 1;
		}
	}
	if (hn == 0 || hn >= DOMAIN_HOST_MAX)
		return -1;
	*port = def_port;
	if (p) {
		size_t pn = n - (size_t)(p - s);
		if (pn == 0 && need_port)
			return -1;
		if (pn > 5)
			return -1;
		unsigned v = 0;
		for (size_t i = 0; i < pn; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			v = v * 10 + (unsigned)(p[i] - '0');
		}
		if (pn > 0) {
			if (v == 0 || v > 65535)
				return -1;
			*port = v;
		}
	} else if (need_port) {
		return -1;
	}
	char tmp[DOMAIN_HOST_MAX];
	memcpy(tmp, h, hn);
	tmp[hn] = '\0';
	return domain_normalize_host(tmp, host) < 0 ? -1 : 0;
}

static int parse_target(const char *t, size_t n, struct http_request *req)
{
	if (req->is_connect) {
		if (parse_authority(t, n, true, 0, req->host, &req->port) < 0)
			return fail(req, 400, "CONNECT needs host:port (an IPv6 address in brackets)");
		return 0;
	}
	static const char http[] = "http://", https[] = "https://";
	if (n >= sizeof(https) - 1 && strncasecmp(t, https, sizeof(https) - 1) == 0)
		return fail(req, 400, "https:// URLs go through CONNECT, not as plain proxy requests");
	if (n < sizeof(http) - 1 || strncasecmp(t, http, sizeof(http) - 1) != 0) {
		if (n > 0 && (t[0] == '/' || t[0] == '*'))
			return fail(req, 400, "origin-form request sent to a proxy: use an absolute http:// URL (is the proxy configured as a server?)");
		return fail(req, 400, "request target is not an http:// URL");
	}
	t += sizeof(http) - 1;
	n -= sizeof(http) - 1;
	size_t an = 0;
	while (an < n && t[an] != '/' && t[an] != '?' && t[an] != '#')
		an++;
	if (memchr(t, '#', n))
		return fail(req, 400, "a fragment (#) has no place in a request target");
	if (parse_authority(t, an, false, 80, req->host, &req->port) < 0)
		return fail(req, 400, "invalid host or port in the URL (credentials in URLs are not accepted)");
	req->target = t + an;
	req->target_len = n - an;
	return 0;
}

static int parse_request_line(const char *l, size_t n, struct http_request *req)
{
	const char *sp1 = memchr(l, ' ', n);
	if (!sp1)
		return fail(req, 400, "malformed request line (expected METHOD TARGET HTTP/1.x)");
	size_t mn = (size_t)(sp1 - l);
	if (!is_token(l, mn) || mn >= sizeof(req->method))
		return fail(req, 400, "malformed request method");
	const char *t = sp1 + 1;
	const char *sp2 = memchr(t, ' ', n - (size_t)(t - l));
	if (!sp2 || sp2 == t)
		return fail(req, 400, "malformed request line (expected METHOD TARGET HTTP/1.x)");
	const char *v = sp2 + 1;
	size_t vn = n - (size_t)(v - l);
	if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return fail(req, 400, "malformed HTTP version");
	if (v[5] != '1')
		return fail(req, 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
	req->version_minor = v[7] - '0';
	memcpy(req->method, l, mn);
	req->method[mn] = '\0';
	req->is_connect = strcmp(req->method, "CONNECT") == 0;
	size_t tn = (size_t)(sp2 - t);
	for (size_t i = 0; i < tn; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
			return fail(req, 400, "control character or space in the request target");
	return parse_target(t, tn, req);
}

static int parse_header(const char *l, size_t n, struct http_request *req)
{
	if (l[0] == ' ' || l[0] == '\t')
		return fail(req, 400, "obsolete header line folding is not accepted");
	const char *colon = memchr(l, ':', n);
	if (!colon || !is_token(l, (size_t)(colon - l)))
		return fail(req, 400, "malformed header line (expected Name: value)");
	if (req->n_headers == HTTP_HEADERS_MAX)
		return fail(req, 431, "too many header lines");
	const char *v = colon + 1, *end = l + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *c = v; c < end; c++)
		if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
			return fail(req, 400, "control character in a header value");
	req->headers[req->n_headers++] = (struct http_header){
		.name = l, .name_len = (size_t)(colon - l),
		.value = v, .value_len = (size_t)(end - v),
	};
	return 0;
}

/* The last comma-separated element of a header value, trimmed. */
static bool last_coding_is_chunked(const struct http_header *h)
{
	const char *s = h->value, *e = s + h->value_len;
	const char *c = memrchr(s, ',', h->value_len);
	if (c)
		s = c + 1;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return (size_t)(e - s) == 7 && strncasecmp(s, "chunked", 7) == 0;
}

/* Framing and Host checks. One request goes upstream per connection, but
 * the client's body bytes are relayed untouched, so a head whose body
 * length two parties could read differently (request smuggling) is
 * refused rather than repaired. */
static int check_headers(struct http_request *req)
{
	const struct http_header *cl = NULL, *te = NULL;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (name_is(h, "content-length")) {
			if (cl && (cl->value_len != h->value_len ||
				   memcmp(cl->value, h->value, h->value_len) != 0))
				return fail(req, 400, "conflicting Content-Length headers");
			if (h->value_len == 0 || h->value_len > 18)
				return fail(req, 400, "invalid Content-Length");
			for (size_t k = 0; k < h->value_len; k++)
				if (h->value[k] < '0' || h->value[k] > '9')
					return fail(req, 400, "invalid Content-Length");
			cl = h;
		} else if (name_is(h, "transfer-encoding")) {
			if (te)
				return fail(req, 400, "more than one Transfer-Encoding header");
			te = h;
		} else if (name_is(h, "host")) {
			if (req->has_host_header)
				return fail(req, 400, "more than one Host header");
			req->has_host_header = true;
			if (req->is_connect)
				continue;
			char host[DOMAIN_HOST_MAX];
			unsigned port;
			if (parse_authority(h->value, h->value_len, false, 80, host, &port) < 0)
				return fail(req, 400, "invalid Host header");
			if (strcmp(host, req->host) != 0 || port != req->port)
				return fail(req, 400, "the Host header names another host than the URL");
		}
	}
	if (te && cl)
		return fail(req, 400, "both Transfer-Encoding and Content-Length given");
	if (te && req->version_minor == 0)
		return fail(req, 400, "Transfer-Encoding in an HTTP/1.0 request");
	if (te && !last_coding_is_chunked(te))
		return fail(req, 501, "a request body must end with the chunked transfer coding");
	if (te) {
		req->body = HTTP_BODY_CHUNKED;
	} else if (cl) {
		req->body = HTTP_BODY_LENGTH;
		for (size_t k = 0; k < cl->value_len; k++)
			req->content_length = req->content_length * 10 + (uint64_t)(cl->value[k] - '0');
	}
	return 0;
}

int http_head_parse(const char *buf, size_t len, struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	if (len > HTTP_HEAD_MAX)
		return fail(req, 431, "request head larger than 64 KiB");
	if (memchr(buf, '\0', len))
		return fail(req, 400, "NUL byte in the request head");
	size_t pos = 0;
	bool first = true;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		if (!nl)
			return fail(req, 400, "request head does not end with an empty line");
		size_t n = (size_t)(nl - (buf + pos));
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		const char *l = buf + pos;
		pos = (size_t)(nl - buf) + 1;
		if (memchr(l, '\r', n))
			return fail(req, 400, "stray carriage return in the request head");
		if (n == 0) {
			if (first)
				return fail(req, 400, "empty request line");
			return pos == len ? check_headers(req)
					  : fail(req, 400, "data after the end of the head");
		}
		if (n > HTTP_LINE_MAX)
			return fail(req, first ? 414 : 431,
				    first ? "request line longer than 16 KiB"
					  : "header line longer than 16 KiB");
		if (first ? parse_request_line(l, n, req) < 0 : parse_header(l, n, req) < 0)
			return -1;
		first = false;
	}
	return fail(req, 400, "request head does not end with an empty line");
}

/* Whether the comma-separated list in h names `name` (n bytes). */
static bool list_has(const struct http_header *h, const char *name, size_t n)
{
	const char *s = h->value, *e = s + h->value_len;
	while (s < e) {
		while (s < e && (*s == ' ' || *s == '\t' || *s == ','))
			s++;
		const char *t = s;
		while (t < e && *t != ',' && *t != ' ' && *t != '\t')
			t++;
		if ((size_t)(t - s) == n && strncasecmp(s, name, n) == 0)
			return true;
		s = t;
	}
	return false;
}

bool http_header_is_hop_by_hop(const struct http_request *req, const struct http_header *h)
{
	/* Transfer-Encoding is hop-by-hop in principle, but the body is
	 * relayed byte for byte, so its framing must reach the server as the
	 * client wrote it. Neither it, Content-Length nor Host can be removed
	 * by naming them in Connection (that would change how the server
	 * reads the body). */
	static const char *const fixed[] = {
		"connection", "proxy-connection", "keep-alive", "proxy-authorization",
		"proxy-authenticate", "te", "trailer", "upgrade", NULL,
	};
	for (size_t i = 0; fixed[i]; i++)
		if (name_is(h, fixed[i]))
			return true;
	if (name_is(h, "transfer-encoding") || name_is(h, "content-length") || name_is(h, "host"))
		return false;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *c = &req->headers[i];
		if ((name_is(c, "connection") || name_is(c, "proxy-connection")) &&
		    list_has(c, h->name, h->name_len))
			return true;
	}
	return false;
}

char *http_head_forward(const struct http_request *req, size_t *len)
{
	sbuf b = {0};
	sbuf_addf(&b, "%s ", req->method);
	if (req->target_len == 0 || req->target[0] != '/')
		sbuf_add(&b, "/");
	sbuf_addn(&b, req->target, req->target_len);
	sbuf_addf(&b, " HTTP/1.%d\r\n", req->version_minor);
	if (!req->has_host_header) {
		bool v6 = strchr(req->host, ':') != NULL;
		sbuf_addf(&b, "Host: %s%s%s", v6 ? "[" : "", req->host, v6 ? "]" : "");
		if (req->port != 80)
			sbuf_addf(&b, ":%u", req->port);
		sbuf_add(&b, "\r\n");
	}
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (http_header_is_hop_by_hop(req, h))
			continue;
		sbuf_addn(&b, h->name, h->name_len);
		sbuf_add(&b, ": ");
		sbuf_addn(&b, h->value, h->value_len);
		sbuf_add(&b, "\r\n");
	}
	/* One request per upstream connection: after this head the proxy
	 * only relays bytes both ways and never has to find where a response
	 * ends, which keeps the relay a zero-copy pipe. Clients open a new
	 * connection for their next request. */
	sbuf_add(&b, "Connection: close\r\n\r\n");
	*len = b.len;
	return b.s;
}
