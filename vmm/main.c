/*
 * umbra: parse the command line, build the VM, run it, report, and decide
 * the exit code. The only place that exits.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <umbra/abi.h>

#include "cli.h"
#include "elf_load.h"
#include "output.h"
#include "run_config.h"
#include "stat.h"
#include "trace.h"
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

/*
 * Blocks SIGINT and SIGTERM in this thread and every thread it starts from
 * now on, and returns them as a signalfd (or -1 after saying why): the main
 * thread takes them from there while the guest runs and while umbra waits
 * for its readers, and no handler races with the vCPU threads.
 */
static int stop_signals__open(sigset_t *old)
{
	sigset_t stop;
	int fd;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, old);
	fd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "umbra: signalfd: %s\n", strerror(errno));
		pthread_sigmask(SIG_SETMASK, old, NULL);
	}
	return fd;
}

/*
 * Writes the trace and closes its file; says how many records were
 * dropped. 0, or -1 after printing why the file could not be written.
 */
static int write_trace(const struct vm *vm, FILE *f)
{
	const struct run_config *cfg = vm->cfg;
	uint64_t dropped = trace__dropped(vm->trace);
	int err = trace__write(vm->trace, vm, f);

	if (fclose(f) != 0 && err == 0)
		err = -errno;
	if (err < 0) {
		fprintf(stderr, "umbra: --trace %s: %s\n", cfg->trace_file, strerror(-err));
		return -1;
	}
	if (dropped)
		fprintf(stderr,
			"umbra: --trace %s: %llu records dropped, the vCPU buffers of %u were "
			"full (see --trace-buffer)\n",
			cfg->trace_file, (unsigned long long)dropped, cfg->trace_events);
	return 0;
}

/*
 * Creates the --trace file before the guest runs, so that a bad path fails
 * early. A regular file only: it is written after the run, in one go, and
 * opening a FIFO or writing a device could wait without end.
 */
static FILE *open_trace(const char *path)
{
	struct stat st;
	FILE *f = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);

	if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "umbra: --trace %s: not a regular file\n", path);
		close(fd);
		return NULL;
	}
	if (fd >= 0 && fcntl(fd, F_SETFL, 0) == 0)
		f = fdopen(fd, "w");
	if (!f) {
		fprintf(stderr, "umbra: --trace %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

static int run(struct run_config *cfg, int sig_fd)
{
	struct guest_mem mem;
	struct elf_image img;
	struct output out;
	struct vm vm;
	FILE *trace_file = NULL;
	char why[512];
	int err, code;

	/* A closed stdout or stderr must not kill umbra before it reports. */
	signal(SIGPIPE, SIG_IGN);
	if (cfg->trace_file) {
		trace_file = open_trace(cfg->trace_file);
		if (!trace_file)
			return EXIT_VMM_ERROR;
	}
	if (output__open(&out, cfg, sig_fd) < 0) {
		if (trace_file)
			fclose(trace_file);
		return EXIT_VMM_ERROR;
	}
	err = guest_mem__init(&mem, cfg->mem_size, run_config__pool_bytes(cfg));
	if (err < 0) {
		fprintf(stderr, "umbra: cannot map guest memory: %s\n", strerror(-err));
		goto out_output;
	}
	err = elf_load__open(&img, cfg->kernel, &mem, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "umbra: %s: %s\n", cfg->kernel, why);
		guest_mem__release(&mem);
		goto out_output;
	}
	err = vm__init(&vm, cfg, &img, &mem);
	elf_load__close(&img);
	if (err < 0)
		goto out_output;
	err = output__start(&out);
	if (err < 0) {
		vm__release(&vm);
		goto out_output;
	}
	err = vm__run(&vm, sig_fd);
	if (output__finish(&out, &vm) < 0)
		err = -EIO;
	code = vm__exit_code(&vm.result);
	if (trace_file && write_trace(&vm, trace_file) < 0)
		err = -EIO;
	vm__release(&vm);
	output__release(&out);
	return err < 0 ? EXIT_VMM_ERROR : code;
out_output:
	output__release(&out);
	if (trace_file)
		fclose(trace_file);
	return EXIT_VMM_ERROR;
}

/* umbra stat's exit codes: 0, or 2 for a bad option or report (like cmp and diff). */
#define EXIT_STAT_ERROR 2

static int stat_command(int argc, char **argv)
{
	struct stat_config cfg;
	int err, cmd = cli__parse_stat(argc, argv, &cfg);

	if (cmd == CLI_STAT_HELP) {
		cli__stat_usage(stdout);
		return 0;
	}
	if (cmd < 0)
		return EXIT_STAT_ERROR;
	err = stat__run(&cfg, stdout);
	if (err == -ENOMEM)
		fprintf(stderr, "umbra stat: out of memory\n");
	if (err < 0)
		return EXIT_STAT_ERROR;
	if (fflush(stdout) != 0) {
		fprintf(stderr, "umbra stat: standard output: %s\n", strerror(errno));
		return EXIT_STAT_ERROR;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct run_config cfg;
	char *kernel = NULL;
	sigset_t old_mask;
	int cmd, sig_fd, code = EXIT_VMM_ERROR;

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
	case CLI_STAT:
		code = stat_command(argc, argv);
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
		sig_fd = stop_signals__open(&old_mask);
		if (sig_fd < 0)
			break;
		code = run(&cfg, sig_fd);
		close(sig_fd);
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
		break;
	default:
		break;
	}
	free(kernel);
	run_config__release(&cfg);
	return code;
}
