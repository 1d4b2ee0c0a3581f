#include "net/bridge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fdpass.h"

/* The two descriptors travel with a fixed tag, so a stray message on the
 * socket (there should be none) cannot be mistaken for them. */
static const char bridge_tag[8] = "abridge";

static int listen_loopback(unsigned port, ab_error *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ab_fail_errno(err, errno, "proxy bridge: cannot create a socket in the sandbox's network namespace");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, BRIDGE_HOST, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		return ab_fail_errno(err, e, "proxy bridge: cannot listen on %s:%u in the sandbox's network namespace",
				     BRIDGE_HOST, port);
	}
	return fd;
}

int bridge_send_listeners(int sock, ab_error *err)
{
	int fds[2];
	fds[0] = listen_loopback(BRIDGE_HTTP_PORT, err);
	if (fds[0] < 0)
		return fds[0];
	fds[1] = listen_loopback(BRIDGE_SOCKS_PORT, err);
	if (fds[1] < 0) {
		close(fds[0]);
		return fds[1];
	}
	ssize_t n = fdpass_send(sock, bridge_tag, sizeof(bridge_tag), fds, 2);
	int e = errno;
	close(fds[0]);
	close(fds[1]);
	if (n != (ssize_t)sizeof(bridge_tag))
		return ab_fail_errno(err, n < 0 ? e : EIO,
				     "proxy bridge: cannot hand the listeners to agentbox (is agentbox gone?)");
	return 0;
}

int bridge_recv_listeners(int sock, int fds[2], ab_error *err)
{
	fds[0] = fds[1] = -1;
	char tag[sizeof(bridge_tag)];
	int got[FDPASS_MAX];
	size_t n_got;
	ssize_t n = fdpass_recv(sock, tag, sizeof(tag), got, &n_got);
	if (n < 0 && errno != EMSGSIZE)
		return ab_fail_errno(err, errno, "proxy bridge: cannot receive the sandbox's listeners");
	if (n == 0)
		return ab_fail(err, EPIPE, "proxy bridge: the sandbox closed the bridge before handing over its listeners");
	if (n != (ssize_t)sizeof(tag) || n_got != 2 || memcmp(tag, bridge_tag, sizeof(tag)) != 0) {
		for (size_t i = 0; i < n_got; i++)
			close(got[i]);
		return ab_fail(err, EPROTO, "proxy bridge: the sandbox sent a malformed hand-over message");
	}
	fds[0] = got[0];
	fds[1] = got[1];
	return 0;
}
