/* The kernel side of the Landlock backend: ABI query, ruleset, restrict.
 *
 * The structures are declared here rather than taken from
 * <linux/landlock.h>, which on the build host may be older than the
 * running kernel; the kernel accepts any size up to its own and checks the
 * unknown tail is zero, so the larger layout works on every ABI. */
#include "backend/landlock/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "common/open_beneath.h"
#include "common/util.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

int landlock_abi(ab_error *err)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	if (v >= 1)
		return (int)v;
	int e = v < 0 ? errno : EINVAL;
	if (e == ENOSYS)
		return ab_fail(err, ENOSYS,
			       "landlock: this kernel has no Landlock support (landlock_create_ruleset: ENOSYS); "
			       "it needs Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK=y, and no "
			       "seccomp filter around agentbox (a container's profile) that refuses the Landlock calls");
	if (e == EOPNOTSUPP)
		return ab_fail(err, EOPNOTSUPP,
			       "landlock: the kernel supports Landlock but it is disabled at boot; add "
			       "\"landlock\" to the lsm= boot parameter (see /sys/kernel/security/lsm) or "
			       "use another backend");
	return ab_fail_errno(err, e, "landlock: cannot query the Landlock ABI version");
}

void landlock_features_for(int abi, ab_net net, struct ll_features *f)
{
	memset(f, 0, sizeof(*f));
	f->abi = abi;
	if (abi < 1)
		return;
	f->fs = LL_FS_READ | LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_ALL;
	if (abi >= 2)
		f->fs |= LL_FS_REFER;
	if (abi >= 3)
		f->fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		f->fs |= LL_FS_IOCTL_DEV;
	if (abi >= 4 && net == AB_NET_NONE)
		f->net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	/* The mount backends keep the host's network namespace with --net
	 * full, and abstract sockets live in it; scoping them then would
	 * refuse what the policy allows. Signals are always confined, as a
	 * PID namespace would. */
	if (abi >= 6) {
		f->scoped = LL_SCOPE_SIGNAL;
		if (net == AB_NET_NONE)
			f->scoped |= LL_SCOPE_ABSTRACT_UNIX;
	}
	if (abi >= 7)
		f->restrict_flags = LL_RESTRICT_LOG_NEW_EXEC_ON;
}

void landlock_note_abi_limits(const struct ll_features *f, const struct plan *plan,
			      struct ll_rules *r, strv *gaps)
{
	bool any_write = plan->root_writable;
	for (size_t i = 0; i < plan->n_nodes; i++)
		any_write = any_write || plan->nodes[i].access == AB_ACCESS_WRITE;
	if (f->abi < 2 && any_write)
		landlock_add_narrowing(r, "no_refer", NULL,
				       "renaming or hard-linking files into another directory is refused "
				       "(Landlock ABI %d lacks the REFER right; it needs ABI 2, Linux 5.19)",
				       f->abi);
	if (f->abi < 3)
		strv_push_owned(gaps, xasprintf(
			"truncate(2) on files the plan keeps read-only is not refused by Landlock "
			"(ABI %d; TRUNCATE needs ABI 3, Linux 6.2); file permissions still apply", f->abi));
	if (f->abi < 4 && plan->net == AB_NET_NONE)
		strv_push_owned(gaps, xasprintf(
			"TCP is not restricted by Landlock (ABI %d; it needs ABI 4, Linux 6.7); the "
			"seccomp filter refuses every non-unix socket instead", f->abi));
	if (f->abi < 5)
		strv_push_owned(gaps, xasprintf(
			"ioctl on device files is not restricted (ABI %d; IOCTL_DEV needs ABI 5, Linux 6.10)",
			f->abi));
	if (f->abi < 6)
		strv_push_owned(gaps, xasprintf(
			"signals to processes outside the sandbox%s are not refused (ABI %d; scopes "
			"need ABI 6, Linux 6.12)",
			plan->net == AB_NET_NONE ? " and abstract unix sockets outside it" : "", f->abi));
	if (f->abi < 7)
		strv_push_owned(gaps, xasprintf(
			"denials are not audited (ABI %d; audit logging needs ABI 7, Linux 6.15)", f->abi));
}

/* Opens a rule's path from / following no symbolic link (nor magic link)
 * in any component, and checks it is still the file the rules were
 * computed for: a path a racing writer redirected during start-up (a
 * directory swapped with a symlink, or with another directory) refuses
 * the run; it never puts the rule on something else. Returns the O_PATH
 * fd, 0 when the path is gone (nothing there to grant), or -errno. */
static int open_rule_path(int rootfd, bool openat2, const struct ll_rule *rule, ab_error *err)
{
	int fd = open_beneath(openat2, rootfd, rule->path, O_PATH);
	if (fd == -ENOENT)
		return 0;
	if (fd == -ELOOP)
		return ab_fail(err, ELOOP,
			       "landlock: %s now has a symbolic link in it (a component was replaced while "
			       "agentbox started); refusing to run rather than put its rule elsewhere\n"
			       "fix: run again once nothing renames files there", rule->path);
	if (fd < 0)
		return ab_fail_errno(err, -fd, "landlock: cannot open %s for its rule", rule->path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return ab_fail_errno(err, e, "landlock: cannot check %s for its rule", rule->path);
	}
	if (rule->id.have && (st.st_dev != rule->id.dev || st.st_ino != rule->id.ino)) {
		close(fd);
		return ab_fail(err, EBUSY,
			       "landlock: %s is no longer the file agentbox resolved (device %llu, inode %llu; "
			       "now %llu, %llu): it was replaced while agentbox started; refusing to run\n"
			       "fix: run again once nothing renames files there",
			       rule->path, (unsigned long long)rule->id.dev, (unsigned long long)rule->id.ino,
			       (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	}
	return fd;
}

static int add_rule(int rfd, int rootfd, bool openat2, const struct ll_rule *rule, uint64_t handled,
		    ab_error *err)
{
	int fd = open_rule_path(rootfd, openat2, rule, err);
	if (fd <= 0)
		return fd;
	struct ll_path_beneath_attr pb = {
		.allowed_access = rule->access & handled,
		.parent_fd = fd,
	};
	int r = 0;
	if (pb.allowed_access &&
	    syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
		r = ab_fail_errno(err, errno, "landlock: cannot add the rule for %s (rights %#llx)",
				  rule->path, (unsigned long long)pb.allowed_access);
	close(fd);
	return r;
}

int landlock_build_ruleset(const struct ll_rules *rules, const struct ll_features *f,
			   ab_error *err)
{
	struct ll_ruleset_attr attr = {
		.handled_access_fs = f->fs,
		.handled_access_net = f->net,
		.scoped = f->scoped,
	};
	/* The smallest layout that carries what we use, so older kernels
	 * (which refuse a larger one with non-zero tail) accept it. */
	size_t size = f->scoped ? sizeof(attr) : f->net ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
	int rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
	if (rfd < 0)
		return ab_fail_errno(err, errno, "landlock: cannot create a ruleset (ABI %d, fs %#llx, "
						 "net %#llx, scoped %#llx)",
				     f->abi, (unsigned long long)f->fs, (unsigned long long)f->net,
				     (unsigned long long)f->scoped);
	/* Network none: TCP is handled and no port is allowed. */
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		int r = ab_fail_errno(err, errno, "landlock: cannot open / to open the rules' paths below it");
		close(rfd);
		return r;
	}
	bool openat2 = open_beneath_probe_openat2();
	for (size_t i = 0; i < rules->n_rules; i++) {
		int r = add_rule(rfd, rootfd, openat2, &rules->rules[i], f->fs, err);
		if (r < 0) {
			close(rootfd);
			close(rfd);
			return r;
		}
	}
	close(rootfd);
	return rfd;
}

int landlock_add_fd_rule(int rfd, int fd, uint64_t access, const char *what, ab_error *err)
{
	struct ll_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};
	if (!access)
		return 0;
	if (syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
		return ab_fail_errno(err, errno, "landlock: cannot add the rule for %s (fd %d, rights %#llx)",
				     what, fd, (unsigned long long)access);
	return 0;
}
