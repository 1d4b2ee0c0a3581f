/* ab_run_options across library versions: the caller says how big its
 * struct is (ab_run_options_init records sizeof as compiled), and every
 * entry point works on a full-size copy in which the fields the caller's
 * header did not have keep their defaults. */
#include "run/run_options.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/error.h"

/* The first ab_run_options that had a size field ended with
 * allow_writable_self; no caller can have a smaller one. */
#define RUN_OPTIONS_SIZE_MIN \
	(offsetof(ab_run_options, allow_writable_self) + sizeof(bool))

static void defaults(ab_run_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->events_fd = -1;
	o->approvals_fd = -1;
	o->backend = AB_BACKEND_AUTO;
	o->stdin_fd = o->stdout_fd = o->stderr_fd = -1;
	o->envp = NULL;
}

void ab_run_options_init_size(ab_run_options *o, size_t size)
{
	ab_run_options d;
	defaults(&d);
	/* only the caller's bytes: its struct may be smaller than ours, or
	 * larger (then the fields we do not know are zero, and run_options_
	 * accept refuses the size) */
	if (size > sizeof(d)) {
		memset(o, 0, size);
		memcpy(o, &d, sizeof(d));
	} else {
		memcpy(o, &d, size);
	}
	if (size >= sizeof(o->size))
		o->size = size;
}

int run_options_accept(const ab_run_options *in, ab_run_options *out, ab_error *err)
{
	defaults(out);
	if (!in)
		return ab_fail(err, EINVAL, "no ab_run_options given (NULL)");
	if (in->size == 0)
		return ab_fail(err, EINVAL,
			       "ab_run_options.size is 0: the options were not initialised\n"
			       "fix: call ab_run_options_init(&options) before setting any field");
	if (in->size < RUN_OPTIONS_SIZE_MIN)
		return ab_fail(err, EINVAL,
			       "ab_run_options.size is %zu, smaller than any agentbox.h ever had (%zu): the options are corrupt or were not initialised\n"
			       "fix: call ab_run_options_init(&options) before setting any field",
			       in->size, (size_t)RUN_OPTIONS_SIZE_MIN);
	if (in->size > sizeof(*out))
		return ab_fail(err, EINVAL,
			       "ab_run_options.size is %zu bytes, but this libagentbox (%s) knows only %zu: the program was built against a newer agentbox.h than the library it runs with\n"
			       "fix: install the libagentbox that matches the header the program was built with, or rebuild the program against this one",
			       in->size, AB_VERSION, sizeof(*out));
	memcpy(out, in, in->size);
	out->size = sizeof(*out);
	int r;
	if ((r = run_options_channel_fd("ab_run_options.events_fd", out->events_fd, err)) < 0 ||
	    (r = run_options_channel_fd("ab_run_options.approvals_fd", out->approvals_fd, err)) < 0)
		return r;
	return 0;
}

/* The command inherits fds 0, 1 and 2 (its stdin, stdout and stderr): a
 * channel there could be read or written by the command itself, which
 * could then answer its own approval questions or forge events. */
int run_options_channel_fd(const char *what, int fd, ab_error *err)
{
	if (fd < 0 || fd > 2)
		return 0;
	static const char *const names[] = {"standard input", "standard output", "standard error"};
	return ab_fail(err, EINVAL,
		       "%s %d: that is the sandboxed command's %s, which it inherits, so the command could read or write this channel itself (answer its own approval questions, forge events); agentbox's channels must stay out of its reach\n"
		       "fix: give the channel a descriptor of its own, 3 or above (for example `--events-fd 3 3>&2` in a shell, or a socketpair end in a program)",
		       what, fd, names[fd]);
}
