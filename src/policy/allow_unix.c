/* --allow-unix PATH and the policy file's "network"."allow_unix": host
 * unix sockets the user makes reachable inside the sandbox one by one
 * (an ssh-agent, a development database). The policy only records the
 * absolute paths; plan/sockets.c checks that each is a socket and binds
 * it in, and decides what a path on the socket never-list needs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/policy.h"

int policy_add_allow_unix(ab_policy *p, const char *path, const char *origin, ab_error *err)
{
	if (!path || path[0] != '/')
		return ab_fail(err, EINVAL,
			       "--allow-unix '%s': the socket's path must be absolute, such as \"$SSH_AUTH_SOCK\" "
			       "or /run/postgresql/.s.PGSQL.5432",
			       path ? path : "");
	char *norm = path_normalize(path);
	for (size_t i = 0; i < p->n_allow_unix; i++)
		if (strcmp(p->allow_unix[i].path, norm) == 0) {
			free(norm);
			return 0;
		}
	grow_array((void **)&p->allow_unix, &p->cap_allow_unix, p->n_allow_unix + 1,
		   sizeof(*p->allow_unix));
	p->allow_unix[p->n_allow_unix++] = (struct policy_allow_unix){
		.path = norm, .origin = xstrdup(origin ? origin : "--allow-unix"),
	};
	return 0;
}

void policy_free_allow_unix(ab_policy *p)
{
	for (size_t i = 0; i < p->n_allow_unix; i++) {
		free(p->allow_unix[i].path);
		free(p->allow_unix[i].origin);
	}
	free(p->allow_unix);
	p->allow_unix = NULL;
	p->n_allow_unix = p->cap_allow_unix = 0;
}

struct allow_unix_args {
	ab_policy *p;
	const char *path;
	ab_error *err;
};

static int add_body(void *ctx)
{
	struct allow_unix_args *a = ctx;
	return policy_add_allow_unix(a->p, a->path, NULL, a->err);
}

int ab_policy_add_allow_unix(ab_policy *p, const char *path, ab_error *err)
{
	struct allow_unix_args a = {.p = p, .path = path, .err = err};
	return oom_guarded(add_body, &a, err, "ab_policy_add_allow_unix");
}
