/* `agentbox proxy`: the policy proxy alone, for other sandboxes (point
 * their HTTP_PROXY / ALL_PROXY at it) and for tests. */
#include "cli/proxy_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/domain.h"
#include "net/approvals.h"
#include "net/net_policy.h"
#include "net/proxy.h"
#include "common/events.h"

static void usage(FILE *out)
{
	fputs("usage: agentbox proxy [OPTIONS] --listen ADDR:PORT [--socks-listen ADDR:PORT]\n"
	      "\n"
	      "Runs the policy proxy alone: an HTTP proxy (http:// URLs and CONNECT)\n"
	      "and optionally a SOCKS5 proxy. When both ports are bound it prints one\n"
	      "JSON line with them on stdout; it runs until SIGINT or SIGTERM.\n"
	      "\n"
	      "  --allow-domain PATTERN  allow a destination (repeatable)\n"
	      "  --deny-domain PATTERN   deny a destination; deny wins (repeatable)\n"
	      "      PATTERN: example.com, *.example.com (subdomains), **.example.com\n"
	      "      (both), * (allow only), 192.0.2.7, [2001:db8::1], each with an\n"
	      "      optional :PORT or :LO-HI. Loopback, private, link-local and other\n"
	      "      non-public addresses need an allow rule naming them exactly.\n"
	      "  --policy-file FILE      read the \"network\" section of a policy file:\n"
	      "      {\"mode\": \"proxy\", \"allow\": [...], \"deny\": [...]}\n"
	      "  --listen ADDR:PORT      the HTTP proxy's address (port 0: any free port)\n"
	      "  --socks-listen ADDR:PORT  the SOCKS5 proxy's address\n"
	      "  --listen-any            allow non-loopback listen addresses: anyone who\n"
	      "      can reach the port gets whatever the rules allow, so only do this\n"
	      "      on a network you control\n"
	      "  --events-fd N           write network events (JSON lines) to fd N\n"
	      "  --header-timeout SECONDS  time a client has to send its request (10)\n"
	      "  --dns-timeout SECONDS   time a name lookup may take (5)\n"
	      "  --max-connections N     connections served at once (4096)\n"
	      "\n"
	      "Approvals: a destination no rule covers is put to a human, who can\n"
	      "allow or deny it once, for the proxy's life, or always (saved). Without\n"
	      "a channel, or without an answer in time, it is refused.\n"
	      "  --approvals-tty         ask on the controlling terminal (/dev/tty):\n"
	      "      y allow once, s allow for this session, a allow always,\n"
	      "      n deny once, d deny for this session, b block always\n"
	      "  --approvals-fd N        ask on fd N (a socket, read-write pipe or tty),\n"
	      "      one JSON object per line each way:\n"
	      "      -> {\"type\":\"approval_request\",\"id\":1,\"host\":\"example.com\",\n"
	      "          \"port\":443,\"protocol\":\"https_connect\",\"command\":null}\n"
	      "      <- {\"id\":1,\"decision\":\"allow_session\"}  (allow_once, allow_session,\n"
	      "          allow_always, deny_once, deny_session, deny_always)\n"
	      "      -> {\"type\":\"approval_cancelled\",\"id\":1,\"reason\":\"timeout\"}\n"
	      "          (or \"no_waiters\": the client left; \"answered\": on the terminal)\n"
	      "      -> {\"type\":\"approval_saved\",...} or {\"type\":\"approval_warning\",\n"
	      "          \"id\":1,\"warning\":TEXT} after an \"always\" answer\n"
	      "  --approval-timeout SECONDS  time an answer may take (60), then deny\n"
	      "  --approvals-save FILE   the policy file \"always\" answers are added to\n"
	      "      (\"network\".\"allow\"/\"deny\" as HOST:PORT; other keys are kept)\n",
	      out);
}

static int parse_seconds(const char *opt, const char *v, unsigned *ms, ab_error *err)
{
	char *end;
	errno = 0;
	double s = strtod(v, &end);
	if (errno || end == v || *end || !(s > 0) || s > 86400)
		return ab_fail(err, EINVAL, "%s: '%s' is not a number of seconds between 0 and 86400",
			       opt, v);
	*ms = (unsigned)(s * 1000 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

static int parse_uint(const char *opt, const char *v, unsigned max, unsigned *out, ab_error *err)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > max)
		return ab_fail(err, EINVAL, "%s: '%s' is not a whole number up to %u", opt, v, max);
	*out = (unsigned)n;
	return 0;
}

static int parse_args(int argc, char **argv, struct proxy_config *cfg,
		      struct domain_rules *rules, struct approvals_config *ac, bool *help,
		      ab_error *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = true;
			return 0;
		}
		if (strcmp(a, "--listen-any") == 0) {
			cfg->listen_any = true;
			continue;
		}
		if (strcmp(a, "--approvals-tty") == 0) {
			ac->tty = true;
			continue;
		}
		static const char *const with_value[] = {
			"--allow-domain", "--deny-domain", "--policy-file", "--listen",
			"--socks-listen", "--events-fd", "--header-timeout", "--dns-timeout",
			"--max-connections", "--approvals-fd", "--approval-timeout",
			"--approvals-save", NULL,
		};
		bool known = false;
		for (size_t k = 0; with_value[k]; k++)
			known |= strcmp(a, with_value[k]) == 0;
		if (!known)
			return ab_fail(err, EINVAL, "proxy: unknown option '%s' (see 'agentbox proxy --help')", a);
		if (i + 1 >= argc)
			return ab_fail(err, EINVAL, "proxy: %s needs a value", a);
		const char *v = argv[++i];
		int r = 0;
		if (strcmp(a, "--allow-domain") == 0 || strcmp(a, "--deny-domain") == 0) {
			r = domain_rules_add(rules, v, a[2] == 'a', err);
		} else if (strcmp(a, "--policy-file") == 0) {
			r = net_policy_load_file(v, rules, err);
		} else if (strcmp(a, "--listen") == 0) {
			cfg->http_listen = v;
		} else if (strcmp(a, "--socks-listen") == 0) {
			cfg->socks_listen = v;
		} else if (strcmp(a, "--events-fd") == 0) {
			unsigned fd = 0;
			if ((r = parse_uint(a, v, 1u << 20, &fd, err)) == 0) {
				if (fcntl((int)fd, F_GETFD) < 0)
					return ab_fail_errno(err, errno, "--events-fd %u is not an open file descriptor", fd);
				cfg->events_fd = (int)fd;
			}
		} else if (strcmp(a, "--approvals-fd") == 0) {
			unsigned fd = 0;
			if ((r = parse_uint(a, v, 1u << 20, &fd, err)) == 0)
				ac->fd = (int)fd;
		} else if (strcmp(a, "--approval-timeout") == 0) {
			r = parse_seconds(a, v, &ac->timeout_ms, err);
		} else if (strcmp(a, "--approvals-save") == 0) {
			ac->save_path = v;
		} else if (strcmp(a, "--header-timeout") == 0) {
			r = parse_seconds(a, v, &cfg->header_timeout_ms, err);
		} else if (strcmp(a, "--dns-timeout") == 0) {
			r = parse_seconds(a, v, &cfg->dns_timeout_ms, err);
		} else if (strcmp(a, "--max-connections") == 0) {
			r = parse_uint(a, v, 1u << 20, &cfg->max_conns, err);
			if (r == 0 && cfg->max_conns == 0)
				return ab_fail(err, EINVAL, "--max-connections must be at least 1");
		}
		if (r < 0)
			return r;
	}
	if (!cfg->http_listen && !cfg->socks_listen)
		return ab_fail(err, EINVAL, "proxy: --listen ADDR:PORT is required (e.g. --listen 127.0.0.1:3128)");
	return 0;
}

/* SIGINT/SIGTERM as a readable fd, so the loop stops between events and
 * closes every connection cleanly. */
static int stop_signals(ab_error *err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return ab_fail_errno(err, errno, "cannot block SIGINT/SIGTERM");
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return ab_fail_errno(err, errno, "cannot create a signalfd");
	return fd;
}

int proxy_cmd_main(int argc, char **argv)
{
	struct proxy_config cfg;
	struct domain_rules rules = {0};
	ab_error err = {0};
	bool help = false;
	struct proxy *p = NULL;
	struct approvals *ap = NULL;
	struct approvals_config ac = {.fd = -1};
	struct events ev = {.fd = -1};
	int status = 1, sfd = -1;
	proxy_config_defaults(&cfg);
	cfg.rules = &rules;
	if (parse_args(argc, argv, &cfg, &rules, &ac, &help, &err) < 0)
		goto fail;
	if (help) {
		usage(stdout);
		domain_rules_free(&rules);
		return 0;
	}
	/* A client that disappears mid-write must not kill the proxy. */
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = stop_signals(&err)) < 0)
		goto fail;
	if (ac.fd >= 0 || ac.tty) {
		if (approvals_new(&ap, &ac, &err) < 0)
			goto fail;
		cfg.decider = approvals_decider(ap);
	} else if (ac.save_path) {
		fprintf(stderr, "agentbox: warning: --approvals-save without --approvals-tty or --approvals-fd: nobody is asked, so nothing is saved\n");
	}
	/* A stalled events reader must not stall the proxy's loop. */
	events_open(&ev, cfg.events_fd, NULL, NULL, false);
	events_async_start(&ev);
	cfg.events = &ev;
	if (proxy_new(&p, &cfg, &err) < 0)
		goto fail;
	printf("{\"event\":\"proxy_ready\",\"http_port\":%u,\"socks_port\":%u}\n",
	       proxy_http_port(p), proxy_socks_port(p));
	fflush(stdout);
	if (proxy_run(p, sfd, &err) < 0)
		goto fail;
	status = 0;
	goto out;
fail:
	fprintf(stderr, "agentbox: %s\n", err.message);
out:
	proxy_free(p);
	events_close(&ev);
	approvals_free(ap);
	if (sfd >= 0)
		close(sfd);
	domain_rules_free(&rules);
	return status;
}
