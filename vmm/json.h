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
	bool has_items[JSON_MAX_DEPTH]; /* something was written at this depth */
};

void json__init(struct json *j, FILE *f);
/* key is the member name inside an object, NULL inside an array or at the top. */
void json__object_begin(struct json *j, const char *key);
void json__object_end(struct json *j);
void json__array_begin(struct json *j, const char *key);
void json__array_end(struct json *j);
void json__u64(struct json *j, const char *key, uint64_t v);
void json__i64(struct json *j, const char *key, int64_t v);
void json__bool(struct json *j, const char *key, bool v);
void json__null(struct json *j, const char *key);
/* s may be NULL: written as null. */
void json__string(struct json *j, const char *key, const char *s);
/* Ends the document with a newline. */
void json__finish(struct json *j);

#endif
