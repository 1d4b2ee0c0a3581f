#include "policy/policy.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"


const char *ab_access_name(ab_access a)
{
	switch (a) {
	case AB_ACCESS_READ: return "read";
	case AB_ACCESS_WRITE: return "write";
	case AB_ACCESS_NONE: return "none";
	}
	return "?";
}

const char *ab_net_name(ab_net n)
{
	switch (n) {
	case AB_NET_FULL: return "full";
	case AB_NET_PROXY: return "proxy";
	case AB_NET_NONE: break;
	}
	return "none";
}

const char *ab_backend_name(ab_backend b)
{
	switch (b) {
	case AB_BACKEND_BWRAP:
		return "bwrap";
	case AB_BACKEND_BUILTIN:
		return "builtin";
	case AB_BACKEND_LANDLOCK:
		return "landlock";
	case AB_BACKEND_AUTO:
		break;
	}
	return "auto";
}

int ab_backend_parse(const char *name, ab_backend *out)
{
	static const ab_backend all[] = {AB_BACKEND_AUTO, AB_BACKEND_BWRAP, AB_BACKEND_BUILTIN,
					 AB_BACKEND_LANDLOCK};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(name, ab_backend_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -EINVAL;
}

bool policy_parse_access(const char *word, ab_access *out)
{
	if (strcmp(word, "read") == 0)
		*out = AB_ACCESS_READ;
	else if (strcmp(word, "write") == 0)
		*out = AB_ACCESS_WRITE;
	else if (strcmp(word, "none") == 0)
		*out = AB_ACCESS_NONE;
	else
		return false;
	return true;
}

/* Out of memory in the functions of agentbox.h's policy API.
 *
 * Building a policy is computation on memory only (no fd, lock or
 * process), so each public function runs its work under oom_guarded()
 * (common/util.h): an allocation that fails unwinds to it and the function
 * returns -ENOMEM. For p to stay as it was, the functions that add one
 * thing allocate everything first and change p last; the ones that add
 * many (a preset, a policy file) work on a copy of p and swap it in only
 * when done. What the failed call had allocated is leaked. The raw
 * versions (policy.h) are for callers already inside a guard. */

static ab_policy *policy_alloc(ab_policy **out)
{
	ab_policy *p = xcalloc(1, sizeof(*p));
	p->net = AB_NET_NONE;
	p->git_scan_depth = POLICY_GIT_SCAN_DEPTH_DEFAULT;
	policy_globs_init(&p->globs);
	*out = p; /* from here on the caller can free it, however far we get */
	/* not through policy_add_protect: one built-in name (.config/fish)
	 * has two components, which users cannot write */
	for (size_t i = 0; policy_protect_defaults[i].name; i++) {
		grow_array((void **)&p->protect, &p->cap_protect, p->n_protect + 1,
			   sizeof(*p->protect));
		p->protect[p->n_protect++] = xstrdup(policy_protect_defaults[i].name);
	}
	return p;
}

ab_policy *policy_new(void)
{
	ab_policy *p;
	return policy_alloc(&p);
}

static int new_body(void *ctx)
{
	policy_alloc(ctx);
	return 0;
}

ab_policy *ab_policy_new(void)
{
	ab_policy *p = NULL;
	ab_error err;
	if (oom_guarded(new_body, &p, &err, "ab_policy_new") < 0) {
		ab_policy_free(p);
		return NULL;
	}
	return p;
}

/* A deep copy of src into *out (set as soon as it exists). */
static void policy_copy(const ab_policy *src, ab_policy **out)
{
	ab_policy *c = policy_alloc(out);
	for (size_t i = 0; i < src->n_entries; i++) {
		const struct policy_entry *e = &src->entries[i];
		policy_add_entry_create(c, e->kind, e->path, e->access, e->origin, e->create);
	}
	/* exactly src's names: not the built-in ones policy_alloc put in
	 * (src may have had some removed), and without policy_add_protect's
	 * check (.config/fish has two components) */
	for (size_t i = 0; i < c->n_protect; i++)
		free(c->protect[i]);
	c->n_protect = 0;
	for (size_t i = 0; i < src->n_protect; i++) {
		grow_array((void **)&c->protect, &c->cap_protect, c->n_protect + 1, sizeof(*c->protect));
		c->protect[c->n_protect++] = xstrdup(src->protect[i]);
	}
	/* the patterns passed the same parser once: no error here */
	for (size_t i = 0; i < src->domains.n_allow; i++)
		domain_rules_add(&c->domains, src->domains.allow[i].text, true, NULL);
	for (size_t i = 0; i < src->domains.n_deny; i++)
		domain_rules_add(&c->domains, src->domains.deny[i].text, false, NULL);
	c->net = src->net;
	c->net_set = src->net_set;
	for (size_t i = 0; i < src->n_allow_unix; i++)
		policy_add_allow_unix(c, src->allow_unix[i].path, src->allow_unix[i].origin, NULL);
	for (size_t i = 0; i < src->n_allow_credentials; i++)
		policy_add_allow_credentials(c, src->allow_credentials[i].name,
					     src->allow_credentials[i].origin, NULL);
	c->git_scan_depth = src->git_scan_depth;
	c->git_scan_depth_set = src->git_scan_depth_set;
	c->git_scan_partial = src->git_scan_partial;
	env_policy_merge(&c->env, &src->env);
	c->git = src->git;
	c->git_set = src->git_set;
	policy_globs_merge(&c->globs, &src->globs);
	c->globs.limits = src->globs.limits;
	c->globs.limits_set = src->globs.limits_set;
	c->globs.secrets_off = src->globs.secrets_off;
	c->globs.secrets_set = src->globs.secrets_set;
	c->globs.partial = src->globs.partial;
}

struct clone_args {
	const ab_policy *src;
	ab_policy *copy;
};

static int clone_body(void *ctx)
{
	struct clone_args *a = ctx;
	policy_copy(a->src, &a->copy);
	return 0;
}

int policy_clone(const ab_policy *src, ab_policy **out, ab_error *err)
{
	struct clone_args a = {.src = src};
	int r = oom_guarded(clone_body, &a, err, "copying the policy");
	if (r < 0) {
		ab_policy_free(a.copy);
		return r;
	}
	*out = a.copy;
	return 0;
}

struct txn {
	ab_policy *p, *copy;
	int (*op)(ab_policy *p, void *arg, ab_error *err);
	void *arg;
	ab_error *err;
};

static int txn_body(void *ctx)
{
	struct txn *t = ctx;
	policy_copy(t->p, &t->copy);
	return t->op(t->copy, t->arg, t->err);
}

int policy_transaction(ab_policy *p, int (*op)(ab_policy *p, void *arg, ab_error *err),
		       void *arg, const char *what, ab_error *err)
{
	struct txn t = {.p = p, .op = op, .arg = arg, .err = err};
	int r = oom_guarded(txn_body, &t, err, what);
	if (r == 0) {
		ab_policy old = *p;
		*p = *t.copy;
		*t.copy = old;
	}
	ab_policy_free(t.copy);
	return r;
}

void ab_policy_free(ab_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_entries; i++) {
		free(p->entries[i].path);
		free(p->entries[i].origin);
	}
	free(p->entries);
	domain_rules_free(&p->domains);
	for (size_t i = 0; i < p->n_protect; i++)
		free(p->protect[i]);
	free(p->protect);
	policy_free_allow_unix(p);
	policy_free_allow_credentials(p);
	policy_globs_free(&p->globs);
	env_policy_free(&p->env);
	free(p);
}

static const struct {
	const char *token;
	enum policy_path_kind kind;
} special_tokens[] = {
	{":root", PP_ROOT},       {":minimal", PP_MINIMAL},
	{":cwd", PP_CWD},         {":tmpdir", PP_TMPDIR},
	{":slash_tmp", PP_SLASH_TMP},
};

int policy_parse_path(const char *text, enum policy_path_kind *kind,
		      char **sub, ab_error *err)
{
	if (!text || !*text)
		return ab_fail(err, EINVAL, "empty path");
	if (text[0] == ':') {
		for (size_t i = 0; i < sizeof(special_tokens) / sizeof(special_tokens[0]); i++) {
			if (strcmp(text, special_tokens[i].token) == 0) {
				*kind = special_tokens[i].kind;
				*sub = xstrdup("");
				return 0;
			}
		}
		return ab_fail(err, EINVAL,
			       "unknown special path '%s' (known: :root, :minimal, :cwd, :tmpdir, :slash_tmp, ~)",
			       text);
	}
	if (text[0] == '~') {
		if (text[1] == '\0') {
			*kind = PP_HOME;
			*sub = xstrdup("");
			return 0;
		}
		if (text[1] != '/')
			return ab_fail(err, EINVAL,
				       "path '%s': only '~' and '~/...' are supported (not ~user)", text);
		if (path_has_dotdot(text))
			return ab_fail(err, EINVAL, "path '%s' contains '..'; write the path without it", text);
		char *norm = path_normalize(text + 1);
		*kind = PP_HOME;
		*sub = strcmp(norm, "/") == 0 ? xstrdup("") : xstrdup(norm + 1);
		free(norm);
		return 0;
	}
	if (!path_is_absolute(text))
		return ab_fail(err, EINVAL,
			       "path '%s' is relative; policy paths must be absolute, ~/..., or a special path such as :cwd",
			       text);
	if (path_has_dotdot(text))
		return ab_fail(err, EINVAL, "path '%s' contains '..'; write the path without it", text);
	*kind = PP_ABSOLUTE;
	*sub = path_normalize(text);
	return 0;
}

int policy_add_entry(ab_policy *p, enum policy_path_kind kind,
		     const char *path, ab_access access, const char *origin)
{
	return policy_add_entry_create(p, kind, path, access, origin, false);
}

int policy_add_entry_create(ab_policy *p, enum policy_path_kind kind, const char *path,
			    ab_access access, const char *origin, unsigned create)
{
	/* every allocation before the first change (see the top) */
	char *new_origin = xstrdup(origin ? origin : "");
	for (size_t i = 0; i < p->n_entries; i++) {
		struct policy_entry *e = &p->entries[i];
		if (e->kind == kind && strcmp(e->path, path) == 0) {
			/* "--write-create X --write X": still created */
			e->create = access == AB_ACCESS_WRITE ? create | e->create : 0;
			e->access = access;
			free(e->origin);
			e->origin = new_origin;
			return 0;
		}
	}
	char *new_path = xstrdup(path);
	grow_array((void **)&p->entries, &p->cap_entries, p->n_entries + 1,
		   sizeof(*p->entries));
	p->entries[p->n_entries] = (struct policy_entry){
		.kind = kind,
		.path = new_path,
		.access = access,
		.origin = new_origin,
		.create = access == AB_ACCESS_WRITE ? create : 0,
	};
	p->n_entries++;
	return 0;
}

int policy_add_path(ab_policy *p, const char *path, ab_access access,
		    const char *origin, ab_error *err)
{
	enum policy_path_kind kind;
	char *sub = NULL;
	int r = policy_parse_path(path, &kind, &sub, err);
	if (r < 0)
		return r;
	if (kind == PP_MINIMAL && access != AB_ACCESS_READ) {
		free(sub);
		return ab_fail(err, EINVAL, ":minimal can only be 'read' (it adds the platform's default read roots)");
	}
	policy_add_entry(p, kind, sub, access, origin);
	free(sub);
	return 0;
}

static int add_created(ab_policy *p, const char *path, const char *origin, unsigned create,
		       ab_error *err)
{
	enum policy_path_kind kind;
	char *sub = NULL;
	int r = policy_parse_path(path, &kind, &sub, err);
	if (r < 0)
		return r;
	if (kind != PP_ABSOLUTE && kind != PP_HOME) {
		free(sub);
		return ab_fail(err, EINVAL,
			       "%s %s: only a directory written out (absolute or ~/...) can be created; "
			       "special paths such as :cwd name directories that exist",
			       origin ? origin : "--write-create", path);
	}
	policy_add_entry_create(p, kind, sub, AB_ACCESS_WRITE, origin, create);
	free(sub);
	return 0;
}

int policy_add_path_create(ab_policy *p, const char *path, const char *origin, ab_error *err)
{
	return add_created(p, path, origin, POLICY_CREATE, err);
}

int policy_add_path_cache(ab_policy *p, const char *path, const char *origin, ab_error *err)
{
	return add_created(p, path, origin, POLICY_CREATE | POLICY_CACHE, err);
}

int policy_add_protect(ab_policy *p, const char *name, ab_error *err)
{
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return ab_fail(err, EINVAL,
			       "protected name '%s' must be a single path component such as .git",
			       name ? name : "");
	for (size_t i = 0; i < p->n_protect; i++)
		if (strcmp(p->protect[i], name) == 0)
			return 0;
	char *copy = xstrdup(name);
	grow_array((void **)&p->protect, &p->cap_protect, p->n_protect + 1,
		   sizeof(*p->protect));
	p->protect[p->n_protect] = copy;
	p->n_protect++;
	return 0;
}

int policy_remove_protect(ab_policy *p, const char *name, ab_error *err)
{
	for (size_t i = 0; i < p->n_protect; i++) {
		if (strcmp(p->protect[i], name) != 0)
			continue;
		free(p->protect[i]);
		memmove(&p->protect[i], &p->protect[i + 1], (p->n_protect - i - 1) * sizeof(*p->protect));
		p->n_protect--;
		return 0;
	}
	sbuf known = {0};
	sbuf_add(&known, "");
	for (size_t i = 0; i < p->n_protect; i++)
		sbuf_addf(&known, "%s%s", i ? " " : "", p->protect[i]);
	int r = ab_fail(err, EINVAL, "cannot unprotect '%s': it is not a protected name (protected: %s)",
			name ? name : "", known.s);
	sbuf_free(&known);
	return r;
}

void ab_policy_set_network(ab_policy *p, ab_net net)
{
	p->net = net;
	p->net_set = true;
}

void ab_policy_set_git(ab_policy *p, ab_git_mode mode)
{
	p->git = mode;
	p->git_set = true;
}

ab_git_mode ab_policy_git(const ab_policy *p)
{
	return p->git;
}

int ab_git_mode_parse(const char *name, ab_git_mode *out)
{
	if (name && strcmp(name, "protect") == 0)
		*out = AB_GIT_PROTECT;
	else if (name && strcmp(name, "commit") == 0)
		*out = AB_GIT_COMMIT;
	else
		return -EINVAL;
	return 0;
}

const char *ab_git_mode_name(ab_git_mode mode)
{
	return mode == AB_GIT_COMMIT ? "commit" : "protect";
}

int policy_add_domain(ab_policy *p, const char *pattern, bool allow, ab_error *err)
{
	int r = domain_rules_add(&p->domains, pattern, allow, err);
	/* Rules mean the proxy unless a mode was chosen (the CLI and policy
	 * files refuse rules next to an explicit none or full). */
	if (r == 0 && !p->net_set)
		p->net = AB_NET_PROXY;
	return r;
}

/* The guarded public versions: one call's arguments. */
struct add_args {
	ab_policy *p;
	const char *text, *origin;
	ab_access access;
	bool allow;
	ab_error *err;
};

static int add_path_body(void *ctx)
{
	struct add_args *a = ctx;
	return policy_add_path(a->p, a->text, a->access, a->origin, a->err);
}

int ab_policy_add_path(ab_policy *p, const char *path, ab_access access,
		       const char *origin, ab_error *err)
{
	struct add_args a = {.p = p, .text = path, .origin = origin, .access = access, .err = err};
	return oom_guarded(add_path_body, &a, err, "ab_policy_add_path");
}

static int add_protect_body(void *ctx)
{
	struct add_args *a = ctx;
	return policy_add_protect(a->p, a->text, a->err);
}

int ab_policy_add_protect(ab_policy *p, const char *name, ab_error *err)
{
	struct add_args a = {.p = p, .text = name, .err = err};
	return oom_guarded(add_protect_body, &a, err, "ab_policy_add_protect");
}

static int add_domain_body(void *ctx)
{
	struct add_args *a = ctx;
	return policy_add_domain(a->p, a->text, a->allow, a->err);
}

static int remove_protect_body(void *ctx)
{
	struct add_args *a = ctx;
	return policy_remove_protect(a->p, a->text, a->err);
}

int ab_policy_unprotect(ab_policy *p, const char *name, ab_error *err)
{
	struct add_args a = {.p = p, .text = name, .err = err};
	return oom_guarded(remove_protect_body, &a, err, "ab_policy_unprotect");
}

int ab_policy_add_domain(ab_policy *p, const char *pattern, bool allow, ab_error *err)
{
	struct add_args a = {.p = p, .text = pattern, .allow = allow, .err = err};
	return oom_guarded(add_domain_body, &a, err, "ab_policy_add_domain");
}

ab_net ab_policy_network(const ab_policy *p)
{
	return p->net;
}

char *policy_entry_spelling(const struct policy_entry *e)
{
	switch (e->kind) {
	case PP_ABSOLUTE: return xstrdup(e->path);
	case PP_ROOT: return xstrdup(":root");
	case PP_MINIMAL: return xstrdup(":minimal");
	case PP_CWD: return xstrdup(":cwd");
	case PP_TMPDIR: return xstrdup(":tmpdir");
	case PP_SLASH_TMP: return xstrdup(":slash_tmp");
	case PP_HOME: return *e->path ? xasprintf("~/%s", e->path) : xstrdup("~");
	}
	return xstrdup("?");
}

int ab_policy_set_git_scan_depth(ab_policy *p, int depth, ab_error *err)
{
	if (depth < 0 || depth > POLICY_GIT_SCAN_DEPTH_MAX)
		return ab_fail(err, EINVAL,
			       "git scan depth %d is out of range; use 0 (the top-level .git only) to %d",
			       depth, POLICY_GIT_SCAN_DEPTH_MAX);
	p->git_scan_depth = depth;
	p->git_scan_depth_set = true;
	return 0;
}

void ab_policy_set_git_scan_partial(ab_policy *p, bool partial)
{
	p->git_scan_partial = partial;
}
