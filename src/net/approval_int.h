/* Internals of the approvals (approvals.c): the question and session
 * tables and the reply parser (approval_table.c), the line channels
 * (approval_chan.c, approval_tty.c) and saving "always" answers
 * (approval_save.c). */
#ifndef AB_NET_APPROVAL_INT_H
#define AB_NET_APPROVAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "net/approvals.h"
#include "policy/domain.h"

/* Longest line a channel accepts; a longer one is dropped. */
#define APPROVAL_LINE_MAX 65536
/* Bytes a channel may have queued for a peer that does not read: past it
 * new questions are not sent (and time out). */
#define APPROVAL_OUT_MAX (1u << 20)

enum approval_choice {
	AC_NONE,
	AC_ALLOW_ONCE,
	AC_ALLOW_SESSION,
	AC_ALLOW_ALWAYS,
	AC_DENY_ONCE,
	AC_DENY_SESSION,
	AC_DENY_ALWAYS,
};

const char *approval_choice_name(enum approval_choice c);
/* AC_NONE for an unknown name. */
enum approval_choice approval_choice_from_name(const char *s);
bool approval_choice_allows(enum approval_choice c);

struct approval_key {
	char host[DOMAIN_HOST_MAX];
	char protocol[16];
	unsigned port;
};

void approval_key_set(struct approval_key *k, const char *host, const char *protocol,
		      unsigned port);

/* One question: a key and the proxy connections waiting for its answer. */
struct question {
	uint64_t id;
	struct approval_key key;
	uint64_t *waiters;
	size_t n_waiters, cap_waiters;
	double deadline; /* 0 until shown on a channel */
	struct question *next;
};

/* An earlier *_session or *_always answer. */
struct session_entry {
	struct approval_key key;
	bool any_protocol; /* from an "always" answer: host:port, as saved */
	bool allow;
	char *reason;      /* for later decision events */
	struct session_entry *next;
};

struct approval_table {
	struct question *questions; /* oldest first */
	struct session_entry *session;
	uint64_t next_id;
};

/* The open question for key, or a new one (*created set); `waiter` is
 * added to it either way. */
struct question *approval_table_join(struct approval_table *t, const struct approval_key *k,
				     uint64_t waiter, bool *created);
struct question *approval_table_by_id(struct approval_table *t, uint64_t id);
/* Removes waiter from its question; returns the question when that left
 * it with no waiter (still in the table), else NULL. */
struct question *approval_table_withdraw(struct approval_table *t, uint64_t waiter);
/* Unlinks q from the table (the caller frees it with question_free). */
void approval_table_unlink(struct approval_table *t, struct question *q);
void question_free(struct question *q);
/* Records a session answer, replacing an earlier one for the same key. */
void approval_session_set(struct approval_table *t, const struct approval_key *k,
			  bool any_protocol, bool allow, const char *reason);
/* The session answer for key; a deny wins over an allow. */
const struct session_entry *approval_session_get(const struct approval_table *t,
						 const struct approval_key *k);
void approval_table_free(struct approval_table *t);

/* Parses one reply line. Returns 0, or -EINVAL with *why (static text)
 * saying what is wrong. */
int approval_parse_reply(const char *line, size_t len, uint64_t *id,
			 enum approval_choice *choice, const char **why);

/* The policy pattern for one destination: host:port, an IPv6 literal in
 * brackets. */
char *approval_pattern(const char *host, unsigned port);

/* Adds pattern to "network"."allow" (or "deny") of the JSON policy file at
 * path, creating the file if needed, keeping every other key, putting
 * "version": 1 first when it is missing (so --policy-file reads it), setting
 * "network"."mode" to "proxy" when absent and removing the same pattern
 * from the opposite list. Replaces the file atomically (a temporary file
 * in the same directory, fsync, rename). *changed (may be NULL) says
 * whether the file was written (false: the pattern was there already). */
int approval_save(const char *path, const char *pattern, bool allow, bool *changed,
		  ab_error *err);

/* A line channel: a descriptor read and written without blocking the
 * loop, input split into lines, output queued. */
struct approval_chan {
	struct approvals *a;
	const char *name; /* "the terminal", "the approvals fd" */
	int fd;
	bool is_socket;   /* send/recv with MSG_DONTWAIT, O_NONBLOCK otherwise */
	bool live;
	bool skipping;    /* dropping the rest of an overlong line */
	bool drop_rest;   /* forget what is buffered (type-ahead) */
	bool no_input;    /* not reading now (the terminal between questions) */
	char *in;
	size_t in_len;
	sbuf out;
	size_t out_off;
	void (*on_line)(struct approval_chan *ch, char *line, size_t len);
	void (*on_close)(struct approval_chan *ch, const char *why);
};

/* approval_chan.c */
int approval_chan_open(struct approval_chan *ch, struct proxy *p, ab_error *err);
/* Queues text; false when the queue is full (nothing queued). */
bool approval_chan_write(struct approval_chan *ch, struct proxy *p, const char *text);
/* Starts or stops reading (writing goes on). */
void approval_chan_input(struct approval_chan *ch, struct proxy *p, bool on);
/* Stops watching; the fd is not closed. */
void approval_chan_close(struct approval_chan *ch, struct proxy *p, const char *why);
void approval_chan_free(struct approval_chan *ch);

/* approvals.c: what the channels call. */
struct approvals {
	struct approvals_config cfg;
	struct proxy_decider decider;
	struct proxy *p;
	struct approval_table t;
	struct approval_chan fdch, tty;
	int tty_fd;
	struct question *tty_current; /* the question shown on the terminal */
	bool tty_held;                /* cfg.tty_hold succeeded, not released */
	enum approval_choice tty_confirm; /* an "always" awaiting y/n, or AC_NONE */
	double tty_repeat_at;         /* when the shown question is shown once more, or 0 */
	double next_deadline;
	strv overruled_told;          /* host:port an overruled allow was told for */
};

/* Applies an answer to question id; `ch` names the channel. */
void approvals_answer(struct approvals *a, uint64_t id, enum approval_choice c,
		      const struct approval_chan *ch);
/* Starts q's timeout, once it is shown on a channel. */
void approvals_start_clock(struct approvals *a, struct question *q);
/* Whether a channel can still take questions. */
bool approvals_have_channel(const struct approvals *a);
/* A channel ended: questions no live channel can answer are denied. */
void approvals_channel_gone(struct approvals *a);

/* approval_tty.c */
void approval_tty_init(struct approvals *a);
/* Shows the next question waiting, if none is shown. */
void approval_tty_next(struct approvals *a);
/* q, shown on the terminal, ended without an answer there. */
void approval_tty_ended(struct approvals *a, struct question *q, const char *how);
/* Gives the terminal back to the command's relay, if it was held. */
void approval_tty_release(struct approvals *a);
/* An allow given for host:port was overruled by the address check. */
void approval_tty_overruled(struct approvals *a, const char *host, unsigned port, const char *why);
/* The question on screen once more, if its time to repeat has come;
 * returns the next time it wants to be called (0: none). */
double approval_tty_tick(struct approvals *a, double now);

#endif
