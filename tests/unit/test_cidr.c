/*
 * test_cidr.c - unit tests for cidr.c: address parsing and printing, CIDR
 * parsing (host bits, lengths), and the prefix table (v4, v6, v4-mapped
 * clients, /0, /32, /128, overlapping prefixes, deduplication, 100,000
 * prefixes). Table-driven; ids are compared as sets with exact counts.
 */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cidr.h"
#include "testutil.h"

struct ip_case {
    const char *in;
    const char *want;  /* ip_format of the result; NULL: must fail */
};

static const struct ip_case ip_cases[] = {
    { "192.0.2.7", "192.0.2.7" },
    { "0.0.0.0", "0.0.0.0" },
    { "255.255.255.255", "255.255.255.255" },
    { "2001:db8::1", "2001:db8::1" },
    { "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
    { "2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329" },
    { "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
    { "::", "::" },
    { "::1", "::1" },
    { "::ffff:192.0.2.7", "192.0.2.7" },
    { "::FFFF:c000:0207", "192.0.2.7" },
    { "IPv6:2001:db8::1", "2001:db8::1" },
    { "ipv6:2001:DB8::1", "2001:db8::1" },
    { "IPV6:::1", "::1" },
    { "[192.0.2.7]", "192.0.2.7" },
    { "[2001:db8::1]", "2001:db8::1" },
    { "[IPv6:2001:db8::1]", "2001:db8::1" },
    { "", NULL },
    { "192.0.2", NULL },
    { "192.0.2.256", NULL },
    { "192.0.2.7.1", NULL },
    { "192.0.2.07", NULL },
    { " 192.0.2.7", NULL },
    { "192.0.2.7 ", NULL },
    { "IPv6:192.0.2.7", NULL },
    { "IPv6:", NULL },
    { "[192.0.2.7", NULL },
    { "192.0.2.7]", NULL },
    { "[]", NULL },
    { "[[192.0.2.7]]", NULL },
    { "fe80::1%eth0", NULL },
    { "2001:db8::1/64", NULL },
    { "2001:db8:::1", NULL },
    { "2001:db8::g", NULL },
    { "example.com", NULL },
    { "IPv4:192.0.2.7", NULL },
};

/* ip_parse and ip_format over the table. */
static void
t_ip_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(ip_cases); i++) {
        struct ip_addr ip;
        char text[64];
        bool ok = ip_parse(ip_cases[i].in, &ip);
        check_bool_in("ip_parse", ip_cases[i].in, ok, ip_cases[i].want != NULL);
        if (!ok)
            continue;
        ip_format(&ip, text, sizeof(text));
        check_str_in("ip_format(ip_parse)", ip_cases[i].in, text,
                     ip_cases[i].want);
    }
}

/* IPv4 is stored IPv4-mapped, byte for byte. */
static void
t_ip_bytes(void **state)
{
    static const uint8_t want[16] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7
    };
    struct ip_addr ip;
    char big[300];

    (void)state;
    assert_true(ip_parse("192.0.2.7", &ip));
    assert_memory_equal(ip.bytes, want, 16);
    assert_true(ip_parse("::ffff:192.0.2.7", &ip));
    assert_memory_equal(ip.bytes, want, 16);
    assert_false(ip_parse(NULL, &ip));
    assert_false(ip_parse("192.0.2.7", NULL));
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_false(ip_parse(big, &ip));
}

/* The address in, of family, goes through ip_from_sockaddr to want. */
static void
check_from_sockaddr(int family, const char *in, const char *want)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    void *addr = family == AF_INET ? (void *)&sin->sin_addr :
        (void *)&sin6->sin6_addr;
    struct ip_addr ip;
    char what[64], text[64];

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = (sa_family_t)family;
    if (family == AF_INET)
        sin->sin_port = htons(25);
    snprintf(what, sizeof(what), "%s %s",
             family == AF_INET ? "AF_INET" : "AF_INET6", in);
    check_int_in("inet_pton", what, inet_pton(family, in, addr), 1);
    check_bool_in("ip_from_sockaddr", what,
                  ip_from_sockaddr((struct sockaddr *)&ss, &ip), true);
    ip_format(&ip, text, sizeof(text));
    check_str_in("ip_from_sockaddr", what, text, want);
}

/* ip_from_sockaddr for AF_INET, AF_INET6, and anything else. */
static void
t_ip_from_sockaddr(void **state)
{
    struct sockaddr_un sun;
    struct ip_addr ip;

    (void)state;
    check_from_sockaddr(AF_INET, "198.51.100.3", "198.51.100.3");
    check_from_sockaddr(AF_INET6, "2001:db8::25", "2001:db8::25");
    check_from_sockaddr(AF_INET6, "::ffff:10.1.2.3", "10.1.2.3");
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    assert_false(ip_from_sockaddr((struct sockaddr *)&sun, &ip));
    assert_false(ip_from_sockaddr(NULL, &ip));
}

/* ip_format truncates into a small buffer and always terminates. */
static void
t_ip_format_small(void **state)
{
    struct ip_addr ip;
    char text[6];

    (void)state;
    assert_true(ip_parse("192.0.2.7", &ip));
    memset(text, 'x', sizeof(text));
    ip_format(&ip, text, sizeof(text));
    check_str_in("ip_format", "192.0.2.7 into 6 octets", text, "192.0");
    ip_format(NULL, text, sizeof(text));
    check_str_in("ip_format", "NULL", text, "");
}

struct cidr_case {
    const char *in;
    const char *addr;     /* ip_format of the prefix; NULL: must fail */
    unsigned len;
    const char *err;
};

static const struct cidr_case cidr_cases[] = {
    { "192.0.2.0/24", "192.0.2.0", 120, NULL },
    { "192.0.2.128/25", "192.0.2.128", 121, NULL },
    { "192.0.2.7", "192.0.2.7", 128, NULL },
    { "192.0.2.7/32", "192.0.2.7", 128, NULL },
    { "10.0.0.0/8", "10.0.0.0", 104, NULL },
    { "0.0.0.0/0", "0.0.0.0", 96, NULL },
    { "2001:db8::/32", "2001:db8::", 32, NULL },
    { "2001:DB8:1::/48", "2001:db8:1::", 48, NULL },
    { "2001:db8::1", "2001:db8::1", 128, NULL },
    { "2001:db8::1/128", "2001:db8::1", 128, NULL },
    { "::/0", "::", 0, NULL },
    { "::ffff:192.0.2.0/120", "192.0.2.0", 120, NULL },
    { "192.0.2.1/24", NULL, 0, "host bits set in CIDR" },
    { "192.0.2.129/25", NULL, 0, "host bits set in CIDR" },
    { "10.1.0.0/8", NULL, 0, "host bits set in CIDR" },
    { "0.0.0.1/0", NULL, 0, "host bits set in CIDR" },
    { "2001:db8::1/64", NULL, 0, "host bits set in CIDR" },
    { "::1/0", NULL, 0, "host bits set in CIDR" },
    { "192.0.2.0/33", NULL, 0, "invalid CIDR prefix length" },
    { "2001:db8::/129", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2.0/", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2.0/-1", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2.0/+24", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2.0/2a", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2.0/0024", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2.0/24/1", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2.0/ 24", NULL, 0, "invalid CIDR prefix length" },
    { "192.0.2/24", NULL, 0, "invalid address in CIDR" },
    { "/24", NULL, 0, "invalid address in CIDR" },
    { "IPv6:2001:db8::/32", NULL, 0, "invalid address in CIDR" },
    { "example.com/24", NULL, 0, "invalid address in CIDR" },
    { " 192.0.2.0/24", NULL, 0, "invalid address in CIDR" },
    { "", NULL, 0, "invalid CIDR" },
};

/* cidr_parse over the table. */
static void
t_cidr_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cidr_cases); i++) {
        const struct cidr_case *c = &cidr_cases[i];
        struct cidr p;
        const char *err = NULL;
        char text[64];
        bool ok = cidr_parse(c->in, &p, &err);
        check_bool_in("cidr_parse", c->in, ok, c->addr != NULL);
        if (!ok) {
            check_str_in("cidr_parse err", c->in, err, c->err);
            continue;
        }
        ip_format(&p.addr, text, sizeof(text));
        check_str_in("cidr_parse addr", c->in, text, c->addr);
        if (p.prefix_len != c->len)
            fail_msg("cidr_parse(\"%s\") prefix_len: got %u, want %u", c->in,
                     p.prefix_len, c->len);
    }
}

struct prefix_entry {
    const char *cidr;
    uint32_t id;
};

/* Build a table from text prefixes, asserting each parses and adds. */
static struct cidr_table *
build(const struct prefix_entry *e, size_t n)
{
    struct cidr_table *t = cidr_table_new();

    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        struct cidr p;
        const char *err = "";
        if (!cidr_parse(e[i].cidr, &p, &err))
            fail_msg("cidr_parse(\"%s\"): got false (%s), want true",
                     e[i].cidr, err);
        assert_true(cidr_table_add(t, &p, e[i].id));
    }
    return t;
}

static const struct prefix_entry overlap_entries[] = {
    { "192.0.2.0/24", 0 },
    { "192.0.2.128/25", 1 },
    { "192.0.2.7/32", 2 },
    { "0.0.0.0/0", 3 },
    { "2001:db8::/32", 4 },
    { "2001:db8:1::/48", 5 },
    { "2001:db8:1::1/128", 6 },
    { "::/0", 7 },
    { "198.51.100.0/24", 8 },
    { "203.0.113.0/24", 8 },
    { "10.0.0.0/8", 9 },
    { "10.1.0.0/16", 9 },
    { "192.0.2.0/24", 10 },   /* same prefix, second id */
    { "192.0.2.0/24", 0 },    /* same prefix and id again: no-op */
};

/* An address and the ids its lookup must find, as a set. */
struct lookup_case {
    const char *ip;
    uint32_t want[IDS_MAX];
};

/* Look every case up in t. */
static void
check_lookups(const struct cidr_table *t, const struct lookup_case *cases,
              size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_cidr_lookup("cidr_table_lookup", t, cases[i].ip,
                          cases[i].want);
}

static const struct lookup_case overlap_cases[] = {
    { "192.0.2.7", { 0, 10, 2, 3, 7, IDS_END } },
    { "192.0.2.6", { 0, 10, 3, 7, IDS_END } },
    { "192.0.2.128", { 0, 10, 1, 3, 7, IDS_END } },
    { "192.0.2.255", { 0, 10, 1, 3, 7, IDS_END } },
    { "192.0.3.1", { 3, 7, IDS_END } },
    { "::ffff:192.0.2.7", { 0, 10, 2, 3, 7, IDS_END } },
    { "IPv6:::ffff:192.0.2.200", { 0, 10, 1, 3, 7, IDS_END } },
    { "[192.0.2.7]", { 0, 10, 2, 3, 7, IDS_END } },
    { "2001:db8:1::1", { 4, 5, 6, 7, IDS_END } },
    { "IPv6:2001:db8:1::2", { 4, 5, 7, IDS_END } },
    { "2001:db8:2::1", { 4, 7, IDS_END } },
    { "2001:db9::1", { 7, IDS_END } },
    { "::1", { 7, IDS_END } },
    { "198.51.100.9", { 8, 3, 7, IDS_END } },
    { "203.0.113.9", { 8, 3, 7, IDS_END } },
    { "10.1.2.3", { 9, 3, 7, IDS_END } },    /* two prefixes, one id */
    { "10.2.0.1", { 9, 3, 7, IDS_END } },
};

/* Overlapping v4 and v6 prefixes, /0, /32, /128, deduplication. */
static void
t_table_overlap(void **state)
{
    struct cidr_table *t = build(overlap_entries, ARRAY_LEN(overlap_entries));

    (void)state;
    assert_int_equal(cidr_table_size(t), 12);
    check_lookups(t, overlap_cases, ARRAY_LEN(overlap_cases));
    cidr_table_free(t);
}

/* v4 /0 is all of IPv4 only; without /0 entries, strangers match nothing. */
static void
t_table_zero_lengths(void **state)
{
    static const struct prefix_entry v4all[] = { { "0.0.0.0/0", 1 } };
    static const struct prefix_entry v6[] = {
        { "2001:db8::/32", 2 }, { "192.0.2.7/32", 3 }, { "::1", 4 },
    };
    static const struct lookup_case v4all_cases[] = {
        { "8.8.8.8", { 1, IDS_END } },
        { "::ffff:8.8.8.8", { 1, IDS_END } },
        { "2001:db8::1", { IDS_END } },
        { "::", { IDS_END } },
    };
    static const struct lookup_case v6_cases[] = {
        { "2001:db8:ffff::1", { 2, IDS_END } },
        { "2001:db9::", { IDS_END } },
        { "192.0.2.7", { 3, IDS_END } },
        { "192.0.2.8", { IDS_END } },
        { "::1", { 4, IDS_END } },
        { "::2", { IDS_END } },
    };
    struct cidr_table *t = build(v4all, ARRAY_LEN(v4all));

    (void)state;
    check_lookups(t, v4all_cases, ARRAY_LEN(v4all_cases));
    cidr_table_free(t);
    t = build(v6, ARRAY_LEN(v6));
    check_lookups(t, v6_cases, ARRAY_LEN(v6_cases));
    cidr_table_free(t);
}

/* The total is returned even when max is smaller; longest prefix first. */
static void
t_table_truncation(void **state)
{
    struct cidr_table *t = build(overlap_entries, ARRAY_LEN(overlap_entries));
    struct ip_addr ip;
    uint32_t ids[3] = { IDS_END, IDS_END, IDS_END };

    (void)state;
    assert_true(ip_parse("192.0.2.7", &ip));
    assert_int_equal(cidr_table_lookup(t, &ip, ids, 2), 5);
    assert_int_equal(ids[0], 2);   /* the /32 */
    assert_int_equal(ids[1], 0);   /* the /24, first id */
    assert_int_equal(ids[2], IDS_END);
    assert_int_equal(cidr_table_lookup(t, &ip, NULL, 0), 5);
    assert_int_equal(cidr_table_lookup(NULL, &ip, ids, 2), 0);
    assert_int_equal(cidr_table_lookup(t, NULL, ids, 2), 0);
    cidr_table_free(t);
}

/* Adding an impossible length fails; host bits are cleared on add. */
static void
t_table_add_edges(void **state)
{
    struct cidr_table *t = cidr_table_new();
    struct cidr p;
    static const uint32_t want[] = { 6, IDS_END };

    (void)state;
    assert_non_null(t);
    assert_true(ip_parse("192.0.2.7", &p.addr));
    p.prefix_len = 129;
    assert_false(cidr_table_add(t, &p, 1));
    assert_false(cidr_table_add(NULL, &p, 1));
    assert_false(cidr_table_add(t, NULL, 1));
    p.prefix_len = 120;
    assert_true(cidr_table_add(t, &p, 6));
    assert_int_equal(cidr_table_size(t), 1);
    check_cidr_lookup("cidr_table_lookup", t, "192.0.2.200", want);
    assert_int_equal(cidr_table_size(NULL), 0);
    cidr_table_free(t);
    cidr_table_free(NULL);
}

/* One prefix of many connectors: each id once, in the order added. */
static void
t_table_many_ids(void **state)
{
    struct cidr_table *t = cidr_table_new();
    struct cidr p;
    static const uint32_t want[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, IDS_END };

    (void)state;
    assert_non_null(t);
    assert_true(cidr_parse("192.0.2.0/24", &p, NULL));
    for (uint32_t i = 1; i < 12; i++)
        assert_true(cidr_table_add(t, &p, i));
    /* Again, in both orders: nothing new. */
    for (uint32_t i = 1; i < 12; i++)
        assert_true(cidr_table_add(t, &p, i));
    for (uint32_t i = 11; i > 0; i--)
        assert_true(cidr_table_add(t, &p, i));
    assert_int_equal(cidr_table_size(t), 1);
    check_cidr_lookup("cidr_table_lookup", t, "192.0.2.9", want);
    cidr_table_free(t);
}

/* 100,000 v4 /32s and 100,000 v6 /48s: each still finds exactly its id. */
static void
t_table_many(void **state)
{
    enum { N = 100000 };
    struct cidr_table *t = cidr_table_new();
    char text[64];

    (void)state;
    assert_non_null(t);
    for (uint32_t i = 0; i < N; i++) {
        struct cidr p;
        snprintf(text, sizeof(text), "10.%u.%u.%u", i >> 16, (i >> 8) & 255,
                 i & 255);
        assert_true(cidr_parse(text, &p, NULL));
        assert_true(cidr_table_add(t, &p, i));
        snprintf(text, sizeof(text), "2001:%x:%x::/48", 0xd00 + (i >> 16),
                 i & 0xffff);
        assert_true(cidr_parse(text, &p, NULL));
        assert_true(cidr_table_add(t, &p, N + i));
    }
    assert_int_equal(cidr_table_size(t), 2 * N);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t want[] = { i, IDS_END }, wantv6[] = { N + i, IDS_END };
        snprintf(text, sizeof(text), "10.%u.%u.%u", i >> 16, (i >> 8) & 255,
                 i & 255);
        check_cidr_lookup("cidr_table_lookup", t, text, want);
        snprintf(text, sizeof(text), "2001:%x:%x:ffff::1", 0xd00 + (i >> 16),
                 i & 0xffff);
        check_cidr_lookup("cidr_table_lookup", t, text, wantv6);
    }
    {
        static const uint32_t none[] = { IDS_END };
        check_cidr_lookup("cidr_table_lookup", t, "10.255.0.1", none);
        check_cidr_lookup("cidr_table_lookup", t, "2001:db9::1", none);
    }
    cidr_table_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_ip_parse),
        cmocka_unit_test(t_ip_bytes),
        cmocka_unit_test(t_ip_from_sockaddr),
        cmocka_unit_test(t_ip_format_small),
        cmocka_unit_test(t_cidr_parse),
        cmocka_unit_test(t_table_overlap),
        cmocka_unit_test(t_table_zero_lengths),
        cmocka_unit_test(t_table_truncation),
        cmocka_unit_test(t_table_add_edges),
        cmocka_unit_test(t_table_many_ids),
        cmocka_unit_test(t_table_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
