/* The system bubblewrap behind the backend interface (backend/backend.h). */
#include "backend/backend.h"

#include <string.h>

#include "supervisor/supervisor.h"

static int prepare(struct backend_choice *c, const struct plan *plan, const struct backend_ctx *ctx,
		   ab_error *err)
{
	_cleanup_free_ char *path = NULL;
	bwrap_info_free(&c->bw);
	int r = bwrap_locate(plan, &path, err);
	if (r < 0)
		return r;
	return bwrap_probe(path, ctx->state_dir, ctx->refresh, &c->bw, err);
}

static unsigned gives(const struct plan *plan, const struct backend_choice *c)
{
	(void)c;
	return backend_namespace_gives(plan);
}

/* bwrap stopped before the command because this host refuses the
 * namespaces it needs (not because the plan is wrong): auto may go on. */
static bool host_refused_bwrap(const char *msg)
{
	static const char *const signs[] = {
		"No permissions to create new namespace", "setting up uid map: Permission denied",
		"Creating new namespace failed", "RTM_NEWADDR", "unprivileged user namespaces",
		"loopback: Failed", NULL,
	};
	for (size_t i = 0; signs[i]; i++)
		if (strstr(msg, signs[i]))
			return true;
	return false;
}

static int supervise(struct supervise_request *req, struct backend_choice *c, int *exit_status,
		     bool *host_refused, ab_error *err)
{
	req->bwrap = &c->bw;
	int r = supervise_bwrap(req, exit_status, err);
	*host_refused = r < 0 && host_refused_bwrap(err->message);
	return r;
}

static void append_posture(sbuf *b, const struct plan *plan, const struct backend_choice *c)
{
	backend_append_namespace_posture(b, plan, c->bw.unshare_ipc, false);
}

static void append_start(sbuf *b, const struct backend_choice *c)
{
	sbuf_add(b, "\"bwrap\":{\"path\":");
	sbuf_add_json_string(b, c->bw.path);
	sbuf_add(b, ",\"version\":");
	sbuf_add_json_string(b, c->bw.version);
	sbuf_add(b, "},");
}

/* The command line a run would use (fds 3.. are agentbox's). */
static int build(const struct plan *plan, const struct backend_choice *c, char *const *command,
		 const char *self_exe, struct bwrap_cmd *cmd, ab_error *err)
{
	struct bwrap_build_opts bo = {
		.command = command, .self_path = self_exe,
		.status_fd = true, .stderr_fd = true, .life_fd = true, .env_fd = true,
		.inner_library_path = bwrap_inner_library_path(),
	};
	return bwrap_build(plan, &c->bw, &bo, cmd, err);
}

static int explain_text(const struct plan *plan, const struct backend_choice *c, char *const *command,
			const char *self_exe, FILE *out, ab_error *err)
{
	struct bwrap_cmd cmd;
	int r = build(plan, c, command, self_exe, &cmd, err);
	if (r < 0)
		return r;
	sbuf b = {0};
	for (size_t i = 0; i < cmd.argv.n; i++) {
		if (i)
			sbuf_add(&b, " ");
		sbuf_add_shell_word(&b, cmd.argv.v[i]);
	}
	plan_print_ops(plan, NULL, out);
	fprintf(out, "\nbackend: bwrap %s (%s) (%s)\ncommand line (fds 3.. are set up by agentbox):\n%s\n",
		c->bw.version, c->bw.path, c->reason, b.s);
	sbuf_free(&b);
	bwrap_cmd_free(&cmd);
	backend_print_namespace_posture(plan, out);
	return 0;
}

static int explain_json(sbuf *b, const struct plan *plan, const struct backend_choice *c,
			char *const *command, const char *self_exe, ab_error *err)
{
	struct bwrap_cmd cmd;
	int r = build(plan, c, command, self_exe, &cmd, err);
	if (r < 0)
		return r;
	sbuf_add(b, ",\"path\":");
	sbuf_add_json_string(b, c->bw.path);
	sbuf_add(b, ",\"version\":");
	sbuf_add_json_string(b, c->bw.version);
	sbuf_add(b, ",\"argv\":[");
	for (size_t i = 0; i < cmd.argv.n; i++) {
		if (i)
			sbuf_add(b, ",");
		sbuf_add_json_string(b, cmd.argv.v[i]);
	}
	sbuf_add(b, "]");
	bwrap_cmd_free(&cmd);
	return 0;
}

const struct backend backend_bwrap = {
	.id = AB_BACKEND_BWRAP,
	.name = "bwrap",
	.what = "bubblewrap",
	.prepare = prepare,
	.gives = gives,
	.supervise = supervise,
	.append_posture = append_posture,
	.append_start = append_start,
	.explain_text = explain_text,
	.explain_json = explain_json,
};
