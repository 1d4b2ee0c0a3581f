/* Events: one JSON object per line on --events-fd, the same text to a
 * library callback, and warnings as one short line on stderr. */
#ifndef AB_RUN_EVENTS_H
#define AB_RUN_EVENTS_H

#include <stdbool.h>
#include "agentbox.h"

struct events {
	int fd;
	ab_event_fn fn;
	void *user;
	bool quiet;
};

void events_init(struct events *ev, const ab_run_options *o);
void events_emit(const struct events *ev, const char *json);
void events_warning(const struct events *ev, const char *code, const char *path,
		    const char *message);

#endif
