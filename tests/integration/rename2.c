/*
 * rename2 - one renameat2(2) call, for the pin cases (t_pin.sh).
 *
 *   rename2 plain|exchange|noreplace FROM TO
 *
 * Prints "ok" or the errno's name (e.g. "EBUSY") and exits 0 either way,
 * so that a case can assert the kernel's answer; 2 on a usage error.
 * RENAME_EXCHANGE is the one mv(1) cannot do: it swaps two paths in one
 * step, which is how an attacker would swap a workspace's parent for a
 * prepared copy without a moment where the path is missing.
 * Standalone: libc only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char **argv)
{
	unsigned flags;
	if (argc != 4)
		goto usage;
	if (strcmp(argv[1], "plain") == 0)
		flags = 0;
	else if (strcmp(argv[1], "exchange") == 0)
		flags = RENAME_EXCHANGE;
	else if (strcmp(argv[1], "noreplace") == 0)
		flags = RENAME_NOREPLACE;
	else
		goto usage;
	/* the raw call: older libcs have no renameat2 wrapper */
	long r = syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags);
	const char *name = r == 0 ? "ok" : strerrorname_np(errno);
	printf("%s\n", name ? name : "EUNKNOWN");
	return 0;
usage:
	fprintf(stderr, "usage: rename2 plain|exchange|noreplace FROM TO\n");
	return 2;
}
