/* See run_gate.h. A counter and a flag under one mutex: the run that wants
 * to be alone stops counting itself, waits for the others to leave and for
 * any other lone run to finish, and counts itself again when done, so two
 * runs that both want to be alone go one after the other instead of
 * waiting for each other. */
#include "run/run_gate.h"

#include <pthread.h>
#include <stdbool.h>

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_changed = PTHREAD_COND_INITIALIZER;
static unsigned gate_active;  /* runs inside the gate, not alone */
static bool gate_alone;       /* a run holds the process to itself */

void run_gate_enter(void)
{
	pthread_mutex_lock(&gate_lock);
	while (gate_alone)
		pthread_cond_wait(&gate_changed, &gate_lock);
	gate_active++;
	pthread_mutex_unlock(&gate_lock);
}

void run_gate_leave(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_active--;
	pthread_cond_broadcast(&gate_changed);
	pthread_mutex_unlock(&gate_lock);
}

void run_gate_alone_begin(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_active--;
	pthread_cond_broadcast(&gate_changed);
	while (gate_alone || gate_active > 0)
		pthread_cond_wait(&gate_changed, &gate_lock);
	gate_alone = true;
	pthread_mutex_unlock(&gate_lock);
}

void run_gate_alone_end(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_alone = false;
	gate_active++;
	pthread_cond_broadcast(&gate_changed);
	pthread_mutex_unlock(&gate_lock);
}
