/*
 * The run report: a table for people (stderr) and JSON for programs.
 * docs/stats.md describes both and the JSON schema.
 */
#ifndef UMBRA_VMM_REPORT_H
#define UMBRA_VMM_REPORT_H

#include <stddef.h>
#include <stdio.h>

struct vm;

#define REPORT_JSON_VERSION 1

/* The name of phase p ("boot", ..., "user6"); buf holds the user phases' names. */
const char *report__phase_name(unsigned p, char *buf, size_t len);

/* Call after vm__run() returned: every vCPU thread has been joined. */
void report__table(FILE *f, const struct vm *vm);
void report__json(FILE *f, const struct vm *vm);

#endif
