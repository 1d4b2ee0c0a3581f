/* Policy files, format version 1 (docs/policy.md).
 *
 * jansson parses the text and reports syntax errors with a position, but
 * keeps no positions for the values it returns. Semantic errors must still
 * point at the offending key or value, so a small scanner below walks the
 * raw text (which jansson has already accepted) to find where the value at a
 * given path begins.
 *
 * A bad file must change nothing: everything is validated into a staging
 * policy first and merged into the caller's policy only when the whole file
 * is good. */
#include "policy/policy.h"
#include "policy/cache_dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/config_open.h"
#include "common/error.h"
#include "common/util.h"
#include "policy/glob_json.h"
#include "policy/env_json.h"
#include "policy/layer.h"

#define POLICY_FORMAT_VERSION 1
/* Policy files are a few hundred bytes; the cap only stops `--policy
 * /dev/zero` style mistakes from eating memory. */
#define POLICY_FILE_MAX (1024 * 1024)

/* ---- position locator ------------------------------------------------ */

/* One step of a path into the document: an object key, or an array index
 * when key is NULL. */
struct jstep {
	const char *key;
	size_t index;
};

struct jscan {
	const char *s;
	size_t n, i;
};

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void scan_space(struct jscan *sc)
{
	while (sc->i < sc->n && is_json_space(sc->s[sc->i]))
		sc->i++;
}

static char scan_peek(const struct jscan *sc)
{
	return sc->i < sc->n ? sc->s[sc->i] : '\0';
}

static void put_utf8(sbuf *b, unsigned long cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sbuf_addn(b, u, n);
}

static bool scan_hex4(struct jscan *sc, unsigned long *out)
{
	unsigned long v = 0;
	for (int k = 0; k < 4; k++, sc->i++) {
		char c = scan_peek(sc);
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return false;
		v = v * 16 + (unsigned long)d;
	}
	*out = v;
	return true;
}

/* Scans the string token starting at the opening quote. Keys are compared
 * with the ones jansson returns, so escapes are decoded the same way. */
static bool scan_string(struct jscan *sc, sbuf *out)
{
	if (scan_peek(sc) != '"')
		return false;
	sc->i++;
	while (sc->i < sc->n) {
		char c = sc->s[sc->i++];
		if (c == '"')
			return true;
		if (c != '\\') {
			if (out)
				sbuf_addn(out, &c, 1);
			continue;
		}
		if (sc->i >= sc->n)
			return false;
		c = sc->s[sc->i++];
		const char *plain = "\"\\/bfnrt";
		const char *decoded = "\"\\/\b\f\n\r\t";
		const char *k = strchr(plain, c);
		if (c != '\0' && k) {
			if (out)
				sbuf_addn(out, decoded + (k - plain), 1);
			continue;
		}
		if (c != 'u')
			return false;
		unsigned long cp, lo;
		if (!scan_hex4(sc, &cp))
			return false;
		if (cp >= 0xD800 && cp <= 0xDBFF && sc->i + 1 < sc->n &&
		    sc->s[sc->i] == '\\' && sc->s[sc->i + 1] == 'u') {
			sc->i += 2;
			if (!scan_hex4(sc, &lo))
				return false;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		}
		if (out)
			put_utf8(out, cp);
	}
	return false;
}

/* Walks the value at sc->i. In search mode (at != NULL) it descends along
 * `path`, storing in *at the offset of the deepest step found so far, and
 * returns 1 once the whole path is found: the start of the value, or of its
 * key when want_key is set and the last step is an object key. With
 * at == NULL it only skips the value. Returns 0 when skipped or not found,
 * -1 on text it cannot scan. The text has passed jansson, so recursion is
 * bounded by jansson's own depth limit. */
static int scan_walk(struct jscan *sc, const struct jstep *path, size_t n,
		     bool want_key, size_t *at)
{
	scan_space(sc);
	if (at) {
		*at = sc->i;
		if (n == 0)
			return 1;
	}
	char c = scan_peek(sc);
	if (c == '{' || c == '[') {
		bool is_obj = c == '{';
		char close = is_obj ? '}' : ']';
		sc->i++;
		scan_space(sc);
		if (scan_peek(sc) == close) {
			sc->i++;
			return 0;
		}
		bool searching = at && (is_obj ? path[0].key != NULL : path[0].key == NULL);
		for (size_t idx = 0;; idx++) {
			scan_space(sc);
			size_t item_at = sc->i;
			bool hit;
			if (is_obj) {
				sbuf key = {0};
				if (!scan_string(sc, searching ? &key : NULL)) {
					sbuf_free(&key);
					return -1;
				}
				hit = searching && strcmp(key.s ? key.s : "", path[0].key) == 0;
				sbuf_free(&key);
				scan_space(sc);
				if (scan_peek(sc) != ':')
					return -1;
				sc->i++;
			} else {
				hit = searching && idx == path[0].index;
			}
			if (hit) {
				/* Keys are unique (duplicates are rejected), so
				 * the search ends here either way. */
				if (n == 1 && want_key && is_obj) {
					*at = item_at;
					return 1;
				}
				return scan_walk(sc, path + 1, n - 1, want_key, at);
			}
			if (scan_walk(sc, NULL, 0, false, NULL) < 0)
				return -1;
			scan_space(sc);
			c = scan_peek(sc);
			sc->i++;
			if (c == close)
				return 0;
			if (c != ',')
				return -1;
		}
	}
	if (c == '"')
		return scan_string(sc, NULL) ? 0 : -1;
	size_t start = sc->i;
	while (sc->i < sc->n && !is_json_space(sc->s[sc->i]) &&
	       !strchr(",]}", sc->s[sc->i]))
		sc->i++;
	return sc->i > start ? 0 : -1;
}

struct linecol {
	size_t off;
	int line, col;
};

/* Moves lc forward to `off`. Columns count characters, not bytes, as
 * jansson's do, so both kinds of error agree. */
static void linecol_advance(const char *s, struct linecol *lc, size_t off)
{
	for (; lc->off < off; lc->off++) {
		if (s[lc->off] == '\n') {
			lc->line++;
			lc->col = 1;
		} else if (((unsigned char)s[lc->off] & 0xC0) != 0x80) {
			lc->col++;
		}
	}
}

static struct linecol linecol_at(const char *s, size_t off)
{
	struct linecol lc = {.off = 0, .line = 1, .col = 1};
	linecol_advance(s, &lc, off);
	return lc;
}

struct jmember {
	char *key; /* decoded, as jansson returns it */
	size_t off; /* where the key's opening quote is */
};

static void free_members(struct jmember *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].key);
	free(m);
}

/* The members of the object at `path`, in file order. */
static struct jmember *object_members(const char *s, size_t len,
				      const struct jstep *path, size_t n,
				      size_t *count)
{
	struct jscan sc = {.s = s, .n = len};
	struct jmember *m = NULL;
	size_t at = 0, cap = 0;
	*count = 0;
	if (scan_walk(&sc, path, n, false, &at) != 1)
		return NULL;
	sc.i = at;
	if (scan_peek(&sc) != '{')
		return NULL;
	sc.i++;
	for (;;) {
		scan_space(&sc);
		size_t off = sc.i;
		sbuf key = {0};
		if (!scan_string(&sc, &key)) {
			sbuf_free(&key);
			break;
		}
		grow_array((void **)&m, &cap, *count + 1, sizeof(*m));
		m[(*count)++] = (struct jmember){
			.key = key.s ? key.s : xstrdup(""),
			.off = off,
		};
		scan_space(&sc);
		if (scan_peek(&sc) != ':')
			break;
		sc.i++;
		if (scan_walk(&sc, NULL, 0, false, NULL) < 0)
			break;
		scan_space(&sc);
		if (scan_peek(&sc) != ',')
			break;
		sc.i++;
	}
	return m;
}

/* ---- loading ---------------------------------------------------------- */

struct loader {
	const char *source;
	const char *text;
	size_t len;
	ab_error *err;
	ab_policy *stage; /* validated content, merged at the end */
	bool set_net;
	/* "protect" and "unprotect" as written: the stage starts with the
	 * built-in names, which must not come back into a policy that had
	 * them removed before this file was loaded */
	strv protect, unprotect;
	/* a layer (policy/layer.h): the preset is validated and kept by
	 * name instead of applied, since the stack decides which one holds */
	bool defer_preset;
	char *preset;
};

static int fail_at_offset(struct loader *ld, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_at_offset(struct loader *ld, size_t off, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct linecol lc = linecol_at(ld->text, off);
	return ab_fail(ld->err, EINVAL, "%s:%d:%d: %s", ld->source, lc.line,
		       lc.col, msg);
}

/* Reports an error at the value at `path` (or at its key). */
static int fail_at(struct loader *ld, const struct jstep *path, size_t n,
		   bool at_key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail_at(struct loader *ld, const struct jstep *path, size_t n,
		   bool at_key, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct jscan sc = {.s = ld->text, .n = ld->len};
	size_t at = 0;
	scan_walk(&sc, path, n, at_key, &at);
	return fail_at_offset(ld, at, "%s", msg);
}

/* `s` as a JSON string literal, so odd characters stay visible and the
 * message stays on one line. */
static char *quoted(const char *s)
{
	sbuf b = {0};
	sbuf_add_json_string(&b, s);
	return b.s;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "an unknown value";
}

static int load_version(struct loader *ld, json_t *root)
{
	const struct jstep at[] = {{.key = "version"}};
	json_t *v = json_object_get(root, "version");
	if (!v)
		return fail_at(ld, NULL, 0, false,
			       "missing \"version\"; add \"version\": %d to the top-level object",
			       POLICY_FORMAT_VERSION);
	if (!json_is_integer(v))
		return fail_at(ld, at, 1, false,
			       "\"version\" must be an integer, found %s",
			       json_kind(v));
	if (json_integer_value(v) != POLICY_FORMAT_VERSION)
		return fail_at(ld, at, 1, false,
			       "unsupported policy version %lld; this agentbox reads version %d",
			       (long long)json_integer_value(v), POLICY_FORMAT_VERSION);
	return 0;
}

static int load_preset(struct loader *ld, json_t *root)
{
	const struct jstep at[] = {{.key = "preset"}};
	json_t *v = json_object_get(root, "preset");
	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail_at(ld, at, 1, false,
			       "\"preset\" must be a string, found %s", json_kind(v));
	ab_error sub;
	ab_policy *target = ld->defer_preset ? policy_new() : ld->stage;
	int r = policy_apply_preset(target, json_string_value(v), &sub);
	if (ld->defer_preset) {
		ab_policy_free(target);
		if (r == 0)
			ld->preset = xstrdup(json_string_value(v));
	}
	if (r == 0)
		return 0;
	_cleanup_free_ char *q = quoted(json_string_value(v));
	return fail_at(ld, at, 1, false,
		       "unknown preset %s (valid: read-only, workspace-write, full-access)", q);
}

/* Says why policy_parse_path() refused `text`, in this file's words. */
static int fail_fs_path(struct loader *ld, const struct jstep *at,
			const char *text, const ab_error *why)
{
	_cleanup_free_ char *q = quoted(text);
	if (!*text)
		return fail_at(ld, at, 2, true,
			       "filesystem path is empty; write an absolute path, ~/..., or a special path such as :cwd");
	if (text[0] == ':')
		return fail_at(ld, at, 2, true,
			       "filesystem path %s is not a known special path (known: :root, :minimal, :cwd, :tmpdir, :slash_tmp, ~)",
			       q);
	if (text[0] == '~' && text[1] != '/')
		return fail_at(ld, at, 2, true,
			       "filesystem path %s: only \"~\" and \"~/...\" are supported, not ~user",
			       q);
	if (text[0] != '/' && text[0] != '~')
		return fail_at(ld, at, 2, true,
			       "filesystem path %s is relative; policy paths must be absolute, ~/..., or a special path such as :cwd",
			       q);
	if (path_has_dotdot(text))
		return fail_at(ld, at, 2, true,
			       "filesystem path %s contains \"..\"; write the path without it",
			       q);
	return fail_at(ld, at, 2, true, "filesystem path %s: %s", q, why->message);
}

/* Validates one "filesystem" member and stages it; lc is its key's
 * position, which becomes the rule's origin. */
static int load_fs_entry(struct loader *ld, const char *key, json_t *v,
			 const struct linecol *lc)
{
	const struct jstep at[] = {{.key = "filesystem"}, {.key = key}};
	enum policy_path_kind kind;
	char *sub = NULL;
	ab_error why;
	if (policy_parse_path(key, &kind, &sub, &why) < 0)
		return fail_fs_path(ld, at, key, &why);
	free(sub);

	_cleanup_free_ char *qkey = quoted(key);
	if (!json_is_string(v))
		return fail_at(ld, at, 2, false,
			       "filesystem entry %s must be a string (\"read\", \"write\" or \"none\"), found %s",
			       qkey, json_kind(v));
	ab_access access;
	/* "write+create": a directory agentbox run creates when missing */
	bool create = strcmp(json_string_value(v), "write+create") == 0;
	if (create)
		access = AB_ACCESS_WRITE;
	else if (!policy_parse_access(json_string_value(v), &access)) {
		_cleanup_free_ char *qv = quoted(json_string_value(v));
		return fail_at(ld, at, 2, false,
			       "filesystem entry %s: unknown access %s (valid: read, write, write+create, none)",
			       qkey, qv);
	}
	if (kind == PP_MINIMAL && access != AB_ACCESS_READ)
		return fail_at(ld, at, 2, false,
			       "\":minimal\" can only be \"read\" (it adds the platform's default read roots), found \"%s\"",
			       ab_access_name(access));

	_cleanup_free_ char *origin =
		xasprintf("%s:%d:%d", ld->source, lc->line, lc->col);
	if ((create ? policy_add_path_create(ld->stage, key, origin, &why)
		    : policy_add_path(ld->stage, key, access, origin, &why)) < 0)
		return fail_at(ld, at, 2, true, "%s", why.message);
	return 0;
}

static int load_filesystem(struct loader *ld, json_t *root)
{
	const struct jstep fs_path[] = {{.key = "filesystem"}};
	json_t *fs = json_object_get(root, "filesystem");
	if (!fs)
		return 0;
	if (!json_is_object(fs))
		return fail_at(ld, fs_path, 1, false,
			       "\"filesystem\" must be an object mapping paths to \"read\", \"write\" or \"none\", found %s",
			       json_kind(fs));

	/* Rules apply in file order. jansson keeps members in insertion order
	 * too (what JSON_PRESERVE_ORDER asked of old versions), but taking the
	 * order and the key positions from the scanner does not depend on it. */
	size_t n_members = 0;
	struct jmember *members =
		object_members(ld->text, ld->len, fs_path, 1, &n_members);
	int r = 0;
	if (n_members != json_object_size(fs))
		r = fail_at(ld, fs_path, 1, false,
			    "internal error: the scanner found %zu keys in \"filesystem\", the parser %zu",
			    n_members, json_object_size(fs));
	struct linecol lc = {.off = 0, .line = 1, .col = 1};
	for (size_t i = 0; i < n_members && r == 0; i++) {
		linecol_advance(ld->text, &lc, members[i].off);
		r = load_fs_entry(ld, members[i].key,
				  json_object_get(fs, members[i].key), &lc);
	}
	free_members(members, n_members);
	return r;
}

static int load_protect(struct loader *ld, json_t *root)
{
	json_t *arr = json_object_get(root, "protect");
	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		const struct jstep at[] = {{.key = "protect"}};
		return fail_at(ld, at, 1, false,
			       "\"protect\" must be an array of names such as [\"node_modules\"], found %s",
			       json_kind(arr));
	}
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const struct jstep at[] = {{.key = "protect"}, {.index = i}};
		if (!json_is_string(v))
			return fail_at(ld, at, 2, false,
				       "\"protect\" entries must be strings, found %s",
				       json_kind(v));
		ab_error why;
		strv_push(&ld->protect, json_string_value(v));
		if (policy_add_protect(ld->stage, json_string_value(v), &why) < 0) {
			_cleanup_free_ char *q = quoted(json_string_value(v));
			return fail_at(ld, at, 2, false,
				       "protected name %s must be a single path component such as \".git\" (no \"/\", not \".\" or \"..\")",
				       q);
		}
	}
	return 0;
}

/* "unprotect": built-in or earlier names removed for this policy, after
 * "protect" (a name in both ends up unprotected). */
static int load_unprotect(struct loader *ld, json_t *root)
{
	json_t *arr = json_object_get(root, "unprotect");
	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		const struct jstep at[] = {{.key = "unprotect"}};
		return fail_at(ld, at, 1, false,
			       "\"unprotect\" must be an array of protected names such as [\".vscode\"], found %s",
			       json_kind(arr));
	}
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const struct jstep at[] = {{.key = "unprotect"}, {.index = i}};
		if (!json_is_string(v))
			return fail_at(ld, at, 2, false, "\"unprotect\" entries must be strings, found %s",
				       json_kind(v));
		ab_error why;
		if (policy_remove_protect(ld->stage, json_string_value(v), &why) < 0)
			return fail_at(ld, at, 2, false, "%s", why.message);
		strv_push(&ld->unprotect, json_string_value(v));
	}
	return 0;
}

/* One of network.allow / network.deny: a list of domain patterns, staged
 * in the order written. */
static int load_domain_list(struct loader *ld, json_t *net, const char *key, bool allow)
{
	json_t *list = json_object_get(net, key);
	if (!list)
		return 0;
	if (!json_is_array(list)) {
		const struct jstep at[] = {{.key = "network"}, {.key = key}};
		return fail_at(ld, at, 2, false,
			       "\"network\".\"%s\" must be an array of domain patterns such as [\"**.example.com\"], found %s",
			       key, json_kind(list));
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const struct jstep at[] = {{.key = "network"}, {.key = key}, {.index = i}};
		if (!json_is_string(v))
			return fail_at(ld, at, 3, false,
				       "\"network\".\"%s\" entries must be strings (domain patterns), found %s",
				       key, json_kind(v));
		ab_error why;
		if (policy_add_domain(ld->stage, json_string_value(v), allow, &why) < 0)
			return fail_at(ld, at, 3, false, "\"network\".\"%s\"[%zu]: %s", key, i,
				       why.message);
	}
	return 0;
}

/* "network"."allow_unix": host unix sockets made reachable inside, as
 * --allow-unix (policy/allow_unix.c); any network mode. */
static int load_allow_unix(struct loader *ld, json_t *net)
{
	json_t *arr = json_object_get(net, "allow_unix");
	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		const struct jstep at[] = {{.key = "network"}, {.key = "allow_unix"}};
		return fail_at(ld, at, 2, false,
			       "\"network\".\"allow_unix\" must be an array of socket paths such as [\"/run/postgresql/.s.PGSQL.5432\"], found %s",
			       json_kind(arr));
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		const struct jstep at[] = {{.key = "network"}, {.key = "allow_unix"}, {.index = i}};
		if (!json_is_string(v))
			return fail_at(ld, at, 3, false,
				       "\"network\".\"allow_unix\" entries must be strings (absolute socket paths), found %s",
				       json_kind(v));
		_cleanup_free_ char *origin =
			xasprintf("%s \"network\".\"allow_unix\"[%zu]", ld->source, i);
		ab_error why;
		if (policy_add_allow_unix(ld->stage, json_string_value(v), origin, &why) < 0)
			return fail_at(ld, at, 3, false, "%s", why.message);
	}
	return 0;
}

static int load_network(struct loader *ld, json_t *root)
{
	json_t *net = json_object_get(root, "network");
	if (!net)
		return 0;
	if (!json_is_object(net)) {
		const struct jstep at[] = {{.key = "network"}};
		return fail_at(ld, at, 1, false,
			       "\"network\" must be an object such as {\"mode\": \"none\"}, found %s",
			       json_kind(net));
	}
	const char *key;
	json_t *v;
	json_object_foreach(net, key, v) {
		if (strcmp(key, "mode") == 0 || strcmp(key, "allow") == 0 ||
		    strcmp(key, "deny") == 0 || strcmp(key, "allow_unix") == 0)
			continue;
		const struct jstep at[] = {{.key = "network"}, {.key = key}};
		_cleanup_free_ char *q = quoted(key);
		return fail_at(ld, at, 2, true,
			       "unknown key %s in \"network\" (known keys: mode, allow, deny, allow_unix)", q);
	}
	int lr = load_allow_unix(ld, net);
	if (lr < 0)
		return lr;
	/* The lists belong to the proxy, even empty: {"allow": []} asks the
	 * human about everything, which is a proxy setting too. */
	const char *rules_key = json_object_get(net, "allow") ? "allow" :
				json_object_get(net, "deny") ? "deny" : NULL;
	json_t *mode = json_object_get(net, "mode");
	ab_net chosen = AB_NET_PROXY;
	if (mode) {
		const struct jstep at[] = {{.key = "network"}, {.key = "mode"}};
		if (!json_is_string(mode))
			return fail_at(ld, at, 2, false,
				       "\"network\".\"mode\" must be a string (\"none\", \"full\" or \"proxy\"), found %s",
				       json_kind(mode));
		const char *word = json_string_value(mode);
		if (strcmp(word, "none") == 0) {
			chosen = AB_NET_NONE;
		} else if (strcmp(word, "full") == 0) {
			chosen = AB_NET_FULL;
		} else if (strcmp(word, "proxy") != 0) {
			_cleanup_free_ char *q = quoted(word);
			return fail_at(ld, at, 2, false,
				       "unknown network mode %s (valid: none, full, proxy)", q);
		}
		if (chosen != AB_NET_PROXY && rules_key) {
			const struct jstep rat[] = {{.key = "network"}, {.key = rules_key}};
			return fail_at(ld, rat, 2, true,
				       "\"network\".\"%s\" needs \"mode\": \"proxy\" (domain rules are the proxy's), but the mode is \"%s\"; use mode \"proxy\" or drop the rules",
				       rules_key, word);
		}
	} else if (!rules_key) {
		return 0;
	}
	int r;
	if ((r = load_domain_list(ld, net, "allow", true)) < 0 ||
	    (r = load_domain_list(ld, net, "deny", false)) < 0)
		return r;
	ab_policy_set_network(ld->stage, chosen);
	ld->set_net = true;
	return 0;
}

static const char *process_getenv(const char *name)
{
	return getenv(name);
}

/* "cache": package managers whose caches are writable, as --cache
 * (policy/cache_dirs.c). */
static int load_cache(struct loader *ld, json_t *root)
{
	json_t *arr = json_object_get(root, "cache");
	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		const struct jstep at[] = {{.key = "cache"}};
		return fail_at(ld, at, 1, false,
			       "\"cache\" must be an array of package managers such as [\"npm\", \"pip\"], found %s",
			       json_kind(arr));
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		const struct jstep at[] = {{.key = "cache"}, {.index = i}};
		if (!json_is_string(v) || strchr(json_string_value(v), ','))
			return fail_at(ld, at, 2, false,
				       "\"cache\" entries must be strings, one package manager each (%s)",
				       cache_tool_names());
		_cleanup_free_ char *from = xasprintf("%s \"cache\"[%zu]", ld->source, i);
		ab_error why;
		if (policy_add_cache(ld->stage, json_string_value(v), process_getenv, from, &why) < 0)
			return fail_at(ld, at, 2, false, "%s", why.message);
	}
	return 0;
}

/* "git_scan_depth": how deep nested repositories are looked for. */
static int load_git_scan_depth(struct loader *ld, json_t *root)
{
	const struct jstep at[] = {{.key = "git_scan_depth"}};
	json_t *v = json_object_get(root, "git_scan_depth");
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > POLICY_GIT_SCAN_DEPTH_MAX)
		return fail_at(ld, at, 1, false,
			       "\"git_scan_depth\" must be an integer from 0 (the top-level .git only) to %d, found %s",
			       POLICY_GIT_SCAN_DEPTH_MAX, json_is_integer(v) ? "an integer out of range" : json_kind(v));
	ld->stage->git_scan_depth = (int)json_integer_value(v);
	ld->stage->git_scan_depth_set = true;
	return 0;
}

/* "allow_credentials": entries of the credential deny set kept visible,
 * as --allow-credentials (policy/allow_credentials.c). */
static int load_allow_credentials(struct loader *ld, json_t *root)
{
	json_t *arr = json_object_get(root, "allow_credentials");
	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		const struct jstep at[] = {{.key = "allow_credentials"}};
		return fail_at(ld, at, 1, false,
			       "\"allow_credentials\" must be an array of credential names such as [\"npmrc\"], found %s",
			       json_kind(arr));
	}
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const struct jstep at[] = {{.key = "allow_credentials"}, {.index = i}};
		if (!json_is_string(v))
			return fail_at(ld, at, 2, false,
				       "\"allow_credentials\" entries must be strings (credential names), found %s",
				       json_kind(v));
		_cleanup_free_ char *origin = xasprintf("%s \"allow_credentials\"[%zu]", ld->source, i);
		ab_error why;
		if (policy_add_allow_credentials(ld->stage, json_string_value(v), origin, &why) < 0)
			return fail_at(ld, at, 2, false, "%s", why.message);
	}
	return 0;
}

/* "git": "protect" | "commit" (README.md, "Git"). */
static int load_git(struct loader *ld, json_t *root)
{
	json_t *v = json_object_get(root, "git");
	if (!v)
		return 0;
	const struct jstep at[] = {{.key = "git"}};
	ab_git_mode mode;
	if (!json_is_string(v) || ab_git_mode_parse(json_string_value(v), &mode) < 0) {
		_cleanup_free_ char *q = json_is_string(v) ? quoted(json_string_value(v)) : xstrdup(json_kind(v));
		return fail_at(ld, at, 1, false,
			       "\"git\" must be \"protect\" (all of .git read-only) or \"commit\" (commits allowed, hooks and config read-only), found %s",
			       q);
	}
	ab_policy_set_git(ld->stage, mode);
	return 0;
}

/* "deny_globs", "allow_read", "glob_limits", "default_secret_globs"
 * (policy/glob_json.c), with the error placed at the bad value. */
static int load_globs(struct loader *ld, json_t *root)
{
	struct glob_json_error e = {0};
	if (policy_globs_from_json(ld->stage, root, ld->source, &e) == 0)
		return 0;
	struct jstep at[2] = {{.key = e.key}};
	size_t n = 1;
	if (e.sub)
		at[n++] = (struct jstep){.key = e.sub};
	else if (e.has_index)
		at[n++] = (struct jstep){.index = e.index};
	return fail_at(ld, at, n, false, "%s", e.msg);
}

/* "env": the command's environment (policy/env_json.c). */
static int load_env(struct loader *ld, json_t *root)
{
	json_t *env = json_object_get(root, "env");
	if (!env)
		return 0;
	struct env_json_error e;
	if (env_json_load(env, ld->source, &ld->stage->env, &e) == 0)
		return 0;
	struct jstep at[3] = {{.key = "env"}};
	size_t n = 1;
	if (e.key)
		at[n++].key = e.key;
	if (e.key && e.set_name)
		at[n++].key = e.set_name;
	else if (e.key && e.has_index)
		at[n++].index = e.index;
	return fail_at(ld, at, n, e.at_key, "%s", e.message);
}

static const char *const top_keys[] = {
	"version", "preset", "filesystem", "protect", "unprotect", "network", "git", "git_scan_depth",
	"allow_credentials", "cache", "deny_globs", "allow_read", "glob_limits", "default_secret_globs", "env", NULL,
};

static int load_root(struct loader *ld, json_t *root)
{
	if (!json_is_object(root))
		return fail_at(ld, NULL, 0, false,
			       "a policy must be a JSON object such as {\"version\": 1}, found %s",
			       json_kind(root));
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		size_t k = 0;
		while (top_keys[k] && strcmp(top_keys[k], key) != 0)
			k++;
		if (top_keys[k])
			continue;
		const struct jstep at[] = {{.key = key}};
		_cleanup_free_ char *q = quoted(key);
		return fail_at(ld, at, 1, true,
			       "unknown key %s (known keys: version, preset, filesystem, protect, unprotect, network, git, git_scan_depth, allow_credentials, cache, deny_globs, allow_read, glob_limits, default_secret_globs, env)",
			       q);
	}
	int r;
	/* The preset goes first wherever it is written, so that the file's
	 * own entries can narrow or widen it. */
	if ((r = load_version(ld, root)) < 0 || (r = load_preset(ld, root)) < 0 ||
	    (r = load_filesystem(ld, root)) < 0 ||
	    (r = load_protect(ld, root)) < 0 || (r = load_unprotect(ld, root)) < 0 ||
	    (r = load_network(ld, root)) < 0 || (r = load_git(ld, root)) < 0 ||
	    (r = load_git_scan_depth(ld, root)) < 0 || (r = load_allow_credentials(ld, root)) < 0 ||
	    (r = load_cache(ld, root)) < 0 || (r = load_globs(ld, root)) < 0 || (r = load_env(ld, root)) < 0)
		return r;
	return 0;
}

/* jansson points a duplicate key error at the key's last character; the
 * user wants its start and its name. */
static int fail_duplicate_key(struct loader *ld, const json_error_t *je)
{
	size_t end = je->position > 0 ? (size_t)je->position : 0;
	if (end >= 2 && end <= ld->len && ld->text[end - 1] == '"') {
		/* The opening quote is the nearest '"' behind the closing one
		 * that is not escaped (an even run of backslashes before it). */
		for (size_t q = end - 1; q-- > 0;) {
			if (ld->text[q] != '"')
				continue;
			size_t bs = 0;
			while (q > bs && ld->text[q - 1 - bs] == '\\')
				bs++;
			if (bs % 2)
				continue;
			struct jscan sc = {.s = ld->text, .n = end, .i = q};
			sbuf key = {0};
			if (!scan_string(&sc, &key))
				break;
			_cleanup_free_ char *qk = quoted(key.s ? key.s : "");
			sbuf_free(&key);
			return fail_at_offset(ld, q,
					      "duplicate key %s; a key may appear only once in an object, keep one of the two",
					      qk);
		}
	}
	return ab_fail(ld->err, EINVAL, "%s:%d:%d: duplicate key: %s", ld->source,
		       je->line, je->column > 0 ? je->column : 1, je->text);
}

static void merge_stage(ab_policy *p, const struct loader *ld)
{
	policy_merge_rules(p, ld->stage, &ld->protect, &ld->unprotect, ld->set_net);
}

/* Parses and validates text into ld->stage (and ld's lists); on failure
 * the caller still frees ld. */
static int parse_text(struct loader *ld_, const char *text, size_t len)
{
	struct loader ld = *ld_;
	ld.text = text;
	ld.len = len;
	ab_error *err = ld.err;
	size_t k = 0;
	while (k < len && is_json_space(text[k]))
		k++;
	if (k == len)
		return ab_fail(err, EINVAL,
			       "%s:1:1: the policy is empty; the smallest policy is {\"version\": 1}",
			       ld.source);

	json_error_t je;
	errno = 0;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	int load_errno = errno;
	if (!root) {
		if (json_error_code(&je) == json_error_duplicate_key)
			return fail_duplicate_key(&ld, &je);
		/* jansson reports most allocation failures as something else
		 * (no text at all for a member it could not add, "invalid
		 * token" for a string it could not grow); only the errno that
		 * the failed malloc left tells */
		if (json_error_code(&je) == json_error_out_of_memory || load_errno == ENOMEM)
			return ab_fail(err, ENOMEM, "%s: out of memory while parsing the policy (%zu bytes of JSON)",
				       ld.source, len);
		if (je.line < 1)
			return ab_fail(err, EINVAL, "%s: invalid JSON: %s", ld.source, je.text);
		return ab_fail(err, EINVAL, "%s:%d:%d: invalid JSON: %s", ld.source,
			       je.line, je.column > 0 ? je.column : 1, je.text);
	}

	ld.stage = policy_new();
	int r = load_root(&ld, root);
	json_decref(root);
	*ld_ = ld;
	return r;
}

static void loader_free(struct loader *ld)
{
	ab_policy_free(ld->stage);
	strv_free(&ld->protect);
	strv_free(&ld->unprotect);
	free(ld->preset);
}

static int load_text(ab_policy *p, const char *text, size_t len,
		     const char *source, ab_error *err)
{
	struct loader ld = {
		.source = source && *source ? source : "<policy>",
		.err = err,
	};
	int r = parse_text(&ld, text, len);
	if (r == 0)
		merge_stage(p, &ld);
	loader_free(&ld);
	return r;
}

int policy_layer_parse(const char *text, size_t len, const char *source,
		       struct policy_layer *out, ab_error *err)
{
	struct loader ld = {
		.source = source && *source ? source : "<policy>",
		.err = err,
		.defer_preset = true,
	};
	int r = parse_text(&ld, text, len);
	if (r == 0) {
		*out = (struct policy_layer){
			.source = xstrdup(ld.source),
			.preset = ld.preset,
			.rules = ld.stage,
			.net_set = ld.set_net,
			.protect = ld.protect,
			.unprotect = ld.unprotect,
		};
		ld = (struct loader){0};
	}
	loader_free(&ld);
	return r;
}

struct load_args {
	const char *text, *source;
	size_t len;
};

static int load_op(ab_policy *p, void *arg, ab_error *err)
{
	const struct load_args *a = arg;
	return load_text(p, a->text, a->len, a->source, err);
}

int ab_policy_load_json(ab_policy *p, const char *text, const char *source,
			ab_error *err)
{
	if (!text)
		return ab_fail(err, EINVAL, "%s: no policy text given",
			       source ? source : "<policy>");
	struct load_args a = {.text = text, .source = source, .len = strlen(text)};
	return policy_transaction(p, load_op, &a, "loading a policy", err);
}

static void hint_for_open_error(ab_error *err, int code, const char *path)
{
	switch (code) {
	case ENOENT:
	case ENOTDIR:
		if (path[0] == '/') {
			ab_error_hint(err, "hint: check the path; the file must exist before agentbox starts");
		} else {
			_cleanup_free_ char *cwd = getcwd(NULL, 0);
			ab_error_hint(err, "hint: check the path; a relative path is taken from the current directory (%s)",
				      cwd ? cwd : "?");
		}
		break;
	case EACCES:
		ab_error_hint(err, "hint: make the file and its directories readable by the user running agentbox");
		break;
	case EISDIR:
		ab_error_hint(err, "hint: give the path of the policy file itself, not of its directory");
		break;
	case ELOOP:
		ab_error_hint(err, "hint: the file or a directory on the way is a symbolic link; agentbox follows none for its own configuration, so that a sandboxed command cannot redirect it; name the real path (realpath %s)", path);
		break;
	case EINVAL:
		ab_error_hint(err, "hint: the policy file must be a regular file");
		break;
	default:
		ab_error_hint(err, "hint: the policy file must be a readable JSON file");
	}
}

int policy_read_file(const char *path, sbuf *out, ab_error *err)
{
	*out = (sbuf){0};
	if (!path || !*path)
		return ab_fail(err, EINVAL, "no policy file path given");
	/* No symbolic link followed on any component, and the file read is
	 * the one opened: a sandboxed command that planted a link cannot
	 * choose the policy of the next run (common/config_open.h). */
	const char *base;
	_cleanup_close_ int dirfd = config_open_parent(path, &base);
	_cleanup_close_ int fd = dirfd < 0 ? dirfd : config_open_file(dirfd, base);
	if (fd < 0) {
		int e = -fd;
		fd = -1;
		if (dirfd < 0)
			dirfd = -1;
		ab_fail_errno(err, e, "cannot open policy file %s", path);
		hint_for_open_error(err, e, path);
		return -e;
	}
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			sbuf_free(out);
			ab_fail_errno(err, e, "cannot read policy file %s", path);
			hint_for_open_error(err, e, path);
			return -e;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > POLICY_FILE_MAX) {
			sbuf_free(out);
			return ab_fail(err, EFBIG,
				       "policy file %s is larger than %d bytes; is it really a policy file?",
				       path, POLICY_FILE_MAX);
		}
		/* plain realloc: this runs with the file open, outside any
		 * oom_guarded() (see policy.c) */
		if (out->len + (size_t)n + 1 > out->cap) {
			size_t cap = out->cap ? out->cap * 2 : sizeof(chunk) + 1;
			while (cap < out->len + (size_t)n + 1)
				cap *= 2;
			char *s = realloc(out->s, cap);
			if (!s) {
				sbuf_free(out);
				return ab_fail(err, ENOMEM, "cannot read policy file %s: out of memory (%zu bytes)",
					       path, cap);
			}
			out->s = s;
			out->cap = cap;
		}
		memcpy(out->s + out->len, chunk, (size_t)n);
		out->len += (size_t)n;
		out->s[out->len] = '\0';
	}
	return 0;
}

int ab_policy_load_file(ab_policy *p, const char *path, ab_error *err)
{
	sbuf buf;
	int r = policy_read_file(path, &buf, err);
	if (r < 0)
		return r;
	struct load_args a = {.text = buf.s ? buf.s : "", .source = path, .len = buf.len};
	r = policy_transaction(p, load_op, &a, "loading a policy file", err);
	sbuf_free(&buf);
	return r;
}
