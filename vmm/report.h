/*
 * The run report: a table for people (stderr) and JSON for programs.
 * docs/stats.md describes both and the JSON schema.
 */
#ifndef UMBRA_VMM_REPORT_H
#define UMBRA_VMM_REPORT_H

#include <stdio.h>

struct vm;

#define REPORT_JSON_VERSION 1

/* Call after vm__run() returned: every vCPU thread has been joined. */
void report__table(FILE *f, const struct vm *vm);
void report__json(FILE *f, const struct vm *vm);

#endif
