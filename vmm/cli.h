/*
 * The command line: `umbra run [OPTIONS] [KERNEL.elf] [-- GUEST ARGS]`,
 * `umbra stat [--json] REPORT...`, `umbra --help`, `umbra --version`. Parsing only; run_config__validate()
 * checks the values.
 */
#ifndef UMBRA_VMM_CLI_H
#define UMBRA_VMM_CLI_H

#include <stdio.h>

#include "run_config.h"
#include "stat.h"

enum cli_command {
	CLI_RUN,       /* run a guest with the parsed config */
	CLI_HELP,      /* umbra --help */
	CLI_RUN_HELP,  /* umbra run --help */
	CLI_VERSION,   /* umbra --version */
	CLI_STAT,      /* umbra stat: cli__parse_stat() parses the rest */
	CLI_STAT_HELP, /* umbra stat --help */
};

/*
 * Parses argv into cfg (which run_config__init() has filled with defaults).
 * Returns an enum cli_command, or -EINVAL after printing one line that
 * names the bad argument. cfg->kernel points into argv.
 */
int cli__parse(int argc, char **argv, struct run_config *cfg);

/*
 * Parses `umbra stat [--json] REPORT...` (argv as cli__parse() got it)
 * into cfg. CLI_STAT, CLI_STAT_HELP, or -EINVAL after printing one line.
 */
int cli__parse_stat(int argc, char **argv, struct stat_config *cfg);

void cli__usage(FILE *f);
void cli__stat_usage(FILE *f);
/* build_path: the default image relative to umbra's directory; install_path: absolute. */
void cli__run_usage(FILE *f, const char *build_path, const char *install_path);

#endif
