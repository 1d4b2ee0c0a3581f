/* Host probes for `agentbox doctor`: what this kernel, this process and
 * its surroundings let agentbox do.
 *
 * Each probe family reads the host in one *_probe function and interprets
 * what it read in pure functions (parsers, errno -> cause), so that the
 * unit tests can feed them the text of hosts we are not running on. */
#ifndef AB_HOST_HOST_H
#define AB_HOST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A probe's explanation of a failure; both strings owned, either NULL. */
struct host_cause {
	char *cause; /* what is behind it, e.g. "user.max_user_namespaces is 0" */
	char *fix;   /* one line the user can act on */
};
void host_cause_free(struct host_cause *c);

/* ---- reading (host_status.c) ------------------------------------------ */

/* The whole file (at most `max` bytes) NUL-terminated, or NULL with errno
 * set. *len_out, when given, receives the length (the text may hold NULs,
 * as /proc/PID/environ does). */
char *host_read_file(const char *path, size_t max, size_t *len_out);

/* Runs child(fd) in a forked process, which must write exactly `len`
 * bytes of report to fd and exit; reads them into `report` and reaps the
 * child. The probes that try something for real (a namespace, a /proc
 * mount, a seccomp filter) do it there, so agentbox itself is untouched.
 * Returns 0, or an errno: the pipe or the fork failed, or EIO when the
 * report came short. */
int host_child_report(void (*child)(int fd), void *report, size_t len);

/* An integer sysctl's text ("0\n"); -1 when it is not a number. */
long host_sysctl_parse(const char *text);
/* The sysctl at `path`; -1 when it does not exist or cannot be read. */
long host_sysctl_read(const char *path);

/* The fields of /proc/self/status agentbox cares about. */
struct host_status {
	int seccomp;         /* Seccomp: 0 none, 1 strict, 2 filter; -1 absent */
	int seccomp_filters; /* Seccomp_filters: (Linux 5.9+); -1 absent */
	int no_new_privs;    /* NoNewPrivs:; -1 absent */
	bool cap_eff_known;
	uint64_t cap_eff;    /* CapEff: */
};
void host_status_parse(const char *text, struct host_status *st);
int host_status_read(struct host_status *st);
bool host_has_cap(const struct host_status *st, int cap);

/* ---- kernel (host_kernel.c) ------------------------------------------- */

struct host_kernel {
	char release[128];
	int major, minor; /* -1 when the release does not parse */
};
/* "6.8.0-45-generic" -> 6, 8. Returns 0, or -EINVAL. */
int host_kernel_parse(const char *release, int *major, int *minor);
void host_kernel_probe(struct host_kernel *k);
bool host_kernel_at_least(const struct host_kernel *k, int major, int minor);

/* ---- user and other namespaces (host_userns.c) ------------------------ */

/* Where a namespace attempt stopped. */
enum host_ns_step {
	HOST_STEP_OK = 0,
	HOST_STEP_FORK,
	HOST_STEP_UNSHARE,
	HOST_STEP_SETGROUPS,
	HOST_STEP_UID_MAP,
	HOST_STEP_GID_MAP,
	HOST_STEP_MOUNT,
	HOST_STEP_FORK_INSIDE,
	HOST_STEP_MOUNT_PROC,
};
const char *host_step_name(enum host_ns_step s);

/* Everything the userns cause depends on, read before the attempt. */
struct host_userns_facts {
	enum host_ns_step step;      /* where the attempt stopped */
	int err;                     /* and the errno there */
	long max_user_namespaces;    /* user.max_user_namespaces, -1 unknown */
	long unprivileged_clone;     /* kernel.unprivileged_userns_clone, -1 absent */
	long apparmor_restrict;      /* kernel.apparmor_restrict_unprivileged_userns, -1 absent */
	bool bwrap_apparmor_profile; /* /etc/apparmor.d/bwrap-userns-restrict exists */
	struct host_status status;   /* agentbox's own, before the attempt */
	uid_t euid;
	char lsm_label[128];         /* /proc/self/attr/current, "" when none */
	const char *self_exe;        /* the agentbox binary, for the AppArmor profile */
	bool inside_agentbox;        /* AGENTBOX_SANDBOX is set: we run in an agentbox sandbox */
};

#define HOST_N_OTHER_NS 4
struct host_other_ns {
	const char *name;  /* "pid", "ipc", "uts", "net" */
	int err;           /* errno of unshare inside the new user namespace, 0 ok; -1 not tried */
	long max;          /* user.max_<name>_namespaces, -1 unknown */
};

struct host_userns {
	struct host_userns_facts f;
	struct host_other_ns ns[HOST_N_OTHER_NS];
};

/* Tries for real, in a throwaway child: unshare(CLONE_NEWUSER|CLONE_NEWNS),
 * the id maps, a tmpfs mount, then each of the pid/ipc/uts/net namespaces
 * inside. */
void host_userns_probe(struct host_userns *u, const char *self_exe);

/* Why the attempt in `f` failed and what to do (pure). */
void host_userns_explain(const struct host_userns_facts *f, struct host_cause *out);
/* Same for one of the other namespaces that failed inside a user namespace. */
void host_ns_explain(const struct host_other_ns *ns, struct host_cause *out);
/* The AppArmor profile that grants `userns,` to the agentbox binary. */
char *host_apparmor_profile(const char *exe);

/* In a forked child: creates a user namespace (with `extra` clone flags)
 * mapping the caller's ids to themselves. Returns 0, or -errno with *step
 * set. Used by the userns and /proc probes. */
int host_enter_userns(int extra, uid_t uid, gid_t gid, enum host_ns_step *step);

/* ---- fresh /proc (host_proc.c) ---------------------------------------- */

struct host_proc {
	enum host_ns_step step; /* HOST_STEP_OK when a fresh /proc mounted */
	int err;
	size_t overmounts;      /* mounts below /proc in our mount table */
	char *first_overmount;  /* the first of them, or NULL */
};
void host_proc_probe(struct host_proc *p);
void host_proc_free(struct host_proc *p);
void host_proc_explain(const struct host_proc *p, struct host_cause *out);

/* Mounts at or below `dir` (not `dir` itself) in a mountinfo text; *first
 * (when given) receives the first one's mount point. */
size_t host_mountinfo_under(const char *mountinfo, const char *dir, char **first);
/* The filesystem type mounted at `mountpoint` (the last such mount), or NULL. */
char *host_mountinfo_fstype(const char *mountinfo, const char *mountpoint);

/* ---- seccomp (host_seccomp.c) ----------------------------------------- */

struct host_seccomp {
	int mode;     /* prctl(PR_GET_SECCOMP): 0 or 2; -1 when it failed */
	int get_err;  /* errno of that prctl */
	int load_err; /* errno of loading an allow-all filter in a child, 0 ok */
};
void host_seccomp_probe(struct host_seccomp *s);
void host_seccomp_explain(const struct host_seccomp *s, struct host_cause *out);

/* ---- Landlock (host_landlock.c) --------------------------------------- */

struct host_landlock {
	int abi; /* > 0, or 0 when unavailable */
	int err; /* errno of landlock_create_ruleset when abi is 0 */
};
void host_landlock_probe(struct host_landlock *l);
void host_landlock_explain(int err, struct host_cause *out);
/* What the ABI level gives, e.g. "filesystem, refer, truncate, tcp". */
char *host_landlock_features(int abi);

/* ---- surroundings (host_env.c) ---------------------------------------- */

struct host_env {
	char *container;          /* "docker", "podman", "lxc", ... or NULL */
	char *container_evidence; /* what says so */
	char *package;            /* "snap" or "flatpak", or NULL */
	char *package_evidence;
	char *nested;             /* evidence of an enclosing sandbox, or NULL */
	int wsl;                  /* 0 not WSL, 1 or 2 */
};
void host_env_probe(struct host_env *e);
void host_env_free(struct host_env *e);

/* The value of NAME in a NUL-separated environ blob, or NULL. */
char *host_environ_get(const char *blob, size_t len, const char *name);
/* A container runtime named by /proc/N/cgroup lines, or NULL. */
const char *host_cgroup_container(const char *cgroup);
/* 0 (not WSL), 1 or 2, from /proc/sys/kernel/osrelease. */
int host_wsl_version(const char *osrelease);

/* ---- system bubblewrap (host_bwrap.c) --------------------------------- */

#include "backend/bwrap/bwrap.h"

struct host_bwrap {
	bool found;
	char locate_error[2048]; /* why it was not found or not usable */
	struct bwrap_info info; /* when found */
	bool ran;               /* the trial sandbox started and exited 0 */
	int run_status;         /* its exit status, -1 killed or not started */
	char *run_error;        /* first line of its stderr, or our own error */
};
/* Finds bwrap as a run would (bwrap_locate), learns its options without
 * the cache, and runs a trial `bwrap --unshare-user --unshare-pid
 * --unshare-net --ro-bind / / true` with a timeout. */
void host_bwrap_probe(struct host_bwrap *b);
void host_bwrap_free(struct host_bwrap *b);

#endif
