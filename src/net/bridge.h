/* The bridge of `--net proxy`: how a command in an empty network namespace
 * reaches the policy proxy, which runs in agentbox's own (the host's)
 * network namespace.
 *
 * Before the command starts, the sandbox's init binds two listening TCP
 * sockets on 127.0.0.1 inside the sandbox's namespace (HTTP proxy and
 * SOCKS5) and hands them to agentbox over a unix socket pair with
 * SCM_RIGHTS; its own copies are closed before the command runs. The
 * proxy accepts on them directly, and its outgoing connections are made in
 * the host's namespace, where agentbox lives.
 *
 * Why this rather than a unix-socket bridge (a relay in the sandbox that
 * forwards each accepted connection to a unix socket of the proxy):
 *   - no relay process or thread in the sandbox and no second copy of
 *     every byte: the proxy splices straight from the sandbox's sockets;
 *   - nothing in the sandbox ever needs AF_UNIX again, so the seccomp
 *     filter can refuse new AF_UNIX sockets outright, and no socket path
 *     has to exist in any filesystem the command can see;
 *   - the listeners belong to the sandbox's namespace: no other process on
 *     the host can connect to them (a host loopback port would be open to
 *     every local user), and the command cannot open another way out,
 *     since its namespace has only loopback.
 * The ports are fixed (plan.h): in a namespace of its own nothing else
 * holds them, and tools configured by hand can rely on them. */
#ifndef AB_NET_BRIDGE_H
#define AB_NET_BRIDGE_H

#include "agentbox.h"
#include "plan/plan.h"

/* The plan says where the listeners are (plan.h, PLAN_PROXY_*). */
#define BRIDGE_HOST PLAN_PROXY_HOST
#define BRIDGE_HTTP_PORT PLAN_PROXY_HTTP_PORT
#define BRIDGE_SOCKS_PORT PLAN_PROXY_SOCKS_PORT

/* In the sandbox, in its network namespace: binds and listens on both
 * ports, sends the two sockets over `sock` and closes them. Allocates
 * nothing (the inner stage's rule). */
int bridge_send_listeners(int sock, ab_error *err);

/* In agentbox: receives them (fds[0] HTTP, fds[1] SOCKS5). Blocks until
 * they arrive; -EPIPE when the sandbox closed its end without sending
 * (its setup failed and says why on its own channel). */
int bridge_recv_listeners(int sock, int fds[2], ab_error *err);

#endif
