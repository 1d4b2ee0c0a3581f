/* git configuration syntax, as git's own reader (config.c) accepts it,
 * and nothing more: see gitconfig_parse.h. The parser works on a whole
 * buffer (config files are small; the caller bounds their size). */
#include "plan/gitconfig_parse.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

struct cursor {
	const char *p, *end;
	unsigned line;
	const char *file;
	ab_error *err;
};

/* The next character, with "\r\n" read as "\n" (as git does); '\n' at
 * the end so that the last line needs no newline. -1 past the end. */
static int next_char(struct cursor *c)
{
	if (c->p >= c->end)
		return c->p++ == c->end ? '\n' : -1;
	int ch = (unsigned char)*c->p++;
	if (ch == '\r' && c->p < c->end && *c->p == '\n')
		ch = (unsigned char)*c->p++;
	if (ch == '\n')
		c->line++;
	return ch;
}

static bool at_eof(const struct cursor *c)
{
	return c->p > c->end;
}

static int bad(struct cursor *c, unsigned line, const char *what)
{
	return ab_fail(c->err, EINVAL,
		       "git configuration %s, line %u: %s; agentbox cannot tell which programs and files it names, so it refuses to run\n"
		       "fix: correct the file (git config --file %s --list shows what git reads), or make the repository or file unreachable for this run",
		       c->file, line, what, c->file);
}

static bool is_key_char(int ch)
{
	return ch >= 0 && ch < 128 && (isalnum(ch) || ch == '-');
}

/* After "[": "name]", "name.sub]" or "name "sub"]". Fills `section`
 * ("name" or "name.sub", lower-cased except a quoted subsection). */
static int read_section(struct cursor *c, sbuf *section)
{
	unsigned line = c->line;
	section->len = 0;
	sbuf_add(section, "");
	for (;;) {
		int ch = next_char(c);
		if (ch == ']')
			return section->len ? 0 : bad(c, line, "empty section name");
		if (ch == ' ' || ch == '\t')
			break;
		if (!is_key_char(ch) && ch != '.')
			return bad(c, line, "invalid character in a section name");
		char lower = (char)tolower(ch);
		sbuf_addn(section, &lower, 1);
	}
	if (!section->len)
		return bad(c, line, "empty section name");
	int ch;
	while ((ch = next_char(c)) == ' ' || ch == '\t')
		;
	if (ch != '"')
		return bad(c, line, "a subsection must be in double quotes");
	sbuf_add(section, ".");
	for (;;) {
		ch = next_char(c);
		if (ch == '\n' || ch < 0)
			return bad(c, line, "unterminated subsection name");
		if (ch == '"')
			break;
		if (ch == '\\') {
			ch = next_char(c);
			if (ch == '\n' || ch < 0)
				return bad(c, line, "unterminated subsection name");
		}
		if (ch == 0)
			return bad(c, line, "NUL byte in a subsection name");
		char b = (char)ch;
		sbuf_addn(section, &b, 1);
	}
	if (next_char(c) != ']')
		return bad(c, line, "expected ']' after the subsection name");
	return 0;
}

/* After "=": the value up to the end of the line (or of its
 * continuation lines). */
static int read_value(struct cursor *c, sbuf *value, unsigned line)
{
	bool quote = false, comment = false;
	size_t spaces = 0;
	value->len = 0;
	sbuf_add(value, "");
	for (;;) {
		int ch = next_char(c);
		if (ch < 0 || (ch == '\n' && at_eof(c) && quote))
			return bad(c, line, "unterminated quoted value");
		if (ch == '\n') {
			if (quote)
				return bad(c, line, "unterminated quoted value");
			return 0;
		}
		if (comment)
			continue;
		if (ch == 0)
			return bad(c, line, "NUL byte in a value");
		if (isspace(ch) && !quote) {
			if (value->len)
				spaces++;
			continue;
		}
		if (!quote && (ch == ';' || ch == '#')) {
			comment = true;
			continue;
		}
		for (; spaces; spaces--)
			sbuf_add(value, " ");
		if (ch == '"') {
			quote = !quote;
			continue;
		}
		if (ch == '\\') {
			ch = next_char(c);
			switch (ch) {
			case '\n':
				if (at_eof(c))
					return bad(c, line, "backslash at the end of the file");
				continue; /* continuation line */
			case 't': ch = '\t'; break;
			case 'b': ch = '\b'; break;
			case 'n': ch = '\n'; break;
			case '\\': case '"': break;
			default:
				return bad(c, line, "unknown escape sequence in a value (only \\n \\t \\b \\\" \\\\ are valid)");
			}
		}
		char b = (char)ch;
		sbuf_addn(value, &b, 1);
	}
}

/* A variable whose first character `first` was read. */
static int read_variable(struct cursor *c, int first, const sbuf *section,
			 gitconfig_cb cb, void *arg)
{
	unsigned line = c->line;
	sbuf key = {0}, value = {0};
	sbuf_add(&key, section->s);
	sbuf_add(&key, ".");
	int ch = first;
	while (is_key_char(ch)) {
		char lower = (char)tolower(ch);
		sbuf_addn(&key, &lower, 1);
		ch = next_char(c);
	}
	while (ch == ' ' || ch == '\t')
		ch = next_char(c);
	int r = 0;
	bool has_value = ch != '\n';
	if (has_value && ch != '=')
		r = bad(c, line, "expected '=' after a variable name");
	else if (has_value)
		r = read_value(c, &value, line);
	if (r == 0)
		r = cb(key.s, has_value ? value.s : NULL, line, arg);
	sbuf_free(&key);
	sbuf_free(&value);
	return r;
}

int gitconfig_parse(const char *text, size_t len, const char *file,
		    gitconfig_cb cb, void *arg, ab_error *err)
{
	struct cursor c = {.p = text, .end = text + len, .line = 1, .file = file, .err = err};
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		c.p += 3;
	sbuf section = {0};
	int r = 0;
	while (r == 0) {
		int ch = next_char(&c);
		if (ch < 0 || (ch == '\n' && at_eof(&c)))
			break;
		if (ch == '\n' || isspace(ch))
			continue;
		if (ch == '#' || ch == ';') {
			while ((ch = next_char(&c)) != '\n' && ch >= 0)
				;
			continue;
		}
		if (ch == '[') {
			r = read_section(&c, &section);
			continue;
		}
		if (ch >= 0 && ch < 128 && isalpha(ch)) {
			if (!section.len) {
				r = bad(&c, c.line, "a variable before any [section]");
				break;
			}
			r = read_variable(&c, ch, &section, cb, arg);
			continue;
		}
		r = bad(&c, c.line, ch == 0 ? "NUL byte" : "a line that is neither a [section], a variable nor a comment");
	}
	sbuf_free(&section);
	return r;
}
