/* The Landlock backend's second seccomp filter: calls that Landlock cannot
 * judge (changes of mode, owner, times and extended attributes) are sent to
 * agentbox's broker (backend/landlock/broker.h) as user notifications, and
 * the broker performs or refuses them outside the sandbox. */
#ifndef AB_INNER_SECCOMP_NOTIFY_H
#define AB_INNER_SECCOMP_NOTIFY_H

#include "agentbox.h"

/* Installs the notifying filter on the calling thread (no_new_privs must be
 * set) and sends its listener fd over the unix socket `sock` (SCM_RIGHTS).
 * A kernel without user notifications (< 5.0) gets a filter that refuses
 * the same calls with EPERM instead, so nothing is ever widened; *notify
 * then says false. */
int seccomp_notify_install(int sock, bool *notify, ab_error *err);

/* The syscall numbers the filter notifies (for the broker's dispatch and
 * the tests); n_out gets their count. */
const int *seccomp_notify_calls(size_t *n_out);

#endif
