/* Is agentbox's own binary out of the sandboxed command's reach?
 *
 * A command that can rewrite the agentbox executable, rename a directory
 * on the way to it, or rewrite a shared object it runs, replaces the
 * sandbox of every later run: the next `agentbox run` would execute the
 * command's program, unsandboxed. bwrap_locate refuses a bubblewrap in
 * such a place for the same reason; this is the check for agentbox itself.
 *
 * It asks the resolved plan, so --read/--deny sub-paths and protected
 * names count, and it is the same for every backend: each enforces at most
 * what the plan allows (Landlock only ever narrows it). */
#ifndef AB_RUN_SELF_CHECK_H
#define AB_RUN_SELF_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "agentbox.h"
#include "common/util.h"
#include "plan/plan.h"

enum self_verdict {
	SELF_NOT_WRITABLE, /* nothing agentbox runs from is writable inside */
	SELF_REFUSED,      /* writable (or unverifiable): run refuses, exit 125 */
	SELF_ACCEPTED,     /* writable, run goes on with a warning */
};

struct self_check {
	enum self_verdict verdict;
	char *exe;          /* canonical path of the executable; NULL when unknown */
	size_t n_files;     /* files checked: the executable and the shared objects it maps */
	/* Set unless SELF_NOT_WRITABLE: */
	char *file;         /* the file at risk (the executable or a shared object), or NULL */
	char *writable;     /* what is writable inside: `file`, or a directory on its way */
	char *writable_root; /* the plan node that makes `writable` writable, or NULL */
	char *rule;         /* that node's reason, as explain prints it */
	char *reason;       /* one line: what is at risk and why */
	const char *fix;    /* one line starting "fix: " */
	const char *accepted_by; /* SELF_ACCEPTED: "--allow-writable-self" or "full-access" */
};

/* Checks `files` (canonical paths, the executable first). When some of
 * what agentbox runs could not be listed (n may then be 0), `unknown_why`
 * says why and, if nothing else is at risk, is the reason to refuse, with
 * `unknown_fix` (static text) as the fix. Pure apart from stat(2) and
 * statvfs(2) on the files. */
void self_check_files(const struct plan *plan, const char *const *files, size_t n,
		      const char *unknown_why, const char *unknown_fix, bool allow,
		      struct self_check *out);

/* The same for this process: `exe` is realpath(/proc/self/exe) or NULL;
 * the shared objects come from /proc/self/maps. Both are trusted only
 * when /proc is procfs: a tmpfs there could name any file. */
void self_check_run(const struct plan *plan, const char *exe, bool allow, struct self_check *out);

void self_check_free(struct self_check *c);

/* SELF_REFUSED: the error that stops the run (message, then the fix). */
int self_check_refusal(const struct self_check *c, ab_error *err);
/* SELF_ACCEPTED: the warning's one line. */
char *self_check_warning(const struct self_check *c);

/* ,"self":{...} for the posture and explain --json. */
void self_check_append_json(const struct self_check *c, sbuf *b);
/* One or two lines for explain. */
void self_check_print(const struct self_check *c, FILE *out);

#endif
