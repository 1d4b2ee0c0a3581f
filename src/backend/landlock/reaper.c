/* See reaper.h. Everything below reaper_buf_* runs in the forked reaper
 * and is async-signal-safe: no malloc, no stdio, no opendir, no locale. */
#include "backend/landlock/reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

/* Processes on the host the table can hold; beyond that a scan sees only
 * the first ones (the rounds below then go on until none is left). */
#define REAPER_MAX_PROCS 32768
#define REAPER_DENTS_BYTES (64 * 1024)
/* Rounds of SIGSTOP before SIGKILL regardless: each round stops every
 * running descendant seen, and a stopped process cannot fork, so a chain
 * that keeps re-growing is caught after a few rounds. */
#define STOP_ROUNDS 1000
#define KILL_ROUNDS 1000
#define CHILD_POLL_MS 50

int reaper_buf_init(struct reaper_buf *b, ab_error *err)
{
	b->cap = REAPER_MAX_PROCS;
	b->dents_cap = REAPER_DENTS_BYTES;
	b->procs = calloc(b->cap, sizeof(*b->procs));
	b->dents = malloc(b->dents_cap);
	if (!b->procs || !b->dents) {
		reaper_buf_free(b);
		return ab_fail(err, ENOMEM, "landlock: out of memory for the reaper's process table");
	}
	return 0;
}

void reaper_buf_free(struct reaper_buf *b)
{
	free(b->procs);
	free(b->dents);
	b->procs = NULL;
	b->dents = NULL;
}

/* ---- async-signal-safe helpers ------------------------------------- */

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	buf[at] = '\0';
	return at;
}

static size_t put_int(char *buf, size_t at, size_t cap, long v)
{
	char tmp[24];
	size_t n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < sizeof(tmp));
	if (v < 0 && at + 1 < cap)
		buf[at++] = '-';
	while (n && at + 1 < cap)
		buf[at++] = tmp[--n];
	buf[at] = '\0';
	return at;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static _Noreturn void fail(int report_fd, const char *what, int e)
{
	char msg[256];
	size_t n = put_str(msg, 0, sizeof(msg), what);
	n = put_str(msg, n, sizeof(msg), ": errno ");
	n = put_int(msg, n, sizeof(msg), e);
	write_all(report_fd, msg, n);
	_exit(AB_EXIT_FAILURE);
}

/* "/proc/PID/stat" -> state and ppid; false when the process is gone. */
static bool read_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[40], buf[512];
	size_t n = put_str(path, 0, sizeof(path), "/proc/");
	n = put_int(path, n, sizeof(path), pid);
	put_str(path, n, sizeof(path), "/stat");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, ')' too, so
	 * parse from its last ')' */
	char *rp = NULL;
	for (char *p = buf; *p; p++)
		if (*p == ')')
			rp = p;
	if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
		return false;
	*state = rp[2];
	long v = 0;
	const char *p = rp + 4;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	*ppid = (pid_t)v;
	return true;
}

struct linux_dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Every process on the host into b->procs (up to b->cap); the count. */
static size_t scan(struct reaper_buf *b)
{
	size_t n = 0;
	int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	for (;;) {
		long got = syscall(SYS_getdents64, dfd, b->dents, b->dents_cap);
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			const struct linux_dirent64_raw *d = (const void *)(b->dents + off);
			off += d->d_reclen;
			long pid = 0;
			const char *p = d->d_name;
			for (; *p >= '0' && *p <= '9'; p++)
				pid = pid * 10 + (*p - '0');
			if (p == d->d_name || *p || n >= b->cap)
				continue;
			struct reaper_proc *rp = &b->procs[n];
			rp->pid = (pid_t)pid;
			rp->mark = 0;
			if (read_stat(rp->pid, &rp->state, &rp->ppid))
				n++;
		}
	}
	close(dfd);
	return n;
}

/* Marks the reaper's descendants (children first, then theirs, until a
 * pass adds none); returns how many. */
static size_t mark_descendants(struct reaper_buf *b, size_t n, pid_t self)
{
	size_t marked = 0;
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			struct reaper_proc *p = &b->procs[i];
			if (p->mark || p->pid == self)
				continue;
			bool ours = p->ppid == self;
			for (size_t j = 0; !ours && j < n; j++)
				ours = b->procs[j].mark && b->procs[j].pid == p->ppid;
			if (ours) {
				p->mark = 1;
				marked++;
				more = true;
			}
		}
	}
	return marked;
}

static bool is_dead(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

static void reap_nohang(pid_t cmd, int *cmd_status, bool *cmd_done)
{
	int s;
	pid_t w;
	while ((w = waitpid(-1, &s, WNOHANG)) > 0)
		if (w == cmd && cmd_done) {
			*cmd_status = s;
			*cmd_done = true;
		}
}

static void pause_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Stops every descendant with SIGSTOP, round after round, until a scan
 * finds none still running (stopped processes cannot fork, so nothing new
 * appears after that); then SIGKILLs them all until none is left and
 * reaps them. Returns how many other than cmd were alive to be killed. */
static long end_descendants(struct reaper_buf *b, pid_t self, pid_t cmd, int *cmd_status,
			    bool *cmd_done)
{
	for (int round = 0; round < STOP_ROUNDS; round++) {
		size_t n = scan(b);
		mark_descendants(b, n, self);
		size_t running = 0;
		for (size_t i = 0; i < n; i++) {
			const struct reaper_proc *p = &b->procs[i];
			if (!p->mark || is_dead(p->state) || p->state == 'T' || p->state == 't')
				continue;
			kill(p->pid, SIGSTOP);
			running++;
		}
		if (!running)
			break;
		pause_ms(1); /* let the stops land (one in D state waits) */
	}
	long killed = -1;
	for (int round = 0; round < KILL_ROUNDS; round++) {
		size_t n = scan(b);
		mark_descendants(b, n, self);
		long alive = 0;
		for (size_t i = 0; i < n; i++) {
			const struct reaper_proc *p = &b->procs[i];
			if (!p->mark || is_dead(p->state))
				continue;
			kill(p->pid, SIGKILL);
			alive += p->pid != cmd;
		}
		if (killed < 0)
			killed = alive;
		reap_nohang(cmd, cmd_status, cmd_done);
		if (!alive && (*cmd_done || cmd <= 0))
			break;
		pause_ms(1);
	}
	/* Everything is dying; its zombies come to us (subreaper). Never a
	 * blocking wait: one that escaped the rounds (a chain that outran
	 * them) is killed as the scans find it, so this cannot hang. */
	for (;;) {
		int s;
		pid_t w = waitpid(-1, &s, WNOHANG);
		if (w == cmd) {
			*cmd_status = s;
			*cmd_done = true;
		}
		if (w > 0 || (w < 0 && errno == EINTR))
			continue;
		if (w < 0)
			break; /* ECHILD: nothing of the run is left */
		size_t n = scan(b);
		mark_descendants(b, n, self);
		for (size_t i = 0; i < n; i++)
			if (b->procs[i].mark && !is_dead(b->procs[i].state))
				kill(b->procs[i].pid, SIGKILL);
		pause_ms(1);
	}
	return killed < 0 ? 0 : killed;
}

/* Reaps the orphans that came to us, but never the command: while it is
 * unreaped its pid, and with it its process group's id, cannot be reused,
 * so the group can be stopped by that id (reaper_main). */
static void reap_orphans(pid_t cmd)
{
	for (;;) {
		siginfo_t si = {0};
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == EINTR)
			continue;
		if (si.si_pid <= 0 || si.si_pid == cmd)
			return;
		waitpid(si.si_pid, NULL, WNOHANG);
	}
}

static bool command_exited(pid_t cmd)
{
	siginfo_t si = {0};
	return waitid(P_PID, (id_t)cmd, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == cmd;
}

static void close_range_of(unsigned first, unsigned last)
{
	if (first > last)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, first, last, 0U) == 0)
		return;
#endif
	/* no close_range: the common range by hand */
	for (unsigned fd = first; fd <= last && fd < 4096; fd++)
		close((int)fd);
}

/* Closes every fd but 0, 1, 2 and the n in keep (-1 entries ignored). */
static void close_others(int *keep, size_t n)
{
	/* sorted in place (a handful: insertion sort) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned next = 3;
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)next)
			continue;
		close_range_of(next, (unsigned)keep[i] - 1);
		next = (unsigned)keep[i] + 1;
	}
	close_range_of(next, ~0U);
}

/* True while cgroup.events says "populated 1" (or cannot be read). */
static bool cgroup_populated(int events_fd)
{
	char buf[256];
	ssize_t n = pread(events_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	for (char *p = buf; *p; p++)
		if ((p == buf || p[-1] == '\n') && strncmp(p, "populated ", 10) == 0)
			return p[10] != '0';
	return true;
}

/* Every process of the run at once, then the empty cgroup itself. The
 * reaper is no member, so it survives the kill; everything that died is
 * our child (subreaper) and end_descendants has reaped it by now. */
static void cgroup_end_and_remove(const struct reaper_args *a)
{
	for (int i = 0; i < 10000 && cgroup_populated(a->cg_events_fd); i++) {
		if (write(a->cg_kill_fd, "1", 1) < 0 && errno != EINTR)
			break;
		reap_nohang(-1, NULL, NULL);
		pause_ms(1);
	}
	for (int i = 0; i < 1000; i++) {
		if (unlinkat(a->cg_parent_fd, a->cg_name, AT_REMOVEDIR) == 0 || errno != EBUSY)
			break;
		reap_nohang(-1, NULL, NULL);
		pause_ms(1);
	}
}

_Noreturn void reaper_main(const struct reaper_args *a)
{
	pid_t self = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		fail(a->report_fd, "landlock: cannot make the reaper a child subreaper (needed to end every process the command leaves behind)", errno);
	pid_t cmd = fork();
	if (cmd == 0) {
		/* into the run's cgroup before anything of the command runs:
		 * all it starts is born there and cannot leave */
		if (a->cg_procs_fd >= 0 && write(a->cg_procs_fd, "0", 1) != 1)
			fail(a->report_fd, "landlock: cannot move the command into the run's cgroup (cgroup.procs)", errno);
		a->command(a->command_arg, self);
	}
	if (cmd < 0)
		fail(a->report_fd, "landlock: cannot fork the sandboxed process", errno);
	char line[96];
	size_t n = put_str(line, 0, sizeof(line), "{\"child-pid\":");
	n = put_int(line, n, sizeof(line), cmd);
	n = put_str(line, n, sizeof(line), "}\n");
	write_all(a->status_fd, line, n);
	/* Our copy of the report pipe must go, so that the supervisor sees
	 * EOF when the command's inner stage closes its own; and with it every
	 * other fd inherited from a process that may have threads. */
	int keep[] = {a->life_fd, a->status_fd, a->cg_kill_fd, a->cg_events_fd, a->cg_parent_fd};
	close_others(keep, sizeof(keep) / sizeof(keep[0]));

	int pidfd = pidfd_open_raw(cmd);
	int cmd_status = 0;
	bool cmd_done = false, parent_gone = false;
	while (!parent_gone && !command_exited(cmd)) {
		struct pollfd p[2] = {
			{.fd = pidfd, .events = POLLIN},
			{.fd = a->life_fd, .events = POLLIN},
		};
		int r = poll(p, 2, pidfd < 0 ? CHILD_POLL_MS : -1);
		if (r < 0 && errno != EINTR)
			pause_ms(CHILD_POLL_MS);
		/* orphans re-parented to us end here too, and are reaped */
		reap_orphans(cmd);
		if (p[1].revents)
			parent_gone = true; /* EOF: the supervisor is gone */
	}
	/* The command (still unreaped, so its id cannot have been reused) led
	 * its own session and process group: stopping the group stops at once
	 * every process that stayed in it, a fork in progress included (the
	 * kernel gives a group signal sent during fork to the new child too).
	 * Only those that left the group remain for the rounds to catch. */
	bool cgroup = a->cg_kill_fd >= 0 && a->cg_events_fd >= 0;
	if (cgroup && write(a->cg_kill_fd, "1", 1) != 1)
		cgroup = false; /* the rounds below still end the group */
	if (!cgroup) {
		/* without a cgroup the filter kept every process of the run
		 * in this group; if cgroup.kill failed, the rounds below
		 * chase whatever left it */
		kill(-cmd, SIGSTOP);
	}
	long killed = end_descendants(a->buf, self, cmd, &cmd_status, &cmd_done);
	if (a->cg_kill_fd >= 0 && a->cg_events_fd >= 0 && a->cg_parent_fd >= 0)
		cgroup_end_and_remove(a);
	if (!parent_gone) {
		n = put_str(line, 0, sizeof(line), "{\"wait-status\":");
		n = put_int(line, n, sizeof(line), cmd_status);
		n = put_str(line, n, sizeof(line), ",\"killed\":");
		n = put_int(line, n, sizeof(line), killed);
		n = put_str(line, n, sizeof(line), "}\n");
		write_all(a->status_fd, line, n);
	}
	_exit(0);
}
