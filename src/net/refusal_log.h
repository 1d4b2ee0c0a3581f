/* What the run refused on the network, summarised for the user at the end
 * of the run: one line per distinct destination on stderr (unless -q) and
 * the same list as the `refused` member of the `exit` event. The proxy's
 * thread adds entries; the run reads them once the proxy has stopped. A
 * mutex keeps the two apart anyway (a library run may be inspected while
 * it goes on). */
#ifndef AB_NET_REFUSAL_LOG_H
#define AB_NET_REFUSAL_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

/* Why a destination was refused, which decides the remedy shown. */
enum refusal_cause {
	REFUSED_DENY_RULE,  /* a --deny-domain rule or network.deny matched */
	REFUSED_NON_PUBLIC, /* a non-public address without an exact allow rule */
	REFUSED_NO_RULE,    /* no rule matched and nobody could be asked */
	REFUSED_DECLINED,   /* the approval was answered with a deny */
	REFUSED_TIMEOUT,    /* the approval got no answer in time */
	REFUSED_NETWORK_OFF, /* --net none: attempts counted by the kernel */
};

/* Lines shown on stderr; the rest is summed up in one more line. */
#define REFUSAL_LOG_SHOWN 20
/* The exit event's list stops once it is this long (bytes), whatever
 * REFUSAL_LOG_SHOWN says: the exit event must fit in the room the events
 * keep for it. */
#define REFUSAL_JSON_MAX 6144
/* Distinct destinations remembered; more are only counted. */
#define REFUSAL_LOG_KEEP 256

struct refusal_log;

struct refusal_log *refusal_log_new(void);
void refusal_log_free(struct refusal_log *log);

/* Records one refusal of host:port. A destination already recorded only
 * has its count raised (the first cause is kept). rule: the deny rule's
 * text for REFUSED_DENY_RULE, else NULL. */
void refusal_log_add(struct refusal_log *log, const char *host, unsigned port,
		     enum refusal_cause cause, const char *rule);
/* --net none: `attempts` connections or lookups the sandbox's network
 * namespace had no route for (0: nothing to report). */
void refusal_log_network_off(struct refusal_log *log, unsigned long long attempts);

/* Distinct destinations recorded (the network-off entry counts as one). */
size_t refusal_log_count(const struct refusal_log *log);

/* The stderr lines, each starting with "agentbox: " and ending in "\n":
 * at most REFUSAL_LOG_SHOWN of them, then "and N more". Nothing when
 * nothing was refused. */
void refusal_log_lines(const struct refusal_log *log, sbuf *out);
/* The exit event's members, each starting with a comma: "refused", an
 * array of {host, port, code, reason, allow_with, count} (the first
 * REFUSAL_LOG_SHOWN, fewer past REFUSAL_JSON_MAX bytes), and
 * "refused_more" when there were more. Nothing when nothing was
 * refused. */
void refusal_log_json(const struct refusal_log *log, sbuf *out);

/* The words for one refusal, as in the lines: "no rule allows it" and
 * "--allow-domain example.com". Caller frees both. */
void refusal_describe(const char *host, unsigned port, enum refusal_cause cause,
		      const char *rule, char **reason, char **allow_with);

#endif
