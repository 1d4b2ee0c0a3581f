/* The policy file's "env" section (env_json.h). */
#include "policy/env_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

static int fail(struct env_json_error *e, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct env_json_error *e, const char *key, const char *fmt, ...)
{
	e->key = key;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *kind_of(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int load_list(json_t *env, const char *key, enum env_list which, const char *source,
		     struct env_policy *ep, struct env_json_error *e)
{
	json_t *arr = json_object_get(env, key);
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return fail(e, key, "\"env\".\"%s\" must be an array of %s, found %s", key,
			    which == ENV_KEEP ? "variable names" : "name patterns such as \"*_URL\"",
			    kind_of(arr));
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		e->has_index = true;
		e->index = i;
		if (!json_is_string(v))
			return fail(e, key, "\"env\".\"%s\" entries must be strings, found %s", key, kind_of(v));
		_cleanup_free_ char *origin = xasprintf("%s \"env\".\"%s\"[%zu]", source, key, i);
		ab_error why = {0};
		if (env_policy_add(ep, which, json_string_value(v), origin, &why) < 0)
			return fail(e, key, "%s", why.message);
	}
	e->has_index = false;
	return 0;
}

static int load_set(json_t *env, const char *source, struct env_policy *ep,
		    struct env_json_error *e)
{
	json_t *obj = json_object_get(env, "set");
	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return fail(e, "set", "\"env\".\"set\" must be an object of names and values such as {\"PAGER\": \"cat\"}, found %s",
			    kind_of(obj));
	const char *name;
	json_t *v;
	json_object_foreach(obj, name, v) {
		e->set_name = name;
		if (!json_is_string(v))
			return fail(e, "set", "\"env\".\"set\".\"%s\" must be a string, found %s", name, kind_of(v));
		if (strchr(name, '='))
			return fail(e, "set", "\"env\".\"set\": the name \"%s\" contains '='", name);
		_cleanup_free_ char *origin = xasprintf("%s \"env\".\"set\".\"%s\"", source, name);
		_cleanup_free_ char *text = xasprintf("%s=%s", name, json_string_value(v));
		ab_error why = {0};
		if (env_policy_add(ep, ENV_SET, text, origin, &why) < 0)
			return fail(e, "set", "%s", why.message);
	}
	e->set_name = NULL;
	return 0;
}

int env_json_load(json_t *env, const char *source, struct env_policy *ep,
		  struct env_json_error *e)
{
	memset(e, 0, sizeof(*e));
	if (!json_is_object(env))
		return fail(e, NULL, "\"env\" must be an object such as {\"inherit\": \"core\"}, found %s",
			    kind_of(env));
	static const char *const known[] = {"inherit", "exclude", "include_only", "keep", "set", NULL};
	const char *key;
	json_t *v;
	json_object_foreach(env, key, v) {
		size_t k = 0;
		while (known[k] && strcmp(known[k], key) != 0)
			k++;
		if (!known[k]) {
			e->at_key = true;
			return fail(e, key, "unknown key \"%s\" in \"env\" (known keys: inherit, exclude, include_only, keep, set)", key);
		}
	}
	json_t *inh = json_object_get(env, "inherit");
	enum env_inherit how;
	if (inh && (!json_is_string(inh) || !env_inherit_parse(json_string_value(inh), &how)))
		return fail(e, "inherit", "\"env\".\"inherit\" must be \"all\", \"core\" or \"none\", found %s",
			    json_is_string(inh) ? json_string_value(inh) : kind_of(inh));
	if (inh)
		env_policy_set_inherit(ep, how);
	int r;
	if ((r = load_list(env, "exclude", ENV_EXCLUDE, source, ep, e)) < 0 ||
	    (r = load_list(env, "include_only", ENV_INCLUDE_ONLY, source, ep, e)) < 0 ||
	    (r = load_list(env, "keep", ENV_KEEP, source, ep, e)) < 0 ||
	    (r = load_set(env, source, ep, e)) < 0)
		return r;
	return 0;
}

static void print_list(sbuf *b, const struct env_rules *r, const char *key, bool *first)
{
	if (!r->n)
		return;
	sbuf_addf(b, "%s\"%s\": [", *first ? "" : ", ", key);
	*first = false;
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			sbuf_add(b, ", ");
		sbuf_add_json_string(b, r->v[i].text);
	}
	sbuf_add(b, "]");
}

void env_json_print(sbuf *b, const struct env_policy *ep)
{
	bool first = true;
	size_t n = 0;
	for (int l = 0; l < 4; l++)
		n += ep->lists[l].n;
	if (!ep->inherit_set && n == 0)
		return;
	sbuf_add(b, ",\n  \"env\": {");
	if (ep->inherit_set) {
		sbuf_addf(b, "\"inherit\": \"%s\"", env_inherit_name(ep->inherit));
		first = false;
	}
	print_list(b, &ep->lists[ENV_EXCLUDE], "exclude", &first);
	print_list(b, &ep->lists[ENV_INCLUDE_ONLY], "include_only", &first);
	print_list(b, &ep->lists[ENV_KEEP], "keep", &first);
	const struct env_rules *set = &ep->lists[ENV_SET];
	if (set->n) {
		sbuf_add(b, first ? "\"set\": {" : ", \"set\": {");
		for (size_t i = 0; i < set->n; i++) {
			const char *t = set->v[i].text;
			size_t len = strcspn(t, "=");
			_cleanup_free_ char *name = xstrndup(t, len);
			if (i)
				sbuf_add(b, ", ");
			sbuf_add_json_string(b, name);
			sbuf_add(b, ": ");
			sbuf_add_json_string(b, t + len + 1);
		}
		sbuf_add(b, "}");
	}
	sbuf_add(b, "}");
}
