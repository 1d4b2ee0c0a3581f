/* Human approvals for the policy proxy: a destination no rule covers is
 * put to the user, on agentbox's controlling terminal and/or on a JSON
 * lines channel (--approvals-fd), and the answer lets the connection
 * through or refuses it.
 *
 * Questions are deduplicated by (host, protocol, port): every connection
 * waiting for the same key gets the one answer. The choices:
 *   allow_once, deny_once        this question's connections only
 *   allow_session, deny_session  also every later request for the key,
 *                                for as long as the proxy runs
 *   allow_always, deny_always    as *_session for host:port (any protocol),
 *                                and saved as "HOST:PORT" into the policy
 *                                file named by save_path (network.allow or
 *                                network.deny), so later runs need no
 *                                question; without save_path they act as
 *                                *_session and say so. On the terminal,
 *                                the pattern, the choice and the file are
 *                                shown once more and saved only after "y"
 * No channel, a channel closed, or no answer within the timeout: deny.
 *
 * The JSON channel, one object per line each way:
 *   agentbox -> {"type":"approval_request","id":N,"host":H,"port":P,
 *                "protocol":"http"|"https_connect"|"socks5_tcp",
 *                "command":[argv...]|null}
 *   peer     -> {"id":N,"decision":"allow_once"|...|"deny_always"}
 *   agentbox -> {"type":"approval_cancelled","id":N,
 *                "reason":"timeout"|"no_waiters"|"answered"}
 *               ("answered": the terminal answered first)
 *   agentbox -> {"type":"approval_saved","id":N,"path":FILE,"pattern":S}
 *   agentbox -> {"type":"approval_warning","id":N,"warning":TEXT}
 *               (an "always" answer that could not be saved, or had no
 *               file to go to: it holds for this session only)
 * Malformed lines, lines over 64 KiB and unknown ids are ignored with a
 * warning on stderr. EOF on the channel ends it.
 *
 * Everything runs on the proxy loop's thread (struct proxy_decider): the
 * object creates no thread and forks nothing. */
#ifndef AB_NET_APPROVALS_H
#define AB_NET_APPROVALS_H

#include <stdbool.h>

#include "agentbox.h"
#include "net/proxy.h"

#define APPROVALS_DEFAULT_TIMEOUT_MS 60000

struct approvals_config {
	int fd;                /* the JSON channel, -1 for none; stays the caller's
				  (one that is not a socket is set O_NONBLOCK) */
	bool tty;              /* ask on /dev/tty */
	unsigned timeout_ms;   /* 0: APPROVALS_DEFAULT_TIMEOUT_MS */
	const char *save_path; /* where "always" answers go, or NULL */
	char *const *command;  /* the sandboxed command (shown), or NULL */
	/* With tty, when the command's terminal is relayed by agentbox: called
	 * (on the proxy's thread) before a question is shown, so that the
	 * relay stops passing keys and output (0; -1: it did not, and the
	 * terminal channel closes), and after the last answer. NULL: the
	 * command has no terminal of ours to hold back. */
	int (*tty_hold)(void *user);
	void (*tty_release)(void *user);
	void *tty_user;
};

struct approvals;

/* Fails when tty is asked and /dev/tty cannot be opened, or when fd is not
 * an open socket, pipe or terminal. */
int approvals_new(struct approvals **out, const struct approvals_config *cfg, ab_error *err);
/* For proxy_config.decider; valid until approvals_free. */
const struct proxy_decider *approvals_decider(struct approvals *a);
/* After proxy_free. */
void approvals_free(struct approvals *a);

#endif
