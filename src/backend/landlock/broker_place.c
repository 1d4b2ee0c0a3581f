/* The place a creating, removing or renaming call names (broker_fs.c,
 * broker_open.c): its directory opened by the broker itself and checked
 * against the kernel's path of it, and the plan's verdict on it. */
#include "backend/landlock/broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "plan/plan.h"



/* True when the plan makes `p` and everything below it writable. */
static bool wholly_writable(const struct plan *plan, const char *p)
{
	if (plan_access_at_without_sockets(plan, p, -1) != AB_ACCESS_WRITE)
		return false;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (plan_node_is_socket(n))
			continue; /* not enforced under Landlock (plan/sockets.c) */
		bool below = path_is_under(n->path, p) ||
			     (!n->exists && n->first_missing && path_is_under(n->first_missing, p));
		bool above = path_is_under(p, n->path);
		/* agentbox's state stays read-only under Landlock (landlock.h) */
		if (n->source == NODE_STATE && (above || below))
			return false;
		if (below && (n->access != AB_ACCESS_WRITE || n->protected_name))
			return false;
	}
	return true;
}

/* True when the plan makes directory `p` writable: an unnamed file
 * made there (O_TMPFILE) changes nothing else, and naming it later is a
 * link, which comes here again. */
static bool dir_writable(const struct plan *plan, const char *p)
{
	if (plan_access_at(plan, p, -1) != AB_ACCESS_WRITE)
		return false;
	for (size_t i = 0; i < plan->n_nodes; i++)
		if (plan->nodes[i].source == NODE_STATE && path_is_under(p, plan->nodes[i].path))
			return false;
	return true;
}

/* The kernel's path of directory fd `dir`, checked to still name it. */
static int dir_path(int dir, char *out, size_t len)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dir);
	ssize_t n = readlink(proc, out, len - 1);
	if (n <= 0 || (size_t)n >= len - 1)
		return -1;
	out[n] = '\0';
	if (out[0] != '/' || strstr(out, " (deleted)"))
		return -1;
	struct stat a, b;
	int fd = open(out, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fstat(fd, &a) == 0 && fstat(dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	close(fd);
	return r ? 0 : -1;
}

/* 0: the place is resolved and the plan makes it writable as a whole;
 * 1: not for the broker (let it continue); -errno: answer with that. */
int broker_resolve(const struct broker_call *c, int dirfd, unsigned long long addr, bool dir_ok,
		   struct broker_place *pl)
{
	char path[PATH_MAX], fixed[PATH_MAX + 32];
	pl->dir = -1;
	int r = broker_read_str(c, addr, path, sizeof(path));
	if (r == -EFAULT)
		return 1; /* unreadable (a non-dumpable caller, a bad pointer): the kernel decides */
	if (r < 0)
		return r;
	size_t len = strlen(path);
	bool slash = false;
	while (len > 1 && path[len - 1] == '/') {
		path[--len] = '\0';
		slash = true;
	}
	if (!len || (slash && !dir_ok))
		return 1;
	char *last = strrchr(path, '/');
	const char *name = last ? last + 1 : path;
	/* "." only as the directory of an O_TMPFILE (open(".", O_TMPFILE)) */
	if (!*name || (strcmp(name, ".") == 0 && !pl->unnamed) || strcmp(name, "..") == 0)
		return 1;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(pl->name, sizeof(pl->name), "%s", name);
	const char *dpart = ".";
	if (last == path)
		dpart = "/";
	else if (last) {
		*last = '\0';
		dpart = path;
	}
	if (dpart[0] == '/') {
		broker_own_proc(c, dpart, fixed, sizeof(fixed));
		pl->dir = open(fixed, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		int base = broker_open_base(c, dirfd);
		if (base < 0)
			return 1;
		pl->dir = openat(base, dpart, O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(base);
	}
	if (pl->dir < 0)
		return 1; /* the kernel gives the caller the right error */
	if (broker_kernel_fs(pl->dir))
		return 1; /* never the kernel's knobs: Landlock keeps /proc read-only */
	char dp[PATH_MAX];
	if (dir_path(pl->dir, dp, sizeof(dp)) < 0 ||
	    snprintf(pl->path, sizeof(pl->path), "%s/%s", strcmp(dp, "/") == 0 ? "" : dp, pl->name) >=
		    (int)sizeof(pl->path))
		return 1;
	if (pl->unnamed && strcmp(pl->name, ".") == 0)
		snprintf(pl->path, sizeof(pl->path), "%s", dp);
	if (pl->unnamed)
		return dir_writable(c->b->plan, pl->path) ? 0 : 1;
	return wholly_writable(c->b->plan, pl->path) ? 0 : 1;
}

void broker_place_drop(struct broker_place *pl)
{
	if (pl->dir >= 0)
		close(pl->dir);
	pl->dir = -1;
}

/* The caller's umask, from /proc/TID/status: the broker thread's own is
 * 0 (broker.c), so the mode is computed here as the kernel would. */
mode_t broker_caller_umask(const struct broker_call *c)
{
	char p[64], buf[2048];
	snprintf(p, sizeof(p), "/proc/%u/status", c->req->pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	mode_t m = 077; /* unreadable: the strictest */
	if (fd < 0)
		return m;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return m;
	buf[n] = '\0';
	const char *u = strstr(buf, "\nUmask:");
	if (u)
		m = (mode_t)strtoul(u + 7, NULL, 8) & 0777;
	return m;
}
