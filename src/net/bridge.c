#include "net/bridge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/error.h"

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
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {.iov_base = (void *)bridge_tag, .iov_len = sizeof(bridge_tag)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
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
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = tag, .iov_len = sizeof(tag)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ab_fail_errno(err, errno, "proxy bridge: cannot receive the sandbox's listeners");
	if (n == 0)
		return ab_fail(err, EPIPE, "proxy bridge: the sandbox closed the bridge before handing over its listeners");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	bool ok = c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		  c->cmsg_len == CMSG_LEN(2 * sizeof(int));
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		/* Close whatever arrived if the message is not the expected one. */
		size_t got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int tmp[2] = {-1, -1};
		memcpy(tmp, CMSG_DATA(c), (got > 2 ? 2 : got) * sizeof(int));
		if (ok) {
			fds[0] = tmp[0];
			fds[1] = tmp[1];
		} else {
			for (size_t i = 0; i < got && i < 2; i++)
				close(tmp[i]);
		}
	}
	if (!ok || n != (ssize_t)sizeof(tag) || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
	    memcmp(tag, bridge_tag, sizeof(tag)) != 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		fds[0] = fds[1] = -1;
		return ab_fail(err, EPROTO, "proxy bridge: the sandbox sent a malformed hand-over message");
	}
	return 0;
}
