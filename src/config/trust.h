/* The trust store: which project files the user let widen their
 * configuration, each by its canonical path and the SHA-256 of the exact
 * content reviewed (a changed file is untrusted again). It lives next to
 * the user's config.json as trusted.json and is written atomically
 * without following links, like every file agentbox owns. The content
 * is kept too, so that `agentbox trust` can show what changed since. */
#ifndef AB_CONFIG_TRUST_H
#define AB_CONFIG_TRUST_H

#include <stdbool.h>

#include "agentbox.h"

/* Looks `path` up in DIR/trusted.json (a missing store trusts nothing).
 * *trusted: recorded with this very hash. *last (may be NULL; freed by
 * the caller): the content recorded last for the path, or NULL. */
int trust_lookup(const char *dir, const char *path, const char *sha256_hex, bool *trusted,
		 char **last, ab_error *err);

/* Records `path` with its hash and content, replacing an older record;
 * creates DIR (0700) and its parent when missing. */
int trust_record(const char *dir, const char *path, const char *sha256_hex, const char *content,
		 ab_error *err);

#endif
