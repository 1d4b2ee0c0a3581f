/* The proxy variables of --net proxy (proxy_env.c); sandbox_proxy_sets
 * and sandbox_proxy_environ (sandbox_proxy.h) are built on them. */
#ifndef AB_SUPERVISOR_PROXY_ENV_H
#define AB_SUPERVISOR_PROXY_ENV_H

#include <stdbool.h>

/* Hosts that stay direct: the sandbox's own loopback. "[::1]" next to
 * "::1": Python's urllib and undici (Node's fetch) compare NO_PROXY with
 * the bracketed host of http://[::1]:PORT and would send it to the proxy
 * (which refuses loopback); curl, git, Go and requests take either. */
#define PROXY_ENV_NO_PROXY "localhost,127.0.0.1,::1,[::1]"
/* The same for Java's http.nonProxyHosts (its own syntax: '|', '*'). */
#define PROXY_ENV_JAVA_NON_PROXY "localhost|127.*|[::1]"

/* JAVA_TOOL_OPTIONS inside: the caller's value (NULL or "" when unset)
 * with the proxy properties appended. Allocated. */
char *proxy_env_java_options(const char *callers);

#endif
