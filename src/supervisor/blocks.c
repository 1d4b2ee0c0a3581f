#include "supervisor/blocks.h"

#include <stdlib.h>

#include "common/util.h"

int blocks_prepare(const struct plan *plan, struct blocks *bl, ab_error *err)
{
	*bl = (struct blocks){0};
	bl->skip = xcalloc(plan->n_ops + 1, sizeof(bool));
	bl->held = xcalloc(plan->n_ops + 1, sizeof(*bl->held));
	struct placeholder_request *preq = xcalloc(plan->n_ops + 1, sizeof(*preq));
	size_t *pidx = xcalloc(plan->n_ops + 1, sizeof(size_t));
	size_t np = 0;
	int ret = 0;
	for (size_t i = 0; i < plan->n_ops; i++) {
		if (plan->ops[i].kind != OP_BLOCK_DIR && plan->ops[i].kind != OP_BLOCK_FILE)
			continue;
		preq[np] = (struct placeholder_request){plan->ops[i].path, plan->ops[i].kind == OP_BLOCK_DIR};
		pidx[np++] = i;
	}
	if (np > 0)
		ret = placeholders_acquire(preq, np, &bl->set, err);
	for (size_t k = 0; ret == 0 && k < np; k++) {
		bl->skip[pidx[k]] = !placeholders_usable(bl->set, k);
		bl->held[pidx[k]] = placeholders_ident(bl->set, k);
	}
	free(preq);
	free(pidx);
	if (ret < 0)
		blocks_finish(bl);
	return ret;
}

void blocks_finish(struct blocks *bl)
{
	placeholders_release(bl->set);
	bl->set = NULL;
	free(bl->skip);
	bl->skip = NULL;
	free(bl->held);
	bl->held = NULL;
}
