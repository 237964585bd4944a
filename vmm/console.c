/*
 * The guest's console on the VMM's standard output.
 */
#include <config.h>

#include "console.h"

#include <stdio.h>

#include "sink.h"

/* Set by the main thread while no vCPU thread runs, read by vCPU threads. */
static struct sink *console_out;

void console__attach(struct sink *out)
{
	console_out = out;
}

void console__write(const void *buf, size_t len)
{
	/* Outside a run (programs that link the VMM's library): stdio, and a
	 * write error (stdout closed) drops the output. */
	if (!console_out) {
		fwrite(buf, 1, len, stdout);
		return;
	}
	sink__put(console_out, buf, len);
}

void console__stop_waiting(void)
{
	if (console_out)
		sink__stop_waiting(console_out);
}
