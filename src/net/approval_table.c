/* The pure parts of the approvals: choices, the question table that
 * deduplicates by (host, protocol, port), the session answers, the reply
 * parser and the saved pattern. Linear lists: questions are put to a
 * human, so there are few of them at a time. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/util.h"
#include "net/approval_int.h"

static const char *const choice_names[] = {
	[AC_NONE] = NULL,
	[AC_ALLOW_ONCE] = "allow_once",
	[AC_ALLOW_SESSION] = "allow_session",
	[AC_ALLOW_ALWAYS] = "allow_always",
	[AC_DENY_ONCE] = "deny_once",
	[AC_DENY_SESSION] = "deny_session",
	[AC_DENY_ALWAYS] = "deny_always",
};

const char *approval_choice_name(enum approval_choice c)
{
	return c <= AC_DENY_ALWAYS && choice_names[c] ? choice_names[c] : "none";
}

enum approval_choice approval_choice_from_name(const char *s)
{
	for (int c = AC_ALLOW_ONCE; c <= AC_DENY_ALWAYS; c++)
		if (strcmp(s, choice_names[c]) == 0)
			return (enum approval_choice)c;
	return AC_NONE;
}

bool approval_choice_allows(enum approval_choice c)
{
	return c == AC_ALLOW_ONCE || c == AC_ALLOW_SESSION || c == AC_ALLOW_ALWAYS;
}

void approval_key_set(struct approval_key *k, const char *host, const char *protocol,
		      unsigned port)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->host, sizeof(k->host), "%s", host);
	snprintf(k->protocol, sizeof(k->protocol), "%s", protocol);
	k->port = port;
}

static bool key_eq(const struct approval_key *a, const struct approval_key *b)
{
	return a->port == b->port && strcmp(a->protocol, b->protocol) == 0 &&
	       strcmp(a->host, b->host) == 0;
}

struct question *approval_table_join(struct approval_table *t, const struct approval_key *k,
				     uint64_t waiter, bool *created)
{
	struct question *q, **tail = &t->questions;
	for (q = t->questions; q; q = q->next) {
		if (key_eq(&q->key, k))
			break;
		tail = &q->next;
	}
	*created = q == NULL;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->id = ++t->next_id;
		q->key = *k;
		*tail = q;
	}
	grow_array((void **)&q->waiters, &q->cap_waiters, q->n_waiters + 1, sizeof(*q->waiters));
	q->waiters[q->n_waiters++] = waiter;
	return q;
}

struct question *approval_table_by_id(struct approval_table *t, uint64_t id)
{
	for (struct question *q = t->questions; q; q = q->next)
		if (q->id == id)
			return q;
	return NULL;
}

struct question *approval_table_withdraw(struct approval_table *t, uint64_t waiter)
{
	for (struct question *q = t->questions; q; q = q->next)
		for (size_t i = 0; i < q->n_waiters; i++)
			if (q->waiters[i] == waiter) {
				q->waiters[i] = q->waiters[--q->n_waiters];
				return q->n_waiters == 0 ? q : NULL;
			}
	return NULL;
}

void approval_table_unlink(struct approval_table *t, struct question *q)
{
	for (struct question **pp = &t->questions; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			q->next = NULL;
			return;
		}
}

void question_free(struct question *q)
{
	if (!q)
		return;
	free(q->waiters);
	free(q);
}

void approval_session_set(struct approval_table *t, const struct approval_key *k,
			  bool any_protocol, bool allow, const char *reason)
{
	struct session_entry *e;
	for (e = t->session; e; e = e->next)
		if (e->any_protocol == any_protocol && key_eq(&e->key, k))
			break;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->key = *k;
		e->any_protocol = any_protocol;
		e->next = t->session;
		t->session = e;
	}
	e->allow = allow;
	free(e->reason);
	e->reason = xstrdup(reason);
	/* A later answer for a key overrides the earlier ones it covers. */
	for (struct session_entry **pp = &t->session; *pp;) {
		struct session_entry *o = *pp;
		bool covered = o != e && any_protocol && o->key.port == k->port &&
			       strcmp(o->key.host, k->host) == 0 && o->allow != allow;
		if (covered) {
			*pp = o->next;
			free(o->reason);
			free(o);
		} else {
			pp = &o->next;
		}
	}
}

const struct session_entry *approval_session_get(const struct approval_table *t,
						 const struct approval_key *k)
{
	const struct session_entry *found = NULL;
	for (const struct session_entry *e = t->session; e; e = e->next) {
		bool match = e->any_protocol
			? e->key.port == k->port && strcmp(e->key.host, k->host) == 0
			: key_eq(&e->key, k);
		if (match && (!found || !e->allow))
			found = e;
	}
	return found;
}

void approval_table_free(struct approval_table *t)
{
	while (t->questions) {
		struct question *q = t->questions;
		t->questions = q->next;
		question_free(q);
	}
	while (t->session) {
		struct session_entry *e = t->session;
		t->session = e->next;
		free(e->reason);
		free(e);
	}
}

int approval_parse_reply(const char *line, size_t len, uint64_t *id,
			 enum approval_choice *choice, const char **why)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	int r = -EINVAL;
	if (!o) {
		*why = "not valid JSON";
		return r;
	}
	json_t *jid = json_object_get(o, "id");
	json_t *jd = json_object_get(o, "decision");
	if (!json_is_object(o))
		*why = "not a JSON object";
	else if (!json_is_integer(jid) || json_integer_value(jid) <= 0)
		*why = "\"id\" must be the positive integer of an approval_request";
	else if (!json_is_string(jd))
		*why = "\"decision\" must be a string";
	else if ((*choice = approval_choice_from_name(json_string_value(jd))) == AC_NONE)
		*why = "\"decision\" must be one of allow_once, allow_session, allow_always, deny_once, deny_session, deny_always";
	else {
		*id = (uint64_t)json_integer_value(jid);
		r = 0;
	}
	json_decref(o);
	return r;
}

char *approval_pattern(const char *host, unsigned port)
{
	if (strchr(host, ':'))
		return xasprintf("[%s]:%u", host, port);
	return xasprintf("%s:%u", host, port);
}
