/* Plan -> bubblewrap command line. A pure function of the plan, the
 * options bwrap supports and the command; it opens nothing. The file
 * descriptors it names are numbered from 3 in order of first use and put
 * in place by the supervisor right before exec. */
#include "backend/bwrap/bwrap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "common/error.h"
#include "inner/inner.h"
#include "plan/expect.h"

static int add_fd(struct bwrap_cmd *cmd, enum bwrap_fd_kind kind)
{
	int target = 3 + (int)cmd->n_fds;
	cmd->fds[cmd->n_fds++] = (struct bwrap_fd){target, kind, NULL, 0};
	return target;
}

static void push_fd_arg(struct bwrap_cmd *cmd, int fd)
{
	strv_push_owned(&cmd->argv, xasprintf("%d", fd));
}

static void push_perms(struct bwrap_cmd *cmd, const struct bwrap_info *info, unsigned mode)
{
	if (!info->perms)
		return;
	strv_push(&cmd->argv, "--perms");
	strv_push_owned(&cmd->argv, xasprintf("%04o", mode));
}

/* An empty read-only file at `path`: copied from a /dev/null fd where bwrap
 * can, else /dev/null itself bound read-only (reads as empty either way). */
static void push_empty_file(struct bwrap_cmd *cmd, const struct bwrap_info *info,
			    const char *path, unsigned mode)
{
	if (info->ro_bind_data) {
		push_perms(cmd, info, mode);
		strv_push(&cmd->argv, "--ro-bind-data");
		push_fd_arg(cmd, add_fd(cmd, BFD_DEVNULL));
	} else {
		strv_push(&cmd->argv, "--ro-bind");
		strv_push(&cmd->argv, "/dev/null");
	}
	strv_push(&cmd->argv, path);
}

static int push_op(struct bwrap_cmd *cmd, const struct bwrap_info *info,
		   const struct plan_op *op, ab_error *err)
{
	strv *a = &cmd->argv;
	switch (op->kind) {
	case OP_ROOT_BIND_RO:
	case OP_BIND_RO:
		strv_push(a, "--ro-bind");
		strv_push(a, op->path);
		strv_push(a, op->path);
		break;
	case OP_ROOT_BIND_RW:
	case OP_BIND_RW:
	case OP_PIN:
		strv_push(a, "--bind");
		strv_push(a, op->path);
		strv_push(a, op->path);
		break;
	case OP_ROOT_TMPFS:
		strv_push(a, "--tmpfs");
		strv_push(a, "/");
		break;
	case OP_DEV:
		strv_push(a, "--dev");
		strv_push(a, "/dev");
		break;
	case OP_MASK_DIR:
		push_perms(cmd, info, op->mode);
		strv_push(a, "--tmpfs");
		strv_push(a, op->path);
		break;
	case OP_MKDIR:
		strv_push(a, "--dir");
		strv_push(a, op->path);
		break;
	case OP_MKFILE:
		if (!info->file)
			return ab_fail(err, ENOTSUP,
				       "%s (bubblewrap %s) lacks --file, needed to reopen the file %s under a hidden directory\n"
				       "fix: install a newer bubblewrap, or reopen the file's directory instead",
				       info->path, info->version, op->path);
		strv_push(a, "--file");
		push_fd_arg(cmd, add_fd(cmd, BFD_DEVNULL));
		strv_push(a, op->path);
		break;
	case OP_REMOUNT_RO:
		strv_push(a, "--remount-ro");
		strv_push(a, op->path);
		break;
	case OP_MASK_FILE:
	case OP_BLOCK_FILE:
		push_empty_file(cmd, info, op->path, op->mode);
		break;
	case OP_PROC:
		strv_push(a, "--proc");
		strv_push(a, op->path);
		break;
	case OP_PROC_KNOB:
		/* bwrap itself covers these only when they look writable to
		 * it, which misses root's case (see plan_proc_readonly). The
		 * host's copy is bound: sysctls act on the caller's
		 * namespaces either way, and the bind is read-only. */
		strv_push(a, "--ro-bind-try");
		strv_push(a, op->path);
		strv_push(a, op->path);
		break;
	case OP_SYMLINK:
		strv_push(a, "--symlink");
		strv_push(a, op->target);
		strv_push(a, op->path);
		break;
	case OP_COVER_DATA: {
		/* bwrap copies the fd's content into a file of its own
		 * tmpfs and binds that read-only over the path */
		push_perms(cmd, info, op->mode);
		strv_push(a, "--ro-bind-data");
		int fd = add_fd(cmd, BFD_DATA);
		cmd->fds[cmd->n_fds - 1].data = op->data;
		cmd->fds[cmd->n_fds - 1].data_len = op->data_len;
		push_fd_arg(cmd, fd);
		strv_push(a, op->path);
		break;
	}
	case OP_BLOCK_DIR:
		push_perms(cmd, info, op->mode);
		strv_push(a, "--tmpfs");
		strv_push(a, op->path);
		strv_push(a, "--remount-ro");
		strv_push(a, op->path);
		break;
	}
	return 0;
}

/* bwrap resolves every path again, following links, while it builds the
 * tree; the inner stage checks afterwards that each mount holds what the
 * plan resolved (plan/expect.h), before the command exists. */
static void push_expects(struct bwrap_cmd *cmd, const struct plan *plan, const bool *skip_op)
{
	struct mount_expect *ex = xcalloc(plan->n_ops + 1, sizeof(*ex));
	size_t n = plan_mount_expects(plan, skip_op, ex);
	for (size_t i = 0; i < n; i++) {
		strv_push(&cmd->argv, "--expect");
		strv_push_owned(&cmd->argv, mount_expect_format(&ex[i]));
	}
	free(ex);
}

const char *bwrap_inner_library_path(void)
{
	/* AT_BASE is the dynamic loader's address, 0 without one (static
	 * and static-pie executables) */
	if (getauxval(AT_BASE) == 0)
		return NULL;
	const char *v = getenv("LD_LIBRARY_PATH");
	return v && *v ? v : NULL;
}

/* The ops to leave out: the caller's, and a copy over a file where this
 * bwrap cannot put one (no --ro-bind-data): git inside then sees the
 * placeholders, as when the repository has no info/exclude. */
static bool *skipped_ops(const struct plan *plan, const struct bwrap_info *info, const bool *skip_op)
{
	bool *skip = xcalloc(plan->n_ops + 1, sizeof(*skip));
	for (size_t i = 0; i < plan->n_ops; i++)
		skip[i] = (skip_op && skip_op[i]) ||
			  (plan->ops[i].kind == OP_COVER_DATA && !info->ro_bind_data);
	return skip;
}

int bwrap_build(const struct plan *plan, const struct bwrap_info *info,
		const struct bwrap_build_opts *opts, struct bwrap_cmd *cmd, ab_error *err)
{
	memset(cmd, 0, sizeof(*cmd));
	strv *a = &cmd->argv;
	if (!opts->command || !opts->command[0]) {
		return ab_fail(err, EINVAL, "no command given; usage: agentbox run [OPTIONS] -- COMMAND [ARG...]");
	}

	/* The inner stage is reached through its fd, so agentbox's install
	 * location need not be visible. Without /proc that needs the path. */
	int self_fd = add_fd(cmd, BFD_SELF);
	int stderr_fd = opts->stderr_fd ? add_fd(cmd, BFD_STDERR) : -1;

	strv_push(a, "bwrap");
	strv_push(a, "--new-session");
	strv_push(a, "--die-with-parent");
	if (info->as_pid_1)
		strv_push(a, "--as-pid-1");

	_cleanup_free_ bool *skip = skipped_ops(plan, info, opts->skip_op);
	for (size_t i = 0; i < plan->n_ops; i++) {
		if (skip[i])
			continue;
		/* room for this op's fd plus the status, life (and bridge) fds */
		size_t after = (plan->net == AB_NET_PROXY ? 2 : 1) + (opts->life_fd ? 1 : 0) +
			       (opts->env_fd ? 1 : 0);
		if (cmd->n_fds + 1 + after > sizeof(cmd->fds) / sizeof(cmd->fds[0])) {
			bwrap_cmd_free(cmd);
			return ab_fail(err, E2BIG, "the policy needs more than %zu empty-file masks; simplify it",
				       sizeof(cmd->fds) / sizeof(cmd->fds[0]) - 2 - after);
		}
		int r = push_op(cmd, info, &plan->ops[i], err);
		if (r < 0) {
			bwrap_cmd_free(cmd);
			return r;
		}
	}

	/* Always a new user namespace, also for root: it is what makes the
	 * mounts private and leaves root no power over the host. */
	strv_push(a, "--unshare-user");
	strv_push(a, "--unshare-pid");
	if (info->unshare_ipc)
		strv_push(a, "--unshare-ipc");
	if (plan->net != AB_NET_FULL)
		strv_push(a, "--unshare-net");
	strv_push(a, "--chdir");
	strv_push(a, plan->cwd);
	if (info->cap_drop) {
		strv_push(a, "--cap-drop");
		strv_push(a, "ALL");
	}
	if (opts->status_fd && (info->json_status_fd || info->info_fd)) {
		cmd->status_is_json = info->json_status_fd;
		strv_push(a, info->json_status_fd ? "--json-status-fd" : "--info-fd");
		push_fd_arg(cmd, add_fd(cmd, BFD_STATUS));
	}
	if (opts->env_fd && opts->inner_library_path) {
		strv_push(a, "--setenv");
		strv_push(a, "LD_LIBRARY_PATH");
		strv_push(a, opts->inner_library_path);
	}
	if (info->argv0) {
		strv_push(a, "--argv0");
		strv_push(a, "agentbox-inner");
	}
	strv_push(a, "--");
	bool via_fd = plan->mount_proc || plan->root_readable || !opts->self_path;
	if (via_fd)
		strv_push_owned(a, xasprintf("/proc/self/fd/%d", self_fd));
	else
		strv_push(a, opts->self_path);
	strv_push(a, AB_INNER_ARG);
	strv_push(a, "--net");
	strv_push(a, ab_net_name(plan->net));
	if (stderr_fd >= 0) {
		strv_push(a, "--stderr-fd");
		push_fd_arg(cmd, stderr_fd);
	}
	if (plan->net == AB_NET_PROXY) {
		strv_push(a, "--bridge-fd");
		push_fd_arg(cmd, add_fd(cmd, BFD_BRIDGE));
	}
	if (opts->life_fd) {
		strv_push(a, "--life-fd");
		push_fd_arg(cmd, add_fd(cmd, BFD_LIFE));
	}
	/* bwrap and the inner stage run with a clean environment; the
	 * command's comes through this fd (inner/env_fd.h) */
	if (opts->env_fd) {
		strv_push(a, "--env-fd");
		push_fd_arg(cmd, add_fd(cmd, BFD_ENV));
	}
	if (opts->ctty) {
		strv_push(a, "--ctty");
		strv_push(a, "on");
	}
	push_expects(cmd, plan, skip);
	strv_push(a, "--");
	for (size_t i = 0; opts->command[i]; i++)
		strv_push(a, opts->command[i]);
	return 0;
}

void bwrap_cmd_free(struct bwrap_cmd *cmd)
{
	strv_free(&cmd->argv);
	cmd->n_fds = 0;
}
