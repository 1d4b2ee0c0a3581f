/* The sandbox's "no route" counters under --net none (net_counters.h). */
#include "supervisor/net_counters.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "common/util.h"
#include "net/refusal_log.h"

struct net_counters {
	bool tried;
	int snmp, snmp6;       /* -1 until attached */
	long long base4, base6; /* the values at attach */
	int sock, child_sock;  /* net_counters_child_fd's pair, or -1 */
};

struct net_counters *net_counters_new(const struct supervise_request *req)
{
	if (!req->refusals || req->plan->net != AB_NET_NONE)
		return NULL;
	struct net_counters *nc = xcalloc(1, sizeof(*nc));
	nc->snmp = nc->snmp6 = nc->sock = nc->child_sock = -1;
	return nc;
}

int net_counters_child_fd(struct net_counters *nc)
{
	if (!nc)
		return -1;
	if (nc->child_sock < 0) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
			return -1; /* no count, no failure: only the summary is poorer */
		nc->sock = sv[0];
		nc->child_sock = sv[1];
	}
	return nc->child_sock;
}

void net_counters_spawned(struct net_counters *nc)
{
	if (nc && nc->child_sock >= 0) {
		close(nc->child_sock);
		nc->child_sock = -1;
	}
}

/* The files the sandbox sent, if it did. Its namespace was new, so its
 * counters started at zero (base 0). */
static void take_sent(struct net_counters *nc)
{
	if (nc->sock < 0 || nc->snmp >= 0)
		return;
	char msg[4];
	int fds[FDPASS_MAX];
	size_t n = 0;
	ssize_t len = fdpass_recv(nc->sock, msg, sizeof(msg), fds, &n);
	if (len == 1 && msg[0] == 'n' && n >= 1 && n <= 2) {
		nc->snmp = fds[0];
		nc->snmp6 = n == 2 ? fds[1] : -1;
		nc->base4 = nc->base6 = 0;
		nc->tried = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

long long net_counters_parse_snmp(const char *text, const char *field)
{
	/* "Ip: Forwarding DefaultTTL ...\nIp: 2 64 ...\n": names, values */
	const char *names = strstr(text, "Ip: ");
	if (!names)
		return -1;
	const char *values = strstr(names + 4, "\nIp: ");
	if (!values)
		return -1;
	values += 5;
	size_t flen = strlen(field);
	const char *n = names + 4;
	const char *v = values;
	while (*n && *n != '\n') {
		size_t nlen = strcspn(n, " \n");
		char *end;
		long long val = strtoll(v, &end, 10);
		if (end == v)
			return -1;
		if (nlen == flen && strncmp(n, field, flen) == 0)
			return val;
		n += nlen;
		while (*n == ' ')
			n++;
		v = end;
		while (*v == ' ')
			v++;
	}
	return -1;
}

long long net_counters_parse_snmp6(const char *text, const char *field)
{
	size_t flen = strlen(field);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, field, flen) == 0 && (l[flen] == ' ' || l[flen] == '\t'))
			return strtoll(l + flen, NULL, 10);
	}
	return -1;
}

/* The whole file again from its start (a procfs seq file regenerates). */
static bool read_all(int fd, char *buf, size_t size)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return false;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0)
			return false;
		if (n == 0 || (len += (size_t)n) == size - 1)
			break;
	}
	buf[len] = '\0';
	return true;
}

static long long no_routes(int fd, bool v6)
{
	char buf[8192];
	if (fd < 0 || !read_all(fd, buf, sizeof(buf)))
		return -1;
	return v6 ? net_counters_parse_snmp6(buf, "Ip6OutNoRoutes")
		  : net_counters_parse_snmp(buf, "OutNoRoutes");
}

/* Opens /proc/PID/net/NAME if it is not our own namespace's file: each
 * network namespace has its own procfs entries, with their own inode
 * numbers, so the opened file itself tells (the pid's /proc/PID/ns/net
 * is out of reach: the sandbox's init is not dumpable). Counters of our
 * own namespace would blame the sandbox for the host's traffic. */
static int open_other(pid_t pid, const char *name)
{
	char path[64], own[64];
	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, name);
	snprintf(own, sizeof(own), "/proc/self/net/%s", name);
	struct stat mine, theirs;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (stat(own, &mine) < 0 || fstat(fd, &theirs) < 0 ||
	    (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino)) {
		close(fd);
		return -1;
	}
	return fd;
}

void net_counters_attach(struct net_counters *nc, pid_t pid)
{
	if (!nc || nc->tried || nc->sock >= 0 || pid <= 0)
		return;
	nc->tried = true;
	nc->snmp = open_other(pid, "snmp");
	if (nc->snmp < 0)
		return;
	nc->snmp6 = open_other(pid, "snmp6"); /* none without IPv6 */
	nc->base4 = no_routes(nc->snmp, false);
	nc->base6 = no_routes(nc->snmp6, true);
}

void net_counters_finish(struct net_counters *nc, struct refusal_log *log)
{
	if (!nc)
		return;
	take_sent(nc);
	unsigned long long attempts = 0;
	long long v4 = no_routes(nc->snmp, false), v6 = no_routes(nc->snmp6, true);
	if (v4 >= 0 && nc->base4 >= 0 && v4 > nc->base4)
		attempts += (unsigned long long)(v4 - nc->base4);
	if (v6 >= 0 && nc->base6 >= 0 && v6 > nc->base6)
		attempts += (unsigned long long)(v6 - nc->base6);
	refusal_log_network_off(log, attempts);
	if (nc->snmp >= 0)
		close(nc->snmp);
	if (nc->snmp6 >= 0)
		close(nc->snmp6);
	if (nc->sock >= 0)
		close(nc->sock);
	if (nc->child_sock >= 0)
		close(nc->child_sock);
	free(nc);
}
