/* The set of the host's own addresses (src/net/host_addrs.c): the
 * rtnetlink messages that add and remove entries, lookups, and the real
 * kernel's answer for this host. */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <ifaddrs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/host_addrs.h"
#include "probe_child.h"

/* Builds one RTM_NEWADDR/RTM_DELADDR at buf+*off with the given IFA_LOCAL
 * and IFA_ADDRESS (text, NULL for none). */
static void put_msg(char *buf, size_t *off, uint16_t type, int family, int ifindex,
		    const char *local, const char *address)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(void *)(buf + *off);
	memset(nh, 0, NLMSG_SPACE(sizeof(struct ifaddrmsg)) + 2 * RTA_SPACE(16));
	nh->nlmsg_type = type;
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_index = (unsigned)ifindex;
	const char *texts[2] = {local, address};
	const unsigned short kinds[2] = {IFA_LOCAL, IFA_ADDRESS};
	size_t alen = family == AF_INET ? 4 : 16;
	for (int i = 0; i < 2; i++) {
		if (!texts[i])
			continue;
		struct rtattr *rta = (struct rtattr *)(void *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
		rta->rta_type = kinds[i];
		rta->rta_len = (unsigned short)RTA_LENGTH(alen);
		assert_int_equal(inet_pton(family, texts[i], RTA_DATA(rta)), 1);
		nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	}
	*off += NLMSG_ALIGN(nh->nlmsg_len);
}

static bool has(const struct host_addrs *h, const char *text)
{
	struct sockaddr_storage ss = {0};
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return host_addrs_contains(h, (struct sockaddr *)&ss);
}

static void test_add_remove_and_lookup(void **state)
{
	(void)state;
	struct host_addrs *h = host_addrs_new_empty();
	char buf[4096];
	size_t off = 0;
	put_msg(buf, &off, RTM_NEWADDR, AF_INET, 2, "198.51.99.7", "198.51.99.7");
	put_msg(buf, &off, RTM_NEWADDR, AF_INET6, 2, NULL, "2a01:db8:ffff::7");
	/* a point-to-point link: IFA_ADDRESS is the peer's, not ours */
	put_msg(buf, &off, RTM_NEWADDR, AF_INET, 3, "203.0.114.1", "203.0.114.2");
	host_addrs_apply(h, buf, off);
	assert_int_equal(host_addrs_count(h), 3);
	assert_true(has(h, "198.51.99.7"));
	assert_true(has(h, "2a01:db8:ffff::7"));
	assert_true(has(h, "203.0.114.1"));
	assert_false(has(h, "203.0.114.2"));
	assert_false(has(h, "198.51.99.8"));
	/* an IPv4-mapped IPv6 address reaches the IPv4 one */
	assert_true(has(h, "::ffff:198.51.99.7"));

	/* the same address on a second interface stays local while one
	 * interface still has it */
	off = 0;
	put_msg(buf, &off, RTM_NEWADDR, AF_INET, 4, "198.51.99.7", NULL);
	put_msg(buf, &off, RTM_NEWADDR, AF_INET, 4, "198.51.99.7", NULL); /* repeated: one entry */
	put_msg(buf, &off, RTM_DELADDR, AF_INET, 2, "198.51.99.7", "198.51.99.7");
	host_addrs_apply(h, buf, off);
	assert_true(has(h, "198.51.99.7"));
	off = 0;
	put_msg(buf, &off, RTM_DELADDR, AF_INET, 4, "198.51.99.7", NULL);
	put_msg(buf, &off, RTM_DELADDR, AF_INET6, 2, NULL, "2a01:db8:ffff::7");
	host_addrs_apply(h, buf, off);
	assert_false(has(h, "198.51.99.7"));
	assert_false(has(h, "2a01:db8:ffff::7"));
	assert_int_equal(host_addrs_count(h), 1);
	host_addrs_free(h);
}

/* Other messages, other families and short or malformed messages change
 * nothing. */
static void test_ignored_messages(void **state)
{
	(void)state;
	struct host_addrs *h = host_addrs_new_empty();
	char buf[4096];
	size_t off = 0;
	put_msg(buf, &off, RTM_NEWLINK, AF_INET, 2, "198.51.99.9", NULL);
	put_msg(buf, &off, RTM_NEWADDR, AF_INET, 2, NULL, NULL); /* no address */
	host_addrs_apply(h, buf, off);
	assert_int_equal(host_addrs_count(h), 0);
	/* an attribute of the wrong size (an IPv6 length for IPv4) */
	off = 0;
	put_msg(buf, &off, RTM_NEWADDR, AF_INET6, 2, "2a01:db8:ffff::9", NULL);
	((struct ifaddrmsg *)NLMSG_DATA((struct nlmsghdr *)(void *)buf))->ifa_family = AF_INET;
	host_addrs_apply(h, buf, off);
	assert_int_equal(host_addrs_count(h), 0);
	/* a message cut short is not read past its end */
	off = 0;
	put_msg(buf, &off, RTM_NEWADDR, AF_INET, 2, "198.51.99.9", NULL);
	host_addrs_apply(h, buf, NLMSG_LENGTH(sizeof(struct ifaddrmsg)) - 1);
	assert_int_equal(host_addrs_count(h), 0);
	/* not IP */
	struct sockaddr sa = {.sa_family = AF_UNIX};
	assert_false(host_addrs_contains(h, &sa));
	host_addrs_free(h);
}

/* The real kernel's list: every address getifaddrs(3) (glibc's own
 * rtnetlink reader) shows for this host is in the set. */
static void test_real_kernel_dump(void **state)
{
	(void)state;
	struct host_addrs *h = NULL;
	ab_error err = {0};
	if (host_addrs_open(&h, &err) < 0)
		fail_msg("host_addrs_open: %s", err.message);
	assert_true(host_addrs_fd(h) >= 0);
	struct ifaddrs *ifs = NULL;
	assert_int_equal(getifaddrs(&ifs), 0);
	size_t seen = 0;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		char text[INET6_ADDRSTRLEN] = "?";
		const void *a = i->ifa_addr->sa_family == AF_INET
			? (const void *)&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
		inet_ntop(i->ifa_addr->sa_family, a, text, sizeof(text));
		if (!host_addrs_contains(h, i->ifa_addr))
			fail_msg("%s of %s is not in the set", text, i->ifa_name);
		seen++;
	}
	freeifaddrs(ifs);
	print_message("%zu addresses, all found\n", seen);
	/* nothing pending, nothing lost */
	size_t n = host_addrs_count(h);
	host_addrs_on_readable(h);
	assert_true(host_addrs_count(h) >= n);
	host_addrs_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_remove_and_lookup),
		cmocka_unit_test(test_ignored_messages),
		cmocka_unit_test(test_real_kernel_dump),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
