#include "net/net_policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/policy.h"

/* jansson keeps no positions for values, so a bad pattern is found again
 * in the text: the first occurrence of its JSON spelling after the
 * "network" key. Good enough to point an editor at the right line. */
static void locate(const char *text, size_t len, const char *needle, int *line, int *col)
{
	const char *from = strstr(text, "\"network\"");
	const char *at = from && needle ? strstr(from, needle) : NULL;
	if (!at)
		at = from ? from : text;
	*line = 1;
	*col = 1;
	for (const char *c = text; c < at && (size_t)(c - text) < len; c++) {
		if (*c == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)*c & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int fail_at(const char *text, size_t len, const char *source, json_t *near,
		   ab_error *err, const char *msg)
{
	int line, col;
	_cleanup_free_ char *needle = near ? json_dumps(near, JSON_ENCODE_ANY) : NULL;
	locate(text, len, needle, &line, &col);
	return ab_fail(err, EINVAL, "%s:%d:%d: %s", source, line, col, msg);
}

static int load_list(const char *text, size_t len, const char *source, json_t *net,
		     const char *key, bool allow, struct domain_rules *rules, ab_error *err)
{
	json_t *list = json_object_get(net, key);
	if (!list)
		return 0;
	if (!json_is_array(list)) {
		_cleanup_free_ char *m = xasprintf(
			"\"network\".\"%s\" must be a list of domain patterns such as [\"**.example.com\"]",
			key);
		return fail_at(text, len, source, NULL, err, m);
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		if (!json_is_string(v)) {
			_cleanup_free_ char *m = xasprintf(
				"\"network\".\"%s\"[%zu] must be a string (a domain pattern)", key, i);
			return fail_at(text, len, source, NULL, err, m);
		}
		ab_error e = {0};
		if (domain_rules_add(rules, json_string_value(v), allow, &e) < 0) {
			_cleanup_free_ char *m = xasprintf("\"network\".\"%s\"[%zu]: %s", key, i, e.message);
			return fail_at(text, len, source, v, err, m);
		}
	}
	return 0;
}

int net_policy_load_text(const char *text, size_t len, const char *source,
			 struct domain_rules *rules, ab_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return ab_fail(err, EINVAL, "%s:%d:%d: invalid JSON: %s", source,
			       je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1, je.text);
	int r = 0;
	json_t *net = json_object_get(root, "network");
	if (!net)
		goto out;
	if (!json_is_object(net)) {
		r = fail_at(text, len, source, NULL, err,
			    "\"network\" must be an object such as {\"mode\": \"proxy\", \"allow\": [...]}");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(net, key, v) {
		if (strcmp(key, "mode") != 0 && strcmp(key, "allow") != 0 && strcmp(key, "deny") != 0) {
			_cleanup_free_ char *m = xasprintf(
				"unknown key \"%s\" in \"network\" (known keys: mode, allow, deny)", key);
			r = fail_at(text, len, source, NULL, err, m);
			goto out;
		}
	}
	json_t *mode = json_object_get(net, "mode");
	if (mode && (!json_is_string(mode) || strcmp(json_string_value(mode), "proxy") != 0)) {
		r = fail_at(text, len, source, mode, err,
			    "\"network\".\"mode\" must be \"proxy\" for agentbox proxy (none and full have no rules to apply)");
		goto out;
	}
	if ((r = load_list(text, len, source, net, "allow", true, rules, err)) < 0)
		goto out;
	r = load_list(text, len, source, net, "deny", false, rules, err);
out:
	json_decref(root);
	return r;
}

int net_policy_load_file(const char *path, struct domain_rules *rules, ab_error *err)
{
	sbuf b;
	int r = policy_read_file(path, &b, err);
	if (r < 0)
		return r;
	r = net_policy_load_text(b.s ? b.s : "", b.len, path, rules, err);
	sbuf_free(&b);
	return r;
}
