/* The Landlock backend's reaper: an intermediate process between the
 * supervisor and the command, and the child subreaper of the run.
 *
 * Without a PID namespace nothing ends what the command leaves behind (a
 * daemonised grandchild, a chain that keeps forking). The reaper makes
 * itself a child subreaper, so every orphan of the command becomes its
 * child, forks the command, reports the command's wait status to the
 * supervisor, and then stops and kills every descendant left. It also
 * watches a pipe from the supervisor: at EOF (the supervisor died, kill -9
 * included) it ends the command and the rest the same way before it
 * exits, instead of leaving them to init. Being our own process, it keeps
 * the caller free of PR_SET_CHILD_SUBREAPER: the caller's own children
 * and other runs are never touched.
 *
 * Where the run has a cgroup of its own (cgroup.h) the command is put
 * into it before it runs and the end is cgroup.kill, which reaches every
 * process of the run at once whatever session or group it made; the
 * rounds below then only reap. Without one, the command's process group
 * cannot be left (the filter refuses setsid/setpgid), so stopping and
 * killing that group reaches every process of the run too.
 *
 * It runs after fork() in a process that may have threads, so it uses
 * only async-signal-safe calls: raw open/getdents64/read of /proc into
 * buffers prepared before the fork, kill, waitpid, poll, prctl. */
#ifndef AB_BACKEND_LANDLOCK_REAPER_H
#define AB_BACKEND_LANDLOCK_REAPER_H

#include <stddef.h>
#include <sys/types.h>

#include "agentbox.h"

struct reaper_proc {
	pid_t pid, ppid;
	char state; /* from /proc/PID/stat: R S D T t Z X ... */
	char mark;  /* a descendant of the reaper */
};

/* Memory the reaper needs, allocated before the fork. */
struct reaper_buf {
	struct reaper_proc *procs;
	size_t cap;
	char *dents;
	size_t dents_cap;
};

int reaper_buf_init(struct reaper_buf *b, ab_error *err);
void reaper_buf_free(struct reaper_buf *b);

struct reaper_args {
	struct reaper_buf *buf;
	int life_fd;   /* read end of a pipe whose writer is the supervisor */
	int status_fd; /* write end: {"child-pid":N} then {"wait-status":W,"killed":K} */
	int report_fd; /* the setup report pipe: our own failures go there */
	/* The run's cgroup (cgroup.h), all -1 when there is none: the
	 * command's child joins it through procs_fd before it runs anything,
	 * the end is one write to kill_fd, and the empty cgroup is removed
	 * as parent_fd/cg_name once events_fd says it is unpopulated. */
	int cg_procs_fd, cg_kill_fd, cg_events_fd, cg_parent_fd;
	const char *cg_name;
	/* In the command's child; never returns. reaper is our pid. */
	void (*command)(void *arg, pid_t reaper) __attribute__((noreturn));
	void *command_arg;
};

/* In the child of fork(): never returns. Exits 0 after reporting the
 * command's status and ending every descendant; AB_EXIT_FAILURE with a
 * message on report_fd when it could not start the command. */
_Noreturn void reaper_main(const struct reaper_args *a);

#endif
