/* Finding the system bubblewrap and learning which options it has. The
 * probe runs bwrap twice (--help, --version), so its answer is cached in
 * agentbox's state dir, keyed by the binary's identity: an upgrade or a
 * replaced file changes the key. A wrong cache entry cannot widen what the
 * sandbox allows: an option bwrap lacks makes it fail and we re-probe. */
#include "backend/bwrap/bwrap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

#define PROBE_OUTPUT_MAX (64 * 1024)
#define PROBE_TIMEOUT_MS 3000
#define CACHE_NAME "bwrap-probe-v1"

static bool usable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool acceptable(const struct plan *plan, const char *path)
{
	/* A bwrap the sandboxed command could have written is not to be
	 * trusted to build the next sandbox. */
	if (plan && (path_is_under(path, plan->cwd) && strcmp(plan->cwd, "/") != 0))
		return false;
	if (plan && plan_access_at(plan, path, -1) == AB_ACCESS_WRITE && !plan->root_writable)
		return false;
	return usable_file(path);
}

int bwrap_locate(const struct plan *plan, char **path_out, ab_error *err)
{
	*path_out = NULL;
	if (acceptable(plan, "/usr/bin/bwrap")) {
		*path_out = realpath("/usr/bin/bwrap", NULL);
		if (*path_out)
			return 0;
	}
	const char *env = getenv("PATH");
	_cleanup_free_ char *path = xstrdup(env ? env : "");
	char *save = NULL;
	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (dir[0] != '/')
			continue; /* relative PATH entries point into the cwd */
		_cleanup_free_ char *cand = path_join(dir, "bwrap");
		_cleanup_free_ char *real = realpath(cand, NULL);
		if (real && acceptable(plan, real)) {
			*path_out = real;
			real = NULL;
			return 0;
		}
	}
	return ab_fail(err, ENOENT,
		       "bubblewrap (bwrap) was not found: not at /usr/bin/bwrap and not on PATH outside the workspace\n"
		       "fix: install it, e.g. `sudo apt-get install bubblewrap` (Debian/Ubuntu) or `sudo dnf install bubblewrap`");
}

/* Runs `path arg` with a bounded time and output; returns what it printed
 * on stdout and stderr. */
static int capture(const char *path, const char *arg, char **out, ab_error *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return ab_fail_errno(err, errno, "cannot create a pipe to probe %s", path);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return ab_fail_errno(err, e, "cannot fork to probe %s", path);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		/* without the caller's environment, as every start of bwrap
		 * (supervise.c): LD_PRELOAD and the like must not shape what
		 * agentbox learns about it */
		static char *const no_env[] = {NULL};
		execle(path, "bwrap", arg, (char *)NULL, no_env);
		_exit(127);
	}
	close(pfd[1]);
	sbuf b = {0};
	char buf[4096];
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	bool timed_out = false;
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= PROBE_TIMEOUT_MS) {
			timed_out = true;
			break;
		}
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int r = poll(&p, 1, (int)(PROBE_TIMEOUT_MS - elapsed));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = r == 0;
			break;
		}
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len < PROBE_OUTPUT_MAX)
			sbuf_addn(&b, buf, (size_t)n);
	}
	close(pfd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		sbuf_free(&b);
		return ab_fail(err, ETIMEDOUT, "%s %s did not answer within %d ms", path, arg, PROBE_TIMEOUT_MS);
	}
	*out = b.s ? b.s : xstrdup("");
	return 0;
}

static bool mentions(const char *help, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = help; (p = strstr(p, opt)) != NULL; p += n) {
		char after = p[n];
		if (after == ' ' || after == '\n' || after == '\t' || after == '\0' || after == ',')
			return true;
	}
	return false;
}

static void parse_help(struct bwrap_info *info, const char *help)
{
	info->argv0 = mentions(help, "--argv0");
	info->perms = mentions(help, "--perms");
	info->ro_bind_data = mentions(help, "--ro-bind-data");
	info->file = mentions(help, "--file");
	info->as_pid_1 = mentions(help, "--as-pid-1");
	info->json_status_fd = mentions(help, "--json-status-fd");
	info->info_fd = mentions(help, "--info-fd");
	info->sync_fd = mentions(help, "--sync-fd");
	info->cap_drop = mentions(help, "--cap-drop");
	info->unshare_ipc = mentions(help, "--unshare-ipc");
}

static unsigned flags_of(const struct bwrap_info *i)
{
	return (unsigned)i->argv0 | (unsigned)i->perms << 1 | (unsigned)i->ro_bind_data << 2 |
	       (unsigned)i->file << 3 | (unsigned)i->as_pid_1 << 4 | (unsigned)i->json_status_fd << 5 |
	       (unsigned)i->info_fd << 6 | (unsigned)i->sync_fd << 7 | (unsigned)i->cap_drop << 8 |
	       (unsigned)i->unshare_ipc << 9;
}

static void set_flags(struct bwrap_info *i, unsigned f)
{
	i->argv0 = f & 1;
	i->perms = f >> 1 & 1;
	i->ro_bind_data = f >> 2 & 1;
	i->file = f >> 3 & 1;
	i->as_pid_1 = f >> 4 & 1;
	i->json_status_fd = f >> 5 & 1;
	i->info_fd = f >> 6 & 1;
	i->sync_fd = f >> 7 & 1;
	i->cap_drop = f >> 8 & 1;
	i->unshare_ipc = f >> 9 & 1;
}

static char *identity_key(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return NULL;
	return xasprintf("%s %lu %lu %lld %lld.%09ld %lld.%09ld", path, (unsigned long)st.st_dev,
			 (unsigned long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

static bool read_cache(const char *state_dir, const char *key, struct bwrap_info *info)
{
	_cleanup_free_ char *file = path_join(state_dir, CACHE_NAME);
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (!nl)
		return false;
	*nl = '\0';
	if (strcmp(buf, key) != 0)
		return false;
	unsigned flags;
	char version[64] = "";
	if (sscanf(nl + 1, "%x %63s", &flags, version) < 1)
		return false;
	set_flags(info, flags);
	/* What isolates is never taken from a file: assumed present, and a
	 * bwrap that rejects them is probed afresh (SUPERVISE_RETRY_PROBE),
	 * so a forged or stale cache cannot leave them out. */
	info->cap_drop = info->unshare_ipc = true;
	snprintf(info->version, sizeof(info->version), "%s", strcmp(version, "-") == 0 ? "" : version);
	info->from_cache = true;
	return true;
}

static void write_cache(const char *state_dir, const char *key, const struct bwrap_info *info)
{
	_cleanup_free_ char *file = path_join(state_dir, CACHE_NAME);
	_cleanup_free_ char *tmp = xasprintf("%s.%d", file, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	_cleanup_free_ char *text = xasprintf("%s\n%x %s\n", key, flags_of(info),
					       info->version[0] ? info->version : "-");
	bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	if (!ok || rename(tmp, file) < 0)
		unlink(tmp);
}

int bwrap_probe(const char *path, const char *state_dir, bool refresh,
		struct bwrap_info *info, ab_error *err)
{
	memset(info, 0, sizeof(*info));
	info->path = xstrdup(path);
	_cleanup_free_ char *key = identity_key(path);
	if (!key) {
		int e = errno;
		bwrap_info_free(info);
		return ab_fail_errno(err, e, "cannot inspect bubblewrap at %s", path);
	}
	if (state_dir && !refresh && read_cache(state_dir, key, info))
		return 0;

	_cleanup_free_ char *help = NULL;
	int r = capture(path, "--help", &help, err);
	if (r < 0) {
		bwrap_info_free(info);
		return r;
	}
	parse_help(info, help);
	if (!mentions(help, "--unshare-user") || !mentions(help, "--ro-bind")) {
		bwrap_info_free(info);
		return ab_fail(err, ENOEXEC,
			       "%s does not look like bubblewrap: `--help` does not list --unshare-user and --ro-bind\n"
			       "fix: install bubblewrap from your distribution (e.g. `sudo apt-get install bubblewrap`)",
			       path);
	}
	_cleanup_free_ char *ver = NULL;
	if (capture(path, "--version", &ver, NULL) == 0) {
		const char *v = strstr(ver, "bubblewrap ");
		if (v) {
			v += strlen("bubblewrap ");
			size_t n = strcspn(v, " \n\t");
			snprintf(info->version, sizeof(info->version), "%.*s", (int)n, v);
		}
	}
	if (state_dir)
		write_cache(state_dir, key, info);
	return 0;
}

void bwrap_info_free(struct bwrap_info *info)
{
	free(info->path);
	info->path = NULL;
}
