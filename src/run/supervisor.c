#include "run/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "run/placeholders.h"

#define BWRAP_STDERR_MAX (64 * 1024)

extern char **environ;

static const int forwarded_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

struct run_state {
	pid_t bwrap_pid;
	pid_t child_pid;     /* the sandbox's PID 1, as seen from here */
	int wait_status;
	bool exited;
	bool timed_out;
	sbuf err_text;       /* what bwrap itself printed */
	sbuf status_text;    /* --json-status-fd / --info-fd output */
};

/* The environment for bwrap and so for the command: the caller's, plus the
 * variables that tell tools they are sandboxed. */
static char **sandbox_environ(ab_net net)
{
	strv env = {0};
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, "AGENTBOX_SANDBOX=", 17) != 0 && strncmp(*e, "AGENTBOX_NETWORK=", 17) != 0)
			strv_push(&env, *e);
	strv_push(&env, "AGENTBOX_SANDBOX=1");
	strv_push_owned(&env, xasprintf("AGENTBOX_NETWORK=%s", ab_net_name(net)));
	return env.v;
}

/* In the child, between fork and exec: only async-signal-safe calls. Puts
 * each descriptor the command line names at its number, sends bwrap's own
 * stderr to the capture pipe, closes everything else. */
static void child_exec(const struct bwrap_cmd *cmd, const char *bwrap_path, char **envp,
		       const sigset_t *old_mask, pid_t parent, int self_fd, int status_w,
		       int sync_fd, int err_w)
{
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		signal(forwarded_signals[i], SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	/* Own process group: a ^C on the terminal reaches the supervisor,
	 * which forwards it to the command, instead of killing bwrap. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(AB_EXIT_FAILURE);

	int base = 3 + (int)cmd->n_fds + 8;
	int src[64];
	for (size_t i = 0; i < cmd->n_fds; i++) {
		int s;
		switch (cmd->fds[i].kind) {
		case BFD_DEVNULL: s = open("/dev/null", O_RDONLY | O_CLOEXEC); break;
		case BFD_SELF: s = self_fd; break;
		case BFD_STDERR: s = 2; break;
		case BFD_STATUS: s = status_w; break;
		case BFD_SYNC: s = sync_fd; break;
		default: s = -1;
		}
		if (s < 0)
			_exit(AB_EXIT_FAILURE);
		src[i] = fcntl(s, F_DUPFD_CLOEXEC, base);
		if (src[i] < 0)
			_exit(AB_EXIT_FAILURE);
	}
	int err_high = fcntl(err_w, F_DUPFD_CLOEXEC, base);
	for (size_t i = 0; i < cmd->n_fds; i++)
		if (dup2(src[i], cmd->fds[i].target) < 0)
			_exit(AB_EXIT_FAILURE);
	if (err_high < 0 || dup2(err_high, 2) < 0)
		_exit(AB_EXIT_FAILURE);
	syscall(SYS_close_range, 3 + (unsigned)cmd->n_fds, ~0U, 0);
	execve(bwrap_path, cmd->argv.v, envp);
	static const char msg[] = "bwrap: agentbox could not execute bubblewrap\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(AB_EXIT_FAILURE);
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
		if (b->len < BWRAP_STDERR_MAX)
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

/* The poll loop: signals, bwrap's stderr and status, the deadline. */
static void supervise_loop(struct run_state *st, int sfd, int err_r, int status_r, double timeout)
{
	bool err_open = true, status_open = status_r >= 0;
	double deadline = timeout > 0 ? monotonic_ms() / 1e3 + timeout : 0;
	while (!st->exited) {
		struct pollfd p[3] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = err_open ? err_r : -1, .events = POLLIN},
			{.fd = status_open ? status_r : -1, .events = POLLIN},
		};
		int wait_ms = -1;
		if (deadline > 0 && !st->timed_out) {
			double left = deadline - monotonic_ms() / 1e3;
			wait_ms = left <= 0 ? 0 : (int)ceil(left * 1000);
		}
		int r = poll(p, 3, wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && deadline > 0 && !st->timed_out && monotonic_ms() / 1e3 >= deadline) {
			/* Killing the sandbox's PID 1 ends its whole PID namespace,
			 * so no descendant survives, detached or not. */
			st->timed_out = true;
			if (st->child_pid > 0)
				kill(st->child_pid, SIGKILL);
			kill(st->bwrap_pid, SIGKILL);
			continue;
		}
		if (p[1].revents)
			read_into(err_r, &st->err_text, &err_open);
		if (p[2].revents) {
			read_into(status_r, &st->status_text, &status_open);
			if (st->child_pid <= 0)
				st->child_pid = (pid_t)json_int_after(st->status_text.s, "\"child-pid\"");
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGCHLD)
					continue;
				/* The inner stage, PID 1 inside, relays it to the
				 * command's process group. Before it exists, bwrap
				 * gets it and the run ends. */
				if (st->child_pid > 0)
					kill(st->child_pid, sig);
				else
					kill(st->bwrap_pid, sig);
			}
		}
		pid_t w = waitpid(st->bwrap_pid, &st->wait_status, WNOHANG);
		if (w == st->bwrap_pid)
			st->exited = true;
	}
	/* bwrap is gone; take what is already in the pipes without waiting
	 * for writers that may linger for a moment. */
	read_into(err_r, &st->err_text, &err_open);
	if (status_r >= 0)
		read_into(status_r, &st->status_text, &status_open);
}

/* bwrap's own words, without its prefix, on one line each. */
static char *bwrap_message(const char *text)
{
	sbuf b = {0};
	const char *p = text ? text : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *line = p;
		if (n >= 7 && strncmp(line, "bwrap: ", 7) == 0) {
			line += 7;
			n -= 7;
		}
		if (n) {
			if (b.len)
				sbuf_add(&b, "; ");
			sbuf_addn(&b, line, n);
		}
		p += nl ? (size_t)(nl - p) + 1 : strlen(p);
	}
	return b.s ? b.s : xstrdup("(no message)");
}

static void add_setup_hint(ab_error *err, const char *text)
{
	if (strstr(text, "setting up uid map") || strstr(text, "No permissions to create") ||
	    strstr(text, "Failed RTM_NEWADDR") || strstr(text, "Creating new namespace failed") ||
	    strstr(text, "Failed RTM_NEWLINK"))
		ab_error_hint(err,
			      "cause: this host does not let unprivileged users create user namespaces (AppArmor's kernel.apparmor_restrict_unprivileged_userns, user.max_user_namespaces=0, or a container's seccomp profile)\n"
			      "fix: allow user namespaces for bwrap (on Ubuntu 24.04: install the bwrap AppArmor profile, or `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`), or run outside the restricting container");
	else if (strstr(text, "Read-only file system") || strstr(text, "Permission denied"))
		ab_error_hint(err, "fix: check that the paths named above exist and are accessible to you; `agentbox explain` shows every mount");
}

static int run_once(const struct supervise_request *req, const struct bwrap_cmd *cmd,
		    int sync_fd, struct run_state *st, ab_error *err)
{
	int err_p[2] = {-1, -1}, status_p[2] = {-1, -1}, self_fd = -1, sfd = -1;
	int ret = 0;
	char **envp = sandbox_environ(req->plan->net);
	bool want_status = false;
	for (size_t i = 0; i < cmd->n_fds; i++)
		want_status = want_status || cmd->fds[i].kind == BFD_STATUS;

	self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0 && req->self_path)
		self_fd = open(req->self_path, O_RDONLY | O_CLOEXEC);
	if (self_fd < 0) {
		ret = ab_fail_errno(err, errno, "cannot open agentbox's own binary (/proc/self/exe) to start the inner stage");
		goto out;
	}
	if (pipe2(err_p, O_CLOEXEC) < 0 || (want_status && pipe2(status_p, O_CLOEXEC) < 0)) {
		ret = ab_fail_errno(err, errno, "cannot create pipes for bubblewrap");
		goto out;
	}

	sigset_t mask, old;
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&mask, forwarded_signals[i]);
	sigaddset(&mask, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ret = ab_fail_errno(err, errno, "cannot create a signalfd");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}

	pid_t parent = getpid();
	st->bwrap_pid = fork();
	if (st->bwrap_pid < 0) {
		ret = ab_fail_errno(err, errno, "cannot fork to start bubblewrap");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	if (st->bwrap_pid == 0)
		child_exec(cmd, req->bwrap->path, envp, &old, parent, self_fd, status_p[1], sync_fd, err_p[1]);

	close(err_p[1]);
	err_p[1] = -1;
	/* read ends only: bwrap's ends stay blocking */
	fcntl(err_p[0], F_SETFL, O_NONBLOCK);
	if (status_p[0] >= 0)
		fcntl(status_p[0], F_SETFL, O_NONBLOCK);
	if (status_p[1] >= 0) {
		close(status_p[1]);
		status_p[1] = -1;
	}
	supervise_loop(st, sfd, err_p[0], status_p[0], req->opts->timeout_sec);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	if (sfd >= 0)
		close(sfd);
	for (int i = 0; i < 2; i++) {
		if (err_p[i] >= 0)
			close(err_p[i]);
		if (status_p[i] >= 0)
			close(status_p[i]);
	}
	if (self_fd >= 0)
		close(self_fd);
	for (char **e = envp; e && *e; e++)
		free(*e);
	free(envp);
	return ret;
}

/* Decides what the run meant: the command's status, or a setup failure in
 * bwrap (its words on the capture pipe and a failing status: the command's
 * own stderr never goes there, the inner stage restores it first). */
static int interpret(const struct supervise_request *req, struct run_state *st,
		     int *exit_status, ab_error *err)
{
	int status = WIFEXITED(st->wait_status) ? WEXITSTATUS(st->wait_status)
						: 128 + WTERMSIG(st->wait_status);
	const char *text = st->err_text.s ? st->err_text.s : "";
	if (st->timed_out) {
		*exit_status = AB_EXIT_TIMEOUT;
		if (!req->opts->quiet)
			fprintf(stderr, "agentbox: the command timed out after %g s; the whole sandbox was killed\n",
				req->opts->timeout_sec);
		return SUPERVISE_DONE;
	}
	if (*text && status != 0 && WIFEXITED(st->wait_status)) {
		if (strstr(text, "Can't mount proc") && req->plan->mount_proc)
			return SUPERVISE_RETRY_NO_PROC;
		if (strstr(text, "Unknown option") && req->bwrap->from_cache)
			return SUPERVISE_RETRY_PROBE;
		if (strncmp(text, "agentbox:", 9) == 0) {
			/* the inner stage refused before the command ran */
			_cleanup_free_ char *msg = xstrndup(text, strcspn(text, "\n"));
			return ab_fail(err, EPERM, "%s", msg + 10);
		}
		_cleanup_free_ char *msg = bwrap_message(text);
		int r = ab_fail(err, EPERM, "bubblewrap (%s %s) could not set up the sandbox: %s",
				req->bwrap->path, req->bwrap->version, msg);
		add_setup_hint(err, text);
		return r;
	}
	if (*text) {
		_cleanup_free_ char *msg = bwrap_message(text);
		events_warning(req->ev, "backend_message", NULL, msg);
	}
	*exit_status = status;
	return SUPERVISE_DONE;
}

int supervise_bwrap(const struct supervise_request *req, int *exit_status, ab_error *err)
{
	const struct plan *plan = req->plan;
	struct placeholder_request *preq = xcalloc(plan->n_ops + 1, sizeof(*preq));
	size_t *pidx = xcalloc(plan->n_ops + 1, sizeof(size_t));
	bool *skip = xcalloc(plan->n_ops + 1, sizeof(bool));
	size_t np = 0;
	for (size_t i = 0; i < plan->n_ops; i++) {
		if (plan->ops[i].kind != OP_BLOCK_DIR && plan->ops[i].kind != OP_BLOCK_FILE)
			continue;
		preq[np] = (struct placeholder_request){plan->ops[i].path, plan->ops[i].kind == OP_BLOCK_DIR};
		pidx[np++] = i;
	}

	struct placeholder_set *set = NULL;
	int sync_fd = -1;
	struct run_state st = {0};
	struct bwrap_cmd cmd = {0};
	int ret;
	bool janitor = false;
	if (np > 0) {
		if (!req->state_dir) {
			ret = ab_fail(err, ENOENT, "this policy needs to block paths that do not exist, which needs agentbox's state directory, and none is available");
			goto out;
		}
		ret = placeholders_acquire(req->state_dir, preq, np, &set, err);
		if (ret < 0)
			goto out;
		for (size_t k = 0; k < np; k++)
			skip[pidx[k]] = !placeholders_usable(set, k);
		ret = placeholders_start_janitor(set, &sync_fd, err);
		if (ret < 0)
			goto out;
		janitor = true;
	}

	struct bwrap_build_opts bo = {
		.command = req->command,
		.skip_op = skip,
		.self_path = req->self_path,
		.status_fd = true,
		.sync_fd = sync_fd >= 0,
		.stderr_fd = true,
	};
	ret = bwrap_build(plan, req->bwrap, &bo, &cmd, err);
	if (ret < 0)
		goto out;
	ret = run_once(req, &cmd, sync_fd, &st, err);
	if (sync_fd >= 0) {
		close(sync_fd);
		sync_fd = -1;
	}
	if (ret == 0)
		ret = interpret(req, &st, exit_status, err);
out:
	if (sync_fd >= 0)
		close(sync_fd);
	if (set) {
		placeholders_release(set);
		if (janitor)
			placeholders_finish_janitor(set);
	}
	bwrap_cmd_free(&cmd);
	sbuf_free(&st.err_text);
	sbuf_free(&st.status_text);
	free(preq);
	free(pidx);
	free(skip);
	return ret;
}
