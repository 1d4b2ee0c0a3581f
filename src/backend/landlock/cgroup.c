/* See cgroup.h. */
#include "backend/landlock/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* A small file read whole (NUL-terminated), or NULL. */
static char *read_small(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 8192, len = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* The directory of our own cgroup v2, or NULL with *why set. */
static char *own_cgroup_dir(char **why)
{
	_cleanup_free_ char *cg = read_small("/proc/self/cgroup");
	const char *rel = NULL;
	char *lines_save = NULL; /* strtok_r: a library runs on its caller's threads */
	for (char *line = cg ? strtok_r(cg, "\n", &lines_save) : NULL; line;
	     line = strtok_r(NULL, "\n", &lines_save))
		if (strncmp(line, "0::", 3) == 0)
			rel = line + 3;
	if (!rel) {
		*why = xstrdup("this process is in no cgroup v2 (/proc/self/cgroup has no 0:: line)");
		return NULL;
	}
	_cleanup_free_ char *rel_copy = xstrdup(rel);
	_cleanup_free_ char *mi = read_small("/proc/self/mountinfo");
	char *mi_save = NULL;
	for (char *line = mi ? strtok_r(mi, "\n", &mi_save) : NULL; line;
	     line = strtok_r(NULL, "\n", &mi_save)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPER */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		*sep = '\0';
		char *f[5] = {0};
		char *save = NULL;
		size_t n = 0;
		for (char *t = strtok_r(line, " ", &save); t && n < 5; t = strtok_r(NULL, " ", &save))
			f[n++] = t;
		if (n < 5)
			continue;
		unescape(f[3]);
		unescape(f[4]);
		/* the mount shows ROOT of the hierarchy; ours must lie in it */
		const char *root = f[3], *below = rel_copy;
		size_t rl = strlen(root);
		if (strcmp(root, "/") != 0) {
			if (strncmp(rel_copy, root, rl) != 0 || (rel_copy[rl] && rel_copy[rl] != '/'))
				continue;
			below = rel_copy + rl;
		}
		return xasprintf("%s%s", f[4], strcmp(below, "/") == 0 ? "" : below);
	}
	*why = xstrdup("no cgroup v2 hierarchy is mounted (none in /proc/self/mountinfo)");
	return NULL;
}

/* Why there is no usable cgroup: WHAT, the path and the errno text. */
static void set_why(struct ll_cgroup *cg, const char *what, const char *path, int e)
{
	free(cg->why_not);
	cg->why_not = e ? xasprintf("%s %s: %s", what, path, strerror(e)) : xasprintf("%s %s", what, path);
	cg->usable = false;
}

/* Removes the empty cgroups of earlier runs whose agentbox is gone (a
 * run whose reaper was killed too leaves its cgroup behind). Only empty
 * ones: rmdir(2) refuses a cgroup with processes, so a live run that
 * this process cannot see (another PID namespace) loses nothing. */
static void sweep_stale(int parent_fd)
{
	int fd = dup(parent_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		long pid;
		unsigned n;
		char tail;
		if (sscanf(de->d_name, "agentbox-%ld-%u%c", &pid, &n, &tail) != 2 || pid <= 0 ||
		    pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its agentbox (or a process with its id) lives */
		unlinkat(parent_fd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void ll_cgroup_setup(struct ll_cgroup *cg, bool create)
{
	static atomic_uint counter;
	*cg = (struct ll_cgroup){.set_up = true, .parent_fd = -1, .procs_fd = -1, .kill_fd = -1, .events_fd = -1};
	const char *knob = getenv("AGENTBOX_TEST_NO_CGROUP");
	if (knob && strcmp(knob, "1") == 0) {
		cg->why_not = xstrdup("AGENTBOX_TEST_NO_CGROUP=1 is set (a knob for agentbox's tests only)");
		return;
	}
	_cleanup_free_ char *dir = own_cgroup_dir(&cg->why_not);
	if (!dir)
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sf;
	if (fd < 0)
		return set_why(cg, "cannot open this process's cgroup", dir, errno);
	if (fstatfs(fd, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		return set_why(cg, "not a cgroup v2 directory:", dir, 0);
	}
	/* delegated: we may make a child there and move our own processes
	 * (moving needs write access to the common parent's cgroup.procs) */
	if (faccessat(fd, ".", W_OK, AT_EACCESS) < 0 || faccessat(fd, "cgroup.procs", W_OK, AT_EACCESS) < 0) {
		int e = errno;
		close(fd);
		return set_why(cg, "this process's cgroup is not delegated to this user (not writable):", dir, e);
	}
	snprintf(cg->name, sizeof(cg->name), "agentbox-%ld-%u", (long)getpid(), atomic_fetch_add(&counter, 1));
	cg->path = xasprintf("%s/%s", dir, cg->name);
	cg->parent_fd = fd;
	cg->usable = true;
	if (!create)
		return;
	sweep_stale(fd);
	if (mkdirat(fd, cg->name, 0755) < 0)
		return set_why(cg, "cannot make the run's cgroup", cg->path, errno);
	cg->created = true;
	int child = openat(fd, cg->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (child < 0)
		return set_why(cg, "cannot open the run's cgroup", cg->path, errno);
	cg->kill_fd = openat(child, "cgroup.kill", O_WRONLY | O_CLOEXEC);
	int e = errno;
	cg->procs_fd = openat(child, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	cg->events_fd = openat(child, "cgroup.events", O_RDONLY | O_CLOEXEC);
	close(child);
	if (cg->kill_fd < 0)
		return set_why(cg, e == ENOENT ? "the kernel has no cgroup.kill (Linux 5.14+) in"
					       : "cannot open cgroup.kill in",
			       cg->path, e == ENOENT ? 0 : e);
	if (cg->procs_fd < 0 || cg->events_fd < 0)
		return set_why(cg, "cannot open cgroup.procs and cgroup.events in", cg->path, errno);
}

void ll_cgroup_free(struct ll_cgroup *cg)
{
	if (!cg->set_up)
		return; /* zeroed: its fds are no fds of ours */
	int *fds[] = {&cg->procs_fd, &cg->kill_fd, &cg->events_fd};
	for (size_t i = 0; i < 3; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	if (cg->created && cg->parent_fd >= 0)
		unlinkat(cg->parent_fd, cg->name, AT_REMOVEDIR); /* ENOENT: the reaper did */
	if (cg->parent_fd >= 0)
		close(cg->parent_fd);
	cg->parent_fd = -1;
	cg->created = false;
	free(cg->path);
	free(cg->why_not);
	cg->path = cg->why_not = NULL;
	cg->set_up = false;
}
