/* The Landlock backend's per-run TMPDIR (why it exists: prep.c): made
 * fresh, recorded, removed after the run whatever the command left in it,
 * and removed by the next run when agentbox could not (killed with -9).
 *
 * The record is a file in agentbox's state directory (run/state_dir.h),
 * which the command can read but never write (Landlock keeps it
 * read-only), holding the run's pid and start time and the directory's
 * device and inode. A later run removes a recorded directory only when
 * the run that made it is gone, the name is still a directory owned by
 * this user, and its identity is the recorded one: nothing that agentbox
 * did not make is ever removed, whatever a command renamed into place. */
#include "backend/landlock/landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/rmtree.h"
#include "common/util.h"
#include "run/state_dir.h"

#define RECORD_PREFIX "landlock-tmp."
#define TMP_PREFIX "agentbox-tmp-"

/* Field 22 of /proc/PID/stat (the start time in clock ticks): with the
 * pid it names one process, not a later one that got the same pid. 0 when
 * unknown. */
static unsigned long long start_time(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *s = strrchr(buf, ')'); /* the name may hold spaces */
	unsigned long long t = 0;
	if (s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			       "%*d %*d %llu", &t) != 1)
		t = 0;
	return t;
}

static bool run_alive(pid_t pid, unsigned long long started)
{
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	unsigned long long now = start_time(pid);
	/* unknown start times: assume it is still that run (keep) */
	return !started || !now || now == started;
}

static int open_state_dir(void)
{
	char *path = NULL;
	ab_error err;
	if (state_dir_get(&path, &err) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	return fd;
}

/* Removes directory `path` if it is still the one with this identity,
 * owned by us; 0 when it is gone (or is no longer ours to remove). */
static int remove_if_ours(const char *path, dev_t dev, ino_t ino, ab_error *err)
{
	_cleanup_free_ char *parent = path_parent(path);
	const char *name = strrchr(path, '/') + 1;
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return errno == ENOENT ? 0 : ab_fail_errno(err, errno, "cannot open %s", parent);
	struct stat st;
	int r = 0;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && st.st_dev == dev && st.st_ino == ino)
		r = rmtree_at(pfd, name, err);
	close(pfd);
	return r;
}

void landlock_tmpdir_sweep(void)
{
	int sfd = open_state_dir();
	if (sfd < 0)
		return;
	int dfd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, RECORD_PREFIX, strlen(RECORD_PREFIX)) != 0)
			continue;
		char buf[4200];
		int fd = openat(sfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		int pid;
		unsigned long long started, dev, ino;
		char path[4097];
		if (sscanf(buf, "%d %llu %llu %llu %4096[^\n]", &pid, &started, &dev, &ino, path) != 5 ||
		    !path_is_absolute(path) || !strrchr(path, '/') ||
		    strncmp(strrchr(path, '/') + 1, TMP_PREFIX, strlen(TMP_PREFIX)) != 0) {
			unlinkat(sfd, de->d_name, 0); /* not a record of ours */
			continue;
		}
		if (run_alive(pid, started))
			continue;
		ab_error err = {0};
		if (remove_if_ours(path, (dev_t)dev, (ino_t)ino, &err) == 0)
			unlinkat(sfd, de->d_name, 0);
		else
			fprintf(stderr, "agentbox: landlock: cannot remove %s, the TMPDIR a killed run left: %s; "
					"the next run tries again (or remove it yourself)\n", path, err.message);
	}
	if (d)
		closedir(d);
	else if (dfd >= 0)
		close(dfd);
	close(sfd);
}

int landlock_tmpdir_make(const char *base, struct landlock_prep *lp, ab_error *err)
{
	char *tmpl = xasprintf("%s/" TMP_PREFIX "XXXXXX", base);
	struct stat st;
	if (!mkdtemp(tmpl) || stat(tmpl, &st) < 0) {
		int r = ab_fail_errno(err, errno,
				      "landlock: cannot create the run's temporary directory in %s "
				      "(files cannot be created directly in it under Landlock)", base);
		free(tmpl);
		return r;
	}
	lp->tmpdir = tmpl;
	lp->tmpdir_created = true;
	lp->tmp_dev = st.st_dev;
	lp->tmp_ino = st.st_ino;
	/* the record, so that the next run removes it if this one cannot */
	int sfd = open_state_dir();
	if (sfd < 0)
		return 0; /* removed at the end as usual; only a kill -9 leaves it */
	lp->tmp_record = xasprintf(RECORD_PREFIX "%s", strrchr(tmpl, '/') + 1 + strlen(TMP_PREFIX));
	int fd = openat(sfd, lp->tmp_record, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		char *line = xasprintf("%d %llu %llu %llu %s\n", (int)getpid(), start_time(getpid()),
				       (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, tmpl);
		ssize_t n = write(fd, line, strlen(line));
		(void)n;
		free(line);
		close(fd);
	}
	close(sfd);
	return 0;
}

void landlock_tmpdir_remove(struct landlock_prep *lp)
{
	if (!lp->tmpdir || !lp->tmpdir_created)
		return;
	ab_error err = {0};
	if (remove_if_ours(lp->tmpdir, lp->tmp_dev, lp->tmp_ino, &err) < 0) {
		fprintf(stderr, "agentbox: landlock: cannot remove the run's TMPDIR %s: %s; the next "
				"Landlock run tries again\n", lp->tmpdir, err.message);
		return; /* the record stays for the next run */
	}
	if (lp->tmp_record) {
		int sfd = open_state_dir();
		if (sfd >= 0) {
			unlinkat(sfd, lp->tmp_record, 0);
			close(sfd);
		}
	}
}
