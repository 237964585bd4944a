/*
 * The JSON reader: recursive descent over a private copy of the text
 * (RFC 8259), depth-limited; nodes in one array that grows by doubling and
 * can never hold more nodes than the text has bytes.
 */
#include <config.h>

#include "json_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct json_doc *doc;
	char *s; /* doc->text */
	size_t len, pos;
	char *why;
	size_t why_len;
	int err; /* the first error, or 0 */
};

/* Records the first error, at the current position. */
static void fail(struct parser *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, int err, const char *fmt, ...)
{
	unsigned line = 1, column = 1;
	char what[128];
	va_list ap;

	if (p->err)
		return;
	p->err = err;
	for (size_t i = 0; i < p->pos && i < p->len; i++) {
		column++;
		if (p->s[i] == '\n') {
			line++;
			column = 1;
		}
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(p->why, p->why_len, "line %u, column %u: %s", line, column, what);
}

/* What is at the current position, for an error message. */
static void fail_unexpected(struct parser *p, const char *expected)
{
	unsigned char c = p->pos < p->len ? (unsigned char)p->s[p->pos] : 0;

	if (p->pos >= p->len)
		fail(p, -EINVAL, "unexpected end of input, expected %s", expected);
	else if (c >= 0x20 && c < 0x7f)
		fail(p, -EINVAL, "unexpected '%c', expected %s", c, expected);
	else
		fail(p, -EINVAL, "unexpected byte 0x%02x, expected %s", c, expected);
}

static uint32_t new_node(struct parser *p, enum json_type type)
{
	struct json_doc *d = p->doc;

	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 64;
		struct json_node *nodes = realloc(d->nodes, cap * sizeof(*nodes));

		if (!nodes) {
			fail(p, -ENOMEM, "out of memory");
			return JSON_NONE;
		}
		d->nodes = nodes;
		d->cap = cap;
	}
	d->nodes[d->n] = (struct json_node){
		.type = type,
		.key = JSON_NONE,
		.string = JSON_NONE,
		.first = JSON_NONE,
		.next = JSON_NONE,
	};
	return d->n++;
}

static void skip_space(struct parser *p)
{
	for (; p->pos < p->len; p->pos++) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool at_digit(const struct parser *p)
{
	return p->pos < p->len && is_digit(p->s[p->pos]);
}

static int hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (is_digit(c))
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Writes code point cp as UTF-8 at w; returns the bytes written (at most 4). */
static size_t put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		w[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		w[0] = (char)(0xc0 | cp >> 6);
		w[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		w[0] = (char)(0xe0 | cp >> 12);
		w[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		w[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	w[0] = (char)(0xf0 | cp >> 18);
	w[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	w[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	w[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A \uXXXX escape (and the low half of a surrogate pair) at p->pos, just
 * past the backslash. The code point, or -1 after failing.
 */
static long unicode_escape(struct parser *p)
{
	int hi, lo;

	if (p->len - p->pos < 5 || (hi = hex4(p->s + p->pos + 1)) < 0) {
		fail(p, -EINVAL, "bad \\u escape");
		return -1;
	}
	p->pos += 5;
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		fail(p, -EINVAL, "a \\u escape of a lone low surrogate");
		return -1;
	}
	if (hi < 0xd800 || hi > 0xdbff)
		return hi;
	if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
	    (lo = hex4(p->s + p->pos + 2)) < 0xdc00 || lo > 0xdfff) {
		fail(p, -EINVAL, "a \\u escape of a high surrogate without its low half");
		return -1;
	}
	p->pos += 6;
	return 0x10000 + ((long)(hi - 0xd800) << 10) + (lo - 0xdc00);
}

/*
 * The string at p->pos (its opening quote), unescaped in place: what it
 * writes never overtakes what it reads, and the NUL lands at or before the
 * closing quote. Returns its offset in the text, or JSON_NONE.
 */
static uint32_t parse_string(struct parser *p)
{
	size_t start = ++p->pos, w = start;

	for (;;) {
		unsigned char c;
		long cp;

		if (p->pos >= p->len) {
			fail(p, -EINVAL, "unterminated string");
			return JSON_NONE;
		}
		c = (unsigned char)p->s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20) {
			fail(p, -EINVAL, "control character 0x%02x in a string", c);
			return JSON_NONE;
		}
		if (c != '\\') {
			p->s[w++] = p->s[p->pos++];
			continue;
		}
		p->pos++;
		c = p->pos < p->len ? (unsigned char)p->s[p->pos] : 0;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			p->s[w++] = (char)c;
			p->pos++;
			continue;
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			p->s[w++] = "\b\f\n\r\t"[strchr("bfnrt", c) - "bfnrt"];
			p->pos++;
			continue;
		case 'u':
			cp = unicode_escape(p);
			if (cp < 0)
				return JSON_NONE;
			if (cp == 0) {
				fail(p, -EINVAL, "\\u0000 in a string");
				return JSON_NONE;
			}
			w += put_utf8(p->s + w, (unsigned)cp);
			continue;
		default:
			fail(p, -EINVAL, "bad escape in a string");
			return JSON_NONE;
		}
	}
	p->s[w] = '\0';
	p->pos++;
	return (uint32_t)start;
}

static uint32_t parse_number(struct parser *p)
{
	size_t start = p->pos;
	bool integer = true, negative = false;
	uint64_t u = 0;
	uint32_t i;

	if (p->s[p->pos] == '-') {
		negative = true;
		p->pos++;
	}
	if (!at_digit(p)) {
		fail_unexpected(p, "a digit");
		return JSON_NONE;
	}
	if (p->s[p->pos] == '0') {
		p->pos++;
	} else {
		for (; at_digit(p); p->pos++) {
			unsigned d = (unsigned)(p->s[p->pos] - '0');

			if (u > (UINT64_MAX - d) / 10)
				integer = false;
			u = u * 10 + d;
		}
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		integer = false;
		p->pos++;
		if (!at_digit(p)) {
			fail_unexpected(p, "a digit after '.'");
			return JSON_NONE;
		}
		while (at_digit(p))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		integer = false;
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!at_digit(p)) {
			fail_unexpected(p, "a digit in the exponent");
			return JSON_NONE;
		}
		while (at_digit(p))
			p->pos++;
	}
	i = new_node(p, JSON_NUMBER);
	if (i == JSON_NONE)
		return JSON_NONE;
	/* The text is NUL-terminated and the number's end checked above, so
	 * strtod reads nothing past it that could change its value. */
	p->doc->nodes[i].number = strtod(p->s + start, NULL);
	p->doc->nodes[i].is_u64 = integer && !negative;
	p->doc->nodes[i].u64 = integer && !negative ? u : 0;
	return i;
}

static uint32_t parse_literal(struct parser *p, const char *word, enum json_type type, bool value)
{
	size_t n = strlen(word);
	uint32_t i;

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
		fail_unexpected(p, "a JSON value");
		return JSON_NONE;
	}
	p->pos += n;
	i = new_node(p, type);
	if (i != JSON_NONE)
		p->doc->nodes[i].boolean = value;
	return i;
}

static uint32_t parse_value(struct parser *p, unsigned depth);

/* An array or object at p->pos; members have keys. */
static uint32_t parse_container(struct parser *p, unsigned depth, bool object)
{
	char close = object ? '}' : ']';
	uint32_t self, last = JSON_NONE;

	if (depth >= JSON_READ_MAX_DEPTH) {
		fail(p, -EINVAL, "nested deeper than %u levels", JSON_READ_MAX_DEPTH);
		return JSON_NONE;
	}
	self = new_node(p, object ? JSON_OBJECT : JSON_ARRAY);
	if (self == JSON_NONE)
		return JSON_NONE;
	p->pos++;
	skip_space(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return self;
	}
	for (;;) {
		uint32_t key = JSON_NONE, child;

		skip_space(p);
		if (object) {
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				fail_unexpected(p, "a member name");
				return JSON_NONE;
			}
			key = parse_string(p);
			if (key == JSON_NONE)
				return JSON_NONE;
			skip_space(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				fail_unexpected(p, "':' after a member name");
				return JSON_NONE;
			}
			p->pos++;
		}
		child = parse_value(p, depth + 1);
		if (child == JSON_NONE)
			return JSON_NONE;
		p->doc->nodes[child].key = key;
		if (last == JSON_NONE)
			p->doc->nodes[self].first = child;
		else
			p->doc->nodes[last].next = child;
		last = child;
		skip_space(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return self;
		}
		fail_unexpected(p, object ? "',' or '}'" : "',' or ']'");
		return JSON_NONE;
	}
}

static uint32_t parse_value(struct parser *p, unsigned depth)
{
	uint32_t i;

	skip_space(p);
	if (p->pos >= p->len) {
		fail_unexpected(p, "a JSON value");
		return JSON_NONE;
	}
	switch (p->s[p->pos]) {
	case '{':
		return parse_container(p, depth, true);
	case '[':
		return parse_container(p, depth, false);
	case '"':
		i = new_node(p, JSON_STRING);
		if (i == JSON_NONE)
			return JSON_NONE;
		p->doc->nodes[i].string = parse_string(p);
		return p->doc->nodes[i].string == JSON_NONE ? JSON_NONE : i;
	case 't':
		return parse_literal(p, "true", JSON_BOOL, true);
	case 'f':
		return parse_literal(p, "false", JSON_BOOL, false);
	case 'n':
		return parse_literal(p, "null", JSON_NULL, false);
	default:
		if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
			return parse_number(p);
		fail_unexpected(p, "a JSON value");
		return JSON_NONE;
	}
}

int json_doc__parse(struct json_doc *doc, const char *text, size_t len, char *why, size_t why_len)
{
	struct parser p = {.doc = doc, .len = len, .why = why, .why_len = why_len};

	*doc = (struct json_doc){0};
	if (len > JSON_READ_MAX_BYTES) {
		snprintf(why, why_len, "larger than %u MiB", JSON_READ_MAX_BYTES >> 20);
		return -EFBIG;
	}
	doc->text = malloc(len + 1);
	if (!doc->text) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	memcpy(doc->text, text, len);
	doc->text[len] = '\0';
	p.s = doc->text;
	if (parse_value(&p, 0) != JSON_NONE) {
		skip_space(&p);
		if (p.pos < p.len)
			fail_unexpected(&p, "the end after the JSON value");
	}
	if (p.err) {
		json_doc__release(doc);
		return p.err;
	}
	return 0;
}

void json_doc__release(struct json_doc *doc)
{
	free(doc->text);
	free(doc->nodes);
	*doc = (struct json_doc){0};
}

uint32_t json_doc__member(const struct json_doc *doc, uint32_t obj, const char *key)
{
	if (obj == JSON_NONE || doc->nodes[obj].type != JSON_OBJECT)
		return JSON_NONE;
	for (uint32_t i = doc->nodes[obj].first; i != JSON_NONE; i = doc->nodes[i].next) {
		if (strcmp(doc->text + doc->nodes[i].key, key) == 0)
			return i;
	}
	return JSON_NONE;
}

const char *json_doc__key(const struct json_doc *doc, uint32_t i)
{
	return doc->nodes[i].key == JSON_NONE ? NULL : doc->text + doc->nodes[i].key;
}

const char *json_doc__string(const struct json_doc *doc, uint32_t i)
{
	return doc->nodes[i].type == JSON_STRING ? doc->text + doc->nodes[i].string : NULL;
}
