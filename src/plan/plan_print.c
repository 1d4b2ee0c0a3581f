/* Printing a plan for people (`agentbox explain`) and for machines. */
#include "plan/plan.h"

#include <string.h>

#include "common/util.h"
#include "policy/domain.h"

const char *plan_op_name(enum plan_op_kind kind)
{
	switch (kind) {
	case OP_ROOT_BIND_RO: return "root-read-only";
	case OP_ROOT_BIND_RW: return "root-writable";
	case OP_ROOT_TMPFS: return "root-empty";
	case OP_DEV: return "dev";
	case OP_BIND_RO: return "bind-read-only";
	case OP_BIND_RW: return "bind-writable";
	case OP_MASK_DIR: return "mask-dir";
	case OP_MASK_FILE: return "mask-file";
	case OP_MKDIR: return "mkdir";
	case OP_MKFILE: return "mkfile";
	case OP_REMOUNT_RO: return "remount-read-only";
	case OP_BLOCK_DIR: return "block-create-dir";
	case OP_BLOCK_FILE: return "block-create-file";
	case OP_SYMLINK: return "symlink";
	case OP_PROC: return "proc";
	case OP_PROC_KNOB: return "proc-knob-read-only";
	case OP_PIN: return "pin";
	case OP_COVER_DATA: return "cover-with-data";
	}
	return "?";
}

const char *plan_node_source_name(enum node_source s)
{
	switch (s) {
	case NODE_RULE: return "rule";
	case NODE_MINIMAL: return "minimal";
	case NODE_PROTECTED: return "protected";
	case NODE_GITDIR: return "gitdir";
	case NODE_STATE: return "state";
	case NODE_SELF: return "self";
	case NODE_KERNEL: return "kernel";
	case NODE_PIN: return "pin";
	case NODE_GLOB: return "deny-glob";
	case NODE_CONFIG: return "config";
	case NODE_SOCKET: return "socket-never-list";
	case NODE_CREDENTIAL: return "credential";
	case NODE_SOCKET_ALLOW: return "allow-unix";
	}
	return "?";
}

/* What the user will see at a node's path, in words. */
static const char *node_effect(const struct plan *plan, size_t idx)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		if (op->node != (int)idx || op->kind == OP_MKDIR || op->kind == OP_MKFILE ||
		    op->kind == OP_REMOUNT_RO)
			continue;
		switch (op->kind) {
		case OP_ROOT_BIND_RO:
		case OP_BIND_RO: return "read-only";
		case OP_ROOT_BIND_RW:
		case OP_BIND_RW: return "writable";
		case OP_PIN: return "pinned (no rename)";
		case OP_MASK_DIR:
		case OP_MASK_FILE: return "hidden";
		case OP_BLOCK_DIR:
		case OP_BLOCK_FILE:
			return strcmp(op->path, plan->nodes[idx].path) == 0 ? "cannot be created"
									 : "cannot be created (parent blocked)";
		default: break;
		}
	}
	const struct plan_node *n = &plan->nodes[idx];
	if (n->access == AB_ACCESS_WRITE && !n->exists)
		return "skipped (missing)";
	if (!n->exists)
		return "absent";
	/* no operation: the parent already gives this access */
	switch (n->access) {
	case AB_ACCESS_READ: return "read-only (inherited)";
	case AB_ACCESS_WRITE: return "writable (inherited)";
	case AB_ACCESS_NONE: return "hidden (inherited)";
	}
	return "inherited";
}

static void print_patterns(const char *what, const struct domain_pattern *p, size_t n, FILE *out)
{
	fprintf(out, "  %s:", what);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %s", i ? "," : "", p[i].text);
	fputs(n ? "\n" : " (none)\n", out);
}

static void print_proxy_rules(const struct plan *plan, FILE *out)
{
	fprintf(out, "  only way out: the policy proxy, HTTP on %s:%d, SOCKS5 on %s:%d\n", PLAN_PROXY_HOST,
		PLAN_PROXY_HTTP_PORT, PLAN_PROXY_HOST, PLAN_PROXY_SOCKS_PORT);
	const struct domain_rules *r = plan->domains;
	print_patterns("allow", r ? r->allow : NULL, r ? r->n_allow : 0, out);
	print_patterns("deny", r ? r->deny : NULL, r ? r->n_deny : 0, out);
}

static void append_patterns(sbuf *b, const char *key, const struct domain_pattern *p, size_t n)
{
	sbuf_addf(b, "\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_add(b, ",");
		sbuf_add_json_string(b, p[i].text);
	}
	sbuf_add(b, "]");
}

void plan_print_table(const struct plan *plan, bool host_proc, FILE *out)
{
	fprintf(out, "working directory: %s\n", plan->cwd);
	fprintf(out, "network: %s\n", ab_net_name(plan->net));
	if (plan->net == AB_NET_PROXY)
		print_proxy_rules(plan, out);
	bool proc_seen = plan_access_at(plan, "/proc", -1) != AB_ACCESS_NONE;
	fprintf(out, "/proc: %s\n", host_proc ? "the host's (no PID namespace with this backend)"
				    : plan->mount_proc ? "fresh"
				    : proc_seen ? "no fresh one (--no-proc): the host's, as the policy shows it"
				    : "not mounted (--no-proc)");
	/* what holds in every /proc mode (refuse_writable_knobs, add_knob_ops) */
	if (!host_proc)
		fprintf(out, "kernel knobs: /sys and /proc/sys, sysrq-trigger, irq, bus, fs, acpi, scsi are read-only; no rule can make them writable\n");
	fprintf(out, "filesystem root: %s\n",
		plan->root_writable ? "writable" : plan->root_readable ? "read-only" : "empty (only listed paths are visible)");
	size_t repos = plan->n_git_repos;
	if (plan->git == AB_GIT_COMMIT)
		fprintf(out, "git: commit (--git commit): %zu repositor%s writable but for hooks, config, info/, modules/ and pointer files (rows below); hooks and fsmonitor off inside%s\n",
			repos, repos == 1 ? "y" : "ies",
			/* host_proc: the Landlock backend (see the header) */
			host_proc && repos ? "; Landlock: each git dir is narrowed, agentbox's broker creates its new entries (see below)" : "");
	else
		fprintf(out, "git: protect (the default): .git read-only in %zu repositor%s; --git commit allows commits; hooks and fsmonitor off inside\n",
			repos, repos == 1 ? "y" : "ies");
	fprintf(out, "\n%-44s %-6s %-21s %s\n", "PATH", "ACCESS", "EFFECT", "WHY");
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		fprintf(out, "%-44s %-6s %-21s %s\n", n->path, ab_access_name(n->access),
			node_effect(plan, i), n->why);
	}
	for (size_t i = 0; i < plan->n_notes; i++)
		fprintf(out, "note: %s\n", plan->notes[i]);
	for (size_t i = 0; i < plan->n_warnings; i++)
		fprintf(out, "warning: %s\n", plan->warnings[i].message);
}

void plan_print_ops(const struct plan *plan, const bool *skip_op, FILE *out)
{
	fprintf(out, "\noperations, in order:\n");
	for (size_t i = 0, k = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		if (skip_op && skip_op[i])
			continue;
		fprintf(out, "  %2zu. %-20s %s", ++k, plan_op_name(op->kind), op->path);
		if (op->kind == OP_SYMLINK)
			fprintf(out, " -> %s", op->target);
		else if (op->kind == OP_MASK_DIR || op->kind == OP_MASK_FILE || op->kind == OP_BLOCK_DIR ||
			 op->kind == OP_BLOCK_FILE)
			fprintf(out, " (mode %04o)", op->mode);
		else if (op->kind == OP_COVER_DATA)
			fprintf(out, " (read-only, %zu bytes: %s)", op->data_len, op->why);
		fputc('\n', out);
	}
}

void plan_append_json(const struct plan *plan, sbuf *b)
{
	sbuf_add(b, "\"cwd\":");
	sbuf_add_json_string(b, plan->cwd);
	sbuf_addf(b, ",\"network\":\"%s\",\"proc\":%s,\"root\":\"%s\",\"git\":\"%s\",",
		  ab_net_name(plan->net), plan->mount_proc ? "true" : "false",
		  plan->root_writable ? "write" : plan->root_readable ? "read" : "empty",
		  ab_git_mode_name(plan->git));
	if (plan->net == AB_NET_PROXY && plan->domains) {
		sbuf_addf(b, "\"proxy\":{\"http\":\"%s:%d\",\"socks5\":\"%s:%d\",", PLAN_PROXY_HOST,
			  PLAN_PROXY_HTTP_PORT, PLAN_PROXY_HOST, PLAN_PROXY_SOCKS_PORT);
		append_patterns(b, "allow", plan->domains->allow, plan->domains->n_allow);
		sbuf_add(b, ",");
		append_patterns(b, "deny", plan->domains->deny, plan->domains->n_deny);
		sbuf_add(b, "},");
	}
	sbuf_add(b, "\"nodes\":[");
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		sbuf_add(b, i ? ",{\"path\":" : "{\"path\":");
		sbuf_add_json_string(b, n->path);
		sbuf_addf(b, ",\"access\":\"%s\",\"source\":\"%s\",\"exists\":%s,\"effect\":",
			  ab_access_name(n->access), plan_node_source_name(n->source),
			  n->exists ? "true" : "false");
		sbuf_add_json_string(b, node_effect(plan, i));
		sbuf_add(b, ",\"why\":");
		sbuf_add_json_string(b, n->why);
		sbuf_add(b, "}");
	}
	sbuf_add(b, "],\"operations\":[");
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		sbuf_addf(b, "%s{\"op\":\"%s\",\"path\":", i ? "," : "", plan_op_name(op->kind));
		sbuf_add_json_string(b, op->path);
		sbuf_addf(b, ",\"mode\":\"%04o\"", op->mode);
		if (op->kind == OP_COVER_DATA) {
			sbuf_addf(b, ",\"bytes\":%zu,\"why\":", op->data_len);
			sbuf_add_json_string(b, op->why);
		}
		sbuf_add(b, "}");
	}
	sbuf_add(b, "],\"notes\":[");
	for (size_t i = 0; i < plan->n_notes; i++) {
		sbuf_add(b, i ? "," : "");
		sbuf_add_json_string(b, plan->notes[i]);
	}
	sbuf_add(b, "],\"warnings\":[");
	for (size_t i = 0; i < plan->n_warnings; i++) {
		const struct plan_warning *w = &plan->warnings[i];
		sbuf_add(b, i ? ",{" : "{");
		sbuf_add_json_notice(b, w->code, w->path, w->message);
		sbuf_add(b, "}");
	}
	sbuf_add(b, "]");
	/* the deny glob walk (plan/deny_globs.c): what it cost, what it hid */
	if (plan->glob_patterns)
		sbuf_addf(b, ",\"deny_globs\":{\"patterns\":%zu,\"hidden_paths\":%zu,\"entries\":%zu,"
			     "\"ms\":%.1f,\"complete\":%s}",
			  plan->glob_patterns, plan->glob_hidden, plan->glob_entries, plan->glob_ms,
			  plan->glob_partial ? "false" : "true");
}
