/* System V IPC rules for backends without an IPC namespace (Landlock).
 *
 * The namespace backends give the command an IPC namespace of its own, so
 * shmget/semget/msgget there reach only the sandbox's objects. Without one
 * every segment, semaphore set and message queue of the host is a key (or
 * an id, which is easy to guess) away, and the usual 0600 modes protect
 * them from other users only, not from the same user's sandboxed command.
 * Every System V IPC call is therefore refused with EPERM; POSIX shared
 * memory lives in /dev/shm, which Landlock rules cover like any path. */
#include <errno.h>
#include <seccomp.h>

#include "inner/seccomp_rule.h"

static const char *const sysv_calls[] = {
	"shmget", "shmat", "shmctl", "shmdt",
	"semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl",
};

int seccomp_add_sysv_ipc_rules(scmp_filter_ctx ctx, ab_error *err)
{
	for (size_t i = 0; i < sizeof(sysv_calls) / sizeof(sysv_calls[0]); i++) {
		int r = seccomp_deny(ctx, sysv_calls[i], 0, 0, NULL, err);
		if (r < 0)
			return r;
	}
	/* The multiplexer ipc(2) exists on i386, s390x, ppc and others; a
	 * negative number is libseccomp's placeholder for an architecture
	 * without it (x86_64, aarch64), where there is nothing to refuse. */
	int nr = seccomp_syscall_resolve_name("ipc");
	if (nr >= 0)
		return seccomp_deny(ctx, "ipc", 0, 0, NULL, err);
	return 0;
}
