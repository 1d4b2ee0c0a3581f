/* The supervisor for the Landlock backend: no namespaces, so no mounts,
 * placeholders or PID 1 of our own.
 *
 * The ruleset is built here, in agentbox, so a path that cannot be opened
 * is reported before anything runs. A reaper process of ours (reaper.h)
 * is the command's parent and the run's child subreaper: it ends what the
 * command leaves behind, also when agentbox itself dies. The command's
 * child drops its capabilities, starts its own session and continues as
 * the shared inner stage, which enforces the ruleset after no_new_privs. */
#include "backend/landlock/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/caps.h"
#include "common/error.h"
#include "supervisor/supervisor.h"
#include "common/util.h"
#include "inner/inner.h"
#include "inner/seccomp.h"
#include "backend/landlock/broker.h"
#include "backend/landlock/reaper.h"
#include "supervisor/watch.h"

extern char **environ;

static _Noreturn void child_fail(int report_fd, const ab_error *err)
{
	ssize_t n = write(report_fd, err->message, strlen(err->message));
	(void)n;
	_exit(AB_EXIT_FAILURE);
}

struct child_args {
	const struct supervise_request *req;
	int ruleset_fd, report_fd, broker_fd;
	char **envp;
	const sigset_t *mask;
};

static _Noreturn void child_main(void *arg, pid_t reaper)
{
	const struct child_args *a = arg;
	ab_error err = {0};
	/* Nothing may outlive the reaper; if it is already gone, stop. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != reaper)
		_exit(AB_EXIT_FAILURE);
	watch_default_signals();
	/* Its own session: the command cannot push input into the caller's
	 * terminal (TIOCSTI) nor get signals from it. */
	if (setsid() < 0) {
		ab_fail_errno(&err, errno, "cannot start a new session");
		child_fail(a->report_fd, &err);
	}
	if (caps_drop_all(&err) < 0)
		child_fail(a->report_fd, &err);
	const char *cwd = a->req->plan->cwd;
	if (cwd && chdir(cwd) < 0) {
		ab_fail_errno(&err, errno, "cannot enter the working directory %s", cwd);
		ab_error_hint(&err, "fix: check that it exists and is accessible to you, or use -C DIR");
		child_fail(a->report_fd, &err);
	}
	const ab_run_options *o = a->req->opts;
	int stdio[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
	if (watch_child_stdio(stdio) < 0) {
		ab_fail_errno(&err, errno, "cannot give the command the standard input, output and error it was given");
		child_fail(a->report_fd, &err);
	}
	environ = a->envp;
	struct inner_config ic = {
		.net = a->req->plan->net,
		.stderr_fd = -1,
		.landlock_fd = a->ruleset_fd,
		.landlock_flags = a->req->landlock->feat.restrict_flags,
		/* no IPC namespace here: the host's System V IPC objects
		 * would otherwise be reachable (seccomp_ipc.c); no network
		 * namespace: loopback is the host's (seccomp_net.c) */
		.seccomp_flags = AB_SECCOMP_NO_SYSV_IPC | AB_SECCOMP_NO_NET_NAMESPACE,
		.broker_fd = a->broker_fd,
		.broker_fs = a->req->landlock->broker,
		/* no cgroup of the run's own: the reaper ends the run by its
		 * process group, which must not be left (cgroup.h) */
		.pin_pgroup = !a->req->landlock->cgroup.usable,
		.command_mask = a->mask,
		.command = (char **)a->req->command,
	};
	/* closes the report pipe with every other inherited fd */
	inner_enter(&ic);
}

static char **command_environ(const struct supervise_request *req)
{
	char **envp = watch_sandbox_environ(req->plan, req->opts->envp);
	const char *tmp = req->landlock->tmpdir;
	if (!tmp)
		return envp;
	strv env = {.v = envp};
	for (char **e = envp; *e; e++)
		env.n++;
	env.cap = env.n + 1;
	for (size_t i = 0; i < env.n; i++) {
		if (strncmp(env.v[i], "TMPDIR=", 7) == 0) {
			free(env.v[i]);
			env.v[i] = xasprintf("TMPDIR=%s", tmp);
			return env.v;
		}
	}
	strv_push_owned(&env, xasprintf("TMPDIR=%s", tmp));
	return env.v;
}

/* The terminal(s) among the command's fds 0-2 may be opened again (a
 * program reopening /dev/stdin or its tty by name): a rule on that very
 * device, by the fd we hold. The host's other terminals get none
 * (landlock_rules.c keeps /dev/pts out), so the command can neither read
 * what is typed into them nor write into them. */
static int add_terminal_rules(int rfd, const struct supervise_request *req, ab_error *err)
{
	const ab_run_options *o = req->opts;
	/* -1: the calling process's own 0, 1 or 2 (agentbox.h) */
	int fds[3] = {o->stdin_fd >= 0 ? o->stdin_fd : 0, o->stdout_fd >= 0 ? o->stdout_fd : 1,
		      o->stderr_fd >= 0 ? o->stderr_fd : 2};
	uint64_t access = (LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_IOCTL_DEV) & req->landlock->feat.fs;
	for (int i = 0; i < 3; i++) {
		if (!isatty(fds[i]))
			continue;
		char what[64];
		snprintf(what, sizeof(what), "the command's terminal on fd %d", i);
		int r = landlock_add_fd_rule(rfd, fds[i], access, what, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The ruleset fd, at 3 or above: the inner stage takes <= 0 as "none". */
static int ruleset_fd(const struct supervise_request *req, ab_error *err)
{
	int fd = landlock_build_ruleset(&req->landlock->rules, &req->landlock->feat, err);
	if (fd < 0)
		return fd;
	int r = add_terminal_rules(fd, req, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (fd >= 3)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	if (hi < 0)
		return ab_fail_errno(err, e, "landlock: cannot move the ruleset fd");
	return hi;
}

/* What the reaper said on its status pipe: -1 when a key is missing. */
static long status_int(const sbuf *text, const char *key)
{
	const char *p = text->s ? strstr(text->s, key) : NULL;
	if (!p)
		return -1;
	p = strchr(p, ':');
	return p ? strtol(p + 1, NULL, 10) : -1;
}

struct ll_pipes {
	int rep[2], life[2], status[2];
	int broker[2]; /* [0] agentbox's broker, [1] the inner stage */
};

static void close_pipes(struct ll_pipes *p)
{
	int *all[] = {p->rep, p->life, p->status, p->broker};
	for (size_t i = 0; i < 4; i++)
		for (int j = 0; j < 2; j++)
			if (all[i][j] >= 0) {
				close(all[i][j]);
				all[i][j] = -1;
			}
}

static int open_pipes(struct ll_pipes *p, ab_error *err)
{
	*p = (struct ll_pipes){{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
	if (pipe2(p->rep, O_CLOEXEC) < 0 || pipe2(p->life, O_CLOEXEC) < 0 ||
	    pipe2(p->status, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->broker) < 0) {
		int r = ab_fail_errno(err, errno, "landlock: cannot create the pipes to the reaper and the broker");
		ab_error_hint(err, "fix: the process may be out of file descriptors (ulimit -n)");
		close_pipes(p);
		return r;
	}
	return 0;
}

/* After the reaper ended: the command's status, a setup failure, or a
 * timeout. */
static int interpret(const struct supervise_request *req, struct watch_state *st, int *exit_status,
		     ab_error *err)
{
	long killed = status_int(&st->status_text, "\"killed\"");
	if (killed > 0) {
		_cleanup_free_ char *msg = xasprintf("%ld process%s the command left running %s killed when it ended",
						     killed, killed == 1 ? "" : "es", killed == 1 ? "was" : "were");
		events_warning(req->ev, "leftover_killed", NULL, msg);
	}
	if (st->timed_out) {
		watch_report_timeout(req->opts, exit_status);
		return SUPERVISE_DONE;
	}
	if (st->err_text.len > 0)
		return ab_fail(err, EPERM, "landlock backend: %s", st->err_text.s);
	long ws = status_int(&st->status_text, "\"wait-status\"");
	if (ws < 0)
		return ab_fail(err, EIO, "landlock backend: the reaper process ended (wait status %d) without reporting the command's status",
			       st->wait_status);
	st->wait_status = (int)ws;
	*exit_status = watch_exit_status(st);
	return SUPERVISE_DONE;
}

int supervise_landlock(const struct supervise_request *req, int *exit_status, ab_error *err)
{
	struct watch_state st = {.hooks = req->hooks, .pid_is_reaper = true};
	struct reaper_buf rb = {0};
	struct ll_broker *broker = NULL;
	struct ll_pipes pp;
	int rfd = ruleset_fd(req, err);
	if (rfd < 0)
		return rfd;
	int ret = open_pipes(&pp, err);
	if (ret == 0)
		ret = reaper_buf_init(&rb, err);
	if (ret < 0) {
		close_pipes(&pp);
		close(rfd);
		return ret;
	}
	char **envp = command_environ(req);
	sigset_t old;
	int sfd = watch_block_signals(&old, err);
	if (sfd < 0) {
		ret = sfd;
		goto out;
	}
	struct child_args ca = {
		.req = req, .ruleset_fd = rfd, .report_fd = pp.rep[1], .broker_fd = pp.broker[1],
		.envp = envp, .mask = &old,
	};
	struct reaper_args ra = {
		.buf = &rb, .life_fd = pp.life[0], .status_fd = pp.status[1], .report_fd = pp.rep[1],
		.command = child_main, .command_arg = &ca,
		.cg_procs_fd = -1, .cg_kill_fd = -1, .cg_events_fd = -1, .cg_parent_fd = -1,
	};
	const struct ll_cgroup *cg = &req->landlock->cgroup;
	if (cg->usable) {
		ra.cg_procs_fd = cg->procs_fd;
		ra.cg_kill_fd = cg->kill_fd;
		ra.cg_events_fd = cg->events_fd;
		ra.cg_parent_fd = cg->parent_fd;
		ra.cg_name = cg->name;
	}
	st.pid = fork();
	if (st.pid == 0)
		reaper_main(&ra);
	if (st.pid < 0) {
		ret = ab_fail_errno(err, errno, "cannot fork the Landlock backend's reaper process");
	} else {
		/* ours to keep: life[1] (its EOF tells the reaper we are gone),
		 * and the read ends */
		close(pp.rep[1]);
		close(pp.life[0]);
		close(pp.status[1]);
		close(pp.broker[1]);
		pp.rep[1] = pp.life[0] = pp.status[1] = pp.broker[1] = -1;
		/* the broker takes its socket; without it the notified calls
		 * fail (ENOSYS) rather than pass */
		ret = broker_start(req->plan, pp.broker[0], &broker, err);
		pp.broker[0] = -1;
		if (ret < 0)
			kill(st.pid, SIGKILL);
		watch_loop(&st, sfd, pp.rep[0], pp.status[0], req->opts->timeout_sec);
		broker_stop(broker);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sfd);
	if (ret == 0)
		ret = interpret(req, &st, exit_status, err);
out:
	close(rfd);
	close_pipes(&pp);
	reaper_buf_free(&rb);
	watch_free_environ(envp);
	sbuf_free(&st.err_text);
	sbuf_free(&st.status_text);
	return ret;
}
