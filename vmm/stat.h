/*
 * `umbra stat A.json [B.json ...]`: reports written by --stats-file, side
 * by side, phase by phase, with ratios against the first and figures per
 * fork. docs/stats.md describes the output.
 */
#ifndef UMBRA_VMM_STAT_H
#define UMBRA_VMM_STAT_H

#include <stdbool.h>
#include <stdio.h>

#define STAT_MAX_REPORTS 16

struct stat_config {
	bool json;          /* --json: JSON instead of the table */
	int nfiles;         /* 1..STAT_MAX_REPORTS */
	char *const *files; /* the reports, in argv */
};

/*
 * Reads every report, then prints the comparison on out. 0, or -EINVAL
 * after printing one line on stderr that names the file and what is wrong
 * with it (unreadable, not JSON, not an umbra report, another version),
 * -ENOMEM.
 */
int stat__run(const struct stat_config *cfg, FILE *out);

#endif
