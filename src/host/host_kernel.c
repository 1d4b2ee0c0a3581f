/* The running kernel's release and version. */
#include "host/host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

int host_kernel_parse(const char *release, int *major, int *minor)
{
	char *end = NULL;
	*major = *minor = -1;
	long ma = strtol(release, &end, 10);
	if (end == release || *end != '.' || ma < 0 || ma > 1000)
		return -EINVAL;
	const char *p = end + 1;
	long mi = strtol(p, &end, 10);
	if (end == p || mi < 0 || mi > 1000)
		return -EINVAL;
	*major = (int)ma;
	*minor = (int)mi;
	return 0;
}

void host_kernel_probe(struct host_kernel *k)
{
	struct utsname u;
	memset(k, 0, sizeof(*k));
	if (uname(&u) < 0) {
		k->major = k->minor = -1;
		return;
	}
	snprintf(k->release, sizeof(k->release), "%s", u.release);
	host_kernel_parse(k->release, &k->major, &k->minor);
}

bool host_kernel_at_least(const struct host_kernel *k, int major, int minor)
{
	return k->major > major || (k->major == major && k->minor >= minor);
}
