/* The filter's unix-datagram and hardening rules against the real kernel:
 *  - under --net none and --net proxy no unix socket of a datagram type
 *    can be made (socket() or socketpair()), since seccomp cannot stop a
 *    datagram socket from naming a host path on each send; stream and
 *    seqpacket ends stay usable, and an address given on their sends does
 *    not go anywhere (stream refuses it, seqpacket ignores it);
 *  - userfaultfd (the call and /dev/userfaultfd's ioctl), memfd_secret and
 *    personality other than the query and PER_LINUX are refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentbox.h"
#include "seccomp_probe.h"

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW 0xaa00
#endif

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	long type;
} dgram_types[] = {
	{ "SOCK_DGRAM", SOCK_DGRAM },
	{ "SOCK_DGRAM|SOCK_CLOEXEC", SOCK_DGRAM | SOCK_CLOEXEC },
	{ "SOCK_DGRAM|SOCK_NONBLOCK", SOCK_DGRAM | SOCK_NONBLOCK },
	{ "SOCK_RAW (AF_UNIX makes it SOCK_DGRAM)", SOCK_RAW },
	{ "SOCK_RDM", SOCK_RDM },
	{ "SOCK_DGRAM with bits above 32", 0x100000000L | SOCK_DGRAM },
};

static struct outcome run_socket(int net, long domain, long type)
{
	return run_raw(net, __NR_socket, domain, type, 0);
}

static long probe_pair(const void *arg)
{
	const long *t = arg; /* domain, type */
	int sv[2];
	return syscall(__NR_socketpair, t[0], t[1], 0, sv);
}

static struct outcome run_pair(int net, long domain, long type)
{
	long t[2] = { domain, type };
	return run_probe(net, probe_pair, t);
}

static void test_unix_datagram_sockets_are_refused_without_full_network(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(dgram_types); i++) {
		char what[128];
		long type = dgram_types[i].type;
		snprintf(what, sizeof(what), "socket(AF_UNIX, %s) net none", dgram_types[i].name);
		expect_errno(what, run_socket(AB_NET_NONE, AF_UNIX, type), EPERM);
		snprintf(what, sizeof(what), "socketpair(AF_UNIX, %s) net none", dgram_types[i].name);
		expect_errno(what, run_pair(AB_NET_NONE, AF_UNIX, type), EPERM);
		snprintf(what, sizeof(what), "socketpair(AF_UNIX, %s) net proxy", dgram_types[i].name);
		expect_errno(what, run_pair(AB_NET_PROXY, AF_UNIX, type), EPERM);
	}
	/* --net full keeps them (the host's network is there anyway) */
	expect_success("socket(AF_UNIX, SOCK_DGRAM) net full",
		       run_socket(AB_NET_FULL, AF_UNIX, SOCK_DGRAM));
	expect_success("socketpair(AF_UNIX, SOCK_DGRAM) net full",
		       run_pair(AB_NET_FULL, AF_UNIX, SOCK_DGRAM));
	/* a family other than AF_UNIX cannot stand in (AF_TIPC has pairs) */
	expect_errno("socketpair(AF_TIPC, SOCK_DGRAM) net none",
		     run_pair(AB_NET_NONE, 30 /* AF_TIPC */, SOCK_DGRAM), EPERM);
	expect_errno("socketpair(AF_TIPC, SOCK_SEQPACKET) net proxy",
		     run_pair(AB_NET_PROXY, 30 /* AF_TIPC */, SOCK_SEQPACKET), EPERM);
}

static void test_unix_stream_and_seqpacket_stay(void **state)
{
	(void)state;
	static const long types[] = { SOCK_STREAM, SOCK_SEQPACKET,
				      SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				      SOCK_SEQPACKET | SOCK_CLOEXEC };
	for (size_t i = 0; i < N_ELEMS(types); i++) {
		char what[96];
		snprintf(what, sizeof(what), "socket(AF_UNIX, %#lx) net none", types[i]);
		expect_success(what, run_socket(AB_NET_NONE, AF_UNIX, types[i]));
		snprintf(what, sizeof(what), "socketpair(AF_UNIX, %#lx) net none", types[i]);
		expect_success(what, run_pair(AB_NET_NONE, AF_UNIX, types[i]));
		snprintf(what, sizeof(what), "socketpair(AF_UNIX, %#lx) net proxy", types[i]);
		expect_success(what, run_pair(AB_NET_PROXY, AF_UNIX, types[i]));
	}
	/* --net proxy still allows UDP over IP (its own namespace) */
	struct outcome udp = run_socket(AB_NET_PROXY, AF_INET, SOCK_DGRAM);
	expect_success("socket(AF_INET, SOCK_DGRAM) net proxy", udp);
}

/* A host datagram socket at a path; the probe, in its sandbox-filtered
 * child, sends to it from a socketpair end with msg_name set. */
static char dgram_path[108];
static int dgram_rx = -1;

static int make_receiver(void)
{
	snprintf(dgram_path, sizeof(dgram_path), "/tmp/ab-dgram-%d.sock", (int)getpid());
	unlink(dgram_path);
	dgram_rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, dgram_path);
	if (dgram_rx < 0 || bind(dgram_rx, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	return 0;
}

static void drop_receiver(void)
{
	close(dgram_rx);
	unlink(dgram_path);
}

static long received(void)
{
	long n = 0;
	char buf[64];
	while (recv(dgram_rx, buf, sizeof(buf), 0) > 0)
		n++;
	return n;
}

/* sendmsg with a path address on one end of a socketpair of `type`;
 * returns what sendmsg returned (the parent counts what the receiver got). */
static long probe_pair_sendmsg_to_path(const void *arg)
{
	long type = *(const long *)arg;
	int sv[2];
	if (socketpair(AF_UNIX, (int)type, 0, sv) != 0)
		return -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, dgram_path);
	char byte = 'x';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa),
			     .msg_iov = &iov, .msg_iovlen = 1 };
	return syscall(__NR_sendmsg, sv[0], &mh, 0);
}

static void test_stream_and_seqpacket_ends_cannot_reach_a_path(void **state)
{
	(void)state;
	assert_int_equal(make_receiver(), 0);
	/* baseline: a datagram pair end does reach the host path */
	long dg = SOCK_DGRAM;
	expect_success("baseline: dgram pair end sendmsg to a path",
		       run_probe(NO_FILTER, probe_pair_sendmsg_to_path, &dg));
	assert_int_equal(received(), 1);

	static const int nets[] = { AB_NET_NONE, AB_NET_PROXY };
	for (size_t i = 0; i < N_ELEMS(nets); i++) {
		/* stream: an address on a connected socket is EISCONN */
		long st = SOCK_STREAM;
		struct outcome o = run_probe(nets[i], probe_pair_sendmsg_to_path, &st);
		assert_true(failed_with(o, EISCONN) || failed_with(o, EOPNOTSUPP));
		/* seqpacket: the address is ignored, the byte goes to the peer */
		long sp = SOCK_SEQPACKET;
		expect_success("seqpacket pair sendmsg with an address",
			       run_probe(nets[i], probe_pair_sendmsg_to_path, &sp));
		expect_errno("dgram pair", run_probe(nets[i], probe_pair_sendmsg_to_path, &dg),
			     EPERM);
		assert_int_equal(received(), 0);
	}
	drop_receiver();
}

static void test_userfaultfd_is_refused(void **state)
{
	(void)state;
	static const int nets[] = { AB_NET_NONE, AB_NET_FULL, AB_NET_PROXY };
	for (size_t i = 0; i < N_ELEMS(nets); i++) {
		expect_errno("userfaultfd(O_CLOEXEC)",
			     run_raw(nets[i], __NR_userfaultfd, O_CLOEXEC, 0, 0), EPERM);
		/* the kernel-only flag (1): still the filter's answer */
		expect_errno("userfaultfd(UFFD_USER_MODE_ONLY)",
			     run_raw(nets[i], __NR_userfaultfd, 1, 0, 0), EPERM);
		/* /dev/userfaultfd's ioctl, on fd -1 (the kernel says EBADF) */
		expect_errno("ioctl(USERFAULTFD_IOC_NEW)",
			     run_raw(nets[i], __NR_ioctl, -1, USERFAULTFD_IOC_NEW, 0), EPERM);
		expect_errno("ioctl(USERFAULTFD_IOC_NEW | 1<<32)",
			     run_raw(nets[i], __NR_ioctl, -1,
				     0x100000000L | USERFAULTFD_IOC_NEW, 0), EPERM);
		expect_errno("memfd_secret",
			     run_raw(nets[i], __NR_memfd_secret, 0, 0, 0), EPERM);
	}
	expect_errno("baseline: USERFAULTFD_IOC_NEW on fd -1",
		     run_raw(NO_FILTER, __NR_ioctl, -1, USERFAULTFD_IOC_NEW, 0), EBADF);
}

static long probe_personality(const void *arg)
{
	long v = *(const long *)arg;
	long r = syscall(__NR_personality, v);
	if (r < 0)
		return r;
	/* what holds afterwards must be PER_LINUX */
	return syscall(__NR_personality, 0xffffffffL) == PER_LINUX ? 0 : -2;
}

static void test_personality_only_query_and_per_linux(void **state)
{
	(void)state;
	static const long allowed[] = { 0xffffffffL, PER_LINUX };
	static const long refused[] = {
		ADDR_NO_RANDOMIZE, PER_LINUX32, READ_IMPLIES_EXEC, UNAME26,
		ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO, PER_LINUX | ADDR_NO_RANDOMIZE,
		0x7fffffffL, 0xfffffffeL, 0x80000000L, 1,
		0x100000000L, 0x1ffffffffL, /* upper bits: refused too */
	};
	static const int nets[] = { AB_NET_NONE, AB_NET_FULL, AB_NET_PROXY };
	for (size_t n = 0; n < N_ELEMS(nets); n++) {
		for (size_t i = 0; i < N_ELEMS(allowed); i++) {
			char what[64];
			snprintf(what, sizeof(what), "personality(%#lx)", allowed[i]);
			expect_success(what, run_probe(nets[n], probe_personality, &allowed[i]));
		}
		for (size_t i = 0; i < N_ELEMS(refused); i++) {
			char what[64];
			snprintf(what, sizeof(what), "personality(%#lx)", refused[i]);
			expect_errno(what, run_probe(nets[n], probe_personality, &refused[i]),
				     EPERM);
		}
	}
	/* baseline: the kernel takes ADDR_NO_RANDOMIZE */
	long anr = ADDR_NO_RANDOMIZE;
	struct outcome base = run_probe(NO_FILTER, probe_personality, &anr);
	assert_true(base.returned && base.ret == -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_datagram_sockets_are_refused_without_full_network),
		cmocka_unit_test(test_unix_stream_and_seqpacket_stay),
		cmocka_unit_test(test_stream_and_seqpacket_ends_cannot_reach_a_path),
		cmocka_unit_test(test_userfaultfd_is_refused),
		cmocka_unit_test(test_personality_only_query_and_per_linux),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
