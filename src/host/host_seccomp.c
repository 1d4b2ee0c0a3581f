/* Seccomp: is agentbox already under a filter, and can it add one? */
#include "host/host.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/util.h"

/* In a child: no_new_privs, then a one-instruction allow-all filter. The
 * inner stage loads its real filter the same way. */
static _Noreturn void load_child(int fd)
{
	struct sock_filter insn[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = insn};
	int err = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		err = errno;
	ssize_t n = write(fd, &err, sizeof(err));
	_exit(n == (ssize_t)sizeof(err) ? 0 : 1);
}

void host_seccomp_probe(struct host_seccomp *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	if (s->mode < 0)
		s->get_err = errno;
	int e = host_child_report(load_child, &s->load_err, sizeof(s->load_err));
	if (e)
		s->load_err = e;
}

void host_seccomp_explain(const struct host_seccomp *s, struct host_cause *out)
{
	out->cause = out->fix = NULL;
	if (s->load_err == 0)
		return;
	if (s->load_err == EINVAL || (s->mode < 0 && s->get_err == EINVAL)) {
		out->cause = xstrdup("this kernel was built without seccomp filters (CONFIG_SECCOMP_FILTER)");
		out->fix = xstrdup("use a kernel with CONFIG_SECCOMP_FILTER=y: every backend needs it");
	} else if (s->load_err == EACCES) {
		out->cause = xstrdup("no_new_privs could not be set, so an unprivileged filter is refused");
		out->fix = xstrdup("run agentbox where prctl(PR_SET_NO_NEW_PRIVS) is allowed");
	} else {
		out->cause = xstrdup("loading a filter failed (an enclosing filter may refuse seccomp(2) itself)");
		out->fix = xstrdup("allow seccomp(2) and prctl(PR_SET_SECCOMP) in the enclosing sandbox's profile");
	}
}
