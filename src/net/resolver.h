/* Host name lookups off the event loop: getaddrinfo(3) blocks and cannot
 * be cancelled, so a few worker threads run it and hand results back
 * through an eventfd the loop watches. The caller enforces the timeout
 * (it stops waiting; a late answer is dropped). */
#ifndef AB_NET_RESOLVER_H
#define AB_NET_RESOLVER_H

#include <netdb.h>
#include <stdbool.h>

#include "agentbox.h"
#include "policy/domain.h"

struct resolve_job {
	char host[DOMAIN_HOST_MAX];
	void *owner;
	int gai_error;         /* 0, or an EAI_* code */
	int sys_errno;         /* with EAI_SYSTEM */
	struct addrinfo *res;  /* TCP addresses, port 0 */
	bool cancelled;
	struct resolve_job *next;
};

struct resolver;

int resolver_new(struct resolver **out, unsigned threads, ab_error *err);
/* Readable (an eventfd) when finished jobs wait in resolver_take_done. */
int resolver_fd(const struct resolver *r);
/* Queues a lookup; the job belongs to the resolver until taken back. */
struct resolve_job *resolver_submit(struct resolver *r, const char *host, void *owner);
/* The owner no longer wants the answer; the resolver frees the job. */
void resolver_cancel(struct resolver *r, struct resolve_job *j);
/* The finished, not cancelled jobs as a list; free each with
 * resolver_job_free. */
struct resolve_job *resolver_take_done(struct resolver *r);
void resolver_job_free(struct resolve_job *j);
/* Waits for the lookups in progress (each bounded by the system resolver's
 * own timeouts), then frees everything. */
void resolver_free(struct resolver *r);

#endif
