#include "plan/canonical.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/stat_memo.h"

#define MAX_LINK_HOPS 40

/* Pending components are kept as one string that is consumed from the
 * front; a link's target is spliced in front of what remains. */
int canonicalize(const char *path, struct canonical *out, ab_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!path_is_absolute(path))
		return ab_fail(err, EINVAL, "internal: canonicalize needs an absolute path, got '%s'", path);

	char *pending = xstrdup(path);
	size_t at = 0; /* what remains is pending + at */
	char *resolved = xstrdup("/");
	bool missing = false;
	int hops = 0;
	size_t cap_links = 0;

	while (pending[at]) {
		char *p = pending + at;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		char *comp = xstrndup(p, len);
		at = (size_t)(p - pending) + len;

		if (strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			char *parent = path_parent(resolved);
			free(resolved);
			resolved = parent;
			free(comp);
			continue;
		}
		char *cand = path_join(resolved, comp);
		free(comp);
		if (missing) {
			free(resolved);
			resolved = cand;
			continue;
		}
		struct stat st;
		if (memo_lstat(cand, &st) < 0) {
			/* EACCES: the caller cannot look further; neither can the
			 * sandboxed command running as the same user, so treat
			 * the rest as missing. */
			missing = true;
			out->first_missing = xstrdup(cand);
			free(resolved);
			resolved = cand;
			continue;
		}
		if (!S_ISLNK(st.st_mode)) {
			free(resolved);
			resolved = cand;
			continue;
		}
		if (++hops > MAX_LINK_HOPS) {
			int r = ab_fail(err, ELOOP, "cannot resolve '%s': too many levels of symbolic links (at %s)",
					path, cand);
			free(cand);
			free(resolved);
			free(pending);
			canonical_free(out);
			return r;
		}
		char target[PATH_MAX];
		ssize_t n = memo_readlink(cand, target, sizeof(target) - 1);
		if (n < 0) {
			int e = errno;
			int r = ab_fail_errno(err, e, "cannot read symbolic link %s", cand);
			free(cand);
			free(resolved);
			free(pending);
			canonical_free(out);
			return r;
		}
		target[n] = '\0';
		grow_array((void **)&out->links, &cap_links, out->n_links + 1, sizeof(*out->links));
		out->links[out->n_links++] = (struct crossed_link){xstrdup(cand), xstrdup(target)};
		free(cand);
		char *spliced = xasprintf("%s/%s", target, pending + at);
		free(pending);
		pending = spliced;
		at = 0;
		if (target[0] == '/') {
			free(resolved);
			resolved = xstrdup("/");
		}
	}
	free(pending);
	out->path = resolved;
	if (!missing) {
		struct stat st, lst;
		if (memo_stat(resolved, &st) == 0) {
			out->exists = true;
			out->is_dir = S_ISDIR(st.st_mode);
			/* lstat: should the last component have turned into a link
			 * since the walk, the identity is the link's, which no
			 * backend will find there later (they refuse links), so
			 * the run is refused instead of guarding the link's
			 * target. */
			if (memo_lstat(resolved, &lst) == 0) {
				out->dev = lst.st_dev;
				out->ino = lst.st_ino;
			} else {
				out->dev = st.st_dev;
				out->ino = st.st_ino;
			}
		} else {
			out->first_missing = xstrdup(resolved);
		}
	}
	return 0;
}

void canonical_free(struct canonical *c)
{
	free(c->path);
	free(c->first_missing);
	for (size_t i = 0; i < c->n_links; i++) {
		free(c->links[i].location);
		free(c->links[i].target);
	}
	free(c->links);
	memset(c, 0, sizeof(*c));
}

char *canonical_existing_dir(const char *dir)
{
	if (!dir || !path_is_absolute(dir) || path_has_dotdot(dir))
		return NULL;
	struct canonical c;
	ab_error ignored;
	if (canonicalize(dir, &c, &ignored) < 0)
		return NULL;
	char *out = c.exists && c.is_dir ? c.path : NULL;
	if (out)
		c.path = NULL;
	canonical_free(&c);
	return out;
}
