/* The "env" section of a policy file (README "Environment"):
 *   "env": {"inherit": "core", "exclude": ["*_URL"], "include_only": [...],
 *           "keep": ["GITHUB_TOKEN"], "set": {"NAME": "VALUE"}}
 * Parsed here, reported by the policy loader (policy_json.c), which turns
 * the failing member into a line and column. */
#ifndef AB_POLICY_ENV_JSON_H
#define AB_POLICY_ENV_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/env_policy.h"

struct env_json_error {
	const char *key; /* the member of "env" at fault, or NULL for "env" itself */
	bool has_index;  /* ... and the entry of it (array index or set member) */
	size_t index;
	const char *set_name; /* for "set": the member's name */
	bool at_key;     /* point at the key rather than its value */
	char message[1024];
};

/* Adds the section `env` of file `source` to ep. -EINVAL with *e filled. */
int env_json_load(json_t *env, const char *source, struct env_policy *ep,
		  struct env_json_error *e);

/* ,\n  "env": {...} for `agentbox config` (a file --policy-file reads back
 * to the same policy), or nothing when the policy is the default. */
struct sbuf;
void env_json_print(struct sbuf *b, const struct env_policy *ep);

#endif
