/* The sandbox's seccomp filter.
 *
 * Default action ALLOW; every rule returns ERRNO(EPERM), except clone3 and
 * openat2 which return ENOSYS (see add_clone_rules, seccomp_files.c). The
 * rules on file modes (no setuid/setgid bits, no device nodes) are in
 * seccomp_files.c, those that depend on the network mode in seccomp_net.c. The filter is built for the native
 * architecture only and libseccomp's bad-architecture action is set to
 * KILL_PROCESS, so a 32-bit (int 0x80 / compat) call is killed instead of
 * slipping past rules written for native syscall numbers.
 *
 * x32: x32 calls arrive under AUDIT_ARCH_X86_64 with bit 0x40000000 set in the
 * syscall number, so an arch check alone does not catch them. libseccomp
 * (checked with 2.5.4) emits, for a filter that holds x86_64 but not x32,
 * "if nr >= 0x40000000 and nr != -1: bad-arch action" right after the arch
 * check. With the bad-arch action set to KILL_PROCESS below, every x32 call
 * kills the process; test_seccomp.c proves it against the kernel, so a
 * libseccomp that stopped doing this would fail the tests.
 *
 * no_new_privs: SCMP_FLTATR_CTL_NNP is turned off. The caller sets
 * no_new_privs itself, as a separate visible step; seccomp_install checks
 * that it is set rather than letting libseccomp set it silently.
 */
#include "inner/seccomp.h"

#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "common/error.h"
#include "inner/seccomp_rule.h"

/* Linux 6.1 headers; older ones lack it, the number is fixed */
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW 0xaa00
#endif

#ifndef AB_SECCOMP_GENERATOR
#include "seccomp_bpf.h" /* generated at build time */
#endif

/* A call to refuse. Syscalls numbered from 424 on share one number on every
 * architecture (alpha aside), so when an older libseccomp does not know the
 * name we can still name the call by that number. 0 means "no fallback":
 * the call is old enough that every supported libseccomp knows it. */
struct denied_call {
	const char *name;
	int generic_nr;
};

static const struct denied_call always_denied[] = {
	/* reading or steering other processes' memory */
	{ "ptrace", 0 },
	{ "process_vm_readv", 0 },
	{ "process_vm_writev", 0 },
	/* io_uring performs I/O (sockets included) without passing through
	 * the syscalls filtered here */
	{ "io_uring_setup", 425 },
	{ "io_uring_enter", 426 },
	{ "io_uring_register", 427 },
	/* kernel keyrings are not namespaced per sandbox */
	{ "keyctl", 0 },
	{ "add_key", 0 },
	{ "request_key", 0 },
	{ "bpf", 0 },
	{ "perf_event_open", 0 },
	/* the filesystem view is fixed by the backend before we run */
	{ "mount", 0 },
	{ "umount2", 0 },
	{ "pivot_root", 0 },
	{ "open_tree", 428 },
	{ "move_mount", 429 },
	{ "fsopen", 430 },
	{ "fsconfig", 431 },
	{ "fsmount", 432 },
	{ "fspick", 433 },
	{ "mount_setattr", 442 },
	/* file handles bypass path-based confinement */
	{ "open_by_handle_at", 0 },
	/* userfaultfd stalls the kernel on a page fault for as long as the
	 * caller likes, the classic way to widen a kernel race into a
	 * reliable exploit; memfd_secret pages are hidden even from the
	 * kernel's own accounting. Neither is needed by ordinary programs
	 * (Docker's default profile refuses userfaultfd too). */
	{ "userfaultfd", 0 },
	{ "memfd_secret", 447 },
};

static int resolve_call(const char *name, int generic_nr, ab_error *err)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr != __NR_SCMP_ERROR)
		return nr;
	if (generic_nr > 0)
		return generic_nr;
	return ab_fail(err, ENOSYS,
		       "seccomp: libseccomp %u.%u.%u does not know the syscall '%s'; "
		       "update libseccomp",
		       seccomp_version()->major, seccomp_version()->minor,
		       seccomp_version()->micro, name);
}

int seccomp_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
		 int generic_nr, unsigned int n_args,
		 const struct scmp_arg_cmp *args, ab_error *err)
{
	int nr = resolve_call(name, generic_nr, err);
	if (nr < 0)
		return nr;
	int r = seccomp_rule_add_array(ctx, action, nr, n_args, args);
	if (r < 0)
		return ab_fail_errno(err, -r, "seccomp: cannot add the rule for '%s'",
				     name);
	return 0;
}

int seccomp_deny(scmp_filter_ctx ctx, const char *name, int generic_nr,
		 unsigned int n_args, const struct scmp_arg_cmp *args,
		 ab_error *err)
{
	return seccomp_rule(ctx, SCMP_ACT_ERRNO(EPERM), name, generic_nr, n_args,
			args, err);
}

static int deny_list(scmp_filter_ctx ctx, const struct denied_call *list,
		     size_t n, ab_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_deny(ctx, list[i].name, list[i].generic_nr, 0, NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* New user namespaces would hand the sandbox a fresh set of capabilities
 * (and with them mount and the rest of the namespace-local privileges). */
static int add_clone_rules(scmp_filter_ctx ctx, ab_error *err)
{
	const struct scmp_arg_cmp newuser =
		SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
	int r = seccomp_deny(ctx, "unshare", 0, 1, &newuser, err);
	if (r < 0)
		return r;

#if defined(__s390__) || defined(__s390x__)
	/* s390 passes the stack first and the flags second */
	const struct scmp_arg_cmp clone_newuser =
		SCMP_A1_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
#else
	const struct scmp_arg_cmp clone_newuser = newuser;
#endif
	r = seccomp_deny(ctx, "clone", 0, 1, &clone_newuser, err);
	if (r < 0)
		return r;

	/* clone3 takes its flags inside a struct in user memory, which
	 * seccomp cannot read, so CLONE_NEWUSER cannot be filtered there.
	 * ENOSYS (rather than EPERM) tells glibc and other runtimes that
	 * clone3 does not exist, and they fall back to clone(2), whose
	 * flags the rule above does see. */
	return seccomp_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 435, 0, NULL,
			err);
}

/* TIOCSTI pushes bytes into the terminal's input queue and TIOCLINUX can
 * paste the console selection: either lets the sandbox type commands into
 * the user's shell once agentbox exits. The kernel reads the request as a
 * 32-bit int, so only the low 32 bits are compared; an exact 64-bit compare
 * would miss 0x100000000|TIOCSTI (CVE-2019-7303).
 * The same holds for USERFAULTFD_IOC_NEW. libseccomp's SCMP_A1_32
 * only truncates the datum, the comparison stays 64-bit, hence the mask. */
static int add_ioctl_rules(scmp_filter_ctx ctx, ab_error *err)
{
	/* USERFAULTFD_IOC_NEW on /dev/userfaultfd is the other way to get a
	 * userfaultfd (see always_denied). */
	static const unsigned long requests[] = { TIOCSTI, TIOCLINUX,
						  USERFAULTFD_IOC_NEW };

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		const struct scmp_arg_cmp cmp =
			SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffULL, requests[i]);
		int r = seccomp_deny(ctx, "ioctl", 0, 1, &cmp, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* personality(2) can turn off address-space randomisation
 * (ADDR_NO_RANDOMIZE), make mappings executable (READ_IMPLIES_EXEC) or
 * lie about the kernel (UNAME26), all of which help an exploit. Allowed:
 * the query (0xffffffff) and PER_LINUX (0), what every process already has.
 * libseccomp takes one comparison per argument in a rule, so the refused
 * values are written as a union: anything above 32 bits (the kernel would
 * read those as some other value; refusing them costs nothing), and every
 * 32-bit value that is neither all zeros nor all ones. Such a value has,
 * going round its bits cyclically, some bit set whose next bit is clear:
 * one masked-equal rule per such pair covers them all. */
static int add_personality_rules(scmp_filter_ctx ctx, ab_error *err)
{
	const struct scmp_arg_cmp above = SCMP_A0_64(SCMP_CMP_GT, 0xffffffffULL);
	int r = seccomp_deny(ctx, "personality", 0, 1, &above, err);
	for (unsigned int bit = 0; r == 0 && bit < 32; bit++) {
		uint64_t set = 1ULL << bit, next = 1ULL << ((bit + 1) % 32);
		const struct scmp_arg_cmp cmp =
			SCMP_A0_64(SCMP_CMP_MASKED_EQ, set | next, set);
		r = seccomp_deny(ctx, "personality", 0, 1, &cmp, err);
	}
	return r;
}

static int build_filter(ab_net net, unsigned flags, scmp_filter_ctx *out, ab_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return ab_fail(err, ENOMEM, "seccomp: cannot create a libseccomp filter");

	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
				 SCMP_ACT_KILL_PROCESS);
	if (r < 0) {
		ab_fail_errno(err, -r, "seccomp: cannot set the bad-architecture action");
		goto fail;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0) {
		ab_fail_errno(err, -r, "seccomp: cannot turn off libseccomp's no_new_privs handling");
		goto fail;
	}
	/* A binary tree over the syscall numbers instead of one long chain:
	 * the kernel runs the filter once per syscall number when it loads
	 * it (to find the calls it may allow without running it), which is
	 * start-up time of every run (0.157 -> 0.118 ms here, bench/phases.sh),
	 * and a call with argument rules (ioctl, socket, clone ...) reaches
	 * them in log2(n) jumps. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0) {
		ab_fail_errno(err, -r, "seccomp: cannot ask libseccomp for a binary-tree filter");
		goto fail;
	}

	r = deny_list(ctx, always_denied,
		      sizeof(always_denied) / sizeof(always_denied[0]), err);
	if (r == 0)
		r = add_clone_rules(ctx, err);
	if (r == 0)
		r = add_ioctl_rules(ctx, err);
	if (r == 0)
		r = add_personality_rules(ctx, err);
	if (r == 0)
		r = seccomp_add_file_mode_rules(ctx, err);
	if (r == 0)
		r = seccomp_add_net_rules(ctx, net, !(flags & AB_SECCOMP_NO_NET_NAMESPACE), err);
	if (r == 0 && (flags & AB_SECCOMP_NO_SYSV_IPC))
		r = seccomp_add_sysv_ipc_rules(ctx, err);
	if (r < 0)
		goto fail;

	*out = ctx;
	return 0;
fail:
	seccomp_release(ctx);
	return r;
}

#ifndef AB_SECCOMP_GENERATOR
/* The filter for `net` as compiled into agentbox at build time by
 * tools/gen_seccomp_filter.c (the same build_filter, run once): building it
 * with libseccomp costs about half a millisecond per run. */
#define AB_PROG(a) {.len = sizeof(a) / sizeof((a)[0]), .filter = (struct sock_filter *)(a)}
static const struct sock_fprog *prebuilt(ab_net net, unsigned flags)
{
	/* indexed [flags][net]; the generator writes every combination */
	static const struct sock_fprog progs[AB_SECCOMP_VARIANTS][3] = {
		{AB_PROG(ab_bpf_net_none), AB_PROG(ab_bpf_net_full), AB_PROG(ab_bpf_net_proxy)},
		{AB_PROG(ab_bpf_net_none_nosysv), AB_PROG(ab_bpf_net_full_nosysv),
		 AB_PROG(ab_bpf_net_proxy_nosysv)},
		{AB_PROG(ab_bpf_net_none_nonetns), AB_PROG(ab_bpf_net_full_nonetns),
		 AB_PROG(ab_bpf_net_proxy_nonetns)},
		{AB_PROG(ab_bpf_net_none_nosysv_nonetns), AB_PROG(ab_bpf_net_full_nosysv_nonetns),
		 AB_PROG(ab_bpf_net_proxy_nosysv_nonetns)},
	};
	_Static_assert(AB_NET_NONE == 0 && AB_NET_FULL == 1 && AB_NET_PROXY == 2,
		       "prebuilt() indexes its table by ab_net");
	return &progs[flags & (AB_SECCOMP_VARIANTS - 1)][net];
}
#endif

int seccomp_install(ab_net net, unsigned flags, ab_error *err)
{
	int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (nnp < 0)
		return ab_fail_errno(err, errno, "seccomp: cannot read no_new_privs");
	if (nnp != 1)
		return ab_fail(err, EPERM,
			       "seccomp: no_new_privs is not set; refusing to load the "
			       "filter without it (set PR_SET_NO_NEW_PRIVS first)");

#ifndef AB_SECCOMP_GENERATOR
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prebuilt(net, flags)) == 0)
		return 0;
#endif
	/* A kernel that rejects the prebuilt program (built for another
	 * kernel's API level): build it here instead. */
	scmp_filter_ctx ctx;
	int r = build_filter(net, flags, &ctx, err);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return ab_fail_errno(err, -r, "seccomp: the kernel refused the filter");
	return 0;
}

int seccomp_export_bpf_fd(ab_net net, unsigned flags, int fd, ab_error *err)
{
	scmp_filter_ctx ctx;
	int r = build_filter(net, flags, &ctx, err);
	if (r < 0)
		return r;
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (r < 0)
		return ab_fail_errno(err, -r, "seccomp: cannot export the filter");
	return 0;
}

#ifndef AB_SECCOMP_GENERATOR
const void *seccomp_prebuilt_program(ab_net net, unsigned flags, size_t *len)
{
	const struct sock_fprog *p = prebuilt(net, flags);
	*len = p->len * sizeof(struct sock_filter);
	return p->filter;
}
#endif

int seccomp_dump(ab_net net, unsigned flags, FILE *out, ab_error *err)
{
	scmp_filter_ctx ctx;
	int r = build_filter(net, flags, &ctx, err);
	if (r < 0)
		return r;
	/* libseccomp writes to the fd directly; keep the stream's order */
	fflush(out);
	r = seccomp_export_pfc(ctx, fileno(out));
	seccomp_release(ctx);
	if (r < 0)
		return ab_fail_errno(err, -r, "seccomp: cannot write the filter dump");
	return 0;
}
