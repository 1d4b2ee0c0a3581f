/* Plan -> bubblewrap command line: the exact argv and the file descriptors
 * it names, for plans resolved from real trees and plans written by hand,
 * across the option sets different bubblewrap versions support. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "backend/bwrap/bwrap.h"
#include "common/error.h"
#include "common/util.h"
#include "plan/expect.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "tree_fixture.h"
#include "probe_child.h"

/* ---- plans ------------------------------------------------------------ */

/* A plan with the read-only preset, working directory T/w. */
static void read_only_plan(struct plan *plan, ab_net net, bool no_proc)
{
	mkdirs("w");
	ab_policy *p = policy_git_agentbox_only();
	assert_int_equal(ab_policy_apply_preset(p, "read-only", NULL), 0);
	ab_policy_set_network(p, net);
	struct plan_context ctx = {.cwd = P("w"), .no_proc = no_proc};
	resolve_ok(p, &ctx, plan);
	ab_policy_free(p);
}

static void op(struct plan *plan, enum plan_op_kind kind, const char *path, unsigned mode)
{
	grow_array((void **)&plan->ops, &plan->cap_ops, plan->n_ops + 1, sizeof(*plan->ops));
	plan->ops[plan->n_ops++] = (struct plan_op){
		.kind = kind, .path = xstrdup(path), .mode = mode, .node = -1,
	};
}

/* A hand-written plan: host / read-only, /dev, then whatever the test adds. */
static void hand_plan(struct plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->cwd = xstrdup("/work/p");
	plan->net = AB_NET_NONE;
	plan->mount_proc = true;
	plan->root_readable = true;
	op(plan, OP_ROOT_BIND_RO, "/", 0);
	op(plan, OP_DEV, "/dev", 0);
}

/* What plan_order_ops puts last for a plan that mounts /proc: hand-made
 * plans add it after their own ops, as resolution would. */
static void add_proc_ops(struct plan *plan)
{
	op(plan, OP_PROC, "/proc", 0);
	for (size_t i = 0; plan_proc_readonly[i]; i++)
		op(plan, OP_PROC_KNOB, plan_proc_readonly[i], 0);
}

/* ---- bwrap ------------------------------------------------------------ */

static struct bwrap_info info_all(void)
{
	struct bwrap_info info = {
		.path = (char *)"/usr/bin/bwrap",
		.argv0 = true, .perms = true, .ro_bind_data = true, .file = true,
		.as_pid_1 = true, .json_status_fd = true, .info_fd = true,
		.sync_fd = true, .cap_drop = true, .unshare_ipc = true,
	};
	strcpy(info.version, "0.9.0");
	return info;
}

static struct bwrap_info info_none(void)
{
	struct bwrap_info info = {.path = (char *)"/usr/bin/bwrap"};
	strcpy(info.version, "0.3.0");
	return info;
}

static char *const cmd_true[] = {(char *)"true", NULL};

static struct bwrap_build_opts opts_plain(void)
{
	return (struct bwrap_build_opts){.command = cmd_true};
}

/* An --expect spec with the host's identity of its path written "=", so
 * that expected argvs need not know device and inode numbers; any other
 * numbers are printed as they are (and fail the comparison). */
static void add_expect(sbuf *b, const char *spec)
{
	struct mount_expect e;
	assert_int_equal(mount_expect_parse(spec, &e), 0);
	struct stat st;
	if (e.have_id && lstat(e.path, &st) == 0 && st.st_dev == e.dev && st.st_ino == e.ino)
		sbuf_addf(b, "%c:=:", (char)e.kind);
	else
		sbuf_addn(b, spec, (size_t)(e.path - spec));
	tree_add_path(b, e.path);
}

static char *render_argv(const struct bwrap_cmd *cmd)
{
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; i < cmd->argv.n; i++) {
		if (i)
			sbuf_add(&b, " ");
		if (i > 0 && strcmp(cmd->argv.v[i - 1], "--expect") == 0)
			add_expect(&b, cmd->argv.v[i]);
		else
			tree_add_path(&b, cmd->argv.v[i]);
	}
	assert_null(cmd->argv.v[cmd->argv.n]);
	return b.s;
}

static const char *fd_kind_name(enum bwrap_fd_kind k)
{
	switch (k) {
	case BFD_DEVNULL: return "devnull";
	case BFD_SELF: return "self";
	case BFD_STDERR: return "stderr";
	case BFD_STATUS: return "status";
	case BFD_BRIDGE: return "bridge";
	case BFD_LIFE: return "life";
	case BFD_ENV: return "env";
	case BFD_DATA: return "data";
	}
	return "?";
}

static char *render_fds(const struct bwrap_cmd *cmd)
{
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; i < cmd->n_fds; i++)
		sbuf_addf(&b, "%s%d:%s", i ? " " : "", cmd->fds[i].target,
			  fd_kind_name(cmd->fds[i].kind));
	return b.s;
}

static void build_ok(const struct plan *plan, const struct bwrap_info *info,
		     const struct bwrap_build_opts *opts, struct bwrap_cmd *cmd)
{
	ab_error err = {0};
	int r = bwrap_build(plan, info, opts, cmd, &err);
	if (r < 0)
		fail_msg("bwrap_build failed (%d): %s", r, err.message);
}

static void assert_cmd(const struct bwrap_cmd *cmd, const char *want_argv, const char *want_fds)
{
	char *argv = render_argv(cmd);
	char *fds = render_fds(cmd);
	bool ok = strcmp(argv, want_argv) == 0 && strcmp(fds, want_fds) == 0;
	if (!ok)
		print_error("argv\n got: %s\nwant: %s\nfds\n got: %s\nwant: %s\n",
			    argv, want_argv, fds, want_fds);
	free(argv);
	free(fds);
	if (!ok)
		fail();
}

/* The read-only binds over the fresh /proc, as bwrap arguments. */
static char *proc_ro(void)
{
	sbuf b = {0};
	sbuf_add(&b, "");
	for (size_t i = 0; plan_proc_readonly[i]; i++)
		sbuf_addf(&b, " --ro-bind-try %s %s", plan_proc_readonly[i], plan_proc_readonly[i]);
	return b.s;
}

/* ---- tests ------------------------------------------------------------ */

static void test_proc_readonly_list_covers_sysctls(void **state)
{
	(void)state;
	bool sys = false, sysrq = false;
	for (size_t i = 0; plan_proc_readonly[i]; i++) {
		sys = sys || strcmp(plan_proc_readonly[i], "/proc/sys") == 0;
		sysrq = sysrq || strcmp(plan_proc_readonly[i], "/proc/sysrq-trigger") == 0;
	}
	assert_true(sys && sysrq);
}

static void test_read_only_network_none_full_argv(void **state)
{
	(void)state;
	struct plan plan;
	read_only_plan(&plan, AB_NET_NONE, false);
	struct bwrap_info info = info_all();
	char *const cmd[] = {(char *)"make", (char *)"-j2", NULL};
	struct bwrap_build_opts opts = {.command = cmd, .status_fd = true, .stderr_fd = true};
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		" --chdir T/w --cap-drop ALL --json-status-fd 5 --argv0 agentbox-inner"
		" -- /proc/self/fd/3 __inner --net none --stderr-fd 4 -- make -j2", proc);
	assert_cmd(&bc, want, "3:self 4:stderr 5:status");
	assert_true(bc.status_is_json);
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_network_full_keeps_host_network(void **state)
{
	(void)state;
	struct plan plan;
	read_only_plan(&plan, AB_NET_FULL, false);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-ipc"
		" --chdir T/w --cap-drop ALL -- /proc/self/fd/3 __inner --net full -- true", proc);
	assert_cmd(&bc, want, "3:self");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* --net proxy: a network namespace of its own, and the bridge's socket
 * handed to the inner stage, which sends the listeners over it. */
static void test_network_proxy_unshares_and_passes_the_bridge(void **state)
{
	(void)state;
	struct plan plan;
	read_only_plan(&plan, AB_NET_PROXY, false);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		" --chdir T/w --cap-drop ALL -- /proc/self/fd/3 __inner --net proxy --bridge-fd 4 -- true",
		proc);
	assert_cmd(&bc, want, "3:self 4:bridge");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_no_proc_mounts_no_proc(void **state)
{
	(void)state;
	struct plan plan;
	read_only_plan(&plan, AB_NET_NONE, true);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	opts.self_path = "/opt/agentbox/bin/agentbox";
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	/* the host's / (and its /proc) is visible, so the fd path still works */
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir T/w --cap-drop ALL -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_no_proc_with_empty_root_runs_inner_stage_by_path(void **state)
{
	(void)state;
	mkdirs("w");
	mkdirs("bin");
	mkfile("bin/agentbox", "ELF");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = {.cwd = P("w"), .no_proc = true, .self_exe = P("bin/agentbox")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	opts.self_path = P("bin/agentbox");
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --tmpfs / --dev /dev"
		   " --bind T/w T/w --ro-bind T/bin/agentbox T/bin/agentbox"
		   " --perms 0555 --tmpfs T/w/.agentbox --remount-ro T/w/.agentbox"
		   " --perms 0555 --tmpfs T/w/.git --remount-ro T/w/.git"
		   " --remount-ro / --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir T/w --cap-drop ALL -- T/bin/agentbox __inner --net none"
		   " --expect w:=:T/w --expect r:=:T/bin/agentbox"
		   " --expect d:-:-:T/w/.agentbox --expect d:-:-:T/w/.git -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* Pins (plan/pin.c) become --bind P P, in depth order before the mounts
 * below them, and each is checked by the inner stage like any bind: the
 * planned directory, on the root of a mount (--expect w:DEV:INO:P). */
static void test_pins_are_binds_onto_themselves_with_expectations(void **state)
{
	(void)state;
	mkdirs("tmp/a/ws/.git");
	mkfile("tmp/a/ws/.git/HEAD", "ref: refs/heads/main\n");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, ":root", AB_ACCESS_READ);
	rule(p, P("tmp"), AB_ACCESS_WRITE);
	rule(p, ":cwd", AB_ACCESS_WRITE);
	struct plan_context ctx = {.cwd = P("tmp/a/ws"), .no_proc = true};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_cmd bc;
	struct bwrap_build_opts opts = opts_plain();
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --bind T/tmp T/tmp"
		   " --perms 0555 --tmpfs T/tmp/.agentbox --remount-ro T/tmp/.agentbox"
		   " --perms 0555 --tmpfs T/tmp/.git --remount-ro T/tmp/.git"
		   " --bind T/tmp/a T/tmp/a --bind T/tmp/a/ws T/tmp/a/ws"
		   " --perms 0555 --tmpfs T/tmp/a/ws/.agentbox --remount-ro T/tmp/a/ws/.agentbox"
		   " --ro-bind T/tmp/a/ws/.git T/tmp/a/ws/.git"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir T/tmp/a/ws --cap-drop ALL -- /proc/self/fd/3 __inner --net none"
		   " --expect w:=:T/tmp --expect d:-:-:T/tmp/.agentbox --expect d:-:-:T/tmp/.git"
		   " --expect w:=:T/tmp/a --expect w:=:T/tmp/a/ws"
		   " --expect d:-:-:T/tmp/a/ws/.agentbox --expect r:=:T/tmp/a/ws/.git -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* bwrap makes the /proc mountpoint in the root, so an empty root turns
 * read-only only after --proc. */
static void test_empty_root_is_remounted_read_only_after_proc(void **state)
{
	(void)state;
	mkdirs("w");
	ab_policy *p = policy_git_agentbox_only();
	rule(p, ":cwd", AB_ACCESS_READ);
	struct plan_context ctx = {.cwd = P("w")};
	struct plan plan;
	resolve_ok(p, &ctx, &plan);
	ab_policy_free(p);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --tmpfs / --dev /dev"
		" --ro-bind T/w T/w"
		" --proc /proc%s --remount-ro / --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		" --chdir T/w --cap-drop ALL -- /proc/self/fd/3 __inner --net none --expect r:=:T/w -- true",
		proc);
	assert_cmd(&bc, want, "3:self");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_nested_reopen_argv_from_resolved_plan(void **state)
{
	(void)state;
	struct plan plan;
	nested_reopen_plan(&plan);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	opts.stderr_fd = true;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		" --bind T/w T/w"
		" --perms 0555 --tmpfs T/w/.agentbox --remount-ro T/w/.agentbox"
		" --perms 0555 --tmpfs T/w/.git --remount-ro T/w/.git"
		" --perms 0111 --tmpfs T/w/a --dir T/w/a/b --remount-ro T/w/a"
		" --perms 0000 --ro-bind-data 5 T/w/secret.env"
		" --bind T/w/a/b T/w/a/b"
		" --perms 0444 --ro-bind-data 6 T/w/docs"
		" --perms 0555 --tmpfs T/w/a/b/.agentbox --remount-ro T/w/a/b/.agentbox"
		" --perms 0555 --tmpfs T/w/a/b/.git --remount-ro T/w/a/b/.git"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		" --chdir T/w --cap-drop ALL -- /proc/self/fd/3 __inner --net none --stderr-fd 4"
		" --expect w:=:T/w --expect d:-:-:T/w/.agentbox --expect d:-:-:T/w/.git"
		" --expect d:=:T/w/a --expect f:=:T/w/secret.env --expect w:=:T/w/a/b"
		" --expect f:-:-:T/w/docs --expect d:-:-:T/w/a/b/.agentbox --expect d:-:-:T/w/a/b/.git"
		" -- true",
		proc);
	assert_cmd(&bc, want, "3:self 4:stderr 5:devnull 6:devnull");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* A hand plan with one of each mask, and what the inner stage must find
 * (a hand plan knows no device and inode numbers). */
#define MASKS_EXPECT \
	" --expect w:-:-:/w --expect d:-:-:/s --expect f:-:-:/f --expect d:-:-:/w/.git" \
	" --expect f:-:-:/w/x"

static void masks_plan(struct plan *plan)
{
	hand_plan(plan);
	op(plan, OP_BIND_RW, "/w", 0);
	op(plan, OP_MASK_DIR, "/s", 0000);
	op(plan, OP_REMOUNT_RO, "/s", 0);
	op(plan, OP_MASK_FILE, "/f", 0000);
	op(plan, OP_BLOCK_DIR, "/w/.git", 0555);
	op(plan, OP_BLOCK_FILE, "/w/x", 0444);
}

static void test_masks_with_perms_and_ro_bind_data(void **state)
{
	(void)state;
	struct plan plan;
	masks_plan(&plan);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	struct bwrap_cmd bc;
	add_proc_ops(&plan);
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev --bind /w /w"
		" --perms 0000 --tmpfs /s --remount-ro /s"
		" --perms 0000 --ro-bind-data 4 /f"
		" --perms 0555 --tmpfs /w/.git --remount-ro /w/.git"
		" --perms 0444 --ro-bind-data 5 /w/x"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		" --chdir /work/p --cap-drop ALL -- /proc/self/fd/3 __inner --net none" MASKS_EXPECT
		" -- true", proc);
	assert_cmd(&bc, want, "3:self 4:devnull 5:devnull");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_without_perms_masks_stay_but_modes_go(void **state)
{
	(void)state;
	struct plan plan;
	masks_plan(&plan);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	info.perms = false;
	struct bwrap_build_opts opts = opts_plain();
	struct bwrap_cmd bc;
	add_proc_ops(&plan);
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev --bind /w /w"
		" --tmpfs /s --remount-ro /s"
		" --ro-bind-data 4 /f"
		" --tmpfs /w/.git --remount-ro /w/.git"
		" --ro-bind-data 5 /w/x"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		" --chdir /work/p --cap-drop ALL -- /proc/self/fd/3 __inner --net none" MASKS_EXPECT
		" -- true", proc);
	assert_cmd(&bc, want, "3:self 4:devnull 5:devnull");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* Without --ro-bind-data an empty file is /dev/null bound read-only; no
 * --perms may precede it (bwrap would reject --perms before --ro-bind). */
static void test_without_ro_bind_data_files_are_dev_null(void **state)
{
	(void)state;
	struct plan plan;
	masks_plan(&plan);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	info.ro_bind_data = false;
	struct bwrap_build_opts opts = opts_plain();
	struct bwrap_cmd bc;
	add_proc_ops(&plan);
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev --bind /w /w"
		" --perms 0000 --tmpfs /s --remount-ro /s"
		" --ro-bind /dev/null /f"
		" --perms 0555 --tmpfs /w/.git --remount-ro /w/.git"
		" --ro-bind /dev/null /w/x"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		" --chdir /work/p --cap-drop ALL -- /proc/self/fd/3 __inner --net none" MASKS_EXPECT
		" -- true", proc);
	assert_cmd(&bc, want, "3:self");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_status_falls_back_to_info_fd(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	struct bwrap_info info = info_all();
	info.argv0 = false;
	info.json_status_fd = false;
	struct bwrap_build_opts opts = opts_plain();
	opts.status_fd = true;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL --info-fd 4 -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self 4:status");
	assert_false(bc.status_is_json);
	bwrap_cmd_free(&bc);

	/* neither option: no status at all */
	info.info_fd = false;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self");
	bwrap_cmd_free(&bc);

	/* supported but not asked for */
	info = info_all();
	info.argv0 = false;
	opts.status_fd = false;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_argv0_goes_right_before_separator(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	struct bwrap_info info = info_all();
	struct bwrap_build_opts opts = opts_plain();
	opts.status_fd = true;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL --json-status-fd 4"
		   " --argv0 agentbox-inner -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self 4:status");
	bwrap_cmd_free(&bc);

	info.argv0 = false;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL --json-status-fd 4"
		   " -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self 4:status");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* The life pipe reaches the inner stage whatever bwrap supports: it is
 * agentbox's own, not a bwrap option. */
/* The command's environment goes to the inner stage by fd, not through
 * bwrap's environment (inner/env_fd.h). */
static void test_env_fd_goes_to_the_inner_stage(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	struct bwrap_info info = info_none();
	struct bwrap_build_opts opts = opts_plain();
	opts.life_fd = true;
	opts.env_fd = true;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-net"
		   " --chdir /work/p -- /proc/self/fd/3 __inner --net none --life-fd 4 --env-fd 5 -- true",
		   "3:self 4:life 5:env");
	bwrap_cmd_free(&bc);
	/* a dynamically loaded agentbox: its own library path, for the inner
	 * stage only */
	opts.inner_library_path = "/opt/ab/lib";
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-net"
		   " --chdir /work/p --setenv LD_LIBRARY_PATH /opt/ab/lib -- /proc/self/fd/3 __inner --net none --life-fd 4 --env-fd 5 -- true",
		   "3:self 4:life 5:env");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_life_fd_goes_to_the_inner_stage(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	struct bwrap_info info = info_none();
	struct bwrap_build_opts opts = opts_plain();
	opts.life_fd = true;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-net"
		   " --chdir /work/p -- /proc/self/fd/3 __inner --net none --life-fd 4 -- true",
		   "3:self 4:life");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* --approvals-tty: the inner stage is told to take the command's pty as
 * the session's controlling terminal; without it, never. */
static void test_ctty_goes_to_the_inner_stage_only_when_asked(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	struct bwrap_info info = info_none();
	struct bwrap_build_opts opts = opts_plain();
	opts.ctty = true;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-net"
		   " --chdir /work/p -- /proc/self/fd/3 __inner --net none --ctty on -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	opts.ctty = false;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-net"
		   " --chdir /work/p -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* An old bubblewrap: none of the optional flags. */
static void test_minimal_bwrap_gets_only_basic_flags(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	struct bwrap_info info = info_none();
	struct bwrap_build_opts opts = opts_plain();
	opts.status_fd = true;
	opts.stderr_fd = true;
	struct bwrap_cmd bc;
	add_proc_ops(&plan);
	build_ok(&plan, &info, &opts, &bc);
	char *proc = proc_ro();
	char *want = xasprintf(
		"bwrap --new-session --die-with-parent --ro-bind / / --dev /dev"
		" --proc /proc%s --unshare-user --unshare-pid --unshare-net"
		" --chdir /work/p -- /proc/self/fd/3 __inner --net none --stderr-fd 4 -- true", proc);
	assert_cmd(&bc, want, "3:self 4:stderr");
	free(want);
	free(proc);
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_skip_op_drops_exactly_that_op(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	op(&plan, OP_BIND_RW, "/a", 0);
	op(&plan, OP_BLOCK_FILE, "/a/b", 0444);
	op(&plan, OP_MASK_FILE, "/a/c", 0000);
	op(&plan, OP_BIND_RO, "/a/d", 0);
	bool skip[6] = {false, false, false, true, false, false};
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	opts.skip_op = skip;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev --bind /a /a"
		   " --perms 0000 --ro-bind-data 4 /a/c --ro-bind /a/d /a/d"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL -- /proc/self/fd/3 __inner --net none"
		   " --expect w:-:-:/a --expect f:-:-:/a/c --expect r:-:-:/a/d -- true",
		   "3:self 4:devnull");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_one_fd_per_empty_file_numbered_in_order(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	op(&plan, OP_BIND_RW, "/w", 0);
	op(&plan, OP_MASK_FILE, "/w/1", 0000);
	op(&plan, OP_MASK_DIR, "/w/d", 0111);
	op(&plan, OP_MKFILE, "/w/d/f", 0644);
	op(&plan, OP_REMOUNT_RO, "/w/d", 0);
	op(&plan, OP_BLOCK_FILE, "/w/2", 0444);
	op(&plan, OP_MASK_FILE, "/w/3", 0000);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	opts.stderr_fd = true;
	opts.status_fd = true;
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev --bind /w /w"
		   " --perms 0000 --ro-bind-data 5 /w/1"
		   " --perms 0111 --tmpfs /w/d --file 6 /w/d/f --remount-ro /w/d"
		   " --perms 0444 --ro-bind-data 7 /w/2"
		   " --perms 0000 --ro-bind-data 8 /w/3"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL --json-status-fd 9"
		   " -- /proc/self/fd/3 __inner --net none --stderr-fd 4"
		   " --expect w:-:-:/w --expect f:-:-:/w/1 --expect d:-:-:/w/d --expect f:-:-:/w/2"
		   " --expect f:-:-:/w/3 -- true",
		   "3:self 4:stderr 5:devnull 6:devnull 7:devnull 8:devnull 9:status");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_root_writable_and_symlink_ops(void **state)
{
	(void)state;
	struct plan plan;
	memset(&plan, 0, sizeof(plan));
	plan.cwd = xstrdup("/");
	plan.net = AB_NET_FULL;
	op(&plan, OP_ROOT_TMPFS, "/", 0);
	op(&plan, OP_DEV, "/dev", 0);
	op(&plan, OP_BIND_RO, "/usr", 0);
	op(&plan, OP_SYMLINK, "/bin", 0);
	plan.ops[plan.n_ops - 1].target = xstrdup("usr/bin");
	op(&plan, OP_REMOUNT_RO, "/", 0);
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = opts_plain();
	opts.self_path = "/opt/agentbox";
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --tmpfs / --dev /dev"
		   " --ro-bind /usr /usr --symlink usr/bin /bin"
		   " --remount-ro / --unshare-user --unshare-pid --unshare-ipc"
		   " --chdir / --cap-drop ALL -- /opt/agentbox __inner --net full --expect r:-:-:/usr -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);

	memset(&plan, 0, sizeof(plan));
	plan.cwd = xstrdup("/");
	plan.root_readable = plan.root_writable = true;
	op(&plan, OP_ROOT_BIND_RW, "/", 0);
	op(&plan, OP_DEV, "/dev", 0);
	build_ok(&plan, &info, &opts, &bc);
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir / --cap-drop ALL -- /proc/self/fd/3 __inner --net none -- true",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

/* Only the first `--` and the word after it are ours. */
static void test_user_command_is_passed_verbatim(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	plan.mount_proc = false;
	char *const cmd[] = {
		(char *)"sh", (char *)"-c", (char *)"echo \"$@\"", (char *)"--",
		(char *)"/proc/self/fd/3", (char *)"__inner", (char *)"--net", (char *)"full",
		(char *)"", (char *)"--stderr-fd", (char *)"9", NULL,
	};
	struct bwrap_info info = info_all();
	info.argv0 = false;
	struct bwrap_build_opts opts = {.command = cmd};
	struct bwrap_cmd bc;
	build_ok(&plan, &info, &opts, &bc);
	size_t n = bc.argv.n, k = sizeof(cmd) / sizeof(cmd[0]) - 1;
	assert_true(n > k + 1);
	for (size_t i = 0; i < k; i++)
		assert_string_equal(bc.argv.v[n - k + i], cmd[i]);
	assert_string_equal(bc.argv.v[n - k - 1], "--");
	assert_cmd(&bc,
		   "bwrap --new-session --die-with-parent --as-pid-1 --ro-bind / / --dev /dev"
		   " --unshare-user --unshare-pid --unshare-ipc --unshare-net"
		   " --chdir /work/p --cap-drop ALL -- /proc/self/fd/3 __inner --net none"
		   " -- sh -c echo \"$@\" -- /proc/self/fd/3 __inner --net full  --stderr-fd 9",
		   "3:self");
	bwrap_cmd_free(&bc);
	plan_free(&plan);
}

static void test_mkfile_without_file_option_is_enotsup(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	op(&plan, OP_MASK_DIR, "/h", 0111);
	op(&plan, OP_MKFILE, "/h/keep.txt", 0644);
	op(&plan, OP_REMOUNT_RO, "/h", 0);
	struct bwrap_info info = info_all();
	info.file = false;
	struct bwrap_build_opts opts = opts_plain();
	struct bwrap_cmd bc;
	ab_error err = {0};
	int r = bwrap_build(&plan, &info, &opts, &bc, &err);
	assert_int_equal(r, -ENOTSUP);
	assert_int_equal(err.code, ENOTSUP);
	assert_non_null(strstr(err.message, "/h/keep.txt"));
	assert_non_null(strstr(err.message, "--file"));
	assert_non_null(strstr(err.message, "/usr/bin/bwrap"));
	assert_null(bc.argv.v);
	bwrap_cmd_free(&bc); /* harmless after a failure */
	plan_free(&plan);
}

static void test_empty_command_is_an_error(void **state)
{
	(void)state;
	struct plan plan;
	hand_plan(&plan);
	struct bwrap_info info = info_all();
	char *const empty[] = {NULL};
	struct bwrap_build_opts opts = {.command = empty};
	struct bwrap_cmd bc;
	ab_error err = {0};
	assert_int_equal(bwrap_build(&plan, &info, &opts, &bc, &err), -EINVAL);
	assert_non_null(strstr(err.message, "no command"));
	assert_null(bc.argv.v);
	opts.command = NULL;
	err = (ab_error){0};
	assert_int_equal(bwrap_build(&plan, &info, &opts, &bc, &err), -EINVAL);
	assert_non_null(strstr(err.message, "no command"));
	plan_free(&plan);
}

/* bwrap_cmd has room for 64 fds: self, stderr and status leave 61 for
 * empty files. One more must be refused, never written past the end. */
static void test_too_many_empty_files_is_e2big(void **state)
{
	(void)state;
	struct bwrap_info info = info_all();
	struct bwrap_build_opts opts = opts_plain();
	opts.stderr_fd = opts.status_fd = true;
	for (int count = 61; count <= 62; count++) {
		struct plan plan;
		hand_plan(&plan);
		for (int i = 0; i < count; i++) {
			char path[32];
			snprintf(path, sizeof(path), "/m/%d", i);
			op(&plan, OP_MASK_FILE, path, 0000);
		}
		struct bwrap_cmd bc;
		ab_error err = {0};
		int r = bwrap_build(&plan, &info, &opts, &bc, &err);
		if (count == 61) {
			if (r < 0)
				fail_msg("61 masks: %s", err.message);
			assert_int_equal(bc.n_fds, 64);
			assert_int_equal(bc.fds[63].target, 66);
			assert_int_equal(bc.fds[63].kind, BFD_STATUS);
			assert_int_equal(bc.fds[62].kind, BFD_DEVNULL);
			bwrap_cmd_free(&bc);
		} else {
			if (r == 0) {
				size_t n = bc.n_fds;
				bwrap_cmd_free(&bc);
				plan_free(&plan);
				fail_msg("62 masks were accepted with %zu fds in a 64-slot table", n);
			}
			assert_int_equal(r, -E2BIG);
			assert_int_equal(err.code, E2BIG);
		}
		plan_free(&plan);
	}
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
	const struct CMUnitTest tests[] = {
		T_(test_proc_readonly_list_covers_sysctls),
		T_(test_pins_are_binds_onto_themselves_with_expectations),
		T_(test_read_only_network_none_full_argv),
		T_(test_network_full_keeps_host_network),
		T_(test_network_proxy_unshares_and_passes_the_bridge),
		T_(test_no_proc_mounts_no_proc),
		T_(test_no_proc_with_empty_root_runs_inner_stage_by_path),
		T_(test_empty_root_is_remounted_read_only_after_proc),
		T_(test_nested_reopen_argv_from_resolved_plan),
		T_(test_masks_with_perms_and_ro_bind_data),
		T_(test_without_perms_masks_stay_but_modes_go),
		T_(test_without_ro_bind_data_files_are_dev_null),
		T_(test_status_falls_back_to_info_fd),
		T_(test_argv0_goes_right_before_separator),
		T_(test_minimal_bwrap_gets_only_basic_flags),
		T_(test_life_fd_goes_to_the_inner_stage),
		T_(test_env_fd_goes_to_the_inner_stage),
		T_(test_ctty_goes_to_the_inner_stage_only_when_asked),
		T_(test_skip_op_drops_exactly_that_op),
		T_(test_one_fd_per_empty_file_numbered_in_order),
		T_(test_root_writable_and_symlink_ops),
		T_(test_user_command_is_passed_verbatim),
		T_(test_mkfile_without_file_option_is_enotsup),
		T_(test_empty_command_is_an_error),
		T_(test_too_many_empty_files_is_e2big),
	};
#undef T_
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
