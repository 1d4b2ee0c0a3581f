/* Landlock, without namespaces, behind the backend interface
 * (backend/backend.h). */
#include "backend/backend.h"

#include "supervisor/supervisor.h"

#include <stdio.h>

static int prepare(struct backend_choice *c, const struct plan *plan, const struct backend_ctx *ctx,
		   ab_error *err)
{
	landlock_prep_free(&c->ll);
	return landlock_prepare(plan, ctx->exact, ctx->for_run, &c->ll, err);
}

/* Landlock isolates the network only where it can also refuse abstract
 * unix sockets outside (ABI 6): the seccomp filter refuses every other
 * family. */
static unsigned gives(const struct plan *plan, const struct backend_choice *c)
{
	unsigned g = AB_REQUIRE_SECCOMP | AB_REQUIRE_LANDLOCK;
	if (landlock_prep_exact(&c->ll))
		g |= AB_REQUIRE_EXACT_FS;
	if (plan->net == AB_NET_NONE && (c->ll.feat.scoped & LL_SCOPE_ABSTRACT_UNIX))
		g |= AB_REQUIRE_NET_NONE;
	return g;
}

static int supervise(struct supervise_request *req, struct backend_choice *c, int *exit_status,
		     bool *host_refused, ab_error *err)
{
	req->landlock = &c->ll;
	*host_refused = false; /* the last resort: nothing comes after it */
	/* a warning like the fallback's: -q (quiet) silences it; the start
	 * event's narrowings and explain keep it for those who asked quiet */
	if (!req->opts->quiet)
		landlock_print_notice(&c->ll, stderr);
	return supervise_landlock(req, exit_status, err);
}

static void append_posture(sbuf *b, const struct plan *plan, const struct backend_choice *c)
{
	(void)plan;
	sbuf_add(b, ",\"namespaces\":[],\"proc\":\"host\"");
	landlock_append_posture_json(b, &c->ll);
}

static int explain_text(const struct plan *plan, const struct backend_choice *c, char *const *command,
			const char *self_exe, FILE *out, ab_error *err)
{
	(void)plan;
	(void)command;
	(void)self_exe;
	(void)err;
	fprintf(out, "\nbackend: landlock (%s)\n"
		     "no namespaces: the operations above are not mounted; Landlock rules enforce them\n",
		c->reason);
	landlock_print_posture(&c->ll, out);
	return 0;
}

const struct backend backend_landlock = {
	.id = AB_BACKEND_LANDLOCK,
	.name = "landlock",
	.what = "Landlock, no namespaces",
	.prepare = prepare,
	.gives = gives,
	.supervise = supervise,
	.append_posture = append_posture,
	.explain_text = explain_text,
};
