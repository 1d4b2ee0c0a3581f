/* The SOCKS5 handshake parser and reply encoder (src/net/socks5.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/socks5.h"
#include "probe_child.h"

static void test_greeting(void **state)
{
	(void)state;
	bool no_auth;
	const uint8_t ok[] = {5, 2, 2, 0};
	for (size_t n = 0; n < sizeof(ok); n++)
		assert_int_equal(socks5_parse_greeting(ok, n, &no_auth), 0);
	assert_int_equal(socks5_parse_greeting(ok, sizeof(ok), &no_auth), 4);
	assert_true(no_auth);
	const uint8_t user_pass_only[] = {5, 1, 2, 0xAA};
	assert_int_equal(socks5_parse_greeting(user_pass_only, 4, &no_auth), 3);
	assert_false(no_auth);
	const uint8_t socks4[] = {4, 1, 0, 80};
	assert_int_equal(socks5_parse_greeting(socks4, 4, &no_auth), -1);
	const uint8_t http[] = "GET / HTTP/1.1";
	assert_int_equal(socks5_parse_greeting(http, 14, &no_auth), -1);
	const uint8_t none[] = {5, 0};
	assert_int_equal(socks5_parse_greeting(none, 2, &no_auth), -1);
}

static void test_request_kinds(void **state)
{
	(void)state;
	struct socks5_request r;
	enum socks5_reply code;
	const uint8_t v4[] = {5, 1, 0, 1, 127, 0, 0, 1, 0x1F, 0x90};
	for (size_t n = 0; n < sizeof(v4); n++)
		assert_int_equal(socks5_parse_request(v4, n, &r, &code), 0);
	assert_int_equal(socks5_parse_request(v4, sizeof(v4), &r, &code), sizeof(v4));
	assert_string_equal(r.host, "127.0.0.1");
	assert_int_equal(r.port, 8080);

	uint8_t v6[22] = {5, 1, 0, 4};
	v6[4 + 15] = 1; /* ::1 */
	v6[20] = 0;
	v6[21] = 22;
	assert_int_equal(socks5_parse_request(v6, 21, &r, &code), 0);
	assert_int_equal(socks5_parse_request(v6, 22, &r, &code), 22);
	assert_string_equal(r.host, "::1");
	assert_int_equal(r.port, 22);

	const uint8_t dom[] = {5, 1, 0, 3, 11, 'E', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'M', 1, 0xBB};
	assert_int_equal(socks5_parse_request(dom, sizeof(dom) - 1, &r, &code), 0);
	assert_int_equal(socks5_parse_request(dom, sizeof(dom), &r, &code), sizeof(dom));
	assert_string_equal(r.host, "example.com");
	assert_int_equal(r.port, 443);

	/* A domain that is an IP literal is normalised like one. */
	const uint8_t lit[] = {5, 1, 0, 3, 5, '1', '2', '7', '.', '1', 0, 80};
	assert_int_equal(socks5_parse_request(lit, sizeof(lit), &r, &code), sizeof(lit));
	assert_string_equal(r.host, "127.0.0.1");
}

static void test_request_refused(void **state)
{
	(void)state;
	struct socks5_request r;
	enum socks5_reply code;
	const uint8_t bind[] = {5, 2, 0, 1, 127, 0, 0, 1, 0, 80};
	assert_int_equal(socks5_parse_request(bind, sizeof(bind), &r, &code), -1);
	assert_int_equal(code, SOCKS5_CMD_UNSUPPORTED);
	const uint8_t udp[] = {5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
	assert_int_equal(socks5_parse_request(udp, sizeof(udp), &r, &code), -1);
	assert_int_equal(code, SOCKS5_CMD_UNSUPPORTED);
	const uint8_t atyp[] = {5, 1, 0, 9, 1, 2, 3, 4, 0, 80};
	assert_int_equal(socks5_parse_request(atyp, sizeof(atyp), &r, &code), -1);
	assert_int_equal(code, SOCKS5_ATYP_UNSUPPORTED);
	const uint8_t rsv[] = {5, 1, 7, 1, 1, 2, 3, 4, 0, 80};
	assert_int_equal(socks5_parse_request(rsv, sizeof(rsv), &r, &code), -1);
	assert_int_equal(code, SOCKS5_GENERAL_FAILURE);
	const uint8_t port0[] = {5, 1, 0, 1, 1, 2, 3, 4, 0, 0};
	assert_int_equal(socks5_parse_request(port0, sizeof(port0), &r, &code), -1);
	const uint8_t badname[] = {5, 1, 0, 3, 3, 'a', '/', 'b', 0, 80};
	assert_int_equal(socks5_parse_request(badname, sizeof(badname), &r, &code), -1);
	assert_int_equal(code, SOCKS5_GENERAL_FAILURE);
	const uint8_t empty[] = {5, 1, 0, 3, 0, 0, 80};
	assert_int_equal(socks5_parse_request(empty, sizeof(empty), &r, &code), -1);
	const uint8_t nul[] = {5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80};
	assert_int_equal(socks5_parse_request(nul, sizeof(nul), &r, &code), -1);
	const uint8_t v4[] = {4, 1, 0, 80};
	assert_int_equal(socks5_parse_request(v4, 1, &r, &code), -1);
}

static void test_reply(void **state)
{
	(void)state;
	uint8_t out[32];
	size_t n = socks5_encode_reply(out, SOCKS5_NOT_ALLOWED, NULL, 0, 0);
	const uint8_t want[] = {5, 2, 0, 1, 0, 0, 0, 0, 0, 0};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, n);
	const uint8_t a4[4] = {10, 0, 0, 2};
	n = socks5_encode_reply(out, SOCKS5_OK, a4, 4, 0x1234);
	const uint8_t want4[] = {5, 0, 0, 1, 10, 0, 0, 2, 0x12, 0x34};
	assert_int_equal(n, sizeof(want4));
	assert_memory_equal(out, want4, n);
	uint8_t a6[16] = {0};
	a6[15] = 1;
	n = socks5_encode_reply(out, SOCKS5_OK, a6, 16, 80);
	assert_int_equal(n, 22);
	assert_int_equal(out[3], 4);
	assert_int_equal(out[19], 1);
	assert_int_equal(out[21], 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_request_kinds),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_reply),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
