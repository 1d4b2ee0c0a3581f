/* A small, strict reader of git's configuration syntax, for finding the
 * keys that name programs and files (plan/git_config_paths.c). It accepts
 * what git writes and documents (sections, "subsections", the old
 * [section.sub] form, quoted values, the escapes \n \t \b \" \\, line
 * continuation, # and ; comments) and refuses everything else with the
 * file and line, because a value we misread is a path we fail to protect. */
#ifndef AB_PLAN_GITCONFIG_PARSE_H
#define AB_PLAN_GITCONFIG_PARSE_H

#include <stddef.h>

#include "agentbox.h"

/* One variable. `key` is "section.name" or "section.subsection.name" with
 * the section and name lower-cased (the subsection keeps its case, as in
 * git); `value` is NULL for a bare "name" (boolean true). `line` is where
 * the variable starts. Returning < 0 stops the parse with that result. */
typedef int (*gitconfig_cb)(const char *key, const char *value, unsigned line, void *arg);

/* Parses `len` bytes of `text`; `file` names it in errors. Returns 0, the
 * callback's negative result, or -EINVAL with err saying file, line and
 * what is wrong. */
int gitconfig_parse(const char *text, size_t len, const char *file,
		    gitconfig_cb cb, void *arg, ab_error *err);

#endif
