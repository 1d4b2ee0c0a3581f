/* bench/floor.c: the least any namespace sandbox can cost on this kernel.
 *
 *   floor COMMAND [ARG...]
 *
 * A static program that does only the kernel work a `--net none` run of
 * agentbox cannot avoid: one clone into new user, mount, PID, IPC, UTS and
 * network namespaces, the uid/gid maps, and a PID 1 that forks the command
 * and waits for it. No mounts, no policy, no seccomp, no loopback, no error
 * messages. bench/startup.sh times it next to bare and agentbox, so the
 * ratios show how much of agentbox's cost is the kernel's and how much is
 * agentbox's own. The work itself is floor_run (bench/floor_core.h), which
 * bench/lib_run.c calls in-process for the library's floor. Exits with the
 * command's status (1 on any failure). */
#include <stdio.h>

#include "floor_core.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: floor COMMAND [ARG...]\n");
		return 2;
	}
	int code = floor_run(argv + 1);
	if (code < 0) {
		perror("floor: clone or wait");
		return 1;
	}
	return code;
}
