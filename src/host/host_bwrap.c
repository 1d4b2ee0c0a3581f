/* The system bubblewrap as the bwrap backend would use it, and whether it
 * can actually build a sandbox here: a bwrap that is installed but cannot
 * create its namespaces is as good as none. The trial is bounded in time
 * (a hung automount under / must not hang doctor). */
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define TRIAL_TIMEOUT_MS 3000

static void trial(struct host_bwrap *b)
{
	char *argv[12];
	int n = 0;
	argv[n++] = (char *)"bwrap";
	argv[n++] = (char *)"--unshare-user";
	argv[n++] = (char *)"--unshare-pid";
	if (b->info.unshare_ipc)
		argv[n++] = (char *)"--unshare-ipc";
	argv[n++] = (char *)"--unshare-net";
	argv[n++] = (char *)"--ro-bind";
	argv[n++] = (char *)"/";
	argv[n++] = (char *)"/";
	/* An absolute path where there is one: bwrap looks the command up
	 * in doctor's own PATH, which may not be the one runs get. */
	argv[n++] = (char *)(access("/bin/true", X_OK) == 0 ? "/bin/true"
				: access("/usr/bin/true", X_OK) == 0 ? "/usr/bin/true" : "true");
	argv[n] = NULL;

	b->run_status = -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		b->run_error = xasprintf("cannot create a pipe: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		dup2(p[1], 2);
		execv(b->info.path, argv);
		dprintf(2, "cannot execute %s: %s\n", b->info.path, strerror(errno));
		_exit(127);
	}
	int e = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		b->run_error = xasprintf("cannot fork: %s", strerror(e));
		return;
	}
	sbuf out = {0};
	double deadline = monotonic_ms() + TRIAL_TIMEOUT_MS;
	bool timed_out = false;
	for (;;) {
		double left = deadline - monotonic_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		int r = poll(&pf, 1, (int)left + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;
		char buf[1024];
		ssize_t got = r < 0 ? -1 : read(p[0], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (out.len < 8192)
			sbuf_addn(&out, buf, (size_t)got);
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		b->run_error = xasprintf("did not finish within %d ms", TRIAL_TIMEOUT_MS);
	} else if (WIFEXITED(status)) {
		b->run_status = WEXITSTATUS(status);
		b->ran = b->run_status == 0;
		if (!b->ran)
			b->run_error = out.s && out.s[0] ? xstrndup(out.s, strcspn(out.s, "\n"))
							 : xasprintf("exited with status %d", b->run_status);
	} else {
		b->run_error = xasprintf("killed by signal %d", WTERMSIG(status));
	}
	sbuf_free(&out);
}

void host_bwrap_probe(struct host_bwrap *b)
{
	memset(b, 0, sizeof(*b));
	b->run_status = -1;
	ab_error err = {0};
	_cleanup_free_ char *path = NULL;
	if (bwrap_locate(NULL, &path, &err) < 0 || bwrap_probe(path, NULL, true, &b->info, &err) < 0) {
		snprintf(b->locate_error, sizeof(b->locate_error), "%s", err.message);
		return;
	}
	b->found = true;
	trial(b);
}

void host_bwrap_free(struct host_bwrap *b)
{
	if (b->found)
		bwrap_info_free(&b->info);
	free(b->run_error);
	b->run_error = NULL;
}
