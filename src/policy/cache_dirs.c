/* --cache NAME and the policy file's "cache": the download caches of the
 * common package managers, made writable and created when missing
 * (run/create_dirs.c). This table is the one place that lists them; the
 * README's --cache table follows it.
 *
 * Only the cache itself: never the directory around it, where the same
 * tools keep credentials and settings that run code (~/.cargo/credentials
 * .toml and config.toml, ~/.m2/settings.xml, ~/.gradle/gradle.properties,
 * ~/.bundle/config, ~/.npmrc). Each path may be moved by the tool's own
 * variable, read from the caller's environment (which the command
 * inherits, so the tool inside looks where the rule points). */
#include "policy/cache_dirs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

/* One directory of a cache: `var` (the tool's own variable, an absolute
 * path, with `suffix` below it), else `base` (a variable naming a parent,
 * such as XDG_CACHE_HOME or CARGO_HOME) joined with `below`, else
 * `home_default` under $HOME. */
struct cache_dir {
	const char *var;
	const char *base;
	const char *below;
	const char *home_default;
};

#define MAX_DIRS 3

struct cache_tool {
	const char *name;
	const char *why;
	struct cache_dir dirs[MAX_DIRS];
};

static const struct cache_tool cache_tools[] = {
	{"npm", "npm's package cache (not ~/.npmrc, which holds registry tokens)",
	 {{"npm_config_cache", NULL, NULL, ".npm"}}},
	{"yarn", "Yarn 1's cache and Yarn 2+'s global cache",
	 {{"YARN_CACHE_FOLDER", "XDG_CACHE_HOME", "yarn", ".cache/yarn"},
	  {NULL, NULL, NULL, ".yarn/berry/cache"}}},
	{"pnpm", "pnpm's content-addressed store and metadata cache",
	 {{"npm_config_store_dir", "XDG_DATA_HOME", "pnpm/store", ".local/share/pnpm/store"},
	  {NULL, "XDG_CACHE_HOME", "pnpm", ".cache/pnpm"}}},
	{"pip", "pip's HTTP and wheel cache",
	 {{"PIP_CACHE_DIR", "XDG_CACHE_HOME", "pip", ".cache/pip"}}},
	{"uv", "uv's cache", {{"UV_CACHE_DIR", "XDG_CACHE_HOME", "uv", ".cache/uv"}}},
	{"poetry", "Poetry's cache and virtualenvs",
	 {{"POETRY_CACHE_DIR", "XDG_CACHE_HOME", "pypoetry", ".cache/pypoetry"}}},
	{"cargo", "cargo's registry index, crates and git checkouts (not ~/.cargo/credentials*, config.toml, bin)",
	 {{NULL, "CARGO_HOME", "registry", ".cargo/registry"},
	  {NULL, "CARGO_HOME", "git", ".cargo/git"}}},
	{"go", "Go's module cache and build cache",
	 {{"GOMODCACHE", "GOPATH", "pkg/mod", "go/pkg/mod"},
	  {"GOCACHE", "XDG_CACHE_HOME", "go-build", ".cache/go-build"}}},
	{"maven", "Maven's local repository (not ~/.m2/settings.xml, which holds credentials)",
	 {{NULL, NULL, NULL, ".m2/repository"}}},
	{"gradle", "Gradle's caches and wrapper distributions (not gradle.properties, which can hold credentials)",
	 {{NULL, "GRADLE_USER_HOME", "caches", ".gradle/caches"},
	  {NULL, "GRADLE_USER_HOME", "wrapper", ".gradle/wrapper"}}},
	{"composer", "Composer's cache",
	 {{"COMPOSER_CACHE_DIR", "XDG_CACHE_HOME", "composer", ".cache/composer"}}},
	{"bundler", "Bundler's gem cache (not ~/.bundle/config, which holds credentials)",
	 {{"BUNDLE_USER_CACHE", NULL, NULL, ".bundle/cache"}}},
};
#define N_TOOLS (sizeof(cache_tools) / sizeof(cache_tools[0]))

const char *cache_tool_names(void)
{
	return "npm, yarn, pnpm, pip, uv, poetry, cargo, go, maven, gradle, composer, bundler";
}

const char *cache_tool_why(const char *name)
{
	for (size_t i = 0; i < N_TOOLS; i++)
		if (strcmp(cache_tools[i].name, name) == 0)
			return cache_tools[i].why;
	return NULL;
}

/* An environment value usable as a path: absolute, without "..". GOPATH
 * is a list: its first element is the one Go uses. */
static int env_path(const char *tool, const char *var, cache_getenv_fn get, char **out,
		    ab_error *err)
{
	*out = NULL;
	const char *v = var ? get(var) : NULL;
	if (!v || !*v)
		return 0;
	size_t len = strcmp(var, "GOPATH") == 0 ? strcspn(v, ":") : strlen(v);
	_cleanup_free_ char *s = xstrndup(v, len);
	if (!path_is_absolute(s) || path_has_dotdot(s))
		return ab_fail(err, EINVAL,
			       "--cache %s: $%s is '%s', not an absolute path without '..'; "
			       "set it to one (or unset it for the default), or use --write-create with the path",
			       tool, var, v);
	*out = path_normalize(s);
	return 0;
}

static int dir_path(const char *tool, const struct cache_dir *d, cache_getenv_fn get, char **out,
		    ab_error *err)
{
	char *own = NULL;
	int r = env_path(tool, d->var, get, &own, err);
	if (r < 0 || own) {
		*out = own;
		return r;
	}
	_cleanup_free_ char *base = NULL;
	if ((r = env_path(tool, d->base, get, &base, err)) < 0)
		return r;
	*out = base ? path_join(base, d->below) : xasprintf("~/%s", d->home_default);
	return 0;
}

int cache_dirs_resolve(const char *name, cache_getenv_fn get, strv *out, ab_error *err)
{
	for (size_t i = 0; i < N_TOOLS; i++) {
		const struct cache_tool *t = &cache_tools[i];
		if (strcmp(t->name, name) != 0)
			continue;
		for (size_t d = 0; d < MAX_DIRS && (t->dirs[d].home_default); d++) {
			char *p = NULL;
			int r = dir_path(name, &t->dirs[d], get, &p, err);
			if (r < 0)
				return r;
			strv_push_owned(out, p);
		}
		return 0;
	}
	return ab_fail(err, EINVAL, "--cache %s: unknown package manager (known: %s)", name,
		       cache_tool_names());
}

int policy_add_cache(ab_policy *p, const char *names, cache_getenv_fn get, const char *from,
		     ab_error *err)
{
	_cleanup_free_ char *list = xstrdup(names);
	char *save = NULL;
	bool any = false;
	for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		while (*name == ' ')
			name++;
		if (!*name)
			continue;
		any = true;
		strv dirs = {0};
		int r = cache_dirs_resolve(name, get, &dirs, err);
		_cleanup_free_ char *origin = from ? xasprintf("%s (cache %s)", from, name)
						   : xasprintf("--cache %s", name);
		for (size_t i = 0; r == 0 && i < dirs.n; i++)
			r = policy_add_path_cache(p, dirs.v[i], origin, err);
		strv_free(&dirs);
		if (r < 0)
			return r;
	}
	if (!any)
		return ab_fail(err, EINVAL, "--cache: no package manager named (known: %s)",
			       cache_tool_names());
	return 0;
}

struct cache_args {
	ab_policy *p;
	const char *text;
	ab_error *err;
};

static const char *process_getenv(const char *name)
{
	return getenv(name);
}

static int add_cache_body(void *ctx)
{
	struct cache_args *a = ctx;
	return policy_add_cache(a->p, a->text, process_getenv, NULL, a->err);
}

int ab_policy_add_cache(ab_policy *p, const char *names, ab_error *err)
{
	struct cache_args a = {.p = p, .text = names, .err = err};
	return oom_guarded(add_cache_body, &a, err, "ab_policy_add_cache");
}

static int add_create_body(void *ctx)
{
	struct cache_args *a = ctx;
	return policy_add_path_create(a->p, a->text, "--write-create", a->err);
}

int ab_policy_add_path_create(ab_policy *p, const char *path, ab_error *err)
{
	struct cache_args a = {.p = p, .text = path, .err = err};
	return oom_guarded(add_create_body, &a, err, "ab_policy_add_path_create");
}
