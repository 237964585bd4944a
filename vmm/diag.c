/*
 * umbra's messages on standard error during a run.
 */
#include <config.h>

#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

#include "sink.h"

/* Set by the main thread while no vCPU thread runs, read by vCPU threads. */
static struct sink *diag_err;

void diag__attach(struct sink *err)
{
	diag_err = err;
}

void diag__put(const void *buf, size_t len)
{
	if (diag_err)
		sink__put_all(diag_err, buf, len);
	else
		fwrite(buf, 1, len, stderr);
}

void diag__printf(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	diag__put(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}
