/* Plan -> Landlock rules (see landlock.h for why rules get pushed down).
 *
 * Each plan node that grants something is a rule point: grant(P, R) puts R
 * on P unless some node below P must end up with less than R ("a
 * conflict"). Then P keeps only what every conflicting node allows, each
 * existing entry of P that leads to no conflict gets R in full, and the
 * entries that lead to one are handled the same way, one level down.
 * Conflicting nodes themselves are rule points of their own.
 *
 * A missing node (a protected name that does not exist, a hidden path not
 * created yet) conflicts only with the right to create it: the directory
 * that would hold its first missing component must not get MAKE_*. */
#include "backend/landlock/landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/util.h"

/* The host's device nodes the mount backends put in their minimal /dev,
 * usable for reading and writing whatever the policy says about /dev.
 * Not /dev/ptmx: a pty made there is only usable through the host's
 * /dev/pts, which holds the user's other terminals (see the blocks). */
static const char *const dev_nodes[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", NULL,
};

/* A host path that a wider plan rule must not reach, although no plan
 * node says so: the mount backends replace the host's /dev with a minimal
 * one, so a readable / never gives them the host's disks, terminals or
 * other devices. Here a rule above a block is pushed down around it like
 * around a plan node; the block keeps `cap` (listing, not opening
 * devices). Unlike a plan node it is no narrowing of the plan: the plan
 * never gave the host's /dev (posture "limits" say what it costs). */
struct ll_block {
	const char *path;
	uint64_t cap;
};

struct walk {
	const struct plan *plan;
	struct ll_block blocks[4];
	size_t n_blocks;
	uint64_t handled;
	ll_lister list;
	void *user;
	struct ll_rules *out;
	ab_error *err;
};

void landlock_rules_add(struct ll_rules *r, const char *path, uint64_t access, bool is_dir)
{
	landlock_rules_add_id(r, path, access, is_dir, NULL);
}

void landlock_rules_add_id(struct ll_rules *r, const char *path, uint64_t access, bool is_dir,
			   const struct ll_id *id)
{
	if (!is_dir)
		access &= LL_FS_FILE_RIGHTS;
	if (!access)
		return;
	for (size_t i = 0; i < r->n_rules; i++) {
		if (strcmp(r->rules[i].path, path) == 0) {
			r->rules[i].access |= access;
			return;
		}
	}
	grow_array((void **)&r->rules, &r->cap_rules, r->n_rules + 1, sizeof(*r->rules));
	r->rules[r->n_rules++] = (struct ll_rule){
		.path = xstrdup(path), .access = access, .is_dir = is_dir,
		.id = id ? *id : (struct ll_id){0},
	};
}

void landlock_add_narrowing(struct ll_rules *r, const char *code, const char *path,
			    const char *fmt, ...)
{
	for (size_t i = 0; i < r->n_narrowings; i++)
		if (strcmp(r->narrowings[i].code, code) == 0 &&
		    ((!path && !r->narrowings[i].path) ||
		     (path && r->narrowings[i].path && strcmp(r->narrowings[i].path, path) == 0)))
			return;
	grow_array((void **)&r->narrowings, &r->cap_narrowings, r->n_narrowings + 1,
		   sizeof(*r->narrowings));
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	r->narrowings[r->n_narrowings++] = (struct ll_narrowing){
		.code = code, .path = path ? xstrdup(path) : NULL, .message = msg,
	};
}

void landlock_rules_free(struct ll_rules *r)
{
	for (size_t i = 0; i < r->n_rules; i++)
		free(r->rules[i].path);
	for (size_t i = 0; i < r->n_narrowings; i++) {
		free(r->narrowings[i].path);
		free(r->narrowings[i].message);
	}
	free(r->rules);
	free(r->narrowings);
	memset(r, 0, sizeof(*r));
}

uint64_t landlock_rules_access_at(const struct ll_rules *r, const char *path)
{
	uint64_t a = 0;
	for (size_t i = 0; i < r->n_rules; i++)
		if (path_is_under(path, r->rules[i].path))
			a |= r->rules[i].access;
	return a;
}

void landlock_entries_free(struct ll_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

int landlock_list_dir(const char *dir, struct ll_entry **out, size_t *n, void *user,
		      ab_error *err)
{
	(void)user;
	*out = NULL;
	*n = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ab_fail_errno(err, errno,
				     "landlock: cannot list %s to give its entries their own rules", dir);
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return ab_fail_errno(err, e, "landlock: cannot list %s", dir);
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		enum ll_entry_kind kind;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile: nothing to grant */
		kind = S_ISDIR(st.st_mode) ? LL_ENTRY_DIR : S_ISLNK(st.st_mode) ? LL_ENTRY_SKIP : LL_ENTRY_FILE;
		grow_array((void **)out, &cap, *n + 1, sizeof(**out));
		(*out)[(*n)++] = (struct ll_entry){
			.name = xstrdup(de->d_name), .kind = kind,
			.id = {.have = true, .dev = st.st_dev, .ino = st.st_ino},
		};
	}
	closedir(d);
	return 0;
}

static uint64_t rights_for(ab_access a, uint64_t handled)
{
	switch (a) {
	case AB_ACCESS_READ:
		return LL_FS_READ & handled;
	case AB_ACCESS_WRITE:
		return handled;
	default:
		return 0;
	}
}

/* What node i gets under Landlock. agentbox's state directories are hidden
 * by the mount backends; Landlock can only hide a path by narrowing every
 * readable directory above it (listing / would be refused), so here they
 * keep their parent's access, capped to read-only so that they cannot be
 * forged (a limit the posture states). */
static ab_access landlock_access(const struct plan *plan, size_t i)
{
	const struct plan_node *d = &plan->nodes[i];
	/* Landlock cannot hide a socket from connect(2): the socket nodes
	 * (plan/sockets.c) change nothing here; run/socket_posture.c says
	 * what holds instead */
	if (plan_node_is_socket(d)) {
		int parent = plan_access_at_without_sockets(plan, d->path, (int)i);
		return parent ? (ab_access)parent : AB_ACCESS_NONE;
	}
	if (d->source != NODE_STATE)
		return d->access;
	int parent = plan_access_at_without_sockets(plan, d->path, (int)i);
	return parent == AB_ACCESS_WRITE ? AB_ACCESS_READ : (ab_access)parent;
}

/* Where node d constrains rules above it, and how much they may give. */
static const char *conflict_point(const struct plan_node *d)
{
	return d->exists || !d->first_missing ? d->path : d->first_missing;
}

static uint64_t node_cap(const struct plan *plan, size_t i, uint64_t handled)
{
	const struct plan_node *d = &plan->nodes[i];
	ab_access a = landlock_access(plan, i);
	/* A file (not a directory) keeps its content with or without the
	 * right to list the directories above it: READ_DIR reaches no
	 * file's data, and the name shows there anyway, as the mount
	 * backends' empty file does. So a hidden file (--deny FILE, a deny
	 * glob's match such as a workspace's .env) leaves its directory
	 * listable; a hidden directory does not (READ_DIR would list it). */
	if (d->exists && !d->is_dir)
		return rights_for(a, handled) | (LL_FS_READ_DIR & handled);
	if (d->exists)
		return rights_for(a, handled);
	if (a == AB_ACCESS_WRITE)
		return handled;
	return handled & ~LL_FS_MAKE_ALL;
}

static const char *node_reason(const struct plan *plan, size_t i)
{
	const struct plan_node *d = &plan->nodes[i];
	if (landlock_access(plan, i) == AB_ACCESS_NONE)
		return d->exists ? "hidden" : "absent";
	if (!d->exists)
		return "uncreatable";
	return "read-only";
}

static void note_narrowing(struct walk *w, const char *p, uint64_t lost, size_t i)
{
	const struct plan_node *d = &w->plan->nodes[i];
	const char *why = node_reason(w->plan, i);
	if (lost & LL_FS_READ_DIR)
		landlock_add_narrowing(w->out, "no_list", p,
				       "listing %s is refused (Landlock cannot otherwise keep %s %s)",
				       p, d->path, why);
	if (lost & (LL_FS_REMOVE_FILE | LL_FS_REMOVE_DIR))
		landlock_add_narrowing(w->out, "no_create", p,
				       "creating, removing or renaming entries directly in %s is refused "
				       "(Landlock cannot otherwise keep %s %s)",
				       p, d->path, why);
	else if (lost & LL_FS_MAKE_ALL)
		landlock_add_narrowing(w->out, "no_create", p,
				       "creating entries directly in %s (or renaming into it) is refused "
				       "(Landlock cannot otherwise keep %s %s)",
				       p, d->path, why);
	if (lost & (LL_FS_WRITE_FILE | LL_FS_READ_FILE))
		landlock_add_narrowing(w->out, "new_entries", p,
				       "entries that appear in %s after the start get only what %s itself "
				       "gets (the others got their own rules when the run started)",
				       p, p);
}

/* An entry about to get rule rights r must not be a plan node's file
 * found under another name: a node the plan keeps narrower (a protected
 * .git) renamed there while agentbox started would get the wide rights. */
static int check_not_moved(struct walk *w, const char *c, const struct ll_id *id, uint64_t r)
{
	if (!id || !id->have)
		return 0;
	for (size_t i = 0; i < w->plan->n_nodes; i++) {
		const struct plan_node *d = &w->plan->nodes[i];
		if (!d->exists || d->dev != id->dev || d->ino != id->ino || strcmp(d->path, c) == 0 ||
		    !(r & ~node_cap(w->plan, i, w->handled)))
			continue;
		return ab_fail(w->err, EBUSY,
			       "landlock: %s is the same file as %s (device %llu, inode %llu), which the plan "
			       "keeps %s: it was renamed or linked there while agentbox started; refusing to "
			       "run rather than give it the wider rights of %s\n"
			       "fix: run again once nothing renames files there (a hard link of it in a "
			       "writable directory must go)",
			       c, d->path, (unsigned long long)id->dev, (unsigned long long)id->ino,
			       node_reason(w->plan, i), c);
	}
	return 0;
}

static int grant(struct walk *w, const char *p, bool is_dir, uint64_t r, const struct ll_id *id,
		 int depth)
{
	if (!r)
		return 0;
	if (depth > 256)
		return ab_fail(w->err, ELOOP, "landlock: %s is nested too deeply to compute its rules", p);
	if (!is_dir) {
		landlock_rules_add_id(w->out, p, r, false, id);
		return 0;
	}
	uint64_t keep = r;
	const struct plan_node *first = NULL;
	size_t first_i = 0;
	bool blocked = false;
	for (size_t b = 0; b < w->n_blocks; b++) {
		const struct ll_block *bl = &w->blocks[b];
		if (strcmp(bl->path, p) == 0 || !path_is_under(bl->path, p) || !(r & ~bl->cap))
			continue;
		keep &= bl->cap;
		blocked = true;
	}
	for (size_t i = 0; i < w->plan->n_nodes; i++) {
		const struct plan_node *d = &w->plan->nodes[i];
		const char *cp = conflict_point(d);
		if (strcmp(cp, p) == 0 || !path_is_under(cp, p))
			continue;
		uint64_t cap = node_cap(w->plan, i, w->handled);
		if (!(r & ~cap))
			continue;
		keep &= cap;
		/* name the nearest one in the narrowing: it is the reason a
		 * reader can see from here */
		if (!first || path_depth(cp) < path_depth(conflict_point(first))) {
			first = d;
			first_i = i;
		}
	}
	if (!first && !blocked) {
		landlock_rules_add_id(w->out, p, r, true, id);
		return 0;
	}
	landlock_rules_add_id(w->out, p, keep, true, id);
	if (first)
		note_narrowing(w, p, r & ~keep, first_i);

	struct ll_entry *ents;
	size_t n;
	int ret = w->list(p, &ents, &n, w->user, w->err);
	if (ret < 0)
		return ret;
	for (size_t e = 0; e < n && ret == 0; e++) {
		if (ents[e].kind == LL_ENTRY_SKIP)
			continue;
		_cleanup_free_ char *c = path_join(p, ents[e].name);
		bool leads = false, is_point = false;
		for (size_t b = 0; b < w->n_blocks; b++) {
			const struct ll_block *bl = &w->blocks[b];
			if (!path_is_under(bl->path, c) || !(r & ~bl->cap))
				continue;
			leads = true;
			is_point = is_point || strcmp(bl->path, c) == 0;
		}
		for (size_t i = 0; i < w->plan->n_nodes; i++) {
			const struct plan_node *d = &w->plan->nodes[i];
			const char *cp = conflict_point(d);
			if (!path_is_under(cp, c) || !(r & ~node_cap(w->plan, i, w->handled)))
				continue;
			leads = true;
			is_point = is_point || strcmp(cp, c) == 0;
		}
		if (is_point)
			continue; /* a node of its own: its rule point decides */
		ret = check_not_moved(w, c, &ents[e].id, r);
		if (ret < 0)
			break;
		if (leads)
			ret = grant(w, c, ents[e].kind == LL_ENTRY_DIR, r, &ents[e].id, depth + 1);
		else
			landlock_rules_add_id(w->out, c, r, ents[e].kind == LL_ENTRY_DIR, &ents[e].id);
	}
	landlock_entries_free(ents, n);
	return ret;
}

/* Whether a plan node is `path` or (with `below`) lies under it: the
 * plan names it, so no block of ours applies there. */
static bool plan_names(const struct plan *plan, const char *path, bool below)
{
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const char *np = plan->nodes[i].path;
		if (strcmp(np, path) == 0 || (below && path_is_under(np, path)))
			return true;
	}
	return false;
}

/* The host's /proc is never writable here: the mount backends bind its
 * knobs (/proc/sys, sysrq-trigger, ...) read-only over any /proc, but
 * with no mounts a writable / (full-access) would give root the host's
 * core_pattern or sysrq-trigger, which check nothing but uid 0. So a
 * wider rule is pushed down around /proc, which keeps reading (/sys is a
 * read-only plan node of its own, plan/resolve.c). What this costs: no
 * process of the run can write its own /proc/PID files (oom_score_adj,
 * attr/, comm of another thread); Landlock cannot name them, as they are
 * made after the ruleset. The host's /dev stays out of a wider rule's
 * reach too, and so do its terminals, unless the plan names them. A
 * writable / is the exception for /dev: such a plan gives the host's
 * devices as they are (posture limit). */
static void set_blocks(struct walk *w)
{
	const struct plan *plan = w->plan;
	uint64_t list = (LL_FS_READ_DIR | LL_FS_EXECUTE) & w->handled;
	uint64_t not_open = w->handled & ~(LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE |
					   LL_FS_IOCTL_DEV);
	w->n_blocks = 0;
	w->blocks[w->n_blocks++] = (struct ll_block){"/proc", LL_FS_READ & w->handled};
	if (plan->root_writable)
		return;
	if (!plan_names(plan, "/dev", false))
		w->blocks[w->n_blocks++] = (struct ll_block){"/dev", list};
	if (!plan_names(plan, "/dev/pts", true) && !plan_names(plan, "/dev/ptmx", false)) {
		w->blocks[w->n_blocks++] = (struct ll_block){"/dev/pts", list};
		w->blocks[w->n_blocks++] = (struct ll_block){"/dev/ptmx", not_open};
	}
}

/* What the mount backends' minimal /dev and fresh /proc give, whatever the
 * plan says about / (there is no /dev of our own to mount here). The
 * terminal the command was started on gets its own rule at start, by fd
 * (landlock_add_fd_rule). */
static int add_base_rules(struct walk *w)
{
	const struct plan *plan = w->plan;
	if (plan->root_writable)
		return 0;
	uint64_t dev = (LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_IOCTL_DEV) & w->handled;
	for (size_t i = 0; dev_nodes[i]; i++) {
		struct stat st;
		if (stat(dev_nodes[i], &st) == 0 && S_ISCHR(st.st_mode))
			landlock_rules_add(w->out, dev_nodes[i], dev, false);
	}
	/* the host's /dev/shm (POSIX shared memory): what the plan says
	 * about that path, as the blocked /dev no longer passes it on */
	struct stat st;
	if (w->n_blocks > 0 && strcmp(w->blocks[0].path, "/dev") == 0 &&
	    lstat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && !plan_names(plan, "/dev/shm", false)) {
		struct ll_id id = {.have = true, .dev = st.st_dev, .ino = st.st_ino};
		int r = grant(w, "/dev/shm", true,
			      rights_for((ab_access)plan_access_at(plan, "/dev/shm", -1), w->handled), &id, 0);
		if (r < 0)
			return r;
	}
	if (!plan->root_readable && plan->mount_proc)
		landlock_rules_add(w->out, "/proc", LL_FS_READ & w->handled, true);
	return 0;
}

int landlock_rules_compute(const struct plan *plan, uint64_t handled, ll_lister list, void *user,
			   struct ll_rules *out, ab_error *err)
{
	memset(out, 0, sizeof(*out));
	struct walk w = {
		.plan = plan, .handled = handled, .list = list ? list : landlock_list_dir,
		.user = user, .out = out, .err = err,
	};
	set_blocks(&w);
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		/* a pin is a mount backends' device (plan/pin.c): its
		 * directory already gets what its parent's rule gives */
		if (!n->exists || n->source == NODE_PIN)
			continue;
		struct ll_id id = {.have = true, .dev = n->dev, .ino = n->ino};
		uint64_t rights = rights_for(landlock_access(plan, i), handled);
		if (path_is_under(n->path, "/proc"))
			rights &= LL_FS_READ; /* never its knobs (set_blocks) */
		int r = grant(&w, n->path, n->is_dir, rights, &id, 0);
		if (r < 0) {
			landlock_rules_free(out);
			return r;
		}
	}
	int r = add_base_rules(&w);
	if (r < 0)
		landlock_rules_free(out);
	return r;
}
