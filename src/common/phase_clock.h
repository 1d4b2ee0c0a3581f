/* Where a run's time goes, for bench/phases.sh: with AGENTBOX_PHASES=1 in
 * agentbox's environment, each phase_mark() writes one line
 *     agentbox-phase PID MONOTONIC_NS LABEL
 * to stderr. Off (the default), a mark is one test of a static int. */
#ifndef AGENTBOX_PHASE_CLOCK_H
#define AGENTBOX_PHASE_CLOCK_H

extern int phase_clock_state; /* -1 not read yet, 0 off, 1 on */

void phase_mark_emit(const char *label);

static inline void phase_mark(const char *label)
{
	if (phase_clock_state != 0)
		phase_mark_emit(label);
}

#endif
