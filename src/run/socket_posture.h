/* What holds for sockets in a run (run/socket_posture.c): the loopback,
 * unix and abstract sockets the command may use, the never-list entries
 * hidden and the sockets --allow-unix binds in, per backend and network
 * mode. */
#ifndef AB_RUN_SOCKET_POSTURE_H
#define AB_RUN_SOCKET_POSTURE_H

#include <stdio.h>

#include "agentbox.h"
#include "common/util.h"
#include "plan/plan.h"

/* The posture's "sockets" member (with its leading comma). */
void socket_posture_json(sbuf *b, const struct plan *plan, ab_backend backend);
/* The same for `agentbox explain`, a few lines. */
void socket_posture_print(const struct plan *plan, ab_backend backend, FILE *out);
/* Refuses a run whose socket decisions the backend cannot keep: on
 * Landlock, --allow-unix under --net none or proxy (no unix connect(2)
 * there at all). */
int socket_check_backend(const struct plan *plan, ab_backend backend, ab_error *err);

#endif
