/*
 * The run configuration: one plain struct that the command line fills in
 * (cli.c) and that run_config__validate() checks in one place.
 */
#ifndef UMBRA_VMM_RUN_CONFIG_H
#define UMBRA_VMM_RUN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UMBRA_MAX_VCPUS 64u /* the VMM's own limit; KVM may allow fewer */
#define SZ_2M (2ull << 20)

enum paging_mode {
	PAGING_SHARE,  /* shadow tables, fork shares pmd pages (the protocol) */
	PAGING_COPY,   /* shadow tables, fork copies every pmd page */
	PAGING_LAZY,   /* shadow tables, fork starts the child empty */
	PAGING_NATIVE, /* no shadow: the guest's own tables in CR3 */
};

/*
 * How a change to the shadow reaches the vCPUs (docs/architecture.md,
 * "Flushes"). auto picks by the KVM umbra runs on (kvm_kind.c).
 */
enum flush_mode {
	FLUSH_AUTO,
	FLUSH_TLB,  /* TDP KVM: changes in place, the vCPU flushes its TLB (the stub) */
	FLUSH_COPY, /* shadow-paging KVM: upper changes copy the path, leaves drop a frame */
	FLUSH_DROP, /* any change drops everything KVM cached, VM-wide */
	FLUSH_OFF,  /* nothing: stale translations stay (for probes; unsafe) */
};

enum stats_format {
	STATS_TABLE, /* human table on stderr */
	STATS_JSON,  /* JSON on stderr */
	STATS_NONE,
};

struct run_config {
	const char *kernel; /* guest image path; NULL: the image the build made */
	char *cmdline;      /* guest command line (the GUEST ARGS joined by spaces), owned */
	unsigned vcpus;     /* number of vCPUs */
	uint64_t mem_size;  /* guest RAM, in bytes */
	uint64_t pool_size; /* shadow pool, in bytes (not reserved in native mode) */
	enum paging_mode paging;
	enum flush_mode flush;
	enum stats_format stats;
	const char *stats_file; /* also write the JSON report here; NULL: no file */
	uint64_t timeout_ns;    /* stop the guest after this long, in nanoseconds; 0: never */
	bool check;             /* run the shadow invariant checker, poison freed pages */
	const char *trace_file; /* write the run's timeline here; NULL: no trace */
	unsigned trace_events;  /* records per vCPU trace buffer */
	bool trace_events_set;  /* --trace-buffer was given */
};

/* Limits that run_config__validate() enforces, in bytes. */
#define CONFIG_MEM_DEFAULT (256ull << 20)
#define CONFIG_MEM_MIN SZ_2M
#define CONFIG_MEM_MAX (64ull << 30)
#define CONFIG_POOL_DEFAULT (64ull << 20)
#define CONFIG_POOL_MIN SZ_2M
#define CONFIG_POOL_MAX (16ull << 30)
#define CONFIG_TIMEOUT_MAX_S 1000000.0

void run_config__init(struct run_config *cfg);
void run_config__release(struct run_config *cfg);
/* 0, or -EINVAL after printing one line that names the bad value. */
int run_config__validate(const struct run_config *cfg);

/* Bytes of pool that the VM reserves: pool_size in the shadow modes, else 0. */
uint64_t run_config__pool_bytes(const struct run_config *cfg);

const char *run_config__paging_name(enum paging_mode mode);
/* 0 and *out, or -EINVAL if name is not a paging mode. */
int run_config__paging_parse(const char *name, enum paging_mode *out);
int run_config__stats_parse(const char *name, enum stats_format *out);
const char *run_config__flush_name(enum flush_mode mode);
int run_config__flush_parse(const char *name, enum flush_mode *out);

/*
 * Parses a size: decimal digits with an optional K, M or G suffix (powers
 * of 1024, either case). 0 and *out, -EINVAL for a malformed size, -ERANGE
 * when it does not fit in 64 bits.
 */
int run_config__parse_size(const char *s, uint64_t *out);
/* Writes v as the shortest exact size: "3M", "1536K", "1000". */
void run_config__format_size(uint64_t v, char *buf, size_t len);
/* Parses seconds (decimal, fractions allowed) into nanoseconds; 0 or -EINVAL/-ERANGE. */
int run_config__parse_seconds(const char *s, uint64_t *ns);

#endif
