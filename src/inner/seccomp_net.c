/* The seccomp rules that depend on the network mode (--net none, proxy,
 * full): which socket families and unix socket types the command may
 * create, and with no network which socket calls it may make. Every rule
 * returns EPERM. */
#include <stdint.h>
#include <sys/socket.h>

#include "agentbox.h"
#include "inner/seccomp_rule.h"

/* With no network every socket call except plain AF_UNIX use is refused;
 * socket() itself is handled separately (add_socket_rules). */
static const char *const net_denied[] = {
	"connect",
	"bind",
	"listen",
	"accept",
	"accept4",
	"sendto",
	"sendmmsg",
	"recvmmsg",
	"getsockopt",
	"setsockopt",
	"getpeername",
	"getsockname",
	"shutdown",
};

/* socket() is refused unless the domain (low 32 bits: the kernel reads an
 * int) is one of `allowed`, and libseccomp has no masked not-equal. The
 * allowed values must differ from the first one only in `free_bits`; the
 * domain is then allowed exactly when every other bit equals the first
 * value's, so one masked-equal rule per other bit, matching that bit's
 * opposite value, refuses everything else (the rules are ORed).
 *   --net none:  AF_UNIX only.
 *   --net proxy: AF_INET and AF_INET6 only (2 and 10 differ in bit 3).
 *     No new AF_UNIX socket can reach a host socket such as a container
 *     runtime's through the filesystem (connecting needs no write access
 *     to a read-only mount), and netlink, packet and the rest stay shut;
 *     IP sockets live in the sandbox's own network namespace, where only
 *     loopback and the proxy's listeners exist.
 * socketpair() (`call`) gets the same treatment with AF_UNIX under both
 * modes, then add_unix_type_rules keeps its ends connection-oriented. */
static int add_socket_rules(scmp_filter_ctx ctx, const char *call, uint32_t first,
			    uint32_t free_bits, ab_error *err)
{
	for (unsigned int bit = 0; bit < 32; bit++) {
		uint32_t mask = 1U << bit;
		if (free_bits & mask)
			continue;
		const struct scmp_arg_cmp cmp =
			SCMP_A0_64(SCMP_CMP_MASKED_EQ, mask, (first & mask) ^ mask);
		int r = seccomp_deny(ctx, call, 0, 1, &cmp, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Unix sockets of the connection-oriented types only: SOCK_STREAM (1) and
 * SOCK_SEQPACKET (5), the two values whose low four bits (the type; the
 * kernel masks SOCK_NONBLOCK and SOCK_CLOEXEC off above them) have bit 0
 * set and bits 1 and 3 clear. A datagram socket takes its destination
 * from every send: sendmsg(2) with a path in msg_name reaches any host
 * datagram socket the uid may write (the journal, syslog, sd_notify
 * sockets), read-only mounts notwithstanding, and seccomp cannot read the
 * msghdr to refuse that send. socketpair() ends can be re-targeted the same
 * way (connect or sendmsg with an address). Stream sockets refuse an
 * address on send and seqpacket ignores it, so they keep their reach.
 * SOCK_RAW is refused too: AF_UNIX turns it into SOCK_DGRAM. Called for
 * calls whose domain the caller already limits to AF_UNIX, so only the
 * type is tested. */
static int add_unix_type_rules(scmp_filter_ctx ctx, const char *call, ab_error *err)
{
	static const struct { uint64_t mask, value; } refused[] = {
		{ 1, 0 }, /* bit 0 clear: SOCK_DGRAM, SOCK_RDM, SOCK_DCCP, ... */
		{ 2, 2 }, /* bit 1 set: SOCK_DGRAM, SOCK_RAW, ... */
		{ 8, 8 }, /* bit 3 set: SOCK_PACKET and the rest above 7 */
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct scmp_arg_cmp cmp =
			SCMP_A1_64(SCMP_CMP_MASKED_EQ, refused[i].mask, refused[i].value);
		int r = seccomp_deny(ctx, call, 0, 1, &cmp, err);
		if (r < 0)
			return r;
	}
	return 0;
}

_Static_assert((SOCK_STREAM & 0xb) == 1 && (SOCK_SEQPACKET & 0xb) == 1,
	       "the connection-oriented unix socket types have bit 0 set, bits 1 and 3 clear");

_Static_assert((AF_INET ^ AF_INET6) == 8, "AF_INET and AF_INET6 differ in bit 3 only");

int seccomp_add_net_rules(scmp_filter_ctx ctx, ab_net net, ab_error *err)
{
	int r = 0;
	if (net == AB_NET_NONE)
		r = add_socket_rules(ctx, "socket", AF_UNIX, 0, err);
	if (r == 0 && net == AB_NET_PROXY)
		r = add_socket_rules(ctx, "socket", AF_INET, AF_INET ^ AF_INET6, err);
	/* No unix datagrams to host paths (add_unix_type_rules); socketpair
	 * makes only AF_UNIX pairs (AF_TIPC has pairs too) */
	if (r == 0 && net != AB_NET_FULL)
		r = add_socket_rules(ctx, "socketpair", AF_UNIX, 0, err);
	if (r == 0 && net != AB_NET_FULL)
		r = add_unix_type_rules(ctx, "socketpair", err);
	if (r == 0 && net == AB_NET_NONE)
		r = add_unix_type_rules(ctx, "socket", err);
	for (size_t i = 0; r == 0 && net == AB_NET_NONE &&
			   i < sizeof(net_denied) / sizeof(net_denied[0]); i++)
		r = seccomp_deny(ctx, net_denied[i], 0, 0, NULL, err);
	return r;
}
