#include "net/host_addrs.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* One assignment: the same address on two interfaces is two entries, so
 * that removing it from one keeps it local while the other has it. */
struct entry {
	uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	int ifindex;
};

struct host_addrs {
	int fd; /* the notification socket, -1 for an empty set */
	struct entry *e;
	size_t n, cap;
	char *buf; /* NL_BUF bytes for the notifications */
};

/* A dump answer is at most a page or two per datagram; 64 KiB is what
 * the kernel may use with a large receive buffer. */
#define NL_BUF (64 * 1024)

static void to_key(int family, const void *addr, uint8_t out[16])
{
	if (family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

static ssize_t find(const struct host_addrs *h, const uint8_t key[16], int ifindex)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->e[i].ifindex == ifindex && memcmp(h->e[i].addr, key, 16) == 0)
			return (ssize_t)i;
	return -1;
}

static void set_add(struct host_addrs *h, const uint8_t key[16], int ifindex)
{
	if (find(h, key, ifindex) >= 0)
		return;
	grow_array((void **)&h->e, &h->cap, h->n + 1, sizeof(*h->e));
	memcpy(h->e[h->n].addr, key, 16);
	h->e[h->n].ifindex = ifindex;
	h->n++;
}

static void set_remove(struct host_addrs *h, const uint8_t key[16], int ifindex)
{
	ssize_t i = find(h, key, ifindex);
	if (i >= 0)
		h->e[i] = h->e[--h->n];
}

/* One RTM_NEWADDR/RTM_DELADDR. The interface's own address is IFA_LOCAL
 * when present: on a point-to-point IPv4 link IFA_ADDRESS is the peer's. */
static void apply_one(struct host_addrs *h, const struct nlmsghdr *nh)
{
	if (nh->nlmsg_type != RTM_NEWADDR && nh->nlmsg_type != RTM_DELADDR)
		return;
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		return;
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	size_t want = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 16 : 0;
	if (!want)
		return;
	const void *local = NULL, *address = NULL;
	int len = (int)IFA_PAYLOAD(nh);
	for (const struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (RTA_PAYLOAD(rta) != want)
			continue;
		if (rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
		else if (rta->rta_type == IFA_ADDRESS)
			address = RTA_DATA(rta);
	}
	const void *a = local ? local : address;
	if (!a)
		return;
	uint8_t key[16];
	to_key(ifa->ifa_family, a, key);
	if (nh->nlmsg_type == RTM_NEWADDR)
		set_add(h, key, (int)ifa->ifa_index);
	else
		set_remove(h, key, (int)ifa->ifa_index);
}

void host_addrs_apply(struct host_addrs *h, const void *buf, size_t len)
{
	const struct nlmsghdr *nh = buf;
	for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len))
		apply_one(h, nh);
}

/* Only the kernel (port 0) speaks for the host's addresses. */
static ssize_t recv_kernel(int fd, void *buf, size_t size, int flags)
{
	struct sockaddr_nl from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, buf, size, flags, (struct sockaddr *)&from, &fl);
	if (n >= 0 && (fl != sizeof(from) || from.nl_pid != 0))
		return 0; /* dropped: not the kernel's */
	return n;
}

/* Reads the whole set afresh through a socket of its own (blocking, and
 * apart from the notifications) into `h`'s entries, replaced only when the
 * whole answer came: a failed re-read keeps the old set. */
static int dump_into(struct host_addrs *h, ab_error *err);

static int dump(struct host_addrs *h, ab_error *err)
{
	struct host_addrs fresh = {.fd = -1};
	int r = dump_into(&fresh, err);
	if (r < 0) {
		free(fresh.e);
		return r;
	}
	free(h->e);
	h->e = fresh.e;
	h->n = fresh.n;
	h->cap = fresh.cap;
	return 0;
}

static int dump_into(struct host_addrs *h, ab_error *err)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return ab_fail_errno(err, errno,
				     "cannot open an rtnetlink socket to read this host's addresses (the proxy refuses them like loopback)");
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
		.ifa = {.ifa_family = AF_UNSPEC},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return ab_fail_errno(err, errno, "cannot ask the kernel for this host's addresses (RTM_GETADDR)");
	_cleanup_free_ char *buf = xmalloc(NL_BUF);
	for (;;) {
		ssize_t n = recv_kernel(fd, buf, NL_BUF, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ab_fail_errno(err, errno, "cannot read this host's addresses (RTM_GETADDR dump)");
		}
		size_t len = (size_t)n;
		for (const struct nlmsghdr *nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != 1)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				int code = nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? -e->error : EPROTO;
				return ab_fail_errno(err, code, "the kernel refused to list this host's addresses (RTM_GETADDR)");
			}
			apply_one(h, nh);
		}
	}
}

struct host_addrs *host_addrs_new_empty(void)
{
	struct host_addrs *h = xcalloc(1, sizeof(*h));
	h->fd = -1;
	return h;
}

int host_addrs_open(struct host_addrs **out, ab_error *err)
{
	struct host_addrs *h = host_addrs_new_empty();
	h->buf = xmalloc(NL_BUF);
	h->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	int r;
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = ab_fail_errno(err, errno,
				  "cannot subscribe to changes of this host's addresses (rtnetlink)");
		goto fail;
	}
	/* A burst of changes (a VPN coming up) must not overflow the queue
	 * between two turns of the loop; an overflow costs a full re-read. */
	int size = 1 << 20;
	setsockopt(h->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if ((r = dump(h, err)) < 0)
		goto fail;
	*out = h;
	return 0;
fail:
	ab_error_hint(err, "the proxy must know this host's own addresses to refuse them; run it where rtnetlink is allowed");
	host_addrs_free(h);
	return r;
}

void host_addrs_free(struct host_addrs *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	free(h->e);
	free(h->buf);
	free(h);
}

int host_addrs_fd(const struct host_addrs *h)
{
	return h ? h->fd : -1;
}

void host_addrs_on_readable(struct host_addrs *h)
{
	if (h->fd < 0)
		return;
	char *buf = h->buf;
	for (;;) {
		ssize_t n = recv_kernel(h->fd, buf, NL_BUF, MSG_DONTWAIT);
		if (n > 0) {
			host_addrs_apply(h, buf, (size_t)n);
			continue;
		}
		if (n == 0 || errno == EINTR)
			continue;
		if (errno != ENOBUFS)
			break; /* EAGAIN: all applied */
		/* Notifications were lost: read the whole set again. Until it
		 * succeeds the old set stays (the addresses it lists are still
		 * refused); a failure is said once per overflow. */
		ab_error err = {0};
		if (dump(h, &err) < 0)
			fprintf(stderr, "agentbox proxy: warning: %s\n", err.message);
	}
}

bool host_addrs_contains(const struct host_addrs *h, const struct sockaddr *sa)
{
	uint8_t key[16];
	if (sa->sa_family == AF_INET)
		to_key(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, key);
	else if (sa->sa_family == AF_INET6)
		to_key(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, key);
	else
		return false;
	for (size_t i = 0; i < h->n; i++)
		if (memcmp(h->e[i].addr, key, 16) == 0)
			return true;
	return false;
}

size_t host_addrs_count(const struct host_addrs *h)
{
	return h->n;
}
