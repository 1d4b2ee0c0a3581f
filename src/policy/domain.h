/* Domain rules of the network policy: the patterns of --allow-domain and
 * --deny-domain (and the policy file's network.allow / network.deny), and
 * the decision they give for one destination.
 *
 * Pattern syntax (case-insensitive, a trailing dot ignored):
 *   example.com          that host only
 *   *.example.com        its subdomains, not example.com itself
 *   **.example.com       example.com and its subdomains
 *   *                    every host (allow lists only)
 *   192.0.2.7, [2001:db8::1]   an IP literal (IPv6 in brackets)
 * each optionally followed by :PORT or :LO-HI. Without a port the rule
 * covers every port. Deny wins over allow. */
#ifndef AB_POLICY_DOMAIN_H
#define AB_POLICY_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "agentbox.h"

/* Longest normalised host: a DNS name is at most 253 characters; an IPv6
 * literal with a zone fits too. */
#define DOMAIN_HOST_MAX 256

enum domain_kind {
	DOMAIN_EXACT,        /* example.com, or an IP literal */
	DOMAIN_SUBDOMAINS,   /* *.example.com */
	DOMAIN_APEX_AND_SUB, /* **.example.com */
	DOMAIN_ANY,          /* * */
};

struct domain_pattern {
	enum domain_kind kind;
	char host[DOMAIN_HOST_MAX]; /* normalised; empty for DOMAIN_ANY */
	bool is_ip;
	unsigned port_lo, port_hi;  /* 0, 0: every port */
	char *text;                 /* as written, for messages and events */
};

/* Parses one pattern. `allow` says which list it is for (a bare "*" is
 * refused in deny lists, where it would switch the network off in a
 * roundabout way; use --net none). Errors quote the text and say what is
 * wrong with it. */
int domain_pattern_parse(const char *text, bool allow, struct domain_pattern *out,
			 ab_error *err);
void domain_pattern_free(struct domain_pattern *p);

/* Normalises a destination host as a client sent it (Host header, CONNECT
 * authority, SOCKS5 domain name or address): lower case, no brackets, no
 * trailing dot, IP literals in their canonical text form. Returns 0, or
 * -EINVAL for something that is not a host name or IP literal. */
int domain_normalize_host(const char *in, char out[DOMAIN_HOST_MAX]);

/* Whether a normalised host (and port) falls under the pattern. */
bool domain_pattern_matches(const struct domain_pattern *p, const char *host, unsigned port);

struct domain_rules {
	struct domain_pattern *allow, *deny;
	size_t n_allow, n_deny, cap_allow, cap_deny;
};

enum domain_verdict {
	DOMAIN_UNMATCHED, /* no rule: ask the human */
	DOMAIN_ALLOWED,
	DOMAIN_DENIED,
};

/* Adds a pattern to the allow or deny list. */
int domain_rules_add(struct domain_rules *r, const char *text, bool allow, ab_error *err);
void domain_rules_free(struct domain_rules *r);

/* The verdict for a normalised host and port; *rule (may be NULL) gets the
 * deciding pattern, or NULL when none matched. */
enum domain_verdict domain_rules_check(const struct domain_rules *r, const char *host,
				       unsigned port, const struct domain_pattern **rule);

/* Whether an allow rule names exactly this host (no wildcard) and covers
 * the port: what a non-public destination needs to be reachable. */
const struct domain_pattern *domain_rules_allowed_exactly(const struct domain_rules *r,
							  const char *host, unsigned port);

#endif
