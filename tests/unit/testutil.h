/*
 * testutil.h - helpers shared by the cmocka unit tests in tests/unit:
 * "got X, want Y" comparisons of strings, integers and booleans, id sets
 * of the lookup tables compared as sets, and configuration text loaded
 * through a temporary file. Test code only: a failed check ends the
 * running test with fail_msg(). Everything is static inline, so a test
 * that uses a part of it has no unused functions. The helpers for a
 * module's tables, configuration or report exist only where that module's
 * header (domain_table.h, cidr.h, config.h, report.h with report_agg.h)
 * was included before this one.
 */
#ifndef FORCETLS_TESTUTIL_H
#define FORCETLS_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The three printf arguments ("%s%s%s") that show s as "text" or NULL. */
#define TU_QUOTED(s) (s) != NULL ? "\"" : "", (s) != NULL ? (s) : "NULL", \
                     (s) != NULL ? "\"" : ""

/* Two optional strings are equal: both NULL, or both the same text. */
static inline bool
tu_str_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Fail with "what: got X, want Y" when two optional strings differ. */
static inline void
check_str(const char *what, const char *got, const char *want)
{
    if (!tu_str_equal(got, want))
        fail_msg("%s: got %s%s%s, want %s%s%s", what, TU_QUOTED(got),
                 TU_QUOTED(want));
}

/* Fail with "what: got X, want Y" when two integers differ. */
static inline void
check_int(const char *what, long long got, long long want)
{
    if (got != want)
        fail_msg("%s: got %lld, want %lld", what, got, want);
}

/* Fail with "what("in"): got X, want Y" when two optional strings differ. */
static inline void
check_str_in(const char *what, const char *in, const char *got,
             const char *want)
{
    if (!tu_str_equal(got, want))
        fail_msg("%s(%s%s%s): got %s%s%s, want %s%s%s", what, TU_QUOTED(in),
                 TU_QUOTED(got), TU_QUOTED(want));
}

/* Fail with "what("in"): got X, want Y" when two booleans differ. */
static inline void
check_bool_in(const char *what, const char *in, bool got, bool want)
{
    if (got != want)
        fail_msg("%s(%s%s%s): got %s, want %s", what, TU_QUOTED(in),
                 got ? "true" : "false", want ? "true" : "false");
}

/* Fail with "what("in"): got X, want Y" when two integers differ. */
static inline void
check_int_in(const char *what, const char *in, long long got, long long want)
{
    if (got != want)
        fail_msg("%s(%s%s%s): got %lld, want %lld", what, TU_QUOTED(in), got,
                 want);
}

/* ---- id sets of domain_table and cidr_table lookups ---- */

/* Terminates a want list of ids; IDS_MAX ids at most are compared. */
#define IDS_END UINT32_MAX
#define IDS_MAX 16

/* Ascending order for qsort. */
static inline int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Print n ids as "{1,2,3}" into buf. */
static inline const char *
fmt_ids(char *buf, size_t bufsz, const uint32_t *ids, size_t n)
{
    size_t pos = (size_t)snprintf(buf, bufsz, "{");

    for (size_t i = 0; i < n && pos < bufsz; i++)
        pos += (size_t)snprintf(buf + pos, bufsz - pos, "%s%u", i ? "," : "",
                                (unsigned)ids[i]);
    if (pos < bufsz)
        snprintf(buf + pos, bufsz - pos, "}");
    return buf;
}

/*
 * Compare the ngot ids found for name (of which IDS_MAX at most were
 * written to got) with the IDS_END-terminated want list, as sets.
 */
static inline void
check_ids(const char *what, const char *name, const uint32_t *got,
          size_t ngot, const uint32_t *want_in)
{
    uint32_t g[IDS_MAX], w[IDS_MAX];
    size_t nwant = 0;
    char gbuf[256], wbuf[256];

    while (nwant < IDS_MAX && want_in[nwant] != IDS_END)
        nwant++;
    memcpy(w, want_in, nwant * sizeof(*w));
    if (ngot != nwant)
        fail_msg("%s(\"%s\"): got %zu ids %s, want %zu ids %s", what, name,
                 ngot, fmt_ids(gbuf, sizeof(gbuf), got,
                               ngot < IDS_MAX ? ngot : IDS_MAX),
                 nwant, fmt_ids(wbuf, sizeof(wbuf), w, nwant));
    memcpy(g, got, ngot * sizeof(*g));
    qsort(g, ngot, sizeof(*g), cmp_u32);
    qsort(w, nwant, sizeof(*w), cmp_u32);
    if (memcmp(g, w, ngot * sizeof(*g)) != 0)
        fail_msg("%s(\"%s\"): got %s, want %s", what, name,
                 fmt_ids(gbuf, sizeof(gbuf), g, ngot),
                 fmt_ids(wbuf, sizeof(wbuf), w, nwant));
}

#ifdef FORCETLS_DOMAIN_TABLE_H
/* domain_table_match, domain_table_match_cert or domain_table_get. */
typedef size_t domain_lookup_fn(const struct domain_table *table,
                                const char *name, uint32_t *ids, size_t max);

/* Look name up in t with fn: the ids must be the want list, as a set. */
static inline void
check_domain_lookup(const char *what, domain_lookup_fn *fn,
                    const struct domain_table *t, const char *name,
                    const uint32_t *want)
{
    uint32_t ids[IDS_MAX];

    check_ids(what, name, ids, fn(t, name, ids, IDS_MAX), want);
}
#endif /* FORCETLS_DOMAIN_TABLE_H */

#ifdef FORCETLS_CIDR_H
/* Look the address ipstr up in t: the ids must be the want list, as a set. */
static inline void
check_cidr_lookup(const char *what, const struct cidr_table *t,
                  const char *ipstr, const uint32_t *want)
{
    struct ip_addr ip;
    uint32_t ids[IDS_MAX];

    check_bool_in("ip_parse", ipstr, ip_parse(ipstr, &ip), true);
    check_ids(what, ipstr, ids, cidr_table_lookup(t, &ip, ids, IDS_MAX), want);
}
#endif /* FORCETLS_CIDR_H */

/* ---- configuration text through a temporary file ---- */

/* Write text to a new file in $TMPDIR (or /tmp); its name goes to path. */
static inline void
write_tmp(char *path, size_t pathsz, const char *text)
{
    const char *dir = getenv("TMPDIR");
    size_t len = strlen(text);
    int n, fd;

    n = snprintf(path, pathsz, "%s/forcetls-test-XXXXXX",
                 dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    if (n < 0 || (size_t)n >= pathsz)
        fail_msg("temporary file name: got %d bytes, want < %zu", n, pathsz);
    fd = mkstemp(path);
    if (fd < 0)
        fail_msg("mkstemp(%s) failed", path);
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        fail_msg("write(%s) failed", path);
    }
    close(fd);
}

#ifdef FORCETLS_CONFIG_H
/*
 * Load text with config_load() through a temporary file, removed again;
 * err receives the error. The file's name goes to path unless it is NULL.
 */
static inline struct config *
load_text(const char *text, struct config_error *err, char *path,
          size_t pathsz)
{
    char local[256];
    struct config *cfg;

    if (path == NULL) {
        path = local;
        pathsz = sizeof(local);
    }
    write_tmp(path, pathsz, text);
    cfg = config_load(path, err);
    unlink(path);
    return cfg;
}

/* Load text that must be valid. */
static inline struct config *
load_ok(const char *text)
{
    struct config_error err;
    struct config *cfg = load_text(text, &err, NULL, 0);

    if (cfg == NULL)
        fail_msg("config_load: got error \"%s\", want success", err.text);
    return cfg;
}
/* A configuration that must be refused, naming a line and a message. */
struct error_case {
    const char *name;
    const char *text;
    int line;           /* the line the error must name */
    const char *want;   /* a substring of the message */
};

/* Run one error case: no snapshot, "FILE:LINE: " prefix, message part. */
static inline void run_error_case(void **state)
{
    const struct error_case *c = *state;
    struct config_error err;
    char path[256], prefix[300];
    struct config *cfg = load_text(c->text, &err, path, sizeof path);

    if (cfg != NULL) {
        config_free(cfg);
        fail_msg("%s: got success, want error \"%s\"", c->name, c->want);
    }
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, c->line);
    if (strncmp(err.text, prefix, strlen(prefix)) != 0)
        fail_msg("%s: got \"%s\", want prefix \"%s\"", c->name, err.text, prefix);
    if (strstr(err.text, c->want) == NULL)
        fail_msg("%s: got \"%s\", want it to contain \"%s\"", c->name, err.text,
                 c->want);
}

/* One cmocka test per error case into out; returns how many. */
static inline size_t error_case_tests(struct CMUnitTest *out,
                                      const struct error_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (struct CMUnitTest){
            .name = cases[i].name, .test_func = run_error_case,
            .initial_state = (void *)&cases[i],
        };
    return n;
}
#endif /* FORCETLS_CONFIG_H */

#ifdef FORCETLS_CONFIG_SYNTAX_H
/* A UTC date of the configuration's form as seconds (fails the test if bad). */
static inline int64_t
utc(const char *text)
{
    int64_t t;
    const char *why;

    if (!syntax_utc_date(text, &t, &why))
        fail_msg("syntax_utc_date(%s): %s", text, why);
    return t;
}

/* t as YYYY-MM-DDTHH:MM:SSZ in buf. */
static inline const char *
iso(int64_t t, char buf[SYNTAX_UTC_TEXT])
{
    syntax_format_utc(t, buf, SYNTAX_UTC_TEXT);
    return buf;
}
#endif /* FORCETLS_CONFIG_SYNTAX_H */

#if defined(FORCETLS_REPORT_H) && defined(FORCETLS_REPORT_AGG_H)
#include <fcntl.h>

/*
 * Count text (lines separated by \n) into agg through report_read_fd on a
 * temporary file, as one input of forcetls report, read at now.
 */
static inline void
report_count_text(struct report_agg *agg, const char *text, int64_t now)
{
    char path[256], err[REPORT_ERR_MAX];
    int fd;

    write_tmp(path, sizeof path, text);
    fd = open(path, O_RDONLY);
    unlink(path);
    if (fd < 0)
        fail_msg("open(%s) failed", path);
    if (!report_read_fd(agg, fd, path, now, err, sizeof err))
        fail_msg("report_read_fd: got \"%s\", want success", err);
    close(fd);
}
#endif /* FORCETLS_REPORT_H && FORCETLS_REPORT_AGG_H */

#endif /* FORCETLS_TESTUTIL_H */
