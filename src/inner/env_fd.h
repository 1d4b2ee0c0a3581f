/* The command's environment, handed to the inner stage through a file
 * descriptor rather than its own environment (the bwrap backend).
 *
 * bwrap is dynamically linked and the inner stage is agentbox itself:
 * both run the sandbox's setup, so the variables of the command
 * (LD_PRELOAD, LD_LIBRARY_PATH, GCONV_PATH, MALLOC_*, GLIBC_TUNABLES ...,
 * whether the caller or the policy put them there) must not reach them.
 * agentbox starts bwrap with an almost empty environment and puts the
 * command's in a sealed memfd: "NAME=VALUE\0" entries, one after the
 * other. The inner stage maps it and makes it `environ` only for the
 * final exec of the command. */
#ifndef AB_INNER_ENV_FD_H
#define AB_INNER_ENV_FD_H

#include <stddef.h>

#define ENV_FD_MAX_BYTES (16u << 20)

/* agentbox's side: a sealed memfd holding envp, or -errno. */
int env_fd_create(char *const *envp);

/* The inner stage's side: envp from fd (closed), built with mmap only
 * (the inner stage does not allocate), or NULL with *what set to the
 * step that failed and errno to the cause. */
char **env_fd_load(int fd, const char **what);

#endif
