/* The Landlock backend before anything runs: ABI, rules, per-run TMPDIR,
 * --exact, and the posture it reports.
 *
 * TMPDIR: workspace-write makes /tmp writable but keeps /tmp/.git and
 * /tmp/.agentbox uncreatable (and agentbox's state dir read-only), so /tmp
 * itself loses its MAKE rights and `mktemp` would fail. The run gets a
 * fresh directory under it instead, writable in full and named in
 * $TMPDIR; it is inside an area the policy makes writable, so it grants
 * nothing the policy does not, and it is removed after the run. */
#include "backend/landlock/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "backend/landlock/broker.h"

static const char *const limits_text[] = {
	"no PID namespace: the command sees the host's processes in /proc (signals to them are refused where the ABI has scopes)",
	"/proc is the host's and read-only, also under a writable / (its knobs: core_pattern, sysrq-trigger...; so no process of the run can write its own /proc/PID files such as oom_score_adj or attr/)",
	"no IPC namespace: System V IPC calls are refused by the seccomp filter (shm*, sem*, msg*: EPERM), so the host's segments, semaphores and queues stay out of reach; POSIX shared memory is /dev/shm, the host's (not writable unless the plan makes it so)",
	"unix sockets with a path can be connected wherever they are, even in hidden directories (Landlock checks no connect on them)",
	"files created in narrowed directories by others after the start get only the directory's own rights",
	"mode, owner, time, xattr and inode flag (chattr) changes go to agentbox's broker, which makes them only within the writable roots",
	"agentbox's state directories stay readable (read-only), not hidden: Landlock cannot hide a path below a readable directory without narrowing it",
};

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");
	struct stat st;
	if (t && path_is_absolute(t) && stat(t, &st) == 0 && S_ISDIR(st.st_mode))
		return t;
	return "/tmp";
}

static int make_tmpdir(const struct plan *plan, bool create, struct landlock_prep *lp, ab_error *err)
{
	_cleanup_free_ char *base = realpath(tmp_base(), NULL);
	if (!base || plan_access_at(plan, base, -1) != AB_ACCESS_WRITE)
		return 0;
	if (landlock_rules_access_at(&lp->rules, base) & LL_FS_MAKE_REG)
		return 0;
	if (!create) {
		lp->tmpdir = xasprintf("%s/agentbox-tmp-XXXXXX", base);
		return 0;
	}
	/* what a run killed with -9 left, before making another */
	landlock_tmpdir_sweep();
	int r = landlock_tmpdir_make(base, lp, err);
	if (r < 0)
		return r;
	landlock_rules_add(&lp->rules, lp->tmpdir, lp->feat.fs, true);
	return 0;
}

/* With the broker (broker.h), creating, removing and renaming in a
 * narrowed directory work for every name the plan makes writable, so
 * those narrowings are gone; what remains is that entries made there
 * later get only the directory's own Landlock rights. */
static void lift_create_narrowings(struct ll_rules *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n_narrowings; i++) {
		struct ll_narrowing *n = &r->narrowings[i];
		if (strcmp(n->code, "no_create") == 0) {
			free(n->path);
			free(n->message);
			continue;
		}
		if (strcmp(n->code, "new_entries") == 0 && n->path) {
			free(n->message);
			n->message = xasprintf("entries made in %s after the start (agentbox's broker creates them) "
					       "get only what %s itself gets from Landlock: the broker opens them for "
					       "writing, but truncating such a file by path (truncate(2)) is refused",
					       n->path, n->path);
		}
		r->narrowings[k++] = *n;
	}
	r->n_narrowings = k;
}

bool landlock_prep_exact(const struct landlock_prep *lp)
{
	return lp->rules.n_narrowings == 0 && lp->gaps.n == 0;
}

int landlock_prepare(const struct plan *plan, bool exact, bool for_run, struct landlock_prep *lp,
		     ab_error *err)
{
	memset(lp, 0, sizeof(*lp));
	/* Landlock can limit TCP ports but not addresses, and nothing about
	 * UDP: without a network namespace of its own the command could
	 * reach any host directly, so the proxy would be advice, not a rule. */
	if (plan->net == AB_NET_PROXY)
		return ab_fail(err, ENOTSUP,
			       "--net proxy needs a network namespace of its own, which the Landlock backend (no namespaces) cannot give: "
			       "the command could go around the proxy\n"
			       "fix: allow user namespaces for agentbox or bwrap on this host (see `agentbox doctor`), or use --net none");
	int abi = landlock_abi(err);
	if (abi < 0)
		return abi;
	landlock_features_for(abi, plan->net, &lp->feat);
	int r = landlock_rules_compute(plan, lp->feat.fs, NULL, NULL, &lp->rules, err);
	if (r < 0)
		return r;
	lp->prepared = true;
	landlock_note_abi_limits(&lp->feat, plan, &lp->rules, &lp->gaps);
	lp->broker = broker_available();
	if (lp->broker)
		lift_create_narrowings(&lp->rules);
	for (size_t i = 0; i < sizeof(limits_text) / sizeof(limits_text[0]); i++)
		strv_push(&lp->limits, limits_text[i]);
	/* landlock_rules.c's blocks: what keeping the host's /dev out costs */
	if (!plan->root_writable)
		strv_push(&lp->limits,
			  "the host's /dev is out of reach but for null, zero, full, random, urandom, tty, "
			  "/dev/shm (as the plan says) and the terminal the command was started on (a rule on "
			  "that device alone): the user's other terminals in /dev/pts cannot be opened (only "
			  "listed), so no new pseudo-terminal can be made either (script, expect, pty.openpty "
			  "fail; --write /dev/pts grants them, and with it every terminal of this host); files "
			  "that appear directly in / after the start are not readable (the rule on / is "
			  "pushed down around /dev)");
	if (exact && !landlock_prep_exact(lp)) {
		sbuf b = {0};
		for (size_t i = 0; i < lp->rules.n_narrowings; i++)
			sbuf_addf(&b, "\n  - %s", lp->rules.narrowings[i].message);
		for (size_t i = 0; i < lp->gaps.n; i++)
			sbuf_addf(&b, "\n  - not enforced: %s", lp->gaps.v[i]);
		r = ab_fail(err, EPERM,
			    "--exact: Landlock cannot enforce this plan exactly; it would refuse or miss:%s\n"
			    "fix: use a namespace backend (--backend builtin or bwrap), or drop --exact to "
			    "run with the narrowed rules", b.s);
		sbuf_free(&b);
		return r;
	}
	ll_cgroup_setup(&lp->cgroup, for_run);
	return make_tmpdir(plan, for_run, lp, err);
}

void landlock_prep_free(struct landlock_prep *lp)
{
	ll_cgroup_free(&lp->cgroup);
	landlock_tmpdir_remove(lp);
	free(lp->tmpdir);
	free(lp->tmp_record);
	landlock_rules_free(&lp->rules);
	strv_free(&lp->gaps);
	strv_free(&lp->limits);
	memset(lp, 0, sizeof(*lp));
}

static const char *const fs_names[] = {
	"execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
	"make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
	"make_sym", "refer", "truncate", "ioctl_dev",
};

static void add_names(sbuf *b, uint64_t mask, const char *const *names, size_t n)
{
	sbuf_add(b, "[");
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (!(mask & (1ULL << i)))
			continue;
		sbuf_addf(b, "%s\"%s\"", first ? "" : ",", names[i]);
		first = false;
	}
	sbuf_add(b, "]");
}

static const char *const net_names[] = {"bind_tcp", "connect_tcp"};
static const char *const scope_names[] = {"abstract_unix_socket", "signal"};

static void add_strv_json(sbuf *b, const strv *s)
{
	sbuf_add(b, "[");
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			sbuf_add(b, ",");
		sbuf_add_json_string(b, s->v[i]);
	}
	sbuf_add(b, "]");
}

void landlock_append_posture_json(sbuf *b, const struct landlock_prep *lp)
{
	const struct ll_features *f = &lp->feat;
	sbuf_addf(b, ",\"filesystem_exact\":%s,\"narrowings\":[", landlock_prep_exact(lp) ? "true" : "false");
	for (size_t i = 0; i < lp->rules.n_narrowings; i++) {
		const struct ll_narrowing *n = &lp->rules.narrowings[i];
		sbuf_add(b, i ? ",{" : "{");
		sbuf_add_json_notice(b, n->code, n->path, n->message);
		sbuf_add(b, "}");
	}
	sbuf_add(b, "],\"not_enforced\":");
	add_strv_json(b, &lp->gaps);
	sbuf_add(b, ",\"limits\":");
	add_strv_json(b, &lp->limits);
	if (lp->cgroup.usable) {
		sbuf_add(b, ",\"processes\":{\"ended_by\":\"cgroup\",\"cgroup\":");
		sbuf_add_json_string_or_null(b, lp->cgroup.path);
		sbuf_add(b, ",\"setsid_refused\":false}");
	} else {
		sbuf_add(b, ",\"processes\":{\"ended_by\":\"process_group\",\"setsid_refused\":true,\"why_no_cgroup\":");
		sbuf_add_json_string_or_null(b, lp->cgroup.why_not);
		sbuf_add(b, "}");
	}
	sbuf_add(b, ",\"tmpdir\":");
	sbuf_add_json_string_or_null(b, lp->tmpdir);
	sbuf_addf(b, ",\"landlock\":{\"abi\":%d,\"rules\":%zu,\"fs\":", f->abi, lp->rules.n_rules);
	add_names(b, f->fs, fs_names, 16);
	sbuf_add(b, ",\"net\":");
	add_names(b, f->net, net_names, 2);
	sbuf_add(b, ",\"scopes\":");
	add_names(b, f->scoped, scope_names, 2);
	sbuf_addf(b, ",\"audit\":%s}", f->restrict_flags & LL_RESTRICT_LOG_NEW_EXEC_ON ? "true" : "false");
}

void landlock_print_posture(const struct landlock_prep *lp, FILE *out)
{
	const struct ll_features *f = &lp->feat;
	fprintf(out, "landlock: ABI %d, %zu rules; TCP %s; scopes:%s%s%s; audit of denials %s\n", f->abi,
		lp->rules.n_rules, f->net ? "refused (no port allowed)" : "not restricted by Landlock",
		f->scoped & LL_SCOPE_ABSTRACT_UNIX ? " abstract-unix-socket" : "",
		f->scoped & LL_SCOPE_SIGNAL ? " signal" : "", f->scoped ? "" : " none",
		f->restrict_flags ? "on" : "off");
	fprintf(out, "filesystem: %s\n", landlock_prep_exact(lp) ? "exact" : "narrowed (the plan allows more than this backend gives)");
	for (size_t i = 0; i < lp->rules.n_narrowings; i++)
		fprintf(out, "  refused: %s\n", lp->rules.narrowings[i].message);
	for (size_t i = 0; i < lp->gaps.n; i++)
		fprintf(out, "  not enforced: %s\n", lp->gaps.v[i]);
	if (lp->tmpdir)
		fprintf(out, "TMPDIR: %s (fresh for this run, writable, removed afterwards whatever is left in it; by the next run if agentbox is killed)\n", lp->tmpdir);
	landlock_print_processes(lp, out);
	for (size_t i = 0; i < lp->limits.n; i++)
		fprintf(out, "  limit: %s\n", lp->limits.v[i]);
}

/* How nothing of the run outlives it (cgroup.h): a cgroup of its own, or
 * a process group it cannot leave, and what that costs. */
void landlock_print_processes(const struct landlock_prep *lp, FILE *out)
{
	if (lp->cgroup.usable) {
		fprintf(out, "processes: in a cgroup of the run's own (%s%s): when the command ends, the timeout "
			     "strikes or agentbox dies, cgroup.kill ends every process of the run at once, "
			     "whatever session or group it made; the cgroup is removed then\n",
			lp->cgroup.path, lp->cgroup.created ? "" : ", one per run");
		return;
	}
	fprintf(out, "processes: the command's process group, which nothing of the run can leave: setsid and "
		     "setpgid into another group are refused (EPERM), so `setsid CMD`, programs that detach "
		     "(daemon(3)) and shells' job control (bash -i, set -m) fail or run without it; the group "
		     "is stopped and killed when the command ends, the timeout strikes or agentbox dies\n"
		     "  no cgroup of the run's own: %s; a cgroup v2 delegated to you (e.g. under "
		     "`systemd-run --user --scope -p Delegate=yes`) or user namespaces (agentbox doctor) "
		     "give the full posture\n",
		lp->cgroup.why_not ? lp->cgroup.why_not : "unknown");
}

/* The narrowing a user is most likely to run into: what cannot be created
 * in a directory first (a workspace root holding .git), then what cannot
 * be listed, then the rest. */
static const struct ll_narrowing *main_narrowing(const struct landlock_prep *lp)
{
	static const char *const order[] = {"no_create", "no_list", "no_refer"};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; i < lp->rules.n_narrowings; i++)
			if (strcmp(lp->rules.narrowings[i].code, order[k]) == 0)
				return &lp->rules.narrowings[i];
	return lp->rules.n_narrowings ? &lp->rules.narrowings[0] : NULL;
}

void landlock_print_notice(const struct landlock_prep *lp, FILE *out)
{
	const struct ll_narrowing *n = main_narrowing(lp);
	if (!n)
		return;
	size_t more = 0;
	for (size_t i = 0; i < lp->rules.n_narrowings; i++)
		more += &lp->rules.narrowings[i] != n && strcmp(lp->rules.narrowings[i].code, "new_entries") != 0;
	if (more)
		fprintf(out, "agentbox: landlock backend: %s, and %zu more narrowing%s; see `agentbox explain`\n",
			n->message, more, more == 1 ? "" : "s");
	else
		fprintf(out, "agentbox: landlock backend: %s; see `agentbox explain`\n", n->message);
}
