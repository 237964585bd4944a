/*
 * umbra's outputs in a run, and the bounded wait for their readers at the
 * end of it.
 */
#include <config.h>

#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console.h"
#include "diag.h"
#include "report.h"
#include "run_config.h"
#include "stats.h"
#include "vm.h"

int output__open(struct output *o, const struct run_config *cfg, int sig_fd)
{
	struct stat st;
	int flags, err;

	*o = (struct output){.cfg = cfg, .sig_fd = sig_fd, .stats_fd = -1};
	if (!cfg->stats_file)
		return 0;
	/* O_NONBLOCK: opening a FIFO for writing would wait for a reader. */
	o->stats_fd =
		open(cfg->stats_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);
	if (o->stats_fd < 0) {
		err = errno;
		if (err == ENXIO && stat(cfg->stats_file, &st) == 0 && S_ISFIFO(st.st_mode))
			fprintf(stderr,
				"umbra: --stats-file %s: a FIFO that nobody has open for reading\n",
				cfg->stats_file);
		else
			fprintf(stderr, "umbra: --stats-file %s: %s\n", cfg->stats_file,
				strerror(err));
		return -err;
	}
	/* The description is umbra's own: a FIFO's reader may be slow, and the
	 * sink's writer blocks until umbra stops waiting for it. */
	flags = fcntl(o->stats_fd, F_GETFL);
	if (flags < 0 || fcntl(o->stats_fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		err = errno;
		fprintf(stderr, "umbra: --stats-file %s: %s\n", cfg->stats_file, strerror(err));
		close(o->stats_fd);
		o->stats_fd = -1;
		return -err;
	}
	return 0;
}

int output__start(struct output *o)
{
	/* Only sink__put_all() writes stderr: it needs no room. */
	int err = sink__init(&o->out, STDOUT_FILENO, CONSOLE_ROOM);

	if (err == 0) {
		err = sink__init(&o->err, STDERR_FILENO, 0);
		if (err < 0)
			sink__release(&o->out);
	}
	if (err < 0) {
		fprintf(stderr, "umbra: cannot start the output threads: %s\n", strerror(-err));
		return err;
	}
	o->started = true;
	console__attach(&o->out);
	diag__attach(&o->err);
	return 0;
}

/* The deadline of the next wait: --timeout's expiry or none, or in a hurry
 * OUTPUT_GRACE_NS from now. */
static uint64_t next_deadline(const struct output *o)
{
	return o->hurry ? stats__now_ns() + OUTPUT_GRACE_NS : o->timeout_at_ns;
}

/*
 * Waits until s has written everything: false if it has not by *deadline.
 * A signal, or --timeout expiring, makes umbra hurry: *deadline moves to
 * OUTPUT_GRACE_NS from then (once; later signals do not move it).
 */
static bool drain(struct output *o, struct sink *s, uint64_t *deadline)
{
	for (;;) {
		int r = sink__wait(s, *deadline, o->sig_fd);

		if (r == 0)
			return true;
		if (r == -EINTR) {
			struct signalfd_siginfo si;
			ssize_t n = read(o->sig_fd, &si, sizeof(si));

			(void)n; /* which signal does not matter: it asks to end */
		} else if (o->hurry) {
			return false;
		}
		if (!o->hurry) {
			o->hurry = true;
			*deadline = stats__now_ns() + OUTPUT_GRACE_NS;
		}
	}
}

/* Says how much of the guest's console output was given up, and why. */
static void report_console_loss(struct output *o)
{
	unsigned long long lost = sink__lost(&o->out);
	int err = sink__error(&o->out);

	if (lost == 0)
		return;
	if (err)
		diag__printf("umbra: %llu bytes of console output were not written: "
			     "standard output: %s\n",
			     lost, strerror(err));
	else
		diag__printf("umbra: %llu bytes of console output were not written: "
			     "standard output was not read in time\n",
			     lost);
}

static void print_stderr_report(FILE *f, const struct vm *vm)
{
	/* The table says how the run ended; without it, say so when it was not
	 * the guest's own exit. */
	if (vm->result.reason != STOP_EXIT && vm->cfg->stats != STATS_TABLE)
		fprintf(f, "umbra: %s\n", vm->result.message);
	if (vm->cfg->stats == STATS_TABLE)
		report__table(f, vm);
	else if (vm->cfg->stats == STATS_JSON)
		report__json(f, vm);
}

/* Prints into memory and queues the text on s as one piece. 0 or -ENOMEM. */
static int queue_report(struct sink *s, void (*print)(FILE *, const struct vm *),
			const struct vm *vm)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -ENOMEM;
	print(f, vm);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	sink__put_all(s, text, len);
	free(text);
	return 0;
}

/*
 * Writes the JSON report to --stats-file through a sink of its own and
 * waits for it until *deadline; closes the file. 0 or -EIO after saying why
 * on stderr.
 */
static int write_stats_file(struct output *o, const struct vm *vm, uint64_t *deadline)
{
	const char *path = o->cfg->stats_file;
	struct sink stats;
	int err = sink__init(&stats, o->stats_fd, 0);

	if (err == 0) {
		err = queue_report(&stats, report__json, vm);
		drain(o, &stats, deadline);
		sink__abandon(&stats);
		if (err == 0 && sink__error(&stats))
			err = -sink__error(&stats);
		else if (err == 0 && sink__lost(&stats))
			err = -ETIMEDOUT;
		sink__release(&stats);
	}
	if (close(o->stats_fd) < 0 && err == 0)
		err = -errno;
	o->stats_fd = -1;
	if (err == -ETIMEDOUT)
		diag__printf("umbra: --stats-file %s: not read in time; the report in it is "
			     "incomplete\n",
			     path);
	else if (err < 0)
		diag__printf("umbra: --stats-file %s: %s\n", path, strerror(-err));
	return err < 0 ? -EIO : 0;
}

int output__finish(struct output *o, const struct vm *vm)
{
	uint64_t deadline;
	int err = 0;

	o->hurry = vm->result.reason == STOP_TIMEOUT || vm->result.reason == STOP_SIGNAL;
	if (vm->cfg->timeout_ns)
		o->timeout_at_ns = vm->start_ns + vm->cfg->timeout_ns;
	/* The console first, so that the report follows the guest's last words. */
	deadline = next_deadline(o);
	drain(o, &o->out, &deadline);
	sink__abandon(&o->out);
	console__attach(NULL);
	report_console_loss(o);

	/* stderr's writer works while umbra waits for the file; stderr gets a
	 * wait of its own after it, for what the file's failure adds. */
	if (queue_report(&o->err, print_stderr_report, vm) < 0)
		diag__printf("umbra: %s (no memory for the report)\n", vm->result.message);
	if (o->stats_fd >= 0) {
		deadline = next_deadline(o);
		err = write_stats_file(o, vm, &deadline);
	}
	deadline = next_deadline(o);
	drain(o, &o->err, &deadline);
	return err;
}

void output__release(struct output *o)
{
	if (o->started) {
		console__attach(NULL);
		diag__attach(NULL);
		sink__release(&o->out);
		sink__release(&o->err);
		o->started = false;
	}
	if (o->stats_fd >= 0)
		close(o->stats_fd);
	o->stats_fd = -1;
}
