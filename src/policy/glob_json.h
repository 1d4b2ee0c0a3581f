/* The policy file's deny-glob keys (policy/glob_json.c). */
#ifndef AB_POLICY_GLOB_JSON_H
#define AB_POLICY_GLOB_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agentbox.h"

/* Where a bad value is, for the loader's line:column, and what is wrong. */
struct glob_json_error {
	const char *key;    /* top-level key */
	const char *sub;    /* a member of it, or NULL */
	bool has_index;
	size_t index;       /* an element of it, when has_index */
	char msg[1200];
};

/* Reads "deny_globs", "allow_read", "glob_limits" and
 * "default_secret_globs" of `root` into stage. Relative patterns and
 * paths are relative to the working directory (as :cwd); `source` names
 * the file in each rule's origin. -EINVAL with e filled in. */
int policy_globs_from_json(ab_policy *stage, json_t *root, const char *source,
			   struct glob_json_error *e);

#endif
