/* bench/posture_floor.c: the kernel work of agentbox's workspace-write
 * posture, and nothing else.
 *
 *   posture_floor WORKSPACE COMMAND [ARG...]
 *
 * bench/floor.c is the least any namespace sandbox costs: the clone, the
 * id maps and a PID 1. This program adds what the posture of
 *   agentbox run --policy workspace-write --net none -C WORKSPACE
 * needs the kernel to do on top, the way agentbox's built-in engine does
 * it, so that bench/startup.sh can show how much of agentbox's time is
 * the posture's and how much is agentbox's own (policy, plan, checks):
 *   - host placeholders for the protected names missing in WORKSPACE and
 *     /tmp (made before, removed after: a mount needs a mountpoint), each
 *     covered inside by a read-only empty directory or file;
 *   - a scratch tmpfs root; / bound recursively and made read-only; /tmp
 *     and WORKSPACE bound writable, WORKSPACE/.git read-only; a fresh
 *     /dev (tmpfs, six device nodes bound from the host, devpts, /dev/shm)
 *     and /proc with its seven kernel knobs bound read-only; pivot_root
 *     and the host tree detached;
 *   - a new session, no capabilities, no_new_privs and agentbox's own
 *     seccomp filter for --net none (build/seccomp_bpf.h);
 *   - loopback up in the new network namespace.
 * Left out, because they are agentbox's own work and not the kernel's:
 * the policy, the plan, every identity check and fd-by-fd walk that makes
 * agentbox safe against a directory changing during start-up (this
 * program works by path and trusts what it finds, which only a benchmark
 * may), the events, the credential and state-directory masks of this
 * machine, the proxy. Exits with the command's status; 1 on any failure.
 * Built by bench/startup.sh against the build directory (-I BUILD). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floor_core.h"
#include "seccomp_bpf.h" /* agentbox's build directory */

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define PF_AT_RECURSIVE 0x8000
#define PF_MOUNT_ATTR_RDONLY 0x1

struct pf_mount_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

/* The names agentbox keeps from being created in a writable root when
 * they are missing (README "Protected names"), 1 for a directory. */
static const struct {
	const char *name;
	int dir;
} ws_names[] = {
	{".agentbox", 1}, {".claude", 1}, {".codex", 1}, {".cursor", 1}, {".envrc", 0},
	{".gemini", 1}, {".gitmodules", 0}, {".idea", 1}, {".mcp.json", 0}, {".vscode", 1},
};
#define N_WS (sizeof(ws_names) / sizeof(ws_names[0]))
static const char *const tmp_names[] = {".git", ".agentbox"};
#define N_TMP 2
#define N_HOLES (N_WS + N_TMP)

static char holes[N_HOLES][4096];
static int hole_dir[N_HOLES];
static size_t n_holes;

static void hole(const char *dir, const char *name, int is_dir)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) == 0)
		return;
	int ok = is_dir ? mkdir(path, 01444) == 0 : close(open(path, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 01444)) == 0;
	if (!ok)
		return;
	snprintf(holes[n_holes], sizeof(holes[0]), "%s", path);
	hole_dir[n_holes++] = is_dir;
}

static int bind_path(const char *src, const char *dst, int rdonly)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	struct pf_mount_attr a = {.attr_set = rdonly ? PF_MOUNT_ATTR_RDONLY : 0};
	return rdonly ? (int)syscall(SYS_mount_setattr, AT_FDCWD, dst, PF_AT_RECURSIVE, &a, sizeof(a)) : 0;
}

static int dev(void)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	if (mount("tmpfs", "root/dev", "tmpfs", MS_NOSUID, "mode=0755") < 0)
		return -1;
	char src[64], dst[64];
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), "root/dev/%s", nodes[i]);
		if (close(open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666)) < 0 || bind_path(src, dst, 0) < 0)
			return -1;
	}
	if (symlink("/proc/self/fd", "root/dev/fd") < 0 || symlink("pts/ptmx", "root/dev/ptmx") < 0 ||
	    mkdir("root/dev/pts", 0755) < 0 || mkdir("root/dev/shm", 01777) < 0)
		return -1;
	if (mount("devpts", "root/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0)
		return -1;
	return mount("tmpfs", "root/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

static int proc(void)
{
	static const char *const knobs[] = {"sys", "sysrq-trigger", "irq", "bus", "fs", "acpi", "scsi"};
	if (mount("proc", "root/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	char p[64];
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(p, sizeof(p), "root/proc/%s", knobs[i]);
		if (access(p, F_OK) == 0 && bind_path(p, p, 1) < 0)
			return -1;
	}
	return 0;
}

static int tree(const char *ws)
{
	char p[4096], q[4096];
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0 || chdir("/proc") < 0 ||
	    mkdir("root", 0755) < 0 || mkdir("empty-dir", 0555) < 0 ||
	    close(open("empty-file", O_CREAT | O_RDONLY | O_CLOEXEC, 0444)) < 0)
		return -1;
	if (bind_path("/", "root", 1) < 0 || bind_path("/tmp", "root/tmp", 0) < 0 || dev() < 0)
		return -1;
	snprintf(p, sizeof(p), "root%s", ws);
	if (bind_path(ws, p, 0) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/.git", ws);
	snprintf(q, sizeof(q), "root%s/.git", ws);
	if (access(p, F_OK) == 0 && bind_path(p, q, 1) < 0)
		return -1;
	for (size_t i = 0; i < n_holes; i++) {
		snprintf(q, sizeof(q), "root%s", holes[i]);
		if (bind_path(hole_dir[i] ? "empty-dir" : "empty-file", q, 1) < 0)
			return -1;
	}
	if (proc() < 0 || chdir("root") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir(ws) < 0)
		return -1;
	return 0;
}

static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int r = s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ? -1 : 0;
	ifr.ifr_flags |= IFF_UP;
	if (r == 0)
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	if (s >= 0)
		close(s);
	return r;
}

static int harden(void)
{
	struct sock_fprog prog = {.len = sizeof(ab_bpf_net_none) / sizeof(ab_bpf_net_none[0]),
				  .filter = (struct sock_filter *)ab_bpf_net_none};
	struct { unsigned version; int pid; } hdr = {0x20080522, 0};
	struct { unsigned eff, perm, inh; } data[2] = {{0, 0, 0}, {0, 0, 0}};
	if (setsid() < 0)
		return -1;
	for (int cap = 0; cap <= 40; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	if (syscall(SYS_capset, &hdr, data) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static const char *g_ws;

static int setup(void)
{
	return loopback_up() < 0 || tree(g_ws) < 0 || harden() < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argv[1][0] != '/') {
		fprintf(stderr, "usage: posture_floor /ABSOLUTE/WORKSPACE COMMAND [ARG...]\n");
		return 2;
	}
	g_ws = argv[1];
	for (size_t i = 0; i < N_WS; i++)
		hole(g_ws, ws_names[i].name, ws_names[i].dir);
	for (size_t i = 0; i < N_TMP; i++)
		hole("/tmp", tmp_names[i], 1);
	int r = floor_run_with(argv + 2, setup);
	for (size_t i = n_holes; i-- > 0;)
		hole_dir[i] ? rmdir(holes[i]) : unlink(holes[i]);
	return r < 0 ? 1 : r;
}
