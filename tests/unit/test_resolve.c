/* Plan resolution against real directory trees: special paths, symbolic
 * links, protected names and git pointers, precedence, and the order of
 * the operations that come out. Every test builds its tree in a fresh
 * directory from tree_fixture.h. */
#include <errno.h>
#include <limits.h>
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
#include "common/util.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "tree_fixture.h"
#include "probe_child.h"

/* The plan's operations on one line, "kind path [mode|-> target]" joined
 * by " | ". */
static char *render_ops(const struct plan *plan)
{
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		if (i)
			sbuf_add(&b, " | ");
		sbuf_add(&b, plan_op_name(op->kind));
		sbuf_add(&b, " ");
		tree_add_path(&b, op->path);
		switch (op->kind) {
		case OP_MASK_DIR:
		case OP_MASK_FILE:
		case OP_BLOCK_DIR:
		case OP_BLOCK_FILE:
			sbuf_addf(&b, " %04o", op->mode);
			break;
		case OP_SYMLINK:
			sbuf_addf(&b, " -> %s", op->target ? op->target : "(null)");
			break;
		default:
			break;
		}
	}
	return b.s;
}

static void assert_ops(const struct plan *plan, const char *want)
{
	char *got = render_ops(plan);
	bool same = strcmp(got, want) == 0;
	if (!same)
		print_error("ops differ\n got: %s\nwant: %s\n", got, want);
	free(got);
	if (!same)
		fail();
}

static ab_policy *policy(void)
{
	return policy_git_agentbox_only();
}

/* Without a fresh /proc, so that the expected ops are about the policy;
 * the /proc operations have their own case. */
static struct plan_context ctx_at(const char *cwd_rel)
{
	return (struct plan_context){.cwd = P(cwd_rel), .no_proc = true};
}

/* Fails with -want_errno and a message that contains each of the needles. */
static void resolve_fails(const ab_policy *p, const struct plan_context *ctx, int want_errno,
			  const char *needle1, const char *needle2)
{
	struct plan plan;
	ab_error err = {0};
	int r = plan_resolve(p, ctx, &plan, &err);
	plan_free(&plan);
	if (r != -want_errno)
		fail_msg("plan_resolve returned %d, want %d (message: %s)", r, -want_errno, err.message);
	assert_int_equal(err.code, want_errno);
	if (needle1 && !strstr(err.message, needle1))
		fail_msg("message lacks \"%s\": %s", needle1, err.message);
	if (needle2 && !strstr(err.message, needle2))
		fail_msg("message lacks \"%s\": %s", needle2, err.message);
}

static const struct plan_node *node(const struct plan *plan, const char *path)
{
	int i = plan_find_node(plan, path);
	return i < 0 ? NULL : &plan->nodes[i];
}

static void assert_node(const struct plan *plan, const char *path, ab_access access,
			enum node_source source, bool exists)
{
	const struct plan_node *n = node(plan, path);
	if (!n)
		fail_msg("no node for %s", path);
	if (n->access != access || n->source != source || n->exists != exists)
		fail_msg("node %s: access %s source %s exists %d; want %s %s %d", path,
			 ab_access_name(n->access), plan_node_source_name(n->source), n->exists,
			 ab_access_name(access), plan_node_source_name(source), exists);
}

static const struct plan_warning *warning(const struct plan *plan, const char *code)
{
	for (size_t i = 0; i < plan->n_warnings; i++)
		if (strcmp(plan->warnings[i].code, code) == 0)
			return &plan->warnings[i];
	return NULL;
}

/* :root read + :cwd write, the shape most tests start from. */
static ab_policy *root_read_cwd_write(void)
{
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	return p;
}

/* ---- presets ---------------------------------------------------------- */

/* An empty root turns read-only last of all, after the /proc mountpoint
 * is made in it; without /proc (a host that refused one) the /proc
 * operations go and the rest stays. */
static void test_empty_root_proc_then_final_remount(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	rule(p, P("w"), AB_ACCESS_WRITE);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_false(plan.root_readable);
	assert_ops(&plan, "root-empty / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555 | proc /proc"
		   " | proc-knob-read-only /proc/sys | proc-knob-read-only /proc/sysrq-trigger"
		   " | proc-knob-read-only /proc/irq | proc-knob-read-only /proc/bus"
		   " | proc-knob-read-only /proc/fs | proc-knob-read-only /proc/acpi"
		   " | proc-knob-read-only /proc/scsi | remount-read-only /");
	plan_drop_proc(&plan);
	assert_false(plan.mount_proc);
	assert_ops(&plan, "root-empty / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | remount-read-only /");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_read_only_preset_is_root_read_only_and_dev(void **state)
{
	(void)state;
	mkdirs("w/.git");
	ab_policy *p = policy();
	assert_int_equal(ab_policy_apply_preset(p, "read-only", NULL), 0);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	/* a fresh /proc, after every bind, with its knobs read-only */
	assert_ops(&plan, "root-read-only / | dev /dev | proc /proc"
		   " | proc-knob-read-only /proc/sys | proc-knob-read-only /proc/sysrq-trigger"
		   " | proc-knob-read-only /proc/irq | proc-knob-read-only /proc/bus"
		   " | proc-knob-read-only /proc/fs | proc-knob-read-only /proc/acpi"
		   " | proc-knob-read-only /proc/scsi");
	assert_int_equal(plan.n_nodes, 1);
	assert_node(&plan, "/", AB_ACCESS_READ, NODE_RULE, true);
	assert_true(plan.root_readable);
	assert_false(plan.root_writable);
	assert_true(plan.mount_proc);
	assert_int_equal(plan.net, AB_NET_NONE);
	assert_string_equal(plan.cwd, P("w"));
	assert_int_equal(plan.n_warnings, 0);
	plan_free(&plan);
	ab_policy_free(p);
}

/* The preset also makes /tmp writable; whatever /tmp/.git and
 * /tmp/.agentbox are right now (absent, or empty placeholders of a
 * concurrent run), they are blocked as empty read-only directories. */
static void test_workspace_write_protects_git_dir_and_blocks_missing_agentbox(void **state)
{
	(void)state;
	mkdirs("w/.git");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	ab_policy *p = policy();
	assert_int_equal(ab_policy_apply_preset(p, "workspace-write", NULL), 0);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable /tmp"
		   " | block-create-dir /tmp/.agentbox 0555 | block-create-dir /tmp/.git 0555"
		   " | bind-writable T/w | block-create-dir T/w/.agentbox 0555 | bind-read-only T/w/.git");
	assert_node(&plan, P("w"), AB_ACCESS_WRITE, NODE_RULE, true);
	assert_node(&plan, P("w/.git"), AB_ACCESS_READ, NODE_PROTECTED, true);
	assert_node(&plan, P("w/.agentbox"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_true(node(&plan, P("w/.agentbox"))->is_dir);
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_full_access_adds_no_protected_nodes_under_root(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	assert_int_equal(ab_policy_apply_preset(p, "full-access", NULL), 0);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	/* /sys and the host's /proc knobs (no fresh /proc here) stay
	 * read-only: root inside keeps uid 0 and could otherwise retune the
	 * host's kernel (#12: core_pattern was writable with --no-proc) */
	assert_ops(&plan, "root-writable / | dev /dev | bind-read-only /sys"
		   " | proc-knob-read-only /proc/sys | proc-knob-read-only /proc/sysrq-trigger"
		   " | proc-knob-read-only /proc/irq | proc-knob-read-only /proc/bus"
		   " | proc-knob-read-only /proc/fs | proc-knob-read-only /proc/acpi"
		   " | proc-knob-read-only /proc/scsi");
	assert_node(&plan, "/", AB_ACCESS_WRITE, NODE_RULE, true);
	assert_node(&plan, "/sys", AB_ACCESS_READ, NODE_KERNEL, true);
	assert_int_equal(plan.n_nodes, 2);
	for (size_t i = 0; i < plan.n_nodes; i++)
		assert_int_not_equal(plan.nodes[i].source, NODE_PROTECTED);
	assert_true(plan.root_writable);
	plan_free(&plan);
	ab_policy_free(p);
}

/* The automatic retry without a fresh /proc keeps the knob binds where
 * the host's /proc is writable (full access), over the host's own. */
static void test_proc_retry_keeps_knobs_under_writable_root(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	assert_int_equal(ab_policy_apply_preset(p, "full-access", NULL), 0);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	plan_drop_proc(&plan);
	assert_false(plan.mount_proc);
	assert_ops(&plan, "root-writable / | dev /dev | bind-read-only /sys"
		   " | proc-knob-read-only /proc/sys | proc-knob-read-only /proc/sysrq-trigger"
		   " | proc-knob-read-only /proc/irq | proc-knob-read-only /proc/bus"
		   " | proc-knob-read-only /proc/fs | proc-knob-read-only /proc/acpi"
		   " | proc-knob-read-only /proc/scsi");
	plan_free(&plan);
	ab_policy_free(p);
}

/* A rule writing /proc makes the host's knobs visible writable without a
 * fresh /proc: they are bound read-only over it. */
static void test_write_rule_on_proc_keeps_knobs_read_only(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	rule(p, P("w"), AB_ACCESS_WRITE);
	rule(p, "/proc", AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	char *ops = render_ops(&plan);
	if (!strstr(ops, "bind-writable /proc |") || !strstr(ops, "| proc-knob-read-only /proc/sys |") ||
	    strstr(ops, "| proc /proc"))
		fail_msg("no read-only knob after the writable /proc: %s", ops);
	free(ops);
	plan_free(&plan);
	ab_policy_free(p);
}

/* No rule may make a kernel knob writable, whatever the mode of /proc. */
static void test_write_rule_on_kernel_knob_is_refused(void **state)
{
	(void)state;
	mkdirs("w");
	static const char *const knobs[] = {
		/* present on every Linux host (a missing writable root is
		 * skipped, not refused) */
		"/sys", "/sys/kernel", "/proc/sys", "/proc/sys/kernel/core_pattern", NULL,
	};
	for (int proc = 0; proc < 2; proc++) {
		for (size_t i = 0; knobs[i]; i++) {
			ab_policy *p = policy();
			assert_int_equal(ab_policy_apply_preset(p, "full-access", NULL), 0);
			rule(p, knobs[i], AB_ACCESS_WRITE);
			struct plan_context ctx = {.cwd = P("w"), .no_proc = proc == 0};
			print_message("write rule on %s, %s\n", knobs[i], proc ? "fresh /proc" : "--no-proc");
			resolve_fails(p, &ctx, EPERM, knobs[i], "no policy can make it writable");
			ab_policy_free(p);
		}
	}
}

/* ---- protected names -------------------------------------------------- */

static void test_extra_protect_name_is_kept_read_only_or_blocked(void **state)
{
	(void)state;
	mkdirs("w/.ssh");
	mkfile("w/.ssh/id", "key");
	ab_policy *p = root_read_cwd_write();
	assert_int_equal(ab_policy_add_protect(p, ".ssh", NULL), 0);
	assert_int_equal(ab_policy_add_protect(p, "secrets", NULL), 0);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | bind-read-only T/w/.ssh | block-create-dir T/w/secrets 0555");
	assert_node(&plan, P("w/.ssh"), AB_ACCESS_READ, NODE_PROTECTED, true);
	assert_node(&plan, P("w/secrets"), AB_ACCESS_READ, NODE_PROTECTED, false);
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_protected_name_that_is_a_symlink_fails_closed(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("decoy");
	mklink("w/.git", "../decoy");
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("w");
	resolve_fails(p, &ctx, ELOOP, P("w/.git"), "symbolic link");
	ab_policy_free(p);
}

/* A dangling link is just as re-pointable as one to a directory. */
static void test_protected_name_that_is_a_dangling_symlink_fails_closed(void **state)
{
	(void)state;
	mkdirs("w");
	mklink("w/.agentbox", "nowhere");
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("w");
	resolve_fails(p, &ctx, ELOOP, P("w/.agentbox"), "nowhere");
	ab_policy_free(p);
}

static void test_explicit_rule_on_git_overrides_protection(void **state)
{
	(void)state;
	mkdirs("w/.git");
	mkfile("w/.git/HEAD", "x");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/.git"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	/* W/.git is itself a writable root now, so names under it are
	 * protected in turn. */
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555"
		   " | pin T/w/.git | block-create-dir T/w/.git/.agentbox 0555 | block-create-dir T/w/.git/.git 0555");
	assert_node(&plan, P("w/.git"), AB_ACCESS_WRITE, NODE_RULE, true);
	assert_int_equal(plan_access_at(&plan, P("w/.git/HEAD"), -1), AB_ACCESS_WRITE);
	for (size_t i = 0; i < plan.n_nodes; i++)
		if (strcmp(plan.nodes[i].path, P("w/.git")) == 0)
			assert_int_not_equal(plan.nodes[i].source, NODE_PROTECTED);
	plan_free(&plan);
	ab_policy_free(p);
}

/* An explicit read rule on a missing protected name must still block it
 * as an empty directory, as the protection would: an empty *file* named
 * .git makes every git command in the workspace die with "invalid gitfile
 * format" instead of finding the parent repository. */
static void test_explicit_read_rule_on_missing_git_blocks_it_as_dir(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/.git"), AB_ACCESS_READ);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("w/.git"), AB_ACCESS_READ, NODE_RULE, false);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555");
	plan_free(&plan);
	ab_policy_free(p);
}

/* An empty .agentbox may be the placeholder of a concurrent run: it is
 * blocked (borrowed) like a missing one, not bound; a non-empty one is
 * bound read-only. */
static void test_empty_existing_protected_dir_is_blocked_not_bound(void **state)
{
	(void)state;
	mkdirs("w/.agentbox");
	mkdirs("v/.agentbox");
	mkfile("v/.agentbox/config", "{}");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("v"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/v | bind-writable T/w"
		   " | bind-read-only T/v/.agentbox | block-create-dir T/v/.git 0555"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555");
	const struct plan_node *n = node(&plan, P("w/.agentbox"));
	assert_non_null(n);
	assert_true(n->exists && n->is_dir && n->empty);
	plan_free(&plan);
	ab_policy_free(p);
}

/* An empty .git file is no pointer (warned about) and, being possibly a
 * placeholder, is blocked with an empty read-only file. */
static void test_empty_git_file_is_blocked_as_file(void **state)
{
	(void)state;
	mkdirs("w");
	mkfile("w/.git", "");
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-file T/w/.git 0444");
	assert_non_null(warning(&plan, "malformed_git_pointer"));
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- git pointers ----------------------------------------------------- */

static void test_gitdir_pointer_protects_pointer_and_git_dir(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("gd");
	mkfile("gd/HEAD", "x");
	mkfile("w/.git", "gitdir: ../gd\n");
	ab_policy *p = root_read_cwd_write();
	rule(p, P(""), AB_ACCESS_WRITE); /* so that the git dir is in a writable area */
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("w/.git"), AB_ACCESS_READ, NODE_PROTECTED, true);
	assert_node(&plan, P("gd"), AB_ACCESS_READ, NODE_GITDIR, true);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T"
		   " | block-create-dir T/.agentbox 0555 | block-create-dir T/.git 0555"
		   " | bind-read-only T/gd | pin T/w | block-create-dir T/w/.agentbox 0555 | bind-read-only T/w/.git");
	assert_int_equal(plan.n_warnings, 0);
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_worktree_pointer_protects_common_dir_too(void **state)
{
	(void)state;
	mkdirs("main/.git/worktrees/w");
	mkdirs("main/.git/objects");
	mkfile("main/.git/worktrees/w/commondir", "../..\n");
	mkfile("main/.git/worktrees/w/HEAD", "x");
	mkdirs("w");
	mkfile("w/.git", "gitdir: ../main/.git/worktrees/w");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	rule(p, P("main"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("main/.git/worktrees/w"), AB_ACCESS_READ, NODE_GITDIR, true);
	/* the worktree's common dir, also protected as T/main's own .git */
	const struct plan_node *common = node(&plan, P("main/.git"));
	assert_non_null(common);
	assert_int_equal(common->access, AB_ACCESS_READ);
	assert_true(common->source == NODE_GITDIR || common->source == NODE_PROTECTED);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/main | bind-writable T/w"
		   " | block-create-dir T/main/.agentbox 0555 | bind-read-only T/main/.git"
		   " | block-create-dir T/w/.agentbox 0555 | bind-read-only T/w/.git");
	plan_free(&plan);
	ab_policy_free(p);
}

/* The main repository is not a writable root itself, only the area that
 * holds it is: the common dir must then be protected for the worktree. */
static void test_worktree_common_dir_outside_protected_roots_is_bound_read_only(void **state)
{
	(void)state;
	mkdirs("repos/main/.git/worktrees/wt");
	mkfile("repos/main/.git/worktrees/wt/commondir", "../..");
	mkdirs("repos/wt");
	mkfile("repos/wt/.git", "gitdir: ../main/.git/worktrees/wt\n");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("repos"), AB_ACCESS_WRITE);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("repos/wt");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("repos/main/.git/worktrees/wt"), AB_ACCESS_READ, NODE_GITDIR, true);
	assert_node(&plan, P("repos/main/.git"), AB_ACCESS_READ, NODE_GITDIR, true);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/repos"
		   " | block-create-dir T/repos/.agentbox 0555 | block-create-dir T/repos/.git 0555"
		   " | pin T/repos/main | pin T/repos/wt | bind-read-only T/repos/main/.git"
		   " | block-create-dir T/repos/wt/.agentbox 0555 | bind-read-only T/repos/wt/.git");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_malformed_git_pointer_warns_and_protects_only_the_file(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("gd");
	mkfile("w/.git", "this is not a pointer\n");
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	const struct plan_warning *w = warning(&plan, "malformed_git_pointer");
	assert_non_null(w);
	assert_string_equal(w->path, P("w/.git"));
	assert_node(&plan, P("w/.git"), AB_ACCESS_READ, NODE_PROTECTED, true);
	assert_null(node(&plan, P("gd")));
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | bind-read-only T/w/.git");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_git_pointer_to_missing_dir_warns(void **state)
{
	(void)state;
	mkdirs("w");
	mkfile("w/.git", "gitdir: ../nope");
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_non_null(warning(&plan, "missing_gitdir"));
	assert_null(node(&plan, P("nope")));
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | bind-read-only T/w/.git");
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- nesting ---------------------------------------------------------- */

static void test_nested_reopen_masks_with_0111_and_rebinds_below(void **state)
{
	(void)state;
	mkdirs("w/a/b");
	mkfile("w/a/secret", "s");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/a"), AB_ACCESS_NONE);
	rule(p, P("w/a/b"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | mask-dir T/w/a 0111 | mkdir T/w/a/b | remount-read-only T/w/a"
		   " | bind-writable T/w/a/b"
		   " | block-create-dir T/w/a/b/.agentbox 0555 | block-create-dir T/w/a/b/.git 0555");

	/* most specific wins, in both directions */
	assert_int_equal(plan_access_at(&plan, P("w/file"), -1), AB_ACCESS_WRITE);
	assert_int_equal(plan_access_at(&plan, P("w/a"), -1), AB_ACCESS_NONE);
	assert_int_equal(plan_access_at(&plan, P("w/a/secret"), -1), AB_ACCESS_NONE);
	assert_int_equal(plan_access_at(&plan, P("w/a/b"), -1), AB_ACCESS_WRITE);
	assert_int_equal(plan_access_at(&plan, P("w/a/b/c/d"), -1), AB_ACCESS_WRITE);
	assert_int_equal(plan_access_at(&plan, P("w/a/bb"), -1), AB_ACCESS_NONE);
	assert_int_equal(plan_access_at(&plan, P("w/.git/config"), -1), AB_ACCESS_READ);
	assert_int_equal(plan_access_at(&plan, P("wx"), -1), AB_ACCESS_READ);
	assert_int_equal(plan_access_at(&plan, "/etc/passwd", -1), AB_ACCESS_READ);
	/* skip: as if the node for W/a were not there */
	int a = plan_find_node(&plan, P("w/a"));
	assert_true(a >= 0);
	assert_int_equal(plan_access_at(&plan, P("w/a/secret"), a), AB_ACCESS_WRITE);
	plan_free(&plan);
	ab_policy_free(p);
}

/* Every directory between the mask and a deeper reopened path gets a
 * mountpoint, shallowest first; a reopened file gets a file mountpoint. */
static void test_deep_reopen_under_hidden_dir_creates_mountpoint_chain(void **state)
{
	(void)state;
	mkdirs("hidden/x/y");
	mkfile("hidden/f.txt", "f");
	mkdirs("w");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("hidden"), AB_ACCESS_NONE);
	rule(p, P("hidden/x/y"), AB_ACCESS_READ);
	rule(p, P("hidden/f.txt"), AB_ACCESS_READ);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev"
		   " | mask-dir T/hidden 0111 | mkdir T/hidden/x | mkdir T/hidden/x/y"
		   " | mkfile T/hidden/f.txt | remount-read-only T/hidden"
		   " | bind-writable T/w"
		   " | bind-read-only T/hidden/f.txt"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | bind-read-only T/hidden/x/y");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_read_under_writable_and_write_under_that_again(void **state)
{
	(void)state;
	mkdirs("w/docs/pub");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/docs"), AB_ACCESS_READ);
	rule(p, P("w/docs/pub"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | bind-read-only T/w/docs"
		   " | bind-writable T/w/docs/pub"
		   " | block-create-dir T/w/docs/pub/.agentbox 0555 | block-create-dir T/w/docs/pub/.git 0555");
	assert_int_equal(plan_access_at(&plan, P("w/docs/readme"), -1), AB_ACCESS_READ);
	assert_int_equal(plan_access_at(&plan, P("w/docs/pub/x"), -1), AB_ACCESS_WRITE);
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- pins (plan/pin.c) ----------------------------------------------- */

/* A workspace nested in a writable /tmp: every directory between them is
 * bound onto itself (the workspace too: its own rule needs no mount), so
 * none can be renamed away with the .git mount in it. Pins repeat the
 * access around them and are never "the rule" for a path. */
static void test_pins_between_outer_writable_root_and_nested_workspace(void **state)
{
	(void)state;
	mkdirs("tmp/a/b/ws/.git");
	mkfile("tmp/a/b/ws/.git/HEAD", "ref: refs/heads/main\n");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("tmp"), AB_ACCESS_WRITE);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("tmp/a/b/ws");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/tmp"
		   " | block-create-dir T/tmp/.agentbox 0555 | block-create-dir T/tmp/.git 0555"
		   " | pin T/tmp/a | pin T/tmp/a/b | pin T/tmp/a/b/ws"
		   " | block-create-dir T/tmp/a/b/ws/.agentbox 0555 | bind-read-only T/tmp/a/b/ws/.git");
	assert_node(&plan, P("tmp/a"), AB_ACCESS_WRITE, NODE_PIN, true);
	assert_node(&plan, P("tmp/a/b"), AB_ACCESS_WRITE, NODE_PIN, true);
	assert_node(&plan, P("tmp/a/b/ws"), AB_ACCESS_WRITE, NODE_RULE, true);
	assert_true(strstr(node(&plan, P("tmp/a"))->why, "pin: keeps ") != NULL);
	assert_int_equal(plan_access_at(&plan, P("tmp/a/x"), -1), AB_ACCESS_WRITE);
	assert_int_equal(plan_node_at(&plan, P("tmp/a/x"), -1), plan_find_node(&plan, P("tmp")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* A hidden file deep in the workspace: its directories are pinned, the
 * workspace itself is a mount already (its parent is read-only). */
static void test_deny_in_writable_root_pins_its_directories(void **state)
{
	(void)state;
	mkdirs("w/config/sub");
	mkfile("w/config/sub/.env", "secret");
	mkdirs("w/.git");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/config/sub/.env"), AB_ACCESS_NONE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | bind-read-only T/w/.git"
		   " | pin T/w/config | pin T/w/config/sub | mask-file T/w/config/sub/.env 0000");
	plan_free(&plan);
	ab_policy_free(p);
}

/* A denied path that is missing is blocked at its first missing
 * component; the directories above that block are pinned like any. */
static void test_missing_deny_path_pins_up_to_its_block(void **state)
{
	(void)state;
	mkdirs("w/.git");
	mkfile("w/.git/HEAD", "ref: refs/heads/main\n");
	mkdirs("w/a");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/a/config/.env"), AB_ACCESS_NONE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | bind-read-only T/w/.git"
		   " | pin T/w/a | block-create-file T/w/a/config 0000");
	plan_free(&plan);
	ab_policy_free(p);
}

/* Under a hidden directory the way down is the mask's own read-only
 * tmpfs: nothing there can be renamed, so nothing is pinned. */
static void test_no_pins_inside_a_mask_or_a_read_only_area(void **state)
{
	(void)state;
	mkdirs("r/h/x/y");
	mkdirs("r/ro/m/n");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("r/h"), AB_ACCESS_NONE);
	rule(p, P("r/h/x/y"), AB_ACCESS_WRITE);
	rule(p, P("r/ro/m/n"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("r");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	char *got = render_ops(&plan);
	if (strstr(got, "pin "))
		fail_msg("unexpected pin: %s", got);
	free(got);
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- deny rules ------------------------------------------------------- */

static void test_deny_dir_under_root_read_is_masked_0000(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("secret");
	mkfile("secret/key", "k");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("secret"), AB_ACCESS_NONE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | mask-dir T/secret 0000 | remount-read-only T/secret");
	assert_node(&plan, P("secret"), AB_ACCESS_NONE, NODE_RULE, true);
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_deny_file_is_masked_with_empty_file(void **state)
{
	(void)state;
	mkdirs("w");
	mkfile("secret.txt", "k");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("secret.txt"), AB_ACCESS_NONE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | mask-file T/secret.txt 0000");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_deny_missing_path_under_writable_blocks_first_missing_component(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/x/y/z"), AB_ACCESS_NONE);
	rule(p, P("w/ro/file"), AB_ACCESS_READ);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	const struct plan_node *n = node(&plan, P("w/x/y/z"));
	assert_non_null(n);
	assert_false(n->exists);
	assert_string_equal(n->first_missing, P("w/x"));
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | block-create-file T/w/ro 0444 | block-create-file T/w/x 0000");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_deny_missing_path_outside_writable_areas_needs_nothing(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("nothere/z"), AB_ACCESS_NONE);
	rule(p, P("nothere2"), AB_ACCESS_READ);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev");
	assert_node(&plan, P("nothere/z"), AB_ACCESS_NONE, NODE_RULE, false);
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- restricted read -------------------------------------------------- */

static int cmp_depth_then_name(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t dx = path_depth(x), dy = path_depth(y);
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x, y);
}

/* What :minimal must bind on this host: the canonical form of each
 * platform root that exists, except those inside another one. In an
 * empty root, the roots that are links (/bin -> usr/bin on merged-/usr
 * systems) are recreated as links, after every mount, in rule order. */
static char *expected_minimal_links(void)
{
	static const char *const roots[] = {
		"/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64", "/lib32", "/libx32",
		"/nix/store", "/run/current-system/sw", NULL,
	};
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; roots[i]; i++) {
		struct stat st;
		char target[PATH_MAX];
		if (stat(roots[i], &st) < 0 || lstat(roots[i], &st) < 0 || !S_ISLNK(st.st_mode))
			continue;
		ssize_t n = readlink(roots[i], target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		sbuf_addf(&b, " | symlink %s -> %s", roots[i], target);
	}
	return b.s;
}

static char *expected_minimal_binds(void)
{
	static const char *const roots[] = {
		"/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64", "/lib32", "/libx32",
		"/nix/store", "/run/current-system/sw", NULL,
	};
	strv canon = {0};
	for (size_t i = 0; roots[i]; i++) {
		char *c = realpath(roots[i], NULL);
		if (c)
			strv_push_owned(&canon, c);
	}
	strv top = {0};
	for (size_t i = 0; i < canon.n; i++) {
		bool covered = false;
		for (size_t k = 0; k < canon.n; k++)
			if (k != i && path_is_under(canon.v[i], canon.v[k]) &&
			    strcmp(canon.v[i], canon.v[k]) != 0)
				covered = true;
		for (size_t k = 0; k < top.n; k++)
			if (strcmp(top.v[k], canon.v[i]) == 0)
				covered = true;
		if (!covered)
			strv_push(&top, canon.v[i]);
	}
	qsort(top.v, top.n, sizeof(char *), cmp_depth_then_name);
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; i < top.n; i++)
		sbuf_addf(&b, " | bind-read-only %s", top.v[i]);
	strv_free(&canon);
	strv_free(&top);
	return b.s;
}

static void test_restricted_read_starts_empty_and_remounts_root_last(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	rule(p, ":minimal", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_false(plan.root_readable);
	assert_node(&plan, "/usr", AB_ACCESS_READ, NODE_MINIMAL, true);
	assert_node(&plan, "/etc", AB_ACCESS_READ, NODE_MINIMAL, true);
	assert_int_equal(plan_access_at(&plan, "/home", -1), 0);
	assert_int_equal(plan_access_at(&plan, P(""), -1), 0);
	char *binds = expected_minimal_binds();
	char *links = expected_minimal_links();
	char *want = xasprintf("root-empty / | dev /dev%s | bind-writable T/w"
			       " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
			       "%s | remount-read-only /", binds, links);
	assert_ops(&plan, want);
	free(want);
	free(binds);
	free(links);
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_cwd_not_visible_under_restricted_read_is_eacces(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("other");
	ab_policy *p = policy();
	rule(p, ":minimal", AB_ACCESS_READ);
	rule(p, P("other"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	resolve_fails(p, &ctx, EACCES, P("w"), "--read");
	ab_policy_free(p);
}

static void test_hidden_cwd_is_eacces(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("w"), AB_ACCESS_NONE);
	struct plan_context ctx = ctx_at("w");
	resolve_fails(p, &ctx, EACCES, P("w"), NULL);
	ab_policy_free(p);
}

static void test_missing_cwd_is_enoent(void **state)
{
	(void)state;
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("gone");
	resolve_fails(p, &ctx, ENOENT, P("gone"), NULL);
	ab_policy_free(p);
}

/* ---- missing roots and symbolic links --------------------------------- */

static void test_missing_writable_root_is_skipped_with_warning(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("nope"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	const struct plan_warning *w = warning(&plan, "missing_writable_root");
	assert_non_null(w);
	assert_string_equal(w->path, P("nope"));
	assert_non_null(strstr(w->message, P("nope")));
	assert_null(node(&plan, P("nope")));
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555");
	plan_free(&plan);
	ab_policy_free(p);
}

/* Two spellings of one missing path (~ and absolute): the write wins the
 * tie and is skipped; the nodes added in between must be left intact. */
static void test_missing_writable_root_merged_with_earlier_rule_keeps_other_nodes(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("h");
	mkdirs("other");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, "~/gone", AB_ACCESS_READ);
	rule(p, P("other"), AB_ACCESS_NONE);
	rule(p, P("h/gone"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	ctx.home = P("h");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_non_null(warning(&plan, "missing_writable_root"));
	assert_node(&plan, P("other"), AB_ACCESS_NONE, NODE_RULE, true);
	const struct plan_node *n = node(&plan, P("h/gone"));
	assert_true(n == NULL || n->access != AB_ACCESS_WRITE);
	for (size_t i = 0; i < plan.n_nodes; i++)
		assert_non_null(plan.nodes[i].path);
	assert_ops(&plan, "root-read-only / | dev /dev | mask-dir T/other 0000 | remount-read-only T/other");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_symlinked_cwd_resolves_to_canonical_target(void **state)
{
	(void)state;
	mkdirs("w");
	mklink("link", "w");
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("link");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_string_equal(plan.cwd, P("w"));
	assert_node(&plan, P("w"), AB_ACCESS_WRITE, NODE_RULE, true);
	assert_null(node(&plan, P("link")));
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_read_rule_through_symlink_in_writable_area_fails_closed(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("elsewhere/docs");
	mklink("w/lnk", "../elsewhere");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/lnk/docs"), AB_ACCESS_READ);
	struct plan_context ctx = ctx_at("w");
	resolve_fails(p, &ctx, ELOOP, P("w/lnk"), "read-only");
	ab_policy_free(p);
}

static void test_none_rule_through_symlink_in_writable_area_fails_closed(void **state)
{
	(void)state;
	mkdirs("w/real");
	mkfile("w/real/key", "k");
	mklink("w/lnk", "real");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("w/lnk/key"), AB_ACCESS_NONE);
	struct plan_context ctx = ctx_at("w");
	resolve_fails(p, &ctx, ELOOP, P("w/lnk"), "hidden");
	ab_policy_free(p);
}

static void test_rule_through_symlink_outside_writable_areas_uses_target(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("real/sub");
	mklink("outlink", "real");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("outlink/sub"), AB_ACCESS_NONE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	const struct plan_node *n = node(&plan, P("real/sub"));
	assert_non_null(n);
	assert_int_equal(n->access, AB_ACCESS_NONE);
	assert_int_equal(n->n_links, 1);
	assert_string_equal(n->links[0], P("outlink"));
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | mask-dir T/real/sub 0000 | remount-read-only T/real/sub"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555");
	plan_free(&plan);
	ab_policy_free(p);
}

/* In an empty root the links on the way to a visible path are recreated,
 * after every mount; links inside visible areas come with their mount. */
static void test_empty_root_recreates_crossed_links_outside_visible_areas(void **state)
{
	(void)state;
	mkdirs("w/sub/x");
	mkdirs("real/sub");
	mklink("outlink", "real");
	mklink("w/lnk", "sub");
	ab_policy *p = policy();
	rule(p, ":cwd", AB_ACCESS_WRITE);
	rule(p, P("outlink/sub"), AB_ACCESS_READ);
	rule(p, P("w/lnk/x"), AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("real/sub"), AB_ACCESS_READ, NODE_RULE, true);
	assert_node(&plan, P("w/sub/x"), AB_ACCESS_WRITE, NODE_RULE, true);
	assert_ops(&plan, "root-empty / | dev /dev | bind-writable T/w"
		   " | bind-read-only T/real/sub"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | pin T/w/sub | pin T/w/sub/x | block-create-dir T/w/sub/x/.agentbox 0555 | block-create-dir T/w/sub/x/.git 0555"
		   " | symlink T/outlink -> real | remount-read-only /");
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- precedence ------------------------------------------------------- */

static void test_equal_path_tie_none_beats_write(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("h");
	/* both orders of the two spellings */
	for (int order = 0; order < 2; order++) {
		ab_policy *p = policy();
		rule(p, ":root", AB_ACCESS_READ);
		if (order == 0) {
			rule(p, "~", AB_ACCESS_WRITE);
			rule(p, P("h"), AB_ACCESS_NONE);
		} else {
			rule(p, P("h"), AB_ACCESS_NONE);
			rule(p, "~", AB_ACCESS_WRITE);
		}
		struct plan_context ctx = ctx_at("w");
		ctx.home = P("h");
		struct plan plan;
		resolve_ok(p, &ctx, &plan);
		assert_node(&plan, P("h"), AB_ACCESS_NONE, NODE_RULE, true);
		assert_ops(&plan, "root-read-only / | dev /dev | mask-dir T/h 0000 | remount-read-only T/h");
		plan_free(&plan);
		ab_policy_free(p);
	}
}

static void test_equal_path_tie_via_cwd_write_beats_read(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("w"), AB_ACCESS_WRITE);
	rule(p, ":cwd", AB_ACCESS_READ);
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("w"), AB_ACCESS_WRITE, NODE_RULE, true);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_equal_path_tie_via_cwd_none_beats_write(void **state)
{
	(void)state;
	mkdirs("w/sub");
	/* :cwd write and the same directory hidden: none wins, so the
	 * working directory would be invisible */
	for (int order = 0; order < 2; order++) {
		ab_policy *q = policy();
		rule(q, ":root", AB_ACCESS_READ);
		rule(q, order ? P("w") : ":cwd", order ? AB_ACCESS_NONE : AB_ACCESS_WRITE);
		rule(q, order ? ":cwd" : P("w"), order ? AB_ACCESS_WRITE : AB_ACCESS_NONE);
		struct plan_context c = ctx_at("w");
		resolve_fails(q, &c, EACCES, P("w"), "would not be visible");
		ab_policy_free(q);
	}

	/* the same with a path below it, spelled through a link */
	mklink("alias", "w/sub");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	rule(p, P("w/sub"), AB_ACCESS_WRITE);
	rule(p, P("alias"), AB_ACCESS_NONE); /* same canonical path as w/sub */
	struct plan_context ctx = ctx_at("w");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("w/sub"), AB_ACCESS_NONE, NODE_RULE, true);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | mask-dir T/w/sub 0000 | remount-read-only T/w/sub");
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- context ---------------------------------------------------------- */

static void test_state_dirs_are_hidden_wherever_they_would_be_visible(void **state)
{
	(void)state;
	mkdirs("w/.cache/agentbox");
	mkfile("w/.cache/agentbox/bwrap-probe-v1", "x");
	mkdirs("state");
	ab_policy *p = root_read_cwd_write();
	struct plan_context ctx = ctx_at("w");
	/* an existing one in the writable area, an existing one outside it
	 * (readable), a missing one in the writable area and a missing one
	 * outside it */
	const char *dirs[] = {P("w/.cache/agentbox"), P("state"), P("w/run/agentbox"),
			      P("nowhere/agentbox"), NULL};
	ctx.state_dirs = dirs;
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("w/.cache/agentbox"), AB_ACCESS_NONE, NODE_STATE, true);
	assert_node(&plan, P("state"), AB_ACCESS_NONE, NODE_STATE, true);
	assert_node(&plan, P("w/run/agentbox"), AB_ACCESS_NONE, NODE_STATE, false);
	/* a missing one nobody can create needs nothing */
	assert_null(node(&plan, P("nowhere/agentbox")));
	assert_ops(&plan, "root-read-only / | dev /dev"
		   " | mask-dir T/state 0000 | remount-read-only T/state | bind-writable T/w"
		   " | block-create-dir T/w/.agentbox 0555 | pin T/w/.cache | block-create-dir T/w/.git 0555"
		   " | mask-dir T/w/.cache/agentbox 0000 | remount-read-only T/w/.cache/agentbox"
		   " | block-create-file T/w/run 0000");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_tilde_expands_from_context_home(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("h/proj");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, "~/proj", AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	ctx.home = P("h");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("h/proj"), AB_ACCESS_WRITE, NODE_RULE, true);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/h/proj"
		   " | block-create-dir T/h/proj/.agentbox 0555 | block-create-dir T/h/proj/.git 0555");
	plan_free(&plan);

	ctx.home = NULL;
	resolve_fails(p, &ctx, EINVAL, "~/proj", "HOME");
	ctx.home = "relative/home";
	resolve_fails(p, &ctx, EINVAL, "~/proj", "HOME");
	ab_policy_free(p);
}

static void test_tmpdir_ignored_when_unset_or_relative(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("tmpd");
	ab_policy *p = policy();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":tmpdir", AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	const char *ignored[] = {NULL, "relative/tmp", "", NULL};
	ignored[3] = P("w/../tmpd"); /* ".." is not trusted either */
	for (size_t i = 0; i < 4; i++) {
		ctx.tmpdir = ignored[i];
		struct plan plan;
		resolve_ok(p, &ctx, &plan);
		char *got = render_ops(&plan);
		if (strcmp(got, "root-read-only / | dev /dev") != 0)
			fail_msg("tmpdir '%s': %s", ignored[i] ? ignored[i] : "(null)", got);
		free(got);
		assert_int_equal(plan.n_nodes, 1);
		plan_free(&plan);
	}

	ctx.tmpdir = P("tmpd");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_ops(&plan, "root-read-only / | dev /dev | bind-writable T/tmpd"
		   " | block-create-dir T/tmpd/.agentbox 0555 | block-create-dir T/tmpd/.git 0555");
	plan_free(&plan);
	ab_policy_free(p);
}

static void test_no_proc_and_self_exe_under_empty_root(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("bin");
	mkfile("bin/agentbox", "ELF");
	ab_policy *p = policy();
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = ctx_at("w");
	ctx.no_proc = true;
	ctx.self_exe = P("bin/agentbox");
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_false(plan.mount_proc);
	assert_node(&plan, P("bin/agentbox"), AB_ACCESS_READ, NODE_SELF, true);
	assert_ops(&plan, "root-empty / | dev /dev | bind-writable T/w | bind-read-only T/bin/agentbox"
		   " | block-create-dir T/w/.agentbox 0555 | block-create-dir T/w/.git 0555"
		   " | remount-read-only /");
	plan_free(&plan);

	/* with /proc, the inner stage is reached by fd: no node needed */
	ctx.no_proc = false;
	resolve_ok(p, &ctx, &plan);
	assert_true(plan.mount_proc);
	assert_null(node(&plan, P("bin/agentbox")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- agentbox's own configuration files (issue #14) ------------------ */

static void resolve_config(const ab_policy *p, const char *rel, const char *option,
			   struct plan *plan)
{
	_cleanup_free_ char *path = xstrdup(P(rel));
	struct plan_config_file cf = {path, option, false};
	struct plan_context ctx = ctx_at("w");
	ctx.config_files = &cf;
	ctx.n_config_files = 1;
	resolve_ok(p, &ctx, plan);
}

static void config_fails(const ab_policy *p, const char *rel, int want_errno, const char *needle)
{
	_cleanup_free_ char *path = xstrdup(P(rel));
	struct plan_config_file cf = {path, "--policy-file", false};
	struct plan_context ctx = ctx_at("w");
	ctx.config_files = &cf;
	ctx.n_config_files = 1;
	resolve_fails(p, &ctx, want_errno, path, needle);
}

static void test_config_file_in_writable_root_is_refused(void **state)
{
	(void)state;
	mkdirs("w/.agentbox");
	mkdirs("out");
	mkdirs("w/sub");
	mkfile("w/agent.json", "{}");
	mkfile("w/sub/deep.json", "{}");
	mkfile("w/.agentbox/p.json", "{}");
	ab_policy *p = root_read_cwd_write();
	config_fails(p, "w/agent.json", EPERM, "move the file to .agentbox/");
	config_fails(p, "w/sub/deep.json", EPERM, "lies inside");
	/* missing (a save file not written yet): no better */
	config_fails(p, "w/new.json", EPERM, "lies inside");
	/* reached through a link in a read-only area: what counts is where
	 * it lands */
	assert_int_equal(symlink(P("w"), P("out/to-w")), 0);
	config_fails(p, "out/to-w/agent.json", EPERM, "lies inside");
	/* a link in the writable area could be re-pointed */
	assert_int_equal(symlink(P("out"), P("w/to-out")), 0);
	mkfile("out/p.json", "{}");
	config_fails(p, "w/to-out/p.json", ELOOP, "symbolic link");
	ab_policy_free(p);
}

static void test_config_file_read_only_gets_a_node_and_no_mount(void **state)
{
	(void)state;
	mkdirs("w/.agentbox");
	mkdirs("out");
	mkdirs("secret");
	mkfile("w/.agentbox/p.json", "{}");
	mkfile("out/p.json", "{}");
	mkfile("secret/p.json", "{}");
	ab_policy *p = root_read_cwd_write();
	rule(p, P("secret"), AB_ACCESS_NONE);
	struct plan plain, plan;
	resolve_ok(p, &(struct plan_context){.cwd = P("w"), .no_proc = true}, &plain);
	char *want = render_ops(&plain);

	/* under .agentbox, which every run keeps read-only */
	resolve_config(p, "w/.agentbox/p.json", "--policy-file", &plan);
	assert_node(&plan, P("w/.agentbox/p.json"), AB_ACCESS_READ, NODE_CONFIG, true);
	assert_non_null(strstr(node(&plan, P("w/.agentbox/p.json"))->why, "(--policy-file)"));
	assert_ops(&plan, want);
	plan_free(&plan);
	/* a save file not created yet, under .agentbox */
	resolve_config(p, "w/.agentbox/s.json", "--approvals-save", &plan);
	assert_node(&plan, P("w/.agentbox/s.json"), AB_ACCESS_READ, NODE_CONFIG, false);
	assert_ops(&plan, want);
	plan_free(&plan);
	/* outside every writable root */
	resolve_config(p, "out/p.json", "--policy-file", &plan);
	assert_node(&plan, P("out/p.json"), AB_ACCESS_READ, NODE_CONFIG, true);
	assert_ops(&plan, want);
	plan_free(&plan);
	/* hidden stays hidden */
	resolve_config(p, "secret/p.json", "--policy-file", &plan);
	assert_null(node(&plan, P("secret/p.json")));
	assert_ops(&plan, want);
	plan_free(&plan);
	free(want);
	plan_free(&plain);
	ab_policy_free(p);

	/* full access: nothing is protected, nothing refused */
	mkfile("w/agent.json", "{}");
	p = policy();
	assert_int_equal(ab_policy_apply_preset(p, "full-access", NULL), 0);
	resolve_config(p, "w/agent.json", "--policy-file", &plan);
	assert_null(node(&plan, P("w/agent.json")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* ---- dangerous files (issue #14) ---------------------------------------- */

/* The built-in list with its scopes: an existing name is read-only under
 * every writable root; a missing one is blocked only where the host reads
 * it (project names in the working directory and $HOME, shell files in
 * $HOME), so that other roots get no placeholders. */
static void test_dangerous_names_by_scope(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("other/.vscode");
	mkfile("other/.vscode/tasks.json", "{}");
	mkfile("other/.bashrc", "echo hi\n");
	mkdirs("home/.config");
	mkfile("home/.profile", "PATH=x\n");
	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	rule(p, P("other"), AB_ACCESS_WRITE);
	rule(p, P("home"), AB_ACCESS_WRITE);
	_cleanup_free_ char *home = xstrdup(P("home"));
	struct plan_context ctx = ctx_at("w");
	ctx.home = home;
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	/* working directory: project names blocked, shell files left */
	assert_node(&plan, P("w/.vscode"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_node(&plan, P("w/.envrc"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_node(&plan, P("w/.mcp.json"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_non_null(strstr(node(&plan, P("w/.claude"))->why, "Claude Code"));
	assert_null(node(&plan, P("w/.bashrc")));
	assert_null(node(&plan, P("w/.gitconfig")));
	/* another writable root: existing ones read-only, missing ones
	 * (but .git and .agentbox) left alone */
	assert_node(&plan, P("other/.vscode"), AB_ACCESS_READ, NODE_PROTECTED, true);
	assert_node(&plan, P("other/.bashrc"), AB_ACCESS_READ, NODE_PROTECTED, true);
	assert_null(node(&plan, P("other/.envrc")));
	assert_null(node(&plan, P("other/.zshrc")));
	assert_node(&plan, P("other/.git"), AB_ACCESS_READ, NODE_PROTECTED, false);
	/* $HOME: everything, .config/fish too since ~/.config exists */
	assert_node(&plan, P("home/.profile"), AB_ACCESS_READ, NODE_PROTECTED, true);
	assert_node(&plan, P("home/.zshrc"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_node(&plan, P("home/.gitconfig"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_node(&plan, P("home/.claude"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_node(&plan, P("home/.config/fish"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_true(node(&plan, P("home/.config/fish"))->is_dir);
	plan_free(&plan);

	/* --unprotect: gone everywhere */
	assert_int_equal(ab_policy_unprotect(p, ".vscode", NULL), 0);
	resolve_ok(p, &ctx, &plan);
	assert_null(node(&plan, P("w/.vscode")));
	assert_null(node(&plan, P("other/.vscode")));
	assert_null(node(&plan, P("home/.vscode")));
	plan_free(&plan);
	ab_policy_free(p);
}

/* $HOME inside a wider writable root (/tmp/u under /tmp): its shell
 * files are still blocked; a missing ~/.config leaves .config/fish alone
 * rather than block all of ~/.config. */
static void test_home_inside_writable_root_gets_its_names(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("t/home");
	ab_policy *p = ab_policy_new();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	rule(p, P("t"), AB_ACCESS_WRITE);
	_cleanup_free_ char *home = xstrdup(P("t/home"));
	struct plan_context ctx = ctx_at("w");
	ctx.home = home;
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	assert_node(&plan, P("t/home/.bashrc"), AB_ACCESS_READ, NODE_PROTECTED, false);
	assert_node(&plan, P("t/home/.vscode"), AB_ACCESS_READ, NODE_PROTECTED, false);
	/* .git and .agentbox are blocked under roots, not in a home below one */
	assert_null(node(&plan, P("t/home/.git")));
	assert_null(node(&plan, P("t/home/.config")));
	assert_null(node(&plan, P("t/home/.config/fish")));
	/* nor under t itself: it is neither the working directory nor $HOME */
	assert_null(node(&plan, P("t/.bashrc")));
	assert_null(node(&plan, P("t/.vscode")));
	plan_free(&plan);
	ab_policy_free(p);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_read_only_preset_is_root_read_only_and_dev),
		T_(test_config_file_in_writable_root_is_refused),
		T_(test_dangerous_names_by_scope),
		T_(test_home_inside_writable_root_gets_its_names),
		T_(test_config_file_read_only_gets_a_node_and_no_mount),
		T_(test_empty_root_proc_then_final_remount),
		T_(test_workspace_write_protects_git_dir_and_blocks_missing_agentbox),
		T_(test_full_access_adds_no_protected_nodes_under_root),
		T_(test_proc_retry_keeps_knobs_under_writable_root),
		T_(test_write_rule_on_proc_keeps_knobs_read_only),
		T_(test_write_rule_on_kernel_knob_is_refused),
		T_(test_extra_protect_name_is_kept_read_only_or_blocked),
		T_(test_protected_name_that_is_a_symlink_fails_closed),
		T_(test_protected_name_that_is_a_dangling_symlink_fails_closed),
		T_(test_explicit_rule_on_git_overrides_protection),
		T_(test_explicit_read_rule_on_missing_git_blocks_it_as_dir),
		T_(test_empty_existing_protected_dir_is_blocked_not_bound),
		T_(test_empty_git_file_is_blocked_as_file),
		T_(test_gitdir_pointer_protects_pointer_and_git_dir),
		T_(test_worktree_pointer_protects_common_dir_too),
		T_(test_worktree_common_dir_outside_protected_roots_is_bound_read_only),
		T_(test_malformed_git_pointer_warns_and_protects_only_the_file),
		T_(test_git_pointer_to_missing_dir_warns),
		T_(test_nested_reopen_masks_with_0111_and_rebinds_below),
		T_(test_deep_reopen_under_hidden_dir_creates_mountpoint_chain),
		T_(test_read_under_writable_and_write_under_that_again),
		T_(test_pins_between_outer_writable_root_and_nested_workspace),
		T_(test_deny_in_writable_root_pins_its_directories),
		T_(test_missing_deny_path_pins_up_to_its_block),
		T_(test_no_pins_inside_a_mask_or_a_read_only_area),
		T_(test_deny_dir_under_root_read_is_masked_0000),
		T_(test_deny_file_is_masked_with_empty_file),
		T_(test_deny_missing_path_under_writable_blocks_first_missing_component),
		T_(test_deny_missing_path_outside_writable_areas_needs_nothing),
		T_(test_restricted_read_starts_empty_and_remounts_root_last),
		T_(test_cwd_not_visible_under_restricted_read_is_eacces),
		T_(test_hidden_cwd_is_eacces),
		T_(test_missing_cwd_is_enoent),
		T_(test_missing_writable_root_is_skipped_with_warning),
		T_(test_symlinked_cwd_resolves_to_canonical_target),
		T_(test_read_rule_through_symlink_in_writable_area_fails_closed),
		T_(test_none_rule_through_symlink_in_writable_area_fails_closed),
		T_(test_rule_through_symlink_outside_writable_areas_uses_target),
		T_(test_empty_root_recreates_crossed_links_outside_visible_areas),
		T_(test_equal_path_tie_none_beats_write),
		T_(test_equal_path_tie_via_cwd_write_beats_read),
		T_(test_equal_path_tie_via_cwd_none_beats_write),
		T_(test_state_dirs_are_hidden_wherever_they_would_be_visible),
		T_(test_tilde_expands_from_context_home),
		T_(test_tmpdir_ignored_when_unset_or_relative),
		T_(test_no_proc_and_self_exe_under_empty_root),
		/* last: a failure here may corrupt the heap */
		T_(test_missing_writable_root_merged_with_earlier_rule_keeps_other_nodes),
	};
#undef T_
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
