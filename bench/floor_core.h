/* bench/floor_core.h: the kernel work of bench/floor.c, as one function
 * that both floor.c's main and bench/lib_run.c call, so that the floor
 * timed as a command (bench/startup.sh, bench/concurrency.sh) and the one
 * timed as a library call (bench/library.sh) cannot drift apart.
 *
 * floor_run does only the kernel work a `--net none` run of agentbox
 * cannot avoid: one clone into new user, mount, PID, IPC, UTS and network
 * namespaces, the uid/gid maps, and a PID 1 that forks the command and
 * reaps everything. No mounts, no policy, no seccomp, no loopback, no
 * error messages from the sandbox side. Header-only: each bench tool is
 * built from its one .c file by bench_cc (bench/common.sh). */
#ifndef BENCH_FLOOR_CORE_H
#define BENCH_FLOOR_CORE_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static inline int floor_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The sandbox's PID 1: forks the command and reaps everything, as a PID 1
 * must, keeping the command's status. */
static inline int floor_pid1(char *const *argv)
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
	while ((p = wait(&st)) > 0 || (p < 0 && errno == EINTR))
		if (p == cmd)
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return code;
}

/* Runs argv (argv[0] looked up in PATH) in the fresh namespaces and waits
 * for it. Returns the command's exit status, 1 if the sandbox could not be
 * set up or died of a signal, or -1 (errno set) if the clone or the wait
 * failed. The child leaves through _exit: a raw clone shares no memory, but
 * exit() would flush a copy of the caller's stdio buffers. setup, when not
 * NULL, runs in the sandbox's PID 1 right after the id maps (for
 * bench/posture_floor.c); floor_run passes NULL. */
static inline int floor_run_with(char *const *argv, int (*setup)(void))
{
	char uid_map[64], gid_map[64];
	snprintf(uid_map, sizeof(uid_map), "%d %d 1\n", (int)getuid(), (int)getuid());
	snprintf(gid_map, sizeof(gid_map), "%d %d 1\n", (int)getgid(), (int)getgid());
	long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
		     CLONE_NEWUTS | CLONE_NEWNET;
	pid_t child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (child < 0)
		return -1;
	if (child == 0) {
		if (floor_write_file("/proc/self/uid_map", uid_map) < 0 ||
		    floor_write_file("/proc/self/setgroups", "deny") < 0 ||
		    floor_write_file("/proc/self/gid_map", gid_map) < 0)
			_exit(1);
		if (setup && setup() < 0)
			_exit(1);
		_exit(floor_pid1(argv));
	}
	int st;
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static inline int floor_run(char *const *argv)
{
	return floor_run_with(argv, NULL);
}

#endif
