/* The seccomp filter (libseccomp): default allow; each listed call fails
 * with EPERM. Non-native architectures and the x32 ABI are refused. */
#ifndef AB_INNER_SECCOMP_H
#define AB_INNER_SECCOMP_H

#include <stddef.h>
#include <stdio.h>
#include "agentbox.h"

/* Variants of the filter beyond the network mode, or'ed together. */
enum {
	/* No IPC namespace around the command (the Landlock backend):
	 * refuse every System V IPC call (seccomp_ipc.c). */
	AB_SECCOMP_NO_SYSV_IPC = 1u << 0,
	/* No network namespace around the command (the Landlock backend):
	 * under --net none no socket call but socketpair-style AF_UNIX use,
	 * under proxy IP sockets only (seccomp_net.c). */
	AB_SECCOMP_NO_NET_NAMESPACE = 1u << 1,
};
#define AB_SECCOMP_VARIANTS 4 /* how many flag combinations exist */

/* Builds and loads the filter for this network mode and these
 * AB_SECCOMP_* flags on the calling thread. no_new_privs must already be
 * set. */
int seccomp_install(ab_net net, unsigned flags, ab_error *err);

/* Writes a human-readable (PFC) dump of the filter, for debugging. */
int seccomp_dump(ab_net net, unsigned flags, FILE *out, ab_error *err);

/* Writes the raw BPF program for `net` (what the kernel gets) to fd. */
int seccomp_export_bpf_fd(ab_net net, unsigned flags, int fd, ab_error *err);

/* The program compiled in at build time, for tests that compare it with
 * what libseccomp builds now. */
const void *seccomp_prebuilt_program(ab_net net, unsigned flags, size_t *len);

#endif
