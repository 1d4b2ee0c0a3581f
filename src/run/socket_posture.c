/* The socket part of the posture and of `agentbox explain`: one
 * description per backend kind and network mode, so that the start event,
 * explain and the README say the same thing (seccomp_net.c and
 * plan/sockets.c are what makes it hold). */
#include "run/socket_posture.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/error.h"

struct socket_facts {
	const char *loopback; /* whose loopback the command can listen on */
	const char *ip;       /* where IP sockets reach */
	const char *unix_path;/* which path unix sockets connect() reaches */
	const char *abstract; /* which abstract unix sockets it reaches */
	const char *datagram; /* unix datagram sockets */
	const char *never;    /* the never-list */
};

static struct socket_facts facts_for(ab_net net, bool landlock)
{
	if (landlock) {
		switch (net) {
		case AB_NET_NONE:
			return (struct socket_facts){
				"refused (no network namespace: a listener would be on the host's loopback; use a namespace backend for local servers)",
				"refused", "refused (socketpair only: Landlock does not mediate connect(2))",
				"refused", "refused", "not needed (no unix connect)"};
		case AB_NET_PROXY:
			return (struct socket_facts){
				"not the sandbox's own (no network namespace)", "the proxy only (see proxy)",
				"refused (socketpair only: Landlock does not mediate connect(2))", "refused",
				"refused", "not needed (no unix connect)"};
		case AB_NET_FULL:
			break;
		}
		return (struct socket_facts){
			"the host's", "the host's network",
			"every host socket the caller's uid and groups may connect to",
			"the host's", "allowed",
			"NOT enforced: Landlock does not mediate connect(2), so the host's docker.sock, session bus and ssh-agent stay reachable; use a namespace backend"};
	}
	switch (net) {
	case AB_NET_NONE:
		return (struct socket_facts){
			"the sandbox's own (127.0.0.1 and ::1, not the host's)", "the sandbox's loopback only",
			"sockets visible in the sandbox's filesystem, never-list hidden",
			"the sandbox's network namespace only", "refused (a send could name any host datagram socket)",
			"hidden"};
	case AB_NET_PROXY:
		return (struct socket_facts){
			"the sandbox's own (127.0.0.1 and ::1, not the host's)",
			"the sandbox's loopback and the proxy's listeners",
			"sockets visible in the sandbox's filesystem, never-list hidden",
			"the sandbox's network namespace only", "refused (a send could name any host datagram socket)",
			"hidden"};
	case AB_NET_FULL:
		break;
	}
	return (struct socket_facts){
		"the host's", "the host's network",
		"sockets visible in the sandbox's filesystem, never-list hidden",
		"the host's (no network namespace under --net full)", "allowed", "hidden"};
}

static void add_paths(sbuf *b, const char *key, const struct plan *plan, enum node_source src,
		      bool never_only)
{
	sbuf_addf(b, ",\"%s\":[", key);
	bool first = true;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->source != src || (never_only && !strstr(n->why, "never-list")))
			continue;
		sbuf_add(b, first ? "" : ",");
		sbuf_add_json_string(b, n->path);
		first = false;
	}
	sbuf_add(b, "]");
}

void socket_posture_json(sbuf *b, const struct plan *plan, ab_backend backend)
{
	bool landlock = backend == AB_BACKEND_LANDLOCK;
	struct socket_facts f = facts_for(plan->net, landlock);
	sbuf_add(b, ",\"sockets\":{\"loopback\":");
	sbuf_add_json_string(b, f.loopback);
	sbuf_add(b, ",\"ip\":");
	sbuf_add_json_string(b, f.ip);
	sbuf_add(b, ",\"unix\":");
	sbuf_add_json_string(b, f.unix_path);
	sbuf_add(b, ",\"abstract\":");
	sbuf_add_json_string(b, f.abstract);
	sbuf_add(b, ",\"unix_datagram\":");
	sbuf_add_json_string(b, f.datagram);
	sbuf_add(b, ",\"never_list\":");
	sbuf_add_json_string(b, f.never);
	add_paths(b, "hidden", plan, NODE_SOCKET, false);
	add_paths(b, "allow_unix", plan, NODE_SOCKET_ALLOW, false);
	/* the warning: a never-list socket reachable because the user said so */
	add_paths(b, "never_list_allowed", plan, NODE_SOCKET_ALLOW, true);
	sbuf_add(b, "}");
}

void socket_posture_print(const struct plan *plan, ab_backend backend, FILE *out)
{
	bool landlock = backend == AB_BACKEND_LANDLOCK;
	struct socket_facts f = facts_for(plan->net, landlock);
	fprintf(out, "\nsockets:\n  loopback: %s\n  ip: %s\n  unix: %s\n  abstract unix: %s\n"
		     "  unix datagram: %s\n  never-list: %s\n",
		f.loopback, f.ip, f.unix_path, f.abstract, f.datagram, f.never);
	/* Landlock keeps none of these nodes (plan/sockets.c): say what
	 * they would have been, not that they hold */
	bool refused = landlock && plan->net != AB_NET_FULL;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->source == NODE_SOCKET)
			fprintf(out, "  %s %s (%s)\n", landlock ? "not hidden by this backend:" : "hidden",
				n->path, n->why);
		else if (n->source == NODE_SOCKET_ALLOW && refused)
			fprintf(out, "  --allow-unix %s: refused on this backend under --net %s "
				     "(no unix connect here; use a namespace backend)\n",
				n->path, ab_net_name(plan->net));
		else if (n->source == NODE_SOCKET_ALLOW)
			fprintf(out, "  reachable %s (%s)%s\n", n->path, n->why,
				strstr(n->why, "never-list") ? " WARNING: on the never-list" : "");
	}
}

int socket_check_backend(const struct plan *plan, ab_backend backend, ab_error *err)
{
	if (backend != AB_BACKEND_LANDLOCK || plan->net == AB_NET_FULL)
		return 0;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->source != NODE_SOCKET_ALLOW)
			continue;
		return ab_fail(err, ENOTSUP,
			       "%s %s: the Landlock backend refuses unix connect(2) under --net %s (it has no "
			       "network namespace and Landlock does not mediate connect, so no single socket can be let through)\n"
			       "fix: use a namespace backend (--backend builtin or bwrap), or --net full",
			       n->why, n->path, ab_net_name(plan->net));
	}
	return 0;
}
