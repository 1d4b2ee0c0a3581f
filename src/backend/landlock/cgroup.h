/* A cgroup of the run's own, where the caller has one delegated to it.
 *
 * Without a PID namespace, the command's processes are ended by the
 * reaper (reaper.h). A process that leaves the command's process group
 * (setsid, setpgid) can only be chased by scanning /proc; a cgroup cannot
 * be left (its cgroup.procs files are under /sys, which the plan keeps
 * read-only), and `cgroup.kill` (5.14+) kills every member at once, a
 * fork in progress included. So where the caller's own cgroup v2
 * directory is writable to it (root, or a systemd delegation), the
 * command is moved into a fresh child cgroup before it runs, the reaper
 * ends the run with cgroup.kill, and removes the cgroup afterwards.
 * Elsewhere the command's process group is pinned instead: the seccomp
 * filter refuses setsid and setpgid out of it (inner/seccomp_notify.c),
 * and the reaper stops and kills that group. */
#ifndef AB_BACKEND_LANDLOCK_CGROUP_H
#define AB_BACKEND_LANDLOCK_CGROUP_H

#include <stdbool.h>

#include "agentbox.h"

struct ll_cgroup {
	bool set_up;   /* ll_cgroup_setup ran (a zeroed one holds no fds) */
	bool usable;   /* a delegated cgroup v2 with cgroup.kill is there */
	bool created;  /* the run's child cgroup exists (the fds below are open) */
	char *path;    /* the child cgroup (for a run) or where it would go (explain) */
	char *why_not; /* when not usable: why, for the posture */
	char name[64]; /* its name in the parent */
	int parent_fd, procs_fd, kill_fd, events_fd;
};

/* Finds the caller's cgroup and, with `create`, makes the run's child
 * cgroup and opens what the reaper needs; never fails: on any problem
 * usable is false and why_not says why (the run then pins the process
 * group). AGENTBOX_TEST_NO_CGROUP=1 forces that path (for the tests only). */
void ll_cgroup_setup(struct ll_cgroup *cg, bool create);

/* Closes the fds and removes the child cgroup if it is still there and
 * empty (the reaper normally removed it); frees the strings. */
void ll_cgroup_free(struct ll_cgroup *cg);

#endif
