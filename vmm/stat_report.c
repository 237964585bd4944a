/*
 * Reading a report back. The file is untrusted: every member is looked up
 * and its type checked before use, and a report that lacks what the
 * comparison needs is refused with one line.
 */
#include <config.h>

#include "stat_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define PATH_MAX_LEN 128 /* of a dotted path; longer ones are never found */

static int refuse(const char *file, const char *why)
{
	fprintf(stderr, "umbra stat: %s: %s\n", file, why);
	return -EINVAL;
}

/* Reads all of file into a new buffer (at most JSON_READ_MAX_BYTES). */
static int read_file(const char *file, char **out, size_t *len)
{
	size_t cap = JSON_READ_MAX_BYTES + 1, n = 0;
	char *buf = malloc(cap);
	FILE *f;

	if (!buf)
		return -ENOMEM;
	f = fopen(file, "rb");
	if (!f) {
		free(buf);
		return refuse(file, strerror(errno));
	}
	/* One byte more than allowed tells a file that is too large. */
	while (n < cap) {
		size_t got = fread(buf + n, 1, cap - n, f);

		if (got == 0)
			break;
		n += got;
	}
	if (ferror(f)) {
		int err = errno;

		fclose(f);
		free(buf);
		return refuse(file, strerror(err));
	}
	fclose(f);
	if (n > JSON_READ_MAX_BYTES) {
		free(buf);
		fprintf(stderr, "umbra stat: %s: larger than %u MiB\n", file,
			JSON_READ_MAX_BYTES >> 20);
		return -EINVAL;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The node at a dotted path under node, or JSON_NONE. */
static uint32_t lookup(const struct json_doc *doc, uint32_t node, const char *path)
{
	char buf[PATH_MAX_LEN];
	char *key, *save = NULL;

	if (strlen(path) >= sizeof(buf))
		return JSON_NONE;
	strcpy(buf, path);
	for (key = strtok_r(buf, ".", &save); key && node != JSON_NONE;
	     key = strtok_r(NULL, ".", &save))
		node = json_doc__member(doc, node, key);
	return node;
}

static bool has_type(const struct json_doc *doc, uint32_t node, enum json_type type)
{
	return node != JSON_NONE && json_doc__node(doc, node)->type == type;
}

/* Every phase is an object with a string "name" and an object "total". */
static bool phases_ok(const struct json_doc *doc, uint32_t phases)
{
	for (uint32_t i = json_doc__node(doc, phases)->first; i != JSON_NONE;
	     i = json_doc__node(doc, i)->next) {
		if (!has_type(doc, i, JSON_OBJECT) ||
		    !has_type(doc, json_doc__member(doc, i, "name"), JSON_STRING) ||
		    !has_type(doc, json_doc__member(doc, i, "total"), JSON_OBJECT))
			return false;
	}
	return true;
}

/* The format and version first: a report of another version may differ anywhere else. */
static int check(struct stat_report *r)
{
	const struct json_doc *doc = &r->doc;
	uint32_t format = json_doc__member(doc, 0, "format");
	uint32_t version = json_doc__member(doc, 0, "version");
	const struct json_node *v;
	char why[128];

	if (!has_type(doc, 0, JSON_OBJECT))
		return refuse(r->file, "not an umbra report (not a JSON object)");
	if (!has_type(doc, format, JSON_STRING) ||
	    strcmp(json_doc__string(doc, format), "umbra-stats") != 0)
		return refuse(r->file, "not an umbra report (no \"format\": \"umbra-stats\")");
	v = version == JSON_NONE ? NULL : json_doc__node(doc, version);
	if (!v || v->type != JSON_NUMBER || !v->is_u64)
		return refuse(r->file, "umbra report without a version number");
	if (v->u64 != REPORT_JSON_VERSION) {
		snprintf(why, sizeof(why), "umbra report version %llu; this umbra reads version %u",
			 (unsigned long long)v->u64, REPORT_JSON_VERSION);
		return refuse(r->file, why);
	}
	r->phases = json_doc__member(doc, 0, "phases");
	r->total = json_doc__member(doc, 0, STAT_TOTAL);
	if (!has_type(doc, r->phases, JSON_ARRAY) || !phases_ok(doc, r->phases))
		return refuse(r->file, "malformed umbra report (\"phases\")");
	if (!has_type(doc, r->total, JSON_OBJECT))
		return refuse(r->file, "malformed umbra report (\"total\")");
	return 0;
}

int stat_report__load(struct stat_report *r, const char *file)
{
	char why[160], *text;
	size_t len;
	int err;

	*r = (struct stat_report){.file = file};
	err = read_file(file, &text, &len);
	if (err < 0)
		return err;
	err = json_doc__parse(&r->doc, text, len, why, sizeof(why));
	free(text);
	if (err == -ENOMEM)
		return err;
	if (err < 0) {
		fprintf(stderr, "umbra stat: %s: not JSON: %s\n", file, why);
		return -EINVAL;
	}
	err = check(r);
	if (err < 0) {
		stat_report__release(r);
		return err;
	}
	stat_report__value(r, stat_report__section(r, "fork"), "hypercalls.phase.calls", &r->forks);
	return 0;
}

void stat_report__release(struct stat_report *r)
{
	json_doc__release(&r->doc);
}

uint32_t stat_report__section(const struct stat_report *r, const char *name)
{
	const struct json_doc *doc = &r->doc;

	if (strcmp(name, STAT_TOTAL) == 0)
		return r->total;
	for (uint32_t i = json_doc__node(doc, r->phases)->first; i != JSON_NONE;
	     i = json_doc__node(doc, i)->next) {
		if (strcmp(json_doc__string(doc, json_doc__member(doc, i, "name")), name) == 0)
			return json_doc__member(doc, i, "total");
	}
	return JSON_NONE;
}

bool stat_report__value(const struct stat_report *r, uint32_t node, const char *path, uint64_t *out)
{
	uint32_t i = lookup(&r->doc, node, path);
	const struct json_node *n;

	if (i == JSON_NONE)
		return false;
	n = json_doc__node(&r->doc, i);
	if (n->type != JSON_NUMBER || !n->is_u64)
		return false;
	*out = n->u64;
	return true;
}

const char *stat_report__string(const struct stat_report *r, const char *path)
{
	uint32_t i = lookup(&r->doc, 0, path);

	return i == JSON_NONE ? NULL : json_doc__string(&r->doc, i);
}
