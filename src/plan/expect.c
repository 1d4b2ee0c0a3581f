#include "plan/expect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* A fresh /proc is mounted after the plan's ops and hides whatever they
 * put there; the inner stage would find procfs, not the plan's file. */
static bool under_fresh_proc(const struct plan *plan, const char *path)
{
	return plan->mount_proc && path_is_under(path, "/proc");
}

static bool op_expect_kind(enum plan_op_kind kind, enum mount_expect_kind *out)
{
	switch (kind) {
	case OP_BIND_RO:
		*out = MX_BIND_RO;
		return true;
	case OP_BIND_RW:
	case OP_PIN: /* a rename before the bind would put it on another dir */
		*out = MX_BIND_RW;
		return true;
	case OP_MASK_DIR:
	case OP_BLOCK_DIR:
		*out = MX_COVER_DIR;
		return true;
	case OP_MASK_FILE:
	case OP_BLOCK_FILE:
		*out = MX_COVER_FILE;
		return true;
	case OP_COVER_DATA:
		*out = MX_COVER_DATA;
		return true;
	case OP_ROOT_BIND_RO: /* the host's / cannot be swapped */
	case OP_ROOT_BIND_RW:
	case OP_ROOT_TMPFS:   /* agentbox's own empty root: nothing to swap */
	case OP_DEV:        /* built from checked device nodes (devices.h) */
	case OP_MKDIR:      /* mountpoints inside a mask, checked by what is bound there */
	case OP_MKFILE:
	case OP_REMOUNT_RO: /* the mask it finishes must be read-only */
	case OP_SYMLINK:
	case OP_PROC:       /* a fresh procfs: nothing of the host's to swap */
	case OP_PROC_KNOB:
		return false;
	}
	return false;
}

size_t plan_mount_expects(const struct plan *plan, const bool *skip_op,
			  struct mount_expect *out)
{
	size_t n = 0;
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		enum mount_expect_kind kind;
		if ((skip_op && skip_op[i]) || !op_expect_kind(op->kind, &kind) ||
		    under_fresh_proc(plan, op->path))
			continue;
		const struct plan_node *node = op->node >= 0 ? &plan->nodes[op->node] : NULL;
		/* A block may sit on the node's first missing component rather
		 * than on the node: then the plan knows no file there. */
		bool have_id = node && node->exists && strcmp(node->path, op->path) == 0;
		out[n] = (struct mount_expect){
			.kind = kind,
			.have_id = have_id,
			.dev = have_id ? (unsigned long long)node->dev : 0,
			.ino = have_id ? (unsigned long long)node->ino : 0,
			.path = op->path,
		};
		if (op->kind == OP_COVER_DATA) { /* the file it covers, as read */
			out[n].have_id = true;
			out[n].dev = (unsigned long long)op->dev;
			out[n].ino = (unsigned long long)op->ino;
		}
		n++;
	}
	return n;
}

char *mount_expect_format(const struct mount_expect *e)
{
	if (!e->have_id)
		return xasprintf("%c:-:-:%s", (char)e->kind, e->path);
	return xasprintf("%c:%llu:%llu:%s", (char)e->kind, e->dev, e->ino, e->path);
}

/* A decimal number, or "-", up to the next ':'. Returns the position
 * after the ':' or NULL. */
static const char *parse_field(const char *s, bool *dash, unsigned long long *v)
{
	if (s[0] == '-' && s[1] == ':') {
		*dash = true;
		*v = 0;
		return s + 2;
	}
	if (*s < '0' || *s > '9')
		return NULL;
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end != ':')
		return NULL;
	*dash = false;
	return end + 1;
}

int mount_expect_parse(const char *spec, struct mount_expect *out)
{
	memset(out, 0, sizeof(*out));
	switch (spec[0]) {
	case MX_BIND_RO:
	case MX_BIND_RW:
	case MX_COVER_DIR:
	case MX_COVER_FILE:
	case MX_COVER_DATA:
		out->kind = (enum mount_expect_kind)spec[0];
		break;
	default:
		return -EINVAL;
	}
	if (spec[1] != ':')
		return -EINVAL;
	bool dev_dash, ino_dash;
	const char *p = parse_field(spec + 2, &dev_dash, &out->dev);
	if (p)
		p = parse_field(p, &ino_dash, &out->ino);
	if (!p || dev_dash != ino_dash || p[0] != '/')
		return -EINVAL;
	out->have_id = !dev_dash;
	out->path = p;
	return 0;
}
