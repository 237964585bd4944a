/*
 * The run configuration: defaults, validation in one place, and the
 * parsers for the values the command line carries.
 */
#include <config.h>

#include "run_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvh.h"
#include "trace.h"

static const char *const paging_names[] = {
	[PAGING_SHARE] = "share",
	[PAGING_COPY] = "copy",
	[PAGING_LAZY] = "lazy",
	[PAGING_NATIVE] = "native",
};

static const char *const flush_names[] = {
	[FLUSH_AUTO] = "auto", [FLUSH_TLB] = "tlb", [FLUSH_COPY] = "copy",
	[FLUSH_DROP] = "drop", [FLUSH_OFF] = "off",
};

static const char *const stats_names[] = {
	[STATS_TABLE] = "table",
	[STATS_JSON] = "json",
	[STATS_NONE] = "none",
};

void run_config__init(struct run_config *cfg)
{
	*cfg = (struct run_config){
		.vcpus = 2,
		.mem_size = CONFIG_MEM_DEFAULT,
		.pool_size = CONFIG_POOL_DEFAULT,
		.paging = PAGING_SHARE,
		.stats = STATS_TABLE,
		.trace_events = TRACE_EVENTS_DEFAULT,
	};
}

void run_config__release(struct run_config *cfg)
{
	free(cfg->cmdline);
	cfg->cmdline = NULL;
}

const char *run_config__paging_name(enum paging_mode mode)
{
	return paging_names[mode];
}

static int name_lookup(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return (int)i;
	}
	return -EINVAL;
}

int run_config__paging_parse(const char *name, enum paging_mode *out)
{
	int i = name_lookup(paging_names, sizeof(paging_names) / sizeof(paging_names[0]), name);

	if (i < 0)
		return i;
	*out = (enum paging_mode)i;
	return 0;
}

const char *run_config__flush_name(enum flush_mode mode)
{
	return flush_names[mode];
}

int run_config__flush_parse(const char *name, enum flush_mode *out)
{
	int i = name_lookup(flush_names, sizeof(flush_names) / sizeof(flush_names[0]), name);

	if (i < 0)
		return i;
	*out = (enum flush_mode)i;
	return 0;
}

int run_config__stats_parse(const char *name, enum stats_format *out)
{
	int i = name_lookup(stats_names, sizeof(stats_names) / sizeof(stats_names[0]), name);

	if (i < 0)
		return i;
	*out = (enum stats_format)i;
	return 0;
}

int run_config__parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	switch (toupper((unsigned char)*p)) {
	case '\0':
		break;
	case 'K':
		mult = 1ull << 10;
		break;
	case 'M':
		mult = 1ull << 20;
		break;
	case 'G':
		mult = 1ull << 30;
		break;
	default:
		return -EINVAL;
	}
	if (*p != '\0' && p[1] != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int run_config__parse_seconds(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	/* strtod would also take "inf", "nan", hex and leading blanks. */
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	v = strtod(s, &end);
	if (*end != '\0')
		return -EINVAL;
	if (!(v <= CONFIG_TIMEOUT_MAX_S))
		return -ERANGE;
	*ns = (uint64_t)llround(v * 1e9);
	return 0;
}

uint64_t run_config__pool_bytes(const struct run_config *cfg)
{
	return cfg->paging == PAGING_NATIVE ? 0 : cfg->pool_size;
}

void run_config__format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMG";
	int u = -1;

	while (u < 2 && v != 0 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
}

static int size_check(const char *opt, uint64_t v, uint64_t min, uint64_t max)
{
	char sv[32], smin[32], smax[32];

	if (v >= min && v <= max && v % SZ_2M == 0)
		return 0;
	run_config__format_size(v, sv, sizeof(sv));
	run_config__format_size(min, smin, sizeof(smin));
	run_config__format_size(max, smax, sizeof(smax));
	fprintf(stderr, "umbra: %s %s: must be a multiple of 2M from %s to %s\n", opt, sv, smin,
		smax);
	return -EINVAL;
}

int run_config__validate(const struct run_config *cfg)
{
	if (cfg->vcpus < 1 || cfg->vcpus > UMBRA_MAX_VCPUS) {
		fprintf(stderr, "umbra: --vcpus %u: must be between 1 and %u\n", cfg->vcpus,
			UMBRA_MAX_VCPUS);
		return -EINVAL;
	}
	if (size_check("--mem", cfg->mem_size, CONFIG_MEM_MIN, CONFIG_MEM_MAX) < 0)
		return -EINVAL;
	if (size_check("--pool", cfg->pool_size, CONFIG_POOL_MIN, CONFIG_POOL_MAX) < 0)
		return -EINVAL;
	if (cfg->check && cfg->paging == PAGING_NATIVE) {
		fprintf(stderr, "umbra: --check: --paging native has no shadow MMU to check\n");
		return -EINVAL;
	}
	if (cfg->stats_file && cfg->stats_file[0] == '\0') {
		fprintf(stderr, "umbra: --stats-file '': empty file name\n");
		return -EINVAL;
	}
	if (cfg->trace_file && cfg->trace_file[0] == '\0') {
		fprintf(stderr, "umbra: --trace '': empty file name\n");
		return -EINVAL;
	}
	if (cfg->trace_events_set && !cfg->trace_file) {
		fprintf(stderr, "umbra: --trace-buffer: only with --trace\n");
		return -EINVAL;
	}
	if (cfg->trace_events < 1 || cfg->trace_events > TRACE_EVENTS_MAX) {
		fprintf(stderr, "umbra: --trace-buffer %u: must be between 1 and %u\n",
			cfg->trace_events, TRACE_EVENTS_MAX);
		return -EINVAL;
	}
	if (cfg->kernel && cfg->kernel[0] == '\0') {
		fprintf(stderr, "umbra: '': empty kernel file name\n");
		return -EINVAL;
	}
	if (cfg->cmdline && strlen(cfg->cmdline) > PVH_CMDLINE_MAX) {
		fprintf(stderr, "umbra: guest command line of %zu bytes: longer than %u\n",
			strlen(cfg->cmdline), PVH_CMDLINE_MAX);
		return -EINVAL;
	}
	return 0;
}
