/* The credential part of the posture and of `agentbox explain`: the
 * entries of the credential deny set found on this host, hidden or
 * visible, each with its reason, so that the start event, explain and the
 * README say the same thing (plan/credentials.c decides). */
#include "run/credential_posture.h"

#include <string.h>

static const char *enforcement(ab_backend backend)
{
	if (backend == AB_BACKEND_LANDLOCK)
		return "Landlock rules: each hidden path is left out of the rules above it, so listing the "
		       "directories on the way to it is refused (the filesystem narrowings say which)";
	return "an empty read-only mask over each hidden path, as --deny makes it";
}

void credential_posture_json(sbuf *b, const struct plan *plan, ab_backend backend)
{
	sbuf_add(b, ",\"credentials\":{\"enforcement\":");
	sbuf_add_json_string(b, enforcement(backend));
	for (int pass = 0; pass < 2; pass++) {
		bool hidden = pass == 0, first = true;
		sbuf_add(b, hidden ? ",\"hidden\":[" : ",\"visible\":[");
		for (size_t i = 0; i < plan->n_credentials; i++) {
			const struct plan_credential *c = &plan->credentials[i];
			if (c->hidden != hidden)
				continue;
			sbuf_add(b, first ? "{\"name\":" : ",{\"name\":");
			first = false;
			sbuf_add_json_string(b, c->name);
			sbuf_add(b, ",\"path\":");
			sbuf_add_json_string(b, c->path);
			sbuf_add(b, hidden ? ",\"why\":" : ",\"by\":");
			sbuf_add_json_string(b, c->why);
			sbuf_add(b, "}");
		}
		sbuf_add(b, "]");
	}
	sbuf_add(b, "}");
}

void credential_posture_print(const struct plan *plan, ab_backend backend, FILE *out)
{
	fprintf(out, "\ncredentials (the built-in deny set; README \"Credentials\"):\n  enforced by: %s\n",
		enforcement(backend));
	if (plan->n_credentials == 0)
		fputs("  none found under $HOME or where the tools' variables point\n", out);
	for (size_t i = 0; i < plan->n_credentials; i++) {
		const struct plan_credential *c = &plan->credentials[i];
		if (c->hidden)
			fprintf(out, "  hidden %s %s: %s (--allow-credentials %s shows it)\n", c->name, c->path,
				c->why, c->name);
		else
			fprintf(out, "  credentials visible: %s %s (by %s)\n", c->name, c->path, c->why);
	}
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->source == NODE_CREDENTIAL && n->access == AB_ACCESS_READ)
			fprintf(out, "  kept readable %s (holds no secret; ssh needs it)\n", n->path);
	}
}
