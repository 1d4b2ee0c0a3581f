/* The Landlock backend: enforces a plan without namespaces.
 *
 * Landlock grants rights per file hierarchy and only ever adds them: a rule
 * on a directory covers everything beneath it and nothing can be taken
 * back further down. Plans that narrow access below a wider rule (a
 * read-only .git inside a writable workspace, a hidden ~/.ssh under a
 * readable home) are therefore turned into the closest rule set that never
 * grants more than the plan: the wider rule is pushed down onto each
 * existing sibling entry along the way, and the directory itself keeps
 * only what is safe for all of it. What that refuses is listed as
 * "narrowings" so the posture says so.
 *
 * landlock_rules.c computes the rules (pure, apart from listing
 * directories through a callback); landlock.c talks to the kernel. */
#ifndef AB_BACKEND_LANDLOCK_H
#define AB_BACKEND_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentbox.h"
#include "backend/landlock/cgroup.h"
#include "common/util.h"
#include "plan/plan.h"

/* Our own copies of the uapi values: /usr/include/linux/landlock.h on the
 * build host may predate the running kernel (Debian 12 ships ABI 2). The
 * values are kernel ABI and never change. */
#define LL_FS_EXECUTE     (1ULL << 0)
#define LL_FS_WRITE_FILE  (1ULL << 1)
#define LL_FS_READ_FILE   (1ULL << 2)
#define LL_FS_READ_DIR    (1ULL << 3)
#define LL_FS_REMOVE_DIR  (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR   (1ULL << 6)
#define LL_FS_MAKE_DIR    (1ULL << 7)
#define LL_FS_MAKE_REG    (1ULL << 8)
#define LL_FS_MAKE_SOCK   (1ULL << 9)
#define LL_FS_MAKE_FIFO   (1ULL << 10)
#define LL_FS_MAKE_BLOCK  (1ULL << 11)
#define LL_FS_MAKE_SYM    (1ULL << 12)
#define LL_FS_REFER       (1ULL << 13) /* ABI 2 */
#define LL_FS_TRUNCATE    (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV   (1ULL << 15) /* ABI 5 */

#define LL_NET_BIND_TCP    (1ULL << 0) /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)

#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL        (1ULL << 1)

/* landlock_restrict_self() flags, ABI 7: denials of the command (after our
 * exec) are audited only when asked for. */
#define LL_RESTRICT_LOG_NEW_EXEC_ON (1U << 1)

#define LL_FS_READ (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)
#define LL_FS_MAKE_ALL (LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | \
			LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM)
#define LL_FS_ALL ((1ULL << 16) - 1)
/* The only rights the kernel accepts in a rule on a non-directory. */
#define LL_FS_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | \
			   LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

/* What a path was when the rules were computed: the plan's resolution for
 * a plan node, the listing's for an entry a rule was pushed down to. The
 * ruleset is built on what the path holds then, checked to be the same
 * file (landlock.c), so a swap during start-up refuses the run. */
struct ll_id {
	bool have;
	dev_t dev;
	ino_t ino;
};

struct ll_rule {
	char *path;
	uint64_t access;
	bool is_dir;
	struct ll_id id;
};

/* An operation the plan allows that this rule set refuses. */
struct ll_narrowing {
	const char *code; /* "no_create", "no_list", "entries_read_only", ... */
	char *path;
	char *message;    /* one line, says why */
};

struct ll_rules {
	struct ll_rule *rules;
	size_t n_rules, cap_rules;
	struct ll_narrowing *narrowings;
	size_t n_narrowings, cap_narrowings;
};

enum ll_entry_kind { LL_ENTRY_DIR, LL_ENTRY_FILE, LL_ENTRY_SKIP };

struct ll_entry {
	char *name;
	enum ll_entry_kind kind; /* SKIP: symbolic links (Landlock checks their target) */
	struct ll_id id;         /* as listed (have: false when the lister knows none) */
};

/* Lists the entries of `dir` (without . and ..) into a malloc'd array. */
typedef int (*ll_lister)(const char *dir, struct ll_entry **out, size_t *n, void *user,
			 ab_error *err);

/* The default lister: opendir and lstat. */
int landlock_list_dir(const char *dir, struct ll_entry **out, size_t *n, void *user,
		      ab_error *err);
void landlock_entries_free(struct ll_entry *e, size_t n);

/* Rules for `plan` with the filesystem rights in `handled` (what the
 * kernel's ABI knows). Directories are listed with `list` (NULL: the
 * default). */
int landlock_rules_compute(const struct plan *plan, uint64_t handled, ll_lister list, void *user,
			   struct ll_rules *out, ab_error *err);
void landlock_rules_free(struct ll_rules *r);
void landlock_rules_add(struct ll_rules *r, const char *path, uint64_t access, bool is_dir);
/* The same for a path whose identity is known (NULL: not known). */
void landlock_rules_add_id(struct ll_rules *r, const char *path, uint64_t access, bool is_dir,
			   const struct ll_id *id);
void landlock_add_narrowing(struct ll_rules *r, const char *code, const char *path,
			    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* What the rules give at `path`: the union of the rules on it and on its
 * ancestors. */
uint64_t landlock_rules_access_at(const struct ll_rules *r, const char *path);

/* ---- the kernel side (landlock.c) ---- */

struct ll_features {
	int abi;               /* 0: no Landlock */
	uint64_t fs;           /* handled filesystem rights */
	uint64_t net;          /* handled TCP rights (0 with --net full or ABI < 4) */
	uint64_t scoped;       /* IPC scopes */
	uint32_t restrict_flags;
};

/* The kernel's Landlock ABI version (>= 1), or -errno with err saying
 * precisely why there is none. */
int landlock_abi(ab_error *err);

/* What this ABI can enforce for a run with network `net`. */
void landlock_features_for(int abi, ab_net net, struct ll_features *f);

/* Limits of what Landlock enforces at this ABI, compared with the plan:
 * appended to r as narrowings (rights the kernel cannot grant) or to
 * `gaps` as human lines (things it cannot refuse). */
void landlock_note_abi_limits(const struct ll_features *f, const struct plan *plan,
			      struct ll_rules *r, strv *gaps);

/* Creates the ruleset fd (close-on-exec) from the rules. */
int landlock_build_ruleset(const struct ll_rules *rules, const struct ll_features *f,
			   ab_error *err);

/* Adds a rule for the file open at `fd` itself (its inode, not a path a
 * racing process could redirect): the command's own terminal. */
int landlock_add_fd_rule(int rfd, int fd, uint64_t access, const char *what, ab_error *err);

/* The inner stage enforces the ruleset: inner/landlock_enforce.h. */

struct supervise_request;

/* Everything the Landlock backend decides before anything runs, so that
 * the posture can be announced and refused (--exact, --require) first. */
struct landlock_prep {
	struct ll_features feat;
	struct ll_rules rules;
	strv gaps;       /* what this ABI cannot refuse that the plan would */
	strv limits;     /* what Landlock never does that the mount backends do */
	char *tmpdir;    /* fresh per-run TMPDIR (removed after the run), or NULL */
	bool tmpdir_created; /* false for explain: tmpdir is only the pattern */
	dev_t tmp_dev;       /* its identity, checked before it is removed */
	ino_t tmp_ino;
	char *tmp_record;    /* its record's name in the state dir, or NULL */
	bool broker;     /* the kernel has what the broker needs (broker.h) */
	struct ll_cgroup cgroup; /* the run's own cgroup, or why none (cgroup.h) */
	bool prepared;
};

/* ---- the per-run TMPDIR (tmpdir.c) ---- */

/* Removes what earlier runs of this user left (agentbox killed with -9):
 * only recorded directories of runs that are gone, still ours. */
void landlock_tmpdir_sweep(void);
/* Makes the fresh TMPDIR in `base` and records it (lp->tmpdir...). */
int landlock_tmpdir_make(const char *base, struct landlock_prep *lp, ab_error *err);
/* Removes it, whatever the command left in it, and its record; when that
 * fails it says so on stderr and the record stays for the next run. */
void landlock_tmpdir_remove(struct landlock_prep *lp);

/* Queries the ABI and computes the rules; fails with the precise reason
 * when the kernel has no Landlock. With `exact`, refuses a plan Landlock
 * can only narrow, listing what would be refused. Creates the per-run
 * TMPDIR (only names it unless for_run) when the plan's writable temporary directory loses its MAKE
 * rights to a protected name in it. */
int landlock_prepare(const struct plan *plan, bool exact, bool for_run, struct landlock_prep *lp,
		     ab_error *err);
void landlock_prep_free(struct landlock_prep *lp);
/* True when the filesystem is enforced exactly as the plan says. */
bool landlock_prep_exact(const struct landlock_prep *lp);
/* The posture's Landlock parts, as JSON members (no braces, leading
 * comma) and as text lines. */
void landlock_append_posture_json(sbuf *b, const struct landlock_prep *lp);
/* One line on stderr at the start of a run that this backend narrows
 * (nothing when it enforces the plan exactly), because the command's
 * "Permission denied" would otherwise have no visible cause; a warning,
 * so the caller leaves it out under quiet (backend ops.c). */
void landlock_print_notice(const struct landlock_prep *lp, FILE *out);
void landlock_print_posture(const struct landlock_prep *lp, FILE *out);
/* The "processes:" line(s) of the posture (cgroup.h). */
void landlock_print_processes(const struct landlock_prep *lp, FILE *out);

/* Runs the command under the prepared rules, without namespaces. */
int supervise_landlock(const struct supervise_request *req, int *exit_status, ab_error *err);

#endif
