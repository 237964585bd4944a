/* The library's state as a whole: checking the configuration, creating
 * and destroying everything. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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
	if (c->fixed_entry && (c->fixed_slot >= PT_ENTRIES || c->fixed_slot == c->kernel_slot ||
			       !(c->fixed_entry & PTE_P)))
		return -EINVAL;
	if (c->flush_mode != SHADOW_FLUSH_TLB && c->flush_mode != SHADOW_FLUSH_COPY &&
	    c->flush_mode != SHADOW_FLUSH_GLOBAL)
		return -EINVAL;
	return 0;
}

/* Instances made by this process: numbers them for stats_actor. */
static _Atomic uint64_t instances;

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
	free(sh->flush);
	pthread_mutex_destroy(&sh->kmirror.lock);
	pthread_mutex_destroy(&sh->broken_lock);
	frames_fini(sh);
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
	sh->instance = atomic_fetch_add_explicit(&instances, 1, memory_order_relaxed) + 1;
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
	pthread_mutex_init(&sh->broken_lock, NULL);
	sh->loaded = calloc(cfg->max_cpus, sizeof(*sh->loaded));
	sh->as = calloc(cfg->max_as, sizeof(*sh->as));
	sh->cpu_stats = calloc(cfg->max_cpus, sizeof(*sh->cpu_stats));
	sh->flush = calloc(cfg->max_cpus, sizeof(*sh->flush));
	if (frames_init(sh) || !sh->loaded || !sh->as || !sh->cpu_stats || !sh->flush) {
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

void shadow_corrupt(struct shadow *sh, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&sh->broken_lock);
	if (!atomic_load_explicit(&sh->broken, memory_order_relaxed)) {
		va_start(ap, fmt);
		vsnprintf(sh->broken_why, sizeof(sh->broken_why), fmt, ap);
		va_end(ap);
		atomic_store_explicit(&sh->broken, true, memory_order_release);
	}
	pthread_mutex_unlock(&sh->broken_lock);
}

const char *shadow_broken(struct shadow *sh)
{
	return shadow_is_broken(sh) ? sh->broken_why : NULL;
}

void shadow_set_hook(struct shadow *sh, shadow_hook_fn *fn, void *arg)
{
	sh->hook = fn;
	sh->hook_arg = arg;
}
