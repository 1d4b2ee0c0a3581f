/* Reading small kernel files: /proc/self/status and integer sysctls. */
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

void host_cause_free(struct host_cause *c)
{
	free(c->cause);
	free(c->fix);
	c->cause = c->fix = NULL;
}

char *host_read_file(const char *path, size_t max, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	char *buf = xmalloc(max + 1);
	size_t len = 0;
	while (len < max) {
		ssize_t n = read(fd, buf + len, max - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

int host_child_report(void (*child)(int fd), void *report, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(p[1]);
		_exit(1);
	}
	int e = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return e;
	}
	ssize_t n;
	do
		n = read(p[0], report, len);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return n == (ssize_t)len ? 0 : EIO;
}

long host_sysctl_parse(const char *text)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text)
		return -1;
	while (*end == '\n' || *end == ' ' || *end == '\t')
		end++;
	return *end ? -1 : v;
}

long host_sysctl_read(const char *path)
{
	_cleanup_free_ char *text = host_read_file(path, 64, NULL);
	return text ? host_sysctl_parse(text) : -1;
}

/* The value after "Name:" at the start of a line, or NULL. */
static const char *field(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *line = text;
	while (line && *line) {
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			return line + n + 1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

static int int_field(const char *text, const char *name)
{
	const char *v = field(text, name);
	char *end = NULL;
	if (!v)
		return -1;
	long x = strtol(v, &end, 10);
	return end == v || x < 0 || x > 1 << 20 ? -1 : (int)x;
}

void host_status_parse(const char *text, struct host_status *st)
{
	st->seccomp = int_field(text, "Seccomp");
	st->seccomp_filters = int_field(text, "Seccomp_filters");
	st->no_new_privs = int_field(text, "NoNewPrivs");
	const char *cap = field(text, "CapEff");
	char *end = NULL;
	st->cap_eff_known = false;
	st->cap_eff = 0;
	if (cap) {
		unsigned long long v = strtoull(cap, &end, 16);
		if (end != cap) {
			st->cap_eff = (uint64_t)v;
			st->cap_eff_known = true;
		}
	}
}

int host_status_read(struct host_status *st)
{
	_cleanup_free_ char *text = host_read_file("/proc/self/status", 16384, NULL);
	if (!text) {
		int e = errno;
		host_status_parse("", st);
		return -e;
	}
	host_status_parse(text, st);
	return 0;
}

bool host_has_cap(const struct host_status *st, int cap)
{
	return st->cap_eff_known && cap >= 0 && cap < 64 && (st->cap_eff >> cap & 1);
}
