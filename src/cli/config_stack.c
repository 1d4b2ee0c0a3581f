/* Building the policy of one CLI invocation from its configuration layers
 * (cli/config_stack.h says the order and the merge rules). */
#include "cli/config_stack.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "common/error.h"
#include "config/discover.h"
#include "config/trust.h"
#include "config/widen.h"
#include "policy/policy.h"

int cli_config_read_layer(const char *path, const char *source, struct policy_layer *out,
			  char **text, ab_error *err)
{
	sbuf buf = {0};
	*text = NULL;
	int r = config_read(path, &buf, err);
	if (r != 0)
		return r;
	r = policy_layer_parse(buf.s ? buf.s : "", buf.len, source, out, err);
	if (r < 0) {
		sbuf_free(&buf);
		return r;
	}
	*text = buf.s ? buf.s : xstrdup("");
	return 0;
}

ab_policy *cli_config_compose(const struct policy_layer *const *layers, size_t n,
			      const char *flag_preset, bool file_given, const char **preset_out,
			      const char **preset_from)
{
	const char *preset = NULL, *from = NULL;
	for (size_t i = 0; i < n; i++)
		if (layers[i]->preset) {
			preset = layers[i]->preset;
			from = layers[i]->source;
		}
	if (flag_preset) {
		preset = flag_preset;
		from = "--policy";
	}
	/* a --policy-file without a preset starts from nothing, as it
	 * always did: the file is the whole policy */
	if (!preset && !file_given) {
		preset = "read-only";
		from = "built-in default";
	}
	ab_policy *p = policy_new();
	/* a file's preset names its file in the rules' origin; one of
	 * --policy or the default reads as it always did ("preset
	 * workspace-write"), the layers section of explain says which */
	bool from_file = preset && strcmp(from, "--policy") != 0 && strcmp(from, "built-in default") != 0;
	if (preset)
		policy_apply_preset_from(p, preset, from_file ? from : NULL, NULL);
	for (size_t i = 0; i < n; i++)
		policy_layer_merge(p, layers[i]);
	if (preset_out)
		*preset_out = preset;
	if (preset_from)
		*preset_from = from;
	return p;
}

/* Which layer chose the network mode, for the network checks' messages
 * ("policy file F", "user config U", "project file P"). */
static char *mode_layer(const struct policy_layer *const *ls, size_t n,
			const struct policy_layer *file)
{
	const struct policy_layer *from = NULL;
	for (size_t i = 0; i < n; i++)
		if (ls[i]->net_set || ls[i]->rules->domains.n_allow + ls[i]->rules->domains.n_deny)
			from = ls[i];
	if (!from)
		return xstrdup("a policy file");
	return from == file ? xasprintf("policy file %s", from->source) : xstrdup(from->source);
}

struct build_args {
	char **argv;
	int end;
	const char *base, *flag_preset, *file;
	const struct net_flags *nf;
};

static int build(struct cli_config *c, bool with_project, const struct build_args *a,
		 ab_policy **out, ab_error *err)
{
	const struct policy_layer *ls[3];
	size_t n = 0;
	if (c->user.rules)
		ls[n++] = &c->user;
	if (with_project && c->project.rules)
		ls[n++] = &c->project;
	if (c->file.rules)
		ls[n++] = &c->file;
	const char *preset, *from;
	ab_policy *p = cli_config_compose(ls, n, a->flag_preset, a->file != NULL, &preset, &from);
	int r = cli_apply_flags(p, a->argv, a->end, a->base, err);
	_cleanup_free_ char *label = mode_layer(ls, n, &c->file);
	if (r == 0)
		r = cli_settle_network(p, a->nf, label, err);
	if (r < 0) {
		ab_policy_free(p);
		return r;
	}
	if (with_project) {
		free(c->preset);
		free(c->preset_from);
		c->preset = preset ? xstrdup(preset) : NULL;
		c->preset_from = from ? xstrdup(from) : NULL;
	}
	*out = p;
	return 0;
}

static int read_discovered(struct cli_config *c, ab_error *err)
{
	if (c->user_dir) {
		_cleanup_free_ char *path = path_join(c->user_dir, CONFIG_USER_FILE);
		_cleanup_free_ char *source = xasprintf("user config %s", path);
		_cleanup_free_ char *text = NULL;
		int r = cli_config_read_layer(path, source, &c->user, &text, err);
		if (r < 0) {
			ab_error_hint(err, "this is your user configuration; fix it, or run with --no-config to ignore it");
			return r;
		}
	}
	for (size_t i = 0; i < c->places.n; i++) {
		_cleanup_free_ char *source = xasprintf("project file %s", c->places.v[i]);
		int r = cli_config_read_layer(c->places.v[i], source, &c->project, &c->project_text, err);
		if (r < 0) {
			ab_error_hint(err, "this is the project's configuration file, found by discovery; fix it, or run with --no-config to ignore it");
			return r;
		}
		if (r == 0) {
			c->project_path = xstrdup(c->places.v[i]);
			sha256_hex(c->project_text, strlen(c->project_text), c->project_sha);
			break;
		}
	}
	return 0;
}

/* Every place a project file is looked for is kept read-only (or, when
 * missing, uncreatable) rather than refused when writable, unlike a
 * --policy-file: its content is untrusted anyway (it may only narrow
 * unless its hash is trusted), so an earlier run that rewrote it gained
 * nothing, and this run must not let the next one find another. */
static void set_paths(struct cli_config *c)
{
	c->paths = xcalloc(c->places.n, sizeof(*c->paths));
	for (size_t i = 0; i < c->places.n; i++) {
		bool found = c->project_path && strcmp(c->project_path, c->places.v[i]) == 0;
		c->paths[c->n_paths++] = (ab_config_path){
			.path = c->places.v[i],
			.role = found ? "project file" : "project file place",
			.block = true,
		};
	}
}

static int refuse_widening(const struct cli_config *c, ab_error *err)
{
	sbuf b = {0};
	sbuf_addf(&b, "the project file %s widens what your configuration and flags allow, and you have not trusted it (sha256 %s):",
		  c->project_path, c->project_sha);
	for (size_t i = 0; i < c->widenings.n; i++)
		sbuf_addf(&b, "\n  - %s", c->widenings.v[i]);
	sbuf_addf(&b, "\na project file comes with the code and may only narrow on its own; nothing ran.\n"
		      "fix: review it and run `agentbox trust %s` to let it widen (a changed file needs trusting again), or run with --no-config to ignore discovered files",
		  c->project_path);
	int r = ab_fail(err, EPERM, "%s", b.s);
	sbuf_free(&b);
	return r;
}

static void add_lines(struct cli_config *c, const struct build_args *a, bool no_config)
{
	strv *l = &c->lines;
	strv_push_owned(l, xasprintf("built-in default: %s",
				     c->preset_from && strcmp(c->preset_from, "built-in default") == 0 ?
				     "preset read-only" :
				     a->file ? "not used (a --policy-file without a preset starts from nothing)" :
				     "not used (a layer names the preset)"));
	_cleanup_free_ char *upath = c->user_dir ? path_join(c->user_dir, CONFIG_USER_FILE) : NULL;
	strv_push_owned(l, xasprintf("user config: %s%s", upath ? upath : "(no $HOME or $XDG_CONFIG_HOME)",
				     no_config ? " (ignored: --no-config)" : c->user.rules ? "" : " (absent)"));
	if (no_config)
		strv_push_owned(l, xstrdup("project file: (ignored: --no-config)"));
	else if (!c->project_path)
		strv_push_owned(l, xasprintf("project file: none (looked for %s%s%s)", c->places.v[0],
					     c->places.n > 1 ? " and " : "", c->places.n > 1 ? c->places.v[1] : ""));
	else
		strv_push_owned(l, xasprintf("project file: %s (sha256 %s): %s", c->project_path, c->project_sha,
					     c->widenings.n == 0 ? "narrows only" :
					     "widens, trusted by the user"));
	for (size_t i = 0; c->project_path && i < c->widenings.n; i++)
		strv_push_owned(l, xasprintf("  widens: %s", c->widenings.v[i]));
	strv_push_owned(l, xasprintf("--policy-file: %s", a->file ? a->file : "none"));
	sbuf f = {0};
	for (int i = 2; i < a->end; i++) {
		sbuf_add(&f, f.len ? " " : "");
		sbuf_add_shell_word(&f, a->argv[i]);
	}
	strv_push_owned(l, xasprintf("flags: %s", f.s ? f.s : "none"));
	sbuf_free(&f);
	strv_push_owned(l, xasprintf("preset: %s (from %s)", c->preset ? c->preset : "none",
				     c->preset_from ? c->preset_from : "no layer"));
}

int cli_config_build(struct cli *cli, char **argv, int end, const char *base,
		     const char *flag_preset, const char *file, const struct net_flags *nf,
		     ab_error *err)
{
	struct cli_config *c = &cli->cfg;
	struct build_args a = {.argv = argv, .end = end, .base = base, .flag_preset = flag_preset,
			       .file = file, .nf = nf};
	if (flag_preset) {
		ab_policy *check = policy_new();
		int r = policy_apply_preset(check, flag_preset, err);
		ab_policy_free(check);
		if (r < 0)
			return r;
	}
	char *canon = realpath(base, NULL);
	const char *home = getenv("HOME");
	_cleanup_free_ char *home_canon = home && home[0] == '/' ? realpath(home, NULL) : NULL;
	config_project_places(canon ? canon : base, home_canon ? home_canon : home, &c->places);
	c->user_dir = config_user_dir();
	int r = 0;
	if (!cli->no_config)
		r = read_discovered(c, err);
	if (r == 0 && file) {
		_cleanup_free_ char *text = NULL;
		r = cli_config_read_layer(file, file, &c->file, &text, err);
		if (r == 1) /* missing: the same message as always */
			r = policy_read_file(file, &(sbuf){0}, err);
	}
	if (r == 0)
		r = build(c, true, &a, &cli->policy, err);
	if (r == 0 && c->project_path) {
		ab_policy *without = NULL;
		r = build(c, false, &a, &without, err);
		if (r == 0)
			r = config_widenings(without, cli->policy, canon ? canon : base, &c->widenings, err);
		ab_policy_free(without);
		if (r == 0 && c->widenings.n > 0) {
			r = trust_lookup(c->user_dir ? c->user_dir : "/nonexistent", c->project_path,
					 c->project_sha, &c->project_trusted, NULL, err);
			if (r == 0 && !c->project_trusted)
				r = refuse_widening(c, err);
		}
	}
	free(canon);
	if (r < 0)
		return r;
	set_paths(c);
	cli->opts.config_paths = c->paths;
	cli->opts.n_config_paths = c->n_paths;
	add_lines(c, &a, cli->no_config);
	return 0;
}

void cli_config_print_layers(const struct cli_config *c, FILE *out)
{
	fputs("configuration layers (lowest first; a later layer wins):\n", out);
	for (size_t i = 0; i < c->lines.n; i++)
		fprintf(out, "  %s\n", c->lines.v[i]);
	fputc('\n', out);
}

void cli_config_free(struct cli_config *c)
{
	free(c->user_dir);
	free(c->preset);
	free(c->preset_from);
	if (c->user.rules)
		policy_layer_free(&c->user);
	if (c->project.rules)
		policy_layer_free(&c->project);
	if (c->file.rules)
		policy_layer_free(&c->file);
	free(c->project_path);
	free(c->project_text);
	strv_free(&c->widenings);
	strv_free(&c->places);
	strv_free(&c->lines);
	free(c->paths);
	memset(c, 0, sizeof(*c));
}
