/* Deny glob patterns (README "Deny globs"): compiled once, matched
 * component by component against the paths of one walk.
 *
 * A pattern is an absolute path whose components may hold `*` (any run
 * of characters but `/`), `?` (one character but `/`), `[...]` (a class,
 * `[!...]` or `[^...]` negated, `a-z` ranges) and `\` (the next
 * character literally). A component that is exactly `**` matches zero
 * or more whole components, so a trailing `**` after a slash also matches the
 * directory itself (hiding it hides what is and what will be inside).
 * Dotfiles are not special: `*.pem` matches `.x.pem`. The pattern must
 * match the whole path (anchored at both ends). */
#ifndef AB_POLICY_GLOB_MATCH_H
#define AB_POLICY_GLOB_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "agentbox.h"

struct glob_pattern {
	char *text;    /* as compiled: absolute, normalised */
	char **comp;   /* its components, escapes kept */
	size_t n;
	size_t n_literal; /* leading components without a wildcard */
};

/* Whether s holds an unescaped `*`, `?` or `[`: such a --deny value is a
 * pattern, anything else a path. */
bool glob_has_magic(const char *s);
/* s with every `\x` turned into `x` (a literal name written as a
 * pattern, "a\*b"). Caller frees. */
char *glob_unescape(const char *s);

/* Compiles a pattern (the walk anchors relative ones first: a relative
 * one compiles as if it started with /, for checking). Refuses a `..`
 * component, a `**` glued to other characters ("a**"), an unterminated
 * class and a trailing lone `\`, naming the pattern and `origin`. */
int glob_compile(const char *text, const char *origin, struct glob_pattern *g, ab_error *err);
void glob_free(struct glob_pattern *g);

/* The path made of comp[0..n) (components of an absolute path) matches. */
bool glob_match_components(const struct glob_pattern *g, const char *const *comp, size_t n);
/* Something at or below the directory comp[0..n) could match: the walk
 * does not enter a directory for which no pattern says yes. */
bool glob_may_match_below(const struct glob_pattern *g, const char *const *comp, size_t n);
/* Both, on a path string (absolute, normalised); for tests and checks. */
bool glob_match_path(const struct glob_pattern *g, const char *path);
bool glob_may_match_below_path(const struct glob_pattern *g, const char *path);
/* "/a/b": the literal leading components, unescaped ("/" when none): the
 * only tree a walk for this pattern needs to enter. Caller frees. */
char *glob_literal_prefix(const struct glob_pattern *g);

#endif
