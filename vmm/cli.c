/*
 * The command line, parsed with getopt_long into struct run_config.
 */
#include <config.h>

#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_VCPUS = 256,
	OPT_MEM,
	OPT_POOL,
	OPT_PAGING,
	OPT_FLUSH,
	OPT_STATS,
	OPT_STATS_FILE,
	OPT_TIMEOUT,
	OPT_CHECK,
	OPT_TRACE,
	OPT_TRACE_BUFFER,
};

static const struct option run_options[] = {
	{"vcpus", required_argument, NULL, OPT_VCPUS},
	{"mem", required_argument, NULL, OPT_MEM},
	{"pool", required_argument, NULL, OPT_POOL},
	{"paging", required_argument, NULL, OPT_PAGING},
	{"flush", required_argument, NULL, OPT_FLUSH},
	{"stats", required_argument, NULL, OPT_STATS},
	{"stats-file", required_argument, NULL, OPT_STATS_FILE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"check", no_argument, NULL, OPT_CHECK},
	{"trace", required_argument, NULL, OPT_TRACE},
	{"trace-buffer", required_argument, NULL, OPT_TRACE_BUFFER},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

void cli__usage(FILE *f)
{
	fputs("Usage: umbra run [OPTIONS] [KERNEL.elf] [-- GUEST ARGS]\n"
	      "       umbra stat [--json] A.json [B.json ...]\n"
	      "       umbra --help | --version\n"
	      "\n"
	      "umbra runs a PVH guest kernel on KVM with a shadow MMU in user space and\n"
	      "reports the VM exits and shadow-MMU work of the run.\n"
	      "\n"
	      "Commands:\n"
	      "  run        boot KERNEL.elf (default: the guest image umbra was built with)\n"
	      "  stat       compare reports that 'umbra run --stats-file' wrote\n"
	      "\n"
	      "See 'umbra run --help' and 'umbra stat --help' for the options, umbra(1)\n"
	      "for the exit codes.\n",
	      f);
}

void cli__stat_usage(FILE *f)
{
	fprintf(f,
		"Usage: umbra stat [--json] A.json [B.json ...]\n"
		"\n"
		"Prints reports of 'umbra run --stats-file' side by side, phase by phase:\n"
		"every counter, its ratio to the first report's, and its count per fork\n"
		"(the guest's forks: the fork phases that ended).\n"
		"\n"
		"Options:\n"
		"  --json      JSON on standard output instead of the table\n"
		"  -h, --help  show this help\n"
		"\n"
		"At most %d reports. Exit codes: 0; 2 for a bad option or a report that\n"
		"cannot be read, is not JSON, not an umbra report or of another version.\n",
		STAT_MAX_REPORTS);
}

void cli__run_usage(FILE *f, const char *build_path, const char *install_path)
{
	fprintf(f,
		"Usage: umbra run [OPTIONS] [KERNEL.elf] [-- GUEST ARGS]\n"
		"\n"
		"Boots KERNEL.elf, a PVH ELF image, with GUEST ARGS as its command line.\n"
		"Without KERNEL.elf: the guest image the build made, at\n"
		"<umbra's directory>%s, else at\n"
		"%s.\n"
		"\n",
		build_path, install_path);
	fputs("Options:\n"
	      "  --vcpus N          number of vCPUs (default 2)\n"
	      "  --mem SIZE         guest RAM, a multiple of 2M (default 256M)\n"
	      "  --paging MODE      share, copy, lazy or native (default share)\n"
	      "  --pool SIZE        shadow page pool, a multiple of 2M (default 64M;\n"
	      "                     not reserved with --paging native)\n"
	      "  --flush MODE       how shadow changes reach the vCPUs: auto, tlb, copy,\n"
	      "                     drop or off (default auto: by the kind of KVM)\n"
	      "  --stats FORMAT     exit report on stderr: table, json or none (default table)\n"
	      "  --stats-file FILE  also write the report as JSON to FILE\n"
	      "  --timeout SECONDS  stop the guest after SECONDS (exit code 124)\n"
	      "  --check            check the shadow MMU's invariants at every phase\n"
	      "                     marker and at the end, and poison freed shadow pages\n"
	      "  --trace FILE       write a timeline of the run to FILE (Chrome trace-event\n"
	      "                     JSON: open it in Perfetto or chrome://tracing)\n"
	      "  --trace-buffer N   trace records per vCPU (default 65536); a full buffer\n"
	      "                     drops the rest and counts them\n"
	      "  -h, --help         show this help\n"
	      "\n"
	      "SIZE is a number of bytes with an optional K, M or G suffix.\n"
	      "Exit codes: the guest's exit status; 124 timeout; 125 VMM error;\n"
	      "126 the guest was stopped for an error of its own; 127 triple fault;\n"
	      "128+N stopped by signal N.\n",
	      f);
}

static int parse_unsigned(const char *opt, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno == ERANGE || v > UINT32_MAX) {
		fprintf(stderr, "umbra: %s '%s': not a number\n", opt, s);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_size(const char *opt, const char *s, uint64_t *out)
{
	int err = run_config__parse_size(s, out);

	if (err == -ERANGE)
		fprintf(stderr, "umbra: %s '%s': too large\n", opt, s);
	else if (err < 0)
		fprintf(stderr,
			"umbra: %s '%s': not a size (a number with an optional K, M or G "
			"suffix)\n",
			opt, s);
	return err;
}

static int parse_option(int opt, const char *arg, struct run_config *cfg)
{
	int err;

	switch (opt) {
	case OPT_VCPUS:
		return parse_unsigned("--vcpus", arg, &cfg->vcpus);
	case OPT_MEM:
		return parse_size("--mem", arg, &cfg->mem_size);
	case OPT_POOL:
		return parse_size("--pool", arg, &cfg->pool_size);
	case OPT_PAGING:
		if (run_config__paging_parse(arg, &cfg->paging) < 0) {
			fprintf(stderr,
				"umbra: --paging '%s': not one of share, copy, lazy, native\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_FLUSH:
		if (run_config__flush_parse(arg, &cfg->flush) < 0) {
			fprintf(stderr,
				"umbra: --flush '%s': not one of auto, tlb, copy, drop, off\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_STATS:
		if (run_config__stats_parse(arg, &cfg->stats) < 0) {
			fprintf(stderr, "umbra: --stats '%s': not one of table, json, none\n", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_STATS_FILE:
		cfg->stats_file = arg;
		return 0;
	case OPT_TIMEOUT:
		err = run_config__parse_seconds(arg, &cfg->timeout_ns);
		if (err == -ERANGE)
			fprintf(stderr, "umbra: --timeout '%s': more than %.0f seconds\n", arg,
				CONFIG_TIMEOUT_MAX_S);
		else if (err < 0)
			fprintf(stderr, "umbra: --timeout '%s': not a number of seconds\n", arg);
		return err;
	case OPT_CHECK:
		cfg->check = true;
		return 0;
	case OPT_TRACE:
		cfg->trace_file = arg;
		return 0;
	case OPT_TRACE_BUFFER:
		cfg->trace_events_set = true;
		return parse_unsigned("--trace-buffer", arg, &cfg->trace_events);
	}
	return -EINVAL;
}

/* Joins argv[0..argc-1] with single spaces into a new string. */
static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s, *p;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (i > 0)
			*p++ = ' ';
		memcpy(p, argv[i], n);
		p += n;
	}
	*p = '\0';
	return s;
}

/*
 * Options may come before and after KERNEL; "--" ends them and starts the
 * guest arguments. getopt runs in POSIX mode ('+') so that it stops at
 * KERNEL instead of permuting it behind the guest arguments.
 */
static int parse_run(int argc, char **argv, struct run_config *cfg)
{
	bool help = false;

	opterr = 0;
	optind = 0; /* 0, not 1: makes glibc reset its scanning state */
	for (;;) {
		const char *last_arg = NULL;
		int opt;

		while ((opt = getopt_long(argc, argv, "+:h", run_options, NULL)) != -1) {
			if (opt == 'h') {
				help = true;
			} else if (opt == ':') {
				fprintf(stderr, "umbra run: option '%s' needs a value\n",
					argv[optind - 1]);
				return -EINVAL;
			} else if (opt == '?') {
				fprintf(stderr,
					"umbra run: unknown option '%s' (see umbra run --help)\n",
					argv[optind - 1]);
				return -EINVAL;
			} else if (parse_option(opt, optarg, cfg) < 0) {
				return -EINVAL;
			}
			last_arg = optarg;
		}
		/* getopt consumed a "--" that was not an option's value: guest args follow. */
		if (optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
		    last_arg != argv[optind - 1])
			break;
		if (optind >= argc)
			break;
		if (cfg->kernel) {
			fprintf(stderr,
				"umbra run: unexpected argument '%s' (guest arguments go after "
				"--)\n",
				argv[optind]);
			return -EINVAL;
		}
		cfg->kernel = argv[optind];
		/* Restart getopt after KERNEL: it keeps state about the argv it scans. */
		argc -= optind;
		argv += optind;
		optind = 0;
	}
	if (help)
		return CLI_RUN_HELP;
	if (optind < argc) {
		cfg->cmdline = join_args(argc - optind, argv + optind);
		if (!cfg->cmdline) {
			fprintf(stderr, "umbra: out of memory\n");
			return -ENOMEM;
		}
	}
	return CLI_RUN;
}

int cli__parse(int argc, char **argv, struct run_config *cfg)
{
	if (argc < 2) {
		cli__usage(stderr);
		return -EINVAL;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return CLI_HELP;
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return CLI_VERSION;
	if (strcmp(argv[1], "run") == 0)
		return parse_run(argc - 1, argv + 1, cfg);
	if (strcmp(argv[1], "stat") == 0)
		return CLI_STAT;
	fprintf(stderr, "umbra: unknown command '%s' (see umbra --help)\n", argv[1]);
	return -EINVAL;
}

static const struct option stat_options[] = {
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cli__parse_stat(int argc, char **argv, struct stat_config *cfg)
{
	bool help = false;
	int opt;

	*cfg = (struct stat_config){0};
	argc--; /* argv[1] is "stat": getopt starts after argv[0] */
	argv++;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":h", stat_options, NULL)) != -1) {
		if (opt == 'h') {
			help = true;
		} else if (opt == 'j') {
			cfg->json = true;
		} else {
			fprintf(stderr, "umbra stat: unknown option '%s' (see umbra stat --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (help)
		return CLI_STAT_HELP;
	cfg->nfiles = argc - optind;
	cfg->files = argv + optind;
	if (cfg->nfiles == 0) {
		fprintf(stderr, "umbra stat: no report given (see umbra stat --help)\n");
		return -EINVAL;
	}
	if (cfg->nfiles > STAT_MAX_REPORTS) {
		fprintf(stderr, "umbra stat: %d reports: at most %d\n", cfg->nfiles,
			STAT_MAX_REPORTS);
		return -EINVAL;
	}
	return CLI_STAT;
}
