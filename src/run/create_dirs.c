/* Creating the missing directories of --write-create and --cache rules
 * before the run is planned again (run/create_dirs.h).
 *
 * The walk goes by descriptor from $HOME (or from / for a path outside
 * it), one component at a time, never following a symbolic link: $HOME
 * is often writable by earlier sandboxes, and a link planted there must
 * not turn "create ~/.npm" into "create a directory wherever the link
 * points". Each directory created gets mode 0700 and the caller's uid. */
#include "run/create_dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/events.h"
#include "common/util.h"

static int describe(int dirfd, const char *shown, const char *comp, const char *at, int e,
		    ab_error *err)
{
	struct stat st;
	if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return ab_fail(err, ELOOP,
			       "cannot create %s: %s is a symbolic link, which agentbox does not follow when it creates a directory\n"
			       "fix: create the directory yourself where the link points (mkdir -p), or name the link's target in the rule",
			       shown, at);
	if (e == ENOTDIR)
		return ab_fail(err, ENOTDIR, "cannot create %s: %s is not a directory", shown, at);
	return ab_fail_errno(err, e, "cannot create %s: cannot open %s", shown, at);
}

/* Opens (creating when missing) each component of rel below base (whose
 * path is start). */
static int walk(int base, const char *start, const char *rel, const char *shown, bool *made,
		ab_error *err)
{
	_cleanup_free_ char *copy = xstrdup(rel);
	_cleanup_free_ char *at = xstrdup(start);
	char *save = NULL;
	int dirfd = base;
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		char *next = path_join(at, comp);
		free(at);
		at = next;
		int fd = openat(dirfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(dirfd, comp, 0700) < 0 && errno != EEXIST) {
				int r = ab_fail_errno(err, errno, "cannot create %s: mkdir %s failed", shown, at);
				if (dirfd != base)
					close(dirfd);
				return r;
			}
			/* umask may have taken bits: 0700 exactly, and ours */
			fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid() || fchmod(fd, 0700) < 0)) {
				int r = ab_fail(err, EPERM,
						"cannot create %s: %s is not the directory agentbox just made (another owner, or it changed meanwhile)",
						shown, at);
				close(fd);
				if (dirfd != base)
					close(dirfd);
				return r;
			}
			*made = true;
		}
		if (fd < 0) {
			int r = describe(dirfd, shown, comp, at, errno, err);
			if (dirfd != base)
				close(dirfd);
			return r;
		}
		if (dirfd != base)
			close(dirfd);
		dirfd = fd;
	}
	if (dirfd != base)
		close(dirfd);
	return 0;
}

/* Below $HOME: from $HOME (the user's own, trusted as it is named);
 * elsewhere from /. */
static int create_one(const char *path, const char *home, bool *made, ab_error *err)
{
	const char *start = "/", *rel = path + 1;
	size_t hl = home ? strlen(home) : 0;
	while (hl > 1 && home[hl - 1] == '/')
		hl--;
	if (home && path_is_absolute(home) && hl > 1 && strncmp(path, home, hl) == 0 &&
	    (path[hl] == '/' || path[hl] == '\0')) {
		start = home;
		rel = path + hl;
	}
	int base = open(start, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (base < 0)
		return ab_fail_errno(err, errno, "cannot create %s: cannot open %s", path, start);
	int r = walk(base, start, rel, path, made, err);
	close(base);
	return r;
}

int create_dirs_for_rules(const ab_policy *p, const char *home, const struct events *ev,
			  ab_error *err)
{
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct policy_entry *e = &p->entries[i];
		if (!e->create || e->access != AB_ACCESS_WRITE)
			continue;
		_cleanup_free_ char *path = NULL;
		if (e->kind == PP_HOME) {
			if (!home || !path_is_absolute(home))
				return ab_fail(err, EINVAL,
					       "%s: ~/%s needs $HOME set to an absolute path; set HOME or write the path out",
					       e->origin, e->path);
			_cleanup_free_ char *joined = *e->path ? path_join(home, e->path) : xstrdup(home);
			path = path_normalize(joined);
		} else if (e->kind == PP_ABSOLUTE) {
			path = xstrdup(e->path);
		} else {
			continue;
		}
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		bool made = false;
		int r = create_one(path, home, &made, err);
		if (r < 0) {
			ab_error_hint(err, "(the rule: %s)", *e->origin ? e->origin : "--write-create");
			return r;
		}
		if (made) {
			_cleanup_free_ char *msg = xasprintf("created %s (mode 0700) for %s", path,
							     *e->origin ? e->origin : "--write-create");
			events_warning(ev, "created_directory", path, msg);
		}
	}
	return 0;
}
