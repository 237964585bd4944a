/*
 * A small JSON reader for files umbra did not write itself (reports that
 * `umbra stat` compares): the whole text parsed into a tree of nodes, with
 * the depth, the size and every number bounded, and a malformed input
 * refused with where and why, never a crash.
 */
#ifndef UMBRA_VMM_JSON_READ_H
#define UMBRA_VMM_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_READ_MAX_DEPTH 64          /* nesting of arrays and objects */
#define JSON_READ_MAX_BYTES (64u << 20) /* of the text */
#define JSON_NONE UINT32_MAX            /* no node: the end of a list, a missing member */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_node {
	enum json_type type;
	bool boolean;    /* JSON_BOOL */
	bool is_u64;     /* JSON_NUMBER: an integer from 0 to UINT64_MAX, in u64 */
	uint64_t u64;    /* JSON_NUMBER with is_u64 */
	double number;   /* JSON_NUMBER */
	uint32_t key;    /* a member's name (offset in the text), or JSON_NONE */
	uint32_t string; /* JSON_STRING: its value (offset in the text) */
	uint32_t first;  /* JSON_ARRAY, JSON_OBJECT: the first element, or JSON_NONE */
	uint32_t next;   /* the next element of the same container, or JSON_NONE */
};

/* A parsed document; node 0 is the top-level value. */
struct json_doc {
	char *text; /* a copy of the input, its strings unescaped in place and NUL-terminated */
	struct json_node *nodes;
	uint32_t n, cap;
};

/*
 * Parses len bytes of text (at most JSON_READ_MAX_BYTES). 0, or -EINVAL
 * with "line L, column C: what" in why (-ENOMEM: out of memory, -EFBIG:
 * too large); doc holds nothing on failure.
 */
int json_doc__parse(struct json_doc *doc, const char *text, size_t len, char *why, size_t why_len);
void json_doc__release(struct json_doc *doc);

static inline const struct json_node *json_doc__node(const struct json_doc *doc, uint32_t i)
{
	return &doc->nodes[i];
}

/* The member `key` of object node obj (the first one of that name), or JSON_NONE. */
uint32_t json_doc__member(const struct json_doc *doc, uint32_t obj, const char *key);
/* A member's name, or a string's value. */
const char *json_doc__key(const struct json_doc *doc, uint32_t i);
const char *json_doc__string(const struct json_doc *doc, uint32_t i);

#endif
