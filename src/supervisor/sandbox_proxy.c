#include "supervisor/sandbox_proxy.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/error.h"
#include "net/approvals.h"
#include "net/bridge.h"
#include "net/proxy.h"
#include "supervisor/tty_relay.h"

struct sandbox_proxy {
	struct proxy *proxy;
	struct approvals *approvals; /* NULL: no channel, unmatched is refused */
	struct tty_relay *relay;     /* the command's pty under --approvals-tty */
	struct events ev;
	struct proxy_config cfg;
	int sock;       /* our end of the bridge */
	int child_sock; /* the sandbox's end, until it has inherited it */
	int stop_fd;    /* eventfd: readable = stop */
	pthread_t thread;
	bool started;
};

/* The terminal device an fd is on; an open of /dev/tty (5:0) stands for
 * our controlling terminal, named by tty_nr in /proc/self/stat. 0 when it
 * cannot be told (then any terminal counts as the same one). */
static dev_t terminal_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	if (st.st_rdev != makedev(5, 0))
		return st.st_rdev;
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp session tty_nr": comm may hold
	 * anything, so from its last ')' */
	char *rp = strrchr(buf, ')');
	char state;
	int ppid, pgrp, sid;
	unsigned tty_nr;
	if (!rp || sscanf(rp + 1, " %c %d %d %d %u", &state, &ppid, &pgrp, &sid, &tty_nr) != 5)
		return 0;
	return makedev((tty_nr >> 8) & 0xfff, (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));
}

/* An approvals fd on the very terminal the command's stdio is on would
 * let the command read the answers typed there (and type its own): only
 * --approvals-tty gives the command a terminal of its own. */
static int check_fd_terminal(const ab_run_options *o, ab_error *err)
{
	if (o->approvals_fd < 0 || !isatty(o->approvals_fd))
		return 0;
	dev_t a = terminal_of(o->approvals_fd);
	static const char *const names[] = {"stdin", "stdout", "stderr"};
	int stdio[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
	for (int i = 0; i < 3; i++) {
		int fd = stdio[i] >= 0 ? stdio[i] : i;
		if (!isatty(fd))
			continue;
		dev_t c = terminal_of(fd);
		if (a == 0 || c == 0 || a == c)
			return ab_fail(err, EINVAL,
				       "--approvals-fd %d is the terminal that the command's %s is on too, so the command could read the answers typed there or type its own\n"
				       "fix: use --approvals-tty (the command then gets a terminal of its own), or give --approvals-fd a socket or pipe to the program that answers",
				       o->approvals_fd, names[i]);
	}
	return 0;
}

int sandbox_proxy_prepare(const struct supervise_request *req, struct sandbox_proxy **out,
			  ab_error *err)
{
	*out = NULL;
	if (req->plan->net != AB_NET_PROXY)
		return 0;
	int cr = check_fd_terminal(req->opts, err);
	if (cr < 0)
		return cr;
	struct sandbox_proxy *sp = xcalloc(1, sizeof(*sp));
	sp->sock = sp->child_sock = sp->stop_fd = -1;
	sp->ev = *req->ev;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int r = ab_fail_errno(err, errno, "cannot create the socket pair of the proxy bridge");
		sandbox_proxy_stop(sp);
		return r;
	}
	sp->sock = sv[0];
	sp->child_sock = sv[1];
	sp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sp->stop_fd < 0) {
		int r = ab_fail_errno(err, errno, "cannot create an eventfd for the proxy");
		sandbox_proxy_stop(sp);
		return r;
	}
	const ab_run_options *o = req->opts;
	int r;
	if (o->approvals_tty) {
		int stdio[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
		if ((r = tty_relay_open(&sp->relay, stdio, req->ev, err)) < 0) {
			sandbox_proxy_stop(sp);
			return r;
		}
	}
	if (o->approvals_fd >= 0 || o->approvals_tty) {
		struct approvals_config ac = {
			.fd = o->approvals_fd,
			.tty = o->approvals_tty,
			.timeout_ms = o->approval_timeout_sec > 0
				? (unsigned)(o->approval_timeout_sec * 1000 + 0.5) : 0,
			.save_path = o->approvals_save,
			.command = req->command,
			.tty_hold = sp->relay ? tty_relay_hold : NULL,
			.tty_release = sp->relay ? tty_relay_release : NULL,
			.tty_user = sp->relay,
		};
		if ((r = approvals_new(&sp->approvals, &ac, err)) < 0) {
			sandbox_proxy_stop(sp);
			return r;
		}
	}
	proxy_config_defaults(&sp->cfg);
	sp->cfg.rules = req->plan->domains;
	sp->cfg.events = &sp->ev;
	sp->cfg.decider = sp->approvals ? approvals_decider(sp->approvals) : NULL;
	sp->cfg.refusals = req->refusals;
	*out = sp;
	return 0;
}

int sandbox_proxy_child_fd(const struct sandbox_proxy *sp)
{
	return sp ? sp->child_sock : -1;
}

void sandbox_proxy_stdio(const struct sandbox_proxy *sp, const ab_run_options *o, int out[3])
{
	int stdio[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
	tty_relay_stdio(sp ? sp->relay : NULL, stdio, out);
}

bool sandbox_proxy_ctty(const struct supervise_request *req)
{
	return req->plan->net == AB_NET_PROXY && req->opts->approvals_tty;
}

struct tty_relay *sandbox_proxy_relay(const struct sandbox_proxy *sp)
{
	return sp ? sp->relay : NULL;
}

/* Waits for the listeners or for stop, whichever comes first: a sandbox
 * whose setup fails never sends them (and says why on its own channel). */
static bool wait_listeners(struct sandbox_proxy *sp)
{
	struct pollfd p[2] = {{.fd = sp->sock, .events = POLLIN}, {.fd = sp->stop_fd, .events = POLLIN}};
	for (;;) {
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents)
			return false;
		if (!p[0].revents)
			continue;
		int fds[2];
		ab_error e;
		if (bridge_recv_listeners(sp->sock, fds, &e) < 0) {
			/* EPIPE: setup failed in the sandbox, which reports it */
			if (e.code != EPIPE)
				events_warning(&sp->ev, "proxy_bridge", NULL, e.message);
			return false;
		}
		/* the proxy owns each fd it is given, also when it refuses it */
		if (proxy_adopt_listener(sp->proxy, fds[0], false, &e) < 0) {
			close(fds[1]);
			events_warning(&sp->ev, "proxy_bridge", NULL, e.message);
			return false;
		}
		if (proxy_adopt_listener(sp->proxy, fds[1], true, &e) < 0) {
			events_warning(&sp->ev, "proxy_bridge", NULL, e.message);
			return false;
		}
		return true;
	}
}

static void *serve(void *arg)
{
	struct sandbox_proxy *sp = arg;
	if (!wait_listeners(sp))
		return NULL;
	ab_error e;
	if (proxy_run(sp->proxy, sp->stop_fd, &e) < 0)
		events_warning(&sp->ev, "proxy_failed", NULL, e.message);
	return NULL;
}

int sandbox_proxy_start(struct sandbox_proxy *sp, ab_error *err)
{
	if (!sp)
		return 0;
	close(sp->child_sock);
	sp->child_sock = -1;
	tty_relay_start(sp->relay);
	/* The sandbox exists (no clone follows): now a writer thread may take
	 * the events, so that a stalled reader cannot stall the proxy. */
	events_async_start(&sp->ev);
	int r = proxy_new(&sp->proxy, &sp->cfg, err);
	if (r < 0)
		return r;
	/* Signals belong to the supervisor's thread (it forwards them to the
	 * command); the proxy's thread takes none. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int e = pthread_create(&sp->thread, NULL, serve, sp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return ab_fail_errno(err, e, "cannot start the proxy's thread");
	sp->started = true;
	return 0;
}

void sandbox_proxy_stop(struct sandbox_proxy *sp)
{
	if (!sp)
		return;
	if (sp->started) {
		uint64_t one = 1;
		if (write(sp->stop_fd, &one, sizeof(one)) != sizeof(one))
			fprintf(stderr, "agentbox: cannot stop the proxy's thread: %s\n", strerror(errno));
		pthread_join(sp->thread, NULL);
	}
	/* proxy_free ends the connections still open (their end events), so
	 * the events writer stops after it. */
	proxy_free(sp->proxy);
	approvals_free(sp->approvals);
	/* after the proxy's thread: it may have been waiting for the relay */
	tty_relay_free(sp->relay);
	events_async_stop(&sp->ev);
	if (sp->sock >= 0)
		close(sp->sock);
	if (sp->child_sock >= 0)
		close(sp->child_sock);
	if (sp->stop_fd >= 0)
		close(sp->stop_fd);
	free(sp);
}
