/* The proxy's request head parser (src/net/http_head.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"

#include "net/http_head.h"
#include "probe_child.h"

static struct http_request req;

static int parse(const char *s)
{
	ssize_t n = http_head_length(s, strlen(s));
	if (n <= 0)
		fail_msg("head of \"%s\" not complete (%zd)", s, n);
	return http_head_parse(s, (size_t)n, &req);
}

static void assert_status(const char *s, int status, const char *why)
{
	if (parse(s) == 0)
		fail_msg("\"%s\" accepted", s);
	assert_int_equal(req.status, status);
	if (!strstr(req.error, why))
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", s, req.error, why);
}

static char *forward(const char *s)
{
	assert_int_equal(parse(s), 0);
	size_t len;
	char *out = http_head_forward(&req, &len);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_length(void **state)
{
	(void)state;
	assert_int_equal(http_head_length("GET http://a/ HTTP/1.1\r\nHost: a\r\n", 33), 0);
	const char *crlf = "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\nBODY";
	assert_int_equal(http_head_length(crlf, strlen(crlf)), strlen(crlf) - 4);
	const char *lf = "GET http://a/ HTTP/1.1\nHost: a\n\nX";
	assert_int_equal(http_head_length(lf, strlen(lf)), strlen(lf) - 1);
	/* A partial head at the limit can no longer complete. */
	char *big = malloc(HTTP_HEAD_MAX);
	memset(big, 'a', HTTP_HEAD_MAX);
	assert_int_equal(http_head_length(big, HTTP_HEAD_MAX), -1);
	assert_int_equal(http_head_length(big, HTTP_HEAD_MAX - 1), 0);
	free(big);
}

static void test_absolute_form(void **state)
{
	(void)state;
	assert_int_equal(parse("GET http://Example.COM./a/b?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"), 0);
	assert_string_equal(req.method, "GET");
	assert_false(req.is_connect);
	assert_string_equal(req.host, "example.com");
	assert_int_equal(req.port, 80);
	assert_int_equal(req.target_len, strlen("/a/b?q=1"));
	assert_memory_equal(req.target, "/a/b?q=1", req.target_len);
	assert_int_equal(req.n_headers, 2);
	assert_int_equal(req.version_minor, 1);

	assert_int_equal(parse("POST http://[2001:DB8::1]:8080 HTTP/1.0\n\n"), 0);
	assert_string_equal(req.host, "2001:db8::1");
	assert_int_equal(req.port, 8080);
	assert_int_equal(req.target_len, 0);
	assert_int_equal(req.version_minor, 0);

	assert_int_equal(parse("GET HTTP://127.1:81?x HTTP/1.1\r\n\r\n"), 0);
	assert_string_equal(req.host, "127.0.0.1");
	assert_int_equal(req.port, 81);
}

static void test_connect(void **state)
{
	(void)state;
	assert_int_equal(parse("CONNECT github.com:443 HTTP/1.1\r\nHost: github.com:443\r\n\r\n"), 0);
	assert_true(req.is_connect);
	assert_string_equal(req.host, "github.com");
	assert_int_equal(req.port, 443);
	assert_int_equal(parse("CONNECT [::1]:22 HTTP/1.1\r\n\r\n"), 0);
	assert_string_equal(req.host, "::1");
	assert_int_equal(req.port, 22);
	assert_status("CONNECT github.com HTTP/1.1\r\n\r\n", 400, "host:port");
	assert_status("CONNECT github.com: HTTP/1.1\r\n\r\n", 400, "host:port");
	assert_status("CONNECT ::1:22 HTTP/1.1\r\n\r\n", 400, "IPv6");
	assert_status("CONNECT a.com:0 HTTP/1.1\r\n\r\n", 400, "host:port");
	assert_status("CONNECT a.com:65536 HTTP/1.1\r\n\r\n", 400, "host:port");
	assert_status("CONNECT http://a.com:80 HTTP/1.1\r\n\r\n", 400, "host:port");
}

static void test_malformed(void **state)
{
	(void)state;
	assert_status("\r\n\r\n", 400, "empty request line");
	assert_status("GARBAGE\r\n\r\n", 400, "malformed request line");
	assert_status("GET  http://a/ HTTP/1.1\r\n\r\n", 400, "malformed request line");
	assert_status("G(T http://a/ HTTP/1.1\r\n\r\n", 400, "method");
	assert_status("GET http://a/ HTTP/1.1 extra\r\n\r\n", 400, "version");
	assert_status("GET http://a/ HTTP/2.0\r\n\r\n", 505, "HTTP/1.0");
	assert_status("GET http://a/ FTP/1.1\r\n\r\n", 400, "version");
	assert_status("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400, "origin-form");
	assert_status("GET https://a/ HTTP/1.1\r\n\r\n", 400, "CONNECT");
	assert_status("GET ftp://a/ HTTP/1.1\r\n\r\n", 400, "http://");
	assert_status("GET http://user:pw@a/ HTTP/1.1\r\n\r\n", 400, "credentials");
	assert_status("GET http://a/#frag HTTP/1.1\r\n\r\n", 400, "fragment");
	assert_status("GET http:///x HTTP/1.1\r\n\r\n", 400, "host");
	assert_status("GET http://bad_host!/ HTTP/1.1\r\n\r\n", 400, "host");
	assert_status("GET http://a/ HTTP/1.1\r\nNo colon here\r\n\r\n", 400, "header line");
	assert_status("GET http://a/ HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "header line");
	assert_status("GET http://a/ HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n", 400, "folding");
	assert_status("GET http://a/ HTTP/1.1\r\nA: b\rc\r\n\r\n", 400, "carriage return");
	assert_status("GET http://a/ HTTP/1.1\r\nA: b\x01\r\n\r\n", 400, "control character");
}

static void test_nul(void **state)
{
	(void)state;
	static const char h[] = "GET http://a/ HTTP/1.1\r\nA: b\0c\r\n\r\n";
	size_t n = sizeof(h) - 1;
	assert_int_equal(http_head_length(h, n), (ssize_t)n);
	assert_int_equal(http_head_parse(h, n, &req), -1);
	assert_int_equal(req.status, 400);
	assert_non_null(strstr(req.error, "NUL"));
}

static void test_limits(void **state)
{
	(void)state;
	size_t n = HTTP_LINE_MAX + 100;
	static const char line_start[] = "GET http://a/";
	static const char header_start[] = "GET http://a/ HTTP/1.1\r\nX: ";
	sbuf b = {0};
	char *xs = xmalloc(n + 1);
	memset(xs, 'x', n);
	xs[n] = '\0';
	sbuf_add(&b, line_start);
	sbuf_add(&b, xs);
	sbuf_add(&b, " HTTP/1.1\r\n\r\n");
	assert_status(b.s, 414, "request line");
	sbuf_free(&b);
	sbuf_add(&b, header_start);
	sbuf_add(&b, xs);
	sbuf_add(&b, "\r\n\r\n");
	assert_status(b.s, 431, "header line");
	sbuf_free(&b);
	free(xs);

	char many[HTTP_HEADERS_MAX * 8 + 200];
	int k = sprintf(many, "GET http://a/ HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		k += sprintf(many + k, "A%d: b\r\n", i % 10);
	strcpy(many + k, "\r\n");
	assert_status(many, 431, "too many");
}

static void test_host_header(void **state)
{
	(void)state;
	assert_int_equal(parse("GET http://a.com:8080/ HTTP/1.1\r\nHost: A.com:8080\r\n\r\n"), 0);
	assert_int_equal(parse("GET http://a.com/ HTTP/1.1\r\nHost: a.com:80\r\n\r\n"), 0);
	assert_status("GET http://a.com/ HTTP/1.1\r\nHost: b.com\r\n\r\n", 400, "another host");
	assert_status("GET http://a.com/ HTTP/1.1\r\nHost: a.com:81\r\n\r\n", 400, "another host");
	assert_status("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nHost: a.com\r\n\r\n", 400, "more than one Host");
	assert_status("GET http://a.com/ HTTP/1.1\r\nHost: a.com:x\r\n\r\n", 400, "invalid Host");
}

static void test_framing(void **state)
{
	(void)state;
	assert_int_equal(parse("POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 0);
	assert_status("POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "conflicting");
	assert_status("POST http://a/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length");
	assert_status("POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both");
	assert_status("POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "chunked");
	assert_status("POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0");
	assert_int_equal(parse("POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"), 0);
}

static void test_forward(void **state)
{
	(void)state;
	char *f = forward("GET http://a.com/x?y HTTP/1.1\r\n"
			  "Host: a.com\r\n"
			  "Proxy-Connection: keep-alive\r\n"
			  "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
			  "Connection: keep-alive, X-Secret, Content-Length\r\n"
			  "Keep-Alive: timeout=5\r\n"
			  "X-Secret: 1\r\n"
			  "TE: trailers\r\n"
			  "Upgrade: websocket\r\n"
			  "Trailer: X\r\n"
			  "Content-Length: 3\r\n"
			  "X-Forwarded-For: 10.0.0.1\r\n"
			  "Accept: */*\r\n\r\n");
	assert_string_equal(f, "GET /x?y HTTP/1.1\r\n"
			       "Host: a.com\r\n"
			       "Content-Length: 3\r\n"
			       "X-Forwarded-For: 10.0.0.1\r\n"
			       "Accept: */*\r\n"
			       "Connection: close\r\n\r\n");
	free(f);

	/* No Host header: one is made from the URL; empty path becomes "/". */
	f = forward("HEAD http://[::1]:8080?q HTTP/1.0\r\n\r\n");
	assert_string_equal(f, "HEAD /?q HTTP/1.0\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n");
	free(f);
	f = forward("POST http://a.com HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_string_equal(f, "POST / HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_host_header),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_forward),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
