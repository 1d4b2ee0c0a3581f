/* The Landlock backend's notifying filter (src/inner/seccomp_notify.c)
 * against the real kernel: a child installs it and makes calls, the test
 * answers every notification with EXDEV (which no call here would give by
 * itself) and records the syscall numbers. So the child sees EXDEV exactly
 * for the calls that reach the broker: metadata calls (and the chattr
 * ioctls) always, opens only when they create, write, truncate or make an
 * O_TMPFILE, creation only when asked for; setxattrat gets ENOSYS; with the
 * process group pinned, setsid and setpgid elsewhere get EPERM; the rest
 * reaches the kernel untouched. */
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
	bool pin; /* pin the process group (the Landlock run without a cgroup) */
};

/* Exit status: 0, or the number of the first check that failed. */
static int child(void *p)
{
	const struct args *a = p;
	ab_error err;
	bool notify;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 100;
	struct notify_opts no = {.fs = a->fs, .pin_pgid = a->pin ? (int)getpgrp() : 0};
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
	/* opens that write or truncate without creating, and O_TMPFILE */
	CHECK(16, (int)syscall(SYS_openat, AT_FDCWD, MISSING, O_WRONLY, 0), fs_errno);
	CHECK(17, (int)syscall(SYS_openat, AT_FDCWD, MISSING, O_RDONLY | O_TRUNC, 0), fs_errno);
	CHECK(18, (int)syscall(SYS_openat, AT_FDCWD, MISSING, O_TMPFILE | O_RDWR, 0600), fs_errno);
	/* inode flags (chattr) are metadata; only the command's low word
	 * counts, as in the kernel; other ioctls pass */
	CHECK(19, (int)syscall(SYS_ioctl, -1, 0x40086602UL, 0), EXDEV);
	CHECK(20, (int)syscall(SYS_ioctl, -1, 0x0000000140086602UL, 0), EXDEV);
	CHECK(21, (int)syscall(SYS_ioctl, -1, 0x401c5820UL, 0), EXDEV);
	CHECK(22, (int)syscall(SYS_ioctl, -1, 0x80086601UL /* GETFLAGS */, 0), EBADF);
	/* the process group: left only when not pinned */
	if (a->pin) {
		CHECK(23, (int)syscall(SYS_setsid), EPERM);
		CHECK(24, (int)syscall(SYS_setpgid, 0, 0), EPERM);
		CHECK(25, (int)syscall(SYS_setpgid, 0, (long)getpid()), EPERM);
		/* pid_t is the low word: a high word cannot smuggle a match */
		CHECK(26, (int)syscall(SYS_setpgid, 0, (long)getpid() | (1L << 32)), EPERM);
		if (syscall(SYS_setpgid, 0, (long)getpgrp()) != 0)
			return 27; /* staying in the run's own group is fine */
	} else if (syscall(SYS_setpgid, 0, 0) != 0) {
		return 28;
	}
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

static void run(bool fs, bool pin)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	struct args a = {.sock = sv[1], .fs = fs, .pin = pin};
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
	run(true, false);
}

static void test_notify_metadata_only(void **state)
{
	(void)state;
	run(false, false);
}

static void test_process_group_pinned(void **state)
{
	(void)state;
	run(true, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_with_creation),
		cmocka_unit_test(test_notify_metadata_only),
		cmocka_unit_test(test_process_group_pinned),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
