/* Passing file descriptors over a unix socket (SCM_RIGHTS): one message
 * of data with up to FDPASS_MAX descriptors, so that callers need not
 * build control messages themselves. */
#ifndef AB_COMMON_FDPASS_H
#define AB_COMMON_FDPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX 4

/* Sends len bytes (len > 0) with the n_fds descriptors in one message,
 * retrying EINTR; SIGPIPE is not raised. Returns the bytes sent, or -1
 * with errno set. */
ssize_t fdpass_send(int sock, const void *data, size_t len, const int *fds, size_t n_fds);

/* Receives one message: up to len bytes into data and its descriptors
 * (close-on-exec) into fds, *n_fds of them. A message whose data or
 * descriptors did not fit is refused: whatever descriptors came are
 * closed, -1 is returned with errno EMSGSIZE. Returns the bytes received
 * (0 at end of file), or -1 with errno set. */
ssize_t fdpass_recv(int sock, void *data, size_t len, int fds[FDPASS_MAX], size_t *n_fds);

#endif
