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

#include "common/config_open.h"
#include "common/error.h"
#include "common/util.h"
#include "net/approval_int.h"

/* A policy file must say its format version (policy_json.c refuses one
 * that does not), so a file this writes is one --policy-file reads:
 * "version": 1 goes first when it is missing. Returns the root to keep
 * (a new object when the key had to be put in front); *added says so. */
static json_t *with_version(json_t *root, bool *added)
{
	*added = false;
	if (json_object_get(root, "version"))
		return root;
	json_t *out = json_object();
	json_object_set_new(out, "version", json_integer(1));
	json_object_update(out, root); /* the rest in its order */
	json_decref(root);
	*added = true;
	return out;
}

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

/* Reads the policy through dirfd (an empty one when the file does not
 * exist yet): the fd that is checked is the fd that is read. */
static int load(int dirfd, const char *base, const char *path, json_t **out, struct stat *st,
		bool *exists, ab_error *err)
{
	int fd = config_open_file(dirfd, base);
	*exists = fd >= 0;
	if (fd == -ENOENT) {
		*out = json_object();
		return 0;
	}
	if (fd < 0) {
		ab_fail_errno(err, -fd, "cannot save the answer into %s", path);
		if (fd == -ELOOP)
			ab_error_hint(err, "it is a symbolic link: agentbox follows none for its own configuration, so that a sandboxed command cannot redirect the write; name the real file");
		return fd;
	}
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return ab_fail_errno(err, e, "cannot save the answer into %s", path);
	}
	json_error_t jerr;
	json_t *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
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

static int write_atomically(int dirfd, const char *base, const char *path, json_t *root,
			    const struct stat *old, ab_error *err)
{
	char *dump = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	_cleanup_free_ char *text = xasprintf("%s\n", dump);
	free(dump);
	const char *what = "";
	int r = config_write_atomically(dirfd, base, text, strlen(text), old ? old->st_mode : 0644,
					old ? (int)old->st_uid : -1, old ? (int)old->st_gid : -1,
					old != NULL, &what);
	if (r < 0)
		return ab_fail_errno(err, -r, "cannot replace %s: could not %s in its directory", path,
				     what);
	return 0;
}

int approval_save(const char *path, const char *pattern, bool allow, bool *changed,
		  ab_error *err)
{
	if (changed)
		*changed = false;
	/* No symbolic link is followed, neither at the file nor on the way
	 * to it: the run refused a save file the sandbox could write
	 * (plan/config_files.c), but a link planted by an earlier run
	 * would still redirect the write outside every writable root. */
	const char *base;
	_cleanup_close_ int dirfd = config_open_parent(path, &base);
	if (dirfd < 0) {
		int e = -dirfd;
		dirfd = -1;
		ab_fail_errno(err, e, "cannot save the answer into %s: cannot open its directory", path);
		if (e == ELOOP)
			ab_error_hint(err, "a directory on the way is a symbolic link: agentbox follows none for its own configuration; name the real path");
		return -e;
	}
	json_t *root = NULL;
	struct stat st;
	bool exists;
	int r = load(dirfd, base, path, &root, &st, &exists, err);
	if (r < 0)
		return r;
	bool versioned;
	root = with_version(root, &versioned);
	json_t *net = NULL, *list = NULL, *other = NULL;
	if ((r = network_of(root, path, &net, err)) < 0 ||
	    (r = list_of(net, allow ? "allow" : "deny", true, path, &list, err)) < 0 ||
	    (r = list_of(net, allow ? "deny" : "allow", false, path, &other, err)) < 0)
		goto out;
	bool dirty = !exists || versioned;
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
		r = write_atomically(dirfd, base, path, root, exists ? &st : NULL, err);
		if (r == 0 && changed)
			*changed = true;
	}
out:
	json_decref(root);
	return r;
}
