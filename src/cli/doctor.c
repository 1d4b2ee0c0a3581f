/* agentbox doctor: runs every host probe (src/host/) and prints one item
 * per check: name, state, value and, when the state is not ok, a one-line
 * fix. The exit status says how strong a sandbox this host allows. */
#include "cli/doctor.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentbox.h"
#include "backend/backend.h"
#include "backend/builtin/builtin.h"
#include "common/error.h"
#include "common/util.h"
#include "host/host.h"

enum state { ST_OK, ST_WARN, ST_FAIL, ST_INFO };
static const char *const state_names[] = {"ok", "warn", "fail", "info"};

struct item {
	const char *name;
	enum state state;
	char *value;
	char *fix; /* NULL when there is nothing to do */
};

struct report {
	struct item *items;
	size_t n, cap;
};

/* Takes ownership of value and fix. */
static void add(struct report *r, const char *name, enum state st, char *value, char *fix)
{
	grow_array((void **)&r->items, &r->cap, r->n + 1, sizeof(*r->items));
	r->items[r->n++] = (struct item){.name = name, .state = st, .value = value, .fix = fix};
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].value);
		free(r->items[i].fix);
	}
	free(r->items);
}

const struct backend *doctor_auto_choice(bool builtin_ok, bool bwrap_ok, int landlock_abi)
{
	for (size_t i = 0; backend_auto_order[i]; i++) {
		const struct backend *b = backend_auto_order[i];
		bool ok = b->id == AB_BACKEND_BUILTIN ? builtin_ok
			  : b->id == AB_BACKEND_BWRAP ? bwrap_ok
						      : landlock_abi > 0;
		if (ok)
			return b;
	}
	return NULL;
}

static const char *backend_name(const struct backend *b)
{
	return b ? b->name : "none";
}

/* Everything the probes found. */
struct probes {
	char *self_exe;
	struct host_kernel kernel;
	struct host_userns userns;
	struct host_cause userns_cause;
	int builtin_r;
	ab_error builtin_err;
	struct host_proc proc;
	struct host_seccomp seccomp;
	struct host_landlock landlock;
	struct host_env env;
	struct host_bwrap bwrap;
};

static void probe_all(struct probes *p)
{
	memset(p, 0, sizeof(*p));
	p->self_exe = realpath("/proc/self/exe", NULL);
	host_kernel_probe(&p->kernel);
	host_userns_probe(&p->userns, p->self_exe);
	host_userns_explain(&p->userns.f, &p->userns_cause);
	/* The engine's own check, exactly as `run` and `explain` see it. */
	p->builtin_r = builtin_check(AB_NET_NONE, &p->builtin_err);
	host_proc_probe(&p->proc);
	host_seccomp_probe(&p->seccomp);
	host_landlock_probe(&p->landlock);
	host_env_probe(&p->env);
	host_bwrap_probe(&p->bwrap);
}

static void probes_free(struct probes *p)
{
	free(p->self_exe);
	host_cause_free(&p->userns_cause);
	host_proc_free(&p->proc);
	host_env_free(&p->env);
	host_bwrap_free(&p->bwrap);
}

static char *first_line(const char *text)
{
	return xstrndup(text, strcspn(text, "\n"));
}

static void add_kernel(struct report *r, const struct probes *p)
{
	const struct host_kernel *k = &p->kernel;
	if (k->major < 0) {
		add(r, "kernel", ST_WARN, xasprintf("cannot parse the release '%s'", k->release),
		    xstrdup("none; the other items say what works"));
	} else if (!host_kernel_at_least(k, 5, 13)) {
		add(r, "kernel", ST_WARN, xasprintf("%s (%d.%d)", k->release, k->major, k->minor),
		    xstrdup("Landlock needs Linux 5.13+ and the new mount API 5.2+; upgrade for the full set"));
	} else {
		add(r, "kernel", ST_OK, xasprintf("%s (%d.%d)", k->release, k->major, k->minor), NULL);
	}
}

static void add_userns(struct report *r, const struct probes *p)
{
	const struct host_userns_facts *f = &p->userns.f;
	if (f->step == HOST_STEP_OK) {
		add(r, "user namespaces", ST_OK,
		    xasprintf("created a user and mount namespace as uid %u, mapped it, mounted a tmpfs",
			      (unsigned)f->euid),
		    NULL);
	} else {
		add(r, "user namespaces", ST_FAIL,
		    xasprintf("%s failed: %s; cause: %s", host_step_name(f->step), strerror(f->err),
			      p->userns_cause.cause),
		    xstrdup(p->userns_cause.fix));
	}

	char maxu[32] = "unknown";
	if (f->max_user_namespaces >= 0)
		snprintf(maxu, sizeof(maxu), "%ld", f->max_user_namespaces);
	char unpriv[32] = "absent", aa[32] = "absent";
	if (f->unprivileged_clone >= 0)
		snprintf(unpriv, sizeof(unpriv), "%ld", f->unprivileged_clone);
	if (f->apparmor_restrict >= 0)
		snprintf(aa, sizeof(aa), "%ld", f->apparmor_restrict);
	add(r, "userns sysctls", ST_INFO,
	    xasprintf("user.max_user_namespaces=%s, kernel.unprivileged_userns_clone=%s, "
		      "kernel.apparmor_restrict_unprivileged_userns=%s%s",
		      maxu, unpriv, aa,
		      f->bwrap_apparmor_profile ? ", /etc/apparmor.d/bwrap-userns-restrict exists" : ""),
	    NULL);

	if (f->step != HOST_STEP_OK) {
		add(r, "other namespaces", ST_INFO, xstrdup("not tried: no user namespace"), NULL);
	} else {
		sbuf ok = {0}, bad = {0};
		char *fix = NULL;
		for (int i = 0; i < HOST_N_OTHER_NS; i++) {
			const struct host_other_ns *ns = &p->userns.ns[i];
			if (ns->err == 0) {
				sbuf_addf(&ok, "%s%s", ok.len ? ", " : "", ns->name);
				continue;
			}
			struct host_cause c;
			host_ns_explain(ns, &c);
			sbuf_addf(&bad, "%s%s refused: %s (%s)", bad.len ? "; " : "", ns->name,
				  strerror(ns->err), c.cause ? c.cause : "");
			if (!fix && c.fix)
				fix = xstrdup(c.fix);
			host_cause_free(&c);
		}
		if (!bad.len)
			add(r, "other namespaces", ST_OK, xasprintf("%s", ok.s), NULL);
		else
			add(r, "other namespaces", ST_FAIL, xasprintf("%s%s%s", bad.s, ok.len ? "; granted: " : "",
								     ok.len ? ok.s : ""), fix);
		sbuf_free(&ok);
		sbuf_free(&bad);
	}

	if (p->builtin_r == 0) {
		add(r, "builtin engine", ST_OK, xstrdup("can start: every namespace it needs, id maps, mounts"), NULL);
	} else {
		_cleanup_free_ char *line = first_line(p->builtin_err.message);
		const char *fix = p->userns_cause.fix;
		if (!fix)
			fix = "see the namespace items above; `agentbox explain` shows the engine's full error";
		add(r, "builtin engine", ST_FAIL, xasprintf("cannot start: %s", line), xstrdup(fix));
	}
}

static void add_proc(struct report *r, const struct probes *p)
{
	if (p->proc.step == HOST_STEP_OK) {
		add(r, "/proc", ST_OK, xstrdup("a fresh /proc can be mounted in a new PID namespace"), NULL);
		return;
	}
	if (p->proc.step != HOST_STEP_MOUNT_PROC && p->proc.step != HOST_STEP_FORK_INSIDE &&
	    p->proc.step != HOST_STEP_FORK) {
		add(r, "/proc", ST_INFO, xstrdup("not tried: no user namespace"), NULL);
		return;
	}
	struct host_cause c;
	host_proc_explain(&p->proc, &c);
	add(r, "/proc", ST_WARN,
	    xasprintf("%s failed: %s; cause: %s", host_step_name(p->proc.step), strerror(p->proc.err), c.cause),
	    c.fix);
	free(c.cause);
}

static void add_seccomp(struct report *r, const struct probes *p)
{
	const struct host_seccomp *s = &p->seccomp;
	const struct host_status *st = &p->userns.f.status;
	_cleanup_free_ char *own = NULL;
	if (s->mode != 2)
		own = xstrdup("no filter on agentbox itself");
	else if (st->seccomp_filters > 0)
		own = xasprintf("%d filter%s already on agentbox itself", st->seccomp_filters,
				st->seccomp_filters == 1 ? "" : "s");
	else
		own = xstrdup("a filter is already on agentbox itself");
	if (s->load_err == 0) {
		add(r, "seccomp", ST_OK, xasprintf("filters can be loaded; %s", own), NULL);
		return;
	}
	struct host_cause c;
	host_seccomp_explain(s, &c);
	add(r, "seccomp", ST_FAIL, xasprintf("loading a filter failed: %s; cause: %s; %s", strerror(s->load_err),
					     c.cause, own),
	    c.fix);
	free(c.cause);
}

static void add_landlock(struct report *r, const struct probes *p)
{
	if (p->landlock.abi > 0) {
		_cleanup_free_ char *feat = host_landlock_features(p->landlock.abi);
		add(r, "landlock", ST_OK, xasprintf("ABI %d: %s", p->landlock.abi, feat), NULL);
		return;
	}
	struct host_cause c;
	host_landlock_explain(p->landlock.err, &c);
	add(r, "landlock", ST_WARN, xasprintf("unavailable (%s): %s", strerror(p->landlock.err), c.cause), c.fix);
	free(c.cause);
}

static void add_env(struct report *r, const struct probes *p)
{
	const struct host_env *e = &p->env;
	const struct host_status *st = &p->userns.f.status;
	bool sys_admin = host_has_cap(st, CAP_SYS_ADMIN);
	add(r, "identity", ST_INFO,
	    xasprintf("uid %u, CapEff %016llx (CAP_SYS_ADMIN %s)%s%s", (unsigned)geteuid(),
		      (unsigned long long)st->cap_eff, sys_admin ? "yes" : "no",
		      p->userns.f.lsm_label[0] ? ", security label " : "", p->userns.f.lsm_label),
	    NULL);
	if (e->container)
		add(r, "container", ST_INFO, xasprintf("%s (%s)", e->container, e->container_evidence), NULL);
	else
		add(r, "container", ST_INFO, xstrdup("none found"), NULL);
	if (e->package && strcmp(e->package, "snap") == 0)
		add(r, "snap/flatpak", ST_WARN, xasprintf("snap (%s)", e->package_evidence),
		    xstrdup("a strictly confined snap may not create namespaces; install agentbox outside the snap"));
	else if (e->package)
		add(r, "snap/flatpak", ST_WARN, xasprintf("flatpak (%s)", e->package_evidence),
		    xstrdup("flatpak's sandbox refuses nested user namespaces; run agentbox on the host "
			    "(flatpak-spawn --host agentbox ...)"));
	else
		add(r, "snap/flatpak", ST_INFO, xstrdup("no"), NULL);
	add(r, "nested sandbox", ST_INFO, xstrdup(e->nested ? e->nested : "none found"), NULL);
	if (e->wsl == 1)
		add(r, "wsl", ST_WARN, xstrdup("WSL 1: no user namespaces"),
		    xstrdup("convert the distribution to WSL 2: `wsl --set-version <distro> 2`"));
	else
		add(r, "wsl", ST_INFO, xstrdup(e->wsl == 2 ? "WSL 2" : "no"), NULL);
}

static void add_bwrap(struct report *r, const struct probes *p)
{
	const struct host_bwrap *b = &p->bwrap;
	if (!b->found) {
		const char *fix = strstr(b->locate_error, "\nfix: ");
		_cleanup_free_ char *line = first_line(b->locate_error);
		add(r, "bwrap", ST_WARN, xasprintf("missing: %s", line),
		    xstrdup(fix ? fix + 6 : "install bubblewrap, e.g. `sudo apt-get install bubblewrap`"));
		return;
	}
	const struct bwrap_info *i = &b->info;
	static const char *const names[] = {"--argv0", "--perms", "--ro-bind-data", "--as-pid-1",
					    "--json-status-fd", "--info-fd", "--sync-fd", "--cap-drop",
					    "--unshare-ipc"};
	bool has[] = {i->argv0, i->perms, i->ro_bind_data, i->as_pid_1, i->json_status_fd,
		      i->info_fd, i->sync_fd, i->cap_drop, i->unshare_ipc};
	sbuf with = {0}, without = {0};
	for (size_t k = 0; k < sizeof(has) / sizeof(has[0]); k++) {
		sbuf *s = has[k] ? &with : &without;
		sbuf_addf(s, "%s%s", s->len ? " " : "", names[k]);
	}
	_cleanup_free_ char *desc = xasprintf("%s %s; has: %s; lacks: %s", i->path,
					      i->version[0] ? i->version : "(version unknown)",
					      with.len ? with.s : "none", without.len ? without.s : "none");
	sbuf_free(&with);
	sbuf_free(&without);
	if (b->ran) {
		add(r, "bwrap", ST_OK, xasprintf("%s; a trial sandbox ran", desc), NULL);
		return;
	}
	const char *fix = p->userns.f.step != HOST_STEP_OK && p->userns_cause.fix
				  ? p->userns_cause.fix
				  : "bwrap needs the same user namespaces as the built-in engine (unless setuid); "
				    "see the user namespaces item";
	add(r, "bwrap", ST_WARN, xasprintf("%s; a trial sandbox failed: %s", desc, b->run_error), xstrdup(fix));
}

/* On a host where Landlock is all that is left: what a user of
 * `agentbox run` will run into, so that a "Permission denied" in the
 * workspace or a refused --net proxy has a cause they have read, and how
 * to get the namespace backends back (the user namespaces item's fix). */
static void add_landlock_only(struct report *r, const struct probes *p)
{
	const char *fix = p->userns.f.step != HOST_STEP_OK && p->userns_cause.fix
				  ? p->userns_cause.fix
				  : "allow unprivileged user namespaces for agentbox (see the user namespaces item)";
	add(r, "landlock only", ST_WARN,
	    xstrdup("what you will notice: nothing can be created, removed or renamed directly in a "
		    "writable root that holds .git or another protected name (git clone, python3 -m venv, "
		    "editors' atomic saves and sed -i fail there with Permission denied; subdirectories "
		    "and $TMPDIR work); no network proxy (--net proxy is refused: use --net none or full); "
		    "no local servers under --net none (no loopback of its own: IP sockets and unix "
		    "connect/listen are refused, --allow-unix too); under --net full the socket never-list "
		    "(docker.sock, the session bus, ssh-agent) is not hidden; "
		    "no PID namespace (the command sees the host's processes; unless your cgroup v2 is "
		    "delegated to you, setsid and setpgid are refused so that nothing escapes the run: "
		    "setsid CMD and daemons fail, shells run without job control); System V IPC is refused; "
		    "no new pseudo-terminals; --exact refuses such plans; each narrowed run says so in "
		    "one line on stderr"),
	    xasprintf("for the full posture: %s", fix));
}

static char *posture(const struct backend *b, const struct probes *p)
{
	const char *proc = p->proc.step == HOST_STEP_OK ? "a fresh /proc" : "the outer /proc read-only (no fresh one here)";
	switch (b ? b->id : AB_BACKEND_AUTO) {
	case AB_BACKEND_BUILTIN:
		return xasprintf("full: user, mount, pid, ipc, uts and (with --net none or proxy) net namespaces; "
				 "seccomp filter; no_new_privs; no capabilities; %s", proc);
	case AB_BACKEND_BWRAP:
		return xasprintf("full: user, mount, pid%s and (with --net none or proxy) net namespaces through bwrap %s; "
				 "seccomp filter; no_new_privs; no capabilities; %s",
				 p->bwrap.info.unshare_ipc ? ", ipc" : "", p->bwrap.info.version, proc);
	case AB_BACKEND_LANDLOCK:
		return xasprintf("weaker: no namespaces; filesystem rules by Landlock ABI %d; seccomp filter; "
				 "no_new_privs; other processes and the host /proc stay visible; --net proxy refused "
				 "(it needs a network namespace); no loopback servers or unix connect under --net none; "
				 "the socket never-list not enforced under --net full; System V IPC refused; the host's /dev and other "
				 "terminals out of reach; creating directly in a workspace root holding .git refused%s",
				 p->landlock.abi,
				 p->landlock.abi < 6 ? "; abstract unix sockets outside are not refused (ABI 6)" : "");
	case AB_BACKEND_AUTO:
		break;
	}
	return xstrdup("none: no backend can run here, so `agentbox run` fails closed");
}

static void print_text(const struct report *r, const char *auto_name, const char *post, bool full,
		       int status, FILE *out)
{
	size_t w = strlen("ITEM");
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->items[i].name) > w)
			w = strlen(r->items[i].name);
	fprintf(out, "%-*s  %-5s  %s\n", (int)w, "ITEM", "STATE", "VALUE");
	for (size_t i = 0; i < r->n; i++) {
		const struct item *it = &r->items[i];
		fprintf(out, "%-*s  %-5s  %s\n", (int)w, it->name, state_names[it->state], it->value);
		if (it->fix)
			fprintf(out, "%-*s  %-5s  fix: %s\n", (int)w, "", "", it->fix);
	}
	fprintf(out, "\nauto backend: %s\nposture: %s\nfull-strength sandbox: %s (exit %d)\n", auto_name, post,
		full ? "yes" : "no", status);
}

static void print_json(const struct report *r, const char *auto_name, const char *post, bool full,
		       FILE *out)
{
	sbuf b = {0};
	sbuf_add(&b, "{\"items\":[");
	for (size_t i = 0; i < r->n; i++) {
		const struct item *it = &r->items[i];
		sbuf_add(&b, i ? ",{\"name\":" : "{\"name\":");
		sbuf_add_json_string(&b, it->name);
		sbuf_addf(&b, ",\"state\":\"%s\",\"value\":", state_names[it->state]);
		sbuf_add_json_string(&b, it->value);
		sbuf_add(&b, ",\"fix\":");
		sbuf_add_json_string_or_null(&b, it->fix);
		sbuf_add(&b, "}");
	}
	sbuf_addf(&b, "],\"auto_backend\":\"%s\",\"posture\":", auto_name);
	sbuf_add_json_string(&b, post);
	sbuf_addf(&b, ",\"full_strength\":%s}\n", full ? "true" : "false");
	fputs(b.s, out);
	sbuf_free(&b);
}

static void usage(FILE *out)
{
	fputs("usage: agentbox doctor [--json]\n"
	      "Checks whether this host lets agentbox build a sandbox, and why not.\n"
	      "exit status: 0 a full-strength (namespace) sandbox is available; 1 only a\n"
	      "weaker one (Landlock, no namespaces); 2 none; 125 doctor itself failed.\n",
	      out);
}

int doctor_main(char **args)
{
	bool json = false;
	for (size_t i = 0; args && args[i]; i++) {
		if (strcmp(args[i], "--json") == 0) {
			json = true;
		} else if (strcmp(args[i], "--help") == 0 || strcmp(args[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "agentbox: doctor: unknown option '%s' (use --json)\n", args[i]);
			return AB_EXIT_FAILURE;
		}
	}
	struct probes p;
	probe_all(&p);
	struct report r = {0};
	add_kernel(&r, &p);
	add_userns(&r, &p);
	add_proc(&r, &p);
	add_seccomp(&r, &p);
	add_landlock(&r, &p);
	add_bwrap(&r, &p);
	add_env(&r, &p);

	/* Every backend loads the seccomp filter; without it none may run. */
	bool seccomp_ok = p.seccomp.load_err == 0;
	const struct backend *b =
		seccomp_ok ? doctor_auto_choice(p.builtin_r == 0, p.bwrap.ran, p.landlock.abi) : NULL;
	bool weak = b == &backend_landlock, full = b && !weak;
	int status = full ? DOCTOR_EXIT_FULL : weak ? DOCTOR_EXIT_WEAK : DOCTOR_EXIT_NONE;
	if (weak)
		add_landlock_only(&r, &p);
	_cleanup_free_ char *post = posture(b, &p);
	add(&r, "auto backend", full ? ST_OK : weak ? ST_WARN : ST_FAIL,
	    xasprintf("%s", backend_name(b)),
	    full ? NULL
		 : xstrdup(weak
				   ? "fix the user namespaces item to get namespaces back (or accept the weaker posture)"
				   : "fix the user namespaces item, or enable Landlock, so that some backend can run"));
	if (json)
		print_json(&r, backend_name(b), post, full, stdout);
	else
		print_text(&r, backend_name(b), post, full, status, stdout);
	fflush(stdout);
	report_free(&r);
	probes_free(&p);
	return status;
}
