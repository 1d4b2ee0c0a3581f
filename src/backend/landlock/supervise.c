/* The supervisor for the Landlock backend: no namespaces, so no mounts,
 * placeholders or PID 1 of our own.
 *
 * The ruleset is built here, in agentbox, so a path that cannot be opened
 * is reported before anything runs. One child drops its capabilities,
 * starts its own session and continues as the shared inner stage, which
 * enforces the ruleset after no_new_privs. Without a PID namespace nothing
 * ends a daemonised grandchild for us, so agentbox makes itself a child
 * subreaper while the run lasts: every orphan of the command is
 * re-parented to it, and after the command ends it kills and reaps them
 * all. */
#include "backend/landlock/landlock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/caps.h"
#include "common/error.h"
#include "supervisor/supervisor.h"
#include "common/util.h"
#include "inner/inner.h"
#include "run/run_gate.h"
#include "supervisor/watch.h"

extern char **environ;

/* Pids whose parent is `self`, from /proc (no CONFIG_PROC_CHILDREN needed). */
static size_t list_children(pid_t self, pid_t **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		long pid = strtol(de->d_name, NULL, 10);
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		/* "pid (comm) state ppid": comm may contain anything, so
		 * parse from its last ')' */
		char *rp = strrchr(buf, ')');
		int ppid;
		char state;
		if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != self)
			continue;
		grow_array((void **)out, &cap, n + 1, sizeof(**out));
		(*out)[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

static bool in_list(const pid_t *v, size_t n, pid_t p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/* Kills and reaps every child that appeared during the run, round after
 * round: each kill re-parents the victim's own children to us. A child
 * cannot be replaced by another process under its pid before we reap
 * it, so the kill always reaches the process we listed. */
static size_t kill_leftovers(const pid_t *before, size_t n_before)
{
	size_t killed = 0;
	for (int round = 0; round < 10000; round++) {
		pid_t *kids;
		size_t n = list_children(getpid(), &kids), hit = 0;
		for (size_t i = 0; i < n; i++) {
			if (in_list(before, n_before, kids[i]))
				continue;
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			hit++;
		}
		free(kids);
		killed += hit;
		if (!hit)
			break;
	}
	return killed;
}

static _Noreturn void child_fail(int report_fd, const ab_error *err)
{
	ssize_t n = write(report_fd, err->message, strlen(err->message));
	(void)n;
	_exit(AB_EXIT_FAILURE);
}

struct child_args {
	const struct supervise_request *req;
	int ruleset_fd, report_fd;
	pid_t parent;
	char **envp;
	const sigset_t *mask;
};

static _Noreturn void child_main(const struct child_args *a)
{
	ab_error err = {0};
	/* Nothing may outlive agentbox; if it is already gone, stop. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent)
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
		.command_mask = a->mask,
		.command = (char **)a->req->command,
	};
	/* closes the report pipe with every other inherited fd */
	inner_enter(&ic);
}

static char **command_environ(const struct supervise_request *req)
{
	char **envp = watch_sandbox_environ(req->plan->net, req->opts->envp);
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

/* The ruleset fd, at 3 or above: the inner stage takes <= 0 as "none". */
static int ruleset_fd(const struct landlock_prep *lp, ab_error *err)
{
	int fd = landlock_build_ruleset(&lp->rules, &lp->feat, err);
	if (fd < 0 || fd >= 3)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	if (hi < 0)
		return ab_fail_errno(err, e, "landlock: cannot move the ruleset fd");
	return hi;
}

int supervise_landlock(const struct supervise_request *req, int *exit_status, ab_error *err)
{
	struct watch_state st = {0};
	int rep[2] = {-1, -1};
	int rfd = ruleset_fd(req->landlock, err);
	if (rfd < 0)
		return rfd;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(rfd);
		return ab_fail_errno(err, errno, "cannot create the setup report pipe");
	}
	run_gate_alone_begin(); /* the reaping below takes every new child */
	int old_reaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &old_reaper, 0, 0, 0);
	pid_t *before;
	size_t n_before = list_children(getpid(), &before);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		int r = ab_fail_errno(err, errno, "cannot make agentbox a child subreaper (needed to end every process the command leaves behind)");
		close(rfd);
		close(rep[0]);
		close(rep[1]);
		free(before);
		run_gate_alone_end();
		return r;
	}
	char **envp = command_environ(req);
	sigset_t old;
	int ret = 0;
	int sfd = watch_block_signals(&old, err);
	if (sfd < 0) {
		ret = sfd;
		goto out;
	}
	struct child_args ca = {
		.req = req, .ruleset_fd = rfd, .report_fd = rep[1], .parent = getpid(),
		.envp = envp, .mask = &old,
	};
	st.pid = fork();
	if (st.pid == 0)
		child_main(&ca);
	if (st.pid < 0) {
		ret = ab_fail_errno(err, errno, "cannot fork the sandboxed process");
	} else {
		close(rep[1]);
		rep[1] = -1;
		st.sandbox_pid = st.pid;
		watch_loop(&st, sfd, rep[0], -1, req->opts->timeout_sec);
	}
	size_t killed = kill_leftovers(before, n_before);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sfd);
	if (ret < 0)
		goto out;
	if (killed) {
		_cleanup_free_ char *msg = xasprintf("%zu process%s the command left running %s killed when it ended",
						     killed, killed == 1 ? "" : "es", killed == 1 ? "was" : "were");
		events_warning(req->ev, "leftover_killed", NULL, msg);
	}
	if (st.timed_out) {
		watch_report_timeout(req->opts, exit_status);
		goto out;
	}
	if (st.err_text.len > 0) {
		ret = ab_fail(err, EPERM, "landlock backend: %s", st.err_text.s);
		goto out;
	}
	*exit_status = watch_exit_status(&st);
out:
	prctl(PR_SET_CHILD_SUBREAPER, old_reaper, 0, 0, 0);
	run_gate_alone_end();
	close(rfd);
	if (rep[0] >= 0)
		close(rep[0]);
	if (rep[1] >= 0)
		close(rep[1]);
	free(before);
	watch_free_environ(envp);
	sbuf_free(&st.err_text);
	return ret < 0 ? ret : SUPERVISE_DONE;
}
