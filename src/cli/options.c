#include "cli/options.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

void cli_usage(FILE *out)
{
	fputs("usage: agentbox run [OPTIONS] -- COMMAND [ARG...]\n"
	      "       agentbox explain [OPTIONS] [--json] [-- COMMAND [ARG...]]\n"
	      "       agentbox doctor [--json]\n"
	      "       agentbox proxy [OPTIONS] --listen ADDR:PORT (see 'agentbox proxy --help')\n"
	      "       agentbox --help | --version\n"
	      "\n"
	      "Runs COMMAND with the filesystem read-only except the paths a policy makes\n"
	      "writable (.git and .agentbox stay read-only in them), and no network.\n"
	      "\n"
	      "options:\n"
	      "  --policy NAME         read-only (default), workspace-write or full-access\n"
	      "  --policy-file FILE    JSON policy (see docs/policy.md)\n"
	      "  --write PATH          make PATH writable\n"
	      "  --read PATH           make PATH readable (read-only)\n"
	      "  --deny PATH           hide PATH\n"
	      "                        PATH: absolute, relative to -C, ~, ~/..., or :root :minimal\n"
	      "                        :cwd :tmpdir :slash_tmp; the most specific rule wins\n"
	      "  --protect NAME        keep NAME read-only under every writable root\n"
	      "  --net none|full       network access (default none)\n"
	      "  -C, --cd DIR          working directory of the command (default: current)\n"
	      "  --no-proc             do not mount a fresh /proc\n"
	      "  --timeout SECONDS     kill the whole sandbox after SECONDS (exit 124)\n"
	      "  --events-fd N         write JSON events (start, warning, exit) to fd N\n"
	      "  --backend auto|builtin|bwrap|landlock\n"
	      "                        sandbox backend (default auto, or $AGENTBOX_BACKEND):\n"
	      "                        builtin when this host allows it, else bwrap, else\n"
	      "                        landlock (no namespaces; may narrow the plan)\n"
	      "  --exact               refuse to run when the backend can only narrow the\n"
	      "                        plan (landlock), listing what it would refuse\n"
	      "  --require FEATURE     fail unless the backend gives FEATURE (repeatable):\n"
	      "                        userns exact-fs net-none pid-ns landlock seccomp\n"
	      "  -q, --quiet           no warning lines on stderr\n"
	      "  --json                (explain) print JSON\n"
	      "\n"
	      "exit status: the command's; 128+N if killed by signal N; 124 timeout;\n"
	      "125 agentbox failed (nothing ran); 126 cannot execute; 127 not found.\n",
	      out);
}

static bool takes_value(const char *opt)
{
	static const char *const with_value[] = {
		"--policy", "--policy-file", "--write", "--read", "--deny", "--protect", "--net",
		"-C", "--cd", "--timeout", "--events-fd", "--backend", "--require", NULL,
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
	if (strcmp(sub, "run") == 0)
		cli->command = CLI_RUN;
	else if (strcmp(sub, "explain") == 0)
		cli->command = CLI_EXPLAIN;
	else
		return ab_fail(err, EINVAL, "unknown subcommand '%s'; use run, explain or doctor (see 'agentbox --help')", sub);

	/* Pass 1: options that decide the base (preset, file, cwd) and every
	 * value check; the rules themselves are applied in pass 2, in order. */
	const char *preset = NULL, *file = NULL, *cd = NULL;
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
			preset = v;
		} else if (strcmp(name, "--policy-file") == 0) {
			file = v;
		} else if (strcmp(name, "-C") == 0 || strcmp(name, "--cd") == 0) {
			cd = v;
		} else if (strcmp(name, "--net") == 0) {
			if (strcmp(v, "none") != 0 && strcmp(v, "full") != 0)
				return ab_fail(err, EINVAL, "--net: '%s' is not a network mode (use none or full)", v);
		} else if (strcmp(name, "--backend") == 0) {
			if (ab_backend_parse(v, &cli->opts.backend) < 0)
				return ab_fail(err, EINVAL, "--backend: '%s' is not a backend (use auto, builtin, bwrap or landlock)", v);
		} else if (strcmp(name, "--require") == 0) {
			unsigned bit;
			if (ab_require_parse(v, &bit) < 0)
				return ab_fail(err, EINVAL, "--require: '%s' is not a feature (use one of: %s)", v,
					       ab_require_names());
			cli->opts.require |= bit;
		} else if (strcmp(name, "--exact") == 0) {
			cli->opts.exact = true;
		} else if (strcmp(name, "--timeout") == 0) {
			int r = parse_number(name, v, &cli->opts.timeout_sec, err);
			if (r < 0)
				return r;
		} else if (strcmp(name, "--events-fd") == 0) {
			char *e = NULL;
			long fd = strtol(v, &e, 10);
			if (!e || *e || e == v || fd < 0 || fd > INT_MAX)
				return ab_fail(err, EINVAL, "--events-fd: '%s' is not a file descriptor number", v);
			if (fcntl((int)fd, F_GETFD) < 0)
				return ab_fail_errno(err, errno, "--events-fd %ld: descriptor is not open", fd);
			cli->opts.events_fd = (int)fd;
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
	if (end < argc)
		cli->argv = argv + end + 1;
	if (cli->command == CLI_RUN && (!cli->argv || !cli->argv[0]))
		return ab_fail(err, EINVAL, "no command given; usage: agentbox run [OPTIONS] -- COMMAND [ARG...]");

	char here[PATH_MAX];
	if (!getcwd(here, sizeof(here)))
		return ab_fail_errno(err, errno, "cannot determine the current directory; use -C DIR");
	_cleanup_free_ char *base = cd ? absolute_from(here, cd) : xstrdup(here);
	cli->opts.cwd = NULL;

	cli->policy = ab_policy_new();
	int r = 0;
	if (preset || !file)
		r = ab_policy_apply_preset(cli->policy, preset ? preset : "read-only", err);
	if (r == 0 && file)
		r = ab_policy_load_file(cli->policy, file, err);
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
		else if (strcmp(name, "--protect") == 0) {
			r = ab_policy_add_protect(cli->policy, v, err);
			continue;
		} else if (strcmp(name, "--net") == 0) {
			ab_policy_set_network(cli->policy, strcmp(v, "full") == 0 ? AB_NET_FULL : AB_NET_NONE);
			continue;
		} else {
			continue;
		}
		_cleanup_free_ char *abs = absolute_from(base, v);
		_cleanup_free_ char *origin = xasprintf("%s", name);
		r = ab_policy_add_path(cli->policy, abs, acc, origin, err);
		if (r < 0)
			ab_error_hint(err, "in option %s %s", name, v);
	}
	if (r < 0)
		return r;
	cli->opts.cwd = cd ? xstrdup(base) : NULL;
	return 0;
}

void cli_free(struct cli *cli)
{
	ab_policy_free(cli->policy);
	free((char *)cli->opts.cwd);
	memset(cli, 0, sizeof(*cli));
}
