/* Metadata calls the coreutils do not make, for t_landlock.sh's broker
 * cases: extended attributes, and fchmod/fchown through an fd opened only
 * for reading.
 *   meta setx PATH NAME VALUE    setxattr
 *   meta lsetx PATH NAME VALUE   lsetxattr
 *   meta fsetx PATH NAME VALUE   fsetxattr on an O_RDONLY fd
 *   meta rmx PATH NAME           removexattr
 *   meta getx PATH NAME          prints the value (exit 1 when absent)
 *   meta fchmod PATH OCTAL       fchmod on an O_RDONLY fd
 *   meta fchown PATH UID         fchown on an O_RDONLY fd
 * Exit 0 on success, 1 with the errno text on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int done(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "meta %s: %s\n", what, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: meta OP PATH ARG [VALUE]\n");
		return 2;
	}
	const char *op = argv[1], *p = argv[2], *a = argv[3], *v = argc > 4 ? argv[4] : "";
	if (strcmp(op, "setx") == 0)
		return done(setxattr(p, a, v, strlen(v), 0), op);
	if (strcmp(op, "lsetx") == 0)
		return done(lsetxattr(p, a, v, strlen(v), 0), op);
	if (strcmp(op, "rmx") == 0)
		return done(removexattr(p, a), op);
	if (strcmp(op, "getx") == 0) {
		char buf[256];
		ssize_t n = getxattr(p, a, buf, sizeof(buf) - 1);
		if (n < 0)
			return done(-1, op);
		printf("%.*s\n", (int)n, buf);
		return 0;
	}
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return done(-1, "open");
	if (strcmp(op, "fsetx") == 0)
		return done(fsetxattr(fd, a, v, strlen(v), 0), op);
	if (strcmp(op, "fchmod") == 0)
		return done(fchmod(fd, (mode_t)strtol(a, NULL, 8)), op);
	if (strcmp(op, "fchown") == 0)
		return done(fchown(fd, (uid_t)atoi(a), (gid_t)-1), op);
	fprintf(stderr, "meta: unknown op %s\n", op);
	return 2;
}
