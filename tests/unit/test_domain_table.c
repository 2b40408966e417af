/*
 * test_domain_table.c - unit tests for domain_table.c: exact and "*."
 * matching with domain semantics (any depth, not the apex) and certificate
 * semantics (exactly one label), deduplication, truncation, duplicate-key
 * reporting, and correctness with 100,000 keys. Table-driven; ids are
 * compared as sets with exact counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "domain_table.h"

#define END UINT32_MAX
#define MAXIDS 16

struct entry {
    const char *key;
    uint32_t id;
};

struct match_case {
    const char *name;
    uint32_t want[MAXIDS];  /* terminated by END */
};

/* Ascending order for qsort. */
static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Print up to n ids as "{1,2,3}" into buf. */
static const char *
fmt_ids(char *buf, size_t bufsz, const uint32_t *ids, size_t n)
{
    size_t pos = 0;

    pos += (size_t)snprintf(buf, bufsz, "{");
    for (size_t i = 0; i < n && pos < bufsz; i++)
        pos += (size_t)snprintf(buf + pos, bufsz - pos, "%s%u", i ? "," : "",
                                (unsigned)ids[i]);
    if (pos < bufsz)
        snprintf(buf + pos, bufsz - pos, "}");
    return buf;
}

/* Compare the found ids with the END-terminated want list, as sets. */
static void
check_ids(const char *what, const char *name, const uint32_t *got, size_t ngot,
          const uint32_t *want_in)
{
    uint32_t g[MAXIDS], w[MAXIDS];
    size_t nwant = 0;
    char gbuf[256], wbuf[256];

    while (want_in[nwant] != END)
        nwant++;
    memcpy(w, want_in, nwant * sizeof(*w));
    if (ngot <= MAXIDS)
        memcpy(g, got, ngot * sizeof(*g));
    if (ngot != nwant)
        fail_msg("%s(\"%s\"): got %zu ids %s, want %zu ids %s", what, name,
                 ngot, fmt_ids(gbuf, sizeof(gbuf), got,
                               ngot < MAXIDS ? ngot : MAXIDS),
                 nwant, fmt_ids(wbuf, sizeof(wbuf), w, nwant));
    qsort(g, ngot, sizeof(*g), cmp_u32);
    qsort(w, nwant, sizeof(*w), cmp_u32);
    if (memcmp(g, w, ngot * sizeof(*g)) != 0)
        fail_msg("%s(\"%s\"): got %s, want %s", what, name,
                 fmt_ids(gbuf, sizeof(gbuf), g, ngot),
                 fmt_ids(wbuf, sizeof(wbuf), w, nwant));
}

/* Build a table from entries, asserting every add succeeds. */
static struct domain_table *
build(const struct entry *e, size_t n)
{
    struct domain_table *t = domain_table_new();

    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        if (!domain_table_add(t, e[i].key, e[i].id, NULL, NULL))
            fail_msg("domain_table_add(\"%s\", %u): got false, want true",
                     e[i].key, (unsigned)e[i].id);
    return t;
}

static const struct entry domain_entries[] = {
    { "example.com", 0 },
    { "*.example.com", 1 },
    { "*.sub.example.com", 2 },
    { "*.com", 3 },
    { "other.org", 4 },
    { "example.com", 5 },
    { "xn--bcher-kva.example", 6 },
    { "*.net", 7 },
    { "deep.example.net", 7 },     /* same id via two keys: one result */
    { "*.example.net", 7 },
};

static const struct match_case domain_cases[] = {
    { "example.com", { 0, 5, 3, END } },
    { "a.example.com", { 1, 3, END } },
    { "sub.example.com", { 1, 3, END } },            /* not 2: the apex */
    { "a.sub.example.com", { 2, 1, 3, END } },
    { "a.b.c.sub.example.com", { 2, 1, 3, END } },   /* any depth */
    { "xample.com", { 3, END } },
    { "notexample.com", { 3, END } },
    { "com", { END } },                               /* "*.com" not the apex */
    { "other.org", { 4, END } },
    { "a.other.org", { END } },
    { "example.co", { END } },
    { "example.com.evil", { END } },
    { "xn--bcher-kva.example", { 6, END } },
    { "deep.example.net", { 7, END } },
    { "x.deep.example.net", { 7, END } },
    { "net", { END } },
    { "", { END } },
};

/* domain_table_match: exact, then "*." of every parent. */
static void
t_match(void **state)
{
    struct domain_table *t = build(domain_entries, sizeof(domain_entries) /
                                   sizeof(domain_entries[0]));
    (void)state;
    for (size_t i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]);
         i++) {
        uint32_t ids[MAXIDS];
        size_t n = domain_table_match(t, domain_cases[i].name, ids, MAXIDS);
        check_ids("domain_table_match", domain_cases[i].name, ids, n,
                  domain_cases[i].want);
    }
    domain_table_free(t);
}

static const struct entry cert_entries[] = {
    { "mail.example.com", 0 },
    { "*.example.com", 1 },
    { "*.a.example.com", 2 },
    { "*.com", 3 },
};

static const struct match_case cert_cases[] = {
    { "mail.example.com", { 0, 1, END } },
    { "x.example.com", { 1, END } },
    { "a.example.com", { 1, END } },
    { "a.b.example.com", { END } },        /* "*." is exactly one label */
    { "b.a.example.com", { 2, END } },
    { "c.b.a.example.com", { END } },
    { "example.com", { 3, END } },
    { "com", { END } },
    { "mail.example.org", { END } },
};

/* domain_table_match_cert: exact, then "*." of the parent only. */
static void
t_match_cert(void **state)
{
    struct domain_table *t = build(cert_entries, sizeof(cert_entries) /
                                   sizeof(cert_entries[0]));
    (void)state;
    for (size_t i = 0; i < sizeof(cert_cases) / sizeof(cert_cases[0]); i++) {
        uint32_t ids[MAXIDS];
        size_t n = domain_table_match_cert(t, cert_cases[i].name, ids, MAXIDS);
        check_ids("domain_table_match_cert", cert_cases[i].name, ids, n,
                  cert_cases[i].want);
    }
    domain_table_free(t);
}

/* domain_table_get: exact keys only, wildcards are plain keys. */
static void
t_get(void **state)
{
    static const struct match_case cases[] = {
        { "example.com", { 0, 5, END } },
        { "*.example.com", { 1, END } },
        { "a.example.com", { END } },
        { "*.org", { END } },
    };
    struct domain_table *t = build(domain_entries, sizeof(domain_entries) /
                                   sizeof(domain_entries[0]));
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t ids[MAXIDS];
        size_t n = domain_table_get(t, cases[i].name, ids, MAXIDS);
        check_ids("domain_table_get", cases[i].name, ids, n, cases[i].want);
    }
    assert_int_equal(domain_table_size(t), 9);
    domain_table_free(t);
}

/* Adding reports an existing different id, and the same pair once only. */
static void
t_add_duplicates(void **state)
{
    struct domain_table *t = domain_table_new();
    bool had = true;
    uint32_t other = 99, ids[MAXIDS];
    static const uint32_t want1[] = { 5, END };
    static const uint32_t want3[] = { 5, 3, 4, END };

    (void)state;
    assert_non_null(t);
    assert_true(domain_table_add(t, "a.example", 5, &had, &other));
    assert_false(had);
    assert_int_equal(other, 99);
    assert_true(domain_table_add(t, "a.example", 5, &had, &other));
    assert_false(had);
    check_ids("domain_table_get", "a.example", ids,
              domain_table_get(t, "a.example", ids, MAXIDS), want1);
    assert_true(domain_table_add(t, "a.example", 3, &had, &other));
    assert_true(had);
    assert_int_equal(other, 5);
    assert_true(domain_table_add(t, "a.example", 4, &had, &other));
    assert_true(had);
    assert_int_equal(other, 5);
    /* Out of order and repeated: still one of each. */
    assert_true(domain_table_add(t, "a.example", 3, &had, &other));
    assert_true(domain_table_add(t, "a.example", 5, &had, &other));
    assert_true(domain_table_add(t, "a.example", 4, NULL, NULL));
    check_ids("domain_table_get", "a.example", ids,
              domain_table_get(t, "a.example", ids, MAXIDS), want3);
    assert_int_equal(domain_table_size(t), 1);
    domain_table_free(t);
}

/* More ids than max: the total is returned, only max are written. */
static void
t_truncation_and_dedup(void **state)
{
    struct domain_table *t = domain_table_new();
    uint32_t ids[4] = { END, END, END, END };

    (void)state;
    assert_non_null(t);
    for (uint32_t i = 0; i < 10; i++)
        assert_true(domain_table_add(t, "a.example", i, NULL, NULL));
    assert_true(domain_table_add(t, "*.example", 9, NULL, NULL));
    assert_true(domain_table_add(t, "*.example", 10, NULL, NULL));
    /* 0..9 exact, 9 again and 10 by wildcard: 11 distinct. */
    assert_int_equal(domain_table_match(t, "a.example", ids, 3), 11);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 2);
    assert_int_equal(ids[3], END);
    assert_int_equal(domain_table_match(t, "a.example", NULL, 0), 11);
    assert_int_equal(domain_table_match(t, "b.example", NULL, 0), 2);
    assert_int_equal(domain_table_match_cert(t, "a.example", NULL, 0), 11);
    domain_table_free(t);
}

/* Missing, empty and hostile inputs return nothing. */
static void
t_edge_inputs(void **state)
{
    struct domain_table *t = domain_table_new();
    char longname[400];
    uint32_t ids[MAXIDS];

    (void)state;
    assert_non_null(t);
    assert_int_equal(domain_table_size(t), 0);
    assert_int_equal(domain_table_match(t, "example.com", ids, MAXIDS), 0);
    assert_true(domain_table_add(t, "*.example.com", 1, NULL, NULL));
    assert_int_equal(domain_table_match(t, NULL, ids, MAXIDS), 0);
    assert_int_equal(domain_table_match(NULL, "a.example.com", ids, MAXIDS),
                     0);
    assert_int_equal(domain_table_size(NULL), 0);
    assert_false(domain_table_add(NULL, "x", 1, NULL, NULL));
    assert_false(domain_table_add(t, NULL, 1, NULL, NULL));
    /* A name far longer than any normalised one is refused. */
    memset(longname, 'a', sizeof(longname));
    memcpy(longname + sizeof(longname) - 13, ".example.com", 13);
    assert_int_equal(domain_table_match(t, longname, ids, MAXIDS), 0);
    /* A name of only dots probes many times without harm. */
    memset(longname, '.', 250);
    longname[250] = '\0';
    assert_int_equal(domain_table_match(t, longname, ids, MAXIDS), 0);
    domain_table_free(t);
    domain_table_free(NULL);
}

/* Patterns and paths normalised by addr.c meet in the table. */
static void
t_with_addr(void **state)
{
    struct domain_table *t = domain_table_new();
    char pat[ADDR_DOMAIN_MAX];
    struct addr_path p;
    uint32_t ids[MAXIDS];
    static const uint32_t want[] = { 42, END };

    (void)state;
    assert_non_null(t);
    assert_true(addr_normalize_pattern("*.Bücher.Example.", pat, sizeof(pat),
                                       NULL));
    assert_true(domain_table_add(t, pat, 42, NULL, NULL));
    assert_true(addr_parse_path("<X@Mail.BÜCHER.example.>", &p));
    check_ids("domain_table_match", p.domain, ids,
              domain_table_match(t, p.domain, ids, MAXIDS), want);
    domain_table_free(t);
}

/* 100,000 connectors' domains: every lookup still finds exactly its id. */
static void
t_many(void **state)
{
    enum { N = 100000 };
    struct domain_table *t = domain_table_new();
    char key[ADDR_DOMAIN_MAX];
    uint32_t ids[MAXIDS];

    (void)state;
    assert_non_null(t);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "d%u.example", (unsigned)i);
        assert_true(domain_table_add(t, key, i, NULL, NULL));
        snprintf(key, sizeof(key), "*.w%u.example", (unsigned)i);
        assert_true(domain_table_add(t, key, N + i, NULL, NULL));
    }
    assert_int_equal(domain_table_size(t), 2 * N);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t want[] = { i, END }, wantw[] = { N + i, END }, none[] = { END };
        snprintf(key, sizeof(key), "d%u.example", (unsigned)i);
        check_ids("domain_table_match", key, ids,
                  domain_table_match(t, key, ids, MAXIDS), want);
        snprintf(key, sizeof(key), "x.y.w%u.example", (unsigned)i);
        check_ids("domain_table_match", key, ids,
                  domain_table_match(t, key, ids, MAXIDS), wantw);
        snprintf(key, sizeof(key), "w%u.example", (unsigned)i);
        check_ids("domain_table_match", key, ids,
                  domain_table_match(t, key, ids, MAXIDS), none);
        snprintf(key, sizeof(key), "x.d%u.example", (unsigned)i);
        check_ids("domain_table_match", key, ids,
                  domain_table_match(t, key, ids, MAXIDS), none);
    }
    domain_table_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_match),
        cmocka_unit_test(t_match_cert),
        cmocka_unit_test(t_get),
        cmocka_unit_test(t_add_duplicates),
        cmocka_unit_test(t_truncation_and_dedup),
        cmocka_unit_test(t_edge_inputs),
        cmocka_unit_test(t_with_addr),
        cmocka_unit_test(t_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
