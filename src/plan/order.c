/* Plan nodes -> ordered operations.
 *
 * Nodes are applied shallowest first, so a narrower rule is mounted on top
 * of a wider one: /r write, /r/a none, /r/a/b write gives a writable /r, an
 * empty unreadable /r/a and a writable /r/a/b again. Each node is compared
 * with what its nearest ancestor node already gives; a node that changes
 * nothing produces no operation. */
#include "plan/plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/stat_memo.h"
#include "supervisor/placeholders.h"

static void add_op(struct plan *plan, enum plan_op_kind kind, const char *path,
		   unsigned mode, int node)
{
	grow_array((void **)&plan->ops, &plan->cap_ops, plan->n_ops + 1, sizeof(*plan->ops));
	plan->ops[plan->n_ops++] = (struct plan_op){
		.kind = kind, .path = xstrdup(path), .mode = mode, .node = node,
	};
}

static bool has_op(const struct plan *plan, enum plan_op_kind kind, const char *path)
{
	for (size_t i = 0; i < plan->n_ops; i++)
		if (plan->ops[i].kind == kind && strcmp(plan->ops[i].path, path) == 0)
			return true;
	return false;
}

/* qsort_r's comparison, with the plan as its argument: no global, so runs
 * in several threads can order their plans at the same time. */
static int cmp_nodes(const void *a, const void *b, void *arg)
{
	const struct plan *plan = arg;
	const struct plan_node *x = &plan->nodes[*(const size_t *)a];
	const struct plan_node *y = &plan->nodes[*(const size_t *)b];
	size_t dx = path_depth(x->path), dy = path_depth(y->path);
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* True when no node other than `outer` and `inner` lies strictly between
 * them, i.e. `inner`'s mountpoint would be inside the mask of `outer`. */
static bool directly_under(const struct plan *plan, size_t outer, size_t inner)
{
	const char *o = plan->nodes[outer].path, *in = plan->nodes[inner].path;
	if (strcmp(o, in) == 0 || !path_is_under(in, o))
		return false;
	for (size_t k = 0; k < plan->n_nodes; k++) {
		const char *p = plan->nodes[k].path;
		if (k == outer || k == inner || plan->nodes[k].source == NODE_PIN)
			continue;
		if (path_is_under(p, o) && strcmp(p, o) != 0 &&
		    path_is_under(in, p) && strcmp(in, p) != 0)
			return false;
	}
	return true;
}

/* Hides an existing directory: an empty tmpfs, then the mountpoints that
 * narrower rules reopen below it, then read-only so nothing can be created
 * in it. Mode 000 hides the listing; 111 still lets the command walk down
 * to a reopened path. */
static void mask_dir(struct plan *plan, size_t idx)
{
	const struct plan_node *n = &plan->nodes[idx];
	strv dirs = {0}, files = {0};
	for (size_t k = 0; k < plan->n_nodes; k++) {
		const struct plan_node *d = &plan->nodes[k];
		if (!d->exists || d->access == AB_ACCESS_NONE || !directly_under(plan, idx, k))
			continue;
		/* every directory between the mask and the reopened path */
		char *p = d->is_dir ? xstrdup(d->path) : path_parent(d->path);
		strv chain = {0};
		while (strcmp(p, n->path) != 0) {
			strv_push(&chain, p);
			char *up = path_parent(p);
			free(p);
			p = up;
		}
		free(p);
		for (size_t c = chain.n; c-- > 0;) {
			bool seen = false;
			for (size_t s = 0; s < dirs.n; s++)
				seen = seen || strcmp(dirs.v[s], chain.v[c]) == 0;
			if (!seen)
				strv_push(&dirs, chain.v[c]);
		}
		strv_free(&chain);
		if (!d->is_dir)
			strv_push(&files, d->path);
	}
	add_op(plan, OP_MASK_DIR, n->path, dirs.n || files.n ? 0111 : 0000, (int)idx);
	for (size_t i = 0; i < dirs.n; i++)
		add_op(plan, OP_MKDIR, dirs.v[i], 0755, (int)idx);
	for (size_t i = 0; i < files.n; i++)
		add_op(plan, OP_MKFILE, files.v[i], 0644, (int)idx);
	add_op(plan, OP_REMOUNT_RO, n->path, 0, (int)idx);
	strv_free(&dirs);
	strv_free(&files);
}

static bool is_placeholder(const char *path)
{
	struct stat st;
	return memo_lstat(path, &st) == 0 && placeholder_is_marked(&st);
}

char *plan_blocking_point(const struct plan *plan, const char *first_missing)
{
	char *point = xstrdup(first_missing);
	for (;;) {
		char *up = path_parent(point);
		if (strcmp(up, "/") == 0 || plan_access_at(plan, up, -1) != AB_ACCESS_WRITE ||
		    !is_placeholder(up)) {
			free(up);
			return point;
		}
		free(point);
		point = up;
	}
}

/* A path that must not be created inside a writable area: block its first
 * missing component (or an empty placeholder left by a concurrent run). */
static void block_creation(struct plan *plan, size_t idx)
{
	const struct plan_node *n = &plan->nodes[idx];
	_cleanup_free_ char *adopted = !n->exists && n->first_missing ?
		plan_blocking_point(plan, n->first_missing) : NULL;
	const char *path = n->exists ? n->path : adopted;
	if (!path)
		return;
	bool as_dir;
	if (n->exists)
		as_dir = n->is_dir;
	else if (strcmp(path, n->first_missing) != 0)
		as_dir = true; /* another run's placeholder directory above it */
	else
		/* Protected names become empty read-only directories (but those
		 * marked block_as_file, policy/protect_list.c): git then
		 * sees no repository there and keeps discovering the parent
		 * one, and `mkdir`/`git init` fail with EROFS. Other paths get
		 * an empty file, which blocks creating anything below it. */
		as_dir = n->protected_name && n->is_dir && strcmp(path, n->path) == 0;
	enum plan_op_kind kind = as_dir ? OP_BLOCK_DIR : OP_BLOCK_FILE;
	if (has_op(plan, OP_BLOCK_DIR, path) || has_op(plan, OP_BLOCK_FILE, path))
		return;
	unsigned mode = n->access == AB_ACCESS_NONE ? 0000 : (as_dir ? 0555 : 0444);
	add_op(plan, kind, path, mode, (int)idx);
}

static void order_node(struct plan *plan, size_t idx)
{
	const struct plan_node *n = &plan->nodes[idx];
	int parent = plan_access_at(plan, n->path, (int)idx);
	int a = (int)n->access;

	if (strcmp(n->path, "/") == 0)
		return;
	if (a == parent) {
		/* no access of its own, but on the way to a mount below */
		if (n->pin)
			add_op(plan, OP_PIN, n->path, 0, (int)idx);
		return;
	}
	switch (n->access) {
	case AB_ACCESS_WRITE:
		if (n->exists)
			add_op(plan, OP_BIND_RW, n->path, 0, (int)idx);
		return;
	case AB_ACCESS_READ:
		if (parent == AB_ACCESS_WRITE &&
		    (!n->exists || (n->empty && (n->source == NODE_PROTECTED ||
						 (n->source == NODE_CONFIG && n->protected_name)))))
			block_creation(plan, idx);
		else if (n->exists)
			add_op(plan, OP_BIND_RO, n->path, 0, (int)idx);
		return;
	case AB_ACCESS_NONE:
		if (!n->exists) {
			if (parent == AB_ACCESS_WRITE)
				block_creation(plan, idx);
		} else if (parent != 0) { /* invisible already when parent is 0 */
			if (n->is_dir)
				mask_dir(plan, idx);
			else
				add_op(plan, OP_MASK_FILE, n->path, 0000, (int)idx);
		}
		return;
	}
}

/* The /proc knobs, read-only: over the fresh /proc, or without one over
 * the host's wherever the policy makes it writable (a writable root, a
 * rule writing /proc): for root, the host's knobs are as writable as its
 * own files. A readable area is a recursive read-only bind already. */
static bool knob_needs_bind(const struct plan *plan, const char *knob)
{
	return plan->mount_proc || plan_access_at(plan, knob, -1) == AB_ACCESS_WRITE;
}

static void add_knob_ops(struct plan *plan)
{
	for (size_t i = 0; plan_proc_readonly[i]; i++)
		if (knob_needs_bind(plan, plan_proc_readonly[i]))
			add_op(plan, OP_PROC_KNOB, plan_proc_readonly[i], 0, -1);
}

int plan_order_ops(struct plan *plan, ab_error *err)
{
	(void)err;
	if (plan->root_writable)
		add_op(plan, OP_ROOT_BIND_RW, "/", 0, plan_find_node(plan, "/"));
	else if (plan->root_readable)
		add_op(plan, OP_ROOT_BIND_RO, "/", 0, plan_find_node(plan, "/"));
	else
		add_op(plan, OP_ROOT_TMPFS, "/", 0, -1);
	add_op(plan, OP_DEV, "/dev", 0, -1);

	size_t *order = xcalloc(plan->n_nodes, sizeof(size_t));
	for (size_t i = 0; i < plan->n_nodes; i++)
		order[i] = i;
	qsort_r(order, plan->n_nodes, sizeof(size_t), cmp_nodes, plan);
	for (size_t i = 0; i < plan->n_nodes; i++)
		order_node(plan, order[i]);
	free(order);

	/* In an empty root, the links on the way to a visible path must be
	 * there too, or /lib64/ld-linux.so (via /lib64 -> usr/lib64) and the
	 * like would vanish. Links inside visible areas come with their
	 * mount. */
	for (size_t i = 0; i < plan->n_nodes && !plan->root_readable; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->access == AB_ACCESS_NONE)
			continue;
		for (size_t l = 0; l < n->n_links; l++) {
			if (plan_access_at(plan, n->links[l], -1) != 0 ||
			    has_op(plan, OP_SYMLINK, n->links[l]))
				continue;
			add_op(plan, OP_SYMLINK, n->links[l], 0, (int)i);
			plan->ops[plan->n_ops - 1].target = xstrdup(n->link_targets[l]);
		}
	}
	/* On top of the binds of the git dirs that hold them. */
	plan_add_git_excludes(plan);
	/* The fresh /proc comes after every bind (nothing mounted later may
	 * cover it), with its knobs read-only (plan_proc_readonly). */
	if (plan->mount_proc)
		add_op(plan, OP_PROC, "/proc", 0, -1);
	add_knob_ops(plan);
	/* An empty root is a scratch tmpfs: make it read-only too, so that
	 * only the writable rules are writable. Last: the mountpoints above
	 * are made in it. */
	if (!plan->root_readable)
		add_op(plan, OP_REMOUNT_RO, "/", 0, -1);
	return 0;
}

void plan_drop_proc(struct plan *plan)
{
	plan->mount_proc = false;
	size_t k = 0;
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		/* The knobs stay wherever the host's /proc is now writable. */
		bool keep = op->kind == OP_PROC_KNOB && knob_needs_bind(plan, op->path);
		if (op->kind == OP_PROC || (op->kind == OP_PROC_KNOB && !keep)) {
			free(plan->ops[i].path);
			free(plan->ops[i].target);
			continue;
		}
		plan->ops[k++] = plan->ops[i];
	}
	plan->n_ops = k;
}
