/* The Landlock backend's second seccomp filter: calls that Landlock cannot
 * judge as the plan says (changes of mode, owner, times and extended
 * attributes; creating, removing and renaming, which Landlock must refuse
 * in a directory that holds protected names) are sent to agentbox's broker
 * (backend/landlock/broker.h) as user notifications, and the broker
 * performs, refuses or lets them continue under Landlock. */
#ifndef AB_INNER_SECCOMP_NOTIFY_H
#define AB_INNER_SECCOMP_NOTIFY_H

#include <stddef.h>

#include "agentbox.h"

/* Installs the notifying filter on the calling thread (no_new_privs must be
 * set) and sends its listener fd over the unix socket `sock` (SCM_RIGHTS).
 * A kernel without user notifications (< 5.0) gets a filter that refuses
 * the metadata calls with EPERM and leaves the others to Landlock (whose
 * narrowing then stays), so nothing is ever widened; *notify then says
 * false. Without `fs`, creation, removal and renaming are not sent
 * (a kernel without ADDFD and CONTINUE: Landlock alone judges them). */
int seccomp_notify_install(int sock, bool fs, bool *notify, ab_error *err);

/* The metadata calls the filter notifies (for the tests). */
size_t seccomp_notify_meta_calls(const int **out);

#endif
