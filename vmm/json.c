/*
 * The JSON writer.
 */
#include <config.h>

#include "json.h"

#include <inttypes.h>
#include <math.h>

void json__init(struct json *j, FILE *f)
{
	json__init_wrapped(j, f, JSON_MAX_DEPTH);
}

void json__init_wrapped(struct json *j, FILE *f, unsigned wrap_depth)
{
	*j = (struct json){.f = f, .wrap_depth = wrap_depth};
}

static void new_line(struct json *j)
{
	fputc('\n', j->f);
	for (unsigned i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
			break;
		}
	}
	fputc('"', f);
}

/* Starts a value: the comma and indentation before it, and its key. */
static void item(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->has_items[j->depth])
			fputs(j->depth > j->wrap_depth ? ", " : ",", j->f);
		if (j->depth <= j->wrap_depth)
			new_line(j);
	}
	j->has_items[j->depth] = true;
	if (key) {
		write_string(j->f, key);
		fputs(": ", j->f);
	}
}

static void container_begin(struct json *j, const char *key, char c)
{
	item(j, key);
	fputc(c, j->f);
	/* Nesting deeper than JSON_MAX_DEPTH shares the last level's comma
	 * state: still in bounds, only the commas could go wrong. */
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void container_end(struct json *j, char c)
{
	bool wrapped = j->has_items[j->depth] && j->depth <= j->wrap_depth;

	if (j->depth > 0)
		j->depth--;
	if (wrapped)
		new_line(j);
	fputc(c, j->f);
}

void json__object_begin(struct json *j, const char *key)
{
	container_begin(j, key, '{');
}

void json__object_end(struct json *j)
{
	container_end(j, '}');
}

void json__array_begin(struct json *j, const char *key)
{
	container_begin(j, key, '[');
}

void json__array_end(struct json *j)
{
	container_end(j, ']');
}

void json__u64(struct json *j, const char *key, uint64_t v)
{
	item(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json__i64(struct json *j, const char *key, int64_t v)
{
	item(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json__bool(struct json *j, const char *key, bool v)
{
	item(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json__null(struct json *j, const char *key)
{
	item(j, key);
	fputs("null", j->f);
}

void json__double(struct json *j, const char *key, double v)
{
	item(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void json__number(struct json *j, const char *key, const char *literal)
{
	item(j, key);
	fputs(literal, j->f);
}

void json__string(struct json *j, const char *key, const char *s)
{
	item(j, key);
	if (s)
		write_string(j->f, s);
	else
		fputs("null", j->f);
}

void json__finish(struct json *j)
{
	fputc('\n', j->f);
}
