#include "run/blocks.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

int blocks_prepare(const struct plan *plan, const char *state_dir, bool defer_confirm,
		   struct blocks *bl, ab_error *err)
{
	*bl = (struct blocks){.sync_fd = -1};
	bl->skip = xcalloc(plan->n_ops + 1, sizeof(bool));
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
	if (np == 0)
		goto out;
	if (!state_dir) {
		ret = ab_fail(err, ENOENT, "this policy needs to block paths that do not exist, which needs agentbox's state directory, and none is available");
		goto out;
	}
	ret = placeholders_acquire(state_dir, preq, np, &bl->set, err);
	if (ret < 0)
		goto out;
	for (size_t k = 0; k < np; k++)
		bl->skip[pidx[k]] = !placeholders_usable(bl->set, k);
	ret = placeholders_start_janitor(bl->set, &bl->sync_fd, err);
	if (ret == 0)
		bl->janitor = true;
	if (ret == 0 && !defer_confirm)
		ret = placeholders_confirm_janitor(bl->set, err);
out:
	free(preq);
	free(pidx);
	if (ret < 0)
		blocks_finish(bl);
	return ret;
}

int blocks_sandbox_started(struct blocks *bl, ab_error *err)
{
	if (bl->sync_fd >= 0)
		close(bl->sync_fd);
	bl->sync_fd = -1;
	if (bl->set && bl->janitor)
		return placeholders_confirm_janitor(bl->set, err);
	return 0;
}

void blocks_finish(struct blocks *bl)
{
	if (bl->sync_fd >= 0)
		close(bl->sync_fd);
	bl->sync_fd = -1;
	if (bl->set) {
		placeholders_release(bl->set);
		if (bl->janitor)
			placeholders_finish_janitor(bl->set);
	}
	bl->set = NULL;
	free(bl->skip);
	bl->skip = NULL;
}
