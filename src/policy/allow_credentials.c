/* --allow-credentials NAME and the policy file's "allow_credentials":
 * entries of the credential deny set (policy/credential_list.c) the user
 * keeps visible inside, because a tool needs them (publishing, a private
 * registry, ssh with a key file). The policy records the names;
 * plan/credentials.c leaves those entries alone and the posture says so. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/policy.h"

static char *known_names(void)
{
	sbuf b = {0};
	for (size_t i = 0; policy_credential_list[i].name; i++)
		sbuf_addf(&b, "%s, ", policy_credential_list[i].name);
	sbuf_add(&b, "all");
	return b.s;
}

int policy_add_allow_credentials(ab_policy *p, const char *name, const char *origin, ab_error *err)
{
	if (!name || (strcmp(name, "all") != 0 && !policy_credential_find(name))) {
		_cleanup_free_ char *names = known_names();
		return ab_fail(err, EINVAL,
			       "--allow-credentials '%s': not an entry of the credential deny set\n"
			       "fix: use one of %s (README.md, \"Credentials\", says what each hides)",
			       name ? name : "", names);
	}
	for (size_t i = 0; i < p->n_allow_credentials; i++)
		if (strcmp(p->allow_credentials[i].name, name) == 0)
			return 0;
	grow_array((void **)&p->allow_credentials, &p->cap_allow_credentials,
		   p->n_allow_credentials + 1, sizeof(*p->allow_credentials));
	p->allow_credentials[p->n_allow_credentials++] = (struct policy_allow_credentials){
		.name = xstrdup(name),
		.origin = origin ? xstrdup(origin) : xasprintf("--allow-credentials %s", name),
	};
	return 0;
}

void policy_free_allow_credentials(ab_policy *p)
{
	for (size_t i = 0; i < p->n_allow_credentials; i++) {
		free(p->allow_credentials[i].name);
		free(p->allow_credentials[i].origin);
	}
	free(p->allow_credentials);
	p->allow_credentials = NULL;
	p->n_allow_credentials = p->cap_allow_credentials = 0;
}

const char *policy_credentials_allowed(const ab_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_allow_credentials; i++)
		if (strcmp(p->allow_credentials[i].name, name) == 0 ||
		    strcmp(p->allow_credentials[i].name, "all") == 0)
			return p->allow_credentials[i].origin;
	return NULL;
}

struct allow_args {
	ab_policy *p;
	const char *name;
	ab_error *err;
};

static int add_body(void *ctx)
{
	struct allow_args *a = ctx;
	return policy_add_allow_credentials(a->p, a->name, NULL, a->err);
}

int ab_policy_allow_credentials(ab_policy *p, const char *name, ab_error *err)
{
	struct allow_args a = {.p = p, .name = name, .err = err};
	return oom_guarded(add_body, &a, err, "ab_policy_allow_credentials");
}
