/* A fresh real directory tree per test, for tests that resolve policies
 * against the file system.
 *
 * Register tests with tree_setup/tree_teardown. tree_setup makes an empty
 * directory under /var/tmp (not /tmp, so that the workspace-write preset's
 * own /tmp rule does not cover the tree) and stores its canonical path in
 * T; tree_teardown removes the tree and every string P() handed out.
 * tree_add_path() prints a path with the T prefix shown as "T", so that
 * expected output can be written without knowing where the tree is. */
#ifndef AB_TESTS_TREE_FIXTURE_H
#define AB_TESTS_TREE_FIXTURE_H

#include "common/util.h"
#include "plan/plan.h"
#include "policy/policy.h"

/* Canonical path of the current test's tree; rendered as "T". */
extern char *T;

int tree_setup(void **state);
int tree_teardown(void **state);

/* "T/rel" as an absolute path (or T itself for ""); valid until teardown. */
const char *P(const char *rel);

/* Each helper fails the current test if the file system refuses. */
void mkdirs(const char *rel);
void mkfile(const char *rel, const char *content);
void mklink(const char *rel, const char *target);

void tree_add_path(sbuf *b, const char *path);

void rule(ab_policy *p, const char *path, ab_access access);
/* A new policy that protects only .git and .agentbox: for the cases about
 * ordering, pins and pointers, which predate the built-in list of
 * dangerous files (issue #14) and would otherwise list all of it. */
ab_policy *policy_git_agentbox_only(void);
void resolve_ok(const ab_policy *p, const struct plan_context *ctx, struct plan *plan);

/* A plan resolved from T/w with a hidden directory (w/a) that reopens a
 * writable one below it (w/a/b), a hidden file (w/secret.env) and a read
 * rule on a missing path (w/docs/missing): every kind of operation. */
void nested_reopen_plan(struct plan *plan);

#endif
