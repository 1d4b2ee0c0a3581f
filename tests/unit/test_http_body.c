/* Where a request body ends (src/net/http_body.c), and the framing the
 * head parser reports for it (src/net/http_head.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/http_body.h"
#include "net/http_head.h"
#include "probe_child.h"

/* How many bytes of `s` (with what follows: a pipelined request) belong
 * to a chunked body, fed whole and fed one byte at a time: the two must
 * agree, since the proxy sees the bytes in whatever pieces TCP brings. */
static size_t chunked_len(const char *s, bool *done, bool *bad)
{
	struct http_body whole, bytewise;
	http_body_init(&whole, HTTP_BODY_CHUNKED, 0);
	http_body_init(&bytewise, HTTP_BODY_CHUNKED, 0);
	size_t n = strlen(s);
	size_t a = http_body_feed(&whole, s, n);
	size_t b = 0;
	for (size_t i = 0; i < n; i++)
		b += http_body_feed(&bytewise, s + i, 1);
	assert_int_equal(a, b);
	assert_int_equal(whole.done, bytewise.done);
	assert_int_equal(whole.bad, bytewise.bad);
	*done = whole.done;
	*bad = whole.bad;
	return a;
}

static void test_chunked_ends_at_the_last_chunk(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"0\r\n\r\n",
		"5\r\nhello\r\n0\r\n\r\n",
		"5;name=v\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n",
		"3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n",
		"1\r\n\r\r\n0;e\r\n\r\n", /* data bytes are data, even CR */
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%sGET http://evil.test/ HTTP/1.1\r\n\r\n", bodies[i]);
		bool done, bad;
		assert_int_equal(chunked_len(buf, &done, &bad), strlen(bodies[i]));
		assert_true(done);
		assert_false(bad);
	}
}

/* What an upstream could read differently is refused at the first byte
 * that does not fit; the bytes before it belong to the body. */
static void test_chunked_refuses_what_is_ambiguous(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t good;
	} cases[] = {
		{"5 \r\nhello\r\n0\r\n\r\n", 1},     /* space after the size */
		{"5\nhello\r\n0\r\n\r\n", 1},        /* bare LF */
		{"\r\n", 0},                         /* no size */
		{"-5\r\n", 0},
		{"0x5\r\n", 1},
		{"5\r\nhelloXX0\r\n\r\n", 8},        /* no CRLF after the data */
		{"1000000000000000\r\n", 15},        /* over 15 hex digits */
		{"0\r\nX: 1\n\r\n", 7},              /* bare LF in a trailer */
		{"0\r\n\n", 3},                      /* bare LF ending it */
		{"1;a\nb\r\n", 3},                   /* LF inside an extension */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool done, bad;
		size_t n = chunked_len(cases[i].s, &done, &bad);
		if (n != cases[i].good || !bad || done)
			fail_msg("case %zu (%s): %zu bytes, bad %d, done %d; want %zu, bad", i,
				 cases[i].s, n, bad, done, cases[i].good);
	}
}

/* Incomplete is neither done nor bad; data of known length is blind. */
static void test_chunked_blind_data(void **state)
{
	(void)state;
	struct http_body b;
	http_body_init(&b, HTTP_BODY_CHUNKED, 0);
	assert_int_equal(http_body_blind(&b), 0); /* a size line: must be seen */
	assert_int_equal(http_body_feed(&b, "10\r\n", 4), 4);
	assert_int_equal(http_body_blind(&b), 16);
	http_body_skip(&b, 10);
	assert_int_equal(http_body_blind(&b), 6);
	http_body_skip(&b, 6);
	assert_int_equal(http_body_blind(&b), 0);
	assert_int_equal(http_body_feed(&b, "\r\n0\r\n\r\nGET", 10), 7);
	assert_true(b.done);
	assert_int_equal(http_body_blind(&b), 0);
}

static void test_length_and_none(void **state)
{
	(void)state;
	struct http_body b;
	http_body_init(&b, HTTP_BODY_LENGTH, 5);
	assert_false(b.done);
	assert_int_equal(http_body_blind(&b), 5);
	assert_int_equal(http_body_feed(&b, "abc", 3), 3);
	assert_int_equal(http_body_feed(&b, "deGET /", 7), 2);
	assert_true(b.done);
	assert_int_equal(http_body_feed(&b, "x", 1), 0);
	http_body_init(&b, HTTP_BODY_LENGTH, 0);
	assert_true(b.done);
	http_body_init(&b, HTTP_BODY_NONE, 0);
	assert_true(b.done);
	assert_int_equal(http_body_feed(&b, "GET", 3), 0);
}

static void head_body(const char *head, enum http_body_kind kind, uint64_t length)
{
	struct http_request req;
	assert_int_equal(http_head_parse(head, strlen(head), &req), 0);
	assert_int_equal(req.body, kind);
	assert_int_equal(req.content_length, length);
}

static void test_head_reports_framing(void **state)
{
	(void)state;
	head_body("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", HTTP_BODY_NONE, 0);
	head_body("POST http://a.test/ HTTP/1.1\r\nContent-Length: 123456789012\r\n\r\n",
		  HTTP_BODY_LENGTH, 123456789012ULL);
	head_body("POST http://a.test/ HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
		  HTTP_BODY_LENGTH, 7);
	head_body("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		  HTTP_BODY_CHUNKED, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked_ends_at_the_last_chunk),
		cmocka_unit_test(test_chunked_refuses_what_is_ambiguous),
		cmocka_unit_test(test_chunked_blind_data),
		cmocka_unit_test(test_length_and_none),
		cmocka_unit_test(test_head_reports_framing),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
