/* The caller's home directory in /etc/passwd, for the credential deny set
 * (plan/credentials.c): ssh, gpg and some other tools look for their files
 * there, not at $HOME, so a run with HOME pointing elsewhere must still
 * hide those. /etc/passwd is read directly rather than through NSS: the
 * binary is static (NSS modules would need the host's shared libraries),
 * and a home from a directory service is in practice $HOME itself. */
#include "run/passwd_home.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

char *passwd_home(uid_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return NULL;
	char *line = NULL, *home = NULL;
	size_t cap = 0;
	while (!home && getline(&line, &cap, f) > 0) {
		/* name:password:uid:gid:gecos:home:shell */
		char *field[7] = {0}, *p = line;
		size_t n = 0;
		for (char *tok; n < 7 && (tok = strsep(&p, ":\n")); )
			field[n++] = tok;
		if (n < 6 || !*field[2])
			continue;
		char *end;
		unsigned long u = strtoul(field[2], &end, 10);
		if (*end || u != (unsigned long)uid || field[5][0] != '/')
			continue;
		home = xstrdup(field[5]);
	}
	free(line);
	fclose(f);
	return home;
}
