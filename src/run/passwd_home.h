/* The caller's home directory in /etc/passwd (run/passwd_home.c). */
#ifndef AB_RUN_PASSWD_HOME_H
#define AB_RUN_PASSWD_HOME_H

#include <sys/types.h>

/* Its absolute home directory (the caller frees it), or NULL when uid has
 * no line or the file cannot be read. */
char *passwd_home(uid_t uid);

#endif
