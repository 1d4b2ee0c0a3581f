/* The system-bubblewrap backend: find bwrap, learn what it supports, and
 * turn a plan into its command line. */
#ifndef AB_BACKEND_BWRAP_H
#define AB_BACKEND_BWRAP_H

#include <stdbool.h>
#include "agentbox.h"
#include "common/util.h"
#include "plan/plan.h"

struct bwrap_info {
	char *path;
	char version[64];   /* "0.8.0", or "" when unknown */
	bool argv0;         /* --argv0 */
	bool perms;         /* --perms (mask modes) */
	bool ro_bind_data;  /* --ro-bind-data */
	bool file;          /* --file */
	bool as_pid_1;      /* --as-pid-1 */
	bool json_status_fd;/* --json-status-fd */
	bool info_fd;       /* --info-fd */
	bool sync_fd;       /* --sync-fd */
	bool cap_drop;      /* --cap-drop */
	bool unshare_ipc;   /* --unshare-ipc */
	bool from_cache;
};

/* Finds bwrap: /usr/bin/bwrap first, else the first `bwrap` on PATH that
 * is neither under the working directory nor writable under the plan. */
int bwrap_locate(const struct plan *plan, char **path_out, ab_error *err);

/* Learns the options `path` supports by running `bwrap --help` and
 * `--version` once; the answer is cached in the state dir, keyed by the
 * binary's identity (device, inode, size, mtime, ctime). state_dir may be
 * NULL (no cache); `refresh` ignores the cache. The options that isolate
 * (--cap-drop, --unshare-ipc) are never taken from the cache: they are
 * assumed, and a bwrap that rejects one is probed afresh. */
int bwrap_probe(const char *path, const char *state_dir, bool refresh,
		struct bwrap_info *info, ab_error *err);
void bwrap_info_free(struct bwrap_info *info);

/* File descriptors the command line refers to. The supervisor places each
 * at `target` in the child just before exec. */
enum bwrap_fd_kind {
	BFD_DEVNULL, /* a fresh read-only /dev/null (empty data for masks) */
	BFD_SELF,    /* agentbox's own binary, for the inner stage */
	BFD_STDERR,  /* the caller's real stderr, restored by the inner stage */
	BFD_STATUS,  /* write end of the --json-status-fd / --info-fd pipe */
	BFD_BRIDGE,  /* --net proxy: the inner stage sends the bridge's listeners here */
	BFD_LIFE,    /* read end of a pipe only agentbox writes: EOF means agentbox died */
	BFD_ENV,     /* the command's environment, a sealed memfd (inner/env_fd.h) */
	BFD_DATA,    /* a memfd holding `data` (OP_COVER_DATA's --ro-bind-data) */
};

struct bwrap_fd {
	int target;
	enum bwrap_fd_kind kind;
	const char *data; /* BFD_DATA: borrowed from the plan's op */
	size_t data_len;
};

struct bwrap_cmd {
	strv argv;
	struct bwrap_fd fds[64];
	size_t n_fds;
	bool status_is_json; /* --json-status-fd rather than --info-fd */
};

struct bwrap_build_opts {
	char *const *command;     /* the user's command */
	const bool *skip_op;      /* per plan op: true to leave it out, or NULL */
	const char *self_path;    /* agentbox binary path, used without /proc */
	bool status_fd;           /* ask bwrap to report the child's pid and exit */
	bool stderr_fd;           /* route bwrap's own stderr apart from the command's */
	bool life_fd;             /* pass BFD_LIFE to the inner stage (--life-fd) */
	/* pass BFD_ENV (--env-fd): bwrap and the inner stage then run with
	 * a clean environment and the command gets its own at its exec */
	bool env_fd;
	/* With env_fd: LD_LIBRARY_PATH for the inner stage alone (bwrap
	 * --setenv), or NULL; see bwrap_inner_library_path. */
	const char *inner_library_path;
	bool ctty;                /* the inner stage's --ctty on (inner.h) */
};

/* The inner stage is agentbox's own program executed again: when that
 * program was loaded by the dynamic loader (a program linking
 * libagentbox.so, a sanitizer build), it needs the library path it was
 * started with to start at all. That is agentbox's own process's
 * LD_LIBRARY_PATH (the caller's choice for its own process), never the
 * command's environment. NULL for a static agentbox (the CLI) or when
 * the variable is unset. */
const char *bwrap_inner_library_path(void);

int bwrap_build(const struct plan *plan, const struct bwrap_info *info,
		const struct bwrap_build_opts *opts, struct bwrap_cmd *out, ab_error *err);
void bwrap_cmd_free(struct bwrap_cmd *cmd);

struct supervise_request;

/* Runs the command through bwrap (req->bwrap). Returns a
 * supervise_outcome (>= 0) or a negative errno with err set. */
int supervise_bwrap(const struct supervise_request *req, int *exit_status, ab_error *err);

#endif
