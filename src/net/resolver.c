#include "net/resolver.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

/* Lookups mostly wait on the network, so a handful of threads is plenty;
 * more would only let one slow DNS server tie up more memory. */
#define RESOLVER_MAX_THREADS 16

struct resolver {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct resolve_job *queue, **queue_tail;
	struct resolve_job *done;
	pthread_t threads[RESOLVER_MAX_THREADS];
	unsigned n_threads, want_threads;
	bool stop;
	int efd;
};

int resolver_new(struct resolver **out, unsigned threads, ab_error *err)
{
	struct resolver *r = xcalloc(1, sizeof(*r));
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		int e = errno;
		free(r);
		return ab_fail_errno(err, e, "cannot create the resolver's eventfd");
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	r->queue_tail = &r->queue;
	r->want_threads = threads == 0 ? 1 : threads > RESOLVER_MAX_THREADS ? RESOLVER_MAX_THREADS : threads;
	*out = r;
	return 0;
}

int resolver_fd(const struct resolver *r)
{
	return r->efd;
}

static void lookup(struct resolve_job *j)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = AI_ADDRCONFIG,
	};
	j->gai_error = getaddrinfo(j->host, NULL, &hints, &j->res);
	if (j->gai_error == EAI_SYSTEM)
		j->sys_errno = errno;
}

static void *worker(void *arg)
{
	struct resolver *r = arg;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->queue && !r->stop)
			pthread_cond_wait(&r->wake, &r->lock);
		if (!r->queue)
			break;
		struct resolve_job *j = r->queue;
		r->queue = j->next;
		if (!r->queue)
			r->queue_tail = &r->queue;
		if (j->cancelled) {
			resolver_job_free(j);
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		lookup(j);
		pthread_mutex_lock(&r->lock);
		j->next = r->done;
		r->done = j;
		uint64_t one = 1;
		/* An eventfd write only fails when the counter would overflow. */
		if (write(r->efd, &one, sizeof(one)) < 0) {
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Threads start on first use: a proxy whose rules name only IP literals
 * never needs them. Called with the lock held. */
static void start_threads(struct resolver *r)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* getaddrinfo with NSS needs some stack, nowhere near the 8 MiB
	 * default; a smaller reservation keeps the address space modest. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	while (r->n_threads < r->want_threads) {
		if (pthread_create(&r->threads[r->n_threads], &attr, worker, r) != 0)
			break; /* fewer threads still work, only slower */
		r->n_threads++;
	}
	pthread_attr_destroy(&attr);
}

struct resolve_job *resolver_submit(struct resolver *r, const char *host, void *owner)
{
	struct resolve_job *j = xcalloc(1, sizeof(*j));
	snprintf(j->host, sizeof(j->host), "%s", host);
	j->owner = owner;
	pthread_mutex_lock(&r->lock);
	if (r->n_threads < r->want_threads)
		start_threads(r);
	if (r->n_threads == 0) {
		/* No thread at all: answer as a system failure rather than hang. */
		j->gai_error = EAI_SYSTEM;
		j->sys_errno = EAGAIN;
		j->next = r->done;
		r->done = j;
		uint64_t one = 1;
		if (write(r->efd, &one, sizeof(one)) < 0) {
		}
	} else {
		*r->queue_tail = j;
		r->queue_tail = &j->next;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	return j;
}

void resolver_cancel(struct resolver *r, struct resolve_job *j)
{
	pthread_mutex_lock(&r->lock);
	j->cancelled = true;
	j->owner = NULL;
	pthread_mutex_unlock(&r->lock);
}

struct resolve_job *resolver_take_done(struct resolver *r)
{
	uint64_t n;
	if (read(r->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing signalled; the list is checked anyway */
	}
	pthread_mutex_lock(&r->lock);
	struct resolve_job *list = r->done, *out = NULL;
	r->done = NULL;
	pthread_mutex_unlock(&r->lock);
	while (list) {
		struct resolve_job *j = list;
		list = j->next;
		if (j->cancelled) {
			resolver_job_free(j);
			continue;
		}
		j->next = out;
		out = j;
	}
	return out;
}

void resolver_job_free(struct resolve_job *j)
{
	if (!j)
		return;
	if (j->res)
		freeaddrinfo(j->res);
	free(j);
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	for (struct resolve_job *j = r->queue; j; j = j->next)
		j->cancelled = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < r->n_threads; i++)
		pthread_join(r->threads[i], NULL);
	while (r->done) {
		struct resolve_job *j = r->done;
		r->done = j->next;
		resolver_job_free(j);
	}
	close(r->efd);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
