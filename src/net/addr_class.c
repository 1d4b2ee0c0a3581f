#include "net/addr_class.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct v4_range {
	uint32_t net, mask;
	const char *class;
};

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define MASK(bits) ((uint32_t)(0xffffffffULL << (32 - (bits))))

/* IANA special-purpose registry (RFC 6890 and successors), the entries
 * that are not globally reachable. */
static const struct v4_range v4_ranges[] = {
	{V4(0, 0, 0, 0), MASK(8), "unspecified"},
	{V4(10, 0, 0, 0), MASK(8), "private"},
	{V4(100, 64, 0, 0), MASK(10), "cgnat"},
	{V4(127, 0, 0, 0), MASK(8), "loopback"},
	{V4(169, 254, 0, 0), MASK(16), "link-local"},
	{V4(172, 16, 0, 0), MASK(12), "private"},
	{V4(192, 0, 0, 0), MASK(24), "protocol-assignment"},
	{V4(192, 0, 2, 0), MASK(24), "documentation"},
	{V4(192, 88, 99, 0), MASK(24), "reserved"},
	{V4(192, 168, 0, 0), MASK(16), "private"},
	{V4(198, 18, 0, 0), MASK(15), "benchmarking"},
	{V4(198, 51, 100, 0), MASK(24), "documentation"},
	{V4(203, 0, 113, 0), MASK(24), "documentation"},
	{V4(224, 0, 0, 0), MASK(4), "multicast"},
	{V4(240, 0, 0, 0), MASK(4), "reserved"}, /* includes 255.255.255.255 */
};

const char *addr_non_public_v4(const struct in_addr *a)
{
	uint32_t h = ntohl(a->s_addr);
	for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++)
		if ((h & v4_ranges[i].mask) == v4_ranges[i].net)
			return v4_ranges[i].class;
	return NULL;
}

static bool v6_prefix(const struct in6_addr *a, const uint8_t *prefix, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a->s6_addr, prefix, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a->s6_addr[whole] & m) == (prefix[whole] & m);
}

static const char *embedded_v4(const struct in6_addr *a, unsigned offset)
{
	struct in_addr v4;
	memcpy(&v4.s_addr, a->s6_addr + offset, 4);
	return addr_non_public_v4(&v4);
}

const char *addr_non_public_v6(const struct in6_addr *a)
{
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	static const uint8_t sixto4[2] = {0x20, 0x02};
	static const uint8_t teredo[4] = {0x20, 0x01, 0x00, 0x00};
	static const uint8_t doc[4] = {0x20, 0x01, 0x0d, 0xb8};
	static const uint8_t bench[6] = {0x20, 0x01, 0x00, 0x02, 0x00, 0x00};
	static const uint8_t orchid[4] = {0x20, 0x01, 0x00, 0x10};
	static const uint8_t ula[1] = {0xfc};
	static const uint8_t linklocal[2] = {0xfe, 0x80};
	static const uint8_t sitelocal[2] = {0xfe, 0xc0};
	static const uint8_t mcast[1] = {0xff};
	static const uint8_t discard[8] = {0x01, 0x00};

	if (memcmp(a->s6_addr, zero, 16) == 0)
		return "unspecified";
	if (memcmp(a->s6_addr, zero, 15) == 0 && a->s6_addr[15] == 1)
		return "loopback";
	if (v6_prefix(a, mapped, 96))
		return embedded_v4(a, 12);
	if (v6_prefix(a, nat64, 96))
		return embedded_v4(a, 12);
	if (v6_prefix(a, zero, 96))
		return "reserved"; /* deprecated IPv4-compatible addresses */
	if (v6_prefix(a, sixto4, 16))
		return embedded_v4(a, 2);
	if (v6_prefix(a, teredo, 32))
		return "teredo";
	if (v6_prefix(a, doc, 32))
		return "documentation";
	if (v6_prefix(a, bench, 48))
		return "benchmarking";
	if (v6_prefix(a, orchid, 28))
		return "reserved";
	if (v6_prefix(a, discard, 64))
		return "discard";
	if (v6_prefix(a, ula, 7))
		return "private";
	if (v6_prefix(a, linklocal, 10))
		return "link-local";
	if (v6_prefix(a, sitelocal, 10))
		return "site-local";
	if (v6_prefix(a, mcast, 8))
		return "multicast";
	return NULL;
}

const char *addr_non_public_class(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return addr_non_public_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return addr_non_public_v6(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return "not-ip";
}
