/* Landlock: which ABI this kernel offers, and why none when it does not.
 * Self-contained on purpose: it must work whether or not the Landlock
 * backend (and its headers) are built. */
#include "host/host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

void host_landlock_probe(struct host_landlock *l)
{
	long r = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	l->abi = r > 0 ? (int)r : 0;
	l->err = r > 0 ? 0 : errno;
}

void host_landlock_explain(int err, struct host_cause *out)
{
	out->cause = out->fix = NULL;
	if (err == ENOSYS) {
		out->cause = xstrdup("this kernel has no Landlock (built without CONFIG_SECURITY_LANDLOCK, or "
				     "older than 5.13), or a seccomp filter around agentbox refuses the Landlock calls");
		out->fix = xstrdup("use a 5.13+ kernel built with CONFIG_SECURITY_LANDLOCK=y; only matters "
				   "when namespaces are refused");
	} else if (err == EOPNOTSUPP) {
		out->cause = xstrdup("Landlock is built in but disabled at boot");
		out->fix = xstrdup("add landlock to the lsm= boot parameter (e.g. lsm=landlock,lockdown,yama,"
				   "integrity,apparmor,bpf in GRUB_CMDLINE_LINUX), then reboot");
	} else {
		out->cause = xstrdup("landlock_create_ruleset failed (a seccomp filter of an enclosing "
				     "sandbox may refuse it)");
		out->fix = xstrdup("allow the landlock_* system calls in the enclosing sandbox's profile");
	}
}

static const char *const abi_adds[] = {
	[1] = "filesystem access rules",
	[2] = "refer (rename and link across directories)",
	[3] = "truncate",
	[4] = "tcp bind/connect rules",
	[5] = "ioctl on devices",
	[6] = "scopes (abstract unix sockets, signals)",
	[7] = "audit logging of denials",
};

char *host_landlock_features(int abi)
{
	sbuf b = {0};
	int known = (int)(sizeof(abi_adds) / sizeof(abi_adds[0])) - 1;
	for (int i = 1; i <= abi && i <= known; i++) {
		if (i > 1)
			sbuf_add(&b, ", ");
		sbuf_add(&b, abi_adds[i]);
	}
	if (abi > known)
		sbuf_addf(&b, ", and what ABI %d%s adds", known + 1, abi > known + 1 ? "+" : "");
	return b.s ? b.s : xstrdup("");
}
