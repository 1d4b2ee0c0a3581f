/* The approval prompt on agentbox's controlling terminal: one question at
 * a time, the others wait their turn; the user types a letter and Enter.
 * The terminal keeps its modes (line editing works, and the sandboxed
 * command, in its own session, never reads from it). */
#include <stdio.h>
#include <string.h>
#include <termios.h>

#include "net/approval_int.h"

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

static void show(struct approvals *a, struct question *q)
{
	sbuf b = {0};
	sbuf_addf(&b, "\nagentbox: allow a connection to %s:%u (%s)?\n", q->key.host, q->key.port,
		  q->key.protocol);
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
	sbuf_addf(&b, "  (denied without an answer within %u s", (a->cfg.timeout_ms + 999) / 1000);
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

static void tty_on_line(struct approval_chan *ch, char *line, size_t len)
{
	struct approvals *a = ch->a;
	struct question *q = a->tty_current;
	if (!q)
		return; /* typed while nothing was asked */
	enum approval_choice c = parse_choice(line);
	if (c == AC_NONE) {
		say(a, "  please type y, s, a, n, d or b, then Enter > ");
		return;
	}
	approvals_answer(a, q->id, c, ch);
}

void approval_tty_init(struct approvals *a)
{
	a->tty.on_line = tty_on_line;
}

void approval_tty_next(struct approvals *a)
{
	if (!a->tty.live || a->tty_current || !a->t.questions)
		return;
	struct question *q = a->t.questions;
	a->tty_current = q;
	/* Keys typed before the question was shown must not answer it. */
	tcflush(a->tty.fd, TCIFLUSH);
	a->tty.drop_rest = true;
	show(a, q);
	approvals_start_clock(a, q);
}

void approval_tty_ended(struct approvals *a, struct question *q, const char *how)
{
	if (a->tty_current != q)
		return;
	a->tty_current = NULL;
	if (how) {
		_cleanup_free_ char *line = xasprintf("\n  (%s)\n", how);
		say(a, line);
	}
	approval_tty_next(a);
}
