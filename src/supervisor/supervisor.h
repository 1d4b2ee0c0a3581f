/* The supervisor: the outer process that owns one run. Each backend has
 * its own supervise step (src/backend/NAME/supervise.c: placeholders,
 * starting the sandbox, signals, the timeout, telling setup failures
 * apart from the command's status); what they share is here and in this
 * folder (watch.h, blocks.h, placeholders.h, sandbox_proxy.h). */
#ifndef AB_SUPERVISOR_SUPERVISOR_H
#define AB_SUPERVISOR_SUPERVISOR_H

#include "agentbox.h"
#include "common/events.h"
#include "plan/plan.h"

enum supervise_outcome {
	SUPERVISE_DONE,          /* the command ran; *exit_status is set */
	SUPERVISE_RETRY_NO_PROC, /* bwrap could not mount /proc; nothing ran */
	SUPERVISE_RETRY_PROBE,   /* bwrap rejected an option; re-probe */
};

struct bwrap_info;
struct landlock_prep;

/* What a started run (ab_start, src/run/child.c) adds to the blocking
 * path: signals asked for with ab_child_kill arrive as ints on ctl_fd and
 * are forwarded as the signalfd's are, and started() is called once, from
 * the supervising thread, when the sandbox's own setup is over (see
 * watch_loop). NULL in a plain ab_run. */
struct run_hooks {
	int ctl_fd;
	void (*started)(void *arg);
	void *arg;
};
struct self_check;
struct refusal_log;

struct supervise_request {
	const struct plan *plan;
	const struct bwrap_info *bwrap;
	const char *self_path;
	char *const *command;
	const ab_run_options *opts;
	const struct events *ev;
	struct landlock_prep *landlock; /* the Landlock backend's prepared rules */
	const struct self_check *self;  /* agentbox's own binary vs the plan (posture) */
	const struct run_hooks *hooks;  /* ab_start's, or NULL */
	/* The environment policy's outcome (run/env_report.h): opts->envp
	 * is its environment; the start event names what it dropped. */
	const struct env_result *env;
	struct refusal_log *refusals;   /* what the network refused (net/refusal_log.h) */
};

#endif
