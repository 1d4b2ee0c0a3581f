/* agentbox's own binary against the plan (see self_check.h).
 *
 * What is checked, for the executable and for every shared object mapped
 * executable in this process:
 *  - the file itself must not be writable inside;
 *  - no directory on the way to it may be writable inside, unless the
 *    entry below it is a mountpoint of its own there (a plan node with an
 *    operation): otherwise the command could rename that entry away and put
 *    its own in its place;
 *  - it must have one name only, unless its filesystem is mounted
 *    read-only: another hard link could lie in a writable area, and
 *    writing through it rewrites the same file. agentbox cannot find the
 *    other names, so it does not guess.
 * When the executable cannot be found at all, nothing can be checked and
 * the run is refused the same way (fail closed).
 *
 * The CLI is linked static-pie (meson.build), so /proc/self/maps names
 * only the executable; a dynamic build (-Dstatic_cli=false, sanitizer
 * builds, or a program that embeds libagentbox) also maps the dynamic
 * loader and its libraries, and those are checked too. Not covered:
 * modules loaded later (glibc's NSS modules for name lookups in the
 * proxy come from the system library directory), and the same file
 * reached through a host bind mount elsewhere. */
#include "run/self_check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/error.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

static const char fix_install[] =
	"fix: install agentbox outside the workspace and every writable root (e.g. `sudo make install`, "
	"or copy it to /usr/local/bin) and run that copy, or pass --allow-writable-self "
	"(ab_run_options.allow_writable_self) to run anyway";
static const char fix_proc[] =
	"fix: run agentbox with procfs mounted on /proc (it finds its own executable and the shared "
	"objects it maps there), or pass --allow-writable-self "
	"(ab_run_options.allow_writable_self) to run anyway";

/* A path that is a mountpoint of its own inside cannot be renamed or
 * removed from its directory: rename(2) and unlink(2) of a mountpoint fail
 * with EBUSY. Landlock mounts nothing, but it takes the rights to create
 * and remove entries from every directory on the way from a wider rule to
 * such a node (landlock_rules.c), so the same holds there. */
static bool pinned(const struct plan *plan, const char *path)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		if (strcmp(op->path, path) != 0)
			continue;
		switch (op->kind) {
		case OP_ROOT_BIND_RO:
		case OP_ROOT_BIND_RW:
		case OP_ROOT_TMPFS:
		case OP_BIND_RO:
		case OP_BIND_RW:
		case OP_PIN:
		case OP_MASK_DIR:
		case OP_MASK_FILE:
		case OP_BLOCK_DIR:
		case OP_BLOCK_FILE:
			return true;
		default:
			break;
		}
	}
	return false;
}

/* From the file up to /: is `file` writable, or can an entry on its way
 * be replaced? Sets *writable (the file or the writable directory) and
 * *entry (what could be replaced). */
static bool find_writable(const struct plan *plan, const char *file, char **writable,
			  char **entry)
{
	if (plan_access_at(plan, file, -1) == AB_ACCESS_WRITE) {
		*writable = xstrdup(file);
		*entry = xstrdup(file);
		return true;
	}
	char *x = xstrdup(file);
	while (strcmp(x, "/") != 0) {
		char *parent = path_parent(x);
		if (plan_access_at(plan, parent, -1) == AB_ACCESS_WRITE && !pinned(plan, x)) {
			*writable = parent;
			*entry = x;
			return true;
		}
		free(x);
		x = parent;
	}
	free(x);
	return false;
}

static char *describe(const char *file, bool is_exe)
{
	return is_exe ? xasprintf("agentbox's own executable %s", file)
		      : xasprintf("%s, a shared object agentbox runs,", file);
}

static void set_risk(struct self_check *c, const struct plan *plan, bool allow,
		     const char *file, char *reason)
{
	c->verdict = SELF_REFUSED;
	c->file = file ? xstrdup(file) : NULL;
	c->reason = reason;
	c->fix = fix_install;
	/* Under a writable / the command can change every program on this
	 * machine, bubblewrap included (bwrap_locate accepts it there too):
	 * refusing agentbox alone would protect nothing. */
	if (allow)
		c->accepted_by = "--allow-writable-self";
	else if (plan->root_writable)
		c->accepted_by = "full-access";
	if (c->accepted_by)
		c->verdict = SELF_ACCEPTED;
}

/* 0 when `file` is out of reach; else fills c and returns 1. */
static int check_one(struct self_check *c, const struct plan *plan, const char *file, bool is_exe,
		     bool allow)
{
	_cleanup_free_ char *who = describe(file, is_exe);
	char *writable = NULL, *entry = NULL;
	if (find_writable(plan, file, &writable, &entry)) {
		int n = plan_node_at(plan, writable, -1);
		const struct plan_node *node = n >= 0 ? &plan->nodes[n] : NULL;
		char *reason;
		if (strcmp(writable, file) == 0)
			reason = xasprintf("%s is writable inside the sandbox (writable root %s, from %s)",
					   who, node ? node->path : "?", node ? node->why : "?");
		else
			reason = xasprintf("%s lies under %s, which is writable inside the sandbox "
					   "(writable root %s, from %s), so %s could be renamed away and replaced",
					   who, writable, node ? node->path : "?", node ? node->why : "?", entry);
		set_risk(c, plan, allow, file, reason);
		c->writable = writable;
		if (node) {
			c->writable_root = xstrdup(node->path);
			c->rule = xstrdup(node->why);
		}
		free(entry);
		return 1;
	}
	struct stat st;
	if (stat(file, &st) < 0) {
		int e = errno;
		set_risk(c, plan, allow, file,
			 xasprintf("cannot inspect %s (%s): %s", file,
				   is_exe ? "agentbox's own executable" : "a shared object agentbox runs",
				   strerror(e)));
		return 1;
	}
	struct statvfs vfs;
	if (st.st_nlink > 1 && !(statvfs(file, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))) {
		set_risk(c, plan, allow, file,
			 xasprintf("%s has %lu hard links on a writable filesystem: agentbox cannot find "
				   "the other names to check that none of them is writable inside the sandbox",
				   who, (unsigned long)st.st_nlink));
		return 1;
	}
	return 0;
}

void self_check_files(const struct plan *plan, const char *const *files, size_t n,
		      const char *unknown_why, const char *unknown_fix, bool allow,
		      struct self_check *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = SELF_NOT_WRITABLE;
	out->exe = n > 0 ? xstrdup(files[0]) : NULL;
	out->n_files = n;
	for (size_t i = 0; i < n; i++)
		if (check_one(out, plan, files[i], i == 0, allow))
			return;
	if (unknown_why) {
		set_risk(out, plan, allow, NULL,
			 xasprintf("%s, so agentbox cannot check that the sandbox cannot replace what it runs",
				   unknown_why));
		out->fix = unknown_fix ? unknown_fix : fix_install;
	}
}

/* The files mapped executable in this process besides `exe`, from
 * /proc/self/maps ("ADDR PERMS OFFSET DEV INODE   PATH"). Returns NULL or
 * why they could not be read. */
static char *mapped_objects(int procfd, const char *exe, strv *files)
{
	int fd = openat(procfd, "self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xasprintf("cannot read /proc/self/maps to find the shared objects agentbox runs: %s",
				 strerror(errno));
	sbuf b = {0};
	char buf[4096];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			sbuf_free(&b);
			return xasprintf("cannot read /proc/self/maps: %s", strerror(e));
		}
		sbuf_addn(&b, buf, (size_t)r);
	}
	close(fd);
	for (char *line = b.s, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char perms[8];
		int off = -1;
		if (sscanf(line, "%*s %7s %*s %*s %*s %n", perms, &off) < 1 || off <= 0 ||
		    !strchr(perms, 'x'))
			continue;
		char *path = line + off;
		/* Anonymous code ([vdso]) and memfd code have no name a later
		 * run would load from. */
		if (path[0] != '/' || strncmp(path, "/memfd:", 7) == 0)
			continue;
		/* A file replaced since it was mapped: the next run loads what
		 * is at the name now, so the name is what matters. */
		size_t len = strlen(path);
		static const char deleted[] = " (deleted)";
		if (len > sizeof(deleted) - 1 && strcmp(path + len - (sizeof(deleted) - 1), deleted) == 0)
			path[len - (sizeof(deleted) - 1)] = '\0';
		bool seen = strcmp(path, exe) == 0;
		for (size_t i = 0; i < files->n && !seen; i++)
			seen = strcmp(files->v[i], path) == 0;
		if (!seen)
			strv_push(files, path);
	}
	sbuf_free(&b);
	return NULL;
}

void self_check_run(const struct plan *plan, const char *exe, bool allow, struct self_check *out)
{
	strv files = {0};
	_cleanup_free_ char *why = NULL;
	const char *fix = fix_proc;
	_cleanup_close_ int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statfs sf;
	if (procfd < 0) {
		why = xasprintf("cannot open /proc to find agentbox's own executable: %s", strerror(errno));
	} else if (fstatfs(procfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
		why = xstrdup("/proc is not a procfs mount, so it cannot say where agentbox's own executable is");
	} else if (exe) {
		strv_push(&files, exe);
		why = mapped_objects(procfd, exe, &files);
	} else {
		char link[PATH_MAX];
		ssize_t n = readlinkat(procfd, "self/exe", link, sizeof(link) - 1);
		if (n < 0) {
			why = xasprintf("cannot find agentbox's own executable (/proc/self/exe: %s)",
					strerror(errno));
		} else {
			/* Typically "PATH (deleted)": replaced since it started. */
			link[n] = '\0';
			why = xasprintf("cannot find agentbox's own executable (/proc/self/exe names \"%s\", which does not resolve)",
					link);
			fix = fix_install;
		}
	}
	self_check_files(plan, (const char *const *)files.v, files.n, why, fix, allow, out);
	strv_free(&files);
}

void self_check_free(struct self_check *c)
{
	free(c->exe);
	free(c->file);
	free(c->writable);
	free(c->writable_root);
	free(c->rule);
	free(c->reason);
	memset(c, 0, sizeof(*c));
}

int self_check_refusal(const struct self_check *c, ab_error *err)
{
	return ab_fail(err, EPERM,
		       "refusing to run: %s (a sandboxed command that replaces agentbox disarms every later "
		       "run: they would run its replacement without a sandbox)\n%s",
		       c->reason, c->fix);
}

char *self_check_warning(const struct self_check *c)
{
	if (c->accepted_by && strcmp(c->accepted_by, "full-access") == 0)
		return xasprintf("%s; not refused because the policy makes / itself writable (full-access), "
				 "so the command can change any program on this machine anyway",
				 c->reason);
	return xasprintf("%s; running anyway (%s): the command can replace it for later runs",
			 c->reason, c->accepted_by);
}

static const char *verdict_name(enum self_verdict v)
{
	switch (v) {
	case SELF_NOT_WRITABLE: return "not-writable";
	case SELF_REFUSED: return "refused";
	case SELF_ACCEPTED: return "accepted";
	}
	return "?";
}

void self_check_append_json(const struct self_check *c, sbuf *b)
{
	sbuf_add(b, ",\"self\":{\"path\":");
	sbuf_add_json_string_or_null(b, c->exe);
	sbuf_addf(b, ",\"files_checked\":%zu,\"writable\":%s,\"verdict\":\"%s\"", c->n_files,
		  c->verdict == SELF_NOT_WRITABLE ? "false" : "true", verdict_name(c->verdict));
	if (c->verdict != SELF_NOT_WRITABLE) {
		sbuf_add(b, ",\"file\":");
		sbuf_add_json_string_or_null(b, c->file);
		sbuf_add(b, ",\"writable_path\":");
		sbuf_add_json_string_or_null(b, c->writable);
		sbuf_add(b, ",\"writable_root\":");
		sbuf_add_json_string_or_null(b, c->writable_root);
		sbuf_add(b, ",\"rule\":");
		sbuf_add_json_string_or_null(b, c->rule);
		sbuf_add(b, ",\"accepted_by\":");
		sbuf_add_json_string_or_null(b, c->accepted_by);
		sbuf_add(b, ",\"message\":");
		sbuf_add_json_string(b, c->reason);
	}
	sbuf_add(b, "}");
}

void self_check_print(const struct self_check *c, FILE *out)
{
	switch (c->verdict) {
	case SELF_NOT_WRITABLE:
		fprintf(out, "self: %s is out of the sandbox's reach (checked %zu file%s: the executable%s)\n",
			c->exe, c->n_files, c->n_files == 1 ? "" : "s",
			c->n_files > 1 ? " and the shared objects it maps" : "");
		return;
	case SELF_REFUSED:
		fprintf(out, "self: refused: %s\n  `agentbox run` would exit 125 without running anything\n  %s\n",
			c->reason, c->fix);
		return;
	case SELF_ACCEPTED:
		fprintf(out, "self: writable, accepted (%s): %s\n", c->accepted_by, c->reason);
		return;
	}
}
