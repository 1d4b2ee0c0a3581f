#include "cli/options.h"
#include "cli/glob_flags.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/domain.h"
#include "policy/policy.h"
#include "run/run_options.h"

void cli_usage(FILE *out)
{
	fputs("usage: agentbox run [OPTIONS] -- COMMAND [ARG...]\n"
	      "       agentbox explain [OPTIONS] [--json] [-- COMMAND [ARG...]]\n"
	      "       agentbox config [OPTIONS]   (the merged configuration as JSON)\n"
	      "       agentbox trust [PATH]       (let a project file widen; see README)\n"
	      "       agentbox doctor [--json]\n"
	      "       agentbox proxy [OPTIONS] --listen ADDR:PORT (see 'agentbox proxy --help')\n"
	      "       agentbox --help | --version\n"
	      "\n"
	      "Runs COMMAND with the filesystem read-only except the paths a policy makes\n"
	      "writable (.git, .agentbox, shell start-up files, editor and agent settings\n"
	      "stay read-only in them: docs/policy.md lists them), and no network.\n"
	      "\n"
	      "options:\n"
	      "  --policy NAME         read-only (default), workspace-write or full-access\n"
	      "  --no-config           ignore ~/.config/agentbox/config.json and the\n"
	      "                        project's .agentbox/policy.json\n"
	      "  --policy-file FILE    JSON policy (see docs/policy.md); refused when the\n"
	      "                        run could write it (keep it in .agentbox/ or outside)\n"
	      "  --write PATH          make PATH writable\n"
	      "  --read PATH           make PATH readable (read-only)\n"
	      "  --write-create PATH   make directory PATH writable, creating it (mode 0700)\n"
	      "                        when it is missing (PATH as below)\n"
	      "  --cache LIST          make package managers' caches writable, creating them\n"
	      "                        (npm,yarn,pnpm,pip,uv,poetry,cargo,go,maven,gradle,\n"
	      "                        composer,bundler; README: \"Writable caches\")\n"
	      "  --deny PATH           hide PATH\n"
	      "                        PATH: absolute, relative to -C, ~, ~/..., or :root :minimal\n"
	      "                        :cwd :tmpdir :slash_tmp; the most specific rule wins\n"
	      "  --allow-credentials NAME\n"
	      "                        keep one entry of the credential deny set (ssh,\n"
	      "                        aws, npmrc, ... or all; README \"Credentials\")\n"
	      "                        visible; by default each one that exists is hidden\n"
	      "  --deny PATTERN        hide every match of a glob (*, ?, [...], ** for any\n"
	      "                        directories; \\* etc. for a literal name), found by\n"
	      "                        one bounded walk before the run (see README)\n"
	      "  --allow-read PATH     keep PATH (and below) visible although a deny glob or\n"
	      "                        the built-in secret set matches it\n"
	      "  --no-default-secret-globs\n"
	      "                        do not hide the built-in secret set (.env, *.pem,\n"
	      "                        *.key, id_rsa*, ...) in a writable working directory\n"
	      "  --glob-partial        when the deny glob walk reaches its bound, hide what\n"
	      "                        it found instead of refusing the run\n"
	      "  --protect NAME        keep NAME read-only under every writable root\n"
	      "  --unprotect NAME      drop a protected name for this run (see docs/policy.md)\n"
	      "  --git protect|commit  protect (default): all of .git read-only; commit:\n"
	      "                        objects, refs, index and HEAD writable, hooks,\n"
	      "                        config, info/ and pointer files still read-only\n"
	      "  --git-scan-depth N    look for nested repositories (.git) N directory levels\n"
	      "                        below each writable root (default 4; 0 = top level only)\n"
	      "  --git-scan-partial    when that search reaches its bound of entries or time,\n"
	      "                        protect what it found instead of refusing the run\n"
	      "  --env-inherit all|core|none\n"
	      "                        the caller's variables the command starts from\n"
	      "                        (default all; core: HOME, PATH, LANG, TERM ...)\n"
	      "  --env-exclude PAT     drop variables whose name matches PAT (a glob,\n"
	      "                        any case; repeatable). Secret-looking names\n"
	      "                        (*KEY*, *TOKEN*, *SECRET*, AWS_* ...) are always\n"
	      "                        dropped: see README \"Environment\"\n"
	      "  --env-include-only PAT  keep only variables matching a PAT (repeatable)\n"
	      "  --env-keep NAME       pass NAME through whatever the rules say (repeatable)\n"
	      "  --env-set NAME=VALUE  give the command NAME=VALUE (repeatable)\n"
	      "  --net none|full|proxy network access (default none; proxy when domain\n"
	      "                        rules are given): proxy leaves only agentbox's\n"
	      "                        policy proxy, which applies the domain rules and\n"
	      "                        asks a human about destinations no rule covers\n"
	      "  --allow-unix PATH     make the host unix socket PATH reachable inside,\n"
	      "                        bound in by its inode (repeatable; see README)\n"
	      "  --allow-domain PATTERN  let the command reach PATTERN (repeatable)\n"
	      "  --deny-domain PATTERN   refuse PATTERN; deny wins over allow (repeatable)\n"
	      "                        PATTERN: example.com, *.example.com (subdomains),\n"
	      "                        **.example.com (both), * (allow only), 192.0.2.7,\n"
	      "                        [2001:db8::1], each with an optional :PORT or :LO-HI\n"
	      "  --approvals-fd N      (proxy) ask about unmatched destinations on fd N,\n"
	      "                        one JSON object per line each way (N >= 3: 0-2\n"
	      "                        are the command's own)\n"
	      "  --approvals-tty       (proxy) ask on the controlling terminal instead\n"
	      "  --approval-timeout SECONDS\n"
	      "                        (proxy) deny when no answer comes (default 60)\n"
	      "  --approvals-save FILE (proxy) add \"always\" answers to policy file FILE\n"
	      "  -C, --cd DIR          working directory of the command (default: current)\n"
	      "  --no-proc             do not mount a fresh /proc\n"
	      "  --timeout SECONDS     kill the whole sandbox after SECONDS (exit 124)\n"
	      "  --events-fd N         write JSON events (start, warning, exit) to fd N\n"
	      "                        (N >= 3, e.g. --events-fd 3 3>&2)\n"
	      "  --backend auto|builtin|bwrap|landlock\n"
	      "                        sandbox backend (default auto, or $AGENTBOX_BACKEND,\n"
	      "                        then named on stderr even with -q): builtin when\n"
	      "                        this host allows it, else bwrap, else landlock (no\n"
	      "                        namespaces; may narrow the plan)\n"
	      "  --exact               refuse to run when the backend can only narrow the\n"
	      "                        plan (landlock), listing what it would refuse\n"
	      "  --require FEATURE     fail unless the backend gives FEATURE (repeatable):\n"
	      "                        userns exact-fs net-none pid-ns landlock seccomp\n"
	      "  --allow-writable-self run even when the sandbox could replace agentbox's\n"
	      "                        own executable (it lies in a writable root): a\n"
	      "                        warning, and the posture says so; without it such\n"
	      "                        a run is refused (exit 125)\n"
	      "  -q, --quiet           no warning or refusal lines on stderr\n"
	      "  --json                (explain) print JSON\n"
	      "\n"
	      "exit status: the command's; 128+N if killed by signal N; 124 timeout;\n"
	      "125 agentbox failed (nothing ran); 126 cannot execute; 127 not found.\n",
	      out);
}

static bool takes_value(const char *opt)
{
	static const char *const with_value[] = {
		"--policy", "--policy-file", "--write", "--read", "--deny", "--protect", "--unprotect", "--net",
		"--allow-unix", "--allow-credentials", "--write-create", "--cache", "--allow-read",
		"-C", "--cd", "--timeout", "--events-fd", "--backend", "--require",
		"--allow-domain", "--deny-domain", "--approvals-fd", "--approval-timeout",
		"--approvals-save", "--git-scan-depth", "--git",
		"--env-inherit", "--env-exclude", "--env-include-only", "--env-keep", "--env-set", NULL,
	};
	for (size_t i = 0; with_value[i]; i++)
		if (strcmp(opt, with_value[i]) == 0)
			return true;
	return false;
}

/* Splits "--opt=value" so both spellings work. */
static void split_eq(const char *arg, char *name, size_t n, const char **value)
{
	const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
	*value = NULL;
	if (eq) {
		snprintf(name, n, "%.*s", (int)(eq - arg), arg);
		*value = eq + 1;
	} else {
		snprintf(name, n, "%s", arg);
	}
}

static char *absolute_from(const char *base, const char *path)
{
	if (path[0] == '/' || path[0] == '~' || path[0] == ':')
		return xstrdup(path);
	char *joined = path_join(base, path);
	char *norm = path_normalize(joined);
	free(joined);
	return norm;
}

static int parse_number(const char *opt, const char *v, double *out, ab_error *err)
{
	char *end = NULL;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || !end || *end || end == v || d < 0 || d != d)
		return ab_fail(err, EINVAL, "%s: '%s' is not a non-negative number", opt, v);
	*out = d;
	return 0;
}

static int parse_fd(const char *opt, const char *v, int *out, ab_error *err)
{
	char *e = NULL;
	errno = 0;
	long fd = strtol(v, &e, 10);
	if (errno || !e || *e || e == v || fd < 0 || fd > INT_MAX)
		return ab_fail(err, EINVAL, "%s: '%s' is not a file descriptor number", opt, v);
	if (fcntl((int)fd, F_GETFD) < 0)
		return ab_fail_errno(err, errno, "%s %ld: descriptor is not open", opt, fd);
	*out = (int)fd;
	return 0;
}

static int parse_net(const char *v, ab_net *out, ab_error *err)
{
	static const ab_net modes[] = {AB_NET_NONE, AB_NET_FULL, AB_NET_PROXY};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(v, ab_net_name(modes[i])) == 0) {
			*out = modes[i];
			return 0;
		}
	}
	return ab_fail(err, EINVAL, "--net: '%s' is not a network mode (use none, full or proxy)", v);
}

/* A flag that sets one value (--policy, --net) may be repeated with the
 * same value; two different values are an error naming both, since
 * "the last one wins" would let a later, forgotten flag widen the run. */
static int same_or_first(const char *name, const char **seen, const char *v, ab_error *err)
{
	if (*seen && strcmp(*seen, v) != 0)
		return ab_fail(err, EINVAL,
			       "%s is given twice with different values ('%s', then '%s'); keep the one you mean",
			       name, *seen, v);
	*seen = v;
	return 0;
}

/* Checked here so a bad pattern is reported before the policy file is
 * read, like every other bad value; pass 2 adds it for real. */
static int check_domain(const char *opt, const char *v, ab_error *err)
{
	struct domain_pattern pat;
	ab_error why;
	if (domain_pattern_parse(v, strcmp(opt, "--allow-domain") == 0, &pat, &why) < 0)
		return ab_fail(err, EINVAL, "%s: %s", opt, why.message);
	domain_pattern_free(&pat);
	return 0;
}

/* Domain rules imply proxy when nothing chose a mode, conflict with an
 * explicit none or full, and approvals only mean something with proxy. */
int cli_settle_network(ab_policy *p, const struct net_flags *f, const char *file,
		       ab_error *err)
{
	bool has_rules = p->domains.n_allow + p->domains.n_deny > 0;
	if (has_rules && !p->net_set)
		ab_policy_set_network(p, AB_NET_PROXY);
	ab_net net = ab_policy_network(p);
	_cleanup_free_ char *mode_from = f->net ? xasprintf("set by --net %s", f->net) :
		p->net_set ? xasprintf("set by %s", file) : xstrdup("the default");
	if (has_rules && net != AB_NET_PROXY) {
		_cleanup_free_ char *rules_from = f->domain ? xstrdup(f->domain) : xstrdup(file);
		return ab_fail(err, EINVAL,
			       "%s: domain rules need network mode proxy, but the mode is %s (%s); use --net proxy, or drop the explicit mode, to apply them",
			       rules_from, ab_net_name(net), mode_from);
	}
	if (f->approval && net != AB_NET_PROXY)
		return ab_fail(err, EINVAL,
			       "%s needs --net proxy (approvals answer for the proxy's destinations), but the network mode is %s (%s)",
			       f->approval, ab_net_name(net), mode_from);
	return 0;
}

/* --env-inherit, --env-exclude, --env-include-only, --env-keep and
 * --env-set (README "Environment"). */
static int cli_apply_env_flag(ab_policy *p, const char *name, const char *v, ab_error *err)
{
	if (strcmp(name, "--env-inherit") == 0)
		return ab_policy_set_env_inherit(p, v, err);
	const char *kind = strcmp(name, "--env-exclude") == 0 ? "exclude" :
			   strcmp(name, "--env-include-only") == 0 ? "include_only" :
			   strcmp(name, "--env-keep") == 0 ? "keep" : "set";
	return ab_policy_add_env_rule(p, kind, v, err);
}

/* Pass 2: the rule flags, in the order given, over the layers below
 * them (cli/config_stack.c). */
int cli_apply_flags(ab_policy *p, char **argv, int end, const char *base, ab_error *err)
{
	int r = 0;
	for (int i = 2; r == 0 && i < end; i++) {
		char name[64];
		const char *v;
		split_eq(argv[i], name, sizeof(name), &v);
		if (!takes_value(name))
			continue;
		if (!v)
			v = argv[++i];
		ab_access acc;
		if (strcmp(name, "--write") == 0)
			acc = AB_ACCESS_WRITE;
		else if (strcmp(name, "--read") == 0)
			acc = AB_ACCESS_READ;
		else if (strcmp(name, "--deny") == 0)
			acc = AB_ACCESS_NONE;
		else if (strcmp(name, "--allow-read") == 0) {
			r = cli_allow_read(p, v, base, err);
			continue;
		} else if (strcmp(name, "--protect") == 0) {
			r = ab_policy_add_protect(p, v, err);
			continue;
		} else if (strcmp(name, "--unprotect") == 0) {
			r = ab_policy_unprotect(p, v, err);
			continue;
		} else if (strcmp(name, "--allow-unix") == 0) {
			r = ab_policy_add_allow_unix(p, v, err);
			continue;
		} else if (strcmp(name, "--allow-credentials") == 0) {
			r = ab_policy_allow_credentials(p, v, err);
			continue;
		} else if (strcmp(name, "--write-create") == 0) {
			_cleanup_free_ char *abs = absolute_from(base, v);
			r = ab_policy_add_path_create(p, abs, err);
			continue;
		} else if (strcmp(name, "--cache") == 0) {
			r = ab_policy_add_cache(p, v, err);
			continue;
		} else if (strcmp(name, "--git") == 0) {
			/* the value was checked by cli_parse */
			ab_git_mode mode = AB_GIT_PROTECT;
			ab_git_mode_parse(v, &mode);
			ab_policy_set_git(p, mode);
			continue;
		} else if (strncmp(name, "--env-", 6) == 0) {
			r = cli_apply_env_flag(p, name, v, err);
			continue;
		} else if (strcmp(name, "--git-scan-depth") == 0) {
			/* after every file: the flag wins over their key;
			 * the value was checked by cli_parse */
			r = ab_policy_set_git_scan_depth(p, atoi(v), err);
			continue;
		} else if (strcmp(name, "--net") == 0) {
			ab_net net = AB_NET_NONE;
			parse_net(v, &net, NULL);
			ab_policy_set_network(p, net);
			continue;
		} else if (strcmp(name, "--allow-domain") == 0 || strcmp(name, "--deny-domain") == 0) {
			r = ab_policy_add_domain(p, v, name[2] == 'a', err);
			continue;
		} else {
			continue;
		}
		_cleanup_free_ char *literal = NULL;
		if (acc == AB_ACCESS_NONE) {
			r = cli_deny_value(p, v, base, &literal, err);
			if (r != 0) {
				r = r < 0 ? r : 0;
				continue;
			}
		}
		_cleanup_free_ char *abs = absolute_from(base, literal ? literal : v);
		_cleanup_free_ char *origin = xasprintf("%s", name);
		r = ab_policy_add_path(p, abs, acc, origin, err);
		if (r < 0)
			ab_error_hint(err, "in option %s %s", name, v);
	}
	return r;
}

int cli_parse(int argc, char **argv, struct cli *cli, ab_error *err)
{
	memset(cli, 0, sizeof(*cli));
	ab_run_options_init(&cli->opts);
	/* The default backend can come from the environment, so that a
	 * whole toolchain (or the test suite) can pin one. */
	const char *env_backend = getenv("AGENTBOX_BACKEND");
	if (env_backend && *env_backend && ab_backend_parse(env_backend, &cli->opts.backend) < 0)
		return ab_fail(err, EINVAL, "AGENTBOX_BACKEND='%s' is not a backend (use auto, builtin, bwrap or landlock)",
			       env_backend);
	if (env_backend && *env_backend && cli->opts.backend != AB_BACKEND_AUTO)
		cli->opts.backend_from_env = "AGENTBOX_BACKEND";
	if (argc < 2)
		return ab_fail(err, EINVAL, "no subcommand; try 'agentbox --help'");
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		cli->command = CLI_HELP;
		return 0;
	}
	if (strcmp(sub, "--version") == 0 || strcmp(sub, "version") == 0) {
		cli->command = CLI_VERSION;
		return 0;
	}
	if (strcmp(sub, "doctor") == 0) {
		/* doctor parses its own flags (src/cli/doctor.c) */
		cli->command = CLI_DOCTOR;
		cli->argv = argv + 2;
		return 0;
	}
	if (strcmp(sub, "trust") == 0) {
		/* trust parses its own arguments (src/cli/trust_cmd.c) */
		cli->command = CLI_TRUST;
		cli->argv = argv + 2;
		return 0;
	}
	if (strcmp(sub, "run") == 0)
		cli->command = CLI_RUN;
	else if (strcmp(sub, "explain") == 0)
		cli->command = CLI_EXPLAIN;
	else if (strcmp(sub, "config") == 0)
		cli->command = CLI_CONFIG;
	else
		return ab_fail(err, EINVAL, "unknown subcommand '%s'; use run, explain, config, trust or doctor (see 'agentbox --help')", sub);

	/* Pass 1: options that decide the base (preset, file, cwd) and every
	 * value check; the rules themselves are applied in pass 2, in order. */
	const char *preset = NULL, *file = NULL, *cd = NULL, *save = NULL, *git_flag = NULL;
	bool scan_partial = false, glob_partial = false, no_secret_globs = false;
	struct net_flags nf = {0};
	int end = argc;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			end = i;
			break;
		}
		char name[64];
		const char *v;
		split_eq(argv[i], name, sizeof(name), &v);
		if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
			cli->command = CLI_HELP;
			return 0;
		}
		if (takes_value(name) && !v) {
			if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
				return ab_fail(err, EINVAL, "option %s needs a value", name);
			v = argv[++i];
		}
		if (strcmp(name, "--policy") == 0) {
			if (same_or_first(name, &preset, v, err) < 0)
				return -EINVAL;
		} else if ((strcmp(name, "--write") == 0 || strcmp(name, "--read") == 0 ||
			    strcmp(name, "--deny") == 0 || strcmp(name, "--write-create") == 0 ||
			    strcmp(name, "--allow-read") == 0) && !*v) {
			/* usually an unset variable ("--write $DIR"): taking
			 * it as the working directory would widen silently */
			return ab_fail(err, EINVAL,
				       "%s: the path is empty (an unset variable?); write the path out, or use %s . for the working directory",
				       name, name);
		} else if (strcmp(name, "--policy-file") == 0) {
			/* one file is read: a second one would be ignored */
			if (same_or_first(name, &file, v, err) < 0)
				return -EINVAL;
		} else if (strcmp(name, "-C") == 0 || strcmp(name, "--cd") == 0) {
			cd = v;
		} else if (strcmp(name, "--net") == 0) {
			ab_net net;
			if (parse_net(v, &net, err) < 0 || same_or_first(name, &nf.net, v, err) < 0)
				return -EINVAL;
		} else if (strcmp(name, "--allow-domain") == 0 || strcmp(name, "--deny-domain") == 0) {
			if (check_domain(name, v, err) < 0)
				return -EINVAL;
			if (!nf.domain)
				nf.domain = name[2] == 'a' ? "--allow-domain" : "--deny-domain";
		} else if (strcmp(name, "--approvals-fd") == 0) {
			int r = parse_fd(name, v, &cli->opts.approvals_fd, err);
			if (r == 0)
				r = run_options_channel_fd(name, cli->opts.approvals_fd, err);
			if (r < 0)
				return r;
			nf.approval = nf.approval ? nf.approval : "--approvals-fd";
		} else if (strcmp(name, "--approvals-tty") == 0) {
			cli->opts.approvals_tty = true;
			nf.approval = nf.approval ? nf.approval : "--approvals-tty";
		} else if (strcmp(name, "--approval-timeout") == 0) {
			int r = parse_number(name, v, &cli->opts.approval_timeout_sec, err);
			if (r < 0)
				return r;
			if (!(cli->opts.approval_timeout_sec > 0) || cli->opts.approval_timeout_sec > 86400)
				return ab_fail(err, EINVAL,
					       "--approval-timeout: '%s' is not a number of seconds above 0 and at most 86400",
					       v);
			nf.approval = nf.approval ? nf.approval : "--approval-timeout";
		} else if (strcmp(name, "--approvals-save") == 0) {
			if (!*v)
				return ab_fail(err, EINVAL, "--approvals-save: the file name is empty");
			save = v;
			nf.approval = nf.approval ? nf.approval : "--approvals-save";
		} else if (strcmp(name, "--git") == 0) {
			ab_git_mode mode;
			if (ab_git_mode_parse(v, &mode) < 0)
				return ab_fail(err, EINVAL,
					       "--git: '%s' is not a git mode (use protect: all of .git read-only, or commit: commits allowed, hooks and config read-only)",
					       v);
			if (same_or_first(name, &git_flag, v, err) < 0)
				return -EINVAL;
		} else if (strcmp(name, "--backend") == 0) {
			if (ab_backend_parse(v, &cli->opts.backend) < 0)
				return ab_fail(err, EINVAL, "--backend: '%s' is not a backend (use auto, builtin, bwrap or landlock)", v);
			cli->opts.backend_from_env = NULL; /* the flag wins */
		} else if (strcmp(name, "--require") == 0) {
			unsigned bit;
			if (ab_require_parse(v, &bit) < 0)
				return ab_fail(err, EINVAL, "--require: '%s' is not a feature (use one of: %s)", v,
					       ab_require_names());
			cli->opts.require |= bit;
		} else if (strcmp(name, "--exact") == 0) {
			cli->opts.exact = true;
		} else if (strcmp(name, "--allow-writable-self") == 0) {
			cli->opts.allow_writable_self = true;
		} else if (strcmp(name, "--git-scan-partial") == 0) {
			scan_partial = true;
		} else if (strcmp(name, "--glob-partial") == 0) {
			glob_partial = true;
		} else if (strcmp(name, "--no-default-secret-globs") == 0) {
			no_secret_globs = true;
		} else if (strcmp(name, "--env-inherit") == 0) {
			enum env_inherit how;
			if (!env_inherit_parse(v, &how))
				return ab_fail(err, EINVAL, "--env-inherit: '%s' is not all, core or none", v);
			/* applied with the other policy flags (cli_apply_flags) */
		} else if (strcmp(name, "--git-scan-depth") == 0) {
			char *endp;
			errno = 0;
			long d = strtol(v, &endp, 10);
			if (!*v || *endp || errno || d < 0 || d > 32)
				return ab_fail(err, EINVAL,
					       "--git-scan-depth: '%s' is not a depth from 0 (the top-level .git only) to 32", v);
			/* applied with the other policy flags (cli_apply_flags) */
		} else if (strcmp(name, "--timeout") == 0) {
			int r = parse_number(name, v, &cli->opts.timeout_sec, err);
			if (r < 0)
				return r;
		} else if (strcmp(name, "--events-fd") == 0) {
			int r = parse_fd(name, v, &cli->opts.events_fd, err);
			if (r == 0)
				r = run_options_channel_fd(name, cli->opts.events_fd, err);
			if (r < 0)
				return r;
		} else if (strcmp(name, "--no-config") == 0) {
			cli->no_config = true;
		} else if (strcmp(name, "--no-proc") == 0) {
			cli->opts.no_proc = true;
		} else if (strcmp(name, "-q") == 0 || strcmp(name, "--quiet") == 0) {
			cli->opts.quiet = true;
		} else if (strcmp(name, "--json") == 0 && cli->command == CLI_EXPLAIN) {
			cli->json = true;
		} else if (!takes_value(name)) {
			return ab_fail(err, EINVAL, "unknown option '%s' (see 'agentbox --help')", argv[i]);
		}
	}
	if (cli->opts.approvals_fd >= 0 && cli->opts.approvals_tty)
		return ab_fail(err, EINVAL,
			       "--approvals-fd and --approvals-tty cannot go together: approvals have one channel; keep one of the two");
	if (end < argc)
		cli->argv = argv + end + 1;
	if (cli->command == CLI_CONFIG && cli->argv)
		return ab_fail(err, EINVAL, "agentbox config prints the configuration and runs no command; drop '-- %s'",
			       cli->argv[0] ? cli->argv[0] : "");
	if (cli->command == CLI_RUN && (!cli->argv || !cli->argv[0]))
		return ab_fail(err, EINVAL, "no command given; usage: agentbox run [OPTIONS] -- COMMAND [ARG...]");

	char here[PATH_MAX];
	if (!getcwd(here, sizeof(here)))
		return ab_fail_errno(err, errno, "cannot determine the current directory; use -C DIR");
	_cleanup_free_ char *base = cd ? absolute_from(here, cd) : xstrdup(here);
	cli->opts.cwd = NULL;

	int r = cli_config_build(cli, argv, end, base, preset, file, &nf, err);
	if (r == 0 && scan_partial)
		ab_policy_set_git_scan_partial(cli->policy, true);
	if (r == 0 && glob_partial)
		ab_policy_set_glob_partial(cli->policy, true);
	if (r == 0 && no_secret_globs)
		ab_policy_set_default_secret_globs(cli->policy, false);
	if (r < 0)
		return r;
	cli->opts.cwd = cd ? xstrdup(base) : NULL;
	/* The file is written by agentbox, outside the sandbox, so it is
	 * named from where agentbox was started, not from -C. */
	if (file) {
		_cleanup_free_ char *joined = file[0] == '/' ? xstrdup(file) : path_join(here, file);
		cli->opts.policy_file = path_normalize(joined);
	}
	if (save) {
		_cleanup_free_ char *joined = save[0] == '/' ? xstrdup(save) : path_join(here, save);
		cli->opts.approvals_save = path_normalize(joined);
	}
	return 0;
}

void cli_free(struct cli *cli)
{
	ab_policy_free(cli->policy);
	cli_config_free(&cli->cfg);
	free((char *)cli->opts.cwd);
	free((char *)cli->opts.approvals_save);
	free((char *)cli->opts.policy_file);
	memset(cli, 0, sizeof(*cli));
}
