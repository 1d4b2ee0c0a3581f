/* The per-test directory tree described in tree_fixture.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "policy/policy.h"
#include "tree_fixture.h"

char *T;
/* Strings handed out by P(), freed after each test. */
static strv arena;

int tree_setup(void **state)
{
	(void)state;
	T = NULL;
	/* the program name tells whose tree a leftover one was */
	char *tmpl = xasprintf("/var/tmp/ab-%s-XXXXXX", program_invocation_short_name);
	if (mkdtemp(tmpl))
		T = realpath(tmpl, NULL);
	free(tmpl);
	return T ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int tree_teardown(void **state)
{
	(void)state;
	nftw(T, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(T);
	T = NULL;
	strv_free(&arena);
	return 0;
}

const char *P(const char *rel)
{
	strv_push_owned(&arena, *rel ? xasprintf("%s/%s", T, rel) : xstrdup(T));
	return arena.v[arena.n - 1];
}

void mkdirs(const char *rel)
{
	char *path = xstrdup(P(rel));
	for (char *s = path + strlen(T) + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				fail_msg("mkdir %s: %s", path, strerror(errno));
			*s = c;
			if (!c)
				break;
		}
	}
	free(path);
}

void mkfile(const char *rel, const char *content)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("create %s: %s", P(rel), strerror(errno));
	size_t n = strlen(content);
	assert_int_equal(write(fd, content, n), (ssize_t)n);
	close(fd);
}

void mklink(const char *rel, const char *target)
{
	if (symlink(target, P(rel)) < 0)
		fail_msg("symlink %s: %s", P(rel), strerror(errno));
}

void tree_add_path(sbuf *b, const char *path)
{
	size_t n = T ? strlen(T) : 0;
	if (T && strncmp(path, T, n) == 0 && (path[n] == '/' || path[n] == '\0')) {
		sbuf_add(b, "T");
		sbuf_add(b, path + n);
	} else {
		sbuf_add(b, path);
	}
}

void rule(ab_policy *p, const char *path, ab_access access)
{
	ab_error err = {0};
	if (ab_policy_add_path(p, path, access, "test", &err) < 0)
		fail_msg("add %s: %s", path, err.message);
}

ab_policy *policy_git_agentbox_only(void)
{
	ab_policy *p = ab_policy_new();
	for (size_t i = 0; policy_protect_defaults[i].name; i++) {
		const char *n = policy_protect_defaults[i].name;
		if (strcmp(n, ".git") != 0 && strcmp(n, ".agentbox") != 0 &&
		    ab_policy_unprotect(p, n, NULL) < 0)
			fail_msg("cannot unprotect %s", n);
	}
	return p;
}

void resolve_ok(const ab_policy *p, const struct plan_context *ctx, struct plan *plan)
{
	ab_error err = {0};
	int r = plan_resolve(p, ctx, plan, &err);
	if (r < 0)
		fail_msg("plan_resolve failed (%d): %s", r, err.message);
}

void nested_reopen_plan(struct plan *plan)
{
	mkdirs("w/a/b");
	mkfile("w/secret.env", "k");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	rule(p, P("w/a"), AB_ACCESS_NONE);
	rule(p, P("w/a/b"), AB_ACCESS_WRITE);
	rule(p, P("w/secret.env"), AB_ACCESS_NONE);
	rule(p, P("w/docs/missing"), AB_ACCESS_READ);
	struct plan_context ctx = {.cwd = P("w")};
	resolve_ok(p, &ctx, plan);
	ab_policy_free(p);
}
