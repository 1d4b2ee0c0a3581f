/* The Landlock backend's notifying filter (src/inner/seccomp_notify.c)
 * against the real kernel: a child installs it and makes calls, the test
 * answers every notification with EXDEV (which no call here would give by
 * itself) and records the syscall numbers. So the child sees EXDEV exactly
 * for the calls that reach the broker: metadata calls always, opens only
 * with O_CREAT, creation only when asked for; setxattrat gets ENOSYS; the
 * rest reaches the kernel untouched. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "inner/seccomp_notify.h"
#include "probe_child.h"

#define MISSING "/nonexistent-agentbox-test/x"

struct args {
	int sock;
	bool fs;
};

/* Exit status: 0, or the number of the first check that failed. */
static int child(void *p)
{
	const struct args *a = p;
	ab_error err;
	bool notify;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 100;
	struct notify_opts no = {.fs = a->fs};
	if (seccomp_notify_install(a->sock, &no, &notify, &err) < 0 || !notify)
		return 101;
	int fs_errno = a->fs ? EXDEV : ENOENT;
#define CHECK(n, call, want) \
	do { errno = 0; if ((call) != -1 || errno != (want)) return (n); } while (0)
	CHECK(1, chmod(MISSING, 0644), EXDEV);
	CHECK(2, fchmod(-1, 0644), EXDEV);
	CHECK(3, (int)syscall(SYS_utimensat, AT_FDCWD, MISSING, NULL, 0), EXDEV);
	CHECK(4, (int)syscall(SYS_fchownat, AT_FDCWD, MISSING, 0, 0, 0), EXDEV);
	CHECK(5, (int)syscall(SYS_setxattr, MISSING, "user.x", "v", 1, 0), EXDEV);
	CHECK(6, (int)syscall(SYS_openat, AT_FDCWD, MISSING, O_RDONLY, 0), ENOENT);
	CHECK(7, (int)syscall(SYS_openat, AT_FDCWD, MISSING, O_WRONLY | O_CREAT, 0644), fs_errno);
	CHECK(8, (int)syscall(SYS_mkdirat, AT_FDCWD, MISSING, 0755), fs_errno);
	CHECK(9, (int)syscall(SYS_unlinkat, AT_FDCWD, MISSING, 0), fs_errno);
	CHECK(10, (int)syscall(SYS_renameat2, AT_FDCWD, MISSING, AT_FDCWD, MISSING "2", 0), fs_errno);
	CHECK(11, (int)syscall(SYS_symlinkat, "t", AT_FDCWD, MISSING), fs_errno);
	CHECK(12, (int)syscall(463 /* setxattrat */, AT_FDCWD, MISSING, 0, "user.x", NULL, 0), ENOSYS);
	CHECK(13, (int)syscall(SYS_faccessat, AT_FDCWD, MISSING, F_OK), ENOENT);
#ifdef SYS_open
	CHECK(14, (int)syscall(SYS_open, MISSING, O_RDONLY), ENOENT);
	CHECK(15, (int)syscall(SYS_open, MISSING, O_RDWR | O_CREAT | O_EXCL, 0600), fs_errno);
#endif
#undef CHECK
	return 0;
}

static int receive_fd(int sock)
{
	char c;
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&m))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	return fd;
}

static void run(bool fs)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	struct args a = {.sock = sv[1], .fs = fs};
	pid_t pid = probe_child_start(child, &a);
	close(sv[1]);
	int listener = receive_fd(sv[0]);
	close(sv[0]);
	assert_true(listener >= 0);
	struct seccomp_notif_sizes sz;
	assert_int_equal(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz), 0);
	struct seccomp_notif *req = calloc(1, sz.seccomp_notif > sizeof(*req) ? sz.seccomp_notif : sizeof(*req));
	struct seccomp_notif_resp *resp = calloc(1, sz.seccomp_notif_resp > sizeof(*resp) ? sz.seccomp_notif_resp : sizeof(*resp));
	assert_non_null(req);
	assert_non_null(resp);
	int answered = 0;
	for (;;) {
		struct pollfd p = {.fd = listener, .events = POLLIN};
		int n = poll(&p, 1, 10000);
		assert_true(n > 0); /* a stuck call would hang here, not pass */
		if (!(p.revents & POLLIN))
			break; /* POLLHUP: the child is gone */
		memset(req, 0, sz.seccomp_notif);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
			continue;
		memset(resp, 0, sz.seccomp_notif_resp);
		resp->id = req->id;
		resp->error = -EXDEV;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0)
			answered++;
	}
	int st = probe_child_wait(pid);
	free(req);
	free(resp);
	close(listener);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fail_msg("check %d in the child failed (fs=%d)", WEXITSTATUS(st), fs);
	/* 5 metadata calls, and with fs the 5 (or 6 with open) creating ones */
	assert_true(answered >= (fs ? 10 : 5));
}

static void test_notify_with_creation(void **state)
{
	(void)state;
	run(true);
}

static void test_notify_metadata_only(void **state)
{
	(void)state;
	run(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_with_creation),
		cmocka_unit_test(test_notify_metadata_only),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
