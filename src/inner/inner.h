/* The inner stage: agentbox re-executed inside the sandbox (from a file
 * descriptor, so its install location does not matter). It is the same
 * for every backend.
 *
 * Invocation (built by the backend, never by users):
 *   <agentbox> __inner [--net none|full|proxy] [--stderr-fd N] [--bridge-fd N]
 *                      [--life-fd N] [--ctty on] [--env-fd N]
 *                      [--expect KIND:DEV:INO:PATH]... -- COMMAND [ARG...]
 *
 * Steps, in this order: check that every --expect path holds what the plan
 * resolved (inner/verify.h; the built-in engine runs the same check itself
 * after its pivot); refuse to continue if any capability is left;
 * restore the caller's stderr from --stderr-fd; with --net proxy, hand the
 * proxy bridge's listeners to agentbox over --bridge-fd (net/bridge.h);
 * make itself non-dumpable;
 * close every other inherited fd above 2; set no_new_privs; enforce the
 * Landlock ruleset if the backend gave one; install the seccomp filter; block the forwarded signals; fork. The child starts a new
 * process group, restores the signal mask and execs COMMAND (exit 127 if not
 * found, 126 if not executable, with a message). The parent stays as PID 1
 * of the sandbox's PID namespace: it forwards SIGHUP, SIGINT, SIGQUIT and
 * SIGTERM to the command's process group, reaps every child, and exits with
 * the command's status (128+N when killed by signal N). Setup failures exit
 * AB_EXIT_FAILURE (125) with "agentbox: ..." on stderr. */
#ifndef AB_INNER_INNER_H
#define AB_INNER_INNER_H

#include <signal.h>

#include "agentbox.h"

struct inner_config {
	ab_net net;
	int stderr_fd; /* restore stderr from this fd first, or -1 */
	const sigset_t *command_mask; /* the command's signal mask; NULL: the one we started with */
	/* A Landlock ruleset to enforce after no_new_privs; <= 0 = none, so
	 * that a zero-initialised config asks for none (a real one is >= 3). */
	int landlock_fd;
	unsigned landlock_flags;  /* landlock_restrict_self() flags */
	/* AB_SECCOMP_* variants of the filter (inner/seccomp.h): a backend
	 * without an IPC namespace asks for AB_SECCOMP_NO_SYSV_IPC. */
	unsigned seccomp_flags;
	/* With AB_NET_PROXY: the unix socket the bridge's listeners are sent
	 * over; <= 0 = none (then AB_NET_PROXY is refused). */
	int bridge_fd;
	/* Read end of a pipe only agentbox writes, or <= 0: when it reports
	 * EOF agentbox is gone and the sandbox ends (the bwrap backend, whose
	 * own --die-with-parent leaves a window at start-up). */
	int life_fd;
	/* The command's environment (inner/env_fd.h), or <= 0: the stage's
	 * own environment is the command's (the backends without an exec). */
	int env_fd;
	/* The terminal among fds 0-2 is agentbox's pty (--approvals-tty):
	 * take it as the session's controlling terminal and give the command
	 * its foreground. */
	bool ctty;
	/* The Landlock backend: a unix socket to agentbox's broker, which
	 * gets the listener of the notifying filter (seccomp_notify.h);
	 * <= 0 = none. */
	int broker_fd;
	/* Also send creation, removal and renaming to the broker (the kernel
	 * has ADDFD and CONTINUE); else those stay with Landlock alone. */
	bool broker_fs;
	/* With broker_fd: the command's process group cannot be left
	 * (setsid, setpgid elsewhere: EPERM), for a reaper that ends the run
	 * by that group (the Landlock backend without a cgroup). */
	bool pin_pgroup;
	char **command;
};

/* The steps above, for a backend that reaches the sandbox without an exec
 * (the built-in engine calls it in its sandbox init). Never returns. */
_Noreturn void inner_enter(const struct inner_config *c);

#endif
