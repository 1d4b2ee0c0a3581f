/* deny_userns [--landlock | --landlock-only | --no-ipv6] COMMAND [ARG...]: runs
 * COMMAND under a seccomp filter that refuses new user namespaces the way
 * a container runtime's default profile does (Docker's, without
 * CAP_SYS_ADMIN): unshare and clone with CLONE_NEWUSER fail with EPERM,
 * clone3 (whose flags a filter cannot read) with ENOSYS so that callers
 * fall back to clone. --landlock also makes the Landlock calls fail with
 * ENOSYS, as on a kernel built without Landlock; --landlock-only does only
 * that. --no-ipv6 does only this: socket(AF_INET6, ...) fails with
 * EAFNOSUPPORT, as on a kernel booted with ipv6.disable=1 or built without
 * IPv6. */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int deny_userns(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
				 SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return r;
}

static int deny_landlock(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_add_rule), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_restrict_self), 0);
	return r;
}

/* Only IPv6 may differ from the host: the other ABIs this kernel runs
 * (i386 and x32 on x86_64) stay allowed, where a bare libseccomp filter
 * would kill them. Their socket calls are left alone. */
static int deny_ipv6(scmp_filter_ctx ctx)
{
#if defined(__x86_64__)
	int r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r == 0 || r == -EEXIST)
		r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	if (r < 0 && r != -EEXIST)
		return r;
#endif
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				SCMP_A0(SCMP_CMP_EQ, AF_INET6));
}

int main(int argc, char **argv)
{
	bool userns = true, landlock = false, ipv6 = true;
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "--landlock") == 0) {
		landlock = true;
		first = 2;
	} else if (argc > 1 && strcmp(argv[1], "--landlock-only") == 0) {
		landlock = true;
		userns = false;
		first = 2;
	} else if (argc > 1 && strcmp(argv[1], "--no-ipv6") == 0) {
		ipv6 = false;
		userns = false;
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: deny_userns [--landlock | --landlock-only | --no-ipv6] "
				"COMMAND [ARG...]\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "deny_userns: seccomp_init failed\n");
		return 2;
	}
	int r = userns ? deny_userns(ctx) : 0;
	if (r == 0 && landlock)
		r = deny_landlock(ctx);
	if (r == 0 && !ipv6)
		r = deny_ipv6(ctx);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		fprintf(stderr, "deny_userns: cannot install the filter: %s\n", strerror(-r));
		return 2;
	}
	execvp(argv[first], argv + first);
	fprintf(stderr, "deny_userns: cannot execute %s: %s\n", argv[first], strerror(errno));
	return 127;
}
