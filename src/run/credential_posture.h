/* The credential part of the posture and of `agentbox explain`
 * (run/credential_posture.c): which entries of the credential deny set
 * are hidden in this run, which the user keeps visible and by what. */
#ifndef AB_RUN_CREDENTIAL_POSTURE_H
#define AB_RUN_CREDENTIAL_POSTURE_H

#include <stdio.h>

#include "agentbox.h"
#include "common/util.h"
#include "plan/plan.h"

/* The posture's "credentials" member (with its leading comma). */
void credential_posture_json(sbuf *b, const struct plan *plan, ab_backend backend);
/* The same for `agentbox explain`, one line per entry found. */
void credential_posture_print(const struct plan *plan, ab_backend backend, FILE *out);

#endif
