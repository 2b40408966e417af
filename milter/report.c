/*
 * report.c - forcetls report: the command line, reading the logs, and
 * handing the counts to the printers.
 *
 * Owns: the options (-c, --json, --since, --until, FILE... with "-" for
 * stdin), reading each input in large blocks with memchr (no per-line
 * allocation; a line over REPORT_LINE_MAX bytes is skipped as it streams
 * past, never held), and the exit status.
 *
 * Must not: parse a line (report_line.c), count (report_agg.c) or print
 * the report (report_out.c, report_text.c); print a file name or argument
 * unescaped.
 *
 * Threads: a command-line program; single-threaded.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_syntax.h"
#include "log.h"
#include "report.h"
#include "report_out.h"

/* Bytes asked of read() at a time. */
#define READ_BLOCK (1u * 1024 * 1024)

/* The options of report. */
void report_usage_options(FILE *out)
{
    fprintf(out,
            "  report: -c FILE  compare certificate names and issuers with this"
            " configuration\n"
            "          --json   print one JSON object\n"
            "          --since DATE, --until DATE  only lines in [since, until)"
            " (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)\n"
            "          FILE...  decision logs (default and \"-\": stdin)\n");
}

/* The usage of report. */
static void report_usage(FILE *out)
{
    fprintf(out, "usage: %s\n", REPORT_SYNOPSIS);
    report_usage_options(out);
}

/* Count the lines of buf[0, len) that end in a newline; the rest's offset. */
static bool lines_of(struct report_agg *agg, const char *buf, size_t len,
                     int64_t now, char *scratch, size_t *rest)
{
    const char *p = buf, *end = buf + len, *nl;

    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if (!report_agg_line(agg, p, (size_t)(nl - p), now, scratch,
                             REPORT_SCRATCH_SIZE(REPORT_LINE_MAX)))
            return false;
        p = nl + 1;
    }
    *rest = (size_t)(p - buf);
    return true;
}

/* Read fd to its end into agg; see report.h. */
bool report_read_fd(struct report_agg *agg, int fd, const char *name,
                    int64_t now, char *err, size_t errsz)
{
    const size_t size = READ_BLOCK + REPORT_LINE_MAX + 1;
    char *buf = malloc(size), *scratch = malloc(REPORT_SCRATCH_SIZE(REPORT_LINE_MAX));
    size_t have = 0;          /* bytes of an unfinished line at buf */
    bool overlong = false;    /* inside a line too long to hold */
    bool ok = buf != NULL && scratch != NULL;

    if (!ok)
        snprintf(err, errsz, "out of memory");
    while (ok) {
        ssize_t n = read(fd, buf + have, size - have);
        size_t start = 0, rest;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            char esc[LOG_VALUE_BUF];

            log_value(name, esc, sizeof esc);
            snprintf(err, errsz, "%s: cannot read: %s", esc, strerror(errno));
            ok = false;
            break;
        }
        if (n == 0)
            break;
        if (overlong) {
            const char *nl = memchr(buf, '\n', (size_t)n);

            if (nl == NULL)
                continue;               /* still inside it: drop the block */
            report_agg_skip(agg, RS_TOO_LONG);
            overlong = false;
            start = (size_t)(nl + 1 - buf);
        }
        have += (size_t)n;
        if (!lines_of(agg, buf + start, have - start, now, scratch, &rest)) {
            snprintf(err, errsz, "out of memory");
            ok = false;
            break;
        }
        start += rest;
        if (have - start > REPORT_LINE_MAX) {
            overlong = true;            /* no newline yet: too long to hold */
            have = 0;
        } else {
            memmove(buf, buf + start, have - start);
            have -= start;
        }
    }
    if (ok && overlong)
        report_agg_skip(agg, RS_TOO_LONG);
    else if (ok && have > 0 &&
             !report_agg_line(agg, buf, have, now, scratch,
                              REPORT_SCRATCH_SIZE(REPORT_LINE_MAX))) {
        snprintf(err, errsz, "out of memory");
        ok = false;
    }
    free(buf);
    free(scratch);
    return ok;
}

/* The options of one run. */
struct report_args {
    const char *config_path;
    bool json;
    bool have_since, have_until;
    int64_t since, until;
    char **files;
    int file_count;
};

/* An option's DATE argument into *t; false with err set. */
static bool date_arg(const char *opt, const char *text, int64_t *t, char *err,
                     size_t errsz)
{
    const char *why;
    char esc[LOG_VALUE_BUF];

    if (syntax_utc_date(text, t, &why))
        return true;
    log_value(text, esc, sizeof esc);
    snprintf(err, errsz, "%s %s: %s", opt, esc, why);
    return false;
}

/*
 * The value of option opt at argv[*i]: "--opt=VALUE" or "--opt VALUE"
 * (-c: "-c VALUE" or "-cVALUE"). NULL when the word is not opt.
 */
static const char *option_value(int argc, char **argv, int *i, const char *opt,
                                bool *missing)
{
    size_t len = strlen(opt);
    const char *w = argv[*i];

    *missing = false;
    if (strncmp(w, opt, len) != 0)
        return NULL;
    if (w[len] == '=' && opt[1] == '-')
        return w + len + 1;
    if (w[len] != '\0')
        return opt[1] != '-' ? w + len : NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Parse the words after "report"; 0 ok, 1 error (err set), 2 help. */
static int parse_args(int argc, char **argv, struct report_args *a, char *err,
                      size_t errsz)
{
    static const char *const opts[] = { "-c", "--since", "--until" };
    int i;

    memset(a, 0, sizeof *a);
    for (i = 0; i < argc; i++) {
        const char *w = argv[i], *v = NULL;
        bool missing = false;
        size_t k;

        if (strcmp(w, "--") == 0) {
            i++;
            break;
        }
        if (w[0] != '-' || strcmp(w, "-") == 0)
            break;
        if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0)
            return 2;
        if (strcmp(w, "--json") == 0) {
            a->json = true;
            continue;
        }
        for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if ((v = option_value(argc, argv, &i, opts[k], &missing)) != NULL ||
                missing)
                break;
        if (missing) {
            snprintf(err, errsz, "%s needs a value", opts[k]);
            return 1;
        }
        if (v == NULL) {
            char esc[LOG_VALUE_BUF];

            log_value(w, esc, sizeof esc);
            snprintf(err, errsz, "report: unknown option %s", esc);
            return 1;
        }
        if (k == 0)
            a->config_path = v;
        else if (!date_arg(opts[k], v, k == 1 ? &a->since : &a->until, err,
                           errsz))
            return 1;
        else if (k == 1)
            a->have_since = true;
        else
            a->have_until = true;
    }
    if (a->have_since && a->have_until && a->since >= a->until) {
        snprintf(err, errsz, "--since must be before --until");
        return 1;
    }
    a->files = argv + i;
    a->file_count = argc - i;
    return 0;
}

/* Read one input ("-": stdin) into agg; false with err set. */
static bool read_input(struct report_agg *agg, const char *path, int64_t now,
                       char *err, size_t errsz)
{
    int fd = STDIN_FILENO;
    bool ok;

    if (strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            char esc[LOG_VALUE_BUF];

            log_value(path, esc, sizeof esc);
            snprintf(err, errsz, "%s: cannot open: %s", esc, strerror(errno));
            return false;
        }
    }
    ok = report_read_fd(agg, fd, strcmp(path, "-") == 0 ? "stdin" : path, now,
                        err, errsz);
    if (fd != STDIN_FILENO)
        close(fd);
    return ok;
}

/* forcetls report ARGS; see report.h. */
int report_main(int argc, char **argv)
{
    struct report_args a;
    struct report_agg *agg = NULL;
    struct config *config = NULL;
    char err[REPORT_ERR_MAX];
    int64_t now = (int64_t)time(NULL);
    int r = parse_args(argc, argv, &a, err, sizeof err), status = 1;
    bool ok;

    if (r == 2) {
        report_usage(stdout);
        return 0;
    }
    if (r != 0) {
        fprintf(stderr, "forcetls: %s\n", err);
        return 1;
    }
    if (a.config_path != NULL) {
        struct config_error cerr;

        config = config_load(a.config_path, &cerr);
        if (config == NULL) {
            fprintf(stderr, "forcetls: %s\n", cerr.text);
            return 1;
        }
    }
    agg = report_agg_new();
    ok = agg != NULL;
    if (!ok)
        snprintf(err, sizeof err, "out of memory");
    if (ok) {
        agg->have_since = a.have_since;
        agg->since = a.since;
        agg->have_until = a.have_until;
        agg->until = a.until;
    }
    if (ok && a.file_count == 0)
        ok = read_input(agg, "-", now, err, sizeof err);
    for (int i = 0; ok && i < a.file_count; i++)
        ok = read_input(agg, a.files[i], now, err, sizeof err);
    if (ok && !(a.json ? report_print_json(agg, stdout)
                       : report_print_text(agg, config, stdout))) {
        snprintf(err, sizeof err, "out of memory");
        ok = false;
    }
    if (!ok)
        fprintf(stderr, "forcetls: %s\n", err);
    else if (fflush(stdout) != 0 || ferror(stdout))
        fprintf(stderr, "forcetls: cannot write the report\n");
    else
        status = 0;
    report_agg_free(agg);
    config_free(config);
    return status;
}
