/* The marks of phase_clock.h. The environment is read once, at the first
 * mark (in main, or in ab_run for the library), before any process of
 * the run is forked: the sandbox's processes inherit the answer, not the
 * variable (their environment is the policy's). */
#include "common/phase_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int phase_clock_state = -1;

void phase_mark_emit(const char *label)
{
	if (phase_clock_state < 0) {
		const char *v = getenv("AGENTBOX_PHASES");
		phase_clock_state = v && strcmp(v, "1") == 0;
		if (!phase_clock_state)
			return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char line[128];
	int n = snprintf(line, sizeof(line), "agentbox-phase %d %lld %s\n", (int)getpid(),
			 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, label);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
