/* bench/floor.c: the least any namespace sandbox can cost on this kernel.
 *
 *   floor COMMAND [ARG...]
 *
 * A static program that does only the kernel work a `--net none` run of
 * agentbox cannot avoid: one clone into new user, mount, PID, IPC, UTS and
 * network namespaces, the uid/gid maps, and a PID 1 that forks the command
 * and waits for it. No mounts, no policy, no seccomp, no loopback, no error
 * messages. bench/startup.sh times it next to bare and agentbox, so the
 * ratios show how much of agentbox's cost is the kernel's and how much is
 * agentbox's own. Exits with the command's status (1 on any failure). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int pid1(char **argv)
{
	pid_t cmd = fork();
	if (cmd < 0)
		return 1;
	if (cmd == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int st, code = 1;
	pid_t p;
	/* Reap everything, as a PID 1 must; keep the command's status. */
	while ((p = wait(&st)) > 0 || (p < 0 && errno == EINTR))
		if (p == cmd)
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return code;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: floor COMMAND [ARG...]\n");
		return 2;
	}
	char uid_map[64], gid_map[64];
	snprintf(uid_map, sizeof(uid_map), "%d %d 1\n", (int)getuid(), (int)getuid());
	snprintf(gid_map, sizeof(gid_map), "%d %d 1\n", (int)getgid(), (int)getgid());
	long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
		     CLONE_NEWUTS | CLONE_NEWNET;
	pid_t child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (child < 0) {
		perror("floor: clone");
		return 1;
	}
	if (child == 0) {
		if (write_file("/proc/self/uid_map", uid_map) < 0 ||
		    write_file("/proc/self/setgroups", "deny") < 0 ||
		    write_file("/proc/self/gid_map", gid_map) < 0)
			_exit(1);
		_exit(pid1(argv + 1));
	}
	int st;
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
