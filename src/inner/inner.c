/* The inner stage: last steps inside the sandbox, then fork and exec the
 * command and stay behind as its init (see inner.h for the contract).
 *
 * Nothing here allocates, and every exit is _exit(): once the filter is in
 * place ptrace is denied, and LeakSanitizer (in sanitizer builds) needs
 * ptrace for its check at exit() and would turn every status into 1.
 * stderr is unbuffered and stdout is never used, so nothing is lost. */
#include "inner/inner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <signal.h>
#include <stdarg.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentbox.h"
#include "inner/env_fd.h"
#include "inner/landlock_enforce.h"
#include "inner/seccomp.h"
#include "inner/seccomp_notify.h"
#include "inner/verify.h"
#include "net/bridge.h"
#include "common/phase_clock.h"

extern char **environ;

#define INNER_USAGE \
	"usage: agentbox __inner [--net none|full|proxy] [--stderr-fd N] [--bridge-fd N] [--life-fd N] [--ctty on] [--env-fd N]\n" \
	"                        [--expect KIND:DEV:INO:PATH]... -- COMMAND [ARG...]"


static _Noreturn void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fputs("agentbox: inner stage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(AB_EXIT_FAILURE);
}

static _Noreturn void usage_error(const char *what, const char *arg)
{
	die("%s%s%s%s\n" INNER_USAGE "\n"
	    "(this stage is started by agentbox's backend, not by hand)",
	    what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
}

static int parse_fd(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX)
		die("%s needs a file descriptor number, got '%s'\n" INNER_USAGE, opt, s);
	return (int)v;
}

static void parse_args(int argc, char **argv, struct inner_config *a)
{
	a->net = AB_NET_NONE;
	a->stderr_fd = -1;
	a->landlock_fd = -1;
	a->landlock_flags = 0;
	a->seccomp_flags = 0; /* the namespace backends: an IPC namespace of their own */
	a->bridge_fd = -1;
	a->life_fd = -1;
	a->env_fd = -1;
	a->ctty = false;
	a->broker_fd = -1;
	a->broker_fs = false;
	a->pin_pgroup = false;
	a->command_mask = NULL;
	a->command = NULL;

	/* argv[0] is AB_INNER_ARG */
	int i = 1;
	for (; i < argc; i++) {
		const char *opt = argv[i];
		if (strcmp(opt, "--") == 0)
			break;
		if (i + 1 >= argc)
			usage_error(strncmp(opt, "--", 2) == 0 ?
					    "missing value or '--' after" :
					    "unexpected argument",
				    opt);
		if (strcmp(opt, "--net") == 0) {
			const char *v = argv[++i];
			if (strcmp(v, "none") == 0)
				a->net = AB_NET_NONE;
			else if (strcmp(v, "full") == 0)
				a->net = AB_NET_FULL;
			else if (strcmp(v, "proxy") == 0)
				a->net = AB_NET_PROXY;
			else
				usage_error("--net must be 'none', 'full' or 'proxy', got", v);
		} else if (strcmp(opt, "--stderr-fd") == 0) {
			a->stderr_fd = parse_fd(opt, argv[++i]);
		} else if (strcmp(opt, "--bridge-fd") == 0) {
			a->bridge_fd = parse_fd(opt, argv[++i]);
		} else if (strcmp(opt, "--life-fd") == 0) {
			a->life_fd = parse_fd(opt, argv[++i]);
		} else if (strcmp(opt, "--env-fd") == 0) {
			a->env_fd = parse_fd(opt, argv[++i]);
		} else if (strcmp(opt, "--ctty") == 0) {
			if (strcmp(argv[++i], "on") != 0)
				usage_error("--ctty takes 'on', got", argv[i]);
			a->ctty = true;
		} else if (strcmp(opt, "--expect") == 0) {
			struct mount_expect e;
			if (mount_expect_parse(argv[++i], &e) < 0)
				usage_error("--expect needs KIND:DEV:INO:PATH, got", argv[i]);
		} else {
			usage_error("unknown option", opt);
		}
	}
	if (i >= argc)
		usage_error("missing '--' before the command", NULL);
	if (i + 1 >= argc)
		usage_error("no command given after '--'", NULL);
	a->command = &argv[i + 1];
}

/* The backend drops every capability; if one survived (a backend bug or a
 * host that ignored the request), running the command would hand it to
 * untrusted code, so stop here. */
static void check_capabilities(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		die("cannot read this process's capabilities (capget): %s",
		    strerror(errno));

	uint64_t eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	uint64_t prm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	if (eff || prm)
		die("the sandbox still holds capabilities (effective=%#" PRIx64
		    " permitted=%#" PRIx64 "); refusing to run the command",
		    eff, prm);

	/* A root command could regain the bounding set on exec, but
	 * no_new_privs (set below, before the exec) prevents that. */
}

static void restore_stderr(int fd)
{
	if (fd < 0 || fd == STDERR_FILENO)
		return;
	if (dup2(fd, STDERR_FILENO) < 0)
		die("cannot restore stderr from fd %d (dup2): %s", fd,
		    strerror(errno));
	if (fd > STDERR_FILENO)
		close(fd);
}

static void close_range_or_die(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, hi, 0U) == 0)
		return;
#else
	errno = ENOSYS;
#endif
	if (errno != ENOSYS)
		die("cannot close inherited file descriptors (close_range): %s",
		    strerror(errno));

	/* Kernels before 5.9. /proc may not be mounted, so walk the range. */
	struct rlimit rl;
	long max = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = rl.rlim_cur > INT_MAX ? INT_MAX : (long)rl.rlim_cur;
	for (long fd = lo; fd < max && fd <= (long)hi; fd++)
		close((int)fd);
}

/* Everything above 2 but the fds in keep[] (ascending, < 3 = unused):
 * the Landlock ruleset (closed once enforced), the broker socket (closed
 * once the listener is sent) and the life pipe, which PID 1 keeps and the
 * command must not inherit (close-on-exec). */
#define N_KEEP 3
static void close_inherited_fds(const int keep[N_KEEP])
{
	unsigned lo = 3U;
	for (int i = 0; i < N_KEEP; i++) {
		if (keep[i] < (int)lo)
			continue;
		close_range_or_die(lo, (unsigned)keep[i] - 1);
		if (fcntl(keep[i], F_SETFD, FD_CLOEXEC) < 0)
			die("cannot mark fd %d close-on-exec: %s", keep[i], strerror(errno));
		lo = (unsigned)keep[i] + 1;
	}
	close_range_or_die(lo, ~0U);
}

static void harden(const struct inner_config *a)
{
	/* Makes /proc/1/exe, /proc/1/fd and /proc/1/mem unreachable for the
	 * command (same uid), so it cannot get at agentbox's binary or fds
	 * through paths that lead back to the host. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("cannot make the inner stage non-dumpable: %s", strerror(errno));

	int keep[N_KEEP] = {a->landlock_fd, a->life_fd, a->broker_fd};
	/* ascending, for close_inherited_fds */
	for (int i = 0; i < N_KEEP; i++)
		for (int j = i + 1; j < N_KEEP; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	close_inherited_fds(keep);

	/* A fresh, empty session keyring: the caller's (with whatever tokens
	 * or credentials it holds) is inherited across bwrap, and kernel users
	 * of keys (network filesystems, for one) would otherwise act with it.
	 * The filter below then refuses every keyring call. ENOSYS: a kernel
	 * without keys has nothing to reach. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
		die("cannot give the command its own session keyring: %s", strerror(errno));

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		die("cannot set no_new_privs: %s", strerror(errno));

	ab_error err;
	if (a->landlock_fd > 0) {
		if (landlock_restrict(a->landlock_fd, a->landlock_flags, &err) < 0)
			die("%s", err.message);
		close(a->landlock_fd);
	}
	if (seccomp_install(a->net, a->seccomp_flags, &err) < 0)
		die("%s", err.message);
	if (a->broker_fd > 0) {
		bool notify;
		/* the session leader's group is the run's: getpgrp() here */
		struct notify_opts no = {.fs = a->broker_fs, .pin_pgid = a->pin_pgroup ? (int)getpgrp() : 0};
		if (seccomp_notify_install(a->broker_fd, &no, &notify, &err) < 0)
			die("%s", err.message);
		close(a->broker_fd);
	}
}

/* The proxy is the only way out of this namespace; without its listeners
 * the command would have no network at all, and not know why. */
static void open_bridge(const struct inner_config *a)
{
	if (a->net != AB_NET_PROXY)
		return;
	if (a->bridge_fd <= 0)
		die("--net proxy needs the bridge to agentbox's proxy (--bridge-fd), which the backend did not give");
	ab_error err;
	if (bridge_send_listeners(a->bridge_fd, &err) < 0)
		die("%s", err.message);
	close(a->bridge_fd);
}

static void forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGCHLD);
}

/* With ctty, the terminal among fds 0-2 is agentbox's own pty (the
 * caller's terminals were all replaced by it): the session, of which we
 * are the leader, takes it as its controlling terminal, so that job
 * control, ^C and interactive programs work as on any terminal. Never
 * done otherwise: the caller's own terminal must stay out of reach
 * (TIOCSTI and its signals). Returns the fd, or -1. */
static int take_terminal(const struct inner_config *a)
{
	if (!a->ctty)
		return -1;
	for (int fd = 0; fd < 3; fd++) {
		if (isatty(fd) != 1)
			continue;
		if (ioctl(fd, TIOCSCTTY, 0) < 0) {
			fprintf(stderr, "agentbox: warning: the command's terminal (fd %d) cannot become its controlling terminal (TIOCSCTTY: %s); job control and ^C will not work in it\n",
				fd, strerror(errno));
			return -1;
		}
		return fd;
	}
	return -1;
}

/* In the vfork child: it runs on our memory until its exec, so it only
 * makes system calls and leaves a failed exec's errno in *exec_errno. */
static _Noreturn void exec_child(char **command, volatile int *exec_errno, int tty_fd,
				 const sigset_t *old_mask,
				 const struct sigaction *old_chld)
{
	/* A group of its own lets the forwarded signals reach everything
	 * the command starts, not just the command. */
	setpgid(0, 0);
	phase_mark("command: exec");
	if (tty_fd >= 0) {
		/* the foreground group of its terminal, so that it may read
		 * it; SIGTTOU blocked, as we ask from the background */
		sigset_t ttou;
		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		sigprocmask(SIG_BLOCK, &ttou, NULL);
		tcsetpgrp(tty_fd, getpid());
	}
	sigaction(SIGCHLD, old_chld, NULL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);

	execvp(command[0], command);

	*exec_errno = errno ? errno : ENOEXEC;
	_exit(AB_EXIT_NOT_FOUND);
}

/* vfork: no copy of this process's page tables (a fork of this static
 * binary cost about 0.1 ms of every run), and we go on only once the
 * child has exec'd or failed to, its process group made. A frame of its
 * own, so that nothing of the caller's lives across the vfork. Returns
 * the child (or -1, errno set); *exec_err is its exec's errno, or 0. */
static __attribute__((noinline)) pid_t start_command(char **command, int tty_fd,
						     const sigset_t *mask,
						     const struct sigaction *old_chld,
						     int *exec_err)
{
	static volatile int exec_errno;
	exec_errno = 0;
	pid_t child = vfork();
	if (child == 0)
		exec_child(command, &exec_errno, tty_fd, mask, old_chld);
	*exec_err = child > 0 ? exec_errno : 0;
	return child;
}

static void forward(pid_t child, int sig)
{
	kill(-child, sig);
	/* the command may have moved itself to another group */
	if (getpgid(child) != child)
		kill(child, sig);
}

static int status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return AB_EXIT_FAILURE;
}

/* Returns the exit code once the command itself is reaped, else -1. */
static int reap(pid_t child)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return -1;
		if (pid == child)
			return status_to_exit(status);
	}
}

/* True when the life pipe says agentbox is gone (EOF or an error). */
static bool agentbox_gone(int life_fd)
{
	struct pollfd p = {.fd = life_fd, .events = POLLIN};
	return life_fd > 0 && poll(&p, 1, 0) != 0;
}

/* SIGIO (blocked, so it queues for sigwaitinfo) arrives when the life
 * pipe's last writer goes; checked once more after arming, in case that
 * happened before. */
static void watch_life(int life_fd, sigset_t *set)
{
	if (life_fd <= 0)
		return;
	sigaddset(set, SIGIO);
	if (fcntl(life_fd, F_SETOWN, getpid()) < 0 ||
	    fcntl(life_fd, F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
		die("cannot watch agentbox's life pipe (fd %d): %s", life_fd, strerror(errno));
}

static _Noreturn void supervise(pid_t child, const sigset_t *set, int life_fd)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			die("waiting for signals failed (sigwaitinfo): %s",
			    strerror(errno));
		}
		if (sig == SIGIO) {
			/* agentbox died: PID 1 leaving takes everything along */
			if (agentbox_gone(life_fd))
				_exit(AB_EXIT_FAILURE);
			continue;
		}
		if (sig != SIGCHLD) {
			forward(child, sig);
			continue;
		}
		int code = reap(child);
		if (code >= 0) {
			phase_mark("inner: command exited");
			_exit(code);
		}
	}
}

/* The backend built the tree by path (bwrap): check each --expect before
 * anything else, while stderr still goes to the backend's capture pipe,
 * so that a refusal reaches agentbox as a setup failure. parse_args has
 * checked the syntax; every option takes one value. */
static void verify_mounts(int argc, char **argv)
{
	struct mount_verifier v = {.rootfd = -1};
	ab_error err;
	bool opened = false;
	for (int i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
		struct mount_expect e;
		if (strcmp(argv[i], "--expect") != 0 || mount_expect_parse(argv[i + 1], &e) < 0)
			continue;
		if (!opened && mount_verifier_open(&v, &err) < 0)
			die("%s", err.message);
		opened = true;
		if (mount_verify(&v, &e, &err) < 0)
			die("%s", err.message);
	}
	mount_verifier_close(&v);
}

int ab_inner_main(int argc, char **argv)
{
	struct inner_config a = {0};

	parse_args(argc, argv, &a);
	verify_mounts(argc, argv);
	inner_enter(&a);
}

_Noreturn void inner_enter(const struct inner_config *c)
{
	struct inner_config a = *c;

	check_capabilities();
	restore_stderr(a.stderr_fd);
	/* Setup ran without the command's environment; from here on only
	 * the command's own lookup (execvp's PATH) and exec use it. */
	if (a.env_fd > 0) {
		const char *what;
		char **envp = env_fd_load(a.env_fd, &what);
		if (!envp)
			die("cannot %s the command's environment (fd %d): %s", what, a.env_fd, strerror(errno));
		environ = envp;
	}
	int tty_fd = take_terminal(&a);
	open_bridge(&a);
	phase_mark("inner: entered");
	harden(&a);
	phase_mark("inner: hardened (fds, seccomp)");

	sigset_t set, old_mask;
	forwarded_signals(&set);
	watch_life(a.life_fd, &set);
	if (sigprocmask(SIG_BLOCK, &set, &old_mask) != 0)
		die("cannot block signals: %s", strerror(errno));
	if (agentbox_gone(a.life_fd))
		_exit(AB_EXIT_FAILURE);

	/* An ignored SIGCHLD would make the kernel reap the command for us
	 * and we could never learn its status. */
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
	if (sigaction(SIGCHLD, &dfl, &old_chld) != 0)
		die("cannot reset SIGCHLD: %s", strerror(errno));

	int e;
	pid_t child = start_command(a.command, tty_fd, a.command_mask ? a.command_mask : &old_mask,
				    &old_chld, &e);
	if (child < 0)
		die("cannot start the command (vfork): %s", strerror(errno));
	phase_mark("inner: exec done");
	if (e) {
		fprintf(stderr, "agentbox: cannot execute '%s': %s\n", a.command[0],
			strerror(e));
		_exit(e == ENOENT || e == ENOTDIR ? AB_EXIT_NOT_FOUND :
						   AB_EXIT_CANNOT_EXEC);
	}
	supervise(child, &set, a.life_fd);
}
