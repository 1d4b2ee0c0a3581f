/* Finding the configuration files nobody named (config/discover.h). */
#include "config/discover.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "policy/policy.h"
#include "supervisor/placeholders.h"

char *config_user_dir(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	/* the XDG base directory spec: a relative value is to be ignored */
	if (xdg && xdg[0] == '/') {
		_cleanup_free_ char *j = path_join(xdg, "agentbox");
		return path_normalize(j);
	}
	const char *home = getenv("HOME");
	if (!home || home[0] != '/')
		return NULL;
	_cleanup_free_ char *j = path_join(home, ".config/agentbox");
	return path_normalize(j);
}

void config_project_places(const char *cwd, const char *home, strv *places)
{
	strv_push_owned(places, path_join(cwd, CONFIG_PROJECT_FILE));
	/* the nearest repository root: a project file there covers every
	 * directory of the checkout. $HOME is where the search stops (a
	 * dotfiles repository in $HOME is no project of every directory
	 * below it). */
	_cleanup_free_ char *dir = xstrdup(cwd);
	for (;;) {
		if (home && strcmp(dir, home) == 0)
			return;
		_cleanup_free_ char *git = path_join(dir, ".git");
		struct stat st;
		if (lstat(git, &st) == 0) {
			if (strcmp(dir, cwd) != 0)
				strv_push_owned(places, path_join(dir, CONFIG_PROJECT_FILE));
			return;
		}
		if (strcmp(dir, "/") == 0)
			return;
		char *up = path_parent(dir);
		free(dir);
		dir = up;
	}
}

/* Whether a directory on the way to path is an empty placeholder of
 * agentbox's (a run in parallel blocks it; mode 01444 has no search
 * bit): then nothing can be below it, the file is absent. */
static bool under_placeholder(const char *path)
{
	_cleanup_free_ char *dir = path_parent(path);
	while (strcmp(dir, "/") != 0) {
		struct stat st;
		if (lstat(dir, &st) == 0 && placeholder_is_marked(&st))
			return true;
		char *up = path_parent(dir);
		free(dir);
		dir = up;
	}
	return false;
}

int config_read(const char *path, sbuf *out, ab_error *err)
{
	ab_error why = {0};
	int r;
	for (int attempt = 0;; attempt++) {
		why = (ab_error){0};
		r = policy_read_file(path, out, &why);
		/* ENOTDIR: a component is a file, so there is no file at path */
		if (r == -ENOENT || r == -ENOTDIR || (r == -EACCES && path[0] == '/' && under_placeholder(path)))
			return 1;
		/* EACCES with no placeholder now: the run in parallel that
		 * held one may have removed it between the two looks; a new
		 * read then sees what is really there */
		if (r != -EACCES || attempt == 3)
			break;
	}
	if (r < 0) {
		*err = why;
		return r;
	}
	return 0;
}
