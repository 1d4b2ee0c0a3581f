/* bench/bench_args.h: the count arguments of the bench tools (N runs, J
 * jobs), checked the same way everywhere. Header-only: each tool is built
 * from its one .c file by bench_cc (bench/common.sh). */
#ifndef BENCH_ARGS_H
#define BENCH_ARGS_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* `text` as a whole number from 1 to max; otherwise says so and exits 2. */
static inline long bench_count(const char *tool, const char *name, const char *text, long max)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (!*text || *end || v < 1 || v > max) {
		if (max == LONG_MAX)
			fprintf(stderr, "%s: %s must be a positive number, not '%s'\n", tool, name, text);
		else
			fprintf(stderr, "%s: %s must be a number from 1 to %ld, not '%s'\n", tool, name, max,
				text);
		exit(2);
	}
	return v;
}

#endif
