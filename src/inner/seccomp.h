/* The seccomp filter (libseccomp): default allow; each listed call fails
 * with EPERM. Non-native architectures and the x32 ABI are refused. */
#ifndef AB_INNER_SECCOMP_H
#define AB_INNER_SECCOMP_H

#include <stddef.h>
#include <stdio.h>
#include "agentbox.h"

/* Builds and loads the filter for this network mode on the calling thread.
 * no_new_privs must already be set. */
int seccomp_install(ab_net net, ab_error *err);

/* Writes a human-readable (PFC) dump of the filter, for debugging. */
int seccomp_dump(ab_net net, FILE *out, ab_error *err);

/* Writes the raw BPF program for `net` (what the kernel gets) to fd. */
int seccomp_export_bpf_fd(ab_net net, int fd, ab_error *err);

/* The program compiled in at build time, for tests that compare it with
 * what libseccomp builds now. */
const void *seccomp_prebuilt_program(ab_net net, size_t *len);

#endif
