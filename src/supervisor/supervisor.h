/* The supervisor: the outer process that owns one run (bwrap, or the
 * built-in engine in supervise_builtin.c). It places the
 * host placeholders, starts bwrap in its own process group with the file
 * descriptors its command line names, forwards signals, enforces the
 * timeout, tells bwrap's own errors apart from the command's output, and
 * removes the placeholders afterwards. */
#ifndef AB_SUPERVISOR_SUPERVISOR_H
#define AB_SUPERVISOR_SUPERVISOR_H

#include "agentbox.h"
#include "backend/builtin/builtin.h"
#include "backend/landlock/landlock.h"
#include "backend/bwrap/bwrap.h"
#include "plan/plan.h"
#include "common/events.h"

enum supervise_outcome {
	SUPERVISE_DONE,          /* the command ran; *exit_status is set */
	SUPERVISE_RETRY_NO_PROC, /* bwrap could not mount /proc; nothing ran */
	SUPERVISE_RETRY_PROBE,   /* bwrap rejected an option; re-probe */
};

struct landlock_prep;
struct self_check;

struct supervise_request {
	const struct plan *plan;
	const struct bwrap_info *bwrap;
	const char *state_dir;   /* for the bwrap probe cache; may be NULL */
	const char *self_path;
	char *const *command;
	const ab_run_options *opts;
	const struct events *ev;
	struct landlock_prep *landlock; /* the Landlock backend's prepared rules */
	const struct self_check *self;  /* agentbox's own binary vs the plan (posture) */
};

/* Returns a supervise_outcome (>= 0) or a negative errno with err set. */
int supervise_bwrap(const struct supervise_request *req, int *exit_status, ab_error *err);

/* The same with the built-in engine (req->bwrap unused). On failure,
 * *failure says whether another backend may be tried
 * (BUILTIN_FAIL_HOST: this host refused the namespaces). */
int supervise_builtin(const struct supervise_request *req, int *exit_status,
		      enum builtin_failure *failure, ab_error *err);

/* Everything the Landlock backend decides before anything runs, so that
 * the posture can be announced and refused (--exact, --require) first. */
struct landlock_prep {
	struct ll_features feat;
	struct ll_rules rules;
	strv gaps;       /* what this ABI cannot refuse that the plan would */
	strv limits;     /* what Landlock never does that the mount backends do */
	char *tmpdir;    /* fresh per-run TMPDIR (removed after the run), or NULL */
	bool tmpdir_created; /* false for explain: tmpdir is only the pattern */
	bool prepared;
};

/* Queries the ABI and computes the rules; fails with the precise reason
 * when the kernel has no Landlock. With `exact`, refuses a plan Landlock
 * can only narrow, listing what would be refused. Creates the per-run
 * TMPDIR (only names it unless for_run) when the plan's writable temporary directory loses its MAKE
 * rights to a protected name in it. */
int landlock_prepare(const struct plan *plan, bool exact, bool for_run, struct landlock_prep *lp,
		     ab_error *err);
void landlock_prep_free(struct landlock_prep *lp);
/* True when the filesystem is enforced exactly as the plan says. */
bool landlock_prep_exact(const struct landlock_prep *lp);
/* The posture's Landlock parts, as JSON members (no braces, leading
 * comma) and as text lines. */
void landlock_append_posture_json(sbuf *b, const struct landlock_prep *lp);
void landlock_print_posture(const struct landlock_prep *lp, FILE *out);

/* Runs the command under the prepared rules, without namespaces. */
int supervise_landlock(const struct supervise_request *req, int *exit_status, ab_error *err);

#endif
