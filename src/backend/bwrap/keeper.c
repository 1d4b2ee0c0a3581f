#include "backend/bwrap/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"

/* In the child of a possibly multi-threaded process: async-signal-safe
 * calls only. */
static _Noreturn void keeper_main(int fd)
{
	/* Out of the terminal's process group, and deaf to what is meant for
	 * agentbox: it must outlive agentbox to do its job, and it leaves
	 * on its own as soon as agentbox is gone. */
	setpgid(0, 0);
	struct sigaction ign = {.sa_handler = SIG_IGN};
	int quiet[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		sigaction(quiet[i], &ign, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(fd, 3) < 0)
		_exit(1);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	char c = 0;
	ssize_t n;
	while ((n = read(3, &c, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && c == 'D')
		_exit(0);
	/* the group is ours and bwrap's: this ends the keeper too */
	kill(0, SIGKILL);
	_exit(0);
}

int bwrap_keeper_start(struct bwrap_keeper *k, ab_error *err)
{
	int p[2];
	k->pid = -1;
	k->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return ab_fail_errno(err, errno, "cannot create the pipe for bwrap's keeper process");
	k->pid = fork();
	if (k->pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return ab_fail_errno(err, e, "cannot fork bwrap's keeper process");
	}
	if (k->pid == 0) {
		close(p[1]);
		keeper_main(p[0]);
	}
	/* here too, so that the group exists before bwrap's child asks to
	 * join it, whichever of the two runs first */
	setpgid(k->pid, k->pid);
	close(p[0]);
	k->fd = p[1];
	return 0;
}

void bwrap_keeper_stop(struct bwrap_keeper *k)
{
	if (k->pid <= 0)
		return;
	(void)!write(k->fd, "D", 1);
	close(k->fd);
	while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
		;
	k->pid = -1;
	k->fd = -1;
}
