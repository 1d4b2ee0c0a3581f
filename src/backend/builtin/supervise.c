/* The supervisor for the built-in engine: the same duties as for bwrap
 * (placeholders, signals, timeout, telling setup failures apart from the
 * command's status) around one cloned sandbox init. */
#include "backend/builtin/builtin.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "supervisor/supervisor.h"
#include "common/util.h"
#include "supervisor/blocks.h"
#include "supervisor/net_counters.h"
#include "supervisor/sandbox_proxy.h"
#include "supervisor/watch.h"
#include "common/phase_clock.h"

static bool legacy_mounts_forced(void)
{
	const char *v = getenv("AGENTBOX_TEST_LEGACY_MOUNT");
	return v && strcmp(v, "1") == 0;
}

static void abandon(struct builtin_child *child)
{
	kill(child->pid, SIGKILL);
	while (waitpid(child->pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(child->report_fd);
	close(child->life_fd);
}

int supervise_builtin(const struct supervise_request *req, int *exit_status,
		      enum builtin_failure *failure, ab_error *err)
{
	struct blocks bl;
	struct watch_state st = {.hooks = req->hooks};
	*failure = BUILTIN_FAIL_REFUSE;
	int ret = blocks_prepare(req->plan, &bl, err);
	if (ret < 0)
		return ret;
	phase_mark("placeholders made");
	char **envp = watch_sandbox_environ(req->plan, req->opts->envp);
	struct sandbox_proxy *sp = NULL;
	struct net_counters *netc = net_counters_new(req);
	sigset_t old;
	ret = sandbox_proxy_prepare(req, &sp, err);
	if (ret < 0)
		goto out;
	int sfd = watch_block_signals(&old, err);
	if (sfd < 0) {
		ret = sfd;
		goto out;
	}
	struct builtin_request breq = {
		.plan = req->plan,
		.skip_op = bl.skip,
		.held = bl.held,
		.command = req->command,
		.envp = envp,
		.bridge_fd = sandbox_proxy_child_fd(sp),
		.child_mask = &old,
		.legacy_mounts = legacy_mounts_forced(),
		.ctty = sandbox_proxy_ctty(req),
		.counters_fd = net_counters_child_fd(netc),
	};
	sandbox_proxy_stdio(sp, req->opts, breq.stdio);
	struct builtin_child child;
	phase_mark("supervisor ready");
	ret = builtin_spawn(&breq, &child, failure, err);
	phase_mark("cloned");
	net_counters_spawned(netc);
	/* No proxy: stop before the command runs (the sandbox waits for
	 * nothing from us, so kill it). */
	if (ret == 0 && sandbox_proxy_start(sp, err) < 0) {
		*failure = BUILTIN_FAIL_REFUSE;
		abandon(&child);
		ret = -EIO;
	}
	if (ret == 0) {
		st.pid = st.sandbox_pid = child.pid;
		st.relay = sandbox_proxy_relay(sp);
		watch_loop(&st, sfd, child.report_fd, -1, req->opts->timeout_sec);
		phase_mark("sandbox ended");
		close(child.report_fd);
		close(child.life_fd);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sfd);
	if (ret < 0)
		goto out;
	if (st.timed_out) {
		watch_report_timeout(req->opts, exit_status);
		ret = SUPERVISE_DONE;
		goto out;
	}
	ret = builtin_decode_report(st.err_text.s, st.err_text.len, failure, err);
	if (ret < 0) {
		if (*failure == BUILTIN_FAIL_PROC && req->plan->mount_proc)
			ret = SUPERVISE_RETRY_NO_PROC;
		goto out;
	}
	*exit_status = watch_exit_status(&st);
	ret = SUPERVISE_DONE;
out:
	/* only a run that reached the command has attempts to report */
	net_counters_finish(netc, ret == SUPERVISE_DONE ? req->refusals : NULL);
	sandbox_proxy_stop(sp);
	blocks_finish(&bl);
	phase_mark("placeholders removed");
	watch_free_environ(envp);
	sbuf_free(&st.err_text);
	return ret;
}
