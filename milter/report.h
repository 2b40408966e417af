/*
 * report.h - forcetls report: what partners really do, from the daemon's
 * decision lines (contract: "The administrator's tool: forcetls").
 *
 * The command line, the reading of files and stdin in large blocks, and
 * the printing (report_out.h) of what report_agg.h counted.
 */
#ifndef FORCETLS_REPORT_H
#define FORCETLS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report_agg.h"

#define REPORT_SYNOPSIS \
    "forcetls report [-c FILE] [--json] [--since DATE] [--until DATE] [FILE...]"

/* Room for a message of report_read_fd (without "forcetls: "). */
#define REPORT_ERR_MAX 1536

/* The options of report, for a usage text after the synopsis. */
void report_usage_options(FILE *out);

/*
 * Read every line of fd (until end of file) into agg, judging RFC 3164
 * years at now. A line over REPORT_LINE_MAX bytes is skipped without being
 * held in memory. False with err set ("NAME: cannot read: ...", "out of
 * memory") on a read error or when memory runs out.
 */
bool report_read_fd(struct report_agg *agg, int fd, const char *name,
                    int64_t now, char *err, size_t errsz);

/* forcetls report ARGS: the exit status (0 reported, 1 an error). */
int report_main(int argc, char **argv);

#endif
