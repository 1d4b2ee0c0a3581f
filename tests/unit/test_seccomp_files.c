/* The filter's file-mode rules (src/inner/seccomp_files.c) against the real
 * kernel: no call may set a set-user-ID or set-group-ID bit or make a
 * device node, in every network mode; the same calls with harmless modes
 * reach the kernel. Calls aimed at a path that does not exist tell the two
 * apart without touching anything: the filter answers EPERM before the
 * kernel looks, the kernel answers ENOENT (or EBADF for fd -1). Then the
 * same with real files in a scratch directory, checked with stat(2). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentbox.h"
#include "seccomp_probe.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
/* the kernel's __O_TMPFILE: O_TMPFILE without O_DIRECTORY (glibc's
 * __O_TMPFILE includes O_DIRECTORY) */
#define TMPFILE_BIT (O_TMPFILE & ~O_DIRECTORY)

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MISSING "/nonexistent-agentbox-test/x"

static const int modes[] = { AB_NET_NONE, AB_NET_FULL, AB_NET_PROXY };
static const char *const mode_names[] = { "none", "full", "proxy" };

static struct raw_call call(const char *name, long nr, long a0, long a1, long a2,
			    long a3)
{
	return (struct raw_call){ name, nr, { a0, a1, a2, a3, 0, 0 } };
}

/* Refused by the filter in every network mode. */
static void expect_refused(struct raw_call c)
{
	for (size_t m = 0; m < N_ELEMS(modes); m++) {
		char what[160];
		snprintf(what, sizeof(what), "%s (net %s)", c.name, mode_names[m]);
		expect_errno(what, run_probe(modes[m], probe_raw, &c), EPERM);
	}
}

/* Let through: the kernel's own answer, the same as without a filter. */
static void expect_let_through(struct raw_call c)
{
	struct outcome base = run_probe(NO_FILTER, probe_raw, &c);
	assert_true(base.returned);
	if (base.ret == -1 && base.err == EPERM)
		fail_msg("%s: the kernel itself answers EPERM; the test cannot tell", c.name);
	for (size_t m = 0; m < N_ELEMS(modes); m++) {
		char what[160];
		snprintf(what, sizeof(what), "%s (net %s)", c.name, mode_names[m]);
		struct outcome o = run_probe(modes[m], probe_raw, &c);
		if (base.ret == -1)
			expect_errno(what, o, base.err);
		else
			expect_success(what, o);
	}
}

static const long setid_modes[] = { 04755, 02755, 06755, 04000, 02000,
				     /* bits above the umode_t the kernel reads */
				     0x10000 | 04755, 0x100000000L | 02700 };

static void test_chmod_family_refuses_setid_bits(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(setid_modes); i++) {
		long m = setid_modes[i];
#ifdef __NR_chmod
		expect_refused(call("chmod", __NR_chmod, (long)MISSING, m, 0, 0));
#endif
		expect_refused(call("fchmod", __NR_fchmod, -1, m, 0, 0));
		expect_refused(call("fchmodat", __NR_fchmodat, AT_FDCWD, (long)MISSING, m, 0));
		expect_refused(call("fchmodat2", __NR_fchmodat2, AT_FDCWD, (long)MISSING, m, 0));
	}
#ifdef __NR_chmod
	expect_let_through(call("chmod 0755", __NR_chmod, (long)MISSING, 0755, 0, 0));
#endif
	expect_let_through(call("fchmod 01777", __NR_fchmod, -1, 01777, 0, 0));
	expect_let_through(call("fchmodat 0755", __NR_fchmodat, AT_FDCWD, (long)MISSING, 0755, 0));
	expect_let_through(call("fchmodat2 0644", __NR_fchmodat2, AT_FDCWD, (long)MISSING, 0644, 0));
}

static void test_creating_calls_refuse_setid_modes(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(setid_modes); i++) {
		long m = setid_modes[i];
#ifdef __NR_open
		expect_refused(call("open O_CREAT", __NR_open, (long)MISSING,
				    O_CREAT | O_WRONLY, m, 0));
		expect_refused(call("open O_TMPFILE", __NR_open, (long)MISSING,
				    O_TMPFILE | O_RDWR, m, 0));
		expect_refused(call("creat", __NR_creat, (long)MISSING, m, 0, 0));
		expect_refused(call("mkdir", __NR_mkdir, (long)MISSING, m, 0, 0));
		expect_refused(call("mknod", __NR_mknod, (long)MISSING, S_IFREG | m, 0, 0));
#endif
		expect_refused(call("openat O_CREAT", __NR_openat, AT_FDCWD, (long)MISSING,
				    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, m));
		/* the bit without O_DIRECTORY: the kernel would say
		 * EINVAL; the filter must not wait for it */
		expect_refused(call("openat, the tmpfile bit alone", __NR_openat, AT_FDCWD,
				    (long)MISSING, TMPFILE_BIT | O_RDWR, m));
		expect_refused(call("openat O_TMPFILE", __NR_openat, AT_FDCWD,
				    (long)MISSING, O_TMPFILE | O_RDWR, m));
		expect_refused(call("mkdirat", __NR_mkdirat, AT_FDCWD, (long)MISSING, m, 0));
		expect_refused(call("mknodat", __NR_mknodat, AT_FDCWD, (long)MISSING,
				    S_IFREG | m, 0));
	}
	/* harmless modes, and setid modes where nothing is created (the
	 * mode register then means nothing) */
#ifdef __NR_open
	expect_let_through(call("open O_CREAT 0755", __NR_open, (long)MISSING,
				O_CREAT | O_WRONLY, 0755, 0));
	expect_let_through(call("open O_RDONLY, 04755 in the mode register", __NR_open,
				(long)MISSING, O_RDONLY, 04755, 0));
	expect_let_through(call("mkdir 01777", __NR_mkdir, (long)MISSING, 01777, 0, 0));
#endif
	expect_let_through(call("openat O_CREAT 0644", __NR_openat, AT_FDCWD, (long)MISSING,
				O_CREAT | O_WRONLY, 0644));
	expect_let_through(call("openat O_DIRECTORY, 06755 in the mode register",
				__NR_openat, AT_FDCWD, (long)MISSING, O_DIRECTORY, 06755));
	expect_let_through(call("openat O_TMPFILE 0600", __NR_openat, AT_FDCWD,
				(long)MISSING, O_TMPFILE | O_RDWR, 0600));
	expect_let_through(call("mkdirat 0700", __NR_mkdirat, AT_FDCWD, (long)MISSING, 0700, 0));
	expect_let_through(call("mknodat fifo", __NR_mknodat, AT_FDCWD, (long)MISSING,
				S_IFIFO | 0600, 0));
	expect_let_through(call("mknodat socket", __NR_mknodat, AT_FDCWD, (long)MISSING,
				S_IFSOCK | 0600, 0));
}

static void test_device_nodes_are_refused(void **state)
{
	(void)state;
	static const long types[] = { S_IFCHR, S_IFBLK };
	for (size_t i = 0; i < N_ELEMS(types); i++) {
		long dev = (long)makedev(1, 3); /* /dev/null's numbers */
#ifdef __NR_mknod
		expect_refused(call("mknod device", __NR_mknod, (long)MISSING,
				    types[i] | 0600, dev, 0));
#endif
		expect_refused(call("mknodat device", __NR_mknodat, AT_FDCWD, (long)MISSING,
				    types[i] | 0666, dev));
		/* the whiteout overlayfs uses: a char device 0:0 */
		expect_refused(call("mknodat 0:0", __NR_mknodat, AT_FDCWD, (long)MISSING,
				    types[i], 0));
	}
}

/* openat2's mode is in a struct the filter cannot read: the call is
 * answered ENOSYS, so callers fall back to openat. */
static void test_openat2_says_enosys(void **state)
{
	(void)state;
	uint64_t how[3] = { O_CREAT | O_WRONLY, 04755, 0 };
	for (size_t m = 0; m < N_ELEMS(modes); m++) {
		struct raw_call c = call("openat2", __NR_openat2, AT_FDCWD, (long)MISSING,
					 (long)how, sizeof(how));
		expect_errno("openat2", run_probe(modes[m], probe_raw, &c), ENOSYS);
	}
}

/* ---- real files ------------------------------------------------------- */

static char scratch[64];

static int make_scratch(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/ab-seccomp-files.XXXXXX");
	if (!mkdtemp(scratch))
		return -1;
	/* a setgid directory would put S_ISGID on subdirectories by itself */
	return chmod(scratch, 0755);
}

static int remove_scratch(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", scratch, name);
}

/* In the child: make `path` with mode 0755, then try every way of adding
 * the setuid bit; returns how many of them worked. */
static long probe_setid_on_real_file(const void *arg)
{
	const char *path = arg;
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0755);
	if (fd < 0)
		return -1;
	int worked = 0;
	worked += fchmod(fd, 04755) == 0;
	worked += chmod(path, 02755) == 0;
	worked += fchmodat(AT_FDCWD, path, 06755, 0) == 0;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	worked += chmod(proc, 04755) == 0; /* the same inode by another name */
	close(fd);
	return worked;
}

static void test_real_file_never_gets_setid_bits(void **state)
{
	(void)state;
	for (size_t m = 0; m < N_ELEMS(modes); m++) {
		char path[128], name[32];
		snprintf(name, sizeof(name), "plain-%s", mode_names[m]);
		path_in(path, sizeof(path), name);
		struct outcome o = run_probe(modes[m], probe_setid_on_real_file, path);
		expect_success("creating the file", o);
		assert_int_equal(o.ret, 0);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0755);
	}
	/* baseline: unfiltered, the same steps do set the bits */
	char path[128];
	path_in(path, sizeof(path), "baseline");
	struct outcome o = run_probe(NO_FILTER, probe_setid_on_real_file, path);
	expect_success("baseline", o);
	assert_int_equal(o.ret, 4);
}

/* In the child: create `path` with a setid mode in each creating call;
 * returns how many created something. */
static long probe_create_with_setid(const void *arg)
{
	const char *dir = arg;
	char p[160];
	int made = 0;
	snprintf(p, sizeof(p), "%s/open", dir);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 04755);
	if (fd >= 0) {
		made++;
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/dir", dir);
	made += mkdir(p, 02755) == 0;
	snprintf(p, sizeof(p), "%s/node", dir);
	made += mknod(p, S_IFREG | 04755, 0) == 0;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 04755);
	if (fd >= 0) {
		made++;
		close(fd);
	}
	return made;
}

static void test_creating_with_setid_mode_creates_nothing(void **state)
{
	(void)state;
	for (size_t m = 0; m < N_ELEMS(modes); m++) {
		char dir[128], name[32];
		snprintf(name, sizeof(name), "create-%s", mode_names[m]);
		path_in(dir, sizeof(dir), name);
		assert_int_equal(mkdir(dir, 0755), 0);
		struct outcome o = run_probe(modes[m], probe_create_with_setid, dir);
		expect_success("the creating calls", o);
		assert_int_equal(o.ret, 0);
		char p[160];
		snprintf(p, sizeof(p), "%s/open", dir);
		assert_int_equal(access(p, F_OK), -1);
		snprintf(p, sizeof(p), "%s/dir", dir);
		assert_int_equal(access(p, F_OK), -1);
		snprintf(p, sizeof(p), "%s/node", dir);
		assert_int_equal(access(p, F_OK), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chmod_family_refuses_setid_bits),
		cmocka_unit_test(test_creating_calls_refuse_setid_modes),
		cmocka_unit_test(test_device_nodes_are_refused),
		cmocka_unit_test(test_openat2_says_enosys),
		cmocka_unit_test(test_real_file_never_gets_setid_bits),
		cmocka_unit_test(test_creating_with_setid_mode_creates_nothing),
	};
	return cmocka_run_group_tests(tests, make_scratch, remove_scratch);
}
