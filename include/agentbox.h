/* agentbox: run an AI agent's commands under a filesystem + network policy.
 *
 * The CLI (`agentbox`) is a thin client of this library. The pipeline is
 *   policy (what the user asked for) -> plan (what the kernel must do)
 *   -> backend (who builds the sandbox) -> inner stage (last steps, exec).
 *
 * Every function that can fail returns 0 on success or a negative errno and
 * fills an ab_error with a message that says what failed, on which path, why
 * and what the user can do.
 */
#ifndef AGENTBOX_H
#define AGENTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AB_VERSION "0.1.0"

/* Exit codes of the CLI besides the command's own status. */
#define AB_EXIT_TIMEOUT 124  /* --timeout expired; the sandbox was killed */
#define AB_EXIT_FAILURE 125  /* agentbox itself failed; nothing ran */
#define AB_EXIT_CANNOT_EXEC 126
#define AB_EXIT_NOT_FOUND 127

typedef struct ab_error {
	int code;           /* errno value behind the failure, 0 if none */
	char message[2048]; /* one or more lines, no trailing newline */
} ab_error;

/* Tie order matters: at equal path specificity the larger value wins
 * (none beats write beats read). */
typedef enum ab_access {
	AB_ACCESS_READ = 1,
	AB_ACCESS_WRITE = 2,
	AB_ACCESS_NONE = 3,
} ab_access;

/* PROXY: an empty network namespace whose only way out is agentbox's
 * policy proxy (domain rules, then the human for anything no rule covers). */
typedef enum ab_net {
	AB_NET_NONE = 0,
	AB_NET_FULL = 1,
	AB_NET_PROXY = 2,
} ab_net;

/* AUTO: the built-in engine when this host lets agentbox create the
 * namespaces it needs, else the system bubblewrap, else Landlock (no
 * namespaces; some plans narrowed, see the posture), else an error naming
 * every cause. */
typedef enum ab_backend {
	AB_BACKEND_AUTO = 0,
	AB_BACKEND_BWRAP = 1,
	AB_BACKEND_BUILTIN = 2,
	AB_BACKEND_LANDLOCK = 3,
} ab_backend;

/* Posture features a caller can demand (ab_run_options.require). */
#define AB_REQUIRE_USERNS   (1U << 0) /* a namespace backend */
#define AB_REQUIRE_EXACT_FS (1U << 1) /* the filesystem exactly as the plan says */
#define AB_REQUIRE_NET_NONE (1U << 2) /* network actually isolated */
#define AB_REQUIRE_PID_NS   (1U << 3) /* a PID namespace of its own */
#define AB_REQUIRE_LANDLOCK (1U << 4) /* Landlock enforces the filesystem */
#define AB_REQUIRE_SECCOMP  (1U << 5) /* the seccomp filter is installed */

const char *ab_access_name(ab_access a);
const char *ab_net_name(ab_net n);
const char *ab_backend_name(ab_backend b);
/* "auto", "bwrap", "builtin" or "landlock"; returns -EINVAL for anything else. */
int ab_backend_parse(const char *name, ab_backend *out);
/* A feature name for --require ("userns", "exact-fs", "net-none", "pid-ns",
 * "landlock", "seccomp") -> its AB_REQUIRE_ bit; -EINVAL if unknown. */
int ab_require_parse(const char *name, unsigned *bit);
/* The valid feature names, comma separated, for messages. */
const char *ab_require_names(void);

/* ---- policy ---------------------------------------------------------- */

typedef struct ab_policy ab_policy;

ab_policy *ab_policy_new(void);
void ab_policy_free(ab_policy *p);

/* "read-only", "workspace-write" or "full-access". Adds entries; later
 * entries for the same path replace earlier ones. */
int ab_policy_apply_preset(ab_policy *p, const char *name, ab_error *err);

/* Loads a JSON policy file (docs/policy.md) on top of what is there. */
int ab_policy_load_file(ab_policy *p, const char *path, ab_error *err);
/* Same, from a string; `source` names it in error messages. */
int ab_policy_load_json(ab_policy *p, const char *text, const char *source,
			ab_error *err);

/* `path` is absolute, or a special token (:root :minimal :cwd :tmpdir
 * :slash_tmp ~ ~/sub). `origin` says where the rule came from ("--write",
 * "policy.json:3:12") and is shown by `agentbox explain`. */
int ab_policy_add_path(ab_policy *p, const char *path, ab_access access,
		       const char *origin, ab_error *err);
/* Adds a protected name (a single path component such as ".git"). */
int ab_policy_add_protect(ab_policy *p, const char *name, ab_error *err);
void ab_policy_set_network(ab_policy *p, ab_net net);
ab_net ab_policy_network(const ab_policy *p);
/* Adds a destination pattern for the proxy (--allow-domain, --deny-domain;
 * syntax in docs/policy.md): example.com, *.example.com, **.example.com,
 * * (allow only), IP literals, each with an optional :PORT or :LO-HI.
 * Deny wins over allow. Invalid patterns are errors quoting the text. */
int ab_policy_add_domain(ab_policy *p, const char *pattern, bool allow, ab_error *err);

/* ---- running ---------------------------------------------------------- */

/* Receives each event as one JSON object without the newline. */
typedef void (*ab_event_fn)(const char *json, void *user);

typedef struct ab_run_options {
	const char *cwd;      /* sandbox working directory; NULL = current */
	bool no_proc;         /* do not mount a fresh /proc */
	double timeout_sec;   /* 0 = no timeout */
	/* -1 = none; JSON lines are written here. ab_run never waits more
	 * than 100 ms in total per run for its reader: lines that do not fit
	 * in time are dropped, and a last line
	 * {"event":"events_dropped","count":N,...} says how many. The fd's
	 * file status flags (O_NONBLOCK) are never changed, nor is the
	 * process's SIGPIPE disposition: a reader that went away turns the
	 * events off for the rest of the run (one warning on stderr) and
	 * raises no SIGPIPE that reaches the caller. */
	int events_fd;
	ab_backend backend;
	/* Optional, gets the same events. Calls never overlap; with
	 * AB_NET_PROXY the proxy's `network` events arrive on a writer thread
	 * of agentbox's while ab_run runs. A slow callback slows only that
	 * thread, up to 4 MiB of queued events; beyond it events are dropped
	 * and the callback's own last events_dropped line counts them. */
	ab_event_fn on_event;
	void *event_user;
	bool quiet;           /* no warning lines on stderr */
	bool exact;           /* refuse a backend that can only narrow the plan */
	unsigned require;     /* AB_REQUIRE_* the chosen backend must give */
	/* With AB_NET_PROXY: who answers for a destination no rule covers.
	 * Without any channel such destinations are refused. */
	int approvals_fd;     /* -1 = none; one JSON object per line each way */
	bool approvals_tty;   /* ask on agentbox's controlling terminal */
	double approval_timeout_sec; /* 0 = the default (60 s); then deny */
	const char *approvals_save; /* policy file "always" answers go to, or NULL */
	/* Run even when the sandbox could write the program that calls ab_run
	 * (/proc/self/exe), a directory on the way to it, or a shared object
	 * it runs: a replaced copy would run later commands unsandboxed.
	 * Without it such runs fail (EPERM, nothing ran); with it a warning
	 * is emitted and the posture says so. */
	bool allow_writable_self;
} ab_run_options;

void ab_run_options_init(ab_run_options *o);

/* Runs argv under the policy. Returns 0 and stores the command's exit
 * status (128+N when killed by signal N, AB_EXIT_TIMEOUT on timeout,
 * 126/127 when it cannot be executed) or a negative errno when the sandbox
 * could not be set up (nothing ran). While it runs, SIGHUP, SIGINT,
 * SIGQUIT, SIGTERM and SIGCHLD are blocked in the calling thread and
 * forwarded to the command. */
int ab_run(const ab_policy *p, const ab_run_options *o, char *const argv[],
	   int *exit_status, ab_error *err);

/* Prints the resolved plan and the backend command line. */
int ab_explain(const ab_policy *p, const ab_run_options *o,
	       char *const argv[], bool json, FILE *out, ab_error *err);

/* Entry point of the inner stage (agentbox re-executed inside the
 * sandbox). Never returns. */
int ab_inner_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
