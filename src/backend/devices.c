#include "backend/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/sysmacros.h>

#include "common/error.h"

const struct dev_node dev_nodes[] = {
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};
const unsigned n_dev_nodes = sizeof(dev_nodes) / sizeof(dev_nodes[0]);

int dev_node_check(const struct dev_node *d, const struct stat *st, ab_error *err)
{
	if (S_ISCHR(st->st_mode) && major(st->st_rdev) == d->major && minor(st->st_rdev) == d->minor)
		return 0;
	const char *what = S_ISCHR(st->st_mode) ? "another character device" :
			   S_ISREG(st->st_mode) ? "a regular file" :
			   S_ISLNK(st->st_mode) ? "a symbolic link" : "not a character device";
	return ab_fail(err, ENODEV,
		       "the host's /dev/%s is %s (%u:%u), not the character device %u:%u; refusing to use it\n"
		       "fix: restore it (as root: rm /dev/%s && mknod -m 666 /dev/%s c %u %u)",
		       d->name, what, major(st->st_rdev), minor(st->st_rdev), d->major, d->minor,
		       d->name, d->name, d->major, d->minor);
}

int dev_nodes_check_host(ab_error *err)
{
	for (unsigned i = 0; i < n_dev_nodes; i++) {
		char path[32];
		struct stat st;
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i].name);
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return ab_fail_errno(err, errno, "cannot check the host's %s", path);
		int r = dev_node_check(&dev_nodes[i], &st, err);
		if (r < 0)
			return r;
	}
	return 0;
}
