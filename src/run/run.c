/* ab_run and ab_explain: gather the facts of this run, resolve the plan,
 * pick the backend, and hand over to the supervisor. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentbox.h"
#include "backend/backend.h"
#include "common/error.h"
#include "common/util.h"
#include "config/discover.h"
#include "net/bridge.h"
#include "net/refusal_log.h"
#include "plan/plan.h"
#include "common/events.h"
#include "run/run.h"
#include "run/create_dirs.h"
#include "run/run_options.h"
#include "run/env_report.h"
#include "run/git_watch.h"
#include "run/self_check.h"
#include "run/socket_posture.h"
#include "run/credential_posture.h"
#include "policy/policy.h"
#include "run/state_dir.h"
#include "supervisor/supervisor.h"
#include "common/phase_clock.h"

struct run_facts {
	char *cwd;
	char *state_dir;  /* for the bwrap probe cache, or NULL */
	strv state_dirs;  /* every candidate, hidden in the sandbox */
	char *self_exe;
};

static void facts_free(struct run_facts *f)
{
	free(f->cwd);
	free(f->state_dir);
	strv_free(&f->state_dirs);
	free(f->self_exe);
}

static int gather(const ab_run_options *o, struct run_facts *f, const struct events *ev,
		  ab_error *err)
{
	memset(f, 0, sizeof(*f));
	if (o->cwd) {
		if (!path_is_absolute(o->cwd)) {
			char here[PATH_MAX];
			if (!getcwd(here, sizeof(here)))
				return ab_fail_errno(err, errno, "cannot determine the current directory");
			char *joined = path_join(here, o->cwd);
			f->cwd = path_normalize(joined);
			free(joined);
		} else {
			f->cwd = path_normalize(o->cwd);
		}
	} else {
		char here[PATH_MAX];
		if (!getcwd(here, sizeof(here)))
			return ab_fail_errno(err, errno,
					     "cannot determine the current directory (was it removed?); use -C DIR");
		f->cwd = xstrdup(here);
	}
	ab_error serr;
	if (state_dir_get(&f->state_dir, &serr) < 0) {
		/* Only the bwrap probe cache lives there: without it, bwrap is
		 * probed on every run. */
		events_warning(ev, "no_state_dir", NULL, serr.message);
		f->state_dir = NULL;
	}
	state_dir_candidates(&f->state_dirs);
	f->self_exe = realpath("/proc/self/exe", NULL);
	return 0;
}

/* agentbox's own configuration: the files the caller named, and the user
 * configuration directory (with its config.json and trusted.json) in
 * every run, library runs included, so that no sandboxed command can
 * plant a configuration or a trust record for a later CLI run. */
static void config_paths(const ab_run_options *o, struct plan_config_file **out, size_t *n,
			 strv *own)
{
	*out = xcalloc(o->n_config_paths + 5, sizeof(**out));
	*n = 0;
	if (o->policy_file)
		(*out)[(*n)++] = (struct plan_config_file){o->policy_file, "--policy-file", false};
	if (o->approvals_save)
		(*out)[(*n)++] = (struct plan_config_file){o->approvals_save, "--approvals-save", false};
	char *dir = config_user_dir();
	if (dir) {
		strv_push_owned(own, dir);
		strv_push_owned(own, path_join(dir, CONFIG_USER_FILE));
		strv_push_owned(own, path_join(dir, CONFIG_TRUST_FILE));
		(*out)[(*n)++] = (struct plan_config_file){own->v[0], "user configuration directory", true};
		(*out)[(*n)++] = (struct plan_config_file){own->v[1], "user configuration", true};
		(*out)[(*n)++] = (struct plan_config_file){own->v[2], "trust store", true};
	}
	for (size_t i = 0; i < o->n_config_paths; i++)
		(*out)[(*n)++] = (struct plan_config_file){o->config_paths[i].path,
							   o->config_paths[i].role,
							   o->config_paths[i].block};
}

static int resolve(const ab_policy *p, const ab_run_options *o, const struct run_facts *f,
		   struct plan *plan, ab_error *err)
{
	struct plan_config_file *cfg;
	size_t n_cfg;
	strv own = {0};
	config_paths(o, &cfg, &n_cfg, &own);
	struct plan_context ctx = {
		.config_files = cfg,
		.n_config_files = n_cfg,
		.cwd = f->cwd,
		.home = getenv("HOME"),
		.tmpdir = getenv("TMPDIR"),
		.state_dirs = (const char *const *)f->state_dirs.v,
		.self_exe = f->self_exe,
		.no_proc = o->no_proc,
		.runtime_dir = getenv("XDG_RUNTIME_DIR"),
		.uid = getuid(),
		.never_list = policy_socket_never_list,
		.credentials = policy_credential_list,
		.env = (const char *const *)environ,
		/* AGENTBOX_GLOB_CACHE=0: the deny glob walk and the git scan
		 * walk every time (bench/glob_walk.sh, bench/git_scan.sh) */
		.glob_cache_dir = getenv("AGENTBOX_GLOB_CACHE") && strcmp(getenv("AGENTBOX_GLOB_CACHE"), "0") == 0
					  ? NULL : f->state_dir,
	};
	int r = plan_resolve(p, &ctx, plan, err);
	free(cfg);
	strv_free(&own);
	return r;
}

static const struct {
	const char *name;
	unsigned bit;
} require_names[] = {
	{"userns", AB_REQUIRE_USERNS}, {"exact-fs", AB_REQUIRE_EXACT_FS},
	{"net-none", AB_REQUIRE_NET_NONE}, {"pid-ns", AB_REQUIRE_PID_NS},
	{"landlock", AB_REQUIRE_LANDLOCK}, {"seccomp", AB_REQUIRE_SECCOMP},
};
#define N_REQUIRE (sizeof(require_names) / sizeof(require_names[0]))

int ab_require_parse(const char *name, unsigned *bit)
{
	for (size_t i = 0; i < N_REQUIRE; i++)
		if (strcmp(name, require_names[i].name) == 0) {
			*bit = require_names[i].bit;
			return 0;
		}
	return -EINVAL;
}

const char *ab_require_names(void)
{
	return "userns, exact-fs, net-none, pid-ns, landlock, seccomp";
}

static void add_names(sbuf *b, unsigned bits)
{
	bool first = true;
	for (size_t i = 0; i < N_REQUIRE; i++) {
		if (!(bits & require_names[i].bit))
			continue;
		sbuf_addf(b, "%s%s", first ? "" : ", ", require_names[i].name);
		first = false;
	}
	if (first)
		sbuf_add(b, "none of them");
}

/* 0 when the backend in c gives every required feature. */
static int check_require(const ab_run_options *o, const struct plan *plan,
			 const struct backend_choice *c, ab_error *err)
{
	unsigned g = c->b->gives(plan, c), missing = o->require & ~g;
	if (!missing)
		return 0;
	sbuf m = {0}, h = {0};
	add_names(&m, missing);
	add_names(&h, g);
	int r = ab_fail(err, EPERM, "--require %s: not met by the %s backend, which gives: %s", m.s,
			c->b->name, h.s);
	if (missing & AB_REQUIRE_NET_NONE && plan->net != AB_NET_NONE)
		ab_error_hint(err, "the policy itself asks for --net full");
	sbuf_free(&m);
	sbuf_free(&h);
	return r;
}

static const char *seccomp_mode_name(ab_net net)
{
	switch (net) {
	case AB_NET_NONE: return "network-none";
	case AB_NET_PROXY: return "network-proxy";
	case AB_NET_FULL: break;
	}
	return "base";
}

/* Where the command's network goes and who answers for what no rule
 * covers. */
static void append_proxy_posture(sbuf *b, const ab_run_options *o)
{
	const char *channel = o->approvals_fd >= 0 ? "fd" : o->approvals_tty ? "tty" : "none";
	sbuf_addf(b, ",\"proxy\":{\"http\":\"%s:%d\",\"socks5\":\"%s:%d\",\"approvals\":\"%s\","
		     "\"unmatched\":\"%s\"",
		  BRIDGE_HOST, BRIDGE_HTTP_PORT, BRIDGE_HOST, BRIDGE_SOCKS_PORT, channel,
		  strcmp(channel, "none") == 0 ? "deny" : "ask");
	/* the terminal the prompt is on is never the command's: a terminal
	 * among its stdio is replaced by agentbox's relayed pty (or
	 * /dev/null, with a no_pty warning) */
	if (o->approvals_tty)
		sbuf_add(b, ",\"command_terminal\":\"agentbox_pty\"");
	sbuf_add(b, "}");
}

/* What holds for this run: the parts every backend shares, then the
 * backend's own (namespaces, Landlock), the proxy and agentbox's binary. */
static void append_posture(sbuf *b, const struct plan *plan, const struct backend_choice *c,
			   const ab_run_options *o, const struct self_check *self)
{
	size_t protected_n = 0, hidden = 0, writable = 0;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		protected_n += plan->nodes[i].source == NODE_PROTECTED || plan->nodes[i].source == NODE_GITDIR;
		hidden += plan->nodes[i].access == AB_ACCESS_NONE;
		writable += plan->nodes[i].access == AB_ACCESS_WRITE && plan->nodes[i].exists &&
			    plan->nodes[i].source != NODE_PIN;
	}
	sbuf_addf(b, "\"posture\":{\"filesystem\":\"%s\",\"writable_roots\":%zu,\"hidden_paths\":%zu,"
		     "\"protected_paths\":%zu,\"network\":\"%s\",\"seccomp\":\"%s\",\"no_new_privs\":true,"
		     "\"new_session\":true,\"capabilities\":\"none\",\"git\":\"%s\"",
		  plan->root_writable ? "full-write" : plan->root_readable ? "read-only-root" : "restricted-read",
		  writable, hidden, protected_n, ab_net_name(plan->net), seccomp_mode_name(plan->net),
		  ab_git_mode_name(plan->git));
	if (plan->git_scan_depth >= 0)
		sbuf_addf(b, ",\"git_scan\":{\"depth\":%d,\"nested_repositories\":%zu}",
			  plan->git_scan_depth, plan->git_nested_found);
	if (plan->glob_patterns)
		sbuf_addf(b, ",\"deny_globs\":{\"patterns\":%zu,\"hidden_paths\":%zu,\"complete\":%s,"
			     "\"created_during_run\":\"not hidden\"}",
			  plan->glob_patterns, plan->glob_hidden, plan->glob_partial ? "false" : "true");
	c->b->append_posture(b, plan, c);
	socket_posture_json(b, plan, c->b->id);
	credential_posture_json(b, plan, c->b->id);
	if (plan->net == AB_NET_PROXY)
		append_proxy_posture(b, o);
	self_check_append_json(self, b);
	sbuf_add(b, "}");
}

static void emit_start(const struct events *ev, const ab_run_options *o, const struct plan *plan,
		       const struct backend_choice *c, const struct self_check *self,
		       char *const argv[], const char *retry, const struct env_result *env)
{
	sbuf b = {0};
	sbuf_addf(&b, "{\"event\":\"start\",\"backend\":\"%s\",\"backend_reason\":", c->b->name);
	sbuf_add_json_string(&b, c->reason);
	sbuf_add(&b, ",");
	if (c->b->append_start)
		c->b->append_start(&b, c);
	append_posture(&b, plan, c, o, self);
	sbuf_add(&b, ",\"cwd\":");
	sbuf_add_json_string(&b, plan->cwd);
	sbuf_add(&b, ",\"command\":[");
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sbuf_add(&b, ",");
		sbuf_add_json_string(&b, argv[i]);
	}
	sbuf_addf(&b, "],\"pid\":%d", (int)getpid());
	if (env)
		env_report_start_json(&b, env);
	if (retry) {
		sbuf_add(&b, ",\"retry\":");
		sbuf_add_json_string(&b, retry);
	}
	sbuf_add(&b, "}");
	events_emit(ev, b.s);
	sbuf_free(&b);
}

/* `fields`: more members, each starting with a comma (run/git_watch.h). */
static void emit_exit(const struct events *ev, int status, bool timed_out, double ms,
		      const char *fields)
{
	char sig[16] = "null";
	if (status > 128 && status < 128 + 65 && !timed_out)
		snprintf(sig, sizeof(sig), "%d", status - 128);
	sbuf b = {0};
	sbuf_addf(&b, "{\"event\":\"exit\",\"status\":%d,\"signal\":%s,\"timed_out\":%s,\"duration_ms\":%.3f%s}",
		  status, sig, timed_out ? "true" : "false", ms, fields ? fields : "");
	events_emit_closing(ev, b.s);
	sbuf_free(&b);
}

/* What the network refused, where the user looks: stderr at the end of
 * the run (after the command's own output, unless -q) and the exit
 * event. */
static void report_refusals(const struct refusal_log *refused, bool quiet, sbuf *fields)
{
	refusal_log_json(refused, fields);
	if (quiet)
		return;
	sbuf lines = {0};
	refusal_log_lines(refused, &lines);
	if (lines.len)
		fputs(lines.s, stderr);
	sbuf_free(&lines);
}

static void warn_proc_retry(const struct events *ev, struct plan *plan)
{
	events_warning(ev, "proc_retry", "/proc",
		       plan->root_readable
			       ? "this host does not allow mounting a fresh /proc (a container or another sandbox?); running without one, so the command sees the outer /proc (its kernel knobs read-only)"
			       : "this host does not allow mounting a fresh /proc (a container or another sandbox?); running without /proc");
	plan_drop_proc(plan);
}

/* One backend, with its retries. A retry changes the posture (no /proc)
 * or what was learned about the backend (a fresh probe); each attempt
 * announces what it builds, so the last start event is the posture in
 * effect. */
static int run_with(struct backend_choice *c, const struct backend_ctx *ctx,
		    struct supervise_request *req, struct plan *plan, int *exit_status,
		    bool *host_refused, ab_error *err)
{
	const char *retry = NULL;
	int r = 0;
	*host_refused = false;
	for (int attempt = 0; attempt < 3; attempt++) {
		emit_start(req->ev, req->opts, plan, c, req->self, req->command, retry, req->env);
		r = c->b->supervise(req, c, exit_status, host_refused, err);
		if (r == SUPERVISE_RETRY_NO_PROC) {
			warn_proc_retry(req->ev, plan);
			retry = "no-proc";
			continue;
		}
		if (r == SUPERVISE_RETRY_PROBE) {
			struct backend_ctx fresh = *ctx;
			fresh.refresh = true;
			r = c->b->prepare(c, plan, &fresh, err);
			if (r < 0)
				return r;
			retry = "probe";
			continue;
		}
		break;
	}
	if (r > 0)
		r = ab_fail(err, EIO, "the %s backend kept failing in a way agentbox could not recover from",
			    c->b->name);
	return r;
}

static char *first_line(const char *text)
{
	return xstrndup(text, strcspn(text, "\n"));
}

/* auto's way down backend_auto_order: each step records why the previous
 * one could not run, as a warning event (for a run) and in the next
 * choice's reason. */
struct fallback {
	const struct events *ev; /* NULL: no warnings (explain) */
	sbuf chain;
};

static void fall_back(struct fallback *fb, const struct backend *from, const struct backend *to,
		      const char *why)
{
	_cleanup_free_ char *line = first_line(why);
	if (fb->ev && to) {
		_cleanup_free_ char *msg = xasprintf("the %s backend cannot run here (%s); falling back to %s",
						     from->name, line, to->name);
		events_warning(fb->ev, "backend_fallback", NULL, msg);
	}
	sbuf_addf(&fb->chain, "%s%s: %s", fb->chain.len ? "; " : "", from->name, line);
}

static char *choice_reason(const ab_run_options *o, const struct fallback *fb, const struct backend *b)
{
	if (o->backend != AB_BACKEND_AUTO && o->backend_from_env)
		return xasprintf("requested by the environment variable %s", o->backend_from_env);
	if (o->backend != AB_BACKEND_AUTO)
		return xstrdup("requested");
	if (!fb->chain.len)
		return xasprintf("auto: %s first", b->what);
	return xasprintf("auto: %s (%s)", b->what, fb->chain.s);
}

/* The backends this run may use: the one asked for, or auto's order. */
static size_t candidates(const ab_run_options *o, const struct backend **out)
{
	const struct backend *b = backend_by_id(o->backend);
	if (b) {
		out[0] = b;
		return 1;
	}
	size_t n = 0;
	for (; backend_auto_order[n]; n++)
		out[n] = backend_auto_order[n];
	return n;
}

/* auto skips a backend that cannot give what --require demands before
 * trying it (Landlock can only tell once its ABI is known). */
static bool require_skips(const ab_run_options *o, const struct plan *plan, const struct backend *b,
			  ab_error *err)
{
	if (b->id == AB_BACKEND_LANDLOCK)
		return false;
	struct backend_choice probe = {.b = b};
	return check_require(o, plan, &probe, err) < 0;
}

/* Tries the candidates in order. Only a failure of the host (a backend
 * that is missing or that the host stops before the command) lets auto go
 * on to the next one; anything else fails closed. */
static int run_backends(struct supervise_request *req, struct plan *plan, const struct backend_ctx *ctx,
			int *exit_status, ab_error *err)
{
	const ab_run_options *o = req->opts;
	const struct backend *cand[8];
	size_t n = candidates(o, cand);
	bool is_auto = o->backend == AB_BACKEND_AUTO;
	struct fallback fb = {.ev = req->ev};
	int r = -EAGAIN;
	size_t i = 0;
	for (; i < n; i++) {
		const struct backend *next = i + 1 < n ? cand[i + 1] : NULL;
		if (is_auto && require_skips(o, plan, cand[i], err)) {
			fall_back(&fb, cand[i], next, err->message);
			r = -EPERM;
			continue;
		}
		struct backend_choice c = {.b = cand[i], .reason = choice_reason(o, &fb, cand[i])};
		bool host_refused = true; /* a backend that cannot get ready is the host's failure */
		r = cand[i]->prepare(&c, plan, ctx, err);
		if (r == 0) {
			r = check_require(o, plan, &c, err);
			host_refused = false;
		}
		if (r == 0)
			r = socket_check_backend(plan, c.b->id, err);
		if (r == 0)
			r = run_with(&c, ctx, req, plan, exit_status, &host_refused, err);
		backend_choice_free(&c);
		if (r >= 0 || !is_auto || !host_refused || !next)
			break;
		fall_back(&fb, cand[i], next, err->message);
	}
	if (r < 0 && is_auto && i + 1 >= n && fb.chain.len)
		ab_error_hint(err, "no backend could run; before %s: %s", cand[n - 1]->name, fb.chain.s);
	sbuf_free(&fb.chain);
	return r;
}

/* Everything a run checks and computes before any backend starts: the
 * facts, the plan, the self check. Allocations only, so it runs under
 * oom_guarded(): out of memory here is -ENOMEM (at worst leaking what the
 * failed step had allocated), never the end of the process. */
struct prestart {
	const ab_policy *p;
	const ab_run_options *o;
	const struct events *ev;
	ab_error *err;
	struct run_facts f;
	struct plan plan;
	struct self_check self;
	struct env_result env;
};

static void prestart_free(struct prestart *ps)
{
	self_check_free(&ps->self);
	env_result_free(&ps->env);
	plan_free(&ps->plan);
	facts_free(&ps->f);
}

static int prestart_body(void *ctx)
{
	struct prestart *ps = ctx;
	int r = gather(ps->o, &ps->f, ps->ev, ps->err);
	if (r < 0)
		return r;
	phase_mark("facts gathered");
	r = resolve(ps->p, ps->o, &ps->f, &ps->plan, ps->err);
	if (r < 0)
		return r;
	phase_mark("plan resolved");
	/* a --write-create or --cache directory is missing: the plan has
	 * accepted where it lies, so make it and plan again with it there */
	if (plan_has_warning(&ps->plan, "create_writable_root")) {
		if ((r = create_dirs_for_rules(ps->p, getenv("HOME"), ps->ev, ps->err)) < 0)
			return r;
		plan_free(&ps->plan);
		if ((r = resolve(ps->p, ps->o, &ps->f, &ps->plan, ps->err)) < 0)
			return r;
	}
	r = env_report_eval(ps->p, ps->o, &ps->plan, &ps->env, ps->err);
	if (r < 0)
		return r;
	phase_mark("environment filtered");
	for (size_t i = 0; i < ps->plan.n_warnings; i++)
		events_warning(ps->ev, ps->plan.warnings[i].code, ps->plan.warnings[i].path,
			       ps->plan.warnings[i].message);
	/* Before any backend: a sandbox that can replace agentbox would
	 * disarm every later run, whichever backend builds this one. */
	self_check_run(&ps->plan, ps->f.self_exe, ps->o->allow_writable_self, &ps->self);
	phase_mark("self checked");
	if (ps->self.verdict == SELF_REFUSED)
		return self_check_refusal(&ps->self, ps->err);
	if (ps->self.verdict == SELF_ACCEPTED) {
		_cleanup_free_ char *msg = self_check_warning(&ps->self);
		events_warning(ps->ev, "writable_self", ps->self.writable ? ps->self.writable : ps->self.file,
			       msg);
	}
	return 0;
}

static int prestart(struct prestart *ps)
{
	int r = oom_guarded(prestart_body, ps, ps->err, "preparing the run");
	if (r < 0)
		prestart_free(ps);
	return r;
}

static int run_events(const ab_policy *p, const ab_run_options *o, char *const argv[],
		      int *exit_status, struct events *evp, const struct run_hooks *hooks,
		      ab_error *err)
{
	phase_mark("run start");
	double t0 = monotonic_ms();
	struct events ev = *evp;
	if (!argv || !argv[0])
		return ab_fail(err, EINVAL, "no command given; usage: agentbox run [OPTIONS] -- COMMAND [ARG...]");
	if (o->backend != AB_BACKEND_AUTO && !backend_by_id(o->backend))
		return ab_fail(err, EINVAL, "unknown backend %d", (int)o->backend);
	struct prestart ps = {.p = p, .o = o, .ev = &ev, .err = err};
	int r = prestart(&ps);
	if (r < 0)
		return r;
	/* the command's environment is the policy's from here on */
	ab_run_options eo = *o;
	eo.envp = ps.env.env;
	struct refusal_log *refused = refusal_log_new();
	struct supervise_request req = {
		.plan = &ps.plan, .self_path = ps.f.self_exe,
		.command = argv, .opts = &eo, .ev = &ev, .self = &ps.self, .hooks = hooks,
		.env = &ps.env,
		.refusals = refused,
	};
	struct backend_ctx ctx = {.state_dir = ps.f.state_dir, .exact = o->exact, .for_run = true};
	struct git_watch gw;
	git_watch_start(&gw, &ps.plan);
	phase_mark("git refs read");
	r = run_backends(&req, &ps.plan, &ctx, exit_status, err);
	phase_mark("backend done");
	sbuf fields = {0};
	git_watch_finish(&gw, &ps.plan, argv, r == 0 ? *exit_status : 0, &ev, o->quiet, &fields);
	if (r == 0)
		report_refusals(refused, o->quiet, &fields);
	refusal_log_free(refused);
	if (r == 0)
		emit_exit(&ev, *exit_status, *exit_status == AB_EXIT_TIMEOUT && o->timeout_sec > 0,
			  monotonic_ms() - t0, fields.s);
	sbuf_free(&fields);
	prestart_free(&ps);
	phase_mark("run done");
	return r;
}

int run_full(const ab_policy *p, const ab_run_options *o, char *const argv[], int *exit_status,
	     const struct run_hooks *hooks, ab_error *err)
{
	struct events ev;
	events_init(&ev, o);
	int r = run_events(p, o, argv, exit_status, &ev, hooks, err);
	/* after the exit event: what the events reader missed, if anything */
	events_close(&ev);
	return r;
}

int ab_run(const ab_policy *p, const ab_run_options *o, char *const argv[],
	   int *exit_status, ab_error *err)
{
	ab_run_options full; /* this library's size: see run_options.c */
	if (run_options_accept(o, &full, err) < 0)
		return -EINVAL;
	return run_full(p, &full, argv, exit_status, NULL, err);
}

/* For explain: what `run` would pick, walking the same candidates, each
 * prepared without running (so a bwrap that the host would stop is not
 * detected here). On return c names the choice, usable or not; when none
 * is usable, the last one with the reason. */
static bool choose_for_explain(const ab_run_options *o, const struct plan *plan,
			       const struct backend_ctx *ctx, struct backend_choice *c, ab_error *berr)
{
	const struct backend *cand[8];
	size_t n = candidates(o, cand);
	struct fallback fb = {0};
	bool usable = false;
	for (size_t i = 0; i < n; i++) {
		backend_choice_free(c);
		*c = (struct backend_choice){.b = cand[i], .reason = choice_reason(o, &fb, cand[i])};
		usable = cand[i]->prepare(c, plan, ctx, berr) == 0;
		if (usable || i + 1 == n)
			break;
		fall_back(&fb, cand[i], cand[i + 1], berr->message);
	}
	sbuf_free(&fb.chain);
	return usable;
}

static void explain_json(const struct plan *plan, const ab_run_options *o, const struct backend_choice *c,
			 const struct self_check *self, char *const *command, const char *self_exe,
			 bool usable, ab_error *berr, const ab_policy *p, const struct env_result *env,
			 FILE *out)
{
	sbuf b = {0}, extra = {0};
	if (usable && c->b->explain_json)
		usable = c->b->explain_json(&extra, plan, c, command, self_exe, berr) == 0;
	sbuf_add(&b, "{");
	plan_append_json(plan, &b);
	sbuf_addf(&b, ",\"backend\":{\"name\":\"%s\",\"reason\":", c->b->name);
	sbuf_add_json_string(&b, c->reason);
	if (usable && extra.s) {
		sbuf_add(&b, extra.s);
	} else if (!usable) {
		sbuf_add(&b, ",\"error\":");
		sbuf_add_json_string(&b, berr->message);
	}
	sbuf_add(&b, "}");
	/* Also when no backend is usable, and also when run would refuse. */
	self_check_append_json(self, &b);
	if (usable) {
		sbuf_add(&b, ",");
		append_posture(&b, plan, c, o, self);
	}
	env_report_explain_json(&b, p, env);
	sbuf_add(&b, "}\n");
	fputs(b.s, out);
	sbuf_free(&b);
	sbuf_free(&extra);
}

static void explain_text(const struct plan *plan, const struct backend_choice *c,
			 const struct self_check *self, char *const *command, const char *self_exe,
			 bool usable, ab_error *berr, FILE *out)
{
	/* the backend's lines first, so that a failure shows as unavailable */
	char *text = NULL;
	size_t len = 0;
	FILE *mem = usable ? open_memstream(&text, &len) : NULL;
	if (mem) {
		usable = c->b->explain_text(plan, c, command, self_exe, mem, berr) == 0;
		fclose(mem);
	}
	plan_print_table(plan, usable && c->b->id == AB_BACKEND_LANDLOCK, out);
	fputc('\n', out);
	self_check_print(self, out);
	if (usable) {
		fputs(text ? text : "", out);
		socket_posture_print(plan, c->b->id, out);
		credential_posture_print(plan, c->b->id, out);
	} else
		fprintf(out, "\nbackend: %s unavailable: %s\n(%s)\n", c->b->name, berr->message, c->reason);
	free(text);
}

struct explain_args {
	const ab_policy *p;
	const ab_run_options *o;
	char *const *argv;
	bool json;
	FILE *out;
	const struct events *ev;
	ab_error *err;
	struct prestart ps;
	struct backend_choice c;
};

/* Under oom_guarded() (see struct prestart): the whole of explain only
 * allocates and prints. */
static int explain_body(void *ctx)
{
	struct explain_args *a = ctx;
	struct prestart *ps = &a->ps;
	int r = gather(a->o, &ps->f, a->ev, a->err);
	if (r < 0)
		return r;
	r = resolve(a->p, a->o, &ps->f, &ps->plan, a->err);
	if (r < 0)
		return r;
	r = env_report_eval(a->p, a->o, &ps->plan, &ps->env, a->err);
	if (r < 0)
		return r;
	static char placeholder_cmd[] = "COMMAND";
	static char *const default_cmd[] = {placeholder_cmd, NULL};
	char *const *command = a->argv && a->argv[0] ? a->argv : default_cmd;
	ab_error berr = {0};
	self_check_run(&ps->plan, ps->f.self_exe, a->o->allow_writable_self, &ps->self);
	struct backend_ctx bctx = {.state_dir = ps->f.state_dir};
	bool usable = choose_for_explain(a->o, &ps->plan, &bctx, &a->c, &berr);
	if (a->json)
		explain_json(&ps->plan, a->o, &a->c, &ps->self, command, ps->f.self_exe, usable, &berr,
			     a->p, &ps->env, a->out);
	else {
		explain_text(&ps->plan, &a->c, &ps->self, command, ps->f.self_exe, usable, &berr, a->out);
		env_report_explain_text(a->out, a->p, &ps->env);
	}
	return 0;
}

static int explain_events(const ab_policy *p, const ab_run_options *o, char *const argv[],
			  bool json, FILE *out, const struct events *evp, ab_error *err)
{
	struct explain_args a = {.p = p, .o = o, .argv = argv, .json = json, .out = out, .ev = evp,
				 .err = err};
	int r = oom_guarded(explain_body, &a, err, "ab_explain");
	backend_choice_free(&a.c);
	prestart_free(&a.ps);
	return r;
}

int ab_explain(const ab_policy *p, const ab_run_options *o, char *const argv[], bool json,
	       FILE *out, ab_error *err)
{
	ab_run_options full; /* this library's size: see run_options.c */
	if (run_options_accept(o, &full, err) < 0)
		return -EINVAL;
	o = &full;
	struct events ev;
	ab_run_options quiet = *o;
	quiet.quiet = true;
	events_init(&ev, &quiet);
	int r = explain_events(p, o, argv, json, out, &ev, err);
	events_close(&ev);
	return r;
}
