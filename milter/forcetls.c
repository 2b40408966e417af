/*
 * forcetls.c - forcetls, the administrator's program: the command line
 * and the dispatch to its subcommands (forcetls(1)).
 *
 * Owns: -h, -V, the usage and which subcommand runs. Each subcommand lives
 * in its own module (explain.c, report.c) and gets the words after its name.
 *
 * Must not: do a subcommand's work here, or decide anything: the policy
 * is the daemon's engine (policy.h), reached through the subcommands.
 *
 * Threads: single-threaded.
 */
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "log.h"
#include "report.h"

/* The usage of forcetls to out. */
static void usage(FILE *out)
{
    fprintf(out, "usage: %s\n"
            "       %s\n"
            "       forcetls -V | -h\n", EXPLAIN_SYNOPSIS, REPORT_SYNOPSIS);
    explain_usage_keys(out);
    report_usage_options(out);
}

/* forcetls SUBCOMMAND ARGS...: exit 0 when done, 1 on any error. */
int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd != NULL && (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (cmd != NULL && (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0)) {
        printf("forcetls %s\n", FORCETLS_VERSION);
        return 0;
    }
    if (cmd != NULL && strcmp(cmd, "explain") == 0)
        return explain_main(argc - 2, argv + 2);
    if (cmd != NULL && strcmp(cmd, "report") == 0)
        return report_main(argc - 2, argv + 2);
    if (cmd != NULL) {
        char esc[LOG_VALUE_BUF];

        log_value(cmd, esc, sizeof esc);
        fprintf(stderr, "forcetls: unknown subcommand %s\n", esc);
    }
    usage(stderr);
    return 1;
}
