/*
 * A small streaming JSON writer: nesting, commas, indentation and string
 * escaping, so that the report code only says what to write.
 */
#ifndef UMBRA_VMM_JSON_H
#define UMBRA_VMM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	unsigned depth;
	unsigned wrap_depth;            /* items deeper than this share their container's line */
	bool has_items[JSON_MAX_DEPTH]; /* something was written at this depth */
};

/* One item per line, indented: for reports that people read. */
void json__init(struct json *j, FILE *f);
/*
 * Items down to wrap_depth on lines of their own, anything deeper on its
 * container's line: wrap_depth 2 puts each element of a top-level member's
 * array on one line, for files of many small records (a trace).
 */
void json__init_wrapped(struct json *j, FILE *f, unsigned wrap_depth);
/* key is the member name inside an object, NULL inside an array or at the top. */
void json__object_begin(struct json *j, const char *key);
void json__object_end(struct json *j);
void json__array_begin(struct json *j, const char *key);
void json__array_end(struct json *j);
void json__u64(struct json *j, const char *key, uint64_t v);
void json__i64(struct json *j, const char *key, int64_t v);
void json__bool(struct json *j, const char *key, bool v);
void json__null(struct json *j, const char *key);
/* A finite v with 6 significant digits; NaN and infinities as null. */
void json__double(struct json *j, const char *key, double v);
/* A number the caller formatted (digits, '.', '-' only: not checked). */
void json__number(struct json *j, const char *key, const char *literal);
/* s may be NULL: written as null. */
void json__string(struct json *j, const char *key, const char *s);
/* Ends the document with a newline. */
void json__finish(struct json *j);

#endif
