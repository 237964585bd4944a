/*
 * umbra's outputs in a run: standard output (the guest's console), standard
 * error (umbra's messages and the report) and --stats-file, each written by
 * a sink (sink.h) so that no reader can hold the VMM, and the end of the
 * run, when umbra waits for those readers within bounds.
 *
 * At the end umbra waits for the console, then for --stats-file, then for
 * stderr, as long as the readers take when the guest stopped by itself and
 * no --timeout is running; from the moment --timeout expires or
 * SIGINT/SIGTERM comes (before the end or during it), at most
 * OUTPUT_GRACE_NS for each of the three. What is left then is not written,
 * and umbra says on stderr how many console bytes that was. docs/umbra.1,
 * OUTPUT, says the same.
 */
#ifndef UMBRA_VMM_OUTPUT_H
#define UMBRA_VMM_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "sink.h"

struct run_config;
struct vm;

/* How long umbra waits for each output in turn, once it must end. */
#define OUTPUT_GRACE_NS 250000000ull

struct output {
	const struct run_config *cfg;
	int sig_fd;             /* SIGINT/SIGTERM as a signalfd, read while waiting */
	int stats_fd;           /* --stats-file, or -1 */
	bool started;           /* out and err run */
	bool hurry;             /* --timeout expired or a signal came: waits are bounded */
	uint64_t timeout_at_ns; /* CLOCK_MONOTONIC time --timeout expires, or 0 */
	struct sink out, err;   /* standard output, standard error */
};

/*
 * Opens --stats-file, if cfg has one, without waiting for a FIFO's reader.
 * 0, or a negative errno after printing why. Holds nothing on failure.
 */
int output__open(struct output *o, const struct run_config *cfg, int sig_fd);

/* Starts the sinks of stdout and stderr and sends the console and umbra's
 * messages there. 0, or a negative errno after printing why. */
int output__start(struct output *o);

/*
 * After vm__run(): waits for the console, then writes the stop message and
 * the report to stderr and to --stats-file and waits for the file, then for
 * stderr, within the bounds above. 0, or -EIO if --stats-file did not get
 * the whole report.
 */
int output__finish(struct output *o, const struct vm *vm);

/* Stops the sinks (what is left is lost) and closes --stats-file. */
void output__release(struct output *o);

#endif
