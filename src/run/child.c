/* ab_start and the ab_child_* functions: a run that does not block its
 * caller.
 *
 * Why a thread: the blocking path (run_full -> a backend's supervise ->
 * watch_loop) already does everything a run needs -- signals forwarded,
 * the deadline, the proxy, telling setup failures from the command's
 * status -- and it owns its supervising thread's signal mask while it
 * runs. A started run is that same path on a thread of the library's, with
 * two additions passed down as run_hooks: a control pipe whose ints
 * watch_loop forwards as signals (ab_child_kill), and a callback that
 * says the sandbox is set up (ab_start waits for it, or for the end). The
 * end of the run is published on an eventfd (ab_child_pidfd) after the
 * result is stored, so that a caller that polls it and then calls
 * ab_child_wait never blocks for long. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agentbox.h"
#include "common/error.h"
#include "policy/policy.h"
#include "run/run.h"
#include "run/run_options.h"

enum child_state { CHILD_SETTING_UP, CHILD_STARTED, CHILD_ENDED };

struct ab_child {
	ab_policy *policy;   /* ours: a copy, so the caller may free theirs */
	ab_run_options opts; /* full size; what it points to is the caller's */
	char **argv;         /* ours: a deep copy */
	int ctl[2];          /* kill requests: ints, read by watch_loop */
	int done_fd;         /* eventfd, readable once the run has ended */
	struct run_hooks hooks;
	pthread_t thread;
	bool joined;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	enum child_state state; /* under lock */
	int ret;             /* run_full's result, once ENDED */
	int status;
	ab_error err;
};

static void set_state(ab_child *c, enum child_state s)
{
	pthread_mutex_lock(&c->lock);
	if (c->state < s)
		c->state = s;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

static void on_started(void *arg)
{
	set_state(arg, CHILD_STARTED);
}

static void *child_thread(void *arg)
{
	ab_child *c = arg;
	c->ret = run_full(c->policy, &c->opts, c->argv, &c->status, &c->hooks, &c->err);
	set_state(c, CHILD_ENDED);
	uint64_t one = 1;
	(void)!write(c->done_fd, &one, sizeof(one));
	return NULL;
}

static void child_destroy(ab_child *c)
{
	ab_policy_free(c->policy);
	for (char **a = c->argv; a && *a; a++)
		free(*a);
	free(c->argv);
	for (int i = 0; i < 2; i++)
		if (c->ctl[i] >= 0)
			close(c->ctl[i]);
	if (c->done_fd >= 0)
		close(c->done_fd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
}

/* argv copied with plain malloc: failure is -ENOMEM, not the end. */
static char **argv_copy(char *const argv[])
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(argv[i]))) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	return v;
}

static ab_child *child_alloc(ab_error *err, int *r)
{
	ab_child *c = calloc(1, sizeof(*c));
	if (!c) {
		*r = ab_fail(err, ENOMEM, "ab_start: out of memory (%zu bytes)", sizeof(*c));
		return NULL;
	}
	c->ctl[0] = c->ctl[1] = c->done_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	/* both ends non-blocking: watch_loop drains the pipe, and a full pipe
	 * (65536 bytes of pending kill requests) is -EAGAIN for the caller */
	if (pipe2(c->ctl, O_CLOEXEC | O_NONBLOCK) < 0) {
		*r = ab_fail_errno(err, errno, "ab_start: cannot create the control pipe");
		ab_error_hint(err, "fix: the process may be out of file descriptors (ulimit -n)");
		child_destroy(c);
		return NULL;
	}
	c->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->done_fd < 0) {
		*r = ab_fail_errno(err, errno, "ab_start: cannot create the eventfd that tells the end of the run");
		ab_error_hint(err, "fix: the process may be out of file descriptors (ulimit -n)");
		child_destroy(c);
		return NULL;
	}
	return c;
}

int ab_start(const ab_policy *p, const ab_run_options *o, char *const argv[], ab_child **out,
	     ab_error *err)
{
	ab_run_options full; /* this library's size: see run_options.c */
	if (run_options_accept(o, &full, err) < 0)
		return -EINVAL;
	if (!argv || !argv[0])
		return ab_fail(err, EINVAL, "ab_start: no command given (argv is empty)");
	int r = 0;
	ab_child *c = child_alloc(err, &r);
	if (!c)
		return r;
	c->opts = full;
	if (!(c->argv = argv_copy(argv))) {
		child_destroy(c);
		return ab_fail(err, ENOMEM, "ab_start: out of memory copying the command's arguments");
	}
	r = policy_clone(p, &c->policy, err);
	if (r < 0) {
		child_destroy(c);
		return r;
	}
	c->hooks = (struct run_hooks){.ctl_fd = c->ctl[0], .started = on_started, .arg = c};
	/* The thread inherits the caller's signal mask, as ab_run's work
	 * would run under it: the command gets the same mask ab_run gives
	 * it. */
	r = pthread_create(&c->thread, NULL, child_thread, c);
	if (r != 0) {
		child_destroy(c);
		return ab_fail_errno(err, r, "ab_start: cannot create the thread that supervises the run");
	}
	pthread_mutex_lock(&c->lock);
	while (c->state == CHILD_SETTING_UP)
		pthread_cond_wait(&c->changed, &c->lock);
	bool ended = c->state == CHILD_ENDED;
	pthread_mutex_unlock(&c->lock);
	if (ended && c->ret < 0) {
		/* nothing runs: the setup failed, and it is ab_start's error */
		pthread_join(c->thread, NULL);
		r = c->ret;
		*err = c->err;
		child_destroy(c);
		return r;
	}
	*out = c;
	return 0;
}

int ab_child_pidfd(const ab_child *c)
{
	return c->done_fd;
}

int ab_child_kill(ab_child *c, int sig)
{
	if (sig <= 0 || sig >= NSIG)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	bool ended = c->state == CHILD_ENDED;
	pthread_mutex_unlock(&c->lock);
	if (ended)
		return -ESRCH;
	ssize_t n = write(c->ctl[1], &sig, sizeof(sig));
	if (n == (ssize_t)sizeof(sig))
		return 0;
	return n < 0 ? -errno : -EIO;
}

int ab_child_wait(ab_child *c, int *exit_status, ab_error *err)
{
	if (!c->joined) {
		pthread_join(c->thread, NULL);
		c->joined = true;
	}
	if (c->ret < 0) {
		*err = c->err;
		return c->ret;
	}
	*exit_status = c->status;
	return 0;
}

void ab_child_free(ab_child *c)
{
	if (!c)
		return;
	if (!c->joined) {
		/* Still running: the run ends as a timeout would end it. SIGKILL
		 * reaches the sandbox's PID 1 (namespace backends: the whole
		 * sandbox dies with it) or the command (Landlock: its reaper
		 * then ends what is left). */
		ab_child_kill(c, SIGKILL);
		pthread_join(c->thread, NULL);
		c->joined = true;
	}
	child_destroy(c);
}
