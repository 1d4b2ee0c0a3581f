#include "inner/landlock_enforce.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

int landlock_restrict(int ruleset_fd, uint32_t flags, ab_error *err)
{
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, flags) < 0)
		return ab_fail_errno(err, errno, "landlock: cannot enforce the ruleset (landlock_restrict_self)");
	return 0;
}
