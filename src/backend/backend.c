#include "backend/backend.h"

#include <stdlib.h>

const struct backend *const backend_auto_order[] = {
	&backend_builtin,
	&backend_bwrap,
	&backend_landlock,
	NULL,
};

const struct backend *backend_by_id(ab_backend id)
{
	for (size_t i = 0; backend_auto_order[i]; i++)
		if (backend_auto_order[i]->id == id)
			return backend_auto_order[i];
	return NULL;
}

void backend_choice_free(struct backend_choice *c)
{
	free(c->reason);
	c->reason = NULL;
	bwrap_info_free(&c->bw);
	landlock_prep_free(&c->ll);
}

void backend_append_namespace_posture(sbuf *b, const struct plan *plan, bool ipc, bool uts)
{
	sbuf_addf(b, ",\"filesystem_exact\":true,\"namespaces\":[\"user\",\"mount\",\"pid\"%s%s%s],\"proc\":%s",
		  ipc ? ",\"ipc\"" : "", uts ? ",\"uts\"" : "", plan->net != AB_NET_FULL ? ",\"net\"" : "",
		  plan->mount_proc ? "true" : "false");
}

void backend_print_namespace_posture(const struct plan *plan, FILE *out)
{
	fprintf(out, "filesystem: exact (namespaces: user, mount, pid%s)\n",
		plan->net == AB_NET_NONE ? ", net" : "");
}

unsigned backend_namespace_gives(const struct plan *plan)
{
	unsigned g = AB_REQUIRE_SECCOMP | AB_REQUIRE_USERNS | AB_REQUIRE_EXACT_FS | AB_REQUIRE_PID_NS;
	if (plan->net == AB_NET_NONE)
		g |= AB_REQUIRE_NET_NONE;
	return g;
}
