/* Policy -> plan nodes: resolve special paths, canonicalise, merge rules
 * that land on the same path, add protections, check that every read-only
 * or hidden path can really be enforced, then order the operations. */
#include "plan/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "plan/deny_globs.h"
#include "plan/nested_repos.h"
#include "plan/stat_memo.h"
#include "policy/policy.h"

/* Platform default read roots (:minimal), included when they exist. */
static const char *const minimal_roots[] = {
	"/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64", "/lib32", "/libx32",
	"/nix/store", "/run/current-system/sw", NULL,
};

/* The kernel's knobs under /proc: writable for uid 0 by owner alone (a
 * sysctl checks its mode bits, not a capability), and global to the host
 * (kernel.core_pattern, sysrq, binfmt_misc under /proc/sys/fs). Bound
 * read-only over a fresh /proc and over the host's alike. */
const char *const plan_proc_readonly[] = {
	"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
	"/proc/acpi", "/proc/scsi", NULL,
};

bool plan_is_kernel_knob(const char *path)
{
	if (path_is_under(path, "/sys"))
		return true;
	for (size_t i = 0; plan_proc_readonly[i]; i++)
		if (path_is_under(path, plan_proc_readonly[i]))
			return true;
	return false;
}

/* No rule makes a kernel knob writable: root keeps uid 0 inside, and a
 * write there retunes the host's kernel for everyone (a core_pattern of
 * "|/tmp/x" runs code as root at the next crash). */
static int refuse_writable_knobs(const struct plan *plan, ab_error *err)
{
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->access != AB_ACCESS_WRITE || !plan_is_kernel_knob(n->path))
			continue;
		return ab_fail(err, EPERM,
			       "%s (%s) is a kernel interface: no policy can make it writable, since a write there changes the host's kernel settings\n"
			       "fix: drop the write rule for %s (it stays readable under a readable root, or give it --read)",
			       n->path, n->why ? n->why : "a write rule", n->path);
	}
	return 0;
}

void plan_add_warning(struct plan *plan, const char *code, const char *path,
		      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	grow_array((void **)&plan->warnings, &plan->cap_warnings,
		   plan->n_warnings + 1, sizeof(*plan->warnings));
	plan->warnings[plan->n_warnings++] = (struct plan_warning){
		.code = xstrdup(code),
		.path = path ? xstrdup(path) : NULL,
		.message = msg ? msg : xstrdup(code),
	};
}

bool plan_has_warning(const struct plan *plan, const char *code)
{
	for (size_t i = 0; i < plan->n_warnings; i++)
		if (strcmp(plan->warnings[i].code, code) == 0)
			return true;
	return false;
}

void plan_add_note(struct plan *plan, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	grow_array((void **)&plan->notes, &plan->cap_notes, plan->n_notes + 1, sizeof(*plan->notes));
	plan->notes[plan->n_notes++] = msg;
}

int plan_find_node(const struct plan *plan, const char *path)
{
	for (size_t i = 0; i < plan->n_nodes; i++)
		if (strcmp(plan->nodes[i].path, path) == 0)
			return (int)i;
	return -1;
}

/* The nearest node at or above `path` (the deepest; at equal depth the
 * widest); with `no_sockets`, as if the socket nodes were not there. */
static int node_at(const struct plan *plan, const char *path, int skip, bool no_sockets)
{
	int best = -1;
	size_t best_depth = 0;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		/* a pin only repeats the access around it (plan/pin.c) */
		if ((int)i == skip || n->source == NODE_PIN || (no_sockets && plan_node_is_socket(n)) ||
		    !path_is_under(path, n->path))
			continue;
		size_t d = path_depth(n->path);
		if (best < 0 || d > best_depth ||
		    (d == best_depth && n->access > plan->nodes[best].access)) {
			best = (int)i;
			best_depth = d;
		}
	}
	return best;
}

int plan_node_at(const struct plan *plan, const char *path, int skip)
{
	return node_at(plan, path, skip, false);
}

int plan_access_at_without_sockets(const struct plan *plan, const char *path, int skip)
{
	int i = node_at(plan, path, skip, true);
	return i < 0 ? 0 : (int)plan->nodes[i].access;
}

int plan_access_at(const struct plan *plan, const char *path, int skip)
{
	int i = plan_node_at(plan, path, skip);
	return i < 0 ? 0 : (int)plan->nodes[i].access;
}

/* Reads at most a few entries: only whether the directory has any entry
 * besides . and .. matters, and directories such as /tmp can be large.
 * A directory that is gone by now counts as empty: it was a placeholder
 * another run has just removed, and blocking the path (which makes a
 * placeholder again) is what both need. */
static bool dir_is_empty(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	_Alignas(8) char buf[1024];
	bool empty = true;
	long n;
	while (empty && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + off);
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				empty = false;
				break;
			}
			off += de->d_reclen;
		}
	}
	if (n < 0) /* getdents of a directory removed since: ENOENT */
		empty = errno == ENOENT;
	close(fd);
	return empty;
}

/* Only protected names and the places of discovered configuration use
 * `empty` (an empty one may be a placeholder left by an earlier run), so
 * only they pay for the check. */
static void note_emptiness(struct plan_node *n)
{
	struct stat st;
	if (!n->exists || (n->source != NODE_PROTECTED && n->source != NODE_CONFIG))
		return;
	if (n->is_dir)
		n->empty = dir_is_empty(n->path);
	else if (memo_lstat(n->path, &st) < 0)
		n->empty = errno == ENOENT; /* gone since: as above */
	else if (S_ISREG(st.st_mode))
		n->empty = st.st_size == 0;
}

static int add_canonical_node(struct plan *plan, struct canonical *cp, ab_access access,
			      enum node_source source, const char *why);

/* Adds a node for `path` (absolute, not yet canonical). When a node for the
 * same canonical path exists, the stronger access wins, as for two rules of
 * equal specificity. */
int plan_add_node(struct plan *plan, const char *path, ab_access access,
		  enum node_source source, const char *why, ab_error *err)
{
	struct canonical c;
	int r = canonicalize(path, &c, err);
	if (r < 0)
		return r;
	return add_canonical_node(plan, &c, access, source, why);
}

int plan_add_node_exact(struct plan *plan, const char *path, ab_access access,
			enum node_source source, const char *why, ab_error *err)
{
	struct canonical c;
	int r = canonicalize(path, &c, err);
	if (r < 0)
		return r;
	if (strcmp(c.path, path) != 0) {
		r = ab_fail(err, EBUSY,
			    "%s changed while agentbox planned the run: it now leads to %s (a symbolic link was swapped in); "
			    "refusing to run rather than protect the wrong file (%s)\n"
			    "fix: run again once nothing renames files there",
			    path, c.path, why);
		canonical_free(&c);
		return r;
	}
	return add_canonical_node(plan, &c, access, source, why);
}

/* As plan_add_node, for a path already canonicalised; takes c over. */
static int add_canonical_node(struct plan *plan, struct canonical *cp, ab_access access,
			      enum node_source source, const char *why)
{
	struct canonical c = *cp;
	memset(cp, 0, sizeof(*cp));
	int idx = plan_find_node(plan, c.path);
	if (idx >= 0) {
		struct plan_node *n = &plan->nodes[idx];
		if (access > n->access) {
			n->access = access;
			n->source = source;
			free(n->why);
			n->why = xstrdup(why);
			note_emptiness(n);
		}
		canonical_free(&c);
		return idx;
	}
	grow_array((void **)&plan->nodes, &plan->cap_nodes, plan->n_nodes + 1,
		   sizeof(*plan->nodes));
	struct plan_node *n = &plan->nodes[plan->n_nodes];
	memset(n, 0, sizeof(*n));
	n->path = c.path;
	c.path = NULL;
	n->access = access;
	n->source = source;
	n->why = xstrdup(why);
	n->exists = c.exists;
	n->is_dir = c.is_dir;
	n->dev = c.dev;
	n->ino = c.ino;
	n->first_missing = c.first_missing;
	c.first_missing = NULL;
	note_emptiness(n);
	if (c.n_links) {
		n->links = xcalloc(c.n_links, sizeof(char *));
		n->link_targets = xcalloc(c.n_links, sizeof(char *));
		for (size_t i = 0; i < c.n_links; i++) {
			n->links[i] = c.links[i].location;
			n->link_targets[i] = c.links[i].target;
			c.links[i].location = NULL;
			c.links[i].target = NULL;
		}
		n->n_links = c.n_links;
	}
	canonical_free(&c);
	return (int)plan->n_nodes++;
}

int plan_entry_path(const struct policy_entry *e, const struct plan_context *ctx,
		    char **out, ab_error *err)
{
	*out = NULL;
	struct stat st;
	switch (e->kind) {
	case PP_ABSOLUTE:
		*out = xstrdup(e->path);
		return 0;
	case PP_ROOT:
		*out = xstrdup("/");
		return 0;
	case PP_MINIMAL:
		return 0;
	case PP_CWD:
		*out = xstrdup(ctx->cwd);
		return 0;
	case PP_TMPDIR:
		if (ctx->tmpdir && path_is_absolute(ctx->tmpdir) && !path_has_dotdot(ctx->tmpdir))
			*out = path_normalize(ctx->tmpdir);
		return 0;
	case PP_SLASH_TMP:
		if (memo_stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode))
			*out = xstrdup("/tmp");
		return 0;
	case PP_HOME:
		if (!ctx->home || !path_is_absolute(ctx->home))
			return ab_fail(err, EINVAL,
				       "rule '%s%s' (%s) uses ~ but $HOME is not set to an absolute path; set HOME or write the path out",
				       *e->path ? "~/" : "~", e->path, e->origin);
		*out = *e->path ? path_join(ctx->home, e->path) : xstrdup(ctx->home);
		{
			char *norm = path_normalize(*out);
			free(*out);
			*out = norm;
		}
		return 0;
	}
	return 0;
}

static int add_entries(struct plan *plan, const ab_policy *policy,
		       const struct plan_context *ctx, ab_error *err)
{
	for (size_t i = 0; i < policy->n_entries; i++) {
		const struct policy_entry *e = &policy->entries[i];
		_cleanup_free_ char *spelling = policy_entry_spelling(e);
		_cleanup_free_ char *why = *e->origin ? xasprintf("%s (%s)", e->origin, spelling)
						    : xstrdup(spelling);
		if (e->kind == PP_MINIMAL) {
			for (size_t m = 0; minimal_roots[m]; m++) {
				struct stat st;
				if (memo_stat(minimal_roots[m], &st) < 0)
					continue;
				int r = plan_add_node(plan, minimal_roots[m], AB_ACCESS_READ,
						      NODE_MINIMAL, why, err);
				if (r < 0)
					return r;
			}
			continue;
		}
		_cleanup_free_ char *path = NULL;
		int r = plan_entry_path(e, ctx, &path, err);
		if (r < 0)
			return r;
		if (!path)
			continue;
		struct canonical c;
		r = canonicalize(path, &c, err);
		if (r < 0)
			return r;
		if (e->access == AB_ACCESS_WRITE && !c.exists && e->create) {
			/* `agentbox run` creates it, then plans again
			 * (run/create_dirs.c); explain says so */
			plan_add_warning(plan, "create_writable_root", c.path,
					 "writable directory %s does not exist yet; agentbox run creates it (mode 0700) (%s)",
					 c.path, why);
			canonical_free(&c);
			continue;
		}
		if (e->access == AB_ACCESS_WRITE && !c.exists) {
			/* A missing root cannot be bound; what is there instead
			 * stays as its parent says. Checked before adding, so a
			 * skipped root never changes another rule's node. */
			plan_add_warning(plan, "missing_writable_root", c.path,
					 "writable root %s does not exist; skipped (%s)", c.path, why);
			canonical_free(&c);
			continue;
		}
		int idx = add_canonical_node(plan, &c, e->access, NODE_RULE, why);
		if (e->create & POLICY_CACHE)
			plan->nodes[idx].cache = true;
	}
	return 0;
}

/* A read-only or hidden path reached through a symbolic link that the
 * sandbox may rewrite cannot be enforced: after setup the command could
 * point the link elsewhere and the rule would no longer mean what the user
 * wrote. Fail closed and name the link. */
static int check_links(const struct plan *plan, ab_error *err)
{
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->access == AB_ACCESS_WRITE)
			continue;
		for (size_t l = 0; l < n->n_links; l++) {
			if (plan_access_at(plan, n->links[l], -1) != AB_ACCESS_WRITE)
				continue;
			return ab_fail(err, ELOOP,
				       "cannot enforce %s path %s (%s): it goes through the symbolic link %s, which lies in a writable area, so the sandboxed command could re-point it\n"
				       "fix: write the rule with the link's target, or replace the link by a directory",
				       n->access == AB_ACCESS_NONE ? "hidden" : "read-only",
				       n->path, n->why, n->links[l]);
		}
	}
	return 0;
}

static int resolve_cwd(struct plan *plan, const struct plan_context *ctx, ab_error *err)
{
	struct canonical c;
	int r = canonicalize(ctx->cwd, &c, err);
	if (r < 0)
		return r;
	if (!c.exists || !c.is_dir) {
		r = ab_fail(err, c.exists ? ENOTDIR : ENOENT,
			    "working directory %s: %s", ctx->cwd,
			    c.exists ? "not a directory" : "no such directory");
		canonical_free(&c);
		return r;
	}
	plan->cwd = c.path;
	c.path = NULL;
	canonical_free(&c);
	return 0;
}

static int check_cwd_visible(const struct plan *plan, ab_error *err)
{
	int a = plan_access_at(plan, plan->cwd, -1);
	if (a == AB_ACCESS_READ || a == AB_ACCESS_WRITE)
		return 0;
	return ab_fail(err, EACCES,
		       "working directory %s would not be visible inside the sandbox under this policy\n"
		       "fix: add --read %s (or --write), or choose another directory with -C",
		       plan->cwd, plan->cwd);
}

static int resolve_with_memo(const ab_policy *policy, const struct plan_context *ctx,
			     struct plan *plan, ab_error *err);

/* Every lookup of this resolution is made once (plan/stat_memo.h); the
 * memo ends with it, whatever the outcome. */
int plan_resolve(const ab_policy *policy, const struct plan_context *ctx,
		 struct plan *plan, ab_error *err)
{
	memset(plan, 0, sizeof(*plan));
	stat_memo_begin(plan);
	int r = resolve_with_memo(policy, ctx, plan, err);
	stat_memo_end(plan);
	return r;
}

static int resolve_with_memo(const ab_policy *policy, const struct plan_context *ctx,
			     struct plan *plan, ab_error *err)
{
	plan->git_scan_depth = -1;
	plan->net = policy->net;
	plan->git = policy->git;
	plan->domains = &policy->domains;
	plan->mount_proc = !ctx->no_proc;
	if (!ctx->cwd || !path_is_absolute(ctx->cwd))
		return ab_fail(err, EINVAL, "internal: working directory must be absolute");

	int r = resolve_cwd(plan, ctx, err);
	if (r == 0)
		r = add_entries(plan, policy, ctx, err);
	if (r == 0)
		r = protected_add_nodes(plan, policy, ctx, err);
	if (r == 0)
		r = nested_repos_add_nodes(plan, policy, ctx, err);
	if (r == 0)
		r = deny_globs_add_nodes(plan, policy, ctx, err);
	if (r == 0)
		r = refuse_writable_knobs(plan, err);
	if (r < 0)
		return r;

	int root = plan_access_at(plan, "/", -1);
	plan->root_readable = root == AB_ACCESS_READ || root == AB_ACCESS_WRITE;
	plan->root_writable = root == AB_ACCESS_WRITE;

	/* Root keeps uid 0 inside, and files under /sys check only their
	 * owner: a writable /sys would let it retune the host's kernel. A
	 * rule naming /sys can only read or hide it (refuse_writable_knobs). */
	if (plan_access_at(plan, "/sys", -1) == AB_ACCESS_WRITE && plan_find_node(plan, "/sys") < 0) {
		r = plan_add_node(plan, "/sys", AB_ACCESS_READ, NODE_KERNEL,
				  "kernel interface (always read-only)", err);
		if (r < 0)
			return r;
	}
	/* agentbox's state directories (every candidate, not only this run's:
	 * a later run may pick another) are hidden, so that the sandboxed
	 * command can neither read nor forge what a later run finds there. */
	for (size_t i = 0; ctx->state_dirs && ctx->state_dirs[i]; i++) {
		const char *d = ctx->state_dirs[i];
		int a = plan_access_at(plan, d, -1);
		struct stat st;
		if (a == AB_ACCESS_NONE || (a != AB_ACCESS_WRITE && memo_lstat(d, &st) < 0))
			continue;
		r = plan_add_node(plan, d, AB_ACCESS_NONE, NODE_STATE,
				  "agentbox state directory (hidden)", err);
		if (r < 0)
			return r;
	}
	/* Without /proc the inner stage cannot be reached through
	 * /proc/self/fd, so its binary must be visible at its own path. */
	if (ctx->no_proc && !plan->root_readable && ctx->self_exe &&
	    plan_access_at(plan, ctx->self_exe, -1) != AB_ACCESS_READ &&
	    plan_access_at(plan, ctx->self_exe, -1) != AB_ACCESS_WRITE) {
		r = plan_add_node(plan, ctx->self_exe, AB_ACCESS_READ, NODE_SELF,
				  "agentbox binary (needed for the inner stage without /proc)", err);
		if (r < 0)
			return r;
	}

	/* credentials: after the rules that may name them */
	r = plan_add_credential_nodes(plan, policy, ctx, err);
	if (r < 0)
		return r;
	/* host sockets: after the rules they override or reopen */
	r = plan_add_socket_nodes(plan, policy, ctx, err);
	if (r < 0)
		return r;
	/* after every protection: whether a configuration file is writable
	 * depends on all of them */
	r = plan_add_config_files(plan, ctx, err);
	if (r < 0)
		return r;
	/* after every hidden, protected and configuration node: a directory
	 * to create must lie in none of them */
	r = plan_check_create_rules(plan, policy, ctx, err);
	if (r < 0)
		return r;
	/* last: pins go on the way to every mount added above */
	r = plan_add_pins(plan, err);
	if (r == 0)
		r = check_links(plan, err);
	if (r == 0)
		r = check_cwd_visible(plan, err);
	if (r == 0)
		r = plan_order_ops(plan, err);
	return r;
}

void plan_free(struct plan *plan)
{
	/* a resolution unwound by running out of memory left its memo */
	stat_memo_end(plan);
	for (size_t i = 0; i < plan->n_nodes; i++) {
		struct plan_node *n = &plan->nodes[i];
		free(n->path);
		free(n->why);
		free(n->first_missing);
		for (size_t l = 0; l < n->n_links; l++) {
			free(n->links[l]);
			free(n->link_targets[l]);
		}
		free(n->links);
		free(n->link_targets);
	}
	free(plan->nodes);
	for (size_t i = 0; i < plan->n_ops; i++) {
		free(plan->ops[i].path);
		free(plan->ops[i].target);
		free(plan->ops[i].data);
		free(plan->ops[i].why);
	}
	free(plan->ops);
	for (size_t i = 0; i < plan->n_warnings; i++) {
		free(plan->warnings[i].code);
		free(plan->warnings[i].path);
		free(plan->warnings[i].message);
	}
	free(plan->warnings);
	for (size_t i = 0; i < plan->n_notes; i++)
		free(plan->notes[i]);
	free(plan->notes);
	for (size_t i = 0; i < plan->n_git_repos; i++) {
		free(plan->git_repos[i].worktree);
		free(plan->git_repos[i].gitdir);
		free(plan->git_repos[i].commondir);
	}
	free(plan->git_repos);
	plan_credentials_free(plan);
	free(plan->cwd);
	memset(plan, 0, sizeof(*plan));
}
