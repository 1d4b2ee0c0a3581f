/* The resolved plan: what the kernel must do for one run, in order.
 *
 * Resolution turns a policy into nodes (each path that has a rule, with
 * its access and the reason), then orders them by depth so that narrower
 * rules are applied after, and therefore on top of, wider ones. The plan
 * is backend-neutral: bwrap turns it into an argv, the built-in engine
 * would perform the same operations itself. */
#ifndef AB_PLAN_PLAN_H
#define AB_PLAN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "agentbox.h"

struct domain_rules;
struct socket_never;
struct credential_entry;

struct sbuf;

enum node_source {
	NODE_RULE,      /* a policy entry */
	NODE_MINIMAL,   /* a platform default read root (:minimal) */
	NODE_PROTECTED, /* a protected name under a writable root */
	NODE_GITDIR,    /* a nested .git, the target of a .git pointer file or its
			   common dir, or a path the git configuration names
			   (plan/nested_repos.c, plan/git_config_paths.c) */
	NODE_STATE,     /* agentbox's own state directories (hidden) */
	NODE_SELF,      /* agentbox's own binary, kept visible for the inner stage */
	NODE_KERNEL,    /* /sys: kernel knobs stay read-only even under full access */
	NODE_CONFIG,    /* agentbox's own configuration file (--policy-file,
			   --approvals-save, discovered files and the user
			   configuration directory): read-only,
			   plan/config_files.c */
	NODE_SOCKET,    /* on the socket never-list (hidden; plan/sockets.c) */
	NODE_SOCKET_ALLOW, /* a host socket --allow-unix binds in (plan/sockets.c) */
	NODE_CREDENTIAL, /* the credential deny set: hidden, or a name kept
			    readable inside a hidden directory (plan/credentials.c) */
	NODE_GLOB,      /* matched by a deny glob (plan/deny_globs.c): hidden */
	NODE_PIN,       /* a directory inside a writable area on the way to a
			   mount: bound onto itself so it cannot be renamed
			   (plan/pin.c); not a rule, ignored by plan_node_at */
};

struct plan_node {
	char *path;       /* canonical absolute path */
	ab_access access;
	enum node_source source;
	char *why;        /* human reason: "--write", "policy.json:4:7", ... */
	bool exists;
	bool is_dir;
	/* When it exists: its device and inode as resolution found them.
	 * A backend mounts on the path and must find this very file there,
	 * or something swapped it since (plan/expect.h). */
	dev_t dev;
	ino_t ino;
	bool empty;       /* a protected name that exists and is an empty dir or
			     empty regular file (not computed for other nodes) */
	bool protected_name; /* its name is protected under a writable parent */
	bool pin;         /* gets OP_PIN although its access needs no mount */
	bool cache;       /* a package manager's cache (--cache): the search
			     for nested repositories looks at its own .git only */
	char *first_missing; /* when !exists: shallowest missing component */
	char **links;     /* locations of symbolic links crossed to reach it */
	char **link_targets; /* and what each of them contains */
	size_t n_links;
};

enum plan_op_kind {
	OP_ROOT_BIND_RO,  /* host / read-only at / */
	OP_ROOT_BIND_RW,  /* host / writable at / */
	OP_ROOT_TMPFS,    /* an empty root; only listed paths are visible */
	OP_DEV,           /* minimal /dev: null zero full random urandom tty, pts, shm */
	OP_BIND_RO,       /* bind host path read-only onto itself */
	OP_BIND_RW,       /* bind host path writable onto itself */
	OP_MASK_DIR,      /* empty tmpfs with `mode` (followed by OP_MKDIR/OP_MKFILE, OP_REMOUNT_RO) */
	OP_MASK_FILE,     /* empty read-only file with `mode` over an existing file */
	OP_MKDIR,         /* mountpoint inside a mask, before its remount */
	OP_MKFILE,        /* file mountpoint inside a mask, before its remount */
	OP_REMOUNT_RO,    /* make `path` (a mount made above) read-only */
	OP_BLOCK_DIR,     /* missing (or empty placeholder) path in a writable
			     area: an empty read-only dir so it cannot be
			     created; needs a host placeholder */
	OP_BLOCK_FILE,    /* same with an empty read-only file */
	OP_SYMLINK,       /* recreate a host symlink (path -> target) in an
			     empty root, so /lib64 -> usr/lib64 still works */
	OP_PROC,          /* a fresh procfs at `path` (/proc), after every bind */
	OP_PROC_KNOB,     /* bind `path` (a part of the fresh /proc) read-only
			     onto itself, when this kernel has it */
	OP_PIN,           /* bind a directory of a writable area writable onto
			     itself: a mountpoint cannot be renamed or removed
			     (EBUSY), so the mounts below it stay where the
			     plan put them (plan/pin.c) */
	OP_COVER_DATA,    /* cover an existing file with a read-only copy that
			     holds `data` instead (a repository's info/exclude
			     plus the run's file placeholders, plan/git_exclude.c) */
};

struct plan_op {
	enum plan_op_kind kind;
	char *path;
	unsigned mode; /* for masks and blocks */
	char *target;  /* OP_SYMLINK only */
	int node;      /* index of the node this op serves, -1 for base ops */
	/* OP_COVER_DATA only: the content, the file it covers as the plan
	 * read it (a backend must find that very file there), and why */
	char *data;
	size_t data_len;
	dev_t dev;
	ino_t ino;
	char *why;
};

struct plan_warning {
	char *code;    /* "missing_writable_root", "proc_retry", ... */
	char *path;    /* may be NULL */
	char *message; /* one short line */
};

/* A repository found under a writable root (its .git, or the git dir a
 * .git pointer file names): for safe.directory inside, the protect-mode
 * hint and, in commit mode, the refs snapshot (run/git_refs.h). */
struct plan_git_repo {
	char *worktree;   /* the checkout: the writable root holding .git */
	char *gitdir;     /* its .git directory, or the one the pointer names */
	char *commondir;  /* where objects and refs live (gitdir for a main repo) */
	bool writable;    /* commit mode made its git dirs writable */
};

struct plan {
	struct plan_node *nodes;
	size_t n_nodes, cap_nodes;
	struct plan_op *ops;
	size_t n_ops, cap_ops;
	struct plan_warning *warnings;
	size_t n_warnings, cap_warnings;
	/* What explain says about how the plan was made, not a warning
	 * (each run would print it): "git scan of /ws: depth 4, ..." */
	char **notes;
	size_t n_notes, cap_notes;
	/* the search for nested repositories (plan/nested_repos.c): its
	 * depth, -1 when there was none, and how many .git it found */
	int git_scan_depth;
	size_t git_nested_found;
	/* deny globs (plan/deny_globs.c): patterns expanded (0: none), paths
	 * they hide, whether the walk stopped at a bound, and its cost */
	size_t glob_patterns, glob_hidden, glob_entries;
	bool glob_partial;
	bool glob_cached;    /* the walk was taken from the cache */
	double glob_ms;

	char *cwd;           /* canonical working directory inside */
	ab_net net;
	const struct domain_rules *domains; /* AB_NET_PROXY: the policy's (not owned) */
	bool mount_proc;
	bool root_readable;  /* / is bound (read or write) */
	bool root_writable;
	ab_git_mode git;     /* the policy's --git mode */
	struct plan_git_repo *git_repos;
	size_t n_git_repos, cap_git_repos;
	struct plan_credential *credentials;
	size_t n_credentials, cap_credentials;
};

/* An entry of the credential deny set found on this host: hidden, or
 * visible because the user said so (plan/credentials.c). */
struct plan_credential {
	char *name;  /* the table's short name: "ssh" */
	char *path;  /* canonical */
	bool hidden;
	char *why;   /* hidden: what it holds; visible: the option or rule */
};

/* Under --net proxy, the command's only way out: the proxy's listeners
 * inside the sandbox's own network namespace (net/bridge.h says how they
 * get there). Fixed, so that tools configured by hand can rely on them. */
#define PLAN_PROXY_HOST "127.0.0.1"
#define PLAN_PROXY_HTTP_PORT 3128
#define PLAN_PROXY_SOCKS_PORT 1080

/* A file agentbox reads or writes as its configuration, and the option
 * that named it ("--policy-file"). */
struct plan_config_file {
	const char *path; /* absolute */
	const char *option;
	/* a discovered place (plan/config_files.c): writable, it is made
	 * read-only, or blocked when missing, instead of refusing the run */
	bool block;
};

/* Facts about this run that resolution needs, gathered by the caller so
 * that resolution itself stays testable. */
struct plan_context {
	const char *cwd;       /* requested working directory (absolute) */
	const char *home;      /* $HOME or NULL */
	const char *tmpdir;    /* $TMPDIR or NULL */
	const char *const *state_dirs; /* every candidate state dir, NULL-terminated, or NULL */
	const char *self_exe;  /* canonical path of the agentbox binary or NULL */
	bool no_proc;
	/* for the socket never-list: $XDG_RUNTIME_DIR (NULL when unset) and
	 * the caller's real uid (/run/user/$UID) */
	const char *runtime_dir;
	uid_t uid;
	/* the never-list to apply (policy_socket_never_list for a run);
	 * NULL: none, for tests that build their own trees */
	const struct socket_never *never_list;
	/* the credential deny set (policy_credential_list for a run; NULL:
	 * none) and the caller's environment ("NAME=VALUE", NULL-terminated;
	 * NULL: empty) for the tools' own variables (KUBECONFIG, ...) */
	const struct credential_entry *credentials;
	const char *const *env;
	/* agentbox's own configuration files: none may be writable inside */
	const struct plan_config_file *config_files;
	size_t n_config_files;
	/* this run's state directory, for the walk caches: the deny glob
	 * walk's (plan/glob_cache.h) and the nested-repository scan's
	 * (plan/git_scan_cache.h); NULL: no cache (AGENTBOX_GLOB_CACHE=0) */
	const char *glob_cache_dir;
};

/* Parts of a fresh /proc that stay read-only. A caller who is root keeps
 * uid 0 inside the user namespace, and kernel knobs such as
 * /proc/sys/kernel/hostname check only the file's owner, not capabilities:
 * without this, root inside could rename the host. */
extern const char *const plan_proc_readonly[];
/* Whether `path` is /sys, a /proc knob of plan_proc_readonly, or below
 * one: no policy may make it writable. */
bool plan_is_kernel_knob(const char *path);

int plan_resolve(const ab_policy *policy, const struct plan_context *ctx,
		 struct plan *out, ab_error *err);
void plan_free(struct plan *plan);

/* Effective access at `path` under the plan's nodes: the most specific node
 * that is `path` or an ancestor; ties go to none > write > read. Returns 0
 * when nothing covers the path (invisible). `skip` is a node index to
 * ignore, or -1. */
int plan_access_at(const struct plan *plan, const char *path, int skip);
/* The node that decides plan_access_at (the rule to name when saying why
 * a path is writable), or -1. */
int plan_node_at(const struct plan *plan, const char *path, int skip);

/* The socket nodes (plan/sockets.c): NODE_SOCKET and NODE_SOCKET_ALLOW.
 * A backend that cannot hide a socket from connect(2) (Landlock) treats
 * them as absent: plan_access_at as if they were not there. */
bool plan_node_is_socket(const struct plan_node *n);
int plan_access_at_without_sockets(const struct plan *plan, const char *path, int skip);

void plan_add_warning(struct plan *plan, const char *code, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Whether the plan has a warning with this code. */
bool plan_has_warning(const struct plan *plan, const char *code);

/* Internal steps of plan_resolve, one file each. */
int plan_add_node(struct plan *plan, const char *path, ab_access access,
		  enum node_source source, const char *why, ab_error *err);
/* As plan_add_node for a path the caller has just looked at (lstat: not a
 * link) and must protect as such: if its canonical form now differs (a
 * symbolic link was swapped in meanwhile, so the node would land on the
 * link's target and leave the real file to the rules around it), the run
 * is refused with EBUSY naming both. */
int plan_add_node_exact(struct plan *plan, const char *path, ab_access access,
			enum node_source source, const char *why, ab_error *err);
int plan_find_node(const struct plan *plan, const char *path);
/* Where creating a missing path is stopped: its shallowest missing
 * component `first_missing`, or above it the shallowest empty placeholder
 * of another run in a writable area (blocking that same path again, so
 * that runs in parallel and the leftovers of a killed one agree on it and
 * adopt it, and no run makes a placeholder inside another's). Returns
 * the path (owned by the caller). */
char *plan_blocking_point(const struct plan *plan, const char *first_missing);
int protected_add_nodes(struct plan *plan, const ab_policy *policy,
			const struct plan_context *ctx, ab_error *err);
int plan_add_pins(struct plan *plan, ab_error *err);
int plan_add_socket_nodes(struct plan *plan, const ab_policy *policy,
			  const struct plan_context *ctx, ab_error *err);
/* The credential deny set (plan/credentials.c): after every rule, before
 * the socket nodes. */
int plan_add_credential_nodes(struct plan *plan, const ab_policy *policy,
			      const struct plan_context *ctx, ab_error *err);
void plan_credentials_free(struct plan *plan);
void plan_add_note(struct plan *plan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --git commit (plan/git_commit.c): makes `gitdir` writable except what
 * git trusts (hooks, config, info/, pointer files, the same in
 * modules/ and worktrees/), which stays read-only and, where git reads
 * it, cannot be created. `widen`: make gitdir itself writable (a git
 * dir named by a pointer file, outside the writable root); otherwise it
 * lies in one already. Returns 1 when done, 0 when a rule of the user's
 * decides that path (left alone), -errno on error. */
int git_commit_open_dir(struct plan *plan, const char *gitdir, const char *why, bool widen,
			ab_error *err);
/* Whether `dir` looks like a git directory (HEAD, objects/ and refs/, or
 * a commondir file): commit mode makes only such a directory writable. */
bool git_dir_looks_valid(const char *dir);
void plan_add_git_repo(struct plan *plan, const char *worktree, const char *gitdir,
		       const char *commondir, bool writable);
int plan_add_config_files(struct plan *plan, const struct plan_context *ctx, ab_error *err);
/* Turns one policy entry into an absolute path (not canonical), or NULL
 * when the special path does not apply on this host (unset $TMPDIR, no
 * /tmp). */
struct policy_entry;
int plan_entry_path(const struct policy_entry *e, const struct plan_context *ctx,
		    char **out, ab_error *err);
/* Rules whose directory `agentbox run` creates (--write-create, --cache;
 * plan/create_rules.c): refused inside a hidden or protected area, on a
 * protected name, or where a stronger rule decides the path itself. */
int plan_check_create_rules(struct plan *plan, const ab_policy *policy,
			    const struct plan_context *ctx, ab_error *err);
int plan_order_ops(struct plan *plan, ab_error *err);
/* After the node ops (plan/git_exclude.c): each known repository whose
 * worktree gets file placeholders has its info/exclude covered with a
 * copy that also ignores them, so that git inside does not see (or
 * commit) them. Nothing on the host changes. */
void plan_add_git_excludes(struct plan *plan);
/* The patterns of info/exclude (anchored at the worktree's top) that
 * ignore exactly `rel`, a path relative to it; NULL when no pattern can
 * say it (a newline in the name). Exposed for the unit tests. */
char *git_exclude_pattern(const char *rel);

/* A run without a fresh /proc (the host refused one): drops the /proc
 * operations and clears mount_proc. */
void plan_drop_proc(struct plan *plan);

const char *plan_op_name(enum plan_op_kind kind);
const char *plan_node_source_name(enum node_source s);

/* Human table and JSON object (without the backend part). */
/* host_proc: the backend has no PID namespace (Landlock), so the command
 * sees the host's /proc whatever the plan says. */
void plan_print_table(const struct plan *plan, bool host_proc, FILE *out);
/* The operations a namespace backend performs, numbered, in order. */
void plan_print_ops(const struct plan *plan, const bool *skip_op, FILE *out);
void plan_append_json(const struct plan *plan, struct sbuf *b);

#endif
