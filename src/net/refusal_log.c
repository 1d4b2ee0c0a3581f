/* The run's refused destinations (refusal_log.h): dedup, bound, words. */
#include "net/refusal_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct refusal_entry {
	char *host; /* NULL: the network-off entry */
	unsigned port;
	enum refusal_cause cause;
	char *rule;
	unsigned long long count;
};

struct refusal_log {
	pthread_mutex_t lock;
	struct refusal_entry e[REFUSAL_LOG_KEEP];
	size_t n;
	unsigned long long dropped; /* refusals past REFUSAL_LOG_KEEP */
};

struct refusal_log *refusal_log_new(void)
{
	struct refusal_log *log = xcalloc(1, sizeof(*log));
	pthread_mutex_init(&log->lock, NULL);
	return log;
}

void refusal_log_free(struct refusal_log *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->n; i++) {
		free(log->e[i].host);
		free(log->e[i].rule);
	}
	pthread_mutex_destroy(&log->lock);
	free(log);
}

static struct refusal_entry *find(struct refusal_log *log, const char *host, unsigned port)
{
	for (size_t i = 0; i < log->n; i++) {
		struct refusal_entry *e = &log->e[i];
		if (!e->host != !host)
			continue;
		if (!host || (e->port == port && strcmp(e->host, host) == 0))
			return e;
	}
	return NULL;
}

static void add(struct refusal_log *log, const char *host, unsigned port,
		enum refusal_cause cause, const char *rule, unsigned long long count)
{
	pthread_mutex_lock(&log->lock);
	struct refusal_entry *e = find(log, host, port);
	if (e) {
		e->count += count;
	} else if (log->n < REFUSAL_LOG_KEEP) {
		log->e[log->n++] = (struct refusal_entry){
			.host = host ? xstrdup(host) : NULL, .port = port, .cause = cause,
			.rule = rule ? xstrdup(rule) : NULL, .count = count,
		};
	} else {
		log->dropped += count;
	}
	pthread_mutex_unlock(&log->lock);
}

void refusal_log_add(struct refusal_log *log, const char *host, unsigned port,
		     enum refusal_cause cause, const char *rule)
{
	if (log && host)
		add(log, host, port, cause, rule, 1);
}

void refusal_log_network_off(struct refusal_log *log, unsigned long long attempts)
{
	if (log && attempts)
		add(log, NULL, 0, REFUSED_NETWORK_OFF, NULL, attempts);
}

size_t refusal_log_count(const struct refusal_log *log)
{
	return log ? log->n : 0;
}

/* How the rules name a destination: an IPv6 literal in brackets. */
static char *host_text(const char *host)
{
	return strchr(host, ':') ? xasprintf("[%s]", host) : xstrdup(host);
}

/* The narrowest rule that opens it: the bare host for the web's two
 * ports (what the user usually means), host:port otherwise. */
static char *allow_flag(const char *host, unsigned port)
{
	_cleanup_free_ char *h = host_text(host);
	if (port == 80 || port == 443)
		return xasprintf("--allow-domain %s", h);
	return xasprintf("--allow-domain %s:%u", h, port);
}

static const char *cause_code(enum refusal_cause c)
{
	switch (c) {
	case REFUSED_DENY_RULE: return "denied";
	case REFUSED_NON_PUBLIC: return "not_allowed_local";
	case REFUSED_NO_RULE: return "not_allowed";
	case REFUSED_DECLINED: return "declined";
	case REFUSED_TIMEOUT: return "approval_timeout";
	case REFUSED_NETWORK_OFF: return "network_off";
	}
	return "refused";
}

void refusal_describe(const char *host, unsigned port, enum refusal_cause cause,
		      const char *rule, char **reason, char **allow_with)
{
	_cleanup_free_ char *allow = host ? allow_flag(host, port) : NULL;
	switch (cause) {
	case REFUSED_DENY_RULE:
		*reason = xasprintf("denied by the rule '%s'", rule ? rule : "?");
		*allow_with = xasprintf("remove the deny rule '%s' (--deny-domain or the policy file's network.deny)",
					rule ? rule : "?");
		return;
	case REFUSED_NON_PUBLIC:
		*reason = xstrdup("a non-public address: only a rule naming the host exactly opens it");
		*allow_with = xstrdup(allow);
		return;
	case REFUSED_NO_RULE:
		*reason = xstrdup("no rule allows it");
		*allow_with = xstrdup(allow);
		return;
	case REFUSED_DECLINED:
		*reason = xstrdup("the approval was declined");
		*allow_with = xasprintf("%s, or allow it when asked", allow);
		return;
	case REFUSED_TIMEOUT:
		*reason = xstrdup("the approval got no answer in time");
		*allow_with = xasprintf("%s, or answer the question (--approval-timeout)", allow);
		return;
	case REFUSED_NETWORK_OFF:
		*reason = xstrdup("the network is off");
		*allow_with = xstrdup("--net proxy --allow-domain HOST, or --net full");
		return;
	}
	*reason = xstrdup("refused");
	*allow_with = xstrdup("");
}

static void add_line(sbuf *out, const struct refusal_entry *e)
{
	_cleanup_free_ char *reason = NULL, *allow = NULL;
	refusal_describe(e->host, e->port, e->cause, e->rule, &reason, &allow);
	if (!e->host) {
		sbuf_addf(out, "agentbox: refused %llu attempt%s to reach the outside (connections or DNS lookups): %s; to allow: %s\n",
			  e->count, e->count == 1 ? "" : "s", reason, allow);
		return;
	}
	_cleanup_free_ char *h = host_text(e->host);
	sbuf_addf(out, "agentbox: refused %s:%u (%s); to allow: %s\n", h, e->port, reason, allow);
}

void refusal_log_lines(const struct refusal_log *log, sbuf *out)
{
	if (!log)
		return;
	struct refusal_log *l = (struct refusal_log *)log;
	pthread_mutex_lock(&l->lock);
	size_t shown = l->n < REFUSAL_LOG_SHOWN ? l->n : REFUSAL_LOG_SHOWN;
	for (size_t i = 0; i < shown; i++)
		add_line(out, &l->e[i]);
	size_t more = l->n - shown;
	if (more || l->dropped)
		sbuf_addf(out, "agentbox: and %s%zu more refused destination%s (the network events name each)\n",
			  l->dropped ? "at least " : "", more + (l->dropped ? 1 : 0),
			  more + (l->dropped ? 1 : 0) == 1 ? "" : "s");
	pthread_mutex_unlock(&l->lock);
}

void refusal_log_json(const struct refusal_log *log, sbuf *out)
{
	if (!log)
		return;
	struct refusal_log *l = (struct refusal_log *)log;
	pthread_mutex_lock(&l->lock);
	if (l->n == 0) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	size_t limit = l->n < REFUSAL_LOG_SHOWN ? l->n : REFUSAL_LOG_SHOWN;
	size_t start = out->len, shown = 0;
	sbuf_add(out, ",\"refused\":[");
	/* The exit event must fit in what the events keep free for it (a
	 * quarter of a pipe): long names end the list early. */
	for (; shown < limit && out->len - start < REFUSAL_JSON_MAX; shown++) {
		const struct refusal_entry *e = &l->e[shown];
		_cleanup_free_ char *reason = NULL, *allow = NULL;
		refusal_describe(e->host, e->port, e->cause, e->rule, &reason, &allow);
		sbuf_add(out, shown ? ",{\"host\":" : "{\"host\":");
		sbuf_add_json_string_or_null(out, e->host);
		if (e->host)
			sbuf_addf(out, ",\"port\":%u", e->port);
		else
			sbuf_add(out, ",\"port\":null");
		sbuf_addf(out, ",\"code\":\"%s\",\"reason\":", cause_code(e->cause));
		sbuf_add_json_string(out, reason);
		sbuf_add(out, ",\"allow_with\":");
		sbuf_add_json_string(out, allow);
		sbuf_addf(out, ",\"count\":%llu}", e->count);
	}
	sbuf_add(out, "]");
	if (l->n > shown || l->dropped)
		sbuf_addf(out, ",\"refused_more\":%zu", l->n - shown + (l->dropped ? 1 : 0));
	pthread_mutex_unlock(&l->lock);
}
