/* Whether a destination may be reached: the domain rules, then the
 * decider for what no rule covers, then every address the host resolves
 * to. The connection is then made to those checked addresses, never to a
 * second lookup's answer, so a DNS server cannot swap in another address
 * between the check and the connect (DNS rebinding). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/util.h"
#include "net/addr_class.h"
#include "net/proxy_int.h"

/* Changes the kernel made before this check count, even when their
 * notification waits behind the client's event in the same epoll batch:
 * one non-blocking read, which finds nothing almost always. */
static void proxy_refresh_own(struct proxy *p)
{
	if (p->own)
		host_addrs_on_readable(p->own);
}

const char *proxy_addr_class(const struct proxy *p, const struct sockaddr *sa)
{
	const char *cls = addr_non_public_class(sa);
	if (cls)
		return cls; /* the range names it better (127.0.0.1 is loopback) */
	if (p->own && host_addrs_contains(p->own, sa))
		return "this-host";
	return NULL;
}

/* "a loopback address", or for the host's own addresses words that say
 * why a public-looking address is local. */
static char *class_phrase(const char *cls)
{
	if (strcmp(cls, "this-host") == 0)
		return xstrdup("an address of this host's own interfaces");
	return xasprintf("a %s address", cls);
}

static void refuse_policy(struct conn *c, const char *code, const char *by, const char *rule,
			  const char *reason, const char *message)
{
	struct refusal r = {
		.status = 403, .code = code, .decided_by = by, .rule = rule,
		.reason = reason, .message = message, .socks_code = SOCKS5_NOT_ALLOWED,
	};
	conn_refuse(c, &r);
}

/* An IP literal that is not public needs an allow rule naming it exactly
 * (conn_check_addresses), and a destination no rule covers has none:
 * asking the human would only lead to a refusal after the answer. */
static bool refuse_non_public_literal(struct conn *c)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(c->host, NULL, &hints, &res) != 0)
		return false; /* a name */
	proxy_refresh_own(c->p);
	const char *cls = NULL;
	for (struct addrinfo *ai = res; ai && !cls; ai = ai->ai_next)
		cls = proxy_addr_class(c->p, ai->ai_addr);
	freeaddrinfo(res);
	if (!cls)
		return false;
	_cleanup_free_ char *what = class_phrase(cls);
	_cleanup_free_ char *why = xasprintf(
		"not_allowed_local: %s is %s; only an allow rule naming it exactly (no wildcard) opens it",
		c->host, what);
	refuse_policy(c, "blocked-by-local-policy", "non_public", NULL, why,
		      "Sandbox policy blocks local/private network addresses.");
	return true;
}

void conn_decide(struct conn *c)
{
	const struct domain_pattern *rule = NULL;
	switch (domain_rules_check(c->p->cfg.rules, c->host, c->port, &rule)) {
	case DOMAIN_DENIED: {
		_cleanup_free_ char *why = xasprintf("denied: the rule '%s' denies %s:%u",
						     rule->text, c->host, c->port);
		refuse_policy(c, "blocked-by-denylist", "rule", rule->text, why,
			      "Domain denied by the sandbox policy.");
		return;
	}
	case DOMAIN_ALLOWED:
		c->decided_by = "rule";
		c->rule = xstrdup(rule->text);
		conn_decided(c, true, "rule", NULL);
		return;
	case DOMAIN_UNMATCHED:
		break;
	}
	if (refuse_non_public_literal(c))
		return;
	c->st = ST_DECIDING;
	watch_set(c->p, &c->cw, 0);
	const struct proxy_decider *d = c->p->cfg.decider;
	if (!d) {
		conn_decided(c, false, "no_channel",
			     "not_allowed: no rule matches and no approval channel");
		return;
	}
	/* A client that hangs up meanwhile withdraws its question. Data it
	 * sends is left unread (no EPOLLIN): it goes upstream if allowed. A
	 * client that half-closed before asking is kept: it may still read. */
	if (!c->client_eof)
		watch_set(c->p, &c->cw, EPOLLRDHUP);
	c->asked = true;
	struct proxy_ask q = {
		.id = c->id, .host = c->host, .port = c->port, .protocol = conn_proto_name(c),
	};
	d->ask(d->user, c->p, &q);
}

static void dns_failed(struct conn *c, const char *why)
{
	_cleanup_free_ char *reason = xasprintf("dns_failed: cannot resolve %s: %s", c->host, why);
	struct refusal r = {
		.status = 502, .code = "dns-failure", .decided_by = "policy",
		.reason = reason, .message = "The destination's name could not be resolved.",
		.socks_code = SOCKS5_HOST_UNREACHABLE,
	};
	conn_refuse(c, &r);
}

void conn_decided(struct conn *c, bool allow, const char *by, const char *reason)
{
	if (!allow) {
		refuse_policy(c, "blocked-by-allowlist", by, NULL,
			      reason ? reason : "not_allowed: the decider refused",
			      "Domain not in allowlist.");
		return;
	}
	if (!c->decided_by)
		c->decided_by = by;
	if (reason && !c->reason)
		c->reason = xstrdup(reason);
	/* A rule's allow is reported once the addresses pass; an answer
	 * (a human's, or one remembered for the session) is a fact worth
	 * auditing at once, even when the address checks or the lookup
	 * refuse the connection afterwards (a second, deny decision). */
	if (strcmp(c->decided_by, "rule") != 0) {
		emit_decision(c, true, c->decided_by, c->rule, c->reason);
		c->answer_reported = true;
	}
	c->st = ST_RESOLVING;
	watch_set(c->p, &c->cw, 0);
	/* An IP literal needs no lookup (and a numeric getaddrinfo does not
	 * block); only names go to the resolver threads. */
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP,
	};
	if (getaddrinfo(c->host, NULL, &hints, &c->addrs) == 0) {
		c->addrs_numeric = true;
		conn_check_addresses(c);
		return;
	}
	c->addrs = NULL;
	c->job = resolver_submit(c->p->res, c->host, c);
	conn_set_deadline(c, monotonic_ms() + c->p->cfg.dns_timeout_ms);
}

void conn_on_resolved(struct conn *c, struct resolve_job *j)
{
	c->job = NULL;
	conn_set_deadline(c, 0);
	if (j->gai_error) {
		const char *why = j->gai_error == EAI_SYSTEM ? strerror(j->sys_errno)
							     : gai_strerror(j->gai_error);
		dns_failed(c, why);
		resolver_job_free(j);
		return;
	}
	c->addrs = j->res;
	j->res = NULL;
	resolver_job_free(j);
	conn_check_addresses(c);
}

void conn_resolve_timeout(struct conn *c)
{
	resolver_cancel(c->p->res, c->job);
	c->job = NULL;
	_cleanup_free_ char *why = xasprintf("no answer within %u ms", c->p->cfg.dns_timeout_ms);
	dns_failed(c, why);
}

/* The address as a normalised host, the form rules are written in. */
static bool addr_host(const struct addrinfo *ai, char out[DOMAIN_HOST_MAX])
{
	char text[INET6_ADDRSTRLEN];
	const void *a = ai->ai_family == AF_INET
		? (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr
		: (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	if (!inet_ntop(ai->ai_family, a, text, sizeof(text)))
		return false;
	return domain_normalize_host(text, out) == 0;
}

/* An answer that allowed c is overruled: the decider tells whoever
 * answered (the terminal), not only the events. */
static void tell_overruled(struct conn *c, const char *why)
{
	const struct proxy_decider *d = c->p->cfg.decider;
	if (c->answer_reported && d && d->overruled)
		d->overruled(d->user, c->p, c->host, c->port, why);
}

void conn_check_addresses(struct conn *c)
{
	proxy_refresh_own(c->p);
	const struct domain_rules *rules = c->p->cfg.rules;
	bool exact = domain_rules_allowed_exactly(rules, c->host, c->port) != NULL;
	bool any = false;
	for (struct addrinfo *ai = c->addrs; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		char ip[DOMAIN_HOST_MAX];
		if (!addr_host(ai, ip))
			continue;
		any = true;
		/* The host text of an IP literal can carry a zone the address
		 * text lacks; the literal itself was judged by the rules
		 * already. */
		bool is_name = !c->addrs_numeric;
		const struct domain_pattern *rule = NULL;
		if (is_name && domain_rules_check(rules, ip, c->port, &rule) == DOMAIN_DENIED) {
			_cleanup_free_ char *why = xasprintf(
				"denied: %s resolves to %s, which the rule '%s' denies",
				c->host, ip, rule->text);
			refuse_policy(c, "blocked-by-denylist", "rule", rule->text, why,
				      "Domain denied by the sandbox policy.");
			return;
		}
		const char *cls = proxy_addr_class(c->p, ai->ai_addr);
		if (cls && !exact && !domain_rules_allowed_exactly(rules, ip, c->port)) {
			_cleanup_free_ char *what = class_phrase(cls);
			_cleanup_free_ char *why = is_name
				? xasprintf("not_allowed_local: %s resolves to %s, %s; only an allow rule naming the host exactly (no wildcard) opens it",
					    c->host, ip, what)
				: xasprintf("not_allowed_local: %s is %s; only an allow rule naming it exactly (no wildcard) opens it",
					    c->host, what);
			tell_overruled(c, why); /* first: the refusal may end c */
			refuse_policy(c, "blocked-by-local-policy", "non_public", NULL, why,
				      "Sandbox policy blocks local/private network addresses.");
			return;
		}
	}
	if (!any) {
		dns_failed(c, "no IPv4 or IPv6 address");
		return;
	}
	if (!c->answer_reported)
		emit_decision(c, true, c->decided_by, c->rule, c->reason);
	c->allowed = true;
	c->next_addr = c->addrs;
	conn_connect_next(c);
}
