/* Can a fresh /proc be mounted in the namespaces a sandbox uses?
 *
 * The kernel allows it only when the /proc agentbox already sees is "fully
 * visible": no file or directory below it covered by another mount. Many
 * containers and sandboxes cover parts of /proc (/proc/kcore, /proc/sys,
 * ...), and then mounting procfs fails with EPERM even with every
 * namespace granted. agentbox then runs without one; doctor says why. */
#include "host/host.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

struct proc_report {
	int step;
	int err;
};

static _Noreturn void send_report(int fd, enum host_ns_step step, int err)
{
	struct proc_report r = {.step = (int)step, .err = err};
	ssize_t n = write(fd, &r, sizeof(r));
	_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
}

static _Noreturn void proc_child(int fd)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	enum host_ns_step step;
	int e = host_enter_userns(CLONE_NEWNS | CLONE_NEWPID, uid, gid, &step);
	if (e < 0)
		send_report(fd, step, -e);
	/* Only a process inside the new PID namespace may mount its procfs. */
	pid_t pid = fork();
	if (pid < 0)
		send_report(fd, HOST_STEP_FORK_INSIDE, errno);
	if (pid == 0) {
		if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			send_report(fd, HOST_STEP_MOUNT_PROC, errno);
		send_report(fd, HOST_STEP_OK, 0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Unescapes the octal escapes (\040 for a space) of a mountinfo field. */
static char *unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[j++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

/* Field `idx` (0-based, space separated) of one line, unescaped; or NULL. */
static char *line_field(const char *line, size_t len, int idx)
{
	const char *p = line, *end = line + len;
	for (int i = 0; i < idx; i++) {
		p = memchr(p, ' ', (size_t)(end - p));
		if (!p)
			return NULL;
		p++;
	}
	const char *q = memchr(p, ' ', (size_t)(end - p));
	return unescape(p, (size_t)((q ? q : end) - p));
}

/* The filesystem type: the first field after the " - " separator. */
static char *line_fstype(const char *line, size_t len)
{
	const char *end = line + len;
	for (const char *p = line; p + 3 <= end; p++)
		if (p[0] == ' ' && p[1] == '-' && p[2] == ' ') {
			const char *t = p + 3;
			const char *q = memchr(t, ' ', (size_t)(end - t));
			return xstrndup(t, (size_t)((q ? q : end) - t));
		}
	return NULL;
}

size_t host_mountinfo_under(const char *mountinfo, const char *dir, char **first)
{
	size_t count = 0;
	if (first)
		*first = NULL;
	for (const char *line = mountinfo; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *mp = line_field(line, len, 4);
		if (mp && strcmp(mp, dir) != 0 && path_is_under(mp, dir)) {
			if (first && !*first)
				*first = xstrdup(mp);
			count++;
		}
		free(mp);
		line = nl ? nl + 1 : NULL;
	}
	return count;
}

char *host_mountinfo_fstype(const char *mountinfo, const char *mountpoint)
{
	char *found = NULL;
	for (const char *line = mountinfo; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *mp = line_field(line, len, 4);
		if (mp && strcmp(mp, mountpoint) == 0) {
			free(found);
			found = line_fstype(line, len);
		}
		free(mp);
		line = nl ? nl + 1 : NULL;
	}
	return found;
}

void host_proc_probe(struct host_proc *p)
{
	memset(p, 0, sizeof(*p));
	_cleanup_free_ char *mi = host_read_file("/proc/self/mountinfo", 1 << 20, NULL);
	if (mi)
		p->overmounts = host_mountinfo_under(mi, "/proc", &p->first_overmount);

	struct proc_report r;
	int e = host_child_report(proc_child, &r, sizeof(r));
	if (e)
		r = (struct proc_report){.step = HOST_STEP_FORK, .err = e};
	p->step = (enum host_ns_step)r.step;
	p->err = r.err;
}

void host_proc_free(struct host_proc *p)
{
	free(p->first_overmount);
	p->first_overmount = NULL;
}

void host_proc_explain(const struct host_proc *p, struct host_cause *out)
{
	out->cause = out->fix = NULL;
	if (p->step == HOST_STEP_OK)
		return;
	if (p->step != HOST_STEP_MOUNT_PROC) {
		out->cause = xasprintf("no namespaces to try it in (%s failed)", host_step_name(p->step));
		out->fix = xstrdup("see the user namespaces item");
		return;
	}
	if ((p->err == EPERM || p->err == EACCES) && p->overmounts > 0) {
		out->cause = xasprintf("the /proc agentbox sees has %zu path%s covered by other mounts (%s%s), "
				       "as in a container or another sandbox; the kernel then refuses a fresh one",
				       p->overmounts, p->overmounts == 1 ? "" : "s", p->first_overmount,
				       p->overmounts > 1 ? ", ..." : "");
	} else if (p->err == EPERM || p->err == EACCES) {
		out->cause = xstrdup("the kernel refuses a fresh /proc here (a container or sandbox around "
				     "agentbox masks parts of /proc, or a seccomp/LSM policy forbids mount)");
	} else {
		out->cause = xstrdup("mounting procfs failed");
	}
	out->fix = xstrdup("none needed: agentbox runs without a fresh /proc (the command sees the outer one "
			   "read-only, or none); run agentbox outside the container for a private /proc");
}
