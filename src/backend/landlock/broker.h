/* The Landlock backend's broker: a thread of agentbox (outside the
 * sandbox) that answers the seccomp user notifications of the command's
 * notifying filter (inner/seccomp_notify.h).
 *
 * Landlock has no right for chmod, chown, utimes or extended attributes,
 * so without the broker a command could change the metadata of any file it
 * may only read. The broker decides by the object's identity whether it
 * lies within a writable root of the plan, and if so performs the change
 * itself on its own fd of that object (never "check, then let the call
 * continue": the command could swap the path in between). Everything else
 * fails with EPERM. The thread holds no capabilities, so it can do no more
 * than the command could as the same user. */
#ifndef AB_BACKEND_LANDLOCK_BROKER_H
#define AB_BACKEND_LANDLOCK_BROKER_H

#include "agentbox.h"
#include "plan/plan.h"

struct ll_broker;

/* True when this kernel has seccomp user notifications with
 * SECCOMP_IOCTL_NOTIF_ADDFD (5.9): then the broker performs creation in
 * narrowed directories; without them the inner stage's filter leaves
 * creation to Landlock (narrowed) and refuses metadata changes. */
bool broker_available(void);

/* Starts the thread, which first receives the listener over `sock` (the
 * inner stage sends it before the command runs); takes `sock`. */
int broker_start(const struct plan *plan, int sock, struct ll_broker **out, ab_error *err);

/* Stops and joins the thread, frees everything. NULL is fine. */
void broker_stop(struct ll_broker *b);

#endif
