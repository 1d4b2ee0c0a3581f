/* The command's environment through a memfd (env_fd.h). */
#include "inner/env_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int env_fd_create(char *const *envp)
{
	int fd = memfd_create("agentbox-env", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	size_t total = 0;
	for (char *const *e = envp; e && *e; e++) {
		size_t n = strlen(*e) + 1;
		total += n;
		if (total > ENV_FD_MAX_BYTES) {
			close(fd);
			return -E2BIG;
		}
		if (write_all(fd, *e, n) < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	/* nobody, agentbox included, changes it after this */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

char **env_fd_load(int fd, const char **what)
{
	struct stat st;
	*what = "fstat";
	if (fstat(fd, &st) < 0)
		return NULL;
	*what = "check the size of";
	if (st.st_size < 0 || (unsigned long long)st.st_size > ENV_FD_MAX_BYTES) {
		errno = E2BIG;
		return NULL;
	}
	size_t size = (size_t)st.st_size;
	char *text = NULL;
	if (size) {
		*what = "mmap";
		/* read-only: kernels before 6.7 refuse a writable mapping of
		 * a write-sealed memfd, even a private one; exec only reads */
		text = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (text == MAP_FAILED)
			return NULL;
		*what = "parse (the last entry does not end in NUL)";
		if (text[size - 1] != '\0') {
			errno = EINVAL;
			return NULL;
		}
	}
	size_t n = 0;
	for (size_t i = 0; i < size; i++)
		n += text[i] == '\0';
	*what = "mmap the entry table for";
	char **envp = mmap(NULL, (n + 1) * sizeof(char *), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (envp == MAP_FAILED)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < size; i += strlen(text + i) + 1)
		envp[k++] = text + i;
	envp[k] = NULL;
	close(fd);
	return envp;
}
