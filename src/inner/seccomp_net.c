/* The seccomp rules that depend on the network mode (--net none, proxy,
 * full) and on whether the command has a network namespace of its own:
 * which socket families and unix socket types it may create, and, without
 * a network namespace, which socket calls it may make. Every rule returns
 * EPERM. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agentbox.h"
#include "inner/seccomp_rule.h"

/* Without a network namespace of its own (the Landlock backend) and with
 * no network, every socket call except socketpair-style AF_UNIX use is
 * refused: a listener there would be on the host's loopback, and a unix
 * connect could reach any host socket the filesystem rules leave visible
 * (Landlock does not mediate connect). socket() itself is handled
 * separately (add_socket_rules). */
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
 * Used without a network namespace of its own:
 *   --net none:  AF_UNIX only.
 *   --net proxy: AF_INET and AF_INET6 only (2 and 10 differ in bit 3).
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

/* With a network namespace of its own (bwrap, builtin) under --net none
 * and proxy: socket() for AF_UNIX, AF_INET and AF_INET6 only. The IP
 * sockets live in the sandbox's namespace, which holds loopback (and
 * under proxy the proxy's listeners) and no route out, so the command's
 * own servers work (a test suite's HTTP server, multiprocessing). The
 * three values share no pattern of free bits (1, 2, 10), so: every bit
 * from 4 up refused one rule each, then each low-nibble value that is not
 * one of them. Netlink (routing tables, nf_tables: large kernel parsers),
 * packet, vsock and the rest stay refused. */
static int add_own_netns_socket_rules(scmp_filter_ctx ctx, ab_error *err)
{
	int r = 0;
	for (unsigned int bit = 4; r == 0 && bit < 32; bit++) {
		const struct scmp_arg_cmp cmp = SCMP_A0_64(SCMP_CMP_MASKED_EQ, 1U << bit, 1U << bit);
		r = seccomp_deny(ctx, "socket", 0, 1, &cmp, err);
	}
	for (uint64_t v = 0; r == 0 && v < 16; v++) {
		if (v == AF_UNIX || v == AF_INET || v == AF_INET6)
			continue;
		const struct scmp_arg_cmp cmp = SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xf, v);
		r = seccomp_deny(ctx, "socket", 0, 1, &cmp, err);
	}
	/* raw IP sockets (and the obsolete SOCK_PACKET) for every family:
	 * only ordinary TCP, UDP and ping sockets are needed by servers */
	static const uint64_t raw_types[] = { SOCK_RAW, SOCK_PACKET };
	for (size_t i = 0; r == 0 && i < sizeof(raw_types) / sizeof(raw_types[0]); i++) {
		const struct scmp_arg_cmp cmp = SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xf, raw_types[i]);
		r = seccomp_deny(ctx, "socket", 0, 1, &cmp, err);
	}
	return r;
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
 * SOCK_RAW is refused too: AF_UNIX turns it into SOCK_DGRAM. Each rule
 * also matches the domain AF_UNIX (both comparisons must hold), so UDP
 * sockets stay allowed where the caller allows AF_INET. */
static int add_unix_type_rules(scmp_filter_ctx ctx, const char *call, ab_error *err)
{
	static const struct { uint64_t mask, value; } refused[] = {
		{ 1, 0 }, /* bit 0 clear: SOCK_DGRAM, SOCK_RDM, SOCK_DCCP, ... */
		{ 2, 2 }, /* bit 1 set: SOCK_DGRAM, SOCK_RAW, ... */
		{ 8, 8 }, /* bit 3 set: SOCK_PACKET and the rest above 7 */
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct scmp_arg_cmp cmp[2] = {
			SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xffffffffULL, AF_UNIX),
			SCMP_A1_64(SCMP_CMP_MASKED_EQ, refused[i].mask, refused[i].value),
		};
		int r = seccomp_deny(ctx, call, 0, 2, cmp, err);
		if (r < 0)
			return r;
	}
	return 0;
}

_Static_assert((SOCK_STREAM & 0xb) == 1 && (SOCK_SEQPACKET & 0xb) == 1,
	       "the connection-oriented unix socket types have bit 0 set, bits 1 and 3 clear");

_Static_assert((AF_INET ^ AF_INET6) == 8, "AF_INET and AF_INET6 differ in bit 3 only");

_Static_assert(AF_UNIX < 16 && AF_INET < 16 && AF_INET6 < 16,
	       "the families a sandbox with its own network namespace may use fit in 4 bits");

int seccomp_add_net_rules(scmp_filter_ctx ctx, ab_net net, bool own_netns, ab_error *err)
{
	if (net == AB_NET_FULL)
		return 0;
	int r;
	if (own_netns)
		r = add_own_netns_socket_rules(ctx, err);
	else if (net == AB_NET_NONE)
		r = add_socket_rules(ctx, "socket", AF_UNIX, 0, err);
	else
		r = add_socket_rules(ctx, "socket", AF_INET, AF_INET ^ AF_INET6, err);
	/* No unix datagrams to host paths (add_unix_type_rules); socketpair
	 * makes only AF_UNIX pairs (AF_TIPC has pairs too) */
	if (r == 0)
		r = add_socket_rules(ctx, "socketpair", AF_UNIX, 0, err);
	if (r == 0)
		r = add_unix_type_rules(ctx, "socketpair", err);
	if (r == 0)
		r = add_unix_type_rules(ctx, "socket", err);
	for (size_t i = 0; r == 0 && !own_netns && net == AB_NET_NONE &&
			   i < sizeof(net_denied) / sizeof(net_denied[0]); i++)
		r = seccomp_deny(ctx, net_denied[i], 0, 0, NULL, err);
	return r;
}
