/* The device nodes a sandbox's /dev is made of, bound from the host. Both
 * backends check them first: a container or a tampered host can offer a
 * regular file as /dev/null, and a command writing to "/dev/null" would then
 * write into it, outside every writable root. */
#ifndef AB_BACKEND_DEVICES_H
#define AB_BACKEND_DEVICES_H

#include <sys/stat.h>

#include "agentbox.h"

struct dev_node {
	const char *name; /* under /dev */
	unsigned major, minor;
};

extern const struct dev_node dev_nodes[];
extern const unsigned n_dev_nodes;

/* Checks that st (from the host's /dev/NAME, not following links) is the
 * expected character device; fills err with the cause and fix if not. */
int dev_node_check(const struct dev_node *d, const struct stat *st, ab_error *err);

/* The same for every node, looked up by path (for the bwrap backend, which
 * binds them itself). */
int dev_nodes_check_host(ab_error *err);

#endif
