/* Helpers shared by the files that build the seccomp filter (seccomp.c,
 * seccomp_files.c, seccomp_net.c): adding one rule by syscall name, with a fallback number
 * for calls an older libseccomp may not know. Not part of the inner
 * stage's interface (that is seccomp.h). */
#ifndef AB_INNER_SECCOMP_RULE_H
#define AB_INNER_SECCOMP_RULE_H

#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include "agentbox.h"
#include "common/error.h"

/* Adds "call `name` matching every comparison in `args` -> `action`".
 * generic_nr: the number to use when libseccomp does not know the name
 * (syscalls numbered from 424 on share one number on every architecture,
 * alpha aside); 0 when every supported libseccomp knows it. */
int seccomp_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
		 int generic_nr, unsigned int n_args,
		 const struct scmp_arg_cmp *args, ab_error *err);

/* The same with action ERRNO(EPERM). */
int seccomp_deny(scmp_filter_ctx ctx, const char *name, int generic_nr,
		 unsigned int n_args, const struct scmp_arg_cmp *args,
		 ab_error *err);

/* Rules against set-user-ID/set-group-ID modes and device nodes
 * (seccomp_files.c). */
int seccomp_add_file_mode_rules(scmp_filter_ctx ctx, ab_error *err);

/* Every System V IPC call refused (seccomp_ipc.c): for backends
 * without an IPC namespace. */
int seccomp_add_sysv_ipc_rules(scmp_filter_ctx ctx, ab_error *err);

/* Socket rules for the network mode (seccomp_net.c); own_netns: the
 * command has a network namespace of its own (the namespace backends). */
int seccomp_add_net_rules(scmp_filter_ctx ctx, ab_net net, bool own_netns, ab_error *err);

#endif
