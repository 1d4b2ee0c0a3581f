/* Every backend behind one interface, and the one order in which
 * --backend auto tries them: ab_run, ab_explain and `agentbox doctor` all
 * walk backend_auto_order, so the three cannot disagree.
 *
 * A backend builds the sandbox the plan describes and runs the command in
 * it. Its state for one run (what bwrap supports, Landlock's rules) lives
 * in a backend_choice, filled by prepare and freed by backend_choice_free. */
#ifndef AB_BACKEND_BACKEND_H
#define AB_BACKEND_BACKEND_H

#include <stdbool.h>
#include <stdio.h>

#include "agentbox.h"
#include "backend/bwrap/bwrap.h"
#include "backend/landlock/landlock.h"
#include "common/util.h"
#include "plan/plan.h"

struct backend;
struct supervise_request;

/* One backend, chosen for one run or explain. */
struct backend_choice {
	const struct backend *b;
	char *reason;            /* why this backend ("requested", "auto: ...") */
	struct bwrap_info bw;    /* bwrap: where it is and what it supports */
	struct landlock_prep ll; /* Landlock: the ABI and the rules */
};

struct backend_ctx {
	const char *state_dir; /* for the bwrap probe cache; may be NULL */
	bool exact;            /* --exact: refuse a plan that would be narrowed */
	bool for_run;          /* false for explain: nothing may be created */
	bool refresh;          /* after SUPERVISE_RETRY_PROBE: learn afresh */
};

struct backend {
	ab_backend id;
	const char *name; /* as --backend spells it */
	const char *what; /* in auto's reasons: "the built-in engine" */
	/* Learns what this plan needs from this backend without running
	 * anything of the user's: bwrap is found and probed, Landlock's
	 * rules computed (and, for a run, its per-run TMPDIR made). For
	 * explain (!for_run) the built-in engine also checks that this host
	 * lets it create its namespaces; for a run it finds out by running.
	 * A failure here is the host's: auto may try the next backend. */
	int (*prepare)(struct backend_choice *c, const struct plan *plan,
		       const struct backend_ctx *ctx, ab_error *err);
	/* What it gives this plan, as AB_REQUIRE_ bits. */
	unsigned (*gives)(const struct plan *plan, const struct backend_choice *c);
	/* Runs the command. Returns a supervise_outcome (>= 0) or -errno;
	 * on failure *host_refused says that the host stopped the sandbox
	 * before the command (auto may go on), not that the plan is unsafe. */
	int (*supervise)(struct supervise_request *req, struct backend_choice *c, int *exit_status,
			 bool *host_refused, ab_error *err);
	/* The posture's members for this backend (JSON, leading comma). */
	void (*append_posture)(sbuf *b, const struct plan *plan, const struct backend_choice *c);
	/* Members of the start event that name the backend's own parts
	 * (JSON, trailing comma), or NULL. */
	void (*append_start)(sbuf *b, const struct backend_choice *c);
	/* explain: what the backend will do with the plan, after its table;
	 * the JSON form (NULL: nothing to add) adds members to the "backend"
	 * object. A failure (a bwrap that cannot express the plan) is shown
	 * as the backend being unavailable. */
	int (*explain_text)(const struct plan *plan, const struct backend_choice *c,
			    char *const *command, const char *self_exe, FILE *out, ab_error *err);
	int (*explain_json)(sbuf *b, const struct plan *plan, const struct backend_choice *c,
			    char *const *command, const char *self_exe, ab_error *err);
};

extern const struct backend backend_builtin;
extern const struct backend backend_bwrap;
extern const struct backend backend_landlock;

/* The order auto tries them in, NULL-terminated: the built-in engine,
 * then bwrap (when this host refuses the engine's namespaces), then
 * Landlock (no namespaces at all). */
extern const struct backend *const backend_auto_order[];

/* NULL for AB_BACKEND_AUTO or an unknown value. */
const struct backend *backend_by_id(ab_backend id);

void backend_choice_free(struct backend_choice *c);

/* The posture members every namespace backend shares; `ipc` and `uts`
 * say whether those namespaces are new too. */
void backend_append_namespace_posture(sbuf *b, const struct plan *plan, bool ipc, bool uts);
void backend_print_namespace_posture(const struct plan *plan, FILE *out);
/* What every namespace backend gives this plan (AB_REQUIRE_ bits). */
unsigned backend_namespace_gives(const struct plan *plan);

#endif
