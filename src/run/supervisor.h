/* The supervisor: the outer process that owns one run (bwrap, or the
 * built-in engine in supervise_builtin.c). It places the
 * host placeholders, starts bwrap in its own process group with the file
 * descriptors its command line names, forwards signals, enforces the
 * timeout, tells bwrap's own errors apart from the command's output, and
 * removes the placeholders afterwards. */
#ifndef AB_RUN_SUPERVISOR_H
#define AB_RUN_SUPERVISOR_H

#include "agentbox.h"
#include "backend/builtin.h"
#include "backend/bwrap.h"
#include "plan/plan.h"
#include "run/events.h"

enum supervise_outcome {
	SUPERVISE_DONE,          /* the command ran; *exit_status is set */
	SUPERVISE_RETRY_NO_PROC, /* bwrap could not mount /proc; nothing ran */
	SUPERVISE_RETRY_PROBE,   /* bwrap rejected an option; re-probe */
};

struct supervise_request {
	const struct plan *plan;
	const struct bwrap_info *bwrap;
	const char *state_dir;   /* may be NULL: no placeholders possible */
	const char *self_path;
	char *const *command;
	const ab_run_options *opts;
	const struct events *ev;
};

/* Returns a supervise_outcome (>= 0) or a negative errno with err set. */
int supervise_bwrap(const struct supervise_request *req, int *exit_status, ab_error *err);

/* The same with the built-in engine (req->bwrap unused). On failure,
 * *failure says whether another backend may be tried
 * (BUILTIN_FAIL_HOST: this host refused the namespaces). */
int supervise_builtin(const struct supervise_request *req, int *exit_status,
		      enum builtin_failure *failure, ab_error *err);

#endif
