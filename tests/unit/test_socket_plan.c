/* The plan's socket decisions (plan/sockets.c) against real trees with
 * real unix sockets: never-list entries hidden only where they exist and
 * are visible, --allow-unix binding one socket in (also inside a hidden
 * never-list directory, with a warning), and its refusals. The tests pass
 * their own never-list (plan_context.never_list), so the host's sockets
 * play no part. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe_child.h"
#include "tree_fixture.h"

/* A listening unix socket at T/rel (closed again: the inode stays). */
static void mksock(const char *rel)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = P(rel);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static struct socket_never never[5];

/* T/rt is $XDG_RUNTIME_DIR; T/run/docker.sock and T/run/absent.sock are
 * on the list; the policy reads everything and writes T/w. */
static ab_policy *policy_for(struct plan_context *ctx);

static ab_policy *setup_tree(struct plan_context *ctx)
{
	mkdirs("w");
	mkdirs("rt");
	mkdirs("run");
	mksock("rt/agent.sock");
	mksock("run/docker.sock");
	mkfile("run/plain", "x");
	return policy_for(ctx);
}

/* The context and policy again, for a second resolution in one test. */
static ab_policy *policy_for(struct plan_context *ctx)
{
	never[0] = (struct socket_never){"$XDG_RUNTIME_DIR", "runtime dir"};
	never[1] = (struct socket_never){P("run/docker.sock"), "docker"};
	never[2] = (struct socket_never){P("run/absent.sock"), "absent"};
	never[3] = (struct socket_never){"$XDG_RUNTIME_DIR/bus", "inside the runtime dir"};
	never[4] = (struct socket_never){NULL, NULL};
	*ctx = (struct plan_context){.cwd = P("w"), .no_proc = true, .runtime_dir = P("rt"),
				     .never_list = never};
	ab_policy *p = policy_git_agentbox_only();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	return p;
}

static const struct plan_node *node(const struct plan *plan, const char *path)
{
	int i = plan_find_node(plan, path);
	return i < 0 ? NULL : &plan->nodes[i];
}

static bool has_warning(const struct plan *plan, const char *code)
{
	for (size_t i = 0; i < plan->n_warnings; i++)
		if (strcmp(plan->warnings[i].code, code) == 0)
			return true;
	return false;
}

static bool has_op(const struct plan *plan, enum plan_op_kind kind, const char *path)
{
	for (size_t i = 0; i < plan->n_ops; i++)
		if (plan->ops[i].kind == kind && strcmp(plan->ops[i].path, path) == 0)
			return true;
	return false;
}

static void test_never_list_hides_what_exists_and_is_visible(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	const struct plan_node *rt = node(&plan, P("rt"));
	assert_non_null(rt);
	assert_int_equal(rt->access, AB_ACCESS_NONE);
	assert_int_equal(rt->source, NODE_SOCKET);
	assert_true(has_op(&plan, OP_MASK_DIR, P("rt")));
	const struct plan_node *d = node(&plan, P("run/docker.sock"));
	assert_non_null(d);
	assert_int_equal(d->source, NODE_SOCKET);
	assert_true(has_op(&plan, OP_MASK_FILE, P("run/docker.sock")));
	/* absent: no node, no mount; inside a hidden entry: nothing more */
	assert_null(node(&plan, P("run/absent.sock")));
	assert_null(node(&plan, P("rt/bus")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* Without a never-list (a test's own context) nothing is added. */
static void test_no_never_list_adds_nothing(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	ctx.never_list = NULL;
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("rt")));
	assert_null(node(&plan, P("run/docker.sock")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* A rule naming a never-list path does not reopen it: a warning says
 * that --allow-unix is the way. */
static void test_rule_on_never_list_path_is_overridden_with_warning(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	rule(p, P("rt"), AB_ACCESS_READ);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, P("rt"))->access, AB_ACCESS_NONE);
	assert_true(has_warning(&plan, "socket_never_list"));
	plan_free(&plan);
	ab_policy_free(p);
}

/* A rule below a hidden never-list directory reopens that part, with a
 * warning that names the rule. */
static void test_rule_below_never_list_directory_reopens_with_warning(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	mkdirs("rt/proj");
	rule(p, P("rt/proj"), AB_ACCESS_WRITE);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_int_equal(node(&plan, P("rt"))->access, AB_ACCESS_NONE);
	assert_int_equal(node(&plan, P("rt/proj"))->access, AB_ACCESS_WRITE);
	assert_true(has_op(&plan, OP_BIND_RW, P("rt/proj")));
	assert_true(has_warning(&plan, "socket_never_list"));
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_allow_unix_reopens_one_socket_inside_a_hidden_directory(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	ab_error err;
	assert_int_equal(ab_policy_add_allow_unix(p, P("rt/agent.sock"), &err), 0);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	const struct plan_node *a = node(&plan, P("rt/agent.sock"));
	assert_non_null(a);
	assert_int_equal(a->access, AB_ACCESS_READ);
	assert_int_equal(a->source, NODE_SOCKET_ALLOW);
	assert_true(has_op(&plan, OP_MASK_DIR, P("rt")));
	assert_true(has_op(&plan, OP_MKFILE, P("rt/agent.sock")));
	assert_true(has_op(&plan, OP_BIND_RO, P("rt/agent.sock")));
	assert_true(has_warning(&plan, "allow_unix_never_list"));
	assert_non_null(strstr(a->why, "on the socket never-list"));
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_allow_unix_on_a_never_list_socket_itself(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	ab_error err;
	assert_int_equal(ab_policy_add_allow_unix(p, P("run/docker.sock"), &err), 0);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	const struct plan_node *d = node(&plan, P("run/docker.sock"));
	assert_int_equal(d->access, AB_ACCESS_READ);
	assert_int_equal(d->source, NODE_SOCKET_ALLOW);
	assert_non_null(strstr(d->why, "never-list"));
	assert_false(has_op(&plan, OP_MASK_FILE, P("run/docker.sock")));
	assert_true(has_warning(&plan, "allow_unix_never_list"));
	plan_free(&plan);
	ab_policy_free(p);
}

static void resolve_fails(const ab_policy *p, const struct plan_context *ctx, int want,
			  const char *needle)
{
	struct plan plan;
	ab_error err = {0};
	int r = plan_resolve(p, ctx, &plan, &err);
	plan_free(&plan);
	if (r != -want || !strstr(err.message, needle))
		fail_msg("plan_resolve returned %d (%s), want %d with \"%s\"", r, err.message, -want,
			 needle);
}

static void test_allow_unix_refuses_what_is_not_a_socket(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	ab_error err;
	assert_int_equal(ab_policy_add_allow_unix(p, P("run/plain"), &err), 0);
	resolve_fails(p, &ctx, EINVAL, "is not a unix socket");
	ab_policy_free(p);
	/* a directory: the never-list's directories cannot be reopened whole */
	p = policy_for(&ctx);
	assert_int_equal(ab_policy_add_allow_unix(p, P("rt"), &err), 0);
	resolve_fails(p, &ctx, EINVAL, "is not a unix socket");
	ab_policy_free(p);
	p = policy_for(&ctx);
	assert_int_equal(ab_policy_add_allow_unix(p, P("run/absent.sock"), &err), 0);
	resolve_fails(p, &ctx, ENOENT, "cannot find the socket");
	ab_policy_free(p);
	p = policy_for(&ctx);
	assert_int_equal(ab_policy_add_allow_unix(p, "relative.sock", &err), -EINVAL);
	assert_non_null(strstr(err.message, "must be absolute"));
	ab_policy_free(p);
}

/* A link to a never-list socket resolves to that socket: the plan binds
 * the socket itself (and says it is on the never-list), never the link. */
static void test_allow_unix_through_a_link_names_the_socket(void **state)
{
	(void)state;
	struct plan_context ctx;
	ab_policy *p = setup_tree(&ctx);
	mklink("w2-link.sock", P("run/docker.sock"));
	ab_error err;
	assert_int_equal(ab_policy_add_allow_unix(p, P("w2-link.sock"), &err), 0);
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("w2-link.sock")));
	assert_int_equal(node(&plan, P("run/docker.sock"))->source, NODE_SOCKET_ALLOW);
	assert_true(has_warning(&plan, "allow_unix_never_list"));
	plan_free(&plan);
	ab_policy_free(p);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_never_list_hides_what_exists_and_is_visible),
		T_(test_no_never_list_adds_nothing),
		T_(test_rule_on_never_list_path_is_overridden_with_warning),
		T_(test_rule_below_never_list_directory_reopens_with_warning),
		T_(test_allow_unix_reopens_one_socket_inside_a_hidden_directory),
		T_(test_allow_unix_on_a_never_list_socket_itself),
		T_(test_allow_unix_refuses_what_is_not_a_socket),
		T_(test_allow_unix_through_a_link_names_the_socket),
	};
#undef T_
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
