/* The deny-glob matcher (policy/glob_match.h). Written for the walk in
 * plan/deny_globs.c: patterns are split into components once, and the
 * walk hands over the components of the path it stands on, so matching
 * never re-splits a path and `*` can never cross a `/`. */
#include "policy/glob_match.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

bool glob_has_magic(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == '*' || *s == '?' || *s == '[')
			return true;
	}
	return false;
}

char *glob_unescape(const char *s)
{
	char *out = xstrdup(s), *o = out;
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* The end of the class starting at p ('['), or NULL when unterminated.
 * A ']' right after '[' or '[!' is a member, as in fnmatch. */
static const char *class_end(const char *p)
{
	p++;
	if (*p == '!' || *p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == ']')
			return p;
	}
	return NULL;
}

static bool class_has(const char *p, const char *end, char c)
{
	p++;
	bool neg = *p == '!' || *p == '^';
	if (neg)
		p++;
	bool hit = false;
	bool first = true;
	while (p < end) {
		if (*p == ']' && !first)
			break;
		first = false;
		char lo = *p;
		if (lo == '\\' && p + 1 < end)
			lo = *++p;
		p++;
		char hi = lo;
		if (*p == '-' && p + 1 < end && p[1] != ']') {
			p++;
			hi = *p;
			if (hi == '\\' && p + 1 < end)
				hi = *++p;
			p++;
		}
		if ((unsigned char)c >= (unsigned char)lo && (unsigned char)c <= (unsigned char)hi)
			hit = true;
	}
	return hit != neg;
}

/* One component (no '/' in either) against one pattern component. */
static bool component_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	while (*s) {
		if (*p == '*') {
			star_p = ++p;
			star_s = s;
			continue;
		}
		if (*p == '?') {
			p++;
			s++;
			continue;
		}
		if (*p == '[') {
			const char *end = class_end(p);
			if (end && class_has(p, end, *s)) {
				p = end + 1;
				s++;
				continue;
			}
		} else {
			char lit = *p;
			const char *next = p + 1;
			if (lit == '\\' && p[1]) {
				lit = p[1];
				next = p + 2;
			}
			if (lit && lit == *s) {
				p = next;
				s++;
				continue;
			}
		}
		/* mismatch: let the last '*' take one more character */
		if (!star_p)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool is_globstar(const char *c)
{
	return strcmp(c, "**") == 0;
}

static bool match_from(char *const *pc, size_t np, const char *const *dc, size_t nd)
{
	while (np > 0) {
		if (is_globstar(pc[0])) {
			/* collapse runs of ** and try every split */
			while (np > 1 && is_globstar(pc[1])) {
				pc++;
				np--;
			}
			if (np == 1)
				return true;
			/* "**" then one name (the usual "**\/.env"): only the
			 * last component can be that name */
			if (np == 2 && !is_globstar(pc[1]))
				return nd >= 1 && component_match(pc[1], dc[nd - 1]);
			for (size_t k = 0; k <= nd; k++)
				if (match_from(pc + 1, np - 1, dc + k, nd - k))
					return true;
			return false;
		}
		if (nd == 0 || !component_match(pc[0], dc[0]))
			return false;
		pc++, np--, dc++, nd--;
	}
	return nd == 0;
}

bool glob_match_components(const struct glob_pattern *g, const char *const *comp, size_t n)
{
	return match_from(g->comp, g->n, comp, n);
}

bool glob_may_match_below(const struct glob_pattern *g, const char *const *comp, size_t n)
{
	size_t i = 0;
	for (; i < n; i++) {
		if (i >= g->n)
			return false;
		if (is_globstar(g->comp[i]))
			return true;
		if (!component_match(g->comp[i], comp[i]))
			return false;
	}
	return true;
}

/* Splits an absolute normalised path into its components (pointing into
 * *buf, which the caller frees). */
static size_t split(const char *path, char **buf, const char ***out)
{
	*buf = xstrdup(path);
	size_t n = 0, cap = 0;
	*out = NULL;
	for (char *save = NULL, *t = strtok_r(*buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		grow_array((void **)out, &cap, n + 1, sizeof(**out));
		(*out)[n++] = t;
	}
	return n;
}

bool glob_match_path(const struct glob_pattern *g, const char *path)
{
	char *buf;
	const char **c;
	size_t n = split(path, &buf, &c);
	bool m = glob_match_components(g, c, n);
	free(c);
	free(buf);
	return m;
}

bool glob_may_match_below_path(const struct glob_pattern *g, const char *path)
{
	char *buf;
	const char **c;
	size_t n = split(path, &buf, &c);
	bool m = glob_may_match_below(g, c, n);
	free(c);
	free(buf);
	return m;
}

int glob_compile(const char *text, const char *origin, struct glob_pattern *g, ab_error *err)
{
	memset(g, 0, sizeof(*g));
	size_t len = strlen(text);
	size_t bs = 0;
	for (size_t i = len; i > 0 && text[i - 1] == '\\'; i--)
		bs++;
	if (bs % 2)
		return ab_fail(err, EINVAL, "deny pattern '%s' (%s) ends with a lone '\\'; write '\\\\' for a backslash",
			       text, origin);
	char *buf;
	const char **c;
	size_t n = split(text, &buf, &c);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(c[i], "..") == 0 || strcmp(c[i], ".") == 0)
			r = ab_fail(err, EINVAL, "deny pattern '%s' (%s) has a '%s' component; write the path without it",
				    text, origin, c[i]);
		else if (strstr(c[i], "**") && !is_globstar(c[i]))
			r = ab_fail(err, EINVAL, "deny pattern '%s' (%s): '**' must be a whole component ('**/x', 'a/**'); in '%s' write '*' for any characters within one name",
				    text, origin, c[i]);
		for (const char *p = c[i]; r == 0 && *p; p++) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '[' && !class_end(p))
				r = ab_fail(err, EINVAL, "deny pattern '%s' (%s): the class starting at '%s' has no closing ']'; write '\\[' for a literal '['",
					    text, origin, p);
		}
	}
	if (r < 0) {
		free(c);
		free(buf);
		return r;
	}
	g->comp = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		g->comp[i] = xstrdup(c[i]);
	g->n = n;
	while (g->n_literal < n && !glob_has_magic(c[g->n_literal]))
		g->n_literal++;
	/* the text as the components say: '//' and a trailing '/' gone */
	sbuf t = {0};
	for (size_t i = 0; i < n; i++)
		sbuf_addf(&t, "/%s", c[i]);
	g->text = n ? t.s : xstrdup("/");
	if (!n)
		sbuf_free(&t);
	free(c);
	free(buf);
	return 0;
}

void glob_free(struct glob_pattern *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->comp[i]);
	free(g->comp);
	free(g->text);
	memset(g, 0, sizeof(*g));
}

char *glob_literal_prefix(const struct glob_pattern *g)
{
	/* a pattern with no wildcard at all names one path: its parent is
	 * where it is looked for */
	size_t k = g->n_literal == g->n && g->n ? g->n - 1 : g->n_literal;
	if (k == 0)
		return xstrdup("/");
	sbuf b = {0};
	for (size_t i = 0; i < k; i++) {
		_cleanup_free_ char *u = glob_unescape(g->comp[i]);
		sbuf_addf(&b, "/%s", u);
	}
	return b.s;
}
