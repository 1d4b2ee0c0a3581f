/* The built-in namespace engine: executes a plan without bubblewrap.
 *
 * agentbox clones one process ("sandbox init") straight into new user,
 * mount, PID, IPC, UTS and (unless --net full) network namespaces. That
 * process maps the caller's ids onto themselves, brings up loopback,
 * builds the mount tree the plan describes on a fresh root (builtin_root.c),
 * pivots into it, drops every capability and continues, without an exec,
 * as the shared inner stage: it stays PID 1, forks the command and reaps.
 *
 * Setup failures travel back on a pipe as one fixed-size report, so a host
 * that refuses namespaces costs microseconds before the caller falls back
 * to bwrap. */
#ifndef AB_BACKEND_BUILTIN_H
#define AB_BACKEND_BUILTIN_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agentbox.h"
#include "plan/plan.h"
#include "supervisor/placeholders.h"

/* Why setup failed, which decides what the caller does next. */
enum builtin_failure {
	BUILTIN_OK = 0,
	BUILTIN_FAIL_HOST,   /* this host does not let us use namespaces: fall back */
	BUILTIN_FAIL_PROC,   /* a fresh /proc cannot be mounted: retry without it */
	BUILTIN_FAIL_REFUSE, /* the plan cannot be built safely: fail closed */
};

struct builtin_request {
	const struct plan *plan;
	const bool *skip_op;   /* per plan op, or NULL */
	/* per plan op, or NULL: for a block, the placeholder whose lock this
	 * run holds, which the mount must cover */
	const struct placeholder_ident *held;
	char *const *command;
	char **envp;           /* the command's environment */
	int stdio[3];          /* the command's stdin, stdout, stderr; -1 = inherited */
	int bridge_fd;         /* --net proxy: where the bridge's listeners go (net/bridge.h), or -1 */
	int counters_fd;       /* --net none: where the new network namespace's
				  counter files go (supervisor/net_counters.h), or -1 */
	const sigset_t *child_mask; /* the signal mask the command starts with */
	bool legacy_mounts;    /* use the mount(2) fallback even where the new API exists */
	bool ctty;             /* the inner stage's ctty (inner.h) */
};

struct builtin_child {
	pid_t pid;     /* sandbox init, as seen from the caller */
	int report_fd; /* read end of the setup report pipe */
	int life_fd;   /* write end the child watches to learn that we died */
};

/* Clones the sandbox init. On failure returns -errno with err set and
 * *failure saying whether another backend may be tried. */
int builtin_spawn(const struct builtin_request *req, struct builtin_child *out,
		  enum builtin_failure *failure, ab_error *err);

/* Decodes the report read from report_fd (`len` bytes). Returns 0 if the
 * sandbox reached the command, else -errno with err and *failure set. */
int builtin_decode_report(const char *buf, size_t len, enum builtin_failure *failure,
			  ab_error *err);

/* Runs inside the sandbox init: builds the filesystem and pivots into it.
 * Returns 0, or -errno with err and *failure set. */
int builtin_build_root(const struct plan *plan, const bool *skip_op,
		       const struct placeholder_ident *held, bool legacy,
		       enum builtin_failure *failure, ab_error *err);

/* Checks that this host lets the engine start (for `explain`): a throwaway
 * child that creates the namespaces and a tmpfs. Returns 0 or -errno with
 * the reason in err. */
int builtin_check(ab_net net, ab_error *err);

struct supervise_request;

/* The same with the built-in engine . On failure,
 * *failure says whether another backend may be tried
 * (BUILTIN_FAIL_HOST: this host refused the namespaces). */
int supervise_builtin(const struct supervise_request *req, int *exit_status,
		      enum builtin_failure *failure, ab_error *err);

#endif
