/* Load for bench/proxy.sh, in C so the client is not the bottleneck:
 *   proxy_pump sink              listen on 127.0.0.1:0, print the port,
 *                                read and discard every connection
 *   proxy_pump server            same port print; answer each request
 *                                with a small HTTP response and close
 *   proxy_pump send PORT BYTES [PROXYPORT]
 *                                send BYTES to 127.0.0.1:PORT (through a
 *                                CONNECT tunnel when PROXYPORT is given);
 *                                print the nanoseconds until the sink closed
 *   proxy_pump get PORT N [PROXYPORT]
 *                                N sequential GETs, each on a new connection;
 *                                print the nanoseconds for all of them
 *   proxy_pump idle PORT N PROXYPORT
 *                                open N tunnels, print "ready", wait for stdin EOF
 *   proxy_pump relay             a bare CONNECT relay: port print, then per
 *                                tunnel two threads splicing in a tight
 *                                blocking loop, no policy, no event loop.
 *                                What any user-space relay on this machine
 *                                can reach at best: the ceiling for the proxy */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

static void read_head(int fd)
{
	char buf[4096];
	size_t n = 0;
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			die("reading the proxy's reply");
		n++;
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0) {
		fprintf(stderr, "proxy refused: %.*s\n", (int)n, buf);
		exit(1);
	}
}

/* A connection to PORT, through a CONNECT tunnel when proxy > 0. */
static int open_to(int port, int proxy)
{
	if (proxy <= 0)
		return dial(port);
	int fd = dial(proxy);
	char req[128];
	int n = snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
			 port, port);
	if (write(fd, req, (size_t)n) != n)
		die("write CONNECT");
	read_head(fd);
	return fd;
}

static void *sink_conn(void *arg)
{
	int fd = (int)(long)arg;
	static char buf[1 << 20];
	while (read(fd, buf, sizeof(buf)) > 0) {
	}
	close(fd);
	return NULL;
}

static void *serve_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[8192];
	size_t n = 0;
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memmem(buf, n, "\r\n\r\n", 4))
			break;
	}
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
	if (write(fd, resp, sizeof(resp) - 1) < 0) {
	}
	close(fd);
	return NULL;
}

struct splice_dir {
	int src, dst;
};

static void *splice_dir_main(void *arg)
{
	struct splice_dir *d = arg;
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	for (;;) {
		ssize_t n = splice(d->src, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
		if (n <= 0)
			break;
		while (n > 0) {
			ssize_t w = splice(p[0], NULL, d->dst, NULL, (size_t)n, SPLICE_F_MOVE);
			if (w <= 0)
				goto out;
			n -= w;
		}
	}
out:
	shutdown(d->dst, SHUT_WR);
	close(p[0]);
	close(p[1]);
	return NULL;
}

static void *relay_conn(void *arg)
{
	int fd = (int)(long)arg;
	char head[1024];
	size_t n = 0;
	while (n < sizeof(head) - 1) {
		ssize_t r = read(fd, head + n, 1);
		if (r <= 0)
			goto out;
		n++;
		if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	head[n] = '\0';
	int port;
	if (sscanf(head, "CONNECT 127.0.0.1:%d ", &port) != 1)
		goto out;
	int up = dial(port);
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	if (write(fd, ok, sizeof(ok) - 1) != (ssize_t)sizeof(ok) - 1)
		die("write");
	struct splice_dir down = {up, fd};
	pthread_t t;
	if (pthread_create(&t, NULL, splice_dir_main, &down) != 0)
		die("pthread_create");
	struct splice_dir upd = {fd, up};
	splice_dir_main(&upd);
	pthread_join(t, NULL);
	close(up);
out:
	close(fd);
	return NULL;
}

static void listen_and_serve(void *(*fn)(void *))
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0)
		die("listen");
	socklen_t sl = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &sl);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		int fd = accept(l, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, &attr, fn, (void *)(long)fd) != 0)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(argv[1], "sink") == 0)
		listen_and_serve(sink_conn);
	if (strcmp(argv[1], "server") == 0)
		listen_and_serve(serve_conn);
	if (strcmp(argv[1], "relay") == 0)
		listen_and_serve(relay_conn);
	if (strcmp(argv[1], "send") == 0 && argc >= 4) {
		int port = atoi(argv[2]);
		long long bytes = atoll(argv[3]);
		int proxy = argc > 4 ? atoi(argv[4]) : 0;
		static char buf[1 << 20];
		long long t0 = now_ns();
		int fd = open_to(port, proxy);
		for (long long left = bytes; left > 0;) {
			size_t n = left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf);
			ssize_t w = write(fd, buf, n);
			if (w <= 0)
				die("write");
			left -= w;
		}
		shutdown(fd, SHUT_WR);
		char c;
		while (read(fd, &c, 1) > 0) {
		}
		printf("%lld\n", now_ns() - t0);
		return 0;
	}
	if (strcmp(argv[1], "get") == 0 && argc >= 4) {
		int port = atoi(argv[2]), n = atoi(argv[3]);
		int proxy = argc > 4 ? atoi(argv[4]) : 0;
		char req[256], buf[4096];
		int len = proxy > 0
			? snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port, port)
			: snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
		long long t0 = now_ns();
		for (int i = 0; i < n; i++) {
			int fd = dial(proxy > 0 ? proxy : port);
			if (write(fd, req, (size_t)len) != len)
				die("write");
			size_t got = 0;
			ssize_t r;
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				got += (size_t)r;
			if (got == 0 || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
				fprintf(stderr, "request %d failed: %.*s\n", i, (int)got, buf);
				return 1;
			}
			close(fd);
		}
		printf("%lld\n", now_ns() - t0);
		return 0;
	}
	if (strcmp(argv[1], "idle") == 0 && argc >= 5) {
		int port = atoi(argv[2]), n = atoi(argv[3]), proxy = atoi(argv[4]);
		for (int i = 0; i < n; i++)
			open_to(port, proxy);
		printf("ready\n");
		fflush(stdout);
		char c;
		while (read(0, &c, 1) > 0) {
		}
		return 0;
	}
	return 2;
}
