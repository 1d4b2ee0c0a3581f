#include "supervisor/watch.h"
#include "supervisor/git_env.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "supervisor/sandbox_proxy.h"
#include "supervisor/net_counters.h"
#include "supervisor/tty_relay.h"

extern char **environ;

static const int forwarded_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

char **watch_sandbox_environ(const struct plan *plan, char *const *base)
{
	ab_net net = plan->net;
	strv env = {0};
	for (char *const *e = base ? base : environ; e && *e; e++)
		if (strncmp(*e, "AGENTBOX_SANDBOX=", 17) != 0 && strncmp(*e, "AGENTBOX_NETWORK=", 17) != 0 &&
		    !(net == AB_NET_PROXY && sandbox_proxy_sets(*e)))
			strv_push(&env, *e);
	strv_push(&env, "AGENTBOX_SANDBOX=1");
	strv_push_owned(&env, xasprintf("AGENTBOX_NETWORK=%s", ab_net_name(net)));
	if (net == AB_NET_PROXY)
		sandbox_proxy_environ(&env);
	strv safe = {0};
	for (size_t i = 0; i < plan->n_git_repos; i++)
		strv_push(&safe, plan->git_repos[i].worktree);
	git_env_add(&env, (const char *const *)safe.v, safe.n);
	strv_free(&safe);
	return env.v;
}

int watch_child_stdio(const int fds[3])
{
	int tmp[3] = {-1, -1, -1};
	int r = 0;
	/* through fds above 2 first, so that one that is itself 0, 1 or 2
	 * is not overwritten before it is used */
	for (int i = 0; i < 3 && r == 0; i++)
		if (fds[i] >= 0 && (tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			r = -1;
	for (int i = 0; i < 3 && r == 0; i++)
		if (tmp[i] >= 0 && dup2(tmp[i], i) < 0)
			r = -1;
	for (int i = 0; i < 3; i++)
		if (tmp[i] >= 0)
			close(tmp[i]);
	return r;
}

void watch_free_environ(char **envp)
{
	for (char **e = envp; e && *e; e++)
		free(*e);
	free(envp);
}

int watch_block_signals(sigset_t *old, ab_error *err)
{
	sigset_t mask;
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&mask, forwarded_signals[i]);
	sigaddset(&mask, SIGCHLD);
	/* a window size change, for the command's pty (tty_relay.h) */
	sigaddset(&mask, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &mask, old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		int r = ab_fail_errno(err, errno, "cannot create a signalfd");
		pthread_sigmask(SIG_SETMASK, old, NULL);
		return r;
	}
	return sfd;
}

void watch_default_signals(void)
{
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		signal(forwarded_signals[i], SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
}

static void read_into(int fd, sbuf *b, bool *open_flag)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN */
		if (n == 0) {
			*open_flag = false;
			return;
		}
		if (b->len < WATCH_TEXT_MAX)
			sbuf_addn(b, buf, (size_t)n);
	}
}

static long json_int_after(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;
	if (!p)
		return -1;
	p = strchr(p, ':');
	return p ? strtol(p + 1, NULL, 10) : -1;
}

/* The end of our child is learnt from a pidfd, not from SIGCHLD: in a
 * program with threads, SIGCHLD is process-directed, so the kernel may give
 * it to a thread that does not block it (which drops it) or to another
 * run's signalfd, and two children that end together raise it only once.
 * Without pidfds (Linux < 5.3) the loop looks at the child at least every
 * CHILD_POLL_MS instead. */
#define CHILD_POLL_MS 50

/* The inner stage, PID 1 inside, relays it to the command's process
 * group (Landlock: sandbox_pid is the command itself). Before it exists,
 * the backend gets it and the run ends. */
static void forward(struct watch_state *st, int sig)
{
	if (st->sandbox_pid > 0)
		kill(st->sandbox_pid, sig);
	else if (!st->pid_is_reaper)
		kill(st->pid, sig);
	else
		st->pending_sig = sig; /* for the command, once the reaper names it */
}

/* Whether the sandbox has set itself up (see watch.h). */
static bool setup_over(const struct watch_state *st, int err_r, bool err_open, int status_r)
{
	/* EOF with nothing said is success (words there are a setup failure,
	 * which ab_start returns itself once the run has ended); a reaper
	 * names the command on the status pipe, and until then a kill request
	 * would have no one to go to */
	if (err_r >= 0 && !err_open)
		return st->err_text.len == 0 && (!st->pid_is_reaper || st->sandbox_pid > 0);
	/* bwrap keeps its stderr (err_r) to the end: its PID 1 is the sign */
	return status_r >= 0 && !st->pid_is_reaper && st->sandbox_pid > 0;
}

/* When ab_start may return. */
static bool hooks_started_now(const struct watch_state *st, int err_r, bool err_open, int status_r)
{
	return st->hooks && st->hooks->started && setup_over(st, err_r, err_open, status_r);
}

static void tell_started(struct watch_state *st)
{
	st->started_told = true;
	st->hooks->started(st->hooks->arg);
}

void watch_loop(struct watch_state *st, int sfd, int err_r, int status_r, double timeout)
{
	int ctl_fd = st->hooks ? st->hooks->ctl_fd : -1;
	bool err_open = err_r >= 0, status_open = status_r >= 0;
	double deadline = timeout > 0 ? monotonic_ms() / 1e3 + timeout : 0;
	if (err_r >= 0)
		fcntl(err_r, F_SETFL, O_NONBLOCK);
	if (status_r >= 0)
		fcntl(status_r, F_SETFL, O_NONBLOCK);
	int pidfd = pidfd_open_raw(st->pid);
	while (!st->exited) {
		struct pollfd p[5 + TTY_RELAY_NFDS] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = err_open ? err_r : -1, .events = POLLIN},
			{.fd = status_open ? status_r : -1, .events = POLLIN},
			{.fd = pidfd, .events = POLLIN},
			{.fd = ctl_fd, .events = POLLIN},
		};
		tty_relay_pollfds(st->relay, p + 5);
		int wait_ms = -1;
		if (deadline > 0 && !st->timed_out) {
			double left = deadline - monotonic_ms() / 1e3;
			wait_ms = left <= 0 ? 0 : (int)ceil(left * 1000);
		}
		if (pidfd < 0 && (wait_ms < 0 || wait_ms > CHILD_POLL_MS))
			wait_ms = CHILD_POLL_MS;
		int r = poll(p, 5 + TTY_RELAY_NFDS, wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			tty_relay_handle(st->relay, p + 5);
		if (deadline > 0 && !st->timed_out && monotonic_ms() / 1e3 >= deadline) {
			/* Killing the sandbox's PID 1 ends its whole PID namespace,
			 * so no descendant survives, detached or not. */
			st->timed_out = true;
			if (st->sandbox_pid > 0)
				kill(st->sandbox_pid, SIGKILL);
			/* a reaper ends what the command left when it sees the
			 * command die; killed, it could not */
			if (!st->pid_is_reaper || st->sandbox_pid <= 0)
				kill(st->pid, SIGKILL);
			continue;
		}
		if (p[1].revents)
			read_into(err_r, &st->err_text, &err_open);
		if (p[2].revents) {
			read_into(status_r, &st->status_text, &status_open);
			if (st->sandbox_pid <= 0)
				st->sandbox_pid = (pid_t)json_int_after(st->status_text.s, "\"child-pid\"");
			if (st->sandbox_pid > 0 && st->pending_sig) {
				kill(st->sandbox_pid, st->pending_sig);
				st->pending_sig = 0;
			}
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGCHLD)
					continue;
				if (sig == SIGWINCH) {
					tty_relay_winch(st->relay);
					continue;
				}
				forward(st, sig);
			}
		}
		if (p[4].revents) {
			int sig;
			while (read(ctl_fd, &sig, sizeof(sig)) == sizeof(sig))
				forward(st, sig);
		}
		if (!st->started_told && hooks_started_now(st, err_r, err_open, status_r))
			tell_started(st);
		/* before waitpid: the sandbox is there to be looked at */
		if (st->netc && setup_over(st, err_r, err_open, status_r))
			net_counters_attach(st->netc, st->sandbox_pid);
		pid_t w = waitpid(st->pid, &st->wait_status, WNOHANG);
		if (w == st->pid)
			st->exited = true;
		if (w < 0 && errno == ECHILD) {
			/* Someone else reaped it (a wait(-1), or SIGCHLD set to
			 * SIG_IGN, in the program around us): the sandbox is
			 * gone, and its status with it. */
			fprintf(stderr, "agentbox: the sandbox's process %d was reaped by someone else (a wait for any child, or SIGCHLD ignored, in this program); its exit status is lost\n",
				(int)st->pid);
			st->wait_status = AB_EXIT_FAILURE << 8;
			st->exited = true;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	/* the command's last output, and the terminal's modes back */
	tty_relay_finish(st->relay);
	/* The backend is gone; take what is already in the pipes without
	 * waiting for writers that may linger for a moment. */
	if (err_r >= 0)
		read_into(err_r, &st->err_text, &err_open);
	if (status_r >= 0)
		read_into(status_r, &st->status_text, &status_open);
}

int watch_exit_status(const struct watch_state *st)
{
	return WIFEXITED(st->wait_status) ? WEXITSTATUS(st->wait_status)
					  : 128 + WTERMSIG(st->wait_status);
}

void watch_report_timeout(const ab_run_options *o, int *exit_status)
{
	*exit_status = AB_EXIT_TIMEOUT;
	if (!o->quiet)
		fprintf(stderr, "agentbox: the command timed out after %g s; the whole sandbox was killed\n",
			o->timeout_sec);
}
