/* What every backend's supervisor does the same way while a sandbox runs:
 * the command's environment, blocking the forwarded signals into a
 * signalfd, and the poll loop that relays signals, collects the backend's
 * own messages and enforces the deadline. */
#ifndef AB_SUPERVISOR_WATCH_H
#define AB_SUPERVISOR_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agentbox.h"
#include "common/util.h"
#include "supervisor/supervisor.h"

struct tty_relay;
struct net_counters;

#define WATCH_TEXT_MAX (64 * 1024)

struct watch_state {
	pid_t pid;           /* our child: bwrap, or the built-in sandbox init */
	pid_t sandbox_pid;   /* the sandbox's PID 1 as seen from here, once known */
	int wait_status;
	bool exited;
	bool timed_out;
	sbuf err_text;       /* what the backend itself reported */
	sbuf status_text;    /* bwrap's --json-status-fd / --info-fd output */
	struct tty_relay *relay; /* the command's pty, relayed in the loop, or NULL */
	const struct run_hooks *hooks; /* ab_start's (supervisor.h), or NULL */
	bool started_told;   /* hooks->started was called */
	/* pid is the Landlock backend's reaper: on timeout only the command
	 * (sandbox_pid) is killed, and the reaper then ends the rest itself */
	bool pid_is_reaper;
	int pending_sig;     /* a signal that came before the reaper named the command */
	struct net_counters *netc; /* attached to sandbox_pid once set up, or NULL */
};

/* The caller's environment plus AGENTBOX_SANDBOX=1, AGENTBOX_NETWORK,
 * the proxy's variables under --net proxy and git's (git_env.h). Free
 * with watch_free_environ. */
char **watch_sandbox_environ(const struct plan *plan, char *const *base);

/* In a child between fork (or clone) and exec, async-signal-safe: puts
 * fds[0..2] (the options' stdin_fd, stdout_fd, stderr_fd; -1 = keep) at
 * 0, 1 and 2. -1 on failure. */
int watch_child_stdio(const int fds[3]);
void watch_free_environ(char **envp);

/* Blocks SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD and SIGWINCH in the calling
 * thread and returns a signalfd for them; *old gets the previous mask. */
int watch_block_signals(sigset_t *old, ab_error *err);

/* Resets the forwarded signals to their default action (in a child). */
void watch_default_signals(void);

/* Polls until st->pid has exited, relaying st->relay meanwhile (and
 * finishing it at the end). err_r: the backend's message pipe;
 * status_r: bwrap's status pipe or -1 (it names the sandbox's PID 1).
 * With st->hooks, also forwards the signals read from hooks->ctl_fd and
 * calls hooks->started once the sandbox's setup is over: err_r at EOF
 * (the builtin and Landlock inner stages close it just before exec), or
 * for bwrap once the sandbox's PID 1 is known, or when st->pid ended. */
void watch_loop(struct watch_state *st, int sfd, int err_r, int status_r, double timeout);

/* The child's wait status as an exit code (128+N for signal N). */
int watch_exit_status(const struct watch_state *st);

/* Sets AB_EXIT_TIMEOUT and says so on stderr unless quiet. */
void watch_report_timeout(const ab_run_options *o, int *exit_status);

#endif
