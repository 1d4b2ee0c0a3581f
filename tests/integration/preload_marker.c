/* An LD_PRELOAD library for t_env.sh: loaded into a process of the
 * sandbox's setup (bwrap, or agentbox's inner stage started with
 * "__inner"), it aborts, so that the run fails; loaded into anything else
 * (the sandboxed command) it says so on stderr. The setup must never
 * load it: the command's environment, LD_PRELOAD included, applies only
 * to the command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void preload_marker(int argc, char **argv)
{
	const char *name = argc > 0 && argv && argv[0] ? argv[0] : "?";
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	if (strcmp(base, "bwrap") == 0 || strcmp(base, "agentbox-inner") == 0 ||
	    (argc > 1 && strcmp(argv[1], "__inner") == 0)) {
		fprintf(stderr, "preload-marker: LOADED IN SETUP (%s)\n", base);
		abort();
	}
	fprintf(stderr, "preload-marker: loaded in %s\n", base);
}
