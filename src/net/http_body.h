/* Where a plain-HTTP request's body ends, so that the proxy relays that
 * one request and nothing after it. A client may pipeline a second request
 * behind the first on the same connection; relayed unparsed it would reach
 * the first request's upstream whatever its Host (#12). The proxy forwards
 * the head with `Connection: close`, relays exactly the body the head
 * announced (none, Content-Length bytes, or chunks through the last chunk
 * and its trailers), reads nothing more from the client, and ends the
 * connection after the response: a pipelining client then sends the rest
 * again on a new connection, where each request is judged on its own.
 *
 * The chunked reader is strict (CRLF line ends, hex sizes without
 * whitespace): the bytes are relayed untouched, so a body the proxy could
 * read differently from the upstream is refused, not guessed at. Pure
 * code, no I/O: the same code runs under the fuzzer and the unit tests. */
#ifndef AB_NET_HTTP_BODY_H
#define AB_NET_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_body_kind { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };

struct http_body {
	enum http_body_kind kind;
	uint64_t left;  /* LENGTH: bytes to go; CHUNKED: of the current chunk */
	int state;      /* CHUNKED: where in the chunk syntax */
	unsigned digits; /* CHUNKED: hex digits of the size so far */
	bool done;      /* the whole body has been fed */
	bool bad;       /* CHUNKED: a syntax error; nothing more belongs to it */
};

/* A body of the kind; `length` for HTTP_BODY_LENGTH. */
void http_body_init(struct http_body *b, enum http_body_kind kind, uint64_t length);

/* Feeds bytes that follow what was fed before; returns how many of the n
 * belong to the body (all, or fewer once it is done or bad). */
size_t http_body_feed(struct http_body *b, const char *p, size_t n);

/* The most bytes that may be read next without looking at them: what
 * remains of a Content-Length body or of the current chunk's data; 0 when
 * the bytes must be seen (a chunk's size line, the trailers) or the body
 * is over. */
uint64_t http_body_blind(const struct http_body *b);

/* Accounts for n bytes read blind (n <= http_body_blind). */
void http_body_skip(struct http_body *b, size_t n);

#endif
