/* Can this process create the namespaces agentbox needs, and if not, why?
 *
 * The kernel says little more than EPERM, and the same EPERM has several
 * causes that need different fixes (a sysctl, an AppArmor profile, a
 * container's seccomp profile). So the probe first tries for real in a
 * throwaway child, noting the step that failed, and then reads the knobs
 * that could be behind it; host_userns_explain turns both into a cause. */
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/util.h"

static const char *const step_names[] = {
	[HOST_STEP_OK] = "nothing",
	[HOST_STEP_FORK] = "fork",
	[HOST_STEP_UNSHARE] = "unshare(CLONE_NEWUSER)",
	[HOST_STEP_SETGROUPS] = "writing /proc/self/setgroups",
	[HOST_STEP_UID_MAP] = "writing /proc/self/uid_map",
	[HOST_STEP_GID_MAP] = "writing /proc/self/gid_map",
	[HOST_STEP_MOUNT] = "mounting a tmpfs in the new mount namespace",
	[HOST_STEP_FORK_INSIDE] = "forking into the new PID namespace",
	[HOST_STEP_MOUNT_PROC] = "mounting a fresh /proc",
};

const char *host_step_name(enum host_ns_step s)
{
	return (unsigned)s < sizeof(step_names) / sizeof(step_names[0]) ? step_names[s] : "?";
}

static int write_self(const char *name, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t len = (ssize_t)strlen(text);
	ssize_t n = write(fd, text, (size_t)len);
	int e = n < 0 ? errno : EIO;
	close(fd);
	return n == len ? 0 : -e;
}

int host_enter_userns(int extra, uid_t uid, gid_t gid, enum host_ns_step *step)
{
	char line[64];
	*step = HOST_STEP_UNSHARE;
	if (unshare(CLONE_NEWUSER | extra) < 0)
		return -errno;
	*step = HOST_STEP_UID_MAP;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	int r = write_self("uid_map", line);
	if (r < 0)
		return r;
	*step = HOST_STEP_SETGROUPS;
	r = write_self("setgroups", "deny\n");
	if (r < 0 && r != -ENOENT) /* kernels before 3.19 have no such file */
		return r;
	*step = HOST_STEP_GID_MAP;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	r = write_self("gid_map", line);
	if (r < 0)
		return r;
	*step = HOST_STEP_OK;
	return 0;
}

struct userns_report {
	int step;
	int err;
	int ns_err[HOST_N_OTHER_NS];
};

static const struct {
	const char *name;
	int flag;
} other_ns[HOST_N_OTHER_NS] = {
	{"pid", CLONE_NEWPID},
	{"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS},
	{"net", CLONE_NEWNET},
};

static _Noreturn void userns_child(int fd)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct userns_report r = {.step = HOST_STEP_OK};
	enum host_ns_step step;
	for (int i = 0; i < HOST_N_OTHER_NS; i++)
		r.ns_err[i] = -1;
	int e = host_enter_userns(CLONE_NEWNS, uid, gid, &step);
	if (e == 0 && mount("tmpfs", "/proc", "tmpfs", 0, NULL) < 0) {
		e = -errno;
		step = HOST_STEP_MOUNT;
	}
	r.step = (int)step;
	r.err = -e;
	/* Each alone: a host can grant a user namespace and still refuse
	 * one of the others (a net namespace limit, a targeted filter). */
	for (int i = 0; e == 0 && i < HOST_N_OTHER_NS; i++)
		r.ns_err[i] = unshare(other_ns[i].flag) < 0 ? errno : 0;
	ssize_t n = write(fd, &r, sizeof(r));
	_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
}

static void read_lsm_label(char *buf, size_t size)
{
	/* With several LSMs stacked, AppArmor's own file is the precise one. */
	_cleanup_free_ char *t = host_read_file("/proc/self/attr/apparmor/current", 256, NULL);
	if (!t)
		t = host_read_file("/proc/self/attr/current", 256, NULL);
	buf[0] = '\0';
	if (t) {
		t[strcspn(t, "\n")] = '\0';
		snprintf(buf, size, "%s", t);
	}
}

void host_userns_probe(struct host_userns *u, const char *self_exe)
{
	struct host_userns_facts *f = &u->f;
	memset(u, 0, sizeof(*u));
	f->max_user_namespaces = host_sysctl_read("/proc/sys/user/max_user_namespaces");
	f->unprivileged_clone = host_sysctl_read("/proc/sys/kernel/unprivileged_userns_clone");
	f->apparmor_restrict = host_sysctl_read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	f->bwrap_apparmor_profile = access("/etc/apparmor.d/bwrap-userns-restrict", F_OK) == 0;
	host_status_read(&f->status);
	f->euid = geteuid();
	read_lsm_label(f->lsm_label, sizeof(f->lsm_label));
	f->self_exe = self_exe;
	const char *mark = getenv("AGENTBOX_SANDBOX");
	f->inside_agentbox = mark && *mark;
	for (int i = 0; i < HOST_N_OTHER_NS; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/sys/user/max_%s_namespaces", other_ns[i].name);
		u->ns[i].name = other_ns[i].name;
		u->ns[i].err = -1;
		u->ns[i].max = host_sysctl_read(path);
	}

	struct userns_report r;
	int e = host_child_report(userns_child, &r, sizeof(r));
	if (e) {
		f->step = HOST_STEP_FORK;
		f->err = e;
		return;
	}
	f->step = (enum host_ns_step)r.step;
	f->err = r.err;
	for (int i = 0; i < HOST_N_OTHER_NS; i++)
		u->ns[i].err = r.ns_err[i];
}

char *host_apparmor_profile(const char *exe)
{
	const char *path = exe ? exe : "/usr/local/bin/agentbox";
	bool quote = strpbrk(path, " \t") != NULL;
	return xasprintf("abi <abi/4.0>,\ninclude <tunables/global>\n"
			 "profile agentbox %s%s%s flags=(unconfined) {\n  userns,\n}\n",
			 quote ? "\"" : "", path, quote ? "\"" : "");
}

/* The one-line shell command that installs the profile. */
static char *apparmor_fix(const struct host_userns_facts *f)
{
	_cleanup_free_ char *profile = host_apparmor_profile(f->self_exe);
	sbuf b = {0};
	sbuf_add(&b, "allow agentbox to create user namespaces: printf '%s' ");
	sbuf b_text = {0};
	for (const char *c = profile; *c; c++) {
		if (*c == '\n')
			sbuf_add(&b_text, "\\n");
		else if (*c == '\'')
			sbuf_add(&b_text, "'\\''");
		else if (*c == '%')
			sbuf_add(&b_text, "%%");
		else
			sbuf_addn(&b_text, c, 1);
	}
	sbuf_add_shell_word(&b, b_text.s);
	sbuf_free(&b_text);
	sbuf_add(&b, " | sudo tee /etc/apparmor.d/agentbox && sudo apparmor_parser -r /etc/apparmor.d/agentbox");
	char *fix = f->bwrap_apparmor_profile
			    ? xasprintf("use --backend bwrap (/etc/apparmor.d/bwrap-userns-restrict lets bwrap do it), or %s", b.s)
			    : xstrdup(b.s);
	sbuf_free(&b);
	return fix;
}

static bool label_confined(const char *label)
{
	return label[0] && strncmp(label, "unconfined", 10) != 0 && strcmp(label, "kernel") != 0;
}

static bool is_map_step(enum host_ns_step s)
{
	return s == HOST_STEP_UID_MAP || s == HOST_STEP_GID_MAP || s == HOST_STEP_SETGROUPS;
}

#define CONTAINER_SECCOMP_FIX                                                                          \
	"run the container with a seccomp profile that allows unshare and clone with CLONE_NEWUSER "  \
	"(e.g. `docker run --security-opt seccomp=unconfined ...`), or use a backend that needs no "  \
	"namespaces (landlock)"

static void explain_denied(const struct host_userns_facts *f, struct host_cause *out)
{
	bool sys_admin = host_has_cap(&f->status, CAP_SYS_ADMIN);
	const char *what = host_step_name(f->step);
	if (f->apparmor_restrict == 1) {
		out->cause = xasprintf("AppArmor restricts unprivileged user namespaces "
				       "(kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10 and later): "
				       "an unconfined program's new namespace gets no capabilities, so %s is refused",
				       what);
		out->fix = apparmor_fix(f);
	} else if (f->step == HOST_STEP_UNSHARE && f->unprivileged_clone == 0 && !sys_admin) {
		out->cause = xstrdup("kernel.unprivileged_userns_clone is 0: only CAP_SYS_ADMIN may create user namespaces");
		out->fix = xstrdup("sudo sysctl -w kernel.unprivileged_userns_clone=1 "
				   "(and add it to /etc/sysctl.d/ to keep it), or use the landlock backend");
	} else if (f->status.seccomp == 2 && f->inside_agentbox) {
		out->cause = xstrdup("agentbox is running inside an agentbox sandbox (AGENTBOX_SANDBOX is set), "
				     "whose seccomp filter refuses new namespaces");
		out->fix = xstrdup("run agentbox outside the sandbox; inside one only the landlock backend can "
				   "narrow access further");
	} else if (f->status.seccomp == 2 && f->step != HOST_STEP_MOUNT) {
		_cleanup_free_ char *count = f->status.seccomp_filters < 0
						     ? xstrdup("")
						     : xasprintf(" (%d filter%s on this process)",
								 f->status.seccomp_filters,
								 f->status.seccomp_filters == 1 ? "" : "s");
		out->cause = xasprintf("a seccomp filter installed before agentbox started refuses it%s: "
				       "a container's seccomp profile, e.g. Docker's default, which allows "
				       "namespaces only with CAP_SYS_ADMIN%s",
				       count, sys_admin ? "" : ", and this process lacks CAP_SYS_ADMIN");
		out->fix = xstrdup(CONTAINER_SECCOMP_FIX);
	} else if (f->step == HOST_STEP_MOUNT && label_confined(f->lsm_label)) {
		out->cause = xasprintf("the security profile this process runs under (%s) forbids mount(2), "
				       "as Docker's docker-default AppArmor profile does",
				       f->lsm_label);
		out->fix = xstrdup("run the container with `--security-opt apparmor=unconfined` (or a profile "
				   "that allows mount), or use a backend that needs no namespaces (landlock)");
	} else if (f->step == HOST_STEP_MOUNT && f->status.seccomp == 2) {
		out->cause = xstrdup("a seccomp filter installed before agentbox started refuses mount(2)");
		out->fix = xstrdup(CONTAINER_SECCOMP_FIX);
	} else if (is_map_step(f->step)) {
		out->cause = xasprintf("the new user namespace refused the id mapping (is uid %u mapped in "
				       "agentbox's own user namespace?)",
				       (unsigned)f->euid);
		out->fix = xstrdup("check `cat /proc/self/uid_map`; run agentbox as a user that is mapped there");
	} else if (label_confined(f->lsm_label)) {
		out->cause = xasprintf("the security profile this process runs under (%s) may forbid it",
				       f->lsm_label);
		out->fix = xstrdup("run agentbox outside that profile, or allow user namespaces in it");
	} else {
		out->cause = xstrdup("the kernel refused without saying why: a chroot (user namespaces are "
				     "refused inside one), an LSM policy (SELinux, AppArmor) or a filter of an "
				     "enclosing sandbox");
		out->fix = xstrdup("run agentbox outside the chroot or enclosing sandbox, or use a backend "
				   "that needs no namespaces (landlock)");
	}
}

void host_userns_explain(const struct host_userns_facts *f, struct host_cause *out)
{
	out->cause = out->fix = NULL;
	int e = f->err;
	if (f->step == HOST_STEP_OK)
		return;
	if (f->step == HOST_STEP_FORK) {
		out->cause = xstrdup("agentbox could not start the throwaway child that tries it");
		out->fix = xstrdup("check the process limit (`ulimit -u`) and free memory, then retry");
	} else if (f->step == HOST_STEP_UNSHARE && (e == ENOSPC || e == EUSERS)) {
		if (f->max_user_namespaces == 0) {
			out->cause = xstrdup("user.max_user_namespaces is 0: user namespaces are disabled");
			out->fix = xstrdup("sudo sysctl -w user.max_user_namespaces=15000 (and add it to "
					   "/etc/sysctl.d/ to keep it), or use the landlock backend");
		} else {
			out->cause = xasprintf("the user namespace limit is reached (user.max_user_namespaces=%ld "
					       "counts per user and per nesting level; 32 levels at most)",
					       f->max_user_namespaces);
			out->fix = xstrdup("raise it (sudo sysctl -w user.max_user_namespaces=15000) or end the "
					   "processes that hold user namespaces");
		}
	} else if (f->step == HOST_STEP_UNSHARE && (e == EINVAL || e == ENOSYS)) {
		out->cause = xstrdup("this kernel was built without user namespaces (CONFIG_USER_NS)");
		out->fix = xstrdup("use a kernel with CONFIG_USER_NS=y, or the landlock backend");
	} else if (e == EPERM || e == EACCES) {
		explain_denied(f, out);
	} else {
		out->cause = xasprintf("%s failed with an unexpected error", host_step_name(f->step));
		out->fix = xstrdup("run `agentbox explain` to see the built-in engine's own error");
	}
}

void host_ns_explain(const struct host_other_ns *ns, struct host_cause *out)
{
	out->cause = out->fix = NULL;
	int e = ns->err;
	if (e <= 0)
		return;
	if (e == ENOSPC || e == EUSERS) {
		out->cause = ns->max == 0 ? xasprintf("user.max_%s_namespaces is 0", ns->name)
					  : xasprintf("the %s namespace limit is reached (user.max_%s_namespaces=%ld)",
						      ns->name, ns->name, ns->max);
		out->fix = xasprintf("sudo sysctl -w user.max_%s_namespaces=15000", ns->name);
	} else if (e == EINVAL || e == ENOSYS) {
		out->cause = xasprintf("this kernel was built without %s namespaces", ns->name);
		out->fix = xstrdup("use a kernel with all namespaces enabled (CONFIG_PID_NS, CONFIG_IPC_NS, "
				   "CONFIG_UTS_NS, CONFIG_NET_NS)");
	} else {
		out->cause = xasprintf("creating a %s namespace inside a user namespace is refused (a seccomp "
				       "filter or an LSM policy that singles it out)",
				       ns->name);
		char upper[8];
		size_t i;
		for (i = 0; ns->name[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)(ns->name[i] - 'a' + 'A');
		upper[i] = '\0';
		out->fix = xasprintf("allow unshare(CLONE_NEW%s) in the enclosing seccomp or LSM profile", upper);
	}
}
