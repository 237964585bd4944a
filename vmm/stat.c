/*
 * `umbra stat`: the sections (each phase any report has, then the whole
 * run), in each the counters any report has (every unsigned integer of the
 * phase's "total", by its dotted path), as a table or as JSON.
 */
#include <config.h>

#include "stat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "stat_report.h"

#define NAME_WIDTH 40
#define COLUMN_WIDTH 12
#define ROW_MAX_DEPTH 4  /* "hypercalls.as_fork.calls" is 3 */
#define ROW_PATH_MAX 128 /* longer paths are not umbra's: left out */

/* A list of distinct strings, in the order they were first added. */
struct names {
	char **v;
	unsigned n, cap;
	unsigned *phase; /* sections: each one's phase number, for the order */
};

struct stat {
	const struct stat_config *cfg;
	struct stat_report reports[STAT_MAX_REPORTS];
	int n;
	FILE *out;
};

static void names__release(struct names *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->phase);
	*l = (struct names){0};
}

/* Adds s unless it is there. 0 or -ENOMEM. */
static int names__add(struct names *l, const char *s, unsigned phase)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], s) == 0)
			return 0;
	}
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 32;
		char **v = realloc(l->v, cap * sizeof(*v));
		unsigned *phase_v;

		if (!v)
			return -ENOMEM;
		l->v = v;
		phase_v = realloc(l->phase, cap * sizeof(*phase_v));
		if (!phase_v)
			return -ENOMEM;
		l->phase = phase_v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -ENOMEM;
	l->phase[l->n++] = phase;
	return 0;
}

/* The phases of every report, by phase number (then name), and the whole run last. */
static int collect_sections(const struct stat *st, struct names *sections)
{
	int err = 0;

	for (int r = 0; r < st->n && err == 0; r++) {
		const struct json_doc *doc = &st->reports[r].doc;

		for (uint32_t i = json_doc__node(doc, st->reports[r].phases)->first;
		     i != JSON_NONE && err == 0; i = json_doc__node(doc, i)->next) {
			uint64_t phase = UINT32_MAX;
			uint32_t num = json_doc__member(doc, i, "phase");

			if (num != JSON_NONE && json_doc__node(doc, num)->is_u64)
				phase = json_doc__node(doc, num)->u64;
			err = names__add(sections,
					 json_doc__string(doc, json_doc__member(doc, i, "name")),
					 phase < UINT32_MAX ? (unsigned)phase : UINT32_MAX);
		}
	}
	/* Insertion sort: a handful of phases. */
	for (unsigned i = 1; i < sections->n; i++) {
		for (unsigned j = i; j > 0 && sections->phase[j] < sections->phase[j - 1]; j--) {
			char *s = sections->v[j];
			unsigned p = sections->phase[j];

			sections->v[j] = sections->v[j - 1];
			sections->phase[j] = sections->phase[j - 1];
			sections->v[j - 1] = s;
			sections->phase[j - 1] = p;
		}
	}
	return err ? err : names__add(sections, STAT_TOTAL, UINT32_MAX);
}

/* Adds the dotted path of every unsigned integer under node (depth levels down). */
static int collect_rows(const struct json_doc *doc, uint32_t node, char *path, size_t len,
			unsigned depth, struct names *rows)
{
	int err = 0;

	for (uint32_t i = json_doc__node(doc, node)->first; i != JSON_NONE && err == 0;
	     i = json_doc__node(doc, i)->next) {
		const struct json_node *n = json_doc__node(doc, i);
		int w = snprintf(path + len, ROW_PATH_MAX - len, "%s%s", len ? "." : "",
				 json_doc__key(doc, i));

		if (w < 0 || (size_t)w >= ROW_PATH_MAX - len)
			continue; /* too long to be one of ours */
		if (n->type == JSON_NUMBER && n->is_u64)
			err = names__add(rows, path, 0);
		else if (n->type == JSON_OBJECT && depth > 1)
			err = collect_rows(doc, i, path, len + (size_t)w, depth - 1, rows);
	}
	path[len] = '\0';
	return err;
}

/* A row's value in each report's section; have[r] false where it has none. */
static bool row_values(const struct stat *st, const uint32_t *sect, const char *row, uint64_t *v,
		       bool *have)
{
	bool any = false;

	for (int r = 0; r < st->n; r++) {
		v[r] = 0;
		have[r] = sect[r] != JSON_NONE &&
			  stat_report__value(&st->reports[r], sect[r], row, &v[r]);
		any |= have[r] && v[r] != 0;
	}
	return any;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Per fork means nothing for a gauge, or for a maximum (the longest call
 * or stay). */
static bool per_fork_applies(const char *row)
{
	return strncmp(row, "shadow_pool.", strlen("shadow_pool.")) != 0 &&
	       !ends_with(row, "max_ns") && !ends_with(row, "longest_ns");
}

static bool ratio(const uint64_t *v, const bool *have, int r, double *out)
{
	if (!have[0] || !have[r] || v[0] == 0)
		return false;
	*out = (double)v[r] / (double)v[0];
	return true;
}

static bool per_fork(const struct stat *st, const char *row, const uint64_t *v, const bool *have,
		     int r, double *out)
{
	if (!have[r] || st->reports[r].forks == 0 || !per_fork_applies(row))
		return false;
	*out = (double)v[r] / (double)st->reports[r].forks;
	return true;
}

/* ---- table ---- */

static void print_cell(FILE *f, bool have, double x)
{
	if (have)
		fprintf(f, " %*.2f", COLUMN_WIDTH, x);
	else
		fprintf(f, " %*s", COLUMN_WIDTH, "-");
}

/* A string from a report, unprintable bytes shown as '?' (NULL as "?"); returns its width. */
static size_t print_safe(FILE *f, const char *s, size_t max)
{
	size_t i;

	if (!s)
		s = "?";
	for (i = 0; s[i] && i < max; i++)
		fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?', f);
	return i;
}

/* The same, padded with blanks to width. */
static void print_safe_padded(FILE *f, const char *s, size_t width)
{
	for (size_t n = print_safe(f, s, ROW_PATH_MAX); n < width; n++)
		fputc(' ', f);
}

static void table_header(const struct stat *st)
{
	FILE *f = st->out;

	fprintf(f,
		"umbra stat: %d report%s; X/A: the ratio to A; X/fork: a count over the "
		"guest's forks\n",
		st->n, st->n == 1 ? "" : "s");
	for (int r = 0; r < st->n; r++) {
		const struct stat_report *rep = &st->reports[r];
		const char *cmdline = stat_report__string(rep, "run.cmdline");

		fprintf(f, "  %c  ", 'A' + r);
		print_safe(f, rep->file, 200);
		fputs(": ", f);
		print_safe(f, stat_report__string(rep, "run.paging"), 16);
		fprintf(f, " paging, %llu forks, stop ", (unsigned long long)rep->forks);
		print_safe(f, stat_report__string(rep, "result.stop"), 16);
		fputs(", guest args '", f);
		print_safe(f, cmdline, 200);
		fputs("'\n", f);
	}
}

static void table_section(const struct stat *st, const char *name, const struct names *rows,
			  const uint32_t *sect)
{
	FILE *f = st->out;
	bool phase = strcmp(name, STAT_TOTAL) != 0;
	uint64_t v[STAT_MAX_REPORTS];
	bool have[STAT_MAX_REPORTS];

	fprintf(f, "\n%s", phase ? "phase " : "");
	print_safe_padded(f, name, NAME_WIDTH - (phase ? strlen("phase ") : 0));
	for (int r = 0; r < st->n; r++)
		fprintf(f, " %*c", COLUMN_WIDTH, 'A' + r);
	for (int r = 1; r < st->n; r++)
		fprintf(f, " %*s%c/A", COLUMN_WIDTH - 3, "", 'A' + r);
	for (int r = 0; r < st->n; r++)
		fprintf(f, " %*s%c/fork", COLUMN_WIDTH - 6, "", 'A' + r);
	fputc('\n', f);
	for (unsigned i = 0; i < rows->n; i++) {
		double x = 0;

		if (!row_values(st, sect, rows->v[i], v, have))
			continue;
		fputs("  ", f);
		print_safe_padded(f, rows->v[i], NAME_WIDTH - 2);
		for (int r = 0; r < st->n; r++) {
			if (have[r])
				fprintf(f, " %*llu", COLUMN_WIDTH, (unsigned long long)v[r]);
			else
				fprintf(f, " %*s", COLUMN_WIDTH, "-");
		}
		for (int r = 1; r < st->n; r++) {
			bool ok = ratio(v, have, r, &x);

			print_cell(f, ok, x);
		}
		for (int r = 0; r < st->n; r++) {
			bool ok = per_fork(st, rows->v[i], v, have, r, &x);

			print_cell(f, ok, x);
		}
		fputc('\n', f);
	}
}

/* ---- JSON ---- */

static void json_header(struct json *j, const struct stat *st)
{
	json__string(j, "format", "umbra-stat");
	json__u64(j, "version", 1);
	json__array_begin(j, "reports");
	for (int r = 0; r < st->n; r++) {
		const struct stat_report *rep = &st->reports[r];
		char label[2] = {(char)('A' + r), '\0'};

		json__object_begin(j, NULL);
		json__string(j, "label", label);
		json__string(j, "file", rep->file);
		json__string(j, "paging", stat_report__string(rep, "run.paging"));
		json__string(j, "cmdline", stat_report__string(rep, "run.cmdline"));
		json__string(j, "stop", stat_report__string(rep, "result.stop"));
		json__u64(j, "forks", rep->forks);
		json__object_end(j);
	}
	json__array_end(j);
}

static void json_section(struct json *j, const struct stat *st, const char *name,
			 const struct names *rows, const uint32_t *sect)
{
	uint64_t v[STAT_MAX_REPORTS];
	bool have[STAT_MAX_REPORTS];

	json__object_begin(j, NULL);
	json__string(j, "name", name);
	json__array_begin(j, "rows");
	for (unsigned i = 0; i < rows->n; i++) {
		double x = 0;

		if (!row_values(st, sect, rows->v[i], v, have))
			continue;
		json__object_begin(j, NULL);
		json__string(j, "counter", rows->v[i]);
		json__array_begin(j, "values");
		for (int r = 0; r < st->n; r++) {
			if (have[r])
				json__u64(j, NULL, v[r]);
			else
				json__null(j, NULL);
		}
		json__array_end(j);
		json__array_begin(j, "ratios");
		for (int r = 0; r < st->n; r++) {
			if (ratio(v, have, r, &x))
				json__double(j, NULL, x);
			else
				json__null(j, NULL);
		}
		json__array_end(j);
		json__array_begin(j, "per_fork");
		for (int r = 0; r < st->n; r++) {
			if (per_fork(st, rows->v[i], v, have, r, &x))
				json__double(j, NULL, x);
			else
				json__null(j, NULL);
		}
		json__array_end(j);
		json__object_end(j);
	}
	json__array_end(j);
	json__object_end(j);
}

/* One section, in the chosen format. */
static int print_section(const struct stat *st, struct json *j, const char *name)
{
	uint32_t sect[STAT_MAX_REPORTS];
	struct names rows = {0};
	char path[ROW_PATH_MAX] = "";
	int err = 0;

	for (int r = 0; r < st->n; r++) {
		sect[r] = stat_report__section(&st->reports[r], name);
		if (sect[r] != JSON_NONE && err == 0)
			err = collect_rows(&st->reports[r].doc, sect[r], path, 0, ROW_MAX_DEPTH,
					   &rows);
	}
	if (err == 0 && st->cfg->json)
		json_section(j, st, name, &rows, sect);
	else if (err == 0)
		table_section(st, name, &rows, sect);
	names__release(&rows);
	return err;
}

static int print(const struct stat *st)
{
	struct names sections = {0};
	struct json j;
	int err = collect_sections(st, &sections);

	if (err < 0)
		goto out;
	/* Depth 4: one line per row of a section. */
	json__init_wrapped(&j, st->out, 4);
	if (st->cfg->json) {
		json__object_begin(&j, NULL);
		json_header(&j, st);
		json__array_begin(&j, "sections");
	} else {
		table_header(st);
	}
	for (unsigned i = 0; i < sections.n && err == 0; i++)
		err = print_section(st, &j, sections.v[i]);
	if (st->cfg->json) {
		json__array_end(&j);
		json__object_end(&j);
		json__finish(&j);
	}
out:
	names__release(&sections);
	return err;
}

int stat__run(const struct stat_config *cfg, FILE *out)
{
	struct stat *st = calloc(1, sizeof(*st));
	int err = 0;

	if (!st)
		return -ENOMEM;
	st->cfg = cfg;
	st->out = out;
	for (; st->n < cfg->nfiles && err == 0; st->n++) {
		err = stat_report__load(&st->reports[st->n], cfg->files[st->n]);
		if (err < 0)
			break;
	}
	if (err == 0)
		err = print(st);
	for (int r = 0; r < st->n; r++)
		stat_report__release(&st->reports[r]);
	free(st);
	return err;
}
