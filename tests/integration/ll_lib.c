/* A program that links libagentbox, for t_landlock.sh: what Landlock runs
 * do to the process around them.
 *
 *   ll_lib own-child DIR   a Landlock run (ab_start) lasts while another
 *                          thread starts a child of the program's own;
 *                          that child must still be running, and still
 *                          the program's, after the run. Prints
 *                          "own child survived".
 *   ll_lib two DIR MARK    two Landlock runs (ab_run) from two threads
 *                          that can only both finish if they run at the
 *                          same time (each waits for the other's file);
 *                          each leaves a daemonised `sleep 300.MARK`.
 *                          Prints "both ran: 0 0".
 * DIR is writable by the runs (they write DIR/sub/). Exit 0 on success,
 * 1 with a message otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentbox.h"

extern char **environ;

static const char *dir;

static ab_policy *policy(ab_run_options *o)
{
	ab_error err = {0};
	ab_policy *p = ab_policy_new();
	if (!p || ab_policy_apply_preset(p, "read-only", &err) < 0 ||
	    ab_policy_add_path(p, dir, AB_ACCESS_WRITE, "ll_lib", &err) < 0) {
		fprintf(stderr, "ll_lib: policy: %s\n", err.message);
		exit(1);
	}
	ab_run_options_init(o);
	o->backend = AB_BACKEND_LANDLOCK;
	o->cwd = dir;
	o->quiet = true;
	return p;
}

static void *spawn_own(void *arg)
{
	pid_t *pid = arg;
	char a0[] = "sleep", a1[] = "300";
	char *argv[] = {a0, a1, NULL};
	int e = posix_spawn(pid, "/bin/sleep", NULL, NULL, argv, environ);
	if (e != 0) {
		fprintf(stderr, "ll_lib: posix_spawn: %s\n", strerror(e));
		*pid = -1;
	}
	return NULL;
}

static int own_child(void)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0) /* not inherited by our own child */
		return perror("pipe"), 1;
	ab_run_options o;
	ab_policy *p = policy(&o);
	o.stdin_fd = in[0];
	/* runs until we close its stdin */
	char sh[] = "/bin/sh", dash_c[] = "-c", script[] = "read x";
	char *argv[] = {sh, dash_c, script, NULL};
	ab_child *c;
	ab_error err = {0};
	if (ab_start(p, &o, argv, &c, &err) < 0) {
		fprintf(stderr, "ll_lib: ab_start: %s\n", err.message);
		return 1;
	}
	ab_policy_free(p);
	pid_t own = -1;
	pthread_t t;
	pthread_create(&t, NULL, spawn_own, &own);
	pthread_join(t, NULL);
	if (own < 0)
		return 1;
	close(in[1]);
	int status = -1;
	int r = ab_child_wait(c, &status, &err);
	ab_child_free(c);
	close(in[0]);
	if (r < 0) {
		fprintf(stderr, "ll_lib: the run failed: %s\n", err.message);
		return 1;
	}
	int ws;
	pid_t w = waitpid(own, &ws, WNOHANG);
	if (w != 0) {
		fprintf(stderr, "ll_lib: the program's own child %d did not survive the Landlock run (waitpid: %d, %s)\n",
			(int)own, (int)w, w > 0 && WIFSIGNALED(ws) ? strsignal(WTERMSIG(ws)) : w > 0 ? "exited" : strerror(errno));
		if (w > 0 && WIFEXITED(ws))
			fprintf(stderr, "ll_lib: it exited with status %d\n", WEXITSTATUS(ws));
		return 1;
	}
	kill(own, SIGKILL);
	waitpid(own, NULL, 0);
	printf("own child survived (run exit %d)\n", status);
	return 0;
}

struct two_run {
	const char *me, *other, *mark;
	int ret, status;
	ab_error err;
};

static void *two_thread(void *arg)
{
	struct two_run *r = arg;
	ab_run_options o;
	ab_policy *p = policy(&o);
	char script[512];
	/* bounded: 600 x 0.05 s; the runs are serialised if the other never
	 * shows up */
	snprintf(script, sizeof(script),
		 "setsid sleep 300.%s </dev/null >/dev/null 2>&1 & echo $! >sub/pid.%s; touch sub/%s; "
		 "i=0; while [ ! -e sub/%s ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; [ -e sub/%s ]",
		 r->mark, r->me, r->me, r->other, r->other);
	char sh[] = "/bin/sh", c[] = "-c";
	char *argv[] = {sh, c, script, NULL};
	r->ret = ab_run(p, &o, argv, &r->status, &r->err);
	ab_policy_free(p);
	return NULL;
}

static int two(const char *mark)
{
	struct two_run a = {.me = "a", .other = "b", .mark = mark}, b = {.me = "b", .other = "a", .mark = mark};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, two_thread, &a);
	pthread_create(&tb, NULL, two_thread, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	for (struct two_run *r = &a; r; r = r == &a ? &b : NULL)
		if (r->ret < 0) {
			fprintf(stderr, "ll_lib: run %s failed: %s\n", r->me, r->err.message);
			return 1;
		}
	printf("both ran: %d %d\n", a.status, b.status);
	return a.status == 0 && b.status == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "own-child") == 0) {
		dir = argv[2];
		return own_child();
	}
	if (argc >= 4 && strcmp(argv[1], "two") == 0) {
		dir = argv[2];
		return two(argv[3]);
	}
	fprintf(stderr, "usage: ll_lib own-child DIR | ll_lib two DIR MARK\n");
	return 2;
}
