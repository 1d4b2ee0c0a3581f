/* The broker's thread (see broker.h): receive the listener, then answer
 * each notification until the command is gone or agentbox stops us.
 *
 * The thread drops its own capabilities first (capset acts on the calling
 * thread only): as root, agentbox's main thread keeps what it needs, while
 * whatever the broker does for the command is checked by the kernel as for
 * a process of the same user with no capabilities, as the command is. */
#include "backend/landlock/broker.h"
#include "backend/landlock/broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <stdio.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

/* Threads answering notifications: a build's parallel jobs each wait for
 * their own answer. Small: the work is mostly the kernel's. */
#define BROKER_WORKERS 3

int broker_read_mem(const struct broker_call *c, unsigned long long addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	ssize_t n = process_vm_readv((pid_t)c->req->pid, &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

int broker_read_str(const struct broker_call *c, unsigned long long addr, char *buf, size_t max)
{
	const size_t page = 4096;
	size_t got = 0;
	if (!addr)
		return -EFAULT;
	/* page by page: a string may end just before an unmapped page */
	while (got < max) {
		size_t chunk = page - (size_t)((addr + got) % page);
		if (chunk > max - got)
			chunk = max - got;
		if (broker_read_mem(c, addr + got, buf + got, chunk) < 0)
			return -EFAULT;
		char *nul = memchr(buf + got, '\0', chunk);
		if (nul)
			return 0;
		got += chunk;
	}
	return -ENAMETOOLONG;
}

bool broker_still_valid(const struct broker_call *c)
{
	__u64 id = c->req->id;
	return ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int drop_thread_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* The listener, or -1 when the inner stage said it has none (a kernel
 * without notifications: its filter refuses the calls itself) or agentbox
 * stops first. */
static int receive_listener(struct ll_broker *b)
{
	struct pollfd p[2] = {{.fd = b->sock, .events = POLLIN}, {.fd = b->stop_r, .events = POLLIN}};
	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (p[1].revents || !(p[0].revents & POLLIN))
		return -1;
	char data;
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	if (recvmsg(b->sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The caller never got the answer (ENOENT: interrupted, it restarts the
 * call, or killed): take back what was created for it. */
static void undo(struct broker_call *c, bool undelivered)
{
	if (c->undo_dir < 0)
		return;
	if (undelivered)
		unlinkat(c->undo_dir, c->undo_name, c->undo_flags);
	close(c->undo_dir);
	c->undo_dir = -1;
}

static void answer(struct ll_broker *b, struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	struct broker_call c = {.b = b, .listener = b->listener, .req = req, .undo_dir = -1};
	long long val = -ENOSYS;
	enum broker_verdict v = BV_REPLY;
	/* anything the broker does not know is refused, never continued */
	if (!broker_meta(&c, &val) && !broker_fs(&c, &v, &val))
		val = -EPERM;
	if (v == BV_SENT) {
		if (c.undo_dir >= 0)
			close(c.undo_dir);
		return;
	}
	resp->id = req->id;
	resp->flags = 0;
	if (v == BV_CONTINUE) {
		/* Landlock stays in force for the continued call */
		resp->val = 0;
		resp->error = 0;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else if (val < 0) {
		resp->val = 0;
		resp->error = (__s32)val;
	} else {
		resp->val = val;
		resp->error = 0;
	}
	/* ENOENT: the caller is gone (killed meanwhile); nothing to do */
	int r;
	while ((r = ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, resp)) < 0 && errno == EINTR)
		;
	if (r < 0 && errno == EINVAL && (resp->flags & SECCOMP_USER_NOTIF_FLAG_CONTINUE)) {
		/* a kernel without CONTINUE (< 5.5): refuse rather than hang */
		resp->flags = 0;
		resp->error = -EPERM;
		while (ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno == EINTR)
			;
	}
	undo(&c, r < 0 && errno == ENOENT);
}

void broker_note_created(struct broker_call *c, int dir, const char *name, int flags)
{
	if (c->undo_dir >= 0 || strlen(name) >= sizeof(c->undo_name))
		return;
	c->undo_dir = fcntl(dir, F_DUPFD_CLOEXEC, 3);
	snprintf(c->undo_name, sizeof(c->undo_name), "%s", name);
	c->undo_flags = flags;
}

/* One worker: answers notifications until the command is gone or agentbox
 * stops us. Several run at once (a build's parallel jobs each wait for
 * their own answer); each receives whole notifications, and everything a
 * call needs lives on its own stack. */
static void *serve(void *arg)
{
	struct ll_broker *b = arg;
	struct seccomp_notif_sizes sz = {0};
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return NULL;
	/* the kernel writes its own struct size, which may be newer than ours */
	size_t req_len = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif : sizeof(struct seccomp_notif);
	size_t resp_len = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ?
				  sz.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
	struct seccomp_notif *req = calloc(1, req_len);
	struct seccomp_notif_resp *resp = calloc(1, resp_len);
	for (;;) {
		if (!req || !resp)
			break;
		struct pollfd p[2] = {{.fd = b->listener, .events = POLLIN}, {.fd = b->stop_r, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			memset(req, 0, req_len);
			/* another worker may have taken it: ENOENT, go on */
			if (ioctl(b->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
				continue; /* EINTR, or ENOENT: the caller died */
			memset(resp, 0, resp_len);
			answer(b, req, resp);
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			break; /* no process of the command is left */
		}
	}
	free(req);
	free(resp);
	return NULL;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

static void *broker_main(void *arg)
{
	struct ll_broker *b = arg;
	/* Whatever ends this thread closes the listener (and the socket that
	 * may still carry it): the command's notified calls then fail with
	 * ENOSYS instead of waiting for an answer that never comes. */
	/* A umask of its own (0): the caller's is applied by hand. Where
	 * unshare is refused (a container's seccomp profile), agentbox's own
	 * umask applies as well: modes come out stricter, never wider. */
	if (unshare(CLONE_FS) == 0)
		umask(0);
	if (drop_thread_caps() == 0)
		b->listener = receive_listener(b);
	close(b->sock);
	b->sock = -1;
	if (b->listener < 0)
		return NULL;
	/* ADDFD (5.9): an unknown id gives ENOENT where the call exists (the
	 * source fd must be open, or EBADF comes first: the listener is) */
	struct seccomp_notif_addfd probe = {.id = 0, .srcfd = (__u32)b->listener};
	b->addfd = ioctl(b->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &probe) < 0 && errno == ENOENT;
	/* 6.6+: the kernel wakes the broker on the caller's CPU and the
	 * caller on the broker's, as for a synchronous call (a notification
	 * is one): fewer migrations per call. Older kernels: EINVAL, fine. */
	ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (unsigned long)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	/* the other workers inherit this thread's credentials (no
	 * capabilities) and share its umask of 0 (CLONE_FS) */
	pthread_t extra[BROKER_WORKERS - 1];
	size_t n_extra = 0;
	for (size_t i = 0; i < BROKER_WORKERS - 1; i++)
		if (pthread_create(&extra[n_extra], NULL, serve, b) == 0)
			n_extra++;
	serve(b);
	/* the others end too: the stop pipe or POLLHUP reaches every one */
	for (size_t i = 0; i < n_extra; i++)
		pthread_join(extra[i], NULL);
	close(b->listener);
	b->listener = -1;
	return NULL;
}

bool broker_available(void)
{
	struct seccomp_notif_sizes sz;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return false;
	/* ADDFD cannot be probed without a listener: by release */
	struct utsname u;
	unsigned maj = 0, min = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return false;
	return maj > 5 || (maj == 5 && min >= 9);
}

static void add_ident(struct ll_broker *b, const struct plan_node *n, size_t *cap)
{
	grow_array((void **)&b->idents, cap, b->n_idents + 1, sizeof(*b->idents));
	/* agentbox's own state stays read-only under Landlock (landlock.h) */
	bool w = n->access == AB_ACCESS_WRITE && n->source != NODE_STATE;
	b->idents[b->n_idents++] = (struct broker_ident){
		.dev = n->dev, .ino = n->ino, .is_dir = n->is_dir, .writable = w,
	};
}

int broker_start(const struct plan *plan, int sock, struct ll_broker **out, ab_error *err)
{
	struct ll_broker *b = calloc(1, sizeof(*b));
	if (!b) {
		close(sock);
		return ab_fail(err, ENOMEM, "landlock: out of memory for the broker");
	}
	b->sock = sock;
	b->listener = -1;
	b->plan = plan;
	b->root_writable = plan->root_writable;
	size_t cap = 0;
	for (size_t i = 0; i < plan->n_nodes; i++)
		if (plan->nodes[i].exists)
			add_ident(b, &plan->nodes[i], &cap);
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0) {
		int r = ab_fail_errno(err, errno, "landlock: cannot create the broker's stop pipe");
		ab_error_hint(err, "fix: the process may be out of file descriptors (ulimit -n)");
		b->stop_r = b->stop_w = -1;
		broker_stop(b);
		return r;
	}
	b->stop_r = pp[0];
	b->stop_w = pp[1];
	int e = pthread_create(&b->thread, NULL, broker_main, b);
	if (e) {
		broker_stop(b);
		return ab_fail_errno(err, e, "landlock: cannot start the broker thread that judges mode, owner, time and xattr changes");
	}
	b->started = true;
	*out = b;
	return 0;
}

void broker_stop(struct ll_broker *b)
{
	if (!b)
		return;
	if (b->started) {
		char x = 'x';
		ssize_t w = write(b->stop_w, &x, 1);
		(void)w;
		pthread_join(b->thread, NULL);
	}
	int fds[] = {b->sock, b->listener, b->stop_r, b->stop_w};
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(b->idents);
	free(b);
}
