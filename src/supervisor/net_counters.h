/* --net none on the namespace backends: how many times the command tried
 * to reach the outside, read from the kernel's counters of the sandbox's
 * own network namespace at the end of the run. That namespace has only a
 * loopback, so a connect(2), sendto(2) or DNS query to any other address
 * fails with ENETUNREACH, and the kernel counts each in OutNoRoutes
 * (/proc/net/snmp for IPv4, Ip6OutNoRoutes in /proc/net/snmp6). Nothing
 * is watched while the command runs: the two files are opened before the
 * command starts (an open procfs net file keeps its namespace) and read
 * once at the end, so the command pays nothing. The built-in engine's
 * network namespace helper opens them and sends them over a socket
 * (net_counters_child_fd); with bwrap agentbox opens them through the
 * sandbox's PID 1 (net_counters_attach), which bwrap names at once. What
 * is not seen: the destinations' names and addresses (the counters have
 * none), a resolver on the sandbox's loopback (127.0.0.53 gets "port
 * unreachable", not "no route"), and under bwrap a command that ended
 * before agentbox read bwrap's status. */
#ifndef AB_SUPERVISOR_NET_COUNTERS_H
#define AB_SUPERVISOR_NET_COUNTERS_H

#include <stdbool.h>
#include <sys/types.h>

#include "supervisor/supervisor.h"

struct net_counters;

/* NULL when there is nothing to count: not --net none, or no log. The
 * caller's backend must give the sandbox a network namespace. */
struct net_counters *net_counters_new(const struct supervise_request *req);
/* For a backend whose sandbox sends the two files itself (SCM_RIGHTS,
 * data "n", snmp then snmp6): the end the sandbox inherits, -1 without
 * counting; close it in the parent with net_counters_spawned. */
int net_counters_child_fd(struct net_counters *nc);
void net_counters_spawned(struct net_counters *nc);
/* Once the sandbox is set up: pid is a process in its network namespace.
 * Only the first call does anything; a pid still in our own namespace
 * (or gone) leaves the counters unread. */
void net_counters_attach(struct net_counters *nc, pid_t pid);
/* Reads the counters (the attempts since attach go into log) and frees. */
void net_counters_finish(struct net_counters *nc, struct refusal_log *log);

/* Pure, for tests: the value of `field` in /proc/net/snmp's "Ip:" pair of
 * lines, or of the line named `field` in snmp6's format. -1 if absent. */
long long net_counters_parse_snmp(const char *text, const char *field);
long long net_counters_parse_snmp6(const char *text, const char *field);

#endif
