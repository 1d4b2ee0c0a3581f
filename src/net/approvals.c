/* The decider of the policy proxy (struct proxy_decider): questions,
 * answers, session memory, timeouts. See approvals.h for the behaviour
 * and the JSON channel; the terminal prompt is approval_tty.c. */
#include "net/approvals.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "net/approval_int.h"

bool approvals_have_channel(const struct approvals *a)
{
	return a->fdch.live || a->tty.live;
}

/* Answers every connection of q, which the caller has unlinked. */
static void answer_waiters(struct approvals *a, struct question *q, bool allow, const char *by,
			   const char *reason)
{
	for (size_t i = 0; i < q->n_waiters; i++)
		proxy_answer(a->p, q->waiters[i], allow, by, reason);
}

static void send_json(struct approvals *a, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	_cleanup_free_ char *line = xasprintf("%s\n", s);
	free(s);
	approval_chan_write(&a->fdch, a->p, line);
}

static void send_cancelled(struct approvals *a, const struct question *q, const char *why)
{
	if (a->fdch.live)
		send_json(a, json_pack("{s:s, s:I, s:s}", "type", "approval_cancelled", "id",
				       (json_int_t)q->id, "reason", why));
}

/* q ends without an answer: tell the channels, forget it. */
static struct question *end_question(struct approvals *a, struct question *q, const char *why,
				     const char *tty_note)
{
	approval_table_unlink(&a->t, q);
	send_cancelled(a, q, why);
	if (a->tty_current == q)
		approval_tty_ended(a, q, tty_note);
	return q;
}

/* A string for JSON: jansson refuses invalid UTF-8, which an argv may hold. */
static json_t *lossy_string(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	_cleanup_free_ char *copy = xstrdup(s);
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	return json_string(copy);
}

static void send_request(struct approvals *a, struct question *q)
{
	json_t *cmd = json_null();
	if (a->cfg.command) {
		cmd = json_array();
		for (char *const *v = a->cfg.command; *v; v++)
			json_array_append_new(cmd, lossy_string(*v));
	}
	send_json(a, json_pack("{s:s, s:I, s:s, s:i, s:s, s:o}", "type", "approval_request", "id",
			       (json_int_t)q->id, "host", q->key.host, "port", (int)q->key.port,
			       "protocol", q->key.protocol, "command", cmd));
}

void approvals_start_clock(struct approvals *a, struct question *q)
{
	if (q->deadline == 0)
		q->deadline = monotonic_ms() + a->cfg.timeout_ms;
	if (a->next_deadline == 0 || q->deadline < a->next_deadline)
		a->next_deadline = q->deadline;
}

static void deny_no_channel(struct approvals *a, uint64_t id)
{
	proxy_answer(a->p, id, false, "no_channel",
		     "not_allowed: no rule matches and no approval channel is open");
}

static void on_ask(void *user, struct proxy *p, const struct proxy_ask *ask)
{
	struct approvals *a = user;
	struct approval_key k;
	approval_key_set(&k, ask->host, ask->protocol, ask->port);
	const struct session_entry *e = approval_session_get(&a->t, &k);
	if (e) {
		proxy_answer(p, ask->id, e->allow, "session", e->reason);
		return;
	}
	if (!approvals_have_channel(a)) {
		deny_no_channel(a, ask->id);
		return;
	}
	bool created;
	struct question *q = approval_table_join(&a->t, &k, ask->id, &created);
	if (!created)
		return;
	if (a->fdch.live) {
		send_request(a, q);
		approvals_start_clock(a, q);
	}
	if (a->tty.live)
		approval_tty_next(a);
}

static void on_withdraw(void *user, struct proxy *p, uint64_t id)
{
	struct approvals *a = user;
	struct question *q = approval_table_withdraw(&a->t, id);
	if (q)
		question_free(end_question(a, q, "no_waiters", "the connection went away"));
}

/* Saves an "always" answer; returns a note for the decision's reason. */
static char *save_always(struct approvals *a, struct question *q, bool allow)
{
	_cleanup_free_ char *pattern = approval_pattern(q->key.host, q->key.port);
	const char *path = a->cfg.save_path;
	char *warning = NULL;
	if (!path) {
		warning = xasprintf("%s was not saved: no file to save answers in (--approvals-save); it holds for this session only",
				    pattern);
	} else {
		ab_error err = {0};
		bool changed;
		if (approval_save(path, pattern, allow, &changed, &err) < 0)
			warning = xasprintf("%s; the answer holds for this session only", err.message);
		else if (a->fdch.live)
			send_json(a, json_pack("{s:s, s:I, s:s, s:s}", "type", "approval_saved", "id",
					       (json_int_t)q->id, "path", path, "pattern", pattern));
	}
	if (!warning)
		return xasprintf("; saved as \"%s\" in %s", pattern, path);
	fprintf(stderr, "agentbox: approvals: warning: %s\n", warning);
	if (a->fdch.live)
		send_json(a, json_pack("{s:s, s:I, s:s}", "type", "approval_warning", "id",
				       (json_int_t)q->id, "warning", warning));
	char *note = xasprintf(" (not saved: %s)", warning);
	free(warning);
	return note;
}

void approvals_answer(struct approvals *a, uint64_t id, enum approval_choice c,
		      const struct approval_chan *ch)
{
	struct question *q = approval_table_by_id(&a->t, id);
	if (!q) {
		fprintf(stderr,
			"agentbox: approvals: ignoring an answer on %s for question %" PRIu64 ", which is not open (answered, timed out or withdrawn)\n",
			ch->name, id);
		return;
	}
	approval_table_unlink(&a->t, q);
	bool allow = approval_choice_allows(c);
	bool always = c == AC_ALLOW_ALWAYS || c == AC_DENY_ALWAYS;
	bool session = always || c == AC_ALLOW_SESSION || c == AC_DENY_SESSION;
	const char *chname = ch == &a->tty ? "on the terminal" : "on the approvals fd";
	_cleanup_free_ char *reason = xasprintf("%s%s %s: %s", allow ? "" : "not_allowed: ",
						allow ? "approved" : "denied", chname,
						approval_choice_name(c));
	/* The connections first: a failure to save must not lose them. */
	answer_waiters(a, q, allow, "human", reason);
	if (session) {
		_cleanup_free_ char *later = xasprintf("%s%s earlier %s", allow ? "" : "not_allowed: ",
						       approval_choice_name(c), chname);
		approval_session_set(&a->t, &q->key, always, allow, later);
	}
	if (always) {
		_cleanup_free_ char *note = save_always(a, q, allow);
		if (ch == &a->tty) {
			_cleanup_free_ char *line = xasprintf("  %s%s\n", approval_choice_name(c), note);
			approval_chan_write(&a->tty, a->p, line);
		}
	}
	if (ch == &a->tty)
		send_cancelled(a, q, "answered");
	if (a->tty_current == q) {
		_cleanup_free_ char *how = ch == &a->tty ? NULL
			: xasprintf("answered on the approvals fd: %s", approval_choice_name(c));
		approval_tty_ended(a, q, how);
	}
	question_free(q);
}

void approvals_channel_gone(struct approvals *a)
{
	if (approvals_have_channel(a))
		return;
	while (a->t.questions) {
		struct question *q = a->t.questions;
		approval_table_unlink(&a->t, q);
		for (size_t i = 0; i < q->n_waiters; i++)
			deny_no_channel(a, q->waiters[i]);
		question_free(q);
	}
	a->tty_current = NULL;
}

/* Questions whose time is up are denied; returns the next deadline. */
static double expire(struct approvals *a, double now)
{
	if (a->next_deadline == 0 || now < a->next_deadline)
		return a->next_deadline;
	a->next_deadline = 0;
	struct question *q = a->t.questions;
	while (q) {
		struct question *next = q->next;
		if (q->deadline > 0 && now >= q->deadline) {
			end_question(a, q, "timeout", "no answer in time: denied");
			_cleanup_free_ char *why = xasprintf(
				"not_allowed: no answer within %u s", (a->cfg.timeout_ms + 999) / 1000);
			answer_waiters(a, q, false, "timeout", why);
			question_free(q);
		}
		q = next;
	}
	/* Recomputed: the terminal may have shown the next question. */
	a->next_deadline = 0;
	for (q = a->t.questions; q; q = q->next)
		if (q->deadline > 0 && (a->next_deadline == 0 || q->deadline < a->next_deadline))
			a->next_deadline = q->deadline;
	return a->next_deadline;
}

static double on_tick(void *user, struct proxy *p, double now)
{
	struct approvals *a = user;
	double next = expire(a, now);
	/* after expire: it may have put the next question on screen */
	double repeat = approval_tty_tick(a, now);
	return repeat > 0 && (next == 0 || repeat < next) ? repeat : next;
}

static void fd_on_line(struct approval_chan *ch, char *line, size_t len)
{
	uint64_t id;
	enum approval_choice c;
	const char *why;
	if (len == 0)
		return;
	if (approval_parse_reply(line, len, &id, &c, &why) < 0) {
		fprintf(stderr, "agentbox: approvals: ignoring a malformed reply on %s: %s: %.200s\n",
			ch->name, why, line);
		return;
	}
	approvals_answer(ch->a, id, c, ch);
}

static void on_chan_close(struct approval_chan *ch, const char *why)
{
	fprintf(stderr,
		"agentbox: approvals: %s closed (%s); destinations no rule covers are denied%s\n",
		ch->name, why, ch->a->tty.live || ch->a->fdch.live ? " unless answered on the other channel" : "");
	if (ch == &ch->a->tty) {
		ch->a->tty_current = NULL;
		approval_tty_release(ch->a);
	}
	approvals_channel_gone(ch->a);
}

static int on_attach(void *user, struct proxy *p, ab_error *err)
{
	struct approvals *a = user;
	a->p = p;
	int r;
	if (a->cfg.fd >= 0 && (r = approval_chan_open(&a->fdch, p, err)) < 0)
		return r;
	if (a->tty_fd >= 0 && (r = approval_chan_open(&a->tty, p, err)) < 0)
		return r;
	return 0;
}

/* Once per host:port: a tool retrying would repeat it otherwise. */
static void on_overruled(void *user, struct proxy *p, const char *host, unsigned port,
			 const char *why)
{
	struct approvals *a = user;
	_cleanup_free_ char *key = approval_pattern(host, port);
	for (size_t i = 0; i < a->overruled_told.n; i++)
		if (strcmp(a->overruled_told.v[i], key) == 0)
			return;
	strv_push(&a->overruled_told, key);
	if (a->fdch.live)
		send_json(a, json_pack("{s:s, s:s, s:i, s:s}", "type", "approval_overruled", "host", host,
				       "port", (int)port, "reason", why));
	approval_tty_overruled(a, host, port, why);
}

static void on_detach(void *user, struct proxy *p)
{
	struct approvals *a = user;
	/* The last cancellations, if the peer takes them now; no warning
	 * about channels closed on purpose. */
	approval_chan_write(&a->fdch, p, "");
	a->fdch.on_close = a->tty.on_close = NULL;
	approval_chan_close(&a->fdch, p, "the proxy stopped");
	approval_chan_close(&a->tty, p, "the proxy stopped");
	approval_tty_release(a);
	a->p = NULL;
}

static int check_fd(int fd, ab_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ab_fail_errno(err, errno, "--approvals-fd %d is not an open file descriptor", fd);
	if (!S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return ab_fail(err, EINVAL,
			       "--approvals-fd %d must be a socket, a pipe or a terminal (read and written both ways); a socketpair end is the usual choice",
			       fd);
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_ACCMODE) != O_RDWR && !S_ISSOCK(st.st_mode))
		return ab_fail(err, EINVAL,
			       "--approvals-fd %d is open for %s only; answers come back on the same descriptor, so open it read-write (a socketpair end is the usual choice)",
			       fd, (fl & O_ACCMODE) == O_RDONLY ? "reading" : "writing");
	return 0;
}

int approvals_new(struct approvals **out, const struct approvals_config *cfg, ab_error *err)
{
	*out = NULL;
	if (cfg->fd >= 0) {
		int r = check_fd(cfg->fd, err);
		if (r < 0)
			return r;
	}
	struct approvals *a = xcalloc(1, sizeof(*a));
	a->cfg = *cfg;
	if (a->cfg.timeout_ms == 0)
		a->cfg.timeout_ms = APPROVALS_DEFAULT_TIMEOUT_MS;
	a->tty_fd = -1;
	if (cfg->tty) {
		a->tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (a->tty_fd < 0) {
			int r = ab_fail_errno(err, errno, "cannot open the controlling terminal /dev/tty to ask for approvals");
			ab_error_hint(err, "run agentbox from a terminal, or answer through --approvals-fd instead of --approvals-tty");
			free(a);
			return r;
		}
	}
	a->fdch = (struct approval_chan){.a = a, .name = "the approvals fd", .fd = cfg->fd,
					 .on_line = fd_on_line, .on_close = on_chan_close};
	/* the terminal is read only while a question is shown */
	a->tty = (struct approval_chan){.a = a, .name = "the terminal", .fd = a->tty_fd,
					.no_input = true, .on_close = on_chan_close};
	approval_tty_init(a);
	a->decider = (struct proxy_decider){
		.attach = on_attach, .ask = on_ask, .withdraw = on_withdraw, .tick = on_tick,
		.overruled = on_overruled, .detach = on_detach, .user = a,
	};
	*out = a;
	return 0;
}

const struct proxy_decider *approvals_decider(struct approvals *a)
{
	return &a->decider;
}

void approvals_free(struct approvals *a)
{
	if (!a)
		return;
	approval_chan_free(&a->fdch);
	approval_chan_free(&a->tty);
	approval_table_free(&a->t);
	strv_free(&a->overruled_told);
	if (a->tty_fd >= 0)
		close(a->tty_fd);
	free(a);
}
