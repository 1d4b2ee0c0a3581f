/* The one table of git configuration keys whose values name programs or
 * files (README "Security notes" lists it), and how a value becomes the
 * paths to keep read-only. A key missing here is a way for a command to
 * have the host's git run something it wrote: add it here, with why. */
#include "plan/git_config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"

const struct git_key git_config_keys[] = {
	/* files git reads as configuration, or directories it runs from */
	{"include", NULL, "path", GIT_KEY_INCLUDE, "a configuration file git includes"},
	{"includeif", "*", "path", GIT_KEY_INCLUDE, "a configuration file git includes (conditions are not evaluated: every one counts)"},
	{"core", NULL, "hookspath", GIT_KEY_DIR, "the directory git runs hooks from (and its parent when it ends in /_: husky 9 runs .husky/* from .husky/_)"},
	{"init", NULL, "templatedir", GIT_KEY_DIR, "copied into every new repository, hooks included"},
	{"core", NULL, "attributesfile", GIT_KEY_FILE, "attributes choose the filters and diff drivers git runs"},
	{"core", NULL, "excludesfile", GIT_KEY_FILE, "read by git status and add"},
	{"commit", NULL, "template", GIT_KEY_FILE, "read into every commit message"},
	{"gpg", "ssh", "allowedsignersfile", GIT_KEY_FILE, "the keys git trusts for signatures"},
	/* programs git runs */
	{"core", NULL, "fsmonitor", GIT_KEY_BOOL_OR_COMMAND, "run by git status and most commands"},
	{"core", NULL, "sshcommand", GIT_KEY_COMMAND, "run to fetch and push over ssh"},
	{"core", NULL, "gitproxy", GIT_KEY_COMMAND, "run to reach git:// remotes"},
	{"core", NULL, "pager", GIT_KEY_COMMAND, "run by git log, diff, show"},
	{"core", NULL, "editor", GIT_KEY_COMMAND, "run by git commit"},
	{"core", NULL, "askpass", GIT_KEY_COMMAND, "run when git needs a password"},
	{"sequence", NULL, "editor", GIT_KEY_COMMAND, "run by git rebase -i"},
	{"pager", NULL, "*", GIT_KEY_BOOL_OR_COMMAND, "the pager of one git command"},
	{"alias", NULL, "*", GIT_KEY_BANG_COMMAND, "an alias that starts with ! runs a shell command"},
	{"filter", "*", "clean", GIT_KEY_COMMAND, "run by git add on matching files"},
	{"filter", "*", "smudge", GIT_KEY_COMMAND, "run by git checkout on matching files"},
	{"filter", "*", "process", GIT_KEY_COMMAND, "a long-running filter git starts"},
	{"diff", NULL, "external", GIT_KEY_COMMAND, "run by git diff"},
	{"diff", "*", "textconv", GIT_KEY_COMMAND, "run by git diff and log on matching files"},
	{"diff", "*", "command", GIT_KEY_COMMAND, "run by git diff on matching files"},
	{"merge", "*", "driver", GIT_KEY_COMMAND, "run by git merge on matching files"},
	{"difftool", "*", "cmd", GIT_KEY_COMMAND, "run by git difftool"},
	{"mergetool", "*", "cmd", GIT_KEY_COMMAND, "run by git mergetool"},
	{"interactive", NULL, "difffilter", GIT_KEY_COMMAND, "run by git add -p"},
	{"credential", NULL, "helper", GIT_KEY_HELPER, "run whenever git needs credentials"},
	{"credential", "*", "helper", GIT_KEY_HELPER, "run whenever git needs credentials for a URL"},
	{"gpg", NULL, "program", GIT_KEY_COMMAND, "run to sign and verify"},
	{"gpg", "*", "program", GIT_KEY_COMMAND, "run to sign and verify (openpgp, x509, ssh)"},
	{"sendemail", NULL, "sendmailcmd", GIT_KEY_COMMAND, "run by git send-email"},
	{"uploadpack", NULL, "packobjectshook", GIT_KEY_COMMAND, "run by git upload-pack"},
	{"remote", "*", "uploadpack", GIT_KEY_COMMAND, "run by git fetch from a local remote"},
	{"remote", "*", "receivepack", GIT_KEY_COMMAND, "run by git push to a local remote"},
	{"browser", "*", "cmd", GIT_KEY_COMMAND, "run by git web--browse and help -w"},
	{"browser", "*", "path", GIT_KEY_COMMAND, "run by git web--browse and help -w"},
	{"man", "*", "cmd", GIT_KEY_COMMAND, "run by git help -m"},
	{"man", "*", "path", GIT_KEY_COMMAND, "run by git help -m"},
	{NULL, NULL, NULL, 0, NULL},
};

const struct git_key *git_key_find(const char *key)
{
	const char *dot = strchr(key, '.');
	const char *last = strrchr(key, '.');
	if (!dot)
		return NULL;
	size_t section_len = (size_t)(dot - key);
	bool has_sub = last != dot;
	for (const struct git_key *k = git_config_keys; k->section; k++) {
		if (strlen(k->section) != section_len || strncmp(k->section, key, section_len) != 0)
			continue;
		if (has_sub != (k->sub != NULL))
			continue;
		if (has_sub && strcmp(k->sub, "*") != 0 &&
		    ((size_t)(last - dot - 1) != strlen(k->sub) || strncmp(k->sub, dot + 1, strlen(k->sub)) != 0))
			continue;
		if (strcmp(k->name, "*") == 0 || strcmp(k->name, last + 1) == 0)
			return k;
	}
	return NULL;
}

static int unsafe(const char *key, const char *value, const char *what, ab_error *err)
{
	return ab_fail(err, EINVAL,
		       "git configuration %s = '%s': %s, so agentbox cannot tell which file git would run or read, and refuses to run",
		       key, value, what);
}

/* One path as git spells it: "~/x", "/x", or relative to `rel_base`.
 * Appends nothing for a relative path without a base. */
static int add_path(const char *key, const char *value, const char *word, const char *rel_base,
		    const struct git_key_base *base, strv *out, ab_error *err)
{
	if (strncmp(word, ":(optional)", 11) == 0)
		word += 11;
	if (*word == '\0')
		return 0;
	char *joined;
	if (word[0] == '~') {
		if (word[1] != '/' && word[1] != '\0')
			return unsafe(key, value, "a path starting with ~user is not resolved", err);
		if (!base->home)
			return unsafe(key, value, "a path starting with ~ but $HOME is not known", err);
		joined = xasprintf("%s/%s", base->home, word[1] ? word + 2 : "");
	} else if (strncmp(word, "%(prefix)/", 10) == 0) {
		return unsafe(key, value, "a path relative to git's installation (%(prefix)/) is not resolved", err);
	} else if (word[0] == '/') {
		joined = xstrdup(word);
	} else if (rel_base) {
		joined = path_join(rel_base, word);
	} else {
		return 0;
	}
	strv_push_owned(out, path_normalize(joined));
	free(joined);
	return 0;
}

static bool is_operator(char c)
{
	return c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')' || c == '\n';
}

/* One shell word from *pp: quotes removed; *needs_expansion when the
 * shell would expand part of it (then its text is not what runs). */
static char *shell_word(const char **pp, bool *needs_expansion)
{
	const char *p = *pp;
	sbuf w = {0};
	sbuf_add(&w, "");
	*needs_expansion = false;
	while (*p && *p != ' ' && *p != '\t' && !is_operator(*p)) {
		if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			if (!e) {
				*needs_expansion = true;
				e = p + strlen(p) - 1;
			}
			sbuf_addn(&w, p + 1, (size_t)(e - p - 1));
			p = e + 1;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '$' || *p == '`')
					*needs_expansion = true;
				if (*p == '\\' && p[1])
					p++;
				sbuf_addn(&w, p, 1);
			}
			if (!*p)
				*needs_expansion = true;
			else
				p++;
		} else {
			if (strchr("$`*?[{", *p) || (*p == '~' && w.len == 0 && p[1] != '/'))
				*needs_expansion = true;
			if (*p == '\\' && p[1])
				p++;
			sbuf_addn(&w, p, 1);
			p++;
		}
	}
	*pp = p;
	return w.s;
}

static bool is_assignment(const char *w)
{
	if (!isalpha((unsigned char)*w) && *w != '_')
		return false;
	while (isalnum((unsigned char)*w) || *w == '_')
		w++;
	return *w == '=';
}

/* A command line as git runs it (through sh -c when it has more than
 * one word): the program's first word, when it holds a "/", is a path
 * (relative ones from the worktree, where git runs commands); a later
 * word that holds a "/" and is no option or URL is an argument that may
 * be a script, kept read-only too. */
static int command_paths(const char *key, const char *cmd, const struct git_key_base *base,
			 strv *out, ab_error *err)
{
	const char *p = cmd;
	bool first = true;
	int r = 0;
	while (r == 0) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || is_operator(*p))
			break;
		bool expands;
		_cleanup_free_ char *w = shell_word(&p, &expands);
		if (first && !expands && is_assignment(w))
			continue; /* VAR=value before the program */
		if (first && expands)
			return unsafe(key, cmd, "the program's name needs shell expansion ($, `, a glob, ~user)", err);
		if (strchr(w, '/') && !expands && (first || (w[0] != '-' && !strchr(w, '=') && !strchr(w, ':'))))
			r = add_path(key, cmd, w, base->worktree, base, out, err);
		first = false;
	}
	return r;
}

static bool is_git_bool(const char *v)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "1", "0", "", NULL};
	for (size_t i = 0; words[i]; i++)
		if (strcasecmp(v, words[i]) == 0)
			return true;
	return false;
}

int git_key_paths(const struct git_key *key, const char *name, const char *value,
		  const struct git_key_base *base, strv *out, ab_error *err)
{
	if (!value)
		return 0; /* a bare key is boolean true */
	switch (key->kind) {
	case GIT_KEY_INCLUDE:
		return add_path(name, value, value, base->config_dir, base, out, err);
	case GIT_KEY_FILE:
		return add_path(name, value, value, base->worktree, base, out, err);
	case GIT_KEY_DIR: {
		size_t before = out->n;
		int r = add_path(name, value, value, base->worktree, base, out, err);
		/* husky 9 points core.hooksPath at .husky/_, whose hooks run
		 * the user's scripts in .husky/: keep its parent too */
		if (r == 0 && out->n > before) {
			const char *p = out->v[out->n - 1];
			size_t len = strlen(p);
			if (len > 2 && strcmp(p + len - 2, "/_") == 0)
				strv_push_owned(out, path_parent(p));
		}
		return r;
	}
	case GIT_KEY_BOOL_OR_COMMAND:
		return is_git_bool(value) ? 0 : command_paths(name, value, base, out, err);
	case GIT_KEY_BANG_COMMAND:
		return value[0] == '!' ? command_paths(name, value + 1, base, out, err) : 0;
	case GIT_KEY_HELPER:
		return command_paths(name, value[0] == '!' ? value + 1 : value, base, out, err);
	case GIT_KEY_COMMAND:
		return command_paths(name, value, base, out, err);
	}
	return 0;
}
