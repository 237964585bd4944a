/*
 * The first process: picks the workload named on the command line, parses
 * its key=value parameters, runs it, and exits 0 if it saw no failure,
 * 1 if it did, 2 for a command line it refuses (with a message that lists
 * what is valid).
 */
#include "ulib.h"
#include "workloads.h"

#define USAGE_STATUS 2

static struct workload *const workloads[] = {
	&forkstorm_workload, &forktree_workload,   &bigparent_workload, &forkexit_workload,
	&sharerace_workload, &heapshrink_workload, &illegal_workload,   &panic_workload,
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

int64_t umain(const char *cmdline, uint64_t cpus);

static void usage(void)
{
	uprintf("usage: WORKLOAD [KEY=VALUE ...] (default: %s)\n", workloads[0]->name);
	for (unsigned i = 0; i < NWORKLOADS; i++) {
		const struct workload *w = workloads[i];
		uprintf("  %s: %s\n", w->name, w->help);
		for (unsigned j = 0; j < w->nparams; j++) {
			const struct param *p = &w->params[j];
			char def[24];
			if (p->def == PARAM_NCPU)
				fmt(def, sizeof(def), "CPUs");
			else
				fmt(def, sizeof(def), "%lu", p->def);
			uprintf("    %s=%lu..%lu (default %s): %s\n", p->name, p->min, p->max, def,
				p->help);
		}
	}
}

/* The next space-separated word of *s (NUL-terminated in place), or NULL. */
static char *next_word(char **s)
{
	char *p = *s;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p)
		return 0;
	char *w = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	if (*p)
		*p++ = '\0';
	*s = p;
	return w;
}

/* Decimal digits only, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static int set_param(struct workload *w, char *word)
{
	char *eq = word;
	while (*eq && *eq != '=')
		eq++;
	if (!*eq) {
		uprintf("%s: '%s' is not KEY=VALUE\n", w->name, word);
		return -1;
	}
	*eq = '\0';
	for (unsigned i = 0; i < w->nparams; i++) {
		struct param *p = &w->params[i];
		if (strcmp(p->name, word))
			continue;
		uint64_t v;
		if (!parse_u64(eq + 1, &v) || v < p->min || v > p->max) {
			uprintf("%s: bad value '%s' for %s: valid values are %lu..%lu\n", w->name,
				eq + 1, p->name, p->min, p->max);
			return -1;
		}
		p->value = v;
		return 0;
	}
	char valid[200];
	int n = 0;
	for (unsigned i = 0; i < w->nparams && n < (int)sizeof(valid); i++)
		n += fmt(valid + n, sizeof(valid) - n, " %s", w->params[i].name);
	uprintf("%s: unknown parameter '%s': valid parameters are%s\n", w->name, word, valid);
	return -1;
}

int64_t umain(const char *cmdline, uint64_t cpus)
{
	static char line[2048]; /* the kernel passes at most 2047 bytes */
	ncpu = (unsigned)cpus;
	size_t len = strlen(cmdline);
	if (len >= sizeof(line)) {
		uprintf("command line too long (%lu bytes)\n", len);
		return USAGE_STATUS;
	}
	memcpy(line, cmdline, len + 1);
	char *rest = line, *name = next_word(&rest);
	struct workload *w = workloads[0];
	if (name) {
		w = 0;
		for (unsigned i = 0; i < NWORKLOADS; i++)
			if (!strcmp(workloads[i]->name, name))
				w = workloads[i];
		if (!w) {
			char valid[200];
			int n = 0;
			for (unsigned i = 0; i < NWORKLOADS && n < (int)sizeof(valid); i++)
				n += fmt(valid + n, sizeof(valid) - n, " %s", workloads[i]->name);
			uprintf("unknown workload '%s': valid workloads are%s\n", name, valid);
			usage();
			return USAGE_STATUS;
		}
	}
	for (unsigned i = 0; i < w->nparams; i++)
		w->params[i].value = w->params[i].def == PARAM_NCPU ? ncpu : w->params[i].def;
	for (char *word; (word = next_word(&rest));)
		if (set_param(w, word) < 0) {
			usage();
			return USAGE_STATUS;
		}
	const char *why = w->check ? w->check(w) : 0;
	if (why) {
		uprintf("%s: %s\n", w->name, why);
		usage();
		return USAGE_STATUS;
	}
	uint64_t t0 = clock_ns();
	int failures = w->run(w);
	uint64_t ms = (clock_ns() - t0) / 1000000;
	uprintf("%s: %s in %lu ms\n", w->name, failures ? "FAILED" : "done", ms);
	return failures ? 1 : 0;
}
