/* The built-in secret glob set (policy/secret_globs.c). */
#ifndef AB_POLICY_SECRET_GLOBS_H
#define AB_POLICY_SECRET_GLOBS_H

#include <stdbool.h>

struct secret_glob {
	const char *pattern; /* relative to the working directory */
	const char *why;
};
extern const struct secret_glob policy_secret_globs[]; /* NULL-terminated */

/* A name the set matches but keeps visible (.env.example). */
bool policy_secret_glob_kept(const char *name);
/* A directory the set does not enter (installed dependencies). */
bool policy_secret_glob_skipped_dir(const char *name);

#endif
