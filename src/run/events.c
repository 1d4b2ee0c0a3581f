#include "run/events.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

void events_init(struct events *ev, const ab_run_options *o)
{
	ev->fd = o->events_fd;
	ev->fn = o->on_event;
	ev->user = o->event_user;
	ev->quiet = o->quiet;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a closed events fd must not stop the run */
		s += w;
		n -= (size_t)w;
	}
}

void events_emit(const struct events *ev, const char *json)
{
	if (ev->fd >= 0) {
		/* one write per line so concurrent writers do not interleave */
		char *line = xasprintf("%s\n", json);
		write_all(ev->fd, line, strlen(line));
		free(line);
	}
	if (ev->fn)
		ev->fn(json, ev->user);
}

void events_warning(const struct events *ev, const char *code, const char *path,
		    const char *message)
{
	sbuf b = {0};
	sbuf_add(&b, "{\"event\":\"warning\",\"code\":");
	sbuf_add_json_string(&b, code);
	sbuf_add(&b, ",\"path\":");
	if (path)
		sbuf_add_json_string(&b, path);
	else
		sbuf_add(&b, "null");
	sbuf_add(&b, ",\"message\":");
	sbuf_add_json_string(&b, message);
	sbuf_add(&b, "}");
	events_emit(ev, b.s);
	sbuf_free(&b);
	if (!ev->quiet)
		fprintf(stderr, "agentbox: warning: %s\n", message);
}
