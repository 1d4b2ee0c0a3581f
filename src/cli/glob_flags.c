/* --deny PATTERN and --allow-read PATH on the command line (README "Deny
 * globs"). A --deny value with `*`, `?` or `[` goes through the glob
 * syntax: with one of them unescaped it is a pattern; with all of them
 * escaped (`logs/\[old\]`) it is the literal path they spell, so a name
 * holding those characters can still be denied. */
#include "cli/glob_flags.h"

#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/glob_match.h"
#include "policy/policy.h"

/* ~/x and :cwd/x keep their anchor; the rest is made absolute from
 * `base` (the directory -C names, or the current one). */
static enum glob_anchor anchor_of(const char *v, const char *base, char **text)
{
	if (strcmp(v, "~") == 0 || strncmp(v, "~/", 2) == 0) {
		*text = xstrdup(v[1] ? v + 2 : "");
		return GLOB_HOME;
	}
	if (strcmp(v, ":cwd") == 0 || strncmp(v, ":cwd/", 5) == 0) {
		*text = xstrdup(v[4] ? v + 5 : "");
		return GLOB_CWD;
	}
	if (v[0] == '/') {
		*text = path_normalize(v);
		return GLOB_ABSOLUTE;
	}
	_cleanup_free_ char *joined = path_join(base, v);
	*text = path_normalize(joined);
	return GLOB_ABSOLUTE;
}

int cli_deny_value(ab_policy *p, const char *v, const char *base, char **literal, ab_error *err)
{
	*literal = NULL;
	if (!strpbrk(v, "*?["))
		return 0;
	if (!glob_has_magic(v)) {
		*literal = glob_unescape(v);
		return 0;
	}
	_cleanup_free_ char *text = NULL;
	enum glob_anchor a = anchor_of(v, base, &text);
	int r = policy_add_deny_glob(p, a, text, "--deny", err);
	if (r < 0)
		ab_error_hint(err, "in option --deny %s (a pattern; write \\* \\? \\[ to deny a name holding those characters)", v);
	return r < 0 ? r : 1;
}

int cli_allow_read(ab_policy *p, const char *v, const char *base, ab_error *err)
{
	_cleanup_free_ char *text = NULL;
	enum glob_anchor a = anchor_of(v, base, &text);
	int r = policy_add_allow_read(p, a, text, "--allow-read", err);
	if (r < 0)
		ab_error_hint(err, "in option --allow-read %s", v);
	return r;
}
