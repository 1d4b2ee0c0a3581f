/* agentbox: run an AI agent's commands under a filesystem + network policy.
 *
 * The CLI (`agentbox`) is a thin client of this library. The pipeline is
 *   policy (what the user asked for) -> plan (what the kernel must do)
 *   -> backend (who builds the sandbox) -> inner stage (last steps, exec).
 *
 * Linking: `cc prog.c $(pkg-config --cflags --libs agentbox)` (shared), or
 * `cc -static prog.c $(pkg-config --static --cflags --libs agentbox)`.
 * examples/run_true.c is a complete program.
 *
 * Errors. Every function that can fail returns 0 on success or a negative
 * errno and fills an ab_error with a message that says what failed, on
 * which path, why and what the user can do. `err` is never NULL: the caller
 * owns the ab_error (usually on its stack); it is only written to.
 *
 * Pointers. Unless a comment says otherwise, every pointer argument is
 * borrowed for the duration of the call only: the library copies what it
 * keeps (strings, argv, paths) and never frees, modifies or retains the
 * caller's memory. Strings it returns (the *_name functions) are static
 * and must not be freed. The objects the library allocates for the
 * caller are the ab_policy (ab_policy_new / ab_policy_free) and the
 * ab_child of a started run (ab_start / ab_child_free).
 *
 * Threads. Functions may be called from several threads at once as long as
 * no ab_policy is changed while another thread uses it: ab_run, ab_start
 * and ab_explain only read the policy, the options and argv, so several
 * runs may share them. The library keeps no global state between runs;
 * what a run does to the process as a whole is listed at ab_run, and what
 * a started run adds at ab_start.
 *
 * Out of memory. The policy functions return -ENOMEM (ab_policy_new NULL)
 * when an allocation fails, and leave the policy as it was before the
 * call. ab_explain returns -ENOMEM (what it printed so far stays printed),
 * and so do ab_run and ab_start while they check and plan the run, before
 * anything is started (the options, the working directory, the policy's
 * resolution into a plan, the self check): at worst the memory the failed
 * step had already allocated is lost. Setting up the run's events (a few
 * hundred bytes) and everything from the choice of a backend on -- a
 * process tree that is half built (child processes, placeholders on disk,
 * blocked signals, the proxy's threads) that cannot be unwound safely --
 * still end the process on an allocation failure: "agentbox: out of
 * memory: ..." on stderr naming the size, then abort(). A sandbox already
 * started dies with it: a namespace backend's PID 1 is tied to the
 * caller's life, and the Landlock backend's reaper kills the command and
 * everything it started when its parent dies. That part's memory use is
 * bounded by the policy's size and a few MiB for the network proxy.
 *
 * The inner stage. The bubblewrap backend re-executes the calling program
 * (/proc/self/exe) inside the sandbox as
 *     PROGRAM __inner [OPTIONS] -- COMMAND [ARG...]
 * (AB_INNER_ARG) and that process must run ab_inner_main, not the
 * program's own main. With glibc libagentbox does this by itself: an ELF
 * constructor in the library sees argv[1] == AB_INNER_ARG and calls
 * ab_inner_main before main() (and before the program's own constructors
 * when it links the shared library). A program built with another C
 * library must do it as the first thing in main():
 *     if (argc > 1 && strcmp(argv[1], AB_INNER_ARG) == 0)
 *             return ab_inner_main(argc - 1, argv + 1);
 * In either case a program that links libagentbox cannot use "__inner" as
 * its own first argument. The program's binary and the shared objects it
 * loads (libagentbox.so among them) must be readable inside the sandbox
 * the bubblewrap backend builds; a policy without :root should read
 * :minimal and the directory the program is installed in.
 */
#ifndef AGENTBOX_H
#define AGENTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function of this header, and nothing else, is exported by
 * libagentbox (the library is built with -fvisibility=hidden; see
 * meson.build for how the static archive hides the rest as well). */
#if defined(__GNUC__) || defined(__clang__)
#define AB_EXPORT __attribute__((visibility("default")))
#else
#define AB_EXPORT
#endif

#define AB_VERSION "0.1.0"

/* The first argument that makes a program the inner stage (see above). */
#define AB_INNER_ARG "__inner"

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

/* What the command may do in the git directories under writable roots
 * (README.md, "Git"): PROTECT keeps all of .git read-only (the default);
 * COMMIT makes objects, refs, logs, index and HEAD writable while hooks,
 * config, info/ and pointer files stay read-only and cannot be created. */
typedef enum ab_git_mode {
	AB_GIT_PROTECT = 0,
	AB_GIT_COMMIT = 1,
} ab_git_mode;

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

/* Static strings; never NULL ("?" or the default for unknown values). */
AB_EXPORT const char *ab_access_name(ab_access a);
AB_EXPORT const char *ab_net_name(ab_net n);
AB_EXPORT const char *ab_backend_name(ab_backend b);
/* "auto", "bwrap", "builtin" or "landlock"; returns -EINVAL for anything
 * else (then *out is unchanged). Takes no ab_error. */
AB_EXPORT int ab_backend_parse(const char *name, ab_backend *out);
/* A feature name for --require ("userns", "exact-fs", "net-none", "pid-ns",
 * "landlock", "seccomp") -> its AB_REQUIRE_ bit; -EINVAL if unknown. */
AB_EXPORT int ab_require_parse(const char *name, unsigned *bit);
/* The valid feature names, comma separated, for messages (static). */
AB_EXPORT const char *ab_require_names(void);

/* ---- policy ---------------------------------------------------------- */

/* Opaque. Owned by whoever called ab_policy_new, freed with
 * ab_policy_free; the library keeps no reference to it after a call
 * returns. Not locked: change it from one thread at a time, and not while
 * an ab_run or ab_explain that uses it runs. */
typedef struct ab_policy ab_policy;

/* An empty policy (nothing readable, network none, .git and .agentbox
 * protected), or NULL when out of memory. */
AB_EXPORT ab_policy *ab_policy_new(void);
/* Frees p and everything in it; NULL is allowed. */
AB_EXPORT void ab_policy_free(ab_policy *p);

/* The functions below change p only when they succeed: on any error
 * (-EINVAL for bad input, -ENOMEM, the errno of a failed read) p is as
 * it was before the call. Every string is copied. */

/* "read-only", "workspace-write" or "full-access". Adds entries; later
 * entries for the same path replace earlier ones. */
AB_EXPORT int ab_policy_apply_preset(ab_policy *p, const char *name, ab_error *err);

/* Loads a JSON policy file (docs/policy.md) on top of what is there. */
AB_EXPORT int ab_policy_load_file(ab_policy *p, const char *path, ab_error *err);
/* Same, from a NUL-terminated string; `source` names it in error messages
 * and in the rules' origins (copied). */
AB_EXPORT int ab_policy_load_json(ab_policy *p, const char *text, const char *source,
				  ab_error *err);

/* `path` is absolute, or a special token (:root :minimal :cwd :tmpdir
 * :slash_tmp ~ ~/sub). `origin` says where the rule came from ("--write",
 * "policy.json:3:12") and is shown by `agentbox explain`; NULL = "". */
AB_EXPORT int ab_policy_add_path(ab_policy *p, const char *path, ab_access access,
				 const char *origin, ab_error *err);
/* A writable directory that ab_run creates (mode 0700, without following
 * symbolic links) when it is missing: `path` absolute or ~/...; refused
 * at planning inside a hidden or protected area. Origin "--write-create". */
AB_EXPORT int ab_policy_add_path_create(ab_policy *p, const char *path, ab_error *err);
/* The same for the caches of the package managers in `names`
 * (comma-separated: npm, yarn, pnpm, pip, uv, poetry, cargo, go, maven,
 * gradle, composer, bundler), their paths taken from the tools' own
 * variables in this process's environment. Origin "--cache NAME". */
AB_EXPORT int ab_policy_add_cache(ab_policy *p, const char *names, ab_error *err);
/* Adds a protected name (a single path component such as ".git"). */
AB_EXPORT int ab_policy_add_protect(ab_policy *p, const char *name, ab_error *err);
/* Removes a protected name, built-in (docs/policy.md lists them) or added:
 * the path is then what the rules around it say. EINVAL when the name is
 * not protected. */
AB_EXPORT int ab_policy_unprotect(ab_policy *p, const char *name, ab_error *err);
/* Makes one host unix socket reachable inside (--allow-unix; an
 * ssh-agent's $SSH_AUTH_SOCK, a database's socket): the namespace
 * backends bind that very socket in (a symbolic link swapped in later is
 * not followed), also inside a directory of the socket never-list, and
 * one on the never-list itself only by its exact path, with a warning in
 * the posture. EINVAL for a relative path; whether PATH is a socket is
 * checked when the run is planned. */
AB_EXPORT int ab_policy_add_allow_unix(ab_policy *p, const char *path, ab_error *err);
/* Keeps one entry of the built-in credential deny set visible inside
 * (--allow-credentials NAME: "ssh", "aws", "npmrc", ... or "all"; README.md,
 * "Credentials"). Without it every entry that exists under $HOME (and
 * where a tool's variable points) is hidden. EINVAL for an unknown name. */
AB_EXPORT int ab_policy_allow_credentials(ab_policy *p, const char *name, ab_error *err);
/* The environment policy (README "Environment"): which of the caller's
 * variables (ab_run_options.envp, or the process's) the command sees.
 * inherit: "all" (the default), "core" or "none". kind: "exclude" or
 * "include_only" (a case-insensitive glob on the name), "keep" (an exact
 * name passed through whatever the other rules and the built-in secret
 * list say) or "set" ("NAME=VALUE", the last value for a name wins).
 * Lists add up. EINVAL for an unknown word or a malformed rule, and for
 * a set of AGENTBOX_*. agentbox's own variables are set after the
 * policy and cannot be removed or overridden by it. */
AB_EXPORT int ab_policy_set_env_inherit(ab_policy *p, const char *inherit, ab_error *err);
AB_EXPORT int ab_policy_add_env_rule(ab_policy *p, const char *kind, const char *text, ab_error *err);
/* Nested repositories: how many directory levels below each writable root
 * are searched for .git (default 4, 0 = the root's own .git only, at most
 * 32), and whether a search that reaches its bound of entries or time may
 * go on protecting only what it found (partial) instead of refusing the
 * run. EINVAL when depth is out of range. */
AB_EXPORT int ab_policy_set_git_scan_depth(ab_policy *p, int depth, ab_error *err);
AB_EXPORT void ab_policy_set_git_scan_partial(ab_policy *p, bool partial);
/* Deny globs (README "Deny globs"): an absolute pattern (`*`, `?`,
 * `[...]`, `**` for any number of directories, `\` escapes) whose matches
 * are hidden as by a deny rule, found by one bounded walk when the run is
 * planned; a path taken back out of every match at or below it
 * (--allow-read); whether a walk that reaches its bound may hide only what
 * it found instead of refusing the run; the built-in secret set under the
 * working directory (on by default); and the walk's bounds (directory
 * levels, entries, milliseconds). EINVAL for a relative or malformed
 * pattern or path, or a bound out of range. */
AB_EXPORT int ab_policy_add_deny_glob(ab_policy *p, const char *pattern, ab_error *err);
AB_EXPORT int ab_policy_allow_read(ab_policy *p, const char *path, ab_error *err);
AB_EXPORT void ab_policy_set_glob_partial(ab_policy *p, bool partial);
AB_EXPORT void ab_policy_set_default_secret_globs(ab_policy *p, bool on);
AB_EXPORT int ab_policy_set_glob_limits(ab_policy *p, int depth, long entries, int ms,
					ab_error *err);
AB_EXPORT void ab_policy_set_network(ab_policy *p, ab_net net);
AB_EXPORT ab_net ab_policy_network(const ab_policy *p);
/* --git protect|commit, "git": "protect"|"commit". */
AB_EXPORT void ab_policy_set_git(ab_policy *p, ab_git_mode mode);
AB_EXPORT ab_git_mode ab_policy_git(const ab_policy *p);
/* "protect" or "commit" -> *out; -EINVAL for anything else. */
AB_EXPORT int ab_git_mode_parse(const char *name, ab_git_mode *out);
AB_EXPORT const char *ab_git_mode_name(ab_git_mode mode);
/* Adds a destination pattern for the proxy (--allow-domain, --deny-domain;
 * syntax in docs/policy.md): example.com, *.example.com, **.example.com,
 * * (allow only), IP literals, each with an optional :PORT or :LO-HI.
 * Deny wins over allow. Invalid patterns are errors quoting the text. */
AB_EXPORT int ab_policy_add_domain(ab_policy *p, const char *pattern, bool allow,
				   ab_error *err);

/* ---- running ---------------------------------------------------------- */

/* Receives each event as one JSON object without the newline. `json` is
 * the library's, valid only during the call. */
typedef void (*ab_event_fn)(const char *json, void *user);

/* Options of one run. Initialise with ab_run_options_init, then set what
 * you need. New versions of this header only append fields: a program
 * built against an older (smaller) ab_run_options keeps working with a
 * newer library, which gives the fields it does not know their defaults.
 * A larger size than the library knows (a program built against a newer
 * header) is refused with -EINVAL and a message, as is a size of 0 (the
 * options were not initialised).
 *
 * Every pointer here is borrowed: the caller owns the strings, the fds
 * and event_user, and they must stay valid until ab_run returns (for
 * ab_start: until ab_child_wait or ab_child_free returns); the library
 * closes none of the fds. */
/* One configuration file or directory of ab_run_options.config_paths. */
typedef struct ab_config_path {
	const char *path; /* absolute */
	const char *role; /* named by explain and errors: "project file" */
	bool block;
} ab_config_path;

typedef struct ab_run_options {
	/* sizeof(ab_run_options) as the caller was compiled; set by
	 * ab_run_options_init, never by hand */
	size_t size;
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
	/* The command's standard input, output and error: fds of the
	 * caller's, duplicated for the command (the caller keeps its own and
	 * closes them when it likes), or -1 for the calling process's own 0,
	 * 1 and 2 (the default). */
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	/* The command's environment, "NAME=VALUE" strings ending in NULL, or
	 * NULL for the calling process's (the default). Borrowed for the
	 * call. It is the base the policy's environment rules filter
	 * (ab_policy_add_env_rule; the built-in secret list drops
	 * secret-looking names by default); agentbox's own variables are set
	 * over the result (AGENTBOX_SANDBOX, AGENTBOX_NETWORK, and with
	 * AB_NET_PROXY the proxy's). */
	char *const *envp;
	/* NULL, or who chose `backend` when it was not the caller's explicit
	 * choice (the CLI sets "AGENTBOX_BACKEND"): named in the start
	 * event's backend_reason and in explain, so that a backend picked by
	 * the environment is never silent. Borrowed for the call. */
	const char *backend_from_env;
	/* The policy file the policy was loaded from, or NULL. Like
	 * approvals_save it must not be writable inside: a run whose plan
	 * makes either writable is refused (EPERM), and each is listed by
	 * explain as "agentbox configuration". Borrowed for the call. (Last:
	 * fields are only ever appended, see `size`.) */
	const char *policy_file;
	/* Further files and directories agentbox reads as its configuration
	 * (the CLI passes the project file it discovered, or the places one
	 * would be found): `block` ones are made read-only, or blocked from
	 * being created when missing, others are refused when writable, like
	 * policy_file. The user configuration directory
	 * ($XDG_CONFIG_HOME/agentbox, else ~/.config/agentbox) is added by
	 * every run without being named here. The library itself discovers
	 * no configuration: the caller's policy is the whole policy.
	 * Borrowed for the call. */
	const ab_config_path *config_paths;
	size_t n_config_paths;
} ab_run_options;

/* Sets every field to its default (events_fd, approvals_fd and the three
 * stdio fds -1, backend AUTO, the rest 0) and `size` to the size the
 * caller was compiled with.
 * Writes only those `size` bytes. */
AB_EXPORT void ab_run_options_init_size(ab_run_options *o, size_t size);
#define ab_run_options_init(o) ab_run_options_init_size((o), sizeof(*(o)))

/* Runs argv (argv[0] the program, searched in the sandbox's PATH; NULL
 * terminated) under the policy. Returns 0 and stores the command's exit
 * status (128+N when killed by signal N, AB_EXIT_TIMEOUT on timeout,
 * 126/127 when it cannot be executed) or a negative errno when the sandbox
 * could not be set up (nothing ran). It returns only when the sandbox is
 * gone: every process in it has ended.
 *
 * The command gets the caller's stdin, stdout and stderr and the caller's
 * environment filtered by the policy's environment rules (plus
 * AGENTBOX_SANDBOX=1 and AGENTBOX_NETWORK), unless the options name other
 * fds (stdin_fd, stdout_fd, stderr_fd) or another environment (envp).
 *
 * Effects on the calling process, for programs with threads:
 *  - SIGHUP, SIGINT, SIGQUIT, SIGTERM and SIGCHLD are blocked in the
 *    calling thread while it runs, read from a signalfd and forwarded to
 *    the command. A signal sent to the process as a whole reaches the
 *    command only if it is not taken by another thread first: block these
 *    signals in the program's other threads, and expect a process-wide ^C
 *    to reach one of several concurrent runs, not each of them.
 *  - The end of the sandbox is learnt from a pidfd and waitpid on its pid,
 *    never from SIGCHLD nor wait(-1). SIGCHLD must not be ignored
 *    (SIG_IGN) and no other code may wait for any child: the kernel or
 *    that code would reap the sandbox, and the run then ends with
 *    AB_EXIT_FAILURE and a message that its status is lost.
 *  - The Landlock backend has no PID namespace to end what the command
 *    leaves behind, so it forks a reaper process of its own (a child
 *    subreaper) that starts the command; when the command ends, or when
 *    the calling process dies, the reaper stops and kills every process
 *    the command left behind, daemonised ones included. The calling
 *    process itself is never made a subreaper: children it starts itself
 *    are not touched, and Landlock runs go side by side with all others.
 *  - With AB_NET_PROXY the soft RLIMIT_NOFILE of the process is raised to
 *    its hard limit, and the proxy runs in threads of ab_run's own.
 *  - In a process that has (had) threads, the built-in backend creates the
 *    sandbox through a short-lived helper forked with fork(), so that no
 *    malloc, stdio or fork lock another thread holds is copied into it.
 * Any number of threads may call ab_run at the same time, with the same
 * or different policies, working directories and backends. Do not call
 * ab_run, ab_start, ab_child_wait or ab_explain from an on_event callback. */
AB_EXPORT int ab_run(const ab_policy *p, const ab_run_options *o, char *const argv[],
		     int *exit_status, ab_error *err);

/* ---- running without blocking ---------------------------------------- */

/* A run started with ab_start. Opaque; owned by the caller until
 * ab_child_free. One thread at a time per ab_child (ab_child_kill and
 * ab_child_pidfd may be called from any thread while another waits). */
typedef struct ab_child ab_child;

/* Starts argv under the policy as ab_run would and returns without
 * waiting for the command: 0 and *out once the sandbox is set up and the
 * command is being executed, or a negative errno and err when the run
 * could not be set up (nothing runs then, *out is unchanged). Setup
 * failures that ab_run returns are returned here: bad options, the
 * working directory, the policy, --require not met, no usable backend, a
 * sandbox that failed while building itself. (A bwrap backend run counts
 * as set up once bubblewrap has started the sandbox's PID 1; a failure of
 * bwrap after that comes from ab_child_wait.)
 *
 * Ownership: the policy and argv are copied (free or change them when
 * ab_start returns); the options struct is copied, but what it points to
 * (cwd, envp, approvals_save, policy_file, event_user) and its fds (stdio, events,
 * approvals) are the caller's and must stay valid and open until
 * ab_child_wait or ab_child_free returns.
 *
 * Effects on the process, besides ab_run's (listed there): each started
 * run has a thread of the library's, created by ab_start with the
 * caller's signal mask, which runs the blocking path of ab_run -- it
 * blocks SIGHUP, SIGINT, SIGQUIT, SIGTERM and SIGCHLD in itself and reads
 * them from a signalfd, so process-directed signals of these kinds that
 * no other thread takes are forwarded to one of the running commands --
 * and ends when the run has ended. Three fds per run (a pipe and an
 * eventfd, close-on-exec) live until ab_child_free. */
AB_EXPORT int ab_start(const ab_policy *p, const ab_run_options *o, char *const argv[],
		       ab_child **out, ab_error *err);

/* A pollable fd that becomes readable (POLLIN) when the run has ended and
 * ab_child_wait will not block. It is not a pidfd (the command may be a
 * grandchild in another PID namespace): it is an eventfd of the library's.
 * Poll it only; do not read, write or close it. Valid until ab_child_free. */
AB_EXPORT int ab_child_pidfd(const ab_child *c);

/* Sends sig to the command as ab_run forwards SIGTERM and the others: with
 * a namespace backend to the sandbox's PID 1, which relays it to the
 * command's process group (SIGKILL ends the whole sandbox); with Landlock
 * to the command itself. 0 when handed to the run's supervisor, -ESRCH
 * when the run has already ended, -EINVAL for a bad signal number,
 * -EAGAIN when 16384 requests are still pending. Takes no ab_error. */
AB_EXPORT int ab_child_kill(ab_child *c, int sig);

/* Waits for the run to end: then 0 and the command's exit status, or a
 * negative errno and err, exactly as ab_run returns them. May be called
 * again (the same result). */
AB_EXPORT int ab_child_wait(ab_child *c, int *exit_status, ab_error *err);

/* Frees c. After ab_child_wait this only frees; on a run that has not
 * ended it first kills the sandbox (SIGKILL, as ab_child_kill) and waits
 * for its end. NULL is allowed. */
AB_EXPORT void ab_child_free(ab_child *c);

/* Prints the resolved plan and the backend command line to `out` (the
 * caller's; written, not closed). argv may be NULL. */
AB_EXPORT int ab_explain(const ab_policy *p, const ab_run_options *o,
			 char *const argv[], bool json, FILE *out, ab_error *err);

/* Entry point of the inner stage (see "The inner stage" at the top):
 * argv[0] is AB_INNER_ARG. Never returns; the process exits with the
 * command's status, or AB_EXIT_FAILURE with "agentbox: ..." on stderr. */
AB_EXPORT int ab_inner_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
