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
/* Closes our copy of the child's end and starts serving. */
int sandbox_proxy_start(struct sandbox_proxy *sp, ab_error *err);
/* Stops and frees (sp may be NULL or never started). */
void sandbox_proxy_stop(struct sandbox_proxy *sp);

/* Whether an environment entry (NAME=value) is one of the variables
 * below: the caller's value would point somewhere the sandbox cannot reach
 * (or around the proxy), so it is left out. */
bool sandbox_proxy_sets(const char *entry);
/* The variables the command's tools read to find the proxy, appended to
 * env. */
void sandbox_proxy_environ(strv *env);

#endif
