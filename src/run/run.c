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
#include "backend/builtin/builtin.h"
#include "backend/bwrap/bwrap.h"
#include "backend/landlock/landlock.h"
#include "common/error.h"
#include "common/util.h"
#include "net/bridge.h"
#include "plan/plan.h"
#include "common/events.h"
#include "run/self_check.h"
#include "run/state_dir.h"
#include "supervisor/supervisor.h"

void ab_run_options_init(ab_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->events_fd = -1;
	o->approvals_fd = -1;
	o->backend = AB_BACKEND_AUTO;
}

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

static int resolve(const ab_policy *p, const ab_run_options *o, const struct run_facts *f,
		   struct plan *plan, ab_error *err)
{
	struct plan_context ctx = {
		.cwd = f->cwd,
		.home = getenv("HOME"),
		.tmpdir = getenv("TMPDIR"),
		.state_dirs = (const char *const *)f->state_dirs.v,
		.self_exe = f->self_exe,
		.no_proc = o->no_proc,
	};
	return plan_resolve(p, &ctx, plan, err);
}

/* Which backend builds this run and why; bw is set for bwrap, ll for
 * Landlock. */
struct choice {
	ab_backend backend;
	char *reason;
	struct bwrap_info bw;
	struct landlock_prep ll;
};

static void choice_free(struct choice *c)
{
	free(c->reason);
	c->reason = NULL;
	bwrap_info_free(&c->bw);
	landlock_prep_free(&c->ll);
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

/* What a backend gives this plan, as AB_REQUIRE_ bits. Landlock isolates
 * the network only where it can also refuse abstract unix sockets
 * outside (ABI 6): the seccomp filter refuses every other family. */
static unsigned gives(const struct plan *plan, const struct choice *c)
{
	unsigned g = AB_REQUIRE_SECCOMP;
	if (c->backend != AB_BACKEND_LANDLOCK) {
		g |= AB_REQUIRE_USERNS | AB_REQUIRE_EXACT_FS | AB_REQUIRE_PID_NS;
		if (plan->net == AB_NET_NONE)
			g |= AB_REQUIRE_NET_NONE;
		return g;
	}
	g |= AB_REQUIRE_LANDLOCK;
	if (landlock_prep_exact(&c->ll))
		g |= AB_REQUIRE_EXACT_FS;
	if (plan->net == AB_NET_NONE && (c->ll.feat.scoped & LL_SCOPE_ABSTRACT_UNIX))
		g |= AB_REQUIRE_NET_NONE;
	return g;
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
static int check_require(const ab_run_options *o, const struct plan *plan, const struct choice *c,
			 ab_error *err)
{
	unsigned g = gives(plan, c), missing = o->require & ~g;
	if (!missing)
		return 0;
	sbuf m = {0}, h = {0};
	add_names(&m, missing);
	add_names(&h, g);
	int r = ab_fail(err, EPERM, "--require %s: not met by the %s backend, which gives: %s", m.s,
			ab_backend_name(c->backend), h.s);
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
		     "\"unmatched\":\"%s\"}",
		  BRIDGE_HOST, BRIDGE_HTTP_PORT, BRIDGE_HOST, BRIDGE_SOCKS_PORT, channel,
		  strcmp(channel, "none") == 0 ? "deny" : "ask");
}

static void append_posture(sbuf *b, const struct plan *plan, const struct choice *c,
			   const ab_run_options *o, const struct self_check *self)
{
	size_t protected_n = 0, hidden = 0, writable = 0;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		protected_n += plan->nodes[i].source == NODE_PROTECTED || plan->nodes[i].source == NODE_GITDIR;
		hidden += plan->nodes[i].access == AB_ACCESS_NONE;
		writable += plan->nodes[i].access == AB_ACCESS_WRITE && plan->nodes[i].exists;
	}
	if (c->backend == AB_BACKEND_LANDLOCK) {
		sbuf_addf(b, "\"posture\":{\"filesystem\":\"%s\",\"writable_roots\":%zu,\"hidden_paths\":%zu,"
			     "\"protected_paths\":%zu,\"network\":\"%s\",\"seccomp\":\"%s\",\"no_new_privs\":true,"
			     "\"namespaces\":[],\"proc\":\"host\",\"new_session\":true,\"capabilities\":\"none\"",
			  plan->root_writable ? "full-write" : plan->root_readable ? "read-only-root" : "restricted-read",
			  writable, hidden, protected_n, ab_net_name(plan->net),
			  seccomp_mode_name(plan->net));
		landlock_append_posture_json(b, &c->ll);
		self_check_append_json(self, b);
		sbuf_add(b, "}");
		return;
	}
	bool builtin = c->backend == AB_BACKEND_BUILTIN;
	sbuf_addf(b, "\"posture\":{\"filesystem\":\"%s\",\"filesystem_exact\":true,\"writable_roots\":%zu,\"hidden_paths\":%zu,"
		     "\"protected_paths\":%zu,\"network\":\"%s\",\"seccomp\":\"%s\",\"no_new_privs\":true,"
		     "\"namespaces\":[\"user\",\"mount\",\"pid\"%s%s%s],\"proc\":%s,\"new_session\":true,"
		     "\"capabilities\":\"none\"",
		  plan->root_writable ? "full-write" : plan->root_readable ? "read-only-root" : "restricted-read",
		  writable, hidden, protected_n, ab_net_name(plan->net),
		  seccomp_mode_name(plan->net),
		  builtin || c->bw.unshare_ipc ? ",\"ipc\"" : "", builtin ? ",\"uts\"" : "",
		  plan->net != AB_NET_FULL ? ",\"net\"" : "",
		  plan->mount_proc ? "true" : "false");
	if (plan->net == AB_NET_PROXY)
		append_proxy_posture(b, o);
	self_check_append_json(self, b);
	sbuf_add(b, "}");
}

static void emit_start(const struct events *ev, const ab_run_options *o, const struct plan *plan,
		       const struct choice *c, const struct self_check *self,
		       char *const argv[], const char *retry)
{
	sbuf b = {0};
	sbuf_addf(&b, "{\"event\":\"start\",\"backend\":\"%s\",\"backend_reason\":",
		  ab_backend_name(c->backend));
	sbuf_add_json_string(&b, c->reason);
	sbuf_add(&b, ",");
	if (c->backend == AB_BACKEND_BWRAP) {
		sbuf_add(&b, "\"bwrap\":{\"path\":");
		sbuf_add_json_string(&b, c->bw.path);
		sbuf_add(&b, ",\"version\":");
		sbuf_add_json_string(&b, c->bw.version);
		sbuf_add(&b, "},");
	}
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
	if (retry) {
		sbuf_add(&b, ",\"retry\":");
		sbuf_add_json_string(&b, retry);
	}
	sbuf_add(&b, "}");
	events_emit(ev, b.s);
	sbuf_free(&b);
}

static void emit_exit(const struct events *ev, int status, bool timed_out, double ms)
{
	char buf[256];
	char sig[16] = "null";
	if (status > 128 && status < 128 + 65 && !timed_out)
		snprintf(sig, sizeof(sig), "%d", status - 128);
	snprintf(buf, sizeof(buf),
		 "{\"event\":\"exit\",\"status\":%d,\"signal\":%s,\"timed_out\":%s,\"duration_ms\":%.3f}",
		 status, sig, timed_out ? "true" : "false", ms);
	events_emit_closing(ev, buf);
}

static int setup_bwrap(const struct plan *plan, const char *state_dir, bool refresh,
		       struct bwrap_info *bw, ab_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = bwrap_locate(plan, &path, err);
	if (r < 0)
		return r;
	return bwrap_probe(path, state_dir, refresh, bw, err);
}

static void warn_proc_retry(const struct events *ev, struct plan *plan)
{
	events_warning(ev, "proc_retry", "/proc",
		       plan->root_readable
			       ? "this host does not allow mounting a fresh /proc (a container or another sandbox?); running without one, so the command sees the outer /proc read-only"
			       : "this host does not allow mounting a fresh /proc (a container or another sandbox?); running without /proc");
	plan->mount_proc = false;
}

/* One backend, with its retries. A retry changes the posture (no /proc)
 * or only the probe; each attempt announces what it builds, so the last
 * start event is the posture in effect. */
static int run_with(struct choice *c, struct supervise_request *req, struct plan *plan,
		    int *exit_status, enum builtin_failure *failure, ab_error *err)
{
	const char *retry = NULL;
	int r = 0;
	*failure = BUILTIN_FAIL_REFUSE;
	for (int attempt = 0; attempt < 3; attempt++) {
		emit_start(req->ev, req->opts, plan, c, req->self, req->command, retry);
		req->bwrap = &c->bw;
		if (c->backend == AB_BACKEND_LANDLOCK) {
			req->landlock = &c->ll;
			r = supervise_landlock(req, exit_status, err);
		} else if (c->backend == AB_BACKEND_BUILTIN)
			r = supervise_builtin(req, exit_status, failure, err);
		else
			r = supervise_bwrap(req, exit_status, err);
		if (r == SUPERVISE_RETRY_NO_PROC) {
			warn_proc_retry(req->ev, plan);
			retry = "no-proc";
			continue;
		}
		if (r == SUPERVISE_RETRY_PROBE) {
			bwrap_info_free(&c->bw);
			r = setup_bwrap(plan, req->state_dir, true, &c->bw, err);
			if (r < 0)
				return r;
			retry = "probe";
			continue;
		}
		break;
	}
	if (r > 0)
		r = ab_fail(err, EIO, "the %s backend kept failing in a way agentbox could not recover from",
			    ab_backend_name(c->backend));
	return r;
}

static char *first_line(const char *text)
{
	return xstrndup(text, strcspn(text, "\n"));
}

/* Why auto uses bwrap: the first line of the built-in engine's error. */
static char *fallback_reason(const char *builtin_error)
{
	_cleanup_free_ char *line = first_line(builtin_error);
	return xasprintf("auto: the built-in engine cannot run here (%s)", line);
}

/* bwrap stopped before the command because this host refuses the
 * namespaces it needs (not because the plan is wrong): auto may go on. */
static bool bwrap_host_refused(const char *msg)
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

/* auto's way down the chain: each step records why the previous one could
 * not run, as a warning event and in the next start event's reason. */
struct fallback {
	const struct events *ev;
	sbuf chain;
};

static void fall_back(struct fallback *fb, const char *from, const char *to, const char *why)
{
	_cleanup_free_ char *line = first_line(why);
	_cleanup_free_ char *msg = xasprintf("the %s backend cannot run here (%s); falling back to %s",
					     from, line, to);
	events_warning(fb->ev, "backend_fallback", NULL, msg);
	sbuf_addf(&fb->chain, "%s%s: %s", fb->chain.len ? "; " : "", from, line);
}

static char *chain_reason(struct fallback *fb, const char *what)
{
	return xasprintf("auto: %s (%s)", what, fb->chain.s);
}

/* Whether auto may try `b` at all: a backend that cannot give what
 * --require demands is skipped, and says so. */
static bool auto_may_try(const ab_run_options *o, const struct plan *plan, ab_backend b,
			 struct fallback *fb, const char *next)
{
	struct choice probe = {.backend = b};
	probe.ll.feat.scoped = LL_SCOPE_ABSTRACT_UNIX; /* decided later, from the ABI */
	if (b == AB_BACKEND_LANDLOCK)
		return true;
	ab_error e;
	if (check_require(o, plan, &probe, &e) == 0)
		return true;
	fall_back(fb, ab_backend_name(b), next, e.message);
	return false;
}

static int try_builtin(struct choice *c, struct supervise_request *req, struct plan *plan,
		       int *exit_status, bool *next, struct fallback *fb, ab_error *err)
{
	const ab_run_options *o = req->opts;
	enum builtin_failure failure = BUILTIN_FAIL_REFUSE;
	c->backend = AB_BACKEND_BUILTIN;
	c->reason = xstrdup(o->backend == AB_BACKEND_BUILTIN ? "requested" : "auto: built-in engine first");
	int r = check_require(o, plan, c, err);
	if (r == 0)
		r = run_with(c, req, plan, exit_status, &failure, err);
	choice_free(c);
	/* Only a host that refuses the namespaces falls back; a plan the
	 * engine refused (a symlink race, a fake /dev/null) would be just as
	 * unsafe with bwrap. */
	*next = r < 0 && o->backend == AB_BACKEND_AUTO && failure == BUILTIN_FAIL_HOST;
	if (*next)
		fall_back(fb, "builtin", "bubblewrap", err->message);
	return r;
}

static int try_bwrap(struct choice *c, struct supervise_request *req, struct plan *plan,
		     int *exit_status, bool *next, struct fallback *fb, ab_error *err)
{
	const ab_run_options *o = req->opts;
	enum builtin_failure failure;
	bool is_auto = o->backend == AB_BACKEND_AUTO;
	c->backend = AB_BACKEND_BWRAP;
	c->reason = is_auto ? chain_reason(fb, "bubblewrap") : xstrdup("requested");
	int r = check_require(o, plan, c, err);
	bool started = false;
	if (r == 0)
		r = setup_bwrap(plan, req->state_dir, false, &c->bw, err);
	if (r == 0) {
		started = true;
		r = run_with(c, req, plan, exit_status, &failure, err);
	}
	choice_free(c);
	/* A bwrap that is missing, or that the host stops before the command
	 * starts, is the host's failure; anything else fails closed. */
	*next = r < 0 && is_auto && (!started || bwrap_host_refused(err->message));
	if (*next)
		fall_back(fb, "bwrap", "landlock", err->message);
	return r;
}

static int try_landlock(struct choice *c, struct supervise_request *req, struct plan *plan,
			int *exit_status, struct fallback *fb, ab_error *err)
{
	const ab_run_options *o = req->opts;
	enum builtin_failure failure;
	c->backend = AB_BACKEND_LANDLOCK;
	c->reason = o->backend == AB_BACKEND_AUTO ? chain_reason(fb, "Landlock, no namespaces")
						  : xstrdup("requested");
	int r = landlock_prepare(plan, o->exact, true, &c->ll, err);
	if (r == 0)
		r = check_require(o, plan, c, err);
	if (r == 0)
		r = run_with(c, req, plan, exit_status, &failure, err);
	choice_free(c);
	return r;
}

static int run_events(const ab_policy *p, const ab_run_options *o, char *const argv[],
		      int *exit_status, struct events *evp, ab_error *err)
{
	double t0 = monotonic_ms();
	struct events ev = *evp;
	if (!argv || !argv[0])
		return ab_fail(err, EINVAL, "no command given; usage: agentbox run [OPTIONS] -- COMMAND [ARG...]");
	if (o->backend != AB_BACKEND_AUTO && o->backend != AB_BACKEND_BWRAP &&
	    o->backend != AB_BACKEND_BUILTIN && o->backend != AB_BACKEND_LANDLOCK)
		return ab_fail(err, EINVAL, "unknown backend %d", (int)o->backend);
	struct run_facts f;
	int r = gather(o, &f, &ev, err);
	if (r < 0)
		return r;

	struct plan plan;
	r = resolve(p, o, &f, &plan, err);
	if (r < 0) {
		plan_free(&plan);
		facts_free(&f);
		return r;
	}
	for (size_t i = 0; i < plan.n_warnings; i++)
		events_warning(&ev, plan.warnings[i].code, plan.warnings[i].path, plan.warnings[i].message);

	/* Before any backend: a sandbox that can replace agentbox would
	 * disarm every later run, whichever backend builds this one. */
	struct self_check self;
	self_check_run(&plan, f.self_exe, o->allow_writable_self, &self);
	if (self.verdict == SELF_REFUSED) {
		r = self_check_refusal(&self, err);
		self_check_free(&self);
		plan_free(&plan);
		facts_free(&f);
		return r;
	}
	if (self.verdict == SELF_ACCEPTED) {
		_cleanup_free_ char *msg = self_check_warning(&self);
		events_warning(&ev, "writable_self", self.writable ? self.writable : self.file, msg);
	}

	struct supervise_request req = {
		.plan = &plan, .state_dir = f.state_dir, .self_path = f.self_exe,
		.command = argv, .opts = o, .ev = &ev, .self = &self,
	};
	struct choice c = {0};
	struct fallback fb = {.ev = &ev};
	bool is_auto = o->backend == AB_BACKEND_AUTO, next = is_auto;
	r = -EAGAIN;
	if (o->backend == AB_BACKEND_BUILTIN ||
	    (is_auto && auto_may_try(o, &plan, AB_BACKEND_BUILTIN, &fb, "bubblewrap")))
		r = try_builtin(&c, &req, &plan, exit_status, &next, &fb, err);
	if (o->backend == AB_BACKEND_BWRAP ||
	    (next && auto_may_try(o, &plan, AB_BACKEND_BWRAP, &fb, "landlock")))
		r = try_bwrap(&c, &req, &plan, exit_status, &next, &fb, err);
	if (o->backend == AB_BACKEND_LANDLOCK || next) {
		r = try_landlock(&c, &req, &plan, exit_status, &fb, err);
		if (r < 0 && is_auto)
			ab_error_hint(err, "no backend could run; before Landlock: %s", fb.chain.s);
	}
	sbuf_free(&fb.chain);
	if (r == 0)
		emit_exit(&ev, *exit_status, *exit_status == AB_EXIT_TIMEOUT && o->timeout_sec > 0,
			  monotonic_ms() - t0);
	self_check_free(&self);
	plan_free(&plan);
	facts_free(&f);
	return r;
}

int ab_run(const ab_policy *p, const ab_run_options *o, char *const argv[],
	   int *exit_status, ab_error *err)
{
	struct events ev;
	events_init(&ev, o);
	int r = run_events(p, o, argv, exit_status, &ev, err);
	/* after the exit event: what the events reader missed, if anything */
	events_close(&ev);
	return r;
}

/* For explain: what `run` would pick, decided the same way but with a
 * throwaway namespace check instead of the real run (so a bwrap that the
 * host would stop is not detected here). */
static void choose_for_explain(const ab_run_options *o, const struct plan *plan,
			       const char *state_dir, struct choice *c, bool *usable,
			       ab_error *berr)
{
	*usable = false;
	ab_error cerr = {0};
	if (o->backend == AB_BACKEND_BUILTIN) {
		c->backend = AB_BACKEND_BUILTIN;
		c->reason = xstrdup("requested");
		*usable = true;
		return;
	}
	if (o->backend == AB_BACKEND_AUTO) {
		if (builtin_check(plan->net, &cerr) == 0) {
			c->backend = AB_BACKEND_BUILTIN;
			c->reason = xstrdup("auto: this host lets agentbox create the namespaces it needs");
			*usable = true;
			return;
		}
	}
	if (o->backend != AB_BACKEND_LANDLOCK) {
		c->backend = AB_BACKEND_BWRAP;
		c->reason = o->backend == AB_BACKEND_AUTO ? fallback_reason(cerr.message) : xstrdup("requested");
		*usable = setup_bwrap(plan, state_dir, false, &c->bw, berr) == 0;
		if (*usable || o->backend == AB_BACKEND_BWRAP)
			return;
		_cleanup_free_ char *b1 = first_line(cerr.message), *b2 = first_line(berr->message);
		free(c->reason);
		bwrap_info_free(&c->bw);
		c->reason = xasprintf("auto: Landlock, no namespaces (builtin: %s; bwrap: %s)", b1, b2);
	} else {
		c->reason = xstrdup("requested");
	}
	c->backend = AB_BACKEND_LANDLOCK;
	*usable = landlock_prepare(plan, false, false, &c->ll, berr) == 0;
}

static void explain_json(const struct plan *plan, const ab_run_options *o, const struct choice *c,
			 const struct self_check *self, bool usable,
			 const struct bwrap_cmd *cmd, const ab_error *berr, FILE *out)
{
	sbuf b = {0};
	sbuf_add(&b, "{");
	plan_append_json(plan, &b);
	sbuf_addf(&b, ",\"backend\":{\"name\":\"%s\",\"reason\":", ab_backend_name(c->backend));
	sbuf_add_json_string(&b, c->reason);
	if (c->backend == AB_BACKEND_BWRAP && usable) {
		sbuf_add(&b, ",\"path\":");
		sbuf_add_json_string(&b, c->bw.path);
		sbuf_add(&b, ",\"version\":");
		sbuf_add_json_string(&b, c->bw.version);
		sbuf_add(&b, ",\"argv\":[");
		for (size_t i = 0; i < cmd->argv.n; i++) {
			if (i)
				sbuf_add(&b, ",");
			sbuf_add_json_string(&b, cmd->argv.v[i]);
		}
		sbuf_add(&b, "]");
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
	sbuf_add(&b, "}\n");
	fputs(b.s, out);
	sbuf_free(&b);
}

static void explain_text(const struct plan *plan, const struct choice *c,
			 const struct self_check *self, bool usable,
			 const struct bwrap_cmd *cmd, const ab_error *berr, FILE *out)
{
	plan_print_table(plan, usable && c->backend == AB_BACKEND_LANDLOCK, out);
	fputc('\n', out);
	self_check_print(self, out);
	const char *name = ab_backend_name(c->backend);
	if (!usable) {
		fprintf(out, "\nbackend: %s unavailable: %s\n(%s)\n", name, berr->message, c->reason);
		return;
	}
	switch (c->backend) {
	case AB_BACKEND_BWRAP: {
		sbuf b = {0};
		for (size_t i = 0; i < cmd->argv.n; i++) {
			if (i)
				sbuf_add(&b, " ");
			sbuf_add_shell_word(&b, cmd->argv.v[i]);
		}
		fprintf(out, "\nbackend: bwrap %s (%s) (%s)\ncommand line (fds 3.. are set up by agentbox):\n%s\n",
			c->bw.version, c->bw.path, c->reason, b.s);
		sbuf_free(&b);
		break;
	}
	case AB_BACKEND_LANDLOCK:
		fprintf(out, "\nbackend: landlock (%s)\n"
			     "no namespaces: the operations above are not mounted; Landlock rules enforce them\n",
			c->reason);
		landlock_print_posture(&c->ll, out);
		return;
	default:
		fprintf(out, "\nbackend: builtin (%s)\n"
			     "the built-in engine performs the operations above itself, in order\n",
			c->reason);
		break;
	}
	fprintf(out, "filesystem: exact (namespaces: user, mount, pid%s)\n",
		plan->net == AB_NET_NONE ? ", net" : "");
}

static int explain_events(const ab_policy *p, const ab_run_options *o, char *const argv[],
			  bool json, FILE *out, const struct events *evp, ab_error *err)
{
	struct events ev = *evp;
	struct run_facts f;
	int r = gather(o, &f, &ev, err);
	if (r < 0)
		return r;
	struct plan plan;
	r = resolve(p, o, &f, &plan, err);
	if (r < 0) {
		plan_free(&plan);
		facts_free(&f);
		return r;
	}
	static char placeholder_cmd[] = "COMMAND";
	static char *const default_cmd[] = {placeholder_cmd, NULL};
	char *const *command = argv && argv[0] ? argv : default_cmd;
	struct choice c = {0};
	ab_error berr = {0};
	struct bwrap_cmd cmd = {0};
	bool usable;
	struct self_check self;
	self_check_run(&plan, f.self_exe, o->allow_writable_self, &self);
	choose_for_explain(o, &plan, f.state_dir, &c, &usable, &berr);
	if (usable && c.backend == AB_BACKEND_BWRAP) {
		struct bwrap_build_opts bo = {
			.command = command, .self_path = f.self_exe,
			.status_fd = true, .stderr_fd = true,
		};
		usable = bwrap_build(&plan, &c.bw, &bo, &cmd, &berr) == 0;
	}
	if (json)
		explain_json(&plan, o, &c, &self, usable, &cmd, &berr, out);
	else
		explain_text(&plan, &c, &self, usable, &cmd, &berr, out);
	self_check_free(&self);
	bwrap_cmd_free(&cmd);
	choice_free(&c);
	plan_free(&plan);
	facts_free(&f);
	return 0;
}

int ab_explain(const ab_policy *p, const ab_run_options *o, char *const argv[], bool json,
	       FILE *out, ab_error *err)
{
	struct events ev;
	ab_run_options quiet = *o;
	quiet.quiet = true;
	events_init(&ev, &quiet);
	int r = explain_events(p, o, argv, json, out, &ev, err);
	events_close(&ev);
	return r;
}
