/* The built-in engine behind the backend interface (backend/backend.h). */
#include "backend/backend.h"

#include "backend/builtin/builtin.h"

static int prepare(struct backend_choice *c, const struct plan *plan, const struct backend_ctx *ctx,
		   ab_error *err)
{
	(void)c;
	/* A run finds out by running (and falls back on a host failure);
	 * explain must tell without running anything. */
	return ctx->for_run ? 0 : builtin_check(plan->net, err);
}

static unsigned gives(const struct plan *plan, const struct backend_choice *c)
{
	(void)c;
	return backend_namespace_gives(plan);
}

static int supervise(struct supervise_request *req, struct backend_choice *c, int *exit_status,
		     bool *host_refused, ab_error *err)
{
	(void)c;
	enum builtin_failure failure = BUILTIN_FAIL_REFUSE;
	int r = supervise_builtin(req, exit_status, &failure, err);
	/* Only a host that refuses the namespaces lets auto go on; a plan
	 * the engine refused (a symlink race, a fake /dev/null) would be
	 * just as unsafe with another backend. */
	*host_refused = r < 0 && failure == BUILTIN_FAIL_HOST;
	return r;
}

static void append_posture(sbuf *b, const struct plan *plan, const struct backend_choice *c)
{
	(void)c;
	backend_append_namespace_posture(b, plan, true, true);
}

static int explain_text(const struct plan *plan, const struct backend_choice *c, char *const *command,
			const char *self_exe, FILE *out, ab_error *err)
{
	(void)command;
	(void)self_exe;
	(void)err;
	plan_print_ops(plan, NULL, out);
	fprintf(out, "\nbackend: builtin (%s)\nthe built-in engine performs the operations above itself, in order\n",
		c->reason);
	backend_print_namespace_posture(plan, out);
	return 0;
}

const struct backend backend_builtin = {
	.id = AB_BACKEND_BUILTIN,
	.name = "builtin",
	.what = "the built-in engine",
	.prepare = prepare,
	.gives = gives,
	.supervise = supervise,
	.append_posture = append_posture,
	.explain_text = explain_text,
};
