/*
 * One report for `umbra stat`: a --stats-file JSON read back, checked to
 * be an umbra report of the version this umbra writes, and the lookups the
 * comparison needs.
 */
#ifndef UMBRA_VMM_STAT_REPORT_H
#define UMBRA_VMM_STAT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "json_read.h"

#define STAT_TOTAL "total" /* the section of the whole run */

struct stat_report {
	const char *file;
	struct json_doc doc;
	uint32_t phases; /* the "phases" array */
	uint32_t total;  /* the whole run's "total" object */
	/*
	 * The guest's forks: the phase markers that ended a "fork" phase (each
	 * fork() of the guest kernel is one such phase, in every paging mode);
	 * 0 if the run had none.
	 */
	uint64_t forks;
};

/*
 * Reads and checks file. 0, or -EINVAL after printing one line that says
 * what is wrong with it, -ENOMEM; holds nothing then.
 */
int stat_report__load(struct stat_report *r, const char *file);
void stat_report__release(struct stat_report *r);

/* The counters of phase `name` (its "total"), or of the run for STAT_TOTAL; JSON_NONE if absent. */
uint32_t stat_report__section(const struct stat_report *r, const char *name);

/* The unsigned integer at a dotted path ("hypercalls.as_fork.calls") under node. */
bool stat_report__value(const struct stat_report *r, uint32_t node, const char *path,
			uint64_t *out);

/* A string member of the report's "run" or "result" ("run.paging"), or NULL. */
const char *stat_report__string(const struct stat_report *r, const char *path);

#endif
