#include "backend/bwrap/bwrap.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "supervisor/supervisor.h"
#include "common/util.h"
#include "backend/devices.h"
#include "supervisor/blocks.h"
#include "backend/bwrap/keeper.h"
#include "supervisor/net_counters.h"
#include "supervisor/sandbox_proxy.h"
#include "supervisor/watch.h"
#include "inner/env_fd.h"
#include "common/phase_clock.h"

extern char **environ;

/* In the child, between fork and exec: only async-signal-safe calls. Puts
 * each descriptor the command line names at its number, sends bwrap's own
 * stderr to the capture pipe, closes everything else. */
struct child_fds {
	int self, status_w, bridge, life, err_w, env;
	int stdio[3];
};

/* In the child: a memfd with the data bwrap copies for --ro-bind-data
 * (plain system calls, safe after fork), read from its start. */
static int data_fd(const struct bwrap_fd *f)
{
	int fd = memfd_create("agentbox-data", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t done = 0; done < f->data_len;) {
		ssize_t n = write(fd, f->data + done, f->data_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return lseek(fd, 0, SEEK_SET) == 0 ? fd : -1;
}

static void child_exec(const struct bwrap_cmd *cmd, const char *bwrap_path, char **envp,
		       const sigset_t *old_mask, pid_t parent, pid_t group,
		       const struct child_fds *f)
{
	watch_default_signals();
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	/* The keeper's process group (keeper.h), not the terminal's: a ^C
	 * on the terminal reaches the supervisor, which forwards it to the
	 * command, instead of killing bwrap. */
	if (setpgid(0, group) < 0)
		_exit(AB_EXIT_FAILURE);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(AB_EXIT_FAILURE);
	/* the command's stdio as the caller chose (BFD_STDERR is then that
	 * stderr: the inner stage restores it for the command) */
	if (watch_child_stdio(f->stdio) < 0)
		_exit(AB_EXIT_FAILURE);

	int base = 3 + (int)cmd->n_fds + 8;
	int src[64];
	for (size_t i = 0; i < cmd->n_fds; i++) {
		int s;
		switch (cmd->fds[i].kind) {
		case BFD_DEVNULL: s = open("/dev/null", O_RDONLY | O_CLOEXEC); break;
		case BFD_SELF: s = f->self; break;
		case BFD_STDERR: s = 2; break;
		case BFD_STATUS: s = f->status_w; break;
		case BFD_BRIDGE: s = f->bridge; break;
		case BFD_LIFE: s = f->life; break;
		case BFD_ENV: s = f->env; break;
		case BFD_DATA: s = data_fd(&cmd->fds[i]); break;
		default: s = -1;
		}
		if (s < 0)
			_exit(AB_EXIT_FAILURE);
		src[i] = fcntl(s, F_DUPFD_CLOEXEC, base);
		if (src[i] < 0)
			_exit(AB_EXIT_FAILURE);
	}
	int err_high = fcntl(f->err_w, F_DUPFD_CLOEXEC, base);
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

/* bwrap's environment, and so the inner stage's: none of the command's
 * (inner/env_fd.h). Only the sanitizer runtimes' options of agentbox's
 * own environment pass, for sanitizer builds of agentbox: they are read
 * by nothing else. */
static char **setup_environ(void)
{
	static const char *const keep[] = {"ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS=", "TSAN_OPTIONS=", NULL};
	strv env = {0};
	for (char **e = environ; e && *e; e++)
		for (size_t i = 0; keep[i]; i++)
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0)
				strv_push(&env, *e);
	/* bench/phases.sh: the inner stage's marks too */
	if (phase_clock_state == 1)
		strv_push(&env, "AGENTBOX_PHASES=1");
	return env.v ? env.v : xcalloc(1, sizeof(char *));
}

static int run_once(const struct supervise_request *req, const struct bwrap_cmd *cmd,
		    struct watch_state *st, ab_error *err)
{
	int err_p[2] = {-1, -1}, status_p[2] = {-1, -1}, life_p[2] = {-1, -1};
	int self_fd = -1, sfd = -1;
	int ret = 0;
	char **envp = watch_sandbox_environ(req->plan, req->opts->envp);
	char **setup_env = setup_environ();
	int env_fd = -1;
	struct sandbox_proxy *sp = NULL;
	struct bwrap_keeper keeper = {.pid = -1, .fd = -1};
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
	env_fd = env_fd_create(envp);
	if (env_fd < 0) {
		ret = ab_fail_errno(err, -env_fd, "cannot hand the command's environment to the inner stage (a sealed memfd)");
		if (env_fd == -E2BIG)
			ab_error_hint(err, "the environment is larger than %u bytes; drop variables with --env-exclude or --env-inherit core",
				      ENV_FD_MAX_BYTES);
		goto out;
	}
	/* The life pipe's write end stays with us alone: the inner stage
	 * (PID 1 inside) sees EOF when we die, also in the moments before
	 * bwrap's --die-with-parent is armed. */
	if (pipe2(err_p, O_CLOEXEC) < 0 || (want_status && pipe2(status_p, O_CLOEXEC) < 0) ||
	    pipe2(life_p, O_CLOEXEC) < 0) {
		ret = ab_fail_errno(err, errno, "cannot create pipes for bubblewrap");
		goto out;
	}

	ret = sandbox_proxy_prepare(req, &sp, err);
	if (ret < 0)
		goto out;
	sigset_t old;
	sfd = watch_block_signals(&old, err);
	if (sfd < 0) {
		ret = sfd;
		goto out;
	}

	ret = bwrap_keeper_start(&keeper, err);
	if (ret < 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	phase_mark("supervisor ready");
	pid_t parent = getpid();
	st->pid = fork();
	if (st->pid < 0) {
		ret = ab_fail_errno(err, errno, "cannot fork to start bubblewrap");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	if (st->pid == 0) {
		struct child_fds f = {
			.self = self_fd, .status_w = status_p[1],
			.bridge = sandbox_proxy_child_fd(sp), .life = life_p[0], .err_w = err_p[1],
			.env = env_fd,
		};
		sandbox_proxy_stdio(sp, req->opts, f.stdio);
		child_exec(cmd, req->bwrap->path, setup_env, &old, parent, keeper.pid, &f);
	}

	close(err_p[1]);
	err_p[1] = -1;
	close(life_p[0]);
	life_p[0] = -1;
	if (status_p[1] >= 0) {
		close(status_p[1]);
		status_p[1] = -1;
	}
	if (sandbox_proxy_start(sp, err) < 0) {
		/* bwrap waits for nothing from us: stop it before the command
		 * runs unwatched or finds itself without a way out */
		kill(st->pid, SIGKILL);
		ret = -EIO;
	}
	phase_mark("bwrap forked");
	st->relay = sandbox_proxy_relay(sp);
	st->netc = net_counters_new(req);
	watch_loop(st, sfd, err_p[0], status_p[0], req->opts->timeout_sec);
	net_counters_finish(st->netc, req->refusals);
	st->netc = NULL;
	st->relay = NULL; /* freed with sp below */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	bwrap_keeper_stop(&keeper); /* bwrap is reaped, or was never started */
	sandbox_proxy_stop(sp);
	if (sfd >= 0)
		close(sfd);
	for (int i = 0; i < 2; i++) {
		if (err_p[i] >= 0)
			close(err_p[i]);
		if (status_p[i] >= 0)
			close(status_p[i]);
		if (life_p[i] >= 0)
			close(life_p[i]);
	}
	if (self_fd >= 0)
		close(self_fd);
	if (env_fd >= 0)
		close(env_fd);
	watch_free_environ(envp);
	watch_free_environ(setup_env);
	return ret;
}

/* bwrap could not put a copy over a file the plan read (OP_COVER_DATA):
 * the file, or a directory above it, was replaced since, so bwrap found
 * no file there to cover (it cannot create one in the read-only bind
 * above it). Said as the swap it is; NULL when no such path is named. */
static const char *swapped_cover(const struct plan *plan, const char *text)
{
	for (size_t i = 0; i < plan->n_ops; i++)
		if (plan->ops[i].kind == OP_COVER_DATA && strstr(text, plan->ops[i].path))
			return plan->ops[i].path;
	return NULL;
}

/* Decides what the run meant: the command's status, or a setup failure in
 * bwrap (its words on the capture pipe and a failing status: the command's
 * own stderr never goes there, the inner stage restores it first). */
static int interpret(const struct supervise_request *req, struct watch_state *st,
		     int *exit_status, ab_error *err)
{
	int status = watch_exit_status(st);
	const char *text = st->err_text.s ? st->err_text.s : "";
	if (st->timed_out) {
		watch_report_timeout(req->opts, exit_status);
		return SUPERVISE_DONE;
	}
	if (*text && status != 0 && WIFEXITED(st->wait_status)) {
		if (strstr(text, "Can't mount proc") && req->plan->mount_proc)
			return SUPERVISE_RETRY_NO_PROC;
		if (strstr(text, "Unknown option") && req->bwrap->from_cache)
			return SUPERVISE_RETRY_PROBE;
		if (strncmp(text, "agentbox:", 9) == 0) {
			/* the inner stage refused before the command ran; its
			 * cause and fix lines come along */
			size_t n = strlen(text);
			while (n > 0 && text[n - 1] == '\n')
				n--;
			_cleanup_free_ char *msg = xstrndup(text, n);
			return ab_fail(err, EPERM, "%s", msg + 10);
		}
		_cleanup_free_ char *msg = bwrap_message(text);
		const char *cover = swapped_cover(req->plan, text);
		if (cover) {
			int r = ab_fail(err, EXDEV,
					"%s is no longer the file agentbox resolved: bubblewrap could not put agentbox's read-only copy over it (%s); the command was not started",
					cover, msg);
			ab_error_hint(err, "cause: something renamed or replaced it, or a directory above it, while the sandbox was being built");
			ab_error_hint(err, "fix: run again once nothing changes it during start-up; `agentbox explain` shows what each path must be");
			return r;
		}
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
	struct blocks bl;
	struct watch_state st = {.hooks = req->hooks};
	struct bwrap_cmd cmd = {0};
	/* bwrap binds the host's /dev nodes without looking at them */
	int ret = dev_nodes_check_host(err);
	if (ret < 0)
		return ret;
	ret = blocks_prepare(req->plan, &bl, err);
	if (ret < 0)
		return ret;
	phase_mark("placeholders made");
	struct bwrap_build_opts bo = {
		.command = req->command,
		.skip_op = bl.skip,
		.self_path = req->self_path,
		.status_fd = true,
		.stderr_fd = true,
		.life_fd = true,
		.env_fd = true,
		.inner_library_path = bwrap_inner_library_path(),
		.ctty = sandbox_proxy_ctty(req),
	};
	ret = bwrap_build(req->plan, req->bwrap, &bo, &cmd, err);
	phase_mark("bwrap command built");
	if (ret == 0)
		ret = run_once(req, &cmd, &st, err);
	phase_mark("sandbox ended");
	if (ret == 0)
		ret = interpret(req, &st, exit_status, err);
	blocks_finish(&bl);
	phase_mark("placeholders removed");
	bwrap_cmd_free(&cmd);
	sbuf_free(&st.err_text);
	sbuf_free(&st.status_text);
	return ret;
}
