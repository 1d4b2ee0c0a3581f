/* `--net proxy` on agentbox's side: the policy proxy of one run, served on
 * the listeners the sandbox hands over through the bridge (net/bridge.h),
 * in a thread of the supervisor.
 *
 * Order, which matters: sandbox_proxy_prepare before the sandbox exists
 * (it creates no thread: the built-in engine clones with raw clone(2), and
 * a thread holding a libc lock at that moment would leave the child stuck
 * on it); the sandbox inherits sandbox_proxy_child_fd; sandbox_proxy_start
 * once it runs; sandbox_proxy_stop when the command has ended, which closes
 * every connection (their `network` end events carry the byte counts). */
#ifndef AB_SUPERVISOR_SANDBOX_PROXY_H
#define AB_SUPERVISOR_SANDBOX_PROXY_H

#include "agentbox.h"
#include "common/util.h"
#include "supervisor/supervisor.h"

struct sandbox_proxy;

/* NULL in *out (and 0) when the plan's network is not the proxy. */
int sandbox_proxy_prepare(const struct supervise_request *req, struct sandbox_proxy **out,
			  ab_error *err);
/* The sandbox's end of the bridge, to be inherited by it; -1 without proxy. */
int sandbox_proxy_child_fd(const struct sandbox_proxy *sp);
/* The command's fds 0-2: the options' (-1: agentbox's own), except that
 * with --approvals-tty each terminal among them is replaced by a pty of
 * agentbox's own, relayed (or by /dev/null when no pty can be had): the
 * command never shares the terminal the approvals are asked on. */
void sandbox_proxy_stdio(const struct sandbox_proxy *sp, const ab_run_options *o, int out[3]);
/* Whether the command's session should take its terminal as its
 * controlling terminal (the inner stage's ctty): with --approvals-tty,
 * where a terminal among fds 0-2 can only be agentbox's pty. Known from
 * the request alone, before the backend builds its command line. */
bool sandbox_proxy_ctty(const struct supervise_request *req);
/* The relay for watch_loop (struct watch_state.relay), or NULL. */
struct tty_relay *sandbox_proxy_relay(const struct sandbox_proxy *sp);
/* Closes our copy of the child's ends and starts serving. */
int sandbox_proxy_start(struct sandbox_proxy *sp, ab_error *err);
/* Stops and frees (sp may be NULL or never started). */
void sandbox_proxy_stop(struct sandbox_proxy *sp);

/* Whether an environment entry (NAME=value) is one of the variables
 * below, or a spelling that tools misread: the caller's value would point
 * somewhere the sandbox cannot reach (or around the proxy), so it is left
 * out (proxy_env.c has the table). */
bool sandbox_proxy_sets(const char *entry);
/* The variables the command's tools read to find the proxy, appended to
 * env; a JAVA_TOOL_OPTIONS already in env gets the proxy properties
 * appended to it. */
void sandbox_proxy_environ(strv *env);

#endif
