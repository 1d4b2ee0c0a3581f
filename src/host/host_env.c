/* Where agentbox runs: a container, a snap or flatpak, another sandbox,
 * WSL. None of these is an error by itself; each explains a failure seen
 * elsewhere (a container's seccomp profile, a masked /proc, WSL1's lack of
 * user namespaces), so doctor prints the evidence it found. */
#include "host/host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

char *host_environ_get(const char *blob, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *end = blob + len;
	for (const char *p = blob; p < end; p += strnlen(p, (size_t)(end - p)) + 1) {
		size_t l = strnlen(p, (size_t)(end - p));
		if (l > n && strncmp(p, name, n) == 0 && p[n] == '=')
			return xstrndup(p + n + 1, l - n - 1);
	}
	return NULL;
}

const char *host_cgroup_container(const char *cgroup)
{
	/* Most specific first: a Kubernetes pod's path also names its
	 * runtime. */
	static const struct {
		const char *needle, *name;
	} hints[] = {
		{"kubepods", "kubernetes"},
		{"libpod", "podman"},
		{"/docker", "docker"},
		{"docker-", "docker"},
		{"lxc.payload", "lxc"},
		{"/lxc/", "lxc"},
		{"machine.slice/machine-", "systemd-nspawn"},
		{"containerd", "containerd"},
	};
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strstr(cgroup, hints[i].needle))
			return hints[i].name;
	return NULL;
}

int host_wsl_version(const char *osrelease)
{
	if (strstr(osrelease, "WSL2") || strstr(osrelease, "microsoft-standard"))
		return 2;
	if (strcasestr(osrelease, "microsoft"))
		return 1;
	return 0;
}

static void add_evidence(sbuf *b, const char *text)
{
	if (b->len)
		sbuf_add(b, "; ");
	sbuf_add(b, text);
}

static void detect_container(struct host_env *e)
{
	sbuf ev = {0};
	const char *name = NULL;
	bool strong = false;
	_cleanup_free_ char *sd = host_read_file("/run/systemd/container", 256, NULL);
	if (sd && *sd) {
		sd[strcspn(sd, "\n")] = '\0';
		_cleanup_free_ char *t = xasprintf("/run/systemd/container says %s", sd);
		add_evidence(&ev, t);
		name = e->container = xstrdup(sd);
		strong = true;
	}
	size_t len = 0;
	_cleanup_free_ char *env1 = host_read_file("/proc/1/environ", 1 << 16, &len);
	_cleanup_free_ char *cval = env1 ? host_environ_get(env1, len, "container") : NULL;
	if (cval && *cval) {
		_cleanup_free_ char *t = xasprintf("PID 1 has container=%s", cval);
		add_evidence(&ev, t);
		if (!name)
			name = e->container = xstrdup(cval);
		strong = true;
	}
	if (access("/run/.containerenv", F_OK) == 0) {
		add_evidence(&ev, "/run/.containerenv exists");
		if (!name)
			name = e->container = xstrdup("podman");
		strong = true;
	}
	_cleanup_free_ char *cg = host_read_file("/proc/self/cgroup", 1 << 16, NULL);
	const char *cgname = cg ? host_cgroup_container(cg) : NULL;
	if (cgname) {
		_cleanup_free_ char *t = xasprintf("/proc/self/cgroup names %s", cgname);
		add_evidence(&ev, t);
		if (!name)
			name = e->container = xstrdup(cgname);
		strong = true;
	}
	bool dockerenv = access("/.dockerenv", F_OK) == 0;
	if (dockerenv) {
		add_evidence(&ev, "/.dockerenv exists");
		if (!name)
			name = e->container = xstrdup("docker");
	}
	_cleanup_free_ char *mi = host_read_file("/proc/self/mountinfo", 1 << 20, NULL);
	_cleanup_free_ char *rootfs = mi ? host_mountinfo_fstype(mi, "/") : NULL;
	if (rootfs && strcmp(rootfs, "overlay") == 0) {
		add_evidence(&ev, "the root filesystem is overlay");
		strong = strong || dockerenv;
	}
	/* A lone /.dockerenv is often left in an image that now boots as a
	 * VM; say how weak the evidence is rather than guess. */
	if (name && !strong) {
		add_evidence(&ev, "only a marker file: cgroups and the root filesystem look like a host's");
		char *maybe = xasprintf("%s?", e->container);
		free(e->container);
		e->container = maybe;
	}
	e->container_evidence = ev.s;
}

static void detect_package(struct host_env *e)
{
	const char *snap = getenv("SNAP");
	_cleanup_free_ char *exe = realpath("/proc/self/exe", NULL);
	if ((snap && *snap) || (exe && strncmp(exe, "/snap/", 6) == 0)) {
		e->package = xstrdup("snap");
		e->package_evidence = snap && *snap ? xasprintf("$SNAP=%s", snap)
						    : xasprintf("agentbox runs from %s", exe);
	} else if (access("/.flatpak-info", F_OK) == 0) {
		e->package = xstrdup("flatpak");
		e->package_evidence = xstrdup("/.flatpak-info exists");
	}
}

static void detect_nested(struct host_env *e)
{
	sbuf ev = {0};
	const char *mark = getenv("AGENTBOX_SANDBOX");
	if (mark && *mark)
		add_evidence(&ev, "AGENTBOX_SANDBOX is set: inside an agentbox sandbox");
	_cleanup_free_ char *comm = host_read_file("/proc/1/comm", 64, NULL);
	if (comm) {
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, "bwrap") == 0)
			add_evidence(&ev, "PID 1 is bwrap");
	}
	struct host_status st;
	host_status_read(&st);
	if (st.no_new_privs == 1)
		add_evidence(&ev, "no_new_privs is already set");
	if (st.seccomp == 2) {
		_cleanup_free_ char *t = st.seccomp_filters > 0
						 ? xasprintf("%d seccomp filter%s already on this process",
							     st.seccomp_filters, st.seccomp_filters == 1 ? "" : "s")
						 : xstrdup("a seccomp filter is already on this process");
		add_evidence(&ev, t);
	}
	e->nested = ev.s;
}

void host_env_probe(struct host_env *e)
{
	memset(e, 0, sizeof(*e));
	detect_container(e);
	detect_package(e);
	detect_nested(e);
	_cleanup_free_ char *rel = host_read_file("/proc/sys/kernel/osrelease", 256, NULL);
	e->wsl = rel ? host_wsl_version(rel) : 0;
}

void host_env_free(struct host_env *e)
{
	free(e->container);
	free(e->container_evidence);
	free(e->package);
	free(e->package_evidence);
	free(e->nested);
	memset(e, 0, sizeof(*e));
}
