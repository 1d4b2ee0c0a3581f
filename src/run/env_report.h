/* The environment policy for one run: evaluated over the caller's
 * environment (policy/env_policy.h) and reported, by name only, in the
 * start event and by explain. */
#ifndef AB_RUN_ENV_REPORT_H
#define AB_RUN_ENV_REPORT_H

#include <stdio.h>

#include "agentbox.h"
#include "common/util.h"
#include "policy/env_policy.h"

struct plan;

/* The command's environment from o->envp (or the process's) under p's
 * env policy, for the plan's network mode. */
int env_report_eval(const ab_policy *p, const ab_run_options *o, const struct plan *plan,
		    struct env_result *out, ab_error *err);

/* ,"env_dropped":[names],"env_kept":[names] for the start event. */
void env_report_start_json(sbuf *b, const struct env_result *r);
/* ,"env":{"inherit":...,"dropped":[{"name","why"}],"kept":[...],"set":[names]} */
void env_report_explain_json(sbuf *b, const ab_policy *p, const struct env_result *r);
/* The "environment" section of explain's text. */
void env_report_explain_text(FILE *out, const ab_policy *p, const struct env_result *r);

#endif
