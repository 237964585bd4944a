/*
 * umbra: parse the command line, build the VM, run it, report, and decide
 * the exit code. The only place that exits.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <umbra/abi.h>

#include "cli.h"
#include "console.h"
#include "elf_load.h"
#include "report.h"
#include "run_config.h"
#include "vm.h"

#ifndef UMBRA_GUEST_INSTALL_PATH
#error "the build passes UMBRA_GUEST_INSTALL_PATH, where make install puts the guest image"
#endif
/* The guest image in the build tree, relative to the umbra binary. */
#define UMBRA_GUEST_BUILD_PATH "/../guest/umbra-guest.elf"

/*
 * Finds the guest image the build made: next to the binary in the build
 * tree, else where make install put it. Returns a new string or NULL.
 */
static char *default_kernel(void)
{
	char exe[PATH_MAX], path[PATH_MAX + sizeof(UMBRA_GUEST_BUILD_PATH)];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s%s", exe, UMBRA_GUEST_BUILD_PATH);
			if (access(path, R_OK) == 0)
				return strdup(path);
		}
	}
	if (access(UMBRA_GUEST_INSTALL_PATH, R_OK) == 0)
		return strdup(UMBRA_GUEST_INSTALL_PATH);
	fprintf(stderr,
		"umbra: no KERNEL given, and no guest image at <umbra's directory>%s or %s\n",
		UMBRA_GUEST_BUILD_PATH, UMBRA_GUEST_INSTALL_PATH);
	return NULL;
}

static void report(const struct vm *vm, FILE *stats_file)
{
	const struct run_config *cfg = vm->cfg;

	console__flush();
	/* The table says how the run ended; without it, say so when it was not
	 * the guest's own exit. */
	if (vm->result.reason != STOP_EXIT && cfg->stats != STATS_TABLE)
		fprintf(stderr, "umbra: %s\n", vm->result.message);
	if (cfg->stats == STATS_TABLE)
		report__table(stderr, vm);
	else if (cfg->stats == STATS_JSON)
		report__json(stderr, vm);
	if (stats_file)
		report__json(stats_file, vm);
}

static int run(struct run_config *cfg)
{
	struct guest_mem mem;
	struct elf_image img;
	struct vm vm;
	FILE *stats_file = NULL;
	char why[512];
	int err, code;

	if (cfg->stats_file) {
		stats_file = fopen(cfg->stats_file, "w");
		if (!stats_file) {
			fprintf(stderr, "umbra: --stats-file %s: %s\n", cfg->stats_file,
				strerror(errno));
			return EXIT_VMM_ERROR;
		}
	}
	err = guest_mem__init(&mem, cfg->mem_size, run_config__pool_bytes(cfg));
	if (err < 0) {
		fprintf(stderr, "umbra: cannot map guest memory: %s\n", strerror(-err));
		goto out_file;
	}
	err = elf_load__open(&img, cfg->kernel, &mem, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "umbra: %s: %s\n", cfg->kernel, why);
		guest_mem__release(&mem);
		goto out_file;
	}
	err = vm__init(&vm, cfg, &img, &mem);
	elf_load__close(&img);
	if (err < 0)
		goto out_file;
	/* A closed stdout must not kill umbra before it reports. */
	signal(SIGPIPE, SIG_IGN);
	err = vm__run(&vm);
	report(&vm, stats_file);
	code = vm__exit_code(&vm.result);
	vm__release(&vm);
	if (stats_file && fclose(stats_file) != 0) {
		fprintf(stderr, "umbra: --stats-file %s: %s\n", cfg->stats_file, strerror(errno));
		return EXIT_VMM_ERROR;
	}
	return err < 0 ? EXIT_VMM_ERROR : code;
out_file:
	if (stats_file)
		fclose(stats_file);
	return EXIT_VMM_ERROR;
}

int main(int argc, char **argv)
{
	struct run_config cfg;
	char *kernel = NULL;
	int cmd, code = EXIT_VMM_ERROR;

	run_config__init(&cfg);
	cmd = cli__parse(argc, argv, &cfg);
	switch (cmd) {
	case CLI_HELP:
		cli__usage(stdout);
		code = 0;
		break;
	case CLI_RUN_HELP:
		cli__run_usage(stdout, UMBRA_GUEST_BUILD_PATH, UMBRA_GUEST_INSTALL_PATH);
		code = 0;
		break;
	case CLI_VERSION:
		printf("umbra %s (hypercall ABI %u)\n", PACKAGE_VERSION, UMBRA_ABI_VERSION);
		code = 0;
		break;
	case CLI_RUN:
		if (run_config__validate(&cfg) < 0)
			break;
		if (!cfg.kernel) {
			kernel = default_kernel();
			if (!kernel)
				break;
			cfg.kernel = kernel;
		}
		code = run(&cfg);
		break;
	default:
		break;
	}
	free(kernel);
	run_config__release(&cfg);
	return code;
}
