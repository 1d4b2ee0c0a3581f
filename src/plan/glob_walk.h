/* One bounded walk that expands deny globs (plan/deny_globs.c drives it):
 * every directory is opened below its parent by fd with O_NOFOLLOW, no
 * symbolic link is followed, `.git`, /proc and /sys are not entered, and a directory is
 * entered only when some pattern could match at or below it. Bounded in
 * depth (per start), entries and time (all starts together). */
#ifndef AB_PLAN_GLOB_WALK_H
#define AB_PLAN_GLOB_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agentbox.h"
#include "plan/dir_cache.h"
#include "policy/glob_match.h"
#include "policy/glob_rules.h"

struct glob_walk_pattern {
	struct glob_pattern g;
	char *label;    /* "**\/.env (built-in secret set)" for messages */
	bool builtin;   /* the default set: keeps .env.example, skips node_modules */
	size_t matches;
};

struct glob_hit {
	char *path;
	size_t pattern;
	bool is_dir;
	bool is_link; /* reported, never hidden (its target has its own rules) */
	bool allowed; /* --allow-read keeps it: reported, not hidden */
};

struct glob_walk {
	struct glob_walk_pattern *pats;
	size_t n_pats;
	const char *const *allow; /* --allow-read: no hit at or below these */
	size_t n_allow;
	struct glob_limits limits;

	struct glob_hit *hits;
	size_t n_hits, cap_hits;
	size_t dirs, entries, skipped_trees;
	struct cache_dir *seen; /* every directory it read (plan/glob_cache.c) */
	size_t n_seen, cap_seen;
	double start_ms, ms;
	bool bound_hit;
	char *bound_what;  /* "200000 entries", "depth 32", "2000 ms", "permission denied" */
	char *bound_where; /* the directory the walk could not finish */
	ab_error *err;
};

/* Walks `root` (canonical, a directory). Returns 0 (bound_hit says
 * whether it finished) or -errno when the start cannot be opened. */
int glob_walk_root(struct glob_walk *w, const char *root);
void glob_walk_free(struct glob_walk *w);
#endif
