/*
 * test_domain_table.c - unit tests for domain_table.c: exact and "*."
 * matching with domain semantics (any depth, not the apex) and certificate
 * semantics (exactly one label), deduplication, truncation, duplicate-key
 * reporting, and correctness with 100,000 keys. Table-driven; ids are
 * compared as sets with exact counts.
 */
#include "addr.h"
#include "domain_table.h"
#include "testutil.h"

struct entry {
    const char *key;
    uint32_t id;
};

struct match_case {
    const char *name;
    uint32_t want[IDS_MAX];  /* terminated by IDS_END */
};

/* Every row of a match_case table through fn. */
static void
check_cases(const char *what, domain_lookup_fn *fn,
            const struct domain_table *t, const struct match_case *cases,
            size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_domain_lookup(what, fn, t, cases[i].name, cases[i].want);
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
    { "example.com", { 0, 5, 3, IDS_END } },
    { "a.example.com", { 1, 3, IDS_END } },
    { "sub.example.com", { 1, 3, IDS_END } },          /* not 2: the apex */
    { "a.sub.example.com", { 2, 1, 3, IDS_END } },
    { "a.b.c.sub.example.com", { 2, 1, 3, IDS_END } }, /* any depth */
    { "xample.com", { 3, IDS_END } },
    { "notexample.com", { 3, IDS_END } },
    { "com", { IDS_END } },                     /* "*.com" not the apex */
    { "other.org", { 4, IDS_END } },
    { "a.other.org", { IDS_END } },
    { "example.co", { IDS_END } },
    { "example.com.evil", { IDS_END } },
    { "xn--bcher-kva.example", { 6, IDS_END } },
    { "deep.example.net", { 7, IDS_END } },
    { "x.deep.example.net", { 7, IDS_END } },
    { "net", { IDS_END } },
    { "", { IDS_END } },
};

/* domain_table_match: exact, then "*." of every parent. */
static void
t_match(void **state)
{
    struct domain_table *t = build(domain_entries, ARRAY_LEN(domain_entries));

    (void)state;
    check_cases("domain_table_match", domain_table_match, t, domain_cases,
                ARRAY_LEN(domain_cases));
    domain_table_free(t);
}

static const struct entry cert_entries[] = {
    { "mail.example.com", 0 },
    { "*.example.com", 1 },
    { "*.a.example.com", 2 },
    { "*.com", 3 },
};

static const struct match_case cert_cases[] = {
    { "mail.example.com", { 0, 1, IDS_END } },
    { "x.example.com", { 1, IDS_END } },
    { "a.example.com", { 1, IDS_END } },
    { "a.b.example.com", { IDS_END } },   /* "*." is exactly one label */
    { "b.a.example.com", { 2, IDS_END } },
    { "c.b.a.example.com", { IDS_END } },
    { "example.com", { 3, IDS_END } },
    { "com", { IDS_END } },
    { "mail.example.org", { IDS_END } },
};

/* domain_table_match_cert: exact, then "*." of the parent only. */
static void
t_match_cert(void **state)
{
    struct domain_table *t = build(cert_entries, ARRAY_LEN(cert_entries));

    (void)state;
    check_cases("domain_table_match_cert", domain_table_match_cert, t,
                cert_cases, ARRAY_LEN(cert_cases));
    domain_table_free(t);
}

/* domain_table_get: exact keys only, wildcards are plain keys. */
static void
t_get(void **state)
{
    static const struct match_case cases[] = {
        { "example.com", { 0, 5, IDS_END } },
        { "*.example.com", { 1, IDS_END } },
        { "a.example.com", { IDS_END } },
        { "*.org", { IDS_END } },
    };
    struct domain_table *t = build(domain_entries, ARRAY_LEN(domain_entries));

    (void)state;
    check_cases("domain_table_get", domain_table_get, t, cases,
                ARRAY_LEN(cases));
    assert_int_equal(domain_table_size(t), 9);
    domain_table_free(t);
}

/* Adding reports an existing different id, and the same pair once only. */
static void
t_add_duplicates(void **state)
{
    struct domain_table *t = domain_table_new();
    bool had = true;
    uint32_t other = 99;
    static const uint32_t want1[] = { 5, IDS_END };
    static const uint32_t want3[] = { 5, 3, 4, IDS_END };

    (void)state;
    assert_non_null(t);
    assert_true(domain_table_add(t, "a.example", 5, &had, &other));
    assert_false(had);
    assert_int_equal(other, 99);
    assert_true(domain_table_add(t, "a.example", 5, &had, &other));
    assert_false(had);
    check_domain_lookup("domain_table_get", domain_table_get, t, "a.example",
                        want1);
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
    check_domain_lookup("domain_table_get", domain_table_get, t, "a.example",
                        want3);
    assert_int_equal(domain_table_size(t), 1);
    domain_table_free(t);
}

/* domain_table_insert tells a repeated (key, id) from a new one. */
static void
t_insert(void **state)
{
    struct domain_table *t = domain_table_new();
    bool again = true, had = true;
    uint32_t other = 99;
    char *huge = malloc(70000);
    static const uint32_t want[] = { 7, 8, IDS_END };

    (void)state;
    assert_non_null(t);
    assert_non_null(huge);
    assert_true(domain_table_insert(t, "b.example", 7, &again, &had, &other));
    assert_false(again);
    assert_false(had);
    assert_true(domain_table_insert(t, "b.example", 7, &again, &had, &other));
    assert_true(again);
    assert_false(had);
    assert_true(domain_table_insert(t, "b.example", 8, &again, &had, &other));
    assert_false(again);
    assert_true(had);
    assert_int_equal(other, 7);
    assert_true(domain_table_insert(t, "b.example", 8, &again, NULL, NULL));
    assert_true(again);
    /* A key longer than a block of key copies gets one of its own. */
    memset(huge, 'a', 69999);
    huge[69999] = '\0';
    assert_true(domain_table_insert(t, huge, 1, &again, NULL, NULL));
    assert_false(again);
    assert_true(domain_table_insert(t, huge, 1, &again, NULL, NULL));
    assert_true(again);
    assert_true(domain_table_add(t, "c.example", 2, NULL, NULL));
    check_domain_lookup("domain_table_get", domain_table_get, t, "b.example",
                        want);
    /* Past the slot's one id: the largest id is still known. */
    for (uint32_t i = 3; i < 12; i++)
        assert_true(domain_table_insert(t, "c.example", i, &again, NULL, NULL));
    for (uint32_t i = 2; i < 12; i++) {
        assert_true(domain_table_insert(t, "c.example", i, &again, NULL, NULL));
        assert_true(again);
    }
    assert_int_equal(domain_table_get(t, "c.example", NULL, 0), 10);
    assert_int_equal(domain_table_size(t), 3);
    free(huge);
    domain_table_free(t);
}

/* More ids than max: the total is returned, only max are written. */
static void
t_truncation_and_dedup(void **state)
{
    struct domain_table *t = domain_table_new();
    uint32_t ids[4] = { IDS_END, IDS_END, IDS_END, IDS_END };

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
    assert_int_equal(ids[3], IDS_END);
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
    uint32_t ids[IDS_MAX];

    (void)state;
    assert_non_null(t);
    assert_int_equal(domain_table_size(t), 0);
    assert_int_equal(domain_table_match(t, "example.com", ids, IDS_MAX), 0);
    assert_true(domain_table_add(t, "*.example.com", 1, NULL, NULL));
    assert_int_equal(domain_table_match(t, NULL, ids, IDS_MAX), 0);
    assert_int_equal(domain_table_match(NULL, "a.example.com", ids, IDS_MAX),
                     0);
    assert_int_equal(domain_table_size(NULL), 0);
    assert_false(domain_table_add(NULL, "x", 1, NULL, NULL));
    assert_false(domain_table_add(t, NULL, 1, NULL, NULL));
    /* A name far longer than any normalised one is refused. */
    memset(longname, 'a', sizeof(longname));
    memcpy(longname + sizeof(longname) - 13, ".example.com", 13);
    assert_int_equal(domain_table_match(t, longname, ids, IDS_MAX), 0);
    /* A name of only dots probes many times without harm. */
    memset(longname, '.', 250);
    longname[250] = '\0';
    assert_int_equal(domain_table_match(t, longname, ids, IDS_MAX), 0);
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
    static const uint32_t want[] = { 42, IDS_END };

    (void)state;
    assert_non_null(t);
    assert_true(addr_normalize_pattern("*.Bücher.Example.", pat, sizeof(pat),
                                       NULL));
    assert_true(domain_table_add(t, pat, 42, NULL, NULL));
    assert_true(addr_parse_path("<X@Mail.BÜCHER.example.>", &p));
    check_domain_lookup("domain_table_match", domain_table_match, t,
                        p.domain, want);
    domain_table_free(t);
}

/* 100,000 connectors' domains: every lookup still finds exactly its id. */
static void
t_many(void **state)
{
    enum { N = 100000 };
    struct domain_table *t = domain_table_new();
    char key[ADDR_DOMAIN_MAX];

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
        uint32_t want[] = { i, IDS_END }, wantw[] = { N + i, IDS_END };
        static const uint32_t none[] = { IDS_END };
        /* d<i>.example, x.y.w<i>.example, w<i>.example, x.d<i>.example */
        static const char *const prefix[] = { "d", "x.y.w", "w", "x.d" };
        const uint32_t *const wants[] = { want, wantw, none, none };

        for (size_t k = 0; k < ARRAY_LEN(prefix); k++) {
            snprintf(key, sizeof(key), "%s%u.example", prefix[k], (unsigned)i);
            check_domain_lookup("domain_table_match", domain_table_match, t,
                                key, wants[k]);
        }
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
        cmocka_unit_test(t_insert),
        cmocka_unit_test(t_truncation_and_dedup),
        cmocka_unit_test(t_edge_inputs),
        cmocka_unit_test(t_with_addr),
        cmocka_unit_test(t_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
