/* libFuzzer target: the proxy's request head parser, the forwarded head
 * built from what it accepts, the body reader on the bytes after the head
 * (fed whole and byte by byte, which must agree), and the SOCKS5 parsers
 * on the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_head.h"
#include "net/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request req;
	const char *buf = (const char *)data;
	ssize_t n = http_head_length(buf, size);
	if (n > 0 && http_head_parse(buf, (size_t)n, &req) == 0) {
		if (!req.is_connect) {
			size_t len;
			char *fwd = http_head_forward(&req, &len);
			/* What goes upstream must itself be a complete head. */
			if (http_head_length(fwd, len) != (ssize_t)len)
				abort();
			free(fwd);
		}
		if (req.port == 0 || req.port > 65535 || !req.host[0])
			abort();
		struct http_body whole, bytewise;
		http_body_init(&whole, HTTP_BODY_CHUNKED, 0);
		http_body_init(&bytewise, HTTP_BODY_CHUNKED, 0);
		size_t rest = size - (size_t)n, a = http_body_feed(&whole, buf + n, rest), b = 0;
		for (size_t i = 0; i < rest; i++)
			b += http_body_feed(&bytewise, buf + n + i, 1);
		if (a != b || a > rest || whole.done != bytewise.done || whole.bad != bytewise.bad)
			abort();
	}
	bool no_auth;
	ssize_t g = socks5_parse_greeting(data, size, &no_auth);
	if (g > (ssize_t)size)
		abort();
	struct socks5_request sr;
	enum socks5_reply code;
	ssize_t r = socks5_parse_request(data, size, &sr, &code);
	if (r > (ssize_t)size || (r > 0 && (sr.port == 0 || !sr.host[0])))
		abort();
	return 0;
}
