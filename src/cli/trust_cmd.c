/* `agentbox trust [PATH]` (cli/trust_cmd.h). Running it is the consent:
 * it is the user's own command, outside any sandbox (inside one, the
 * trust store is read-only: plan/config_files.c). */
#include "cli/trust_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentbox.h"
#include "cli/config_stack.h"
#include "common/error.h"
#include "common/sha256.h"
#include "config/discover.h"
#include "config/trust.h"
#include "config/widen.h"
#include "policy/policy.h"

#define DIFF_MAX_LINES 2000

static void split_lines(const char *text, strv *out)
{
	const char *s = text;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		strv_push_owned(out, xasprintf("%.*s", (int)n, s));
		s += n + (nl ? 1 : 0);
	}
}

/* A line diff (longest common subsequence): "-" old, "+" new, " " both. */
static void print_diff(const char *old, const char *new, FILE *out)
{
	strv a = {0}, b = {0};
	split_lines(old, &a);
	split_lines(new, &b);
	if (a.n > DIFF_MAX_LINES || b.n > DIFF_MAX_LINES) {
		fprintf(out, "  (too long to compare line by line: %zu and %zu lines)\n", a.n, b.n);
		goto out;
	}
	size_t w = b.n + 1;
	unsigned *lcs = xcalloc((a.n + 1) * w, sizeof(unsigned));
	for (size_t i = a.n; i-- > 0;)
		for (size_t j = b.n; j-- > 0;)
			lcs[i * w + j] = strcmp(a.v[i], b.v[j]) == 0 ? lcs[(i + 1) * w + j + 1] + 1 :
					 lcs[(i + 1) * w + j] > lcs[i * w + j + 1] ? lcs[(i + 1) * w + j] :
					 lcs[i * w + j + 1];
	size_t i = 0, j = 0;
	while (i < a.n || j < b.n) {
		if (i < a.n && j < b.n && strcmp(a.v[i], b.v[j]) == 0) {
			fprintf(out, "   %s\n", a.v[i]);
			i++, j++;
		} else if (j < b.n && (i == a.n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
			fprintf(out, "  +%s\n", b.v[j++]);
		} else {
			fprintf(out, "  -%s\n", a.v[i++]);
		}
	}
	free(lcs);
out:
	strv_free(&a);
	strv_free(&b);
}

/* The project file to trust: PATH, or the one `run` would discover. */
static char *pick_path(const char *arg, ab_error *err)
{
	char here[PATH_MAX];
	if (!getcwd(here, sizeof(here))) {
		ab_fail_errno(err, errno, "cannot determine the current directory");
		return NULL;
	}
	if (arg) {
		_cleanup_free_ char *j = arg[0] == '/' ? xstrdup(arg) : path_join(here, arg);
		return path_normalize(j);
	}
	strv places = {0};
	const char *home = getenv("HOME");
	_cleanup_free_ char *home_canon = home && home[0] == '/' ? realpath(home, NULL) : NULL;
	config_project_places(here, home_canon ? home_canon : home, &places);
	char *found = NULL;
	for (size_t i = 0; i < places.n && !found; i++)
		if (access(places.v[i], F_OK) == 0)
			found = xstrdup(places.v[i]);
	if (!found)
		ab_fail(err, ENOENT, "no project file to trust: none at %s%s%s\nfix: name the file: agentbox trust PATH",
			places.v[0], places.n > 1 ? " or " : "", places.n > 1 ? places.v[1] : "");
	strv_free(&places);
	return found;
}

/* The directory a project file's :cwd rules are compared in: the one
 * holding .agentbox/, where runs that discover it start. */
static char *project_dir(const char *path)
{
	size_t n = strlen(path), suffix = strlen("/" CONFIG_PROJECT_FILE);
	if (n > suffix && strcmp(path + n - suffix, "/" CONFIG_PROJECT_FILE) == 0)
		return xasprintf("%.*s", (int)(n - suffix), path);
	char here[PATH_MAX];
	return xstrdup(getcwd(here, sizeof(here)) ? here : "/");
}

/* Domain rules with no mode mean the proxy, as in a run
 * (cli_settle_network). */
static void settle(ab_policy *p)
{
	if (p->domains.n_allow + p->domains.n_deny > 0 && !p->net_set)
		ab_policy_set_network(p, AB_NET_PROXY);
}

static int show_widenings(const char *path, const struct policy_layer *user,
			  const struct policy_layer *project, ab_error *err)
{
	const struct policy_layer *ls[2] = {user, project};
	size_t skip = user->rules ? 0 : 1;
	ab_policy *without = cli_config_compose(ls + skip, 1 - skip, NULL, false, NULL, NULL);
	ab_policy *with = cli_config_compose(ls + skip, 2 - skip, NULL, false, NULL, NULL);
	settle(without);
	settle(with);
	strv w = {0};
	_cleanup_free_ char *dir = project_dir(path);
	int r = config_widenings(without, with, dir, &w, err);
	if (r == 0 && w.n == 0)
		printf("it only narrows your configuration (runs use it without trust)\n");
	else if (r == 0)
		printf("it widens your configuration (as compared in %s):\n", dir);
	for (size_t i = 0; r == 0 && i < w.n; i++)
		printf("  - %s\n", w.v[i]);
	strv_free(&w);
	ab_policy_free(without);
	ab_policy_free(with);
	return r;
}

static int trust(const char *arg, ab_error *err)
{
	_cleanup_free_ char *path = pick_path(arg, err);
	if (!path)
		return -ENOENT;
	_cleanup_free_ char *dir = config_user_dir();
	if (!dir)
		return ab_fail(err, EINVAL, "cannot record trust: neither $XDG_CONFIG_HOME nor $HOME is an absolute path\nfix: set HOME");
	struct policy_layer user = {0}, project = {0};
	_cleanup_free_ char *utext = NULL, *text = NULL, *last = NULL;
	_cleanup_free_ char *upath = path_join(dir, CONFIG_USER_FILE);
	_cleanup_free_ char *usource = xasprintf("user config %s", upath);
	_cleanup_free_ char *psource = xasprintf("project file %s", path);
	int r = cli_config_read_layer(upath, usource, &user, &utext, err);
	if (r >= 0) {
		r = cli_config_read_layer(path, psource, &project, &text, err);
		if (r == 1)
			r = ab_fail(err, ENOENT, "cannot trust %s: no such file", path);
	}
	char sum[SHA256_HEX_LEN + 1];
	bool already = false;
	if (r == 0) {
		sha256_hex(text, strlen(text), sum);
		r = trust_lookup(dir, path, sum, &already, &last, err);
	}
	if (r == 0) {
		printf("project file %s (sha256 %s)\n", path, sum);
		r = show_widenings(path, &user, &project, err);
	}
	if (r == 0 && already) {
		printf("already trusted with this content\n");
	} else if (r == 0) {
		if (last) {
			printf("changes since you last trusted it:\n");
			print_diff(last, text, stdout);
		} else {
			printf("not trusted before; its content:\n");
			print_diff("", text, stdout);
		}
		r = trust_record(dir, path, sum, text, err);
		if (r == 0)
			printf("trusted: recorded in %s/%s; runs let this content widen until the file changes\n",
			       dir, CONFIG_TRUST_FILE);
	}
	if (user.rules)
		policy_layer_free(&user);
	if (project.rules)
		policy_layer_free(&project);
	return r < 0 ? r : 0;
}

int trust_cmd_main(char **args)
{
	const char *path = NULL;
	for (size_t i = 0; args[i]; i++) {
		if (strcmp(args[i], "--help") == 0 || strcmp(args[i], "-h") == 0) {
			printf("usage: agentbox trust [PATH]\n"
			       "Shows what the project file PATH (default: the .agentbox/policy.json a run\n"
			       "here would find) widens relative to your configuration and what changed\n"
			       "since you last trusted it, then lets it widen in later runs until it changes.\n");
			return 0;
		}
		if (path || (args[i][0] == '-' && args[i][1])) {
			fprintf(stderr, "agentbox: trust: unexpected argument '%s'; usage: agentbox trust [PATH]\n", args[i]);
			return AB_EXIT_FAILURE;
		}
		path = args[i];
	}
	/* inside a sandbox the trust store is read-only anyway (the write
	 * would fail); saying why is kinder than EROFS */
	const char *inside = getenv("AGENTBOX_SANDBOX");
	if (inside && strcmp(inside, "1") == 0) {
		fprintf(stderr, "agentbox: trust: this runs inside an agentbox sandbox (AGENTBOX_SANDBOX=1); trusting a project file is your decision, outside any sandbox, where the trust store is writable\n");
		return AB_EXIT_FAILURE;
	}
	ab_error err = {0};
	if (trust(path, &err) < 0) {
		fprintf(stderr, "agentbox: %s\n", err.message);
		return AB_EXIT_FAILURE;
	}
	return 0;
}
