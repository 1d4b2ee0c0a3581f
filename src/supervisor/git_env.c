/* GIT_CONFIG_COUNT and friends for the sandboxed command (git_env.h).
 * Configuration through the environment has the "command" scope: git
 * takes it over every file, and honours safe.directory from it (it
 * ignores that key in a repository's own config). */
#include "supervisor/git_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of NAME in env, or NULL. */
static const char *env_get(const strv *env, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=')
			return env->v[i] + len + 1;
	return NULL;
}

/* Drops every entry NAME=... of env. */
static void env_drop(strv *env, const char *name)
{
	size_t len = strlen(name), k = 0;
	for (size_t i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=')
			free(env->v[i]);
		else
			env->v[k++] = env->v[i];
	}
	env->n = k;
	if (env->v)
		env->v[k] = NULL;
}

/* The caller's count when it is one git accepts, else 0. */
static size_t caller_count(const strv *env)
{
	const char *c = env_get(env, "GIT_CONFIG_COUNT");
	if (!c || !*c)
		return 0;
	char *end = NULL;
	errno = 0;
	long n = strtol(c, &end, 10);
	if (errno || *end || n < 0 || n > GIT_ENV_CALLER_MAX)
		return 0;
	return (size_t)n;
}

static void set_pair(strv *env, size_t i, const char *key, const char *value)
{
	char name[64];
	snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%zu", i);
	env_drop(env, name);
	strv_push_owned(env, xasprintf("%s=%s", name, key));
	snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%zu", i);
	env_drop(env, name);
	strv_push_owned(env, xasprintf("%s=%s", name, value));
}

void git_env_add(strv *env, const char *const *safe_dirs, size_t n_safe)
{
	size_t n = caller_count(env);
	set_pair(env, n++, "core.hooksPath", "/dev/null");
	set_pair(env, n++, "core.fsmonitor", "false");
	for (size_t i = 0; i < n_safe; i++)
		set_pair(env, n++, "safe.directory", safe_dirs[i]);
	env_drop(env, "GIT_CONFIG_COUNT");
	strv_push_owned(env, xasprintf("GIT_CONFIG_COUNT=%zu", n));
}
