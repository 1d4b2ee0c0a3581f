/* Checking and widening the caller's ab_run_options (see run_options.c). */
#ifndef AB_RUN_RUN_OPTIONS_H
#define AB_RUN_RUN_OPTIONS_H

#include "agentbox.h"

/* Copies the caller's options into *out, a struct of this library's size
 * whose fields beyond in->size keep their defaults. -EINVAL with a message
 * for NULL, an uninitialised struct (size 0), or a size this library does
 * not know, or an events or approvals fd among 0, 1 and 2
 * (run_options_channel_fd). *out is always initialised (to the defaults on error). */
int run_options_accept(const ab_run_options *in, ab_run_options *out, ab_error *err);

/* -EINVAL with a message naming `what` (the option or field) when fd is
 * 0, 1 or 2: an events or approvals channel there is the command's own
 * stdin, stdout or stderr. 0 for any other value (-1: none). */
int run_options_channel_fd(const char *what, int fd, ab_error *err);

#endif
