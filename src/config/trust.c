/* The trust store, DIR/trusted.json (config/trust.h):
 *   {"version": 1, "files": {"/abs/.agentbox/policy.json":
 *       {"sha256": "<64 hex digits>", "content": "<the text trusted>"}}} */
#include "config/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config_open.h"
#include "common/error.h"
#include "common/util.h"
#include "config/discover.h"

/* The store as JSON, an empty one when it does not exist. */
static int load_store(const char *dir, json_t **out, ab_error *err)
{
	_cleanup_free_ char *path = path_join(dir, CONFIG_TRUST_FILE);
	sbuf text = {0};
	int r = config_read(path, &text, err);
	if (r < 0)
		return r;
	if (r == 1) {
		*out = json_pack("{s:i,s:{}}", "version", 1, "files");
		return 0;
	}
	json_error_t je;
	json_t *root = json_loadb(text.s ? text.s : "", text.len, JSON_REJECT_DUPLICATES, &je);
	sbuf_free(&text);
	json_t *files = root ? json_object_get(root, "files") : NULL;
	if (!root || !json_is_object(root) || !json_is_object(files)) {
		json_decref(root);
		return ab_fail(err, EINVAL,
			       "trust store %s:%d:%d is not what agentbox writes (%s)\n"
			       "fix: remove the file and trust the project files again with `agentbox trust PATH`",
			       path, root ? 1 : je.line, root ? 1 : je.column,
			       root ? "no \"files\" object" : je.text);
	}
	*out = root;
	return 0;
}

int trust_lookup(const char *dir, const char *path, const char *sha256_hex, bool *trusted,
		 char **last, ab_error *err)
{
	*trusted = false;
	if (last)
		*last = NULL;
	json_t *root;
	int r = load_store(dir, &root, err);
	if (r < 0)
		return r;
	json_t *rec = json_object_get(json_object_get(root, "files"), path);
	const char *sum = json_string_value(json_object_get(rec, "sha256"));
	const char *content = json_string_value(json_object_get(rec, "content"));
	*trusted = sum && strcmp(sum, sha256_hex) == 0;
	if (last && content)
		*last = xstrdup(content);
	json_decref(root);
	return 0;
}

/* Opens dir, creating it (and its parent) 0700 when missing; no link is
 * followed on the way (config_open_parent). Returns an fd or -errno. */
static int open_or_create_dir(const char *dir, int depth)
{
	const char *base;
	int parent = config_open_parent(dir, &base);
	if (parent == -ENOENT && depth == 0) {
		_cleanup_free_ char *up = path_parent(dir);
		int fd = open_or_create_dir(up, 1);
		if (fd < 0)
			return fd;
		close(fd);
		parent = config_open_parent(dir, &base);
	}
	if (parent < 0)
		return parent;
	if (mkdirat(parent, base, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		close(parent);
		return -e;
	}
	int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(parent);
	return fd < 0 ? -e : fd;
}

int trust_record(const char *dir, const char *path, const char *sha256_hex, const char *content,
		 ab_error *err)
{
	json_t *root;
	int r = load_store(dir, &root, err);
	if (r < 0)
		return r;
	json_object_set_new(json_object_get(root, "files"), path,
			    json_pack("{s:s,s:s}", "sha256", sha256_hex, "content", content));
	char *dump = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!dump)
		return ab_fail(err, ENOMEM, "cannot write the trust store: out of memory");
	_cleanup_free_ char *text = xasprintf("%s\n", dump);
	free(dump);
	_cleanup_free_ char *store = path_join(dir, CONFIG_TRUST_FILE);
	_cleanup_close_ int dfd = open_or_create_dir(dir, 0);
	if (dfd < 0) {
		int e = -dfd;
		dfd = -1;
		ab_fail_errno(err, e, "cannot open or create the configuration directory %s", dir);
		if (e == ELOOP)
			ab_error_hint(err, "a component is a symbolic link: agentbox follows none for its own configuration; set XDG_CONFIG_HOME to the real path");
		return -e;
	}
	struct stat st;
	bool exists = fstatat(dfd, CONFIG_TRUST_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0;
	const char *what = "";
	r = config_write_atomically(dfd, CONFIG_TRUST_FILE, text, strlen(text),
				    exists ? st.st_mode & 07777 : 0600, exists ? (int)st.st_uid : -1,
				    exists ? (int)st.st_gid : -1, exists, &what);
	if (r < 0)
		return ab_fail_errno(err, -r, "cannot write the trust store %s: could not %s", store,
				     what);
	return 0;
}
