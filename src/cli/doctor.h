/* `agentbox doctor [--json]`: checks this host and says, item by item,
 * what works, what does not, why, and the one-line fix. */
#ifndef AB_CLI_DOCTOR_H
#define AB_CLI_DOCTOR_H

#include <stdbool.h>

/* Exit statuses: what the best backend here gives. */
#define DOCTOR_EXIT_FULL 0 /* a namespace backend (builtin or bwrap) works */
#define DOCTOR_EXIT_WEAK 1 /* only Landlock: no namespaces */
#define DOCTOR_EXIT_NONE 2 /* no sandbox can run; `agentbox run` fails closed */

struct backend;

/* What `--backend auto` would pick given the probes' results: the first
 * of backend_auto_order (backend/backend.h) that this host can run, or
 * NULL when none can. */
const struct backend *doctor_auto_choice(bool builtin_ok, bool bwrap_ok, int landlock_abi);

/* args: what follows `doctor` on the command line (NULL-terminated).
 * Returns the exit status. */
int doctor_main(char **args);

#endif
