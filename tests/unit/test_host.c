/* The pure parts of the host probes (src/host/) and doctor's backend
 * choice, fed with the text of real hosts: Debian, Ubuntu 24.04 with its
 * AppArmor userns restriction, Docker with its default seccomp profile,
 * WSL. */
#include <errno.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "cli/doctor.h"
#include "host/host.h"
#include "probe_child.h"

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		const char *h_ = (hay);                                                            \
		if (!h_ || !strstr(h_, (needle)))                                                  \
			fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", (needle));     \
	} while (0)

/* /proc/self/status of root in `docker run debian:12` (default profiles). */
static const char docker_status[] =
	"Name:\tcat\nUmask:\t0022\nState:\tR (running)\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
	"CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n"
	"CapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n"
	"Seccomp:\t2\nSeccomp_filters:\t1\nSpeculation_Store_Bypass:\tthread force mitigated\n";

/* A plain host, and an old kernel (before 5.9: no Seccomp_filters). */
static const char host_status[] =
	"Name:\tcat\nCapEff:\t000001ffffffffff\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n";
static const char old_status[] = "Name:\tcat\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n";

static void test_kernel_parse(void **state)
{
	int ma, mi;
	assert_int_equal(host_kernel_parse("6.8.0-45-generic", &ma, &mi), 0);
	assert_int_equal(ma, 6);
	assert_int_equal(mi, 8);
	assert_int_equal(host_kernel_parse("5.15.153.1-microsoft-standard-WSL2", &ma, &mi), 0);
	assert_int_equal(ma, 5);
	assert_int_equal(mi, 15);
	assert_int_equal(host_kernel_parse("6.18.44-fc-v657", &ma, &mi), 0);
	assert_int_equal(mi, 18);
	assert_int_equal(host_kernel_parse("6", &ma, &mi), -EINVAL);
	assert_int_equal(ma, -1);
	assert_int_equal(host_kernel_parse("linux", &ma, &mi), -EINVAL);
	struct host_kernel k = {.major = 5, .minor = 13};
	assert_true(host_kernel_at_least(&k, 5, 13));
	assert_false(host_kernel_at_least(&k, 5, 19));
	assert_true(host_kernel_at_least(&k, 4, 20));
}

static void test_status_parse(void **state)
{
	struct host_status st;
	host_status_parse(docker_status, &st);
	assert_int_equal(st.seccomp, 2);
	assert_int_equal(st.seccomp_filters, 1);
	assert_int_equal(st.no_new_privs, 0);
	assert_true(st.cap_eff_known);
	assert_true(st.cap_eff == 0xa80425fbULL);
	assert_false(host_has_cap(&st, CAP_SYS_ADMIN));
	assert_true(host_has_cap(&st, CAP_CHOWN));
	assert_true(host_has_cap(&st, CAP_SYS_CHROOT));

	host_status_parse(host_status, &st);
	assert_int_equal(st.seccomp, 0);
	assert_true(host_has_cap(&st, CAP_SYS_ADMIN));

	host_status_parse(old_status, &st);
	assert_int_equal(st.seccomp, 2);
	assert_int_equal(st.seccomp_filters, -1);
	assert_int_equal(st.no_new_privs, 1);
	assert_false(host_has_cap(&st, CAP_SYS_ADMIN));

	host_status_parse("", &st);
	assert_int_equal(st.seccomp, -1);
	assert_false(st.cap_eff_known);
	assert_false(host_has_cap(&st, CAP_CHOWN));
}

static void test_sysctl_parse(void **state)
{
	assert_int_equal(host_sysctl_parse("0\n"), 0);
	assert_int_equal(host_sysctl_parse("1\n"), 1);
	assert_int_equal(host_sysctl_parse("63493\n"), 63493);
	assert_int_equal(host_sysctl_parse(""), -1);
	assert_int_equal(host_sysctl_parse("abc\n"), -1);
	assert_int_equal(host_sysctl_parse("1 2\n"), -1);
}

static struct host_userns_facts facts(enum host_ns_step step, int err, const char *status)
{
	struct host_userns_facts f = {
		.step = step, .err = err, .max_user_namespaces = 63493, .unprivileged_clone = -1,
		.apparmor_restrict = -1, .euid = 1000, .self_exe = "/home/u/.local/bin/agentbox",
	};
	host_status_parse(status, &f.status);
	return f;
}

/* Ubuntu 24.04: the namespace is created, but the id map is refused. */
static void test_explain_ubuntu_apparmor(void **state)
{
	struct host_userns_facts f = facts(HOST_STEP_UID_MAP, EPERM, host_status);
	f.unprivileged_clone = 1;
	f.apparmor_restrict = 1;
	f.status.cap_eff = 0;
	struct host_cause c;
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "kernel.apparmor_restrict_unprivileged_userns=1");
	assert_contains(c.cause, "writing /proc/self/uid_map");
	assert_contains(c.fix, "profile agentbox /home/u/.local/bin/agentbox flags=(unconfined)");
	assert_contains(c.fix, "userns,");
	assert_contains(c.fix, "sudo tee /etc/apparmor.d/agentbox");
	assert_contains(c.fix, "sudo apparmor_parser -r /etc/apparmor.d/agentbox");
	assert_null(strstr(c.fix, "--backend bwrap"));
	host_cause_free(&c);

	/* Ubuntu ships a profile for bwrap: using it is the cheaper fix. */
	f.bwrap_apparmor_profile = true;
	f.step = HOST_STEP_MOUNT;
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "AppArmor");
	assert_true(strncmp(c.fix, "use --backend bwrap", 19) == 0);
	assert_contains(c.fix, "apparmor_parser");
	host_cause_free(&c);
}

static void test_apparmor_profile(void **state)
{
	char *p = host_apparmor_profile("/usr/local/bin/agentbox");
	assert_string_equal(p, "abi <abi/4.0>,\ninclude <tunables/global>\n"
			       "profile agentbox /usr/local/bin/agentbox flags=(unconfined) {\n  userns,\n}\n");
	free(p);
	p = host_apparmor_profile("/opt/my tools/agentbox");
	assert_contains(p, "profile agentbox \"/opt/my tools/agentbox\" flags=(unconfined)");
	free(p);
}

/* Docker's default seccomp profile allows namespaces only with
 * CAP_SYS_ADMIN, which root in a container lacks. */
static void test_explain_docker_seccomp(void **state)
{
	struct host_userns_facts f = facts(HOST_STEP_UNSHARE, EPERM, docker_status);
	f.euid = 0;
	snprintf(f.lsm_label, sizeof(f.lsm_label), "docker-default (enforce)");
	struct host_cause c;
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "seccomp filter installed before agentbox started");
	assert_contains(c.cause, "1 filter on this process");
	assert_contains(c.cause, "lacks CAP_SYS_ADMIN");
	assert_contains(c.fix, "--security-opt seccomp=unconfined");
	host_cause_free(&c);

	/* The same EPERM inside an agentbox sandbox is agentbox's own filter. */
	f.inside_agentbox = true;
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "inside an agentbox sandbox");
	assert_null(strstr(c.cause, "Docker"));
	host_cause_free(&c);

	/* seccomp=unconfined, but docker-default's AppArmor forbids mount. */
	f = facts(HOST_STEP_MOUNT, EACCES, host_status);
	snprintf(f.lsm_label, sizeof(f.lsm_label), "docker-default (enforce)");
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "docker-default (enforce)");
	assert_contains(c.cause, "mount");
	assert_contains(c.fix, "apparmor=unconfined");
	host_cause_free(&c);
}

static void test_explain_sysctls(void **state)
{
	struct host_cause c;
	/* Debian 10 / Ubuntu before 5.10-ish kernels, as a normal user. */
	struct host_userns_facts f = facts(HOST_STEP_UNSHARE, EPERM, old_status);
	f.status.seccomp = 0;
	f.unprivileged_clone = 0;
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "kernel.unprivileged_userns_clone is 0");
	assert_contains(c.fix, "sysctl -w kernel.unprivileged_userns_clone=1");
	host_cause_free(&c);

	f = facts(HOST_STEP_UNSHARE, ENOSPC, host_status);
	f.max_user_namespaces = 0;
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "user.max_user_namespaces is 0");
	assert_contains(c.fix, "sysctl -w user.max_user_namespaces=");
	host_cause_free(&c);

	f.max_user_namespaces = 10;
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "limit is reached (user.max_user_namespaces=10");
	host_cause_free(&c);

	f = facts(HOST_STEP_UNSHARE, EINVAL, host_status);
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "CONFIG_USER_NS");
	host_cause_free(&c);

	f = facts(HOST_STEP_OK, 0, host_status);
	host_userns_explain(&f, &c);
	assert_null(c.cause);
	assert_null(c.fix);

	/* EPERM with nothing to blame: say what it could be. */
	f = facts(HOST_STEP_UNSHARE, EPERM, host_status);
	host_userns_explain(&f, &c);
	assert_contains(c.cause, "chroot");
	host_cause_free(&c);
}

static void test_explain_other_ns(void **state)
{
	struct host_cause c;
	struct host_other_ns net = {.name = "net", .err = ENOSPC, .max = 0};
	host_ns_explain(&net, &c);
	assert_contains(c.cause, "user.max_net_namespaces is 0");
	assert_contains(c.fix, "user.max_net_namespaces=15000");
	host_cause_free(&c);
	struct host_other_ns pid = {.name = "pid", .err = EPERM, .max = 1000};
	host_ns_explain(&pid, &c);
	assert_contains(c.fix, "CLONE_NEWPID");
	host_cause_free(&c);
	struct host_other_ns ok = {.name = "ipc", .err = 0, .max = 1000};
	host_ns_explain(&ok, &c);
	assert_null(c.cause);
}

/* /proc/self/mountinfo in a Docker container: overlay root, masked /proc. */
static const char docker_mountinfo[] =
	"1183 1069 0:68 / / rw,relatime master:444 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X\n"
	"1184 1183 0:71 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"1185 1183 0:72 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
	"1071 1184 0:71 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"1072 1184 0:71 /fs /proc/fs ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"1073 1184 0:71 /irq /proc/irq ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"1074 1184 0:71 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw\n"
	"1076 1184 0:77 / /proc/acpi ro,relatime - tmpfs tmpfs ro\n"
	"1077 1184 0:72 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
	"1078 1183 0:80 / /processes rw,relatime - tmpfs tmpfs rw\n";

static const char host_mountinfo[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	"40 27 0:40 / /mnt/my\\040disk rw - tmpfs tmpfs rw\n";

static void test_mountinfo(void **state)
{
	char *first = NULL;
	assert_int_equal(host_mountinfo_under(docker_mountinfo, "/proc", &first), 6);
	assert_string_equal(first, "/proc/bus");
	free(first);
	char *fs = host_mountinfo_fstype(docker_mountinfo, "/");
	assert_string_equal(fs, "overlay");
	free(fs);

	assert_int_equal(host_mountinfo_under(host_mountinfo, "/proc", &first), 0);
	assert_null(first);
	fs = host_mountinfo_fstype(host_mountinfo, "/");
	assert_string_equal(fs, "ext4");
	free(fs);
	fs = host_mountinfo_fstype(host_mountinfo, "/mnt/my disk");
	assert_string_equal(fs, "tmpfs");
	free(fs);
	assert_null(host_mountinfo_fstype(host_mountinfo, "/home"));

	struct host_proc p = {.step = HOST_STEP_MOUNT_PROC, .err = EPERM, .overmounts = 6,
			      .first_overmount = (char *)"/proc/bus"};
	struct host_cause c;
	host_proc_explain(&p, &c);
	assert_contains(c.cause, "6 paths covered by other mounts (/proc/bus, ...)");
	assert_contains(c.fix, "without a fresh /proc");
	host_cause_free(&c);
}

static void test_container_hints(void **state)
{
	assert_string_equal(host_cgroup_container("12:pids:/docker/3f2a9c\n11:cpu:/docker/3f2a9c\n"), "docker");
	assert_string_equal(host_cgroup_container("0::/system.slice/docker-3f2a9c.scope\n"), "docker");
	assert_string_equal(host_cgroup_container(
				    "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
				    "cri-containerd-ab.scope\n"),
			    "kubernetes");
	assert_string_equal(host_cgroup_container("0::/machine.slice/libpod-9b1e.scope/container\n"), "podman");
	assert_string_equal(host_cgroup_container("0::/lxc.payload.c1/init.scope\n"), "lxc");
	assert_string_equal(host_cgroup_container("0::/machine.slice/machine-deb.scope/payload\n"),
			    "systemd-nspawn");
	assert_null(host_cgroup_container("0::/\n"));
	assert_null(host_cgroup_container("0::/user.slice/user-1000.slice/session-2.scope\n"));

	static const char env[] = "PATH=/usr/bin\0containerx=1\0container=podman\0HOME=/root";
	char *v = host_environ_get(env, sizeof(env) - 1, "container");
	assert_string_equal(v, "podman");
	free(v);
	assert_null(host_environ_get(env, sizeof(env) - 1, "TERM"));
	v = host_environ_get(env, sizeof(env) - 1, "HOME");
	assert_string_equal(v, "/root");
	free(v);

	assert_int_equal(host_wsl_version("4.4.0-19041-Microsoft\n"), 1);
	assert_int_equal(host_wsl_version("5.15.153.1-microsoft-standard-WSL2\n"), 2);
	assert_int_equal(host_wsl_version("6.8.0-45-generic\n"), 0);
}

static void test_landlock_and_seccomp(void **state)
{
	struct host_cause c;
	host_landlock_explain(ENOSYS, &c);
	assert_contains(c.cause, "CONFIG_SECURITY_LANDLOCK");
	host_cause_free(&c);
	host_landlock_explain(EOPNOTSUPP, &c);
	assert_contains(c.cause, "disabled at boot");
	assert_contains(c.fix, "lsm=");
	host_cause_free(&c);

	char *f = host_landlock_features(1);
	assert_string_equal(f, "filesystem access rules");
	free(f);
	f = host_landlock_features(3);
	assert_contains(f, "truncate");
	assert_null(strstr(f, "tcp"));
	free(f);
	f = host_landlock_features(7);
	assert_contains(f, "tcp bind/connect");
	assert_contains(f, "audit");
	free(f);
	f = host_landlock_features(9);
	assert_contains(f, "what ABI 8+ adds");
	free(f);

	struct host_seccomp s = {.mode = 0, .load_err = EINVAL};
	host_seccomp_explain(&s, &c);
	assert_contains(c.cause, "CONFIG_SECCOMP_FILTER");
	host_cause_free(&c);
	s.load_err = 0;
	host_seccomp_explain(&s, &c);
	assert_null(c.cause);
}

static void test_auto_choice(void **state)
{
	assert_ptr_equal(doctor_auto_choice(true, true, 7), &backend_builtin);
	assert_ptr_equal(doctor_auto_choice(true, false, 0), &backend_builtin);
	assert_ptr_equal(doctor_auto_choice(false, true, 7), &backend_bwrap);
	assert_ptr_equal(doctor_auto_choice(false, false, 7), &backend_landlock);
	assert_null(doctor_auto_choice(false, false, 0));
	/* the order is the one list run and explain walk too */
	assert_ptr_equal(backend_auto_order[0], &backend_builtin);
	assert_ptr_equal(backend_auto_order[1], &backend_bwrap);
	assert_ptr_equal(backend_auto_order[2], &backend_landlock);
	assert_null(backend_auto_order[3]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_parse),
		cmocka_unit_test(test_status_parse),
		cmocka_unit_test(test_sysctl_parse),
		cmocka_unit_test(test_explain_ubuntu_apparmor),
		cmocka_unit_test(test_apparmor_profile),
		cmocka_unit_test(test_explain_docker_seccomp),
		cmocka_unit_test(test_explain_sysctls),
		cmocka_unit_test(test_explain_other_ns),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_container_hints),
		cmocka_unit_test(test_landlock_and_seccomp),
		cmocka_unit_test(test_auto_choice),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
