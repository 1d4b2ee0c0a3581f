/* The head of an HTTP/1.x request sent to a proxy: request line and
 * headers, parsed without any I/O so the same code runs under the fuzzer.
 *
 * A proxy sees two request forms: absolute-form (`GET http://host/path
 * HTTP/1.1`) for plain HTTP, and authority-form (`CONNECT host:443
 * HTTP/1.1`) for tunnels. Origin-form (`GET /path`) is what a server sees,
 * not a proxy, and is refused with a hint. */
#ifndef AB_NET_HTTP_HEAD_H
#define AB_NET_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "net/http_body.h"
#include "policy/domain.h"

/* Limits. 64 KiB of head is what common servers accept (nginx's
 * large_client_header_buffers is 4 x 8 KiB, Apache's LimitRequestFieldSize
 * 8 KiB per line); more is a broken or hostile client. */
#define HTTP_HEAD_MAX (64 * 1024)
#define HTTP_LINE_MAX (16 * 1024)
#define HTTP_HEADERS_MAX 128

struct http_header {
	const char *name, *value; /* point into the parsed buffer */
	size_t name_len, value_len;
};

struct http_request {
	char method[24];
	bool is_connect;
	int version_minor;              /* HTTP/1.<minor> */
	char host[DOMAIN_HOST_MAX];     /* normalised (domain_normalize_host) */
	unsigned port;
	const char *target;             /* absolute-form: path and query, "/" if empty */
	size_t target_len;
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t n_headers;
	bool has_host_header;
	/* the body's framing: none, Content-Length bytes, or chunked */
	enum http_body_kind body;
	uint64_t content_length;
	/* Filled on failure: the HTTP status to answer and why. */
	int status;
	const char *error;
};

/* Length of the head in buf (through the empty line that ends it), 0 if it
 * is not complete yet, -1 if it can no longer fit in HTTP_HEAD_MAX. Accepts
 * CRLF and bare LF line ends. */
ssize_t http_head_length(const char *buf, size_t len);

/* Parses a complete head (len from http_head_length). Returns 0, or -1
 * with req->status (400, 414, 431, 501, 505) and req->error set. The
 * request keeps pointers into buf. */
int http_head_parse(const char *buf, size_t len, struct http_request *req);

/* Whether a header is hop-by-hop, i.e. not forwarded: the fixed list plus
 * every name the request's Connection headers list. */
bool http_header_is_hop_by_hop(const struct http_request *req, const struct http_header *h);

/* The head to send upstream for an absolute-form request: origin-form
 * request line, the end-to-end headers, a Host header, and
 * `Connection: close`. Returns a malloc'd string, its length in *len. */
char *http_head_forward(const struct http_request *req, size_t *len);

#endif
