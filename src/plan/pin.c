/* Pins: the directories between an outer writable area and a mount the
 * plan makes below it, each bound onto itself.
 *
 * Why: rename(2), renameat2(RENAME_EXCHANGE) and rmdir(2) refuse a
 * directory that is a mountpoint in the caller's mount namespace (EBUSY),
 * but not its parent. With /tmp writable and a workspace at /tmp/a/b/ws,
 * the command could rename /tmp/a away and build a new /tmp/a/b/ws whose
 * .git/hooks it wrote; the read-only .git mount moves along with the old
 * directory, and the user's next `git commit` on the host runs the hook.
 * The same trick moves a hidden path out from under its rule for the next
 * run. Pinning every directory on the way that lies in a writable area
 * leaves nothing on the path the command can rename or remove.
 *
 * Only directories whose parent is writable need it: in a read-only or
 * hidden area the mount is already read-only. Usually that is none, or
 * the one or two directories between $TMPDIR or /tmp and a workspace. */
#include "plan/plan.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

/* Where node `idx` will be mounted, or NULL when it gets no mount of its
 * own. Mirrors order_node (plan/order.c): a node whose access equals its
 * parent's gets no operation; a missing one is blocked at its first
 * missing component when its parent is writable. */
static const char *mount_point(const struct plan *plan, size_t idx)
{
	const struct plan_node *n = &plan->nodes[idx];
	if (strcmp(n->path, "/") == 0 || n->source == NODE_PIN)
		return NULL;
	int parent = plan_access_at(plan, n->path, (int)idx);
	if ((int)n->access == parent)
		return NULL;
	if (n->exists)
		return n->access == AB_ACCESS_NONE && parent == 0 ? NULL : n->path;
	if (parent != AB_ACCESS_WRITE || n->access == AB_ACCESS_WRITE)
		return NULL;
	return n->first_missing;
}

/* Pins `dir` (an existing directory of a writable area): marks the node
 * already there, or adds one. */
static int pin_dir(struct plan *plan, const char *dir, const char *below, ab_error *err)
{
	int idx = plan_find_node(plan, dir);
	if (idx < 0) {
		int o = plan_node_at(plan, dir, -1);
		_cleanup_free_ char *why = xasprintf(
			"pin: keeps %s in place (inside writable %s, it could be renamed)", below,
			o >= 0 ? plan->nodes[o].path : "?");
		idx = plan_add_node(plan, dir, AB_ACCESS_WRITE, NODE_PIN, why, err);
		if (idx < 0)
			return idx;
	}
	struct plan_node *n = &plan->nodes[idx];
	if (!n->exists || !n->is_dir)
		return ab_fail(err, ENOENT,
			       "cannot pin %s (on the way to %s): it is no longer a directory; something changed it while agentbox resolved the policy\n"
			       "fix: run again once the directory is stable",
			       dir, below);
	n->pin = true;
	return 0;
}

int plan_add_pins(struct plan *plan, ab_error *err)
{
	/* pins are added as we go; they are never mounts to pin for */
	size_t n_rules = plan->n_nodes;
	for (size_t i = 0; i < n_rules; i++) {
		const char *at = mount_point(plan, i);
		if (!at)
			continue;
		_cleanup_free_ char *below = xstrdup(at);
		char *dir = path_parent(below);
		while (strcmp(dir, "/") != 0) {
			int idx = plan_find_node(plan, dir);
			if (idx >= 0 && mount_point(plan, (size_t)idx))
				break; /* a mount of its own; its own walk goes on */
			_cleanup_free_ char *up = path_parent(dir);
			int r = 0;
			if (plan_access_at(plan, up, -1) == AB_ACCESS_WRITE)
				r = pin_dir(plan, dir, below, err);
			free(dir);
			dir = NULL;
			if (r < 0)
				return r;
			dir = up;
			up = NULL;
		}
		free(dir);
	}
	return 0;
}
