/* One layer of configuration (the user's file, a project's file, a
 * --policy-file): what the file says, kept apart from the policy it will
 * be merged into, so that the layers can be stacked in their documented
 * order (README "Configuration"), compared (config/widen.c) and printed
 * back (config/config_print.c).
 *
 * Merging a layer into a policy: its filesystem rules are added in file
 * order, replacing a rule of an earlier layer for the same path; its
 * "protect" names are added and its "unprotect" names removed; its domain
 * patterns are added to the allow and deny lists (union); its network
 * mode, when it has one, replaces the earlier one. Its preset is not
 * merged: the preset is a scalar of the whole stack (the last layer that
 * names one wins) and is applied below every layer's rules. */
#ifndef AB_POLICY_LAYER_H
#define AB_POLICY_LAYER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"
#include "policy/policy.h"

struct policy_layer {
	char *source;      /* how messages and origins name the file */
	char *preset;      /* the file's "preset", or NULL */
	ab_policy *rules;  /* filesystem, domains and mode; no preset entries */
	bool net_set;      /* the file chose a network mode */
	strv protect, unprotect; /* as written */
};

/* Parses and validates `text` (errors as for --policy-file, positions
 * prefixed with `source`). *out is filled only on success. Must run
 * inside oom_guarded() or accept that running out of memory ends the
 * process (the CLI). */
int policy_layer_parse(const char *text, size_t len, const char *source,
		       struct policy_layer *out, ab_error *err);
void policy_layer_free(struct policy_layer *l);

/* Merges the layer's rules (not its preset) into p, as above. */
void policy_layer_merge(ab_policy *p, const struct policy_layer *l);

/* The merge itself, shared with a single policy file's loading. */
void policy_merge_rules(ab_policy *p, const ab_policy *rules, const strv *protect,
			const strv *unprotect, bool set_net);

#endif
