/* The built-in engine's process side: clone the sandbox init into its
 * namespaces, and everything that init does before the mount tree (id maps,
 * loopback) and after it (capabilities, then the inner stage).
 *
 * Why no re-exec: the sandbox init is a copy of agentbox made by clone(2)
 * and continues as the inner stage in place. Its binary is never executed
 * inside the sandbox, so no sandboxed process can reach it as
 * /proc/PID/exe of something it may write (the runc CVE-2019-5736 class);
 * the init is also non-dumpable, which closes /proc/1/exe, /proc/1/fd and
 * /proc/1/mem to the command. It saves an exec and a dynamic link as well. */
#include "backend/builtin/builtin.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/watch.h"
#include "common/caps.h"
#include "common/fdpass.h"
#include "common/safe_clone.h"
#include "common/error.h"
#include "common/util.h"
#include "inner/inner.h"
#include "inner/verify.h"
#include "plan/expect.h"
#include "common/phase_clock.h"

extern char **environ;

/* One report, written once with a single write (smaller than PIPE_BUF, so
 * it arrives whole). */
struct setup_report {
	int failure; /* enum builtin_failure */
	int code;    /* errno */
	char message[2048];
};

/* builtin_check creates every namespace in the clone. A run creates the
 * network namespace in a helper instead (see netns_start). */
static unsigned long clone_flags(ab_net net)
{
	unsigned long f = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	if (net != AB_NET_FULL)
		f |= CLONE_NEWNET;
	return f;
}

static _Noreturn void report_and_exit(int fd, enum builtin_failure failure, const ab_error *err)
{
	struct setup_report r = {.failure = (int)failure, .code = err->code};
	snprintf(r.message, sizeof(r.message), "%s", err->message);
	ssize_t n = write(fd, &r, sizeof(r));
	(void)n;
	_exit(AB_EXIT_FAILURE);
}

static int write_proc(int procfd, const char *name, const char *text, ab_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "self/%s", name);
	int fd = openat(procfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ab_fail_errno(err, errno, "cannot open /proc/self/%s of the sandbox", name);
	ssize_t len = (ssize_t)strlen(text);
	ssize_t n = write(fd, text, (size_t)len);
	int e = errno;
	close(fd);
	if (n != len)
		return ab_fail_errno(err, n < 0 ? e : EIO, "cannot write '%.*s' to /proc/self/%s",
				     (int)strcspn(text, "\n"), text, name);
	return 0;
}

/* The caller's ids map to themselves, nothing else is mapped, and
 * setgroups is denied (an unprivileged caller must; root gains nothing
 * from it either). */
static int write_id_maps(int procfd, uid_t uid, gid_t gid, ab_error *err)
{
	char line[64];
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	int r = write_proc(procfd, "uid_map", line, err);
	if (r == 0)
		r = write_proc(procfd, "setgroups", "deny\n", err);
	if (r == 0) {
		snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		r = write_proc(procfd, "gid_map", line, err);
	}
	if (r < 0)
		ab_error_hint(err, "cause: the new user namespace refused the id mapping (is uid %u mapped in agentbox's own namespace? `cat /proc/self/uid_map`)",
			      (unsigned)uid);
	return r;
}

static int loopback_up(ab_error *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ab_fail_errno(err, errno, "cannot open a socket to bring up loopback");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return ab_fail_errno(err, errno, "cannot read the loopback interface's flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return ab_fail_errno(err, errno, "cannot bring up the loopback interface");
	return 0;
}

/* A new network namespace costs about as much as the whole mount tree
 * (the kernel registers its sysctl tables), so a helper child creates it
 * on the other CPU while the sandbox init builds the mounts. The helper
 * brings loopback up, hands the namespace over as an fd and exits; the
 * init joins it before anything of the command runs. Until then the init
 * is in the caller's network namespace but runs only agentbox's code. */
struct netns_helper {
	pid_t pid;
	int sock;
};

/* The new namespace's counters for agentbox's refusal summary: opened
 * here, where they are the new namespace's for sure, and long before the
 * command could end (an open procfs net file keeps its namespace). What
 * fails here only leaves the summary without a count. */
static void send_counters(int procfd, int counters_fd)
{
	if (counters_fd < 0)
		return;
	int fds[2];
	size_t n = 0;
	if ((fds[n] = openat(procfd, "thread-self/net/snmp", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	if (n == 1 && (fds[n] = openat(procfd, "thread-self/net/snmp6", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	if (n)
		(void)fdpass_send(counters_fd, "n", 1, fds, n);
}

static _Noreturn void netns_helper_main(int procfd, int sock, int counters_fd)
{
	ab_error e = {0};
	int fd = -1;
	if (unshare(CLONE_NEWNET) < 0)
		ab_fail_errno(&e, errno, "cannot create a network namespace");
	else if (loopback_up(&e) == 0 &&
		 (fd = openat(procfd, "thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		ab_fail_errno(&e, errno, "cannot open the new network namespace");
	if (fd >= 0)
		send_counters(procfd, counters_fd);
	char msg[sizeof(e.message)];
	snprintf(msg, sizeof(msg), "%s", fd >= 0 ? "ok" : e.message);
	_exit(fdpass_send(sock, msg, strlen(msg) + 1, &fd, fd >= 0 ? 1 : 0) < 0 ? 1 : 0);
}

static int netns_start(int procfd, int counters_fd, struct netns_helper *h, ab_error *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return ab_fail_errno(err, errno, "cannot create a socket pair for the network namespace");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return ab_fail_errno(err, errno, "cannot fork to create the network namespace");
	}
	if (pid == 0) {
		close(sv[0]);
		netns_helper_main(procfd, sv[1], counters_fd);
	}
	close(sv[1]);
	h->pid = pid;
	h->sock = sv[0];
	return 0;
}

static int netns_join(struct netns_helper *h, ab_error *err)
{
	char msg[sizeof(err->message)];
	int fds[FDPASS_MAX];
	size_t n_fds;
	ssize_t n = fdpass_recv(h->sock, msg, sizeof(msg) - 1, fds, &n_fds);
	int e = errno;
	close(h->sock);
	while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n <= 0 || n_fds != 1) {
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		if (n > 0) {
			msg[n] = '\0';
			return ab_fail(err, EPERM, "%s", msg);
		}
		return ab_fail_errno(err, n < 0 ? e : EIO, "the network namespace helper failed");
	}
	int r = setns(fds[0], CLONE_NEWNET);
	e = errno;
	close(fds[0]);
	if (r < 0)
		return ab_fail_errno(err, e, "cannot join the new network namespace");
	return 0;
}

static bool parent_gone(int life_fd)
{
	struct pollfd p = {.fd = life_fd, .events = POLLIN};
	return poll(&p, 1, 0) != 0;
}

struct init_args {
	const struct builtin_request *req;
	int procfd, report_fd, life_fd;
	uid_t uid;
	gid_t gid;
};

static int verify_root(const struct plan *plan, const bool *skip_op, ab_error *err)
{
	struct mount_expect *ex = xcalloc(plan->n_ops + 1, sizeof(*ex));
	int r = mount_verify_all(ex, plan_mount_expects(plan, skip_op, ex), err);
	free(ex);
	return r;
}

/* The sandbox init, right after clone: PID 1 of the new PID namespace. */
static _Noreturn void sandbox_init(const struct init_args *a)
{
	ab_error err = {0};
	enum builtin_failure failure = BUILTIN_FAIL_HOST;
	const struct plan *plan = a->req->plan;

	/* Nothing may outlive agentbox; if it is already gone, stop. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (parent_gone(a->life_fd))
		_exit(AB_EXIT_FAILURE);
	/* agentbox's dispositions are its own business. The forwarded
	 * signals stay blocked (as agentbox blocked them before the clone):
	 * PID 1 drops unblocked signals it has no handler for, and one sent
	 * during setup must still reach the command. The command starts with
	 * the caller's mask. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);

	phase_mark("init: started");
	if (write_id_maps(a->procfd, a->uid, a->gid, &err) < 0)
		report_and_exit(a->report_fd, BUILTIN_FAIL_HOST, &err);
	phase_mark("init: id maps written");
	struct netns_helper nh = {.pid = -1, .sock = -1};
	if (plan->net != AB_NET_FULL &&
	    netns_start(a->procfd, a->req->counters_fd, &nh, &err) < 0)
		report_and_exit(a->report_fd, BUILTIN_FAIL_HOST, &err);
	close(a->procfd);
	phase_mark("init: netns helper forked");
	if (builtin_build_root(plan, a->req->skip_op, a->req->held, a->req->legacy_mounts, &failure,
			       &err) < 0)
		report_and_exit(a->report_fd, failure, &err);
	/* The same post-start check as the bwrap backend's inner stage: each
	 * mount holds what the plan resolved. Every mount above was made by
	 * fd on a checked file, so this is the guarantee stated once more,
	 * for every namespace backend alike. */
	phase_mark("init: mounts built");
	if (verify_root(plan, a->req->skip_op, &err) < 0)
		report_and_exit(a->report_fd, BUILTIN_FAIL_REFUSE, &err);
	phase_mark("init: mounts verified");
	if (nh.pid > 0 && netns_join(&nh, &err) < 0)
		report_and_exit(a->report_fd, BUILTIN_FAIL_HOST, &err);
	phase_mark("init: netns joined");
	/* Its own session: the command cannot push input into the caller's
	 * terminal (TIOCSTI) nor get signals from it. */
	if (setsid() < 0) {
		ab_fail_errno(&err, errno, "cannot start a new session");
		report_and_exit(a->report_fd, BUILTIN_FAIL_REFUSE, &err);
	}
	if (caps_drop_all(&err) < 0)
		report_and_exit(a->report_fd, BUILTIN_FAIL_REFUSE, &err);

	if (watch_child_stdio(a->req->stdio) < 0) {
		ab_fail_errno(&err, errno, "cannot give the command the standard input, output and error it was given");
		report_and_exit(a->report_fd, BUILTIN_FAIL_REFUSE, &err);
	}
	phase_mark("init: session, caps, stdio");
	environ = a->req->envp;
	struct inner_config ic = {
		.net = plan->net,
		.stderr_fd = -1,
		.bridge_fd = a->req->bridge_fd,
		.ctty = a->req->ctty,
		.command_mask = a->req->child_mask,
		.command = (char **)a->req->command,
	};
	/* closes the report pipe with every other inherited fd: EOF tells
	 * agentbox that setup is over */
	inner_enter(&ic);
}

static int clone_failed(int e, ab_error *err)
{
	int r = ab_fail_errno(err, e, "cannot create the sandbox's namespaces (clone)");
	if (e == EPERM || e == EACCES)
		ab_error_hint(err, "cause: this host does not let this user create user namespaces (kernel.unprivileged_userns_clone=0, a container's seccomp profile, or AppArmor)");
	else if (e == ENOSPC || e == EUSERS)
		ab_error_hint(err, "cause: the namespace limit is reached (user.max_user_namespaces, user.max_net_namespaces ...)");
	return r;
}

static int open_procfs(ab_error *err)
{
	int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ab_fail_errno(err, errno, "cannot open /proc");
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
		close(fd);
		return ab_fail(err, ENOTSUP,
			       "/proc is not a procfs mount, so the new namespace's id maps cannot be written safely\n"
			       "fix: mount procfs on /proc");
	}
	return fd;
}

int builtin_spawn(const struct builtin_request *req, struct builtin_child *out,
		  enum builtin_failure *failure, ab_error *err)
{
	*failure = BUILTIN_FAIL_REFUSE;
	out->pid = -1;
	out->report_fd = out->life_fd = -1;
	int procfd = open_procfs(err);
	if (procfd < 0)
		return procfd;
	int rep[2], life[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(procfd);
		return ab_fail_errno(err, errno, "cannot create the setup report pipe");
	}
	if (pipe2(life, O_CLOEXEC) < 0) {
		close(procfd);
		close(rep[0]);
		close(rep[1]);
		return ab_fail_errno(err, errno, "cannot create a pipe");
	}
	struct init_args a = {
		.req = req, .procfd = procfd, .report_fd = rep[1], .life_fd = life[0],
		.uid = geteuid(), .gid = getegid(),
	};
	/* Like fork, but straight into the new namespaces: the child is PID 1
	 * of its PID namespace, with no intermediate process. */
	pid_t pid = safe_clone(clone_flags(AB_NET_FULL)); /* raw clone, safe with threads */
	if (pid == 0) {
		close(rep[0]);
		close(life[1]);
		sandbox_init(&a);
	}
	int e = errno;
	close(procfd);
	close(rep[1]);
	close(life[0]);
	if (pid < 0) {
		close(rep[0]);
		close(life[1]);
		*failure = BUILTIN_FAIL_HOST;
		return clone_failed(e, err);
	}
	out->pid = pid;
	out->report_fd = rep[0];
	out->life_fd = life[1];
	*failure = BUILTIN_OK;
	return 0;
}

int builtin_decode_report(const char *buf, size_t len, enum builtin_failure *failure,
			  ab_error *err)
{
	*failure = BUILTIN_OK;
	if (len == 0)
		return 0;
	struct setup_report r;
	if (len != sizeof(r)) {
		*failure = BUILTIN_FAIL_REFUSE;
		return ab_fail(err, EIO, "the sandbox init sent a malformed setup report (%zu bytes)", len);
	}
	memcpy(&r, buf, sizeof(r));
	r.message[sizeof(r.message) - 1] = '\0';
	*failure = r.failure >= BUILTIN_FAIL_HOST && r.failure <= BUILTIN_FAIL_REFUSE
			   ? (enum builtin_failure)r.failure
			   : BUILTIN_FAIL_REFUSE;
	return ab_fail(err, r.code ? r.code : EIO, "%s", r.message);
}

int builtin_check(ab_net net, ab_error *err)
{
	int procfd = open_procfs(err);
	if (procfd < 0)
		return procfd;
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(procfd);
		return ab_fail_errno(err, errno, "cannot create a pipe");
	}
	uid_t uid = geteuid();
	gid_t gid = getegid();
	pid_t pid = safe_clone(clone_flags(net));
	if (pid == 0) {
		ab_error e = {0};
		close(rep[0]);
		if (write_id_maps(procfd, uid, gid, &e) < 0)
			report_and_exit(rep[1], BUILTIN_FAIL_HOST, &e);
		if (mount("tmpfs", "/proc", "tmpfs", 0, NULL) < 0) {
			ab_fail_errno(&e, errno, "cannot mount a tmpfs in the new mount namespace");
			report_and_exit(rep[1], BUILTIN_FAIL_HOST, &e);
		}
		_exit(0);
	}
	int e = errno;
	close(procfd);
	close(rep[1]);
	if (pid < 0) {
		close(rep[0]);
		return clone_failed(e, err);
	}
	struct setup_report r;
	ssize_t n;
	do
		n = read(rep[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	enum builtin_failure f;
	return builtin_decode_report((const char *)&r, n > 0 ? (size_t)n : 0, &f, err);
}
