/* Checking and widening the caller's ab_run_options (see run_options.c). */
#ifndef AB_RUN_RUN_OPTIONS_H
#define AB_RUN_RUN_OPTIONS_H

#include "agentbox.h"

/* Copies the caller's options into *out, a struct of this library's size
 * whose fields beyond in->size keep their defaults. -EINVAL with a message
 * for NULL, an uninitialised struct (size 0), or a size this library does
 * not know. *out is always initialised (to the defaults on error). */
int run_options_accept(const ab_run_options *in, ab_run_options *out, ab_error *err);

#endif
