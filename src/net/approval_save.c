/* Saving an "always" answer into the user's policy file. The file is the
 * user's: every key we do not touch is kept, and it is replaced with one
 * rename so that a crash leaves either the old or the new file, never a
 * torn one. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "net/approval_int.h"

/* The "network" object of the policy, created when absent. */
static int network_of(json_t *root, const char *path, json_t **out, ab_error *err)
{
	json_t *net = json_object_get(root, "network");
	if (!net) {
		net = json_object();
		json_object_set_new(root, "network", net);
	}
	if (!json_is_object(net))
		return ab_fail(err, EINVAL,
			       "cannot save the answer into %s: its \"network\" is not a JSON object; fix the file or name another one with --approvals-save",
			       path);
	*out = net;
	return 0;
}

/* The list under key; created when absent if `create`, else *out = NULL. */
static int list_of(json_t *net, const char *key, bool create, const char *path, json_t **out,
		   ab_error *err)
{
	json_t *list = json_object_get(net, key);
	*out = NULL;
	if (!list && !create)
		return 0;
	if (!list) {
		list = json_array();
		json_object_set_new(net, key, list);
	}
	if (!json_is_array(list))
		return ab_fail(err, EINVAL,
			       "cannot save the answer into %s: \"network\".\"%s\" is not a list; fix the file or name another one with --approvals-save",
			       path, key);
	*out = list;
	return 0;
}

static ssize_t find_string(json_t *list, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return (ssize_t)i;
	return -1;
}

/* Reads the policy (an empty one when the file does not exist yet). */
static int load(const char *path, json_t **out, struct stat *st, bool *exists, ab_error *err)
{
	*exists = stat(path, st) == 0;
	if (!*exists) {
		if (errno != ENOENT)
			return ab_fail_errno(err, errno, "cannot save the answer into %s", path);
		*out = json_object();
		return 0;
	}
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return ab_fail(err, EINVAL,
			       "cannot save the answer into %s:%d:%d: %s; the file was left as it is",
			       path, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return ab_fail(err, EINVAL,
			       "cannot save the answer into %s: the file is not a JSON object (a policy); it was left as it is",
			       path);
	}
	*out = root;
	return 0;
}

static int write_atomically(const char *path, json_t *root, const struct stat *old, ab_error *err)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(path, '/');
	dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	_cleanup_free_ char *tmp = xasprintf("%s.agentbox-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return ab_fail_errno(err, errno, "cannot create a temporary file next to %s", path);
	/* The file keeps its mode and owner; a new one is readable like any
	 * other configuration file. */
	if (old) {
		fchmod(fd, old->st_mode & 07777);
		if (fchown(fd, old->st_uid, old->st_gid) < 0) {
			/* not root: the file becomes ours, as any editor would do */
		}
	} else {
		fchmod(fd, 0644);
	}
	char *dump = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	_cleanup_free_ char *text = xasprintf("%s\n", dump);
	free(dump);
	size_t len = strlen(text), off = 0;
	int r = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ab_fail_errno(err, errno, "cannot write %s", tmp);
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = ab_fail_errno(err, errno, "cannot flush %s to disk", tmp);
	if (close(fd) < 0 && r == 0)
		r = ab_fail_errno(err, errno, "cannot write %s", tmp);
	if (r == 0 && rename(tmp, path) < 0)
		r = ab_fail_errno(err, errno, "cannot replace %s", path);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* The rename itself must reach the disk too. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int approval_save(const char *path, const char *pattern, bool allow, bool *changed,
		  ab_error *err)
{
	if (changed)
		*changed = false;
	/* A symbolic link (a policy kept in a dotfiles repository) stays
	 * one: its target is what gets replaced. */
	char real[PATH_MAX];
	_cleanup_free_ char *target = xstrdup(path);
	struct stat lst;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && realpath(path, real)) {
		free(target);
		target = xstrdup(real);
	}
	json_t *root = NULL;
	struct stat st;
	bool exists;
	int r = load(target, &root, &st, &exists, err);
	if (r < 0)
		return r;
	json_t *net = NULL, *list = NULL, *other = NULL;
	if ((r = network_of(root, path, &net, err)) < 0 ||
	    (r = list_of(net, allow ? "allow" : "deny", true, path, &list, err)) < 0 ||
	    (r = list_of(net, allow ? "deny" : "allow", false, path, &other, err)) < 0)
		goto out;
	bool dirty = !exists;
	json_t *mode = json_object_get(net, "mode");
	if (!mode) {
		json_object_set_new(net, "mode", json_string("proxy"));
		dirty = true;
	} else if (!json_is_string(mode) || strcmp(json_string_value(mode), "proxy") != 0) {
		/* Domain rules under another mode make the policy invalid. */
		r = ab_fail(err, EINVAL,
			    "cannot save the answer into %s: its \"network\".\"mode\" is not \"proxy\", and domain rules need that mode; the file was left as it is",
			    path);
		goto out;
	}
	if (find_string(list, pattern) < 0) {
		json_array_append_new(list, json_string(pattern));
		dirty = true;
	}
	/* The user changed their mind: the opposite answer goes. */
	ssize_t i;
	while (other && (i = find_string(other, pattern)) >= 0) {
		json_array_remove(other, (size_t)i);
		dirty = true;
	}
	if (dirty) {
		r = write_atomically(target, root, exists ? &st : NULL, err);
		if (r == 0 && changed)
			*changed = true;
	}
out:
	json_decref(root);
	return r;
}
