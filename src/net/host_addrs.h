/* The addresses assigned to this host's interfaces, kept current. The
 * proxy treats them like loopback: a service bound to 0.0.0.0 or :: on
 * the host answers on each of them, and a public IPv4 or a global IPv6
 * address of the host's own passes every range check (addr_class.h).
 *
 * Read with an rtnetlink dump (RTM_GETADDR) when opened, then kept current
 * from the RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR notifications, read in
 * the proxy's event loop whenever host_addrs_fd is readable. The socket is
 * subscribed before the dump, so no change between the two is missed; if
 * the kernel drops notifications (ENOBUFS), the whole set is read again.
 * The set is that of the network namespace the proxy was opened in: the
 * host's, since the proxy runs outside the sandbox's. */
#ifndef AB_NET_HOST_ADDRS_H
#define AB_NET_HOST_ADDRS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/error.h"

struct host_addrs;

/* An empty set with no socket (for tests of the set logic). */
struct host_addrs *host_addrs_new_empty(void);
/* Subscribes, then reads every current address. Fails closed: the proxy
 * does not start when it cannot know its host's addresses. */
int host_addrs_open(struct host_addrs **out, ab_error *err);
void host_addrs_free(struct host_addrs *h);

/* The notification socket to watch for EPOLLIN, -1 for an empty set. */
int host_addrs_fd(const struct host_addrs *h);
/* Applies every pending notification (never blocks). */
void host_addrs_on_readable(struct host_addrs *h);

/* Applies a buffer of rtnetlink messages (RTM_NEWADDR adds, RTM_DELADDR
 * removes, anything else is ignored); what the socket reader does with
 * each datagram, exposed for unit tests. */
void host_addrs_apply(struct host_addrs *h, const void *buf, size_t len);

/* Whether the address (AF_INET, AF_INET6; an IPv4-mapped IPv6 address by
 * the IPv4 address inside it) is one of the host's. */
bool host_addrs_contains(const struct host_addrs *h, const struct sockaddr *sa);
size_t host_addrs_count(const struct host_addrs *h);

#endif
