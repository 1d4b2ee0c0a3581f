/* The Landlock backend's second seccomp filter: calls that Landlock cannot
 * judge as the plan says (changes of mode, owner, times and extended
 * attributes; creating, removing and renaming, which Landlock must refuse
 * in a directory that holds protected names) are sent to agentbox's broker
 * (backend/landlock/broker.h) as user notifications, and the broker
 * performs, refuses or lets them continue under Landlock. */
#ifndef AB_INNER_SECCOMP_NOTIFY_H
#define AB_INNER_SECCOMP_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "agentbox.h"

/* Installs the notifying filter on the calling thread (no_new_privs must be
 * set) and sends its listener fd over the unix socket `sock` (SCM_RIGHTS).
 * A kernel without user notifications (< 5.0) gets a filter that refuses
 * the metadata calls with EPERM and leaves the others to Landlock (whose
 * narrowing then stays), so nothing is ever widened; *notify then says
 * false. Without `fs`, creation, removal and renaming are not sent
 * (a kernel without ADDFD and CONTINUE: Landlock alone judges them). The
 * pin of the process group holds with or without notifications. */
struct notify_opts {
	bool fs;       /* send creating, removing, renaming and write opens */
	int pin_pgid;  /* > 0: refuse setsid, and setpgid into any other group
			* than this one, with EPERM (the Landlock backend
			* without a cgroup of its own: the reaper ends the run
			* by this group, which must not be left) */
};

int seccomp_notify_install(int sock, const struct notify_opts *o, bool *notify, ab_error *err);

/* The metadata calls and inode-flag ioctls the filter notifies (for the
 * tests). */
size_t seccomp_notify_meta_calls(const int **out);
size_t seccomp_notify_flag_ioctls(const unsigned **out);

#endif
