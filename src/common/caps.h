/* Dropping every capability before the sandboxed command runs, shared by
 * the backends whose own code starts it (the built-in engine's sandbox
 * init, the Landlock backend's child). */
#ifndef AB_COMMON_CAPS_H
#define AB_COMMON_CAPS_H

#include "agentbox.h"

/* The bounding set (so even uid 0 gains nothing at exec), the ambient set,
 * locked securebits against root's exec-time gains, then effective,
 * permitted and inheritable. The inner stage checks the result.
 *
 * Shrinking the bounding set and setting securebits need CAP_SETPCAP. A
 * process in a fresh user namespace has it; a plain user outside one
 * (the Landlock backend) does not, gets EPERM, and loses nothing by it:
 * it holds no capability and no_new_privs keeps exec from granting any.
 * So EPERM there is tolerated for a non-root caller only; for uid 0 it
 * is an error. */
int caps_drop_all(ab_error *err);

#endif
