/* common/sha256.c against the FIPS 180-4 example vectors (and the ones
 * NIST's examples page adds): the trust store's hash must be the real
 * SHA-256, byte for byte, whatever the block boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sha256.h"

static void check(const char *msg, const char *want)
{
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(msg, strlen(msg), hex);
	assert_string_equal(hex, want);
}

static void test_one_block(void **state)
{
	(void)state;
	check("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_empty(void **state)
{
	(void)state;
	check("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_two_blocks(void **state)
{
	(void)state;
	/* 448 bits: the padding needs a second block */
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a_in_odd_chunks(void **state)
{
	(void)state;
	/* updates that straddle block boundaries give the one-shot digest */
	static char a[1024]; /* every step below is at most 1003 bytes */
	memset(a, 'a', sizeof(a));
	struct sha256 s;
	sha256_init(&s);
	size_t done = 0, step = 1;
	while (done < 1000000) {
		size_t n = step > 1000000 - done ? 1000000 - done : step;
		sha256_update(&s, a, n);
		done += n;
		step = step % 997 + 7;
	}
	unsigned char d[SHA256_DIGEST_LEN];
	sha256_final(&s, d);
	static const unsigned char want[SHA256_DIGEST_LEN] = {
		0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2,
		0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e,
		0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0,
	};
	assert_memory_equal(d, want, sizeof(want));
}

static void test_lengths_around_padding(void **state)
{
	(void)state;
	/* 55, 56 and 64 bytes: one, two and two blocks of padding */
	char m[65];
	memset(m, 'a', sizeof(m));
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(m, 55, hex);
	assert_string_equal(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	sha256_hex(m, 56, hex);
	assert_string_equal(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	sha256_hex(m, 64, hex);
	assert_string_equal(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_block),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_two_blocks),
		cmocka_unit_test(test_million_a_in_odd_chunks),
		cmocka_unit_test(test_lengths_around_padding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
