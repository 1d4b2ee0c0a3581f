/* The environment variables that lead the command's tools to the policy
 * proxy under --net proxy: one table, each name with the tool that reads
 * it (the README's table is this one). The variables are a convenience,
 * not the boundary: the network namespace has no other way out. */
#include "supervisor/proxy_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bridge.h"
#include "supervisor/sandbox_proxy.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

enum proxy_value {
	PV_HTTP,      /* http://127.0.0.1:3128 */
	PV_SOCKS,     /* socks5h://127.0.0.1:1080: names resolved by the proxy */
	PV_HOST_PORT, /* 127.0.0.1:3128 (no scheme) */
	PV_NO_PROXY,  /* PROXY_ENV_NO_PROXY */
	PV_LITERAL,
};

struct proxy_var {
	const char *name;
	enum proxy_value value;
	const char *literal; /* PV_LITERAL */
	const char *tool;    /* why it is set; documented in the README */
};

static const struct proxy_var proxy_vars[] = {
	{"http_proxy", PV_HTTP, NULL, "curl, wget, git, Python, Ruby, pip, Go, gcloud"},
	{"https_proxy", PV_HTTP, NULL, "curl, wget, git, Python, Ruby, pip, Go, gcloud"},
	{"HTTP_PROXY", PV_HTTP, NULL, "Go, Python, Node.js, Deno, .NET (curl reads only the lower case for http)"},
	{"HTTPS_PROXY", PV_HTTP, NULL, "Go, Python, Node.js, Deno, .NET, curl"},
	{"ws_proxy", PV_HTTP, NULL, "Python websockets (ws://)"},
	{"wss_proxy", PV_HTTP, NULL, "Python websockets (wss://)"},
	{"WS_PROXY", PV_HTTP, NULL, "Python websockets (ws://)"},
	{"WSS_PROXY", PV_HTTP, NULL, "Python websockets (wss://)"},
	{"grpc_proxy", PV_HTTP, NULL, "gRPC C core (Python, Ruby, C++, PHP) and grpc-node, before https_proxy"},
	{"GRPC_PROXY", PV_HTTP, NULL, "the upper-case spelling of grpc_proxy"},
	/* the HTTP proxy takes no ftp:// URLs, so FTP goes through SOCKS5 */
	{"ftp_proxy", PV_SOCKS, NULL, "curl (ftp:// through SOCKS5)"},
	{"FTP_PROXY", PV_SOCKS, NULL, "curl (ftp:// through SOCKS5)"},
	{"all_proxy", PV_SOCKS, NULL, "curl (every other protocol), Python requests with PySocks"},
	{"ALL_PROXY", PV_SOCKS, NULL, "curl (every other protocol)"},
	{"RSYNC_PROXY", PV_HOST_PORT, NULL, "rsync (rsync:// daemons through CONNECT)"},
	{"no_proxy", PV_NO_PROXY, NULL, "everything above that reads http_proxy"},
	{"NO_PROXY", PV_NO_PROXY, NULL, "everything above that reads HTTP_PROXY"},
	/* npm has `proxy`, `https-proxy` and `noproxy`; an http-proxy key
	 * makes npm 11 warn `Unknown env config "http-proxy"` on every run */
	{"npm_config_proxy", PV_HTTP, NULL, "npm, Yarn 1, pnpm (http://)"},
	{"npm_config_https_proxy", PV_HTTP, NULL, "npm, Yarn 1, pnpm (https://)"},
	{"npm_config_noproxy", PV_NO_PROXY, NULL, "npm, Yarn 1, pnpm"},
	/* Yarn 2+ takes YARN_* as settings and refuses unknown ones, so no
	 * YARN_NO_PROXY (it has no such setting) */
	{"YARN_HTTP_PROXY", PV_HTTP, NULL, "Yarn 2+ (httpProxy)"},
	{"YARN_HTTPS_PROXY", PV_HTTP, NULL, "Yarn 2+ (httpsProxy)"},
	{"CLOUDSDK_PROXY_TYPE", PV_LITERAL, "http", "gcloud (proxy/type)"},
	{"CLOUDSDK_PROXY_ADDRESS", PV_LITERAL, BRIDGE_HOST, "gcloud (proxy/address)"},
	{"CLOUDSDK_PROXY_PORT", PV_LITERAL, STRINGIFY(BRIDGE_HTTP_PORT), "gcloud (proxy/port)"},
	{"NODE_USE_ENV_PROXY", PV_LITERAL, "1", "Node.js 22.21+ and 24+: http, https and fetch honour the variables above"},
};

/* Taken out of the caller's environment and not set: spellings no tool
 * needs that either make a tool complain (npm's http-proxy, Yarn 2's
 * noProxy) or send loopback to the proxy (pip's --proxy turns NO_PROXY
 * off: a package index on 127.0.0.1 would be refused), or that point at
 * the caller's own proxy. */
static const char *const dropped_vars[] = {
	"npm_config_http_proxy", "NPM_CONFIG_HTTP_PROXY", "NPM_CONFIG_PROXY",
	"NPM_CONFIG_HTTPS_PROXY", "NPM_CONFIG_NOPROXY", "YARN_NO_PROXY",
	"BUNDLE_HTTP_PROXY", "BUNDLE_HTTPS_PROXY", "BUNDLE_NO_PROXY", "PIP_PROXY",
	"DOCKER_HTTP_PROXY", "DOCKER_HTTPS_PROXY", "no_grpc_proxy",
	"CLOUDSDK_PROXY_USERNAME", "CLOUDSDK_PROXY_PASSWORD", "CLOUDSDK_PROXY_RDNS",
	NULL,
};

#define JAVA_OPTIONS "JAVA_TOOL_OPTIONS="
#define HTTP_PORT STRINGIFY(BRIDGE_HTTP_PORT)

static bool name_is(const char *entry, const char *name)
{
	size_t len = strlen(name);
	return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

bool sandbox_proxy_sets(const char *entry)
{
	for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
		if (name_is(entry, proxy_vars[i].name))
			return true;
	for (size_t i = 0; dropped_vars[i]; i++)
		if (name_is(entry, dropped_vars[i]))
			return true;
	return false;
}

char *proxy_env_java_options(const char *callers)
{
	/* The JVM applies the options in order and a later -D replaces an
	 * earlier one, so the caller's own settings stay and ours win. */
	static const char ours[] =
		"-Dhttp.proxyHost=" BRIDGE_HOST " -Dhttp.proxyPort=" HTTP_PORT
		" -Dhttps.proxyHost=" BRIDGE_HOST " -Dhttps.proxyPort=" HTTP_PORT
		" -Dhttp.nonProxyHosts=" PROXY_ENV_JAVA_NON_PROXY;
	if (!callers || !*callers)
		return xstrdup(ours);
	return xasprintf("%s %s", callers, ours);
}

void sandbox_proxy_environ(strv *env)
{
	_cleanup_free_ char *http = xasprintf("http://%s:%d", BRIDGE_HOST, BRIDGE_HTTP_PORT);
	_cleanup_free_ char *socks = xasprintf("socks5h://%s:%d", BRIDGE_HOST, BRIDGE_SOCKS_PORT);
	_cleanup_free_ char *host_port = xasprintf("%s:%d", BRIDGE_HOST, BRIDGE_HTTP_PORT);
	for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++) {
		const struct proxy_var *v = &proxy_vars[i];
		const char *value = v->value == PV_HTTP ? http
			: v->value == PV_SOCKS ? socks
			: v->value == PV_HOST_PORT ? host_port
			: v->value == PV_NO_PROXY ? PROXY_ENV_NO_PROXY : v->literal;
		strv_push_owned(env, xasprintf("%s=%s", v->name, value));
	}
	/* JAVA_TOOL_OPTIONS keeps the caller's options (the environment the
	 * caller passed is already in env), ours appended */
	for (size_t i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], JAVA_OPTIONS, strlen(JAVA_OPTIONS)) != 0)
			continue;
		_cleanup_free_ char *java = proxy_env_java_options(env->v[i] + strlen(JAVA_OPTIONS));
		free(env->v[i]);
		env->v[i] = xasprintf(JAVA_OPTIONS "%s", java);
		return;
	}
	_cleanup_free_ char *java = proxy_env_java_options(NULL);
	strv_push_owned(env, xasprintf(JAVA_OPTIONS "%s", java));
}
