/* The library's state as a whole: checking the configuration, creating
 * and destroying everything. */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define MAX_POOL_PAGES (1u << 20) /* 4 GiB of shadow tables */
#define MAX_CPUS 4096u

static int config_check(const struct shadow_config *c)
{
	uint64_t mem_end = c->mem_gpa + c->mem_size;
	uint64_t pool_end = c->pool_gpa + c->pool_size;

	if (!c->mem || (c->mem_gpa & (PAGE_SIZE - 1)) || (c->mem_size & (PAGE_SIZE - 1)) ||
	    c->mem_size == 0 || mem_end < c->mem_gpa || mem_end > (1ull << 52))
		return -EINVAL;
	if ((c->pool_gpa & (HUGE_SIZE - 1)) || (c->pool_size & (HUGE_SIZE - 1)) ||
	    c->pool_size == 0 || c->pool_size / PAGE_SIZE > MAX_POOL_PAGES ||
	    pool_end < c->pool_gpa || c->pool_gpa < c->mem_gpa || pool_end > mem_end)
		return -EINVAL;
	if (c->kernel_slot >= PT_ENTRIES || c->max_as < 1 || c->max_as > 65535 || c->max_cpus < 1 ||
	    c->max_cpus > MAX_CPUS)
		return -EINVAL;
	return 0;
}

static void shadow_free(struct shadow *sh)
{
	unsigned i;

	if (sh->as) {
		for (i = 0; i < sh->cfg.max_as; i++)
			pthread_mutex_destroy(&sh->as[i].lock);
	}
	free(sh->as);
	free(sh->loaded);
	free(sh->cpu_stats);
	free(sh->frame_flush);
	pthread_mutex_destroy(&sh->kmirror.lock);
	gmem_fini(sh);
	pool_fini(sh);
	free(sh);
}

int shadow_create(const struct shadow_config *cfg, struct shadow **out)
{
	struct shadow *sh;
	unsigned i;
	int rc;

	if (!cfg || !out)
		return -EINVAL;
	rc = config_check(cfg);
	if (rc)
		return rc;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->cfg = *cfg;
	sh->mem = cfg->mem;
	sh->mem_end = cfg->mem_gpa + cfg->mem_size;
	sh->pool_end = cfg->pool_gpa + cfg->pool_size;
	sh->kmirror.kroot = sh->kmirror.kpdpt = NIL;
	rc = pool_init(sh);
	if (rc) {
		free(sh);
		return rc;
	}
	pthread_mutex_init(&sh->kmirror.lock, NULL);
	sh->loaded = calloc(cfg->max_cpus, sizeof(*sh->loaded));
	sh->as = calloc(cfg->max_as, sizeof(*sh->as));
	sh->cpu_stats = calloc(cfg->max_cpus, sizeof(*sh->cpu_stats));
	sh->frame_flush = calloc(cfg->max_cpus, sizeof(*sh->frame_flush));
	if (gmem_init(sh) || !sh->loaded || !sh->as || !sh->cpu_stats || !sh->frame_flush) {
		free(sh->as);
		sh->as = NULL;
		shadow_free(sh);
		return -ENOMEM;
	}
	for (i = 0; i < cfg->max_as; i++) {
		pthread_mutex_init(&sh->as[i].lock, NULL);
		sh->as[i].root = NIL;
		sh->as[i].loaded_on = -1;
	}
	*out = sh;
	return 0;
}

void shadow_destroy(struct shadow *sh)
{
	if (!sh)
		return;
	as_teardown_all(sh);
	shadow_free(sh);
}

void shadow_set_hook(struct shadow *sh, shadow_hook_fn *fn, void *arg)
{
	sh->hook = fn;
	sh->hook_arg = arg;
}
