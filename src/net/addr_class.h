/* Which destination addresses count as public. The proxy refuses every
 * other kind (loopback, private, link-local, CGNAT, documentation,
 * benchmarking, multicast, reserved ...) unless an allow rule names the
 * host exactly: a sandboxed command must not reach the user's own
 * services, the LAN or a cloud metadata endpoint through a wildcard. */
#ifndef AB_NET_ADDR_CLASS_H
#define AB_NET_ADDR_CLASS_H

#include <netinet/in.h>
#include <sys/socket.h>

/* NULL for a public address, else the name of its class ("loopback",
 * "private", "link-local", "cgnat", ...). IPv4-mapped, NAT64 and 6to4
 * IPv6 addresses are judged by the IPv4 address inside them. Any family
 * but AF_INET and AF_INET6 is "not-ip". */
const char *addr_non_public_class(const struct sockaddr *sa);

/* The same for an address in network byte order. */
const char *addr_non_public_v4(const struct in_addr *a);
const char *addr_non_public_v6(const struct in6_addr *a);

#endif
