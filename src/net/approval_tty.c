/* The approval prompt on agentbox's controlling terminal: one question at
 * a time, the others wait their turn; the user types a letter and Enter.
 * The terminal keeps the user's modes (line editing works). The command
 * never holds this terminal: when its own stdio was a terminal, it has a
 * pty that agentbox relays (supervisor/tty_relay.h), and while a question
 * is shown the relay is held (cfg.tty_hold): no key reaches the command
 * and none of its output reaches the screen. Between questions the
 * terminal is not read here, so the relay gets every key. */
#include <stdio.h>
#include <string.h>
#include <termios.h>

#include "net/approval_int.h"
#include "net/refusal_log.h"

/* A question not answered by then is shown once more: a program that
 * redrew the whole screen just before it may have hidden it (the relay
 * holds the command's output while a question is up, but not what was
 * already on its way to the screen). */
#define REPEAT_AFTER_MS 10000u

static const struct {
	const char *key;
	enum approval_choice choice;
} keys[] = {
	{"y", AC_ALLOW_ONCE}, {"s", AC_ALLOW_SESSION}, {"a", AC_ALLOW_ALWAYS},
	{"n", AC_DENY_ONCE},  {"d", AC_DENY_SESSION},  {"b", AC_DENY_ALWAYS},
};

/* Text from the sandbox shown on a terminal: no escape sequences. */
static void add_printable(sbuf *b, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char ch = *c < 0x20 || *c == 0x7f ? '?' : (char)*c;
		sbuf_addn(b, &ch, 1);
	}
}

static void say(struct approvals *a, const char *text)
{
	approval_chan_write(&a->tty, a->p, text);
}

/* Attributes off, the ASCII character set back (SI, then G0 = ASCII):
 * whatever the command's earlier output set up (invisible colours, a line
 * drawing set) must not disguise the prompt. */
#define SANE_TERMINAL "\r\033[0m\017\033(B"

static void show(struct approvals *a, struct question *q, bool again)
{
	sbuf b = {0};
	sbuf_add(&b, SANE_TERMINAL "\n");
	if (again)
		sbuf_add(&b, "agentbox: (still waiting for your answer)\n");
	sbuf_add(&b, "agentbox: allow a connection to ");
	add_printable(&b, q->key.host);
	sbuf_addf(&b, ":%u (%s)?\n", q->key.port, q->key.protocol);
	sbuf_add(&b, "  no rule allows or denies it");
	if (a->cfg.command && a->cfg.command[0]) {
		sbuf_add(&b, "; command: ");
		sbuf cmd = {0};
		for (char *const *v = a->cfg.command; *v; v++) {
			if (v != a->cfg.command)
				sbuf_add(&cmd, " ");
			sbuf_add_shell_word(&cmd, *v);
		}
		if (cmd.len > 200)
			cmd.s[200] = '\0', cmd.len = 200;
		add_printable(&b, cmd.s);
		sbuf_free(&cmd);
	}
	const char *always = a->cfg.save_path ? "always, saved" : "this session; no save file";
	sbuf_addf(&b, "\n  [y] allow once   [s] allow for this session   [a] allow (%s)\n"
		  "  [n] deny once    [d] deny for this session    [b] block (%s)\n",
		  always, always);
	size_t waiting = 0;
	for (struct question *o = a->t.questions; o; o = o->next)
		waiting += o != q;
	sbuf_addf(&b, "  (type a letter, then Enter; denied without an answer within %u s",
		  (a->cfg.timeout_ms + 999) / 1000);
	if (waiting)
		sbuf_addf(&b, "; %zu more question%s waiting", waiting, waiting == 1 ? "" : "s");
	sbuf_add(&b, ") > ");
	say(a, b.s);
	sbuf_free(&b);
}

static enum approval_choice parse_choice(char *line)
{
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(s, keys[i].key) == 0)
			return keys[i].choice;
	return approval_choice_from_name(s);
}

/* An "always" answer is written into a file that later runs trust: the
 * exact pattern and file are shown once more and must be confirmed. */
static void ask_confirm(struct approvals *a, struct question *q, enum approval_choice c)
{
	a->tty_confirm = c;
	_cleanup_free_ char *pattern = approval_pattern(q->key.host, q->key.port);
	sbuf b = {0};
	sbuf_add(&b, SANE_TERMINAL "  save \"");
	add_printable(&b, pattern);
	sbuf_addf(&b, "\" (host ");
	add_printable(&b, q->key.host);
	sbuf_addf(&b, ", port %u, any protocol) as %s in ", q->key.port,
		  c == AC_ALLOW_ALWAYS ? "ALLOWED" : "BLOCKED");
	add_printable(&b, a->cfg.save_path);
	sbuf_add(&b, " for every later run?\n  [y] yes, save it   [n] no, back to the question > ");
	say(a, b.s);
	sbuf_free(&b);
}

static void tty_on_line(struct approval_chan *ch, char *line, size_t len)
{
	struct approvals *a = ch->a;
	struct question *q = a->tty_current;
	(void)len;
	if (!q)
		return; /* typed while nothing was asked */
	enum approval_choice c = parse_choice(line);
	if (a->tty_confirm != AC_NONE) {
		enum approval_choice saving = a->tty_confirm;
		if (c == AC_ALLOW_ONCE) { /* "y" */
			a->tty_confirm = AC_NONE;
			approvals_answer(a, q->id, saving, ch);
		} else if (c == AC_DENY_ONCE) { /* "n" */
			a->tty_confirm = AC_NONE;
			show(a, q, false);
		} else {
			say(a, "  please type y (save) or n (back to the question), then Enter > ");
		}
		return;
	}
	if (c == AC_NONE) {
		say(a, "  please type y, s, a, n, d or b, then Enter > ");
		return;
	}
	if ((c == AC_ALLOW_ALWAYS || c == AC_DENY_ALWAYS) && a->cfg.save_path) {
		ask_confirm(a, q, c);
		return;
	}
	approvals_answer(a, q->id, c, ch);
}

void approval_tty_init(struct approvals *a)
{
	a->tty.on_line = tty_on_line;
}

void approval_tty_release(struct approvals *a)
{
	if (a->tty.live)
		approval_chan_input(&a->tty, a->p, false);
	if (a->tty_held && a->cfg.tty_release)
		a->cfg.tty_release(a->cfg.tty_user);
	a->tty_held = false;
}

void approval_tty_next(struct approvals *a)
{
	if (!a->tty.live || a->tty_current || !a->t.questions)
		return;
	/* The command's relay lets go of the terminal first, so that it can
	 * neither read the answer nor write over the question. */
	if (a->cfg.tty_hold && !a->tty_held) {
		if (a->cfg.tty_hold(a->cfg.tty_user) < 0) {
			approval_chan_close(&a->tty, a->p,
					    "the relay of the command's terminal did not hand the terminal over in time");
			return;
		}
		a->tty_held = true;
	}
	struct question *q = a->t.questions;
	a->tty_current = q;
	a->tty_confirm = AC_NONE;
	approval_chan_input(&a->tty, a->p, true);
	/* Keys typed before the question was shown must not answer it. */
	tcflush(a->tty.fd, TCIFLUSH);
	a->tty.drop_rest = true;
	show(a, q, false);
	approvals_start_clock(a, q);
	unsigned repeat = a->cfg.timeout_ms / 2 < REPEAT_AFTER_MS ? a->cfg.timeout_ms / 2
								   : REPEAT_AFTER_MS;
	a->tty_repeat_at = monotonic_ms() + repeat;
}

double approval_tty_tick(struct approvals *a, double now)
{
	if (!a->tty_current || a->tty_repeat_at == 0)
		return 0;
	if (now < a->tty_repeat_at)
		return a->tty_repeat_at;
	a->tty_repeat_at = 0; /* once */
	if (a->tty_confirm != AC_NONE)
		ask_confirm(a, a->tty_current, a->tty_confirm);
	else
		show(a, a->tty_current, true);
	return 0;
}

void approval_tty_overruled(struct approvals *a, const char *host, unsigned port, const char *why)
{
	if (!a->tty.live)
		return;
	const char *words = strstr(why, ": ");
	words = words ? words + 2 : why; /* past the machine-readable prefix */
	_cleanup_free_ char *reason = NULL, *allow = NULL;
	refusal_describe(host, port, REFUSED_NON_PUBLIC, NULL, &reason, &allow);
	sbuf b = {0};
	sbuf_add(&b, SANE_TERMINAL "\nagentbox: ");
	add_printable(&b, host);
	sbuf_addf(&b, ":%u was allowed, but refused all the same: ", port);
	add_printable(&b, words);
	sbuf_add(&b, "; to open it: ");
	add_printable(&b, allow);
	sbuf_add(&b, "\n");
	say(a, b.s);
	sbuf_free(&b);
	/* The question on screen, if any, stays the last thing shown. */
	if (a->tty_current && a->tty_confirm == AC_NONE)
		show(a, a->tty_current, false);
}

void approval_tty_ended(struct approvals *a, struct question *q, const char *how)
{
	if (a->tty_current != q)
		return;
	a->tty_current = NULL;
	a->tty_confirm = AC_NONE;
	a->tty_repeat_at = 0;
	if (how) {
		_cleanup_free_ char *line = xasprintf("\n  (%s)\n", how);
		say(a, line);
	}
	approval_tty_next(a);
	if (!a->tty_current)
		approval_tty_release(a);
}
