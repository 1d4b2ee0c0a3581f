#include "policy/domain.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

/* ---- host text --------------------------------------------------------- */

/* An IPv6 literal, optionally with a %zone; canonical text into out. */
static bool canonical_ipv6(const char *in, char out[DOMAIN_HOST_MAX])
{
	char addr[DOMAIN_HOST_MAX];
	const char *zone = strchr(in, '%');
	size_t alen = zone ? (size_t)(zone - in) : strlen(in);
	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	struct in6_addr a;
	if (inet_pton(AF_INET6, addr, &a) != 1)
		return false;
	char text[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &a, text, sizeof(text));
	if (zone) {
		/* Interface names: letters, digits and a few separators. */
		if (!zone[1] || strlen(zone + 1) > 32)
			return false;
		for (const char *c = zone + 1; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr("-_.", *c))
				return false;
	}
	snprintf(out, DOMAIN_HOST_MAX, "%s%s", text, zone ? zone : "");
	return true;
}

/* Any IPv4 text the C library would connect to ("127.1", "0x7f.0.0.1",
 * "2130706433" included): canonical dotted quad into out. */
static bool canonical_ipv4(const char *in, char out[DOMAIN_HOST_MAX])
{
	struct in_addr a;
	for (const char *c = in; *c; c++)
		if (!isxdigit((unsigned char)*c) && *c != '.' && *c != 'x')
			return false;
	if (inet_aton(in, &a) == 0)
		return false;
	inet_ntop(AF_INET, &a, out, DOMAIN_HOST_MAX);
	return true;
}

/* A DNS name: dot-separated labels of letters, digits, '-' and '_' (seen
 * in real service names), 1..63 characters each, 253 in all. */
static bool valid_dns_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (const char *c = s;; c++) {
		if (*c == '.' || *c == '\0') {
			if (label == 0 || label > 63)
				return false;
			if (*c == '\0')
				return true;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return false;
		label++;
	}
}

/* Lower case, without one trailing dot; false if it does not fit. */
static bool lower_copy(const char *in, size_t n, char out[DOMAIN_HOST_MAX])
{
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n >= DOMAIN_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	return true;
}

/* Normalises a host without port; *is_ip says whether it was a literal. */
static int normalize(const char *in, size_t n, bool bracketed, char out[DOMAIN_HOST_MAX],
		     bool *is_ip)
{
	char tmp[DOMAIN_HOST_MAX];
	if (!lower_copy(in, n, tmp))
		return -EINVAL;
	*is_ip = true;
	if (bracketed || strchr(tmp, ':'))
		return canonical_ipv6(tmp, out) ? 0 : -EINVAL;
	if (canonical_ipv4(tmp, out))
		return 0;
	*is_ip = false;
	if (!valid_dns_name(tmp))
		return -EINVAL;
	memcpy(out, tmp, strlen(tmp) + 1);
	return 0;
}

int domain_normalize_host(const char *in, char out[DOMAIN_HOST_MAX])
{
	while (isspace((unsigned char)*in))
		in++;
	size_t n = strlen(in);
	while (n > 0 && isspace((unsigned char)in[n - 1]))
		n--;
	bool bracketed = n >= 2 && in[0] == '[' && in[n - 1] == ']';
	if (bracketed) {
		in++;
		n -= 2;
	}
	bool is_ip;
	return normalize(in, n, bracketed, out, &is_ip);
}

/* ---- patterns ---------------------------------------------------------- */

static int parse_port(const char *s, unsigned *out)
{
	if (!*s || strlen(s) > 5)
		return -EINVAL;
	unsigned v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_ports(const char *text, const char *s, struct domain_pattern *p, ab_error *err)
{
	char buf[16];
	const char *dash = strchr(s, '-');
	if (strlen(s) >= sizeof(buf))
		goto bad;
	if (!dash) {
		if (parse_port(s, &p->port_lo) < 0)
			goto bad;
		p->port_hi = p->port_lo;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)(dash - s), s);
	if (parse_port(buf, &p->port_lo) < 0 || parse_port(dash + 1, &p->port_hi) < 0)
		goto bad;
	if (p->port_lo > p->port_hi)
		return ab_fail(err, EINVAL, "invalid domain pattern '%s': the port range %s runs backwards",
			       text, s);
	return 0;
bad:
	return ab_fail(err, EINVAL,
		       "invalid domain pattern '%s': '%s' is not a port (1-65535) or a port range LO-HI",
		       text, s);
}

int domain_pattern_parse(const char *text, bool allow, struct domain_pattern *out, ab_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *s = text, *host, *port = NULL;
	size_t hlen;
	bool bracketed = false;

	if (!*s)
		return ab_fail(err, EINVAL, "empty domain pattern");
	if (strcmp(s, "*") == 0) {
		if (!allow)
			return ab_fail(err, EINVAL,
				       "invalid deny pattern '*': to refuse every destination use --net none");
		out->kind = DOMAIN_ANY;
		out->text = xstrdup(text);
		return 0;
	}
	if (strncmp(s, "**.", 3) == 0) {
		out->kind = DOMAIN_APEX_AND_SUB;
		s += 3;
	} else if (strncmp(s, "*.", 2) == 0) {
		out->kind = DOMAIN_SUBDOMAINS;
		s += 2;
	}
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return ab_fail(err, EINVAL, "invalid domain pattern '%s': '[' without ']'", text);
		host = s + 1;
		hlen = (size_t)(close - host);
		bracketed = true;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return ab_fail(err, EINVAL, "invalid domain pattern '%s': unexpected '%s' after ']'",
				       text, close + 1);
	} else {
		const char *colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return ab_fail(err, EINVAL,
				       "invalid domain pattern '%s': write IPv6 addresses in brackets, e.g. [2001:db8::1]:443",
				       text);
		host = s;
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		port = colon ? colon + 1 : NULL;
	}
	if (memchr(host, '*', hlen))
		return ab_fail(err, EINVAL,
			       "invalid domain pattern '%s': '*' is allowed only as a leading '*.' (subdomains) or '**.' (the domain and its subdomains), or alone",
			       text);
	if (normalize(host, hlen, bracketed, out->host, &out->is_ip) < 0)
		return ab_fail(err, EINVAL,
			       "invalid domain pattern '%s': '%.*s' is not a host name or IP address",
			       text, (int)hlen, host);
	if (out->is_ip && out->kind != DOMAIN_EXACT)
		return ab_fail(err, EINVAL,
			       "invalid domain pattern '%s': wildcards apply to names, not to IP addresses",
			       text);
	if (port) {
		int r = parse_ports(text, port, out, err);
		if (r < 0)
			return r;
	}
	out->text = xstrdup(text);
	return 0;
}

void domain_pattern_free(struct domain_pattern *p)
{
	free(p->text);
	p->text = NULL;
}

static bool ends_with_label(const char *host, const char *suffix)
{
	size_t h = strlen(host), s = strlen(suffix);
	return h > s + 1 && host[h - s - 1] == '.' && strcmp(host + h - s, suffix) == 0;
}

bool domain_pattern_matches(const struct domain_pattern *p, const char *host, unsigned port)
{
	if (p->port_lo && (port < p->port_lo || port > p->port_hi))
		return false;
	switch (p->kind) {
	case DOMAIN_ANY:
		return true;
	case DOMAIN_EXACT:
		return strcmp(host, p->host) == 0;
	case DOMAIN_SUBDOMAINS:
		return ends_with_label(host, p->host);
	case DOMAIN_APEX_AND_SUB:
		return strcmp(host, p->host) == 0 || ends_with_label(host, p->host);
	}
	return false;
}

/* ---- rule lists -------------------------------------------------------- */

int domain_rules_add(struct domain_rules *r, const char *text, bool allow, ab_error *err)
{
	struct domain_pattern p;
	int ret = domain_pattern_parse(text, allow, &p, err);
	if (ret < 0)
		return ret;
	struct domain_pattern **arr = allow ? &r->allow : &r->deny;
	size_t *n = allow ? &r->n_allow : &r->n_deny;
	size_t *cap = allow ? &r->cap_allow : &r->cap_deny;
	grow_array((void **)arr, cap, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = p;
	return 0;
}

void domain_rules_free(struct domain_rules *r)
{
	for (size_t i = 0; i < r->n_allow; i++)
		domain_pattern_free(&r->allow[i]);
	for (size_t i = 0; i < r->n_deny; i++)
		domain_pattern_free(&r->deny[i]);
	free(r->allow);
	free(r->deny);
	memset(r, 0, sizeof(*r));
}

enum domain_verdict domain_rules_check(const struct domain_rules *r, const char *host,
				       unsigned port, const struct domain_pattern **rule)
{
	const struct domain_pattern *dummy;
	if (!rule)
		rule = &dummy;
	*rule = NULL;
	for (size_t i = 0; i < r->n_deny; i++)
		if (domain_pattern_matches(&r->deny[i], host, port)) {
			*rule = &r->deny[i];
			return DOMAIN_DENIED;
		}
	for (size_t i = 0; i < r->n_allow; i++)
		if (domain_pattern_matches(&r->allow[i], host, port)) {
			*rule = &r->allow[i];
			return DOMAIN_ALLOWED;
		}
	return DOMAIN_UNMATCHED;
}

const struct domain_pattern *domain_rules_allowed_exactly(const struct domain_rules *r,
							  const char *host, unsigned port)
{
	for (size_t i = 0; i < r->n_allow; i++)
		if (r->allow[i].kind == DOMAIN_EXACT && domain_pattern_matches(&r->allow[i], host, port))
			return &r->allow[i];
	return NULL;
}
