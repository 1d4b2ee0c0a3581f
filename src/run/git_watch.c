/* Before and after a run, for git (git_watch.h). */
#include "run/git_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Subcommands that write under .git (index, refs, objects, logs). */
static const char *const writing_subcommands[] = {
	"add", "am", "branch", "checkout", "cherry-pick", "commit", "fetch", "gc", "init",
	"merge", "mv", "notes", "pull", "rebase", "repack", "reset", "restore", "revert",
	"rm", "stash", "switch", "tag", "update-index", "update-ref", "worktree", NULL,
};

/* Options of git itself that take the next word as their value. */
static bool takes_value(const char *opt)
{
	return strcmp(opt, "-C") == 0 || strcmp(opt, "-c") == 0 || strcmp(opt, "--git-dir") == 0 ||
	       strcmp(opt, "--work-tree") == 0 || strcmp(opt, "--namespace") == 0;
}

static bool is_git(const char *word)
{
	const char *base = strrchr(word, '/');
	return strcmp(base ? base + 1 : word, "git") == 0;
}

/* In words[from..n): the subcommand after git's own options, when it
 * writes. */
static const char *subcommand_at(char *const *words, size_t n, size_t from)
{
	for (size_t i = from; i < n; i++) {
		if (words[i][0] == '-') {
			i += takes_value(words[i]);
			continue;
		}
		for (size_t k = 0; writing_subcommands[k]; k++)
			if (strcmp(words[i], writing_subcommands[k]) == 0)
				return writing_subcommands[k];
		return NULL;
	}
	return NULL;
}

/* A shell command string, split at blanks and shell operators (quotes
 * are not interpreted: a heuristic). */
static const char *in_shell_string(const char *text)
{
	strv words = {0};
	_cleanup_free_ char *copy = xstrdup(text);
	for (char *save = NULL, *w = strtok_r(copy, " \t\n;&|()`", &save); w;
	     w = strtok_r(NULL, " \t\n;&|()`", &save))
		strv_push(&words, w);
	const char *found = NULL;
	for (size_t i = 0; i < words.n && !found; i++)
		if (is_git(words.v[i]))
			found = subcommand_at(words.v, words.n, i + 1);
	strv_free(&words);
	return found;
}

const char *git_writing_subcommand(char *const argv[])
{
	if (!argv || !argv[0])
		return NULL;
	size_t n = 0;
	while (argv[n])
		n++;
	if (is_git(argv[0]))
		return subcommand_at(argv, n, 1);
	for (size_t i = 1; i < n; i++)
		if (strstr(argv[i], "git")) {
			const char *s = in_shell_string(argv[i]);
			if (s)
				return s;
		}
	return NULL;
}

static bool has_commondir(const char *gitdir)
{
	_cleanup_free_ char *p = path_join(gitdir, "commondir");
	struct stat st;
	return lstat(p, &st) == 0;
}

void git_watch_start(struct git_watch *w, const struct plan *plan)
{
	memset(w, 0, sizeof(*w));
	if (plan->git != AB_GIT_COMMIT || !plan->n_git_repos)
		return;
	w->n = plan->n_git_repos;
	w->before = xcalloc(w->n, sizeof(*w->before));
	w->had_commondir = xcalloc(w->n, sizeof(*w->had_commondir));
	for (size_t i = 0; i < w->n; i++) {
		const struct plan_git_repo *g = &plan->git_repos[i];
		git_refs_read(g->gitdir, g->commondir, &w->before[i]);
		w->had_commondir[i] = has_commondir(g->gitdir);
	}
}

/* A main git dir that gained a commondir file: git would take another
 * directory's config and hooks for this repository's. Removed, by the
 * git dir's fd, whatever it is but a directory (git refuses one anyway). */
static void undo_commondir(const char *gitdir, const struct events *ev)
{
	_cleanup_free_ char *p = path_join(gitdir, "commondir");
	int fd = open(gitdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	bool removed = fd >= 0 && fstatat(fd, "commondir", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       !S_ISDIR(st.st_mode) && unlinkat(fd, "commondir", 0) == 0;
	int e = errno;
	if (fd >= 0)
		close(fd);
	_cleanup_free_ char *msg = removed
		? xasprintf("the command created %s, which would make git use another directory's config and hooks for this repository; agentbox removed it",
			    p)
		: xasprintf("the command created %s, which would make git use another directory's config and hooks for this repository, and agentbox could not remove it (%s); remove it before running git there",
			    p, strerror(e));
	events_warning(ev, "git_commondir_created", p, msg);
}

/* A rebase or cherry-pick left in progress: its todo list is the
 * command's, and `git rebase --continue` on the host runs the `exec`
 * lines in it. Said, not undone (the user may want to continue). */
static void warn_sequencer(const char *gitdir, const struct events *ev)
{
	static const char *const states[] = {"rebase-merge", "rebase-apply", "sequencer", NULL};
	for (size_t i = 0; states[i]; i++) {
		_cleanup_free_ char *p = path_join(gitdir, states[i]);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		_cleanup_free_ char *msg = xasprintf(
			"the command left %s (a rebase or cherry-pick in progress); its todo list was written in the sandbox and continuing it on the host runs the commands (exec lines) it holds: read it first, or abort with git rebase --abort / git cherry-pick --abort",
			p);
		events_warning(ev, "git_operation_in_progress", p, msg);
	}
}

static void finish_commit(struct git_watch *w, const struct plan *plan, const struct events *ev,
			  sbuf *fields)
{
	sbuf list = {0};
	bool first = true, truncated = false;
	size_t room = GIT_REFS_EVENT_MAX, changed = 0;
	sbuf_add(&list, "");
	for (size_t i = 0; i < w->n; i++) {
		const struct plan_git_repo *g = &plan->git_repos[i];
		/* refs under a common dir are read once, with its first repo */
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen = seen || strcmp(plan->git_repos[k].commondir, g->commondir) == 0;
		struct git_refs after;
		git_refs_read(g->gitdir, seen ? NULL : g->commondir, &after);
		if (seen) { /* compare HEAD only */
			struct git_refs head = {0};
			for (size_t k = 0; k < w->before[i].n; k++)
				if (strcmp(w->before[i].v[k].name, "HEAD") == 0)
					head = (struct git_refs){.v = &w->before[i].v[k], .n = 1};
			changed += git_refs_diff_json(g->gitdir, &head, &after, &list, &first, &room);
		} else {
			changed += git_refs_diff_json(g->gitdir, &w->before[i], &after, &list, &first, &room);
		}
		truncated |= w->before[i].truncated || after.truncated;
		git_refs_free(&after);
		if (!w->had_commondir[i] && strcmp(g->gitdir, g->commondir) == 0 && has_commondir(g->gitdir))
			undo_commondir(g->gitdir, ev);
		warn_sequencer(g->gitdir, ev);
	}
	sbuf_addf(fields, ",\"git\":\"commit\",\"git_refs\":[%s]", list.s);
	if (changed > GIT_REFS_EVENT_MAX)
		sbuf_addf(fields, ",\"git_refs_changed\":%zu", changed);
	if (truncated || changed > GIT_REFS_EVENT_MAX)
		sbuf_add(fields, ",\"git_refs_truncated\":true");
	sbuf_free(&list);
}

void git_watch_finish(struct git_watch *w, const struct plan *plan, char *const argv[],
		      int status, const struct events *ev, bool quiet, sbuf *fields)
{
	if (plan->git == AB_GIT_COMMIT) {
		if (w->n)
			finish_commit(w, plan, ev, fields);
		else
			sbuf_add(fields, ",\"git\":\"commit\",\"git_refs\":[]");
	} else {
		sbuf_add(fields, ",\"git\":\"protect\"");
		const char *sub = status != 0 && plan->n_git_repos ? git_writing_subcommand(argv) : NULL;
		if (sub) {
			sbuf_add(fields, ",\"git_hint\":\"--git commit\"");
			if (!quiet)
				fprintf(stderr,
					"agentbox: `git %s` failed; .git is read-only in this run (--git protect, the default). To let the command commit, run with --git commit (hooks and config stay read-only) or set \"git\": \"commit\" in the policy file\n",
					sub);
		}
	}
	for (size_t i = 0; i < w->n; i++)
		git_refs_free(&w->before[i]);
	free(w->before);
	free(w->had_commondir);
	memset(w, 0, sizeof(*w));
}
