/*
 * bench_lookup.c - lookups per second of domain_table and cidr_table with
 * 10 and with 100,000 connectors. Prints figures, asserts nothing.
 *
 * Each connector i has sender domains "c<i>.example" and "*.c<i>.example",
 * a certificate name "mx.c<i>.example", one IPv4 prefix (a /24, /28 or /32
 * in turn) and one IPv6 /48. Queries are prepared beforehand; half hit,
 * half miss. Not built by make; compile by hand from the source tree:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Imilter tests/bench/bench_lookup.c \
 *      milter/addr.c milter/domain_table.c milter/cidr.c -lidn2 \
 *      -o bench_lookup && ./bench_lookup
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "cidr.h"
#include "domain_table.h"

#define NQUERIES 4096
#define ROUNDS 2000000

struct bench {
    struct domain_table *domains;
    struct domain_table *certs;
    struct cidr_table *cidrs;
    char names[NQUERIES][ADDR_DOMAIN_MAX];
    char certnames[NQUERIES][ADDR_DOMAIN_MAX];
    char paths[NQUERIES][ADDR_MAX];
    struct ip_addr ips[NQUERIES];
};

/* Seconds from a monotonic clock. */
static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Add connector i's prefixes; exits on failure. */
static void
add_prefixes(struct cidr_table *t, unsigned i)
{
    static const unsigned lens[] = { 24, 28, 32 };
    char text[64];
    struct cidr p;
    unsigned len = lens[i % 3];
    unsigned host = len == 24 ? 0 : len == 28 ? 16 : 1;

    snprintf(text, sizeof(text), "10.%u.%u.%u/%u", (i >> 8) & 255, i & 255,
             host, len);
    if (!cidr_parse(text, &p, NULL) || !cidr_table_add(t, &p, i))
        exit(1);
    snprintf(text, sizeof(text), "2001:%x:%x::/48", 0xd00 + (i >> 16),
             i & 0xffff);
    if (!cidr_parse(text, &p, NULL) || !cidr_table_add(t, &p, i))
        exit(1);
}

/* Build the tables for n connectors; exits on failure. */
static void
build(struct bench *b, unsigned n)
{
    char key[ADDR_DOMAIN_MAX];

    b->domains = domain_table_new();
    b->certs = domain_table_new();
    b->cidrs = cidr_table_new();
    if (b->domains == NULL || b->certs == NULL || b->cidrs == NULL)
        exit(1);
    for (unsigned i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "c%u.example", i);
        if (!domain_table_add(b->domains, key, i, NULL, NULL))
            exit(1);
        snprintf(key, sizeof(key), "*.c%u.example", i);
        if (!domain_table_add(b->domains, key, i, NULL, NULL))
            exit(1);
        snprintf(key, sizeof(key), "mx.c%u.example", i);
        if (!domain_table_add(b->certs, key, i, NULL, NULL))
            exit(1);
        add_prefixes(b->cidrs, i);
    }
}

/* Prepare queries: even ones hit connector k, odd ones miss. */
static void
prepare(struct bench *b, unsigned n)
{
    char text[64];

    for (unsigned q = 0; q < NQUERIES; q++) {
        unsigned k = (q * 2654435761u) % n;
        bool hit = q % 2 == 0;
        snprintf(b->names[q], ADDR_DOMAIN_MAX, hit ? "mail.sub.c%u.example" :
                 "mail.sub.u%u.example", k);
        snprintf(b->certnames[q], ADDR_DOMAIN_MAX, hit ? "mx.c%u.example" :
                 "mx.u%u.example", k);
        snprintf(b->paths[q], ADDR_MAX, "<User.%u@Mail.C%u.Example.>", q, k);
        if (q % 4 == 0)
            snprintf(text, sizeof(text), "10.%u.%u.%u", (k >> 8) & 255,
                     k & 255, k % 3 == 0 ? 77u : k % 3 == 1 ? 20u : 1u);
        else if (q % 4 == 2)
            snprintf(text, sizeof(text), "IPv6:2001:%x:%x:1::25",
                     0xd00 + (k >> 16), k & 0xffff);
        else if (q % 4 == 1)
            snprintf(text, sizeof(text), "192.0.2.%u", k & 255);
        else
            snprintf(text, sizeof(text), "2001:db9:%x::1", k & 0xffff);
        if (!ip_parse(text, &b->ips[q]))
            exit(1);
    }
}

/* Run one kind of lookup ROUNDS times and print the rate. */
static void
run(const struct bench *b, unsigned n, const char *what, int kind)
{
    uint32_t ids[16];
    size_t found = 0;
    struct addr_path p;
    double t0 = now(), dt;
    unsigned rounds = kind == 3 ? ROUNDS / 4 : ROUNDS;

    for (unsigned r = 0; r < rounds; r++) {
        unsigned q = r % NQUERIES;
        switch (kind) {
        case 0:
            found += domain_table_match(b->domains, b->names[q], ids, 16);
            break;
        case 1:
            found += domain_table_match_cert(b->certs, b->certnames[q], ids,
                                             16);
            break;
        case 2:
            found += cidr_table_lookup(b->cidrs, &b->ips[q], ids, 16);
            break;
        default:
            found += addr_parse_path(b->paths[q], &p) ? 1 : 0;
            break;
        }
    }
    dt = now() - t0;
    printf("%7u connectors  %-28s %12.0f lookups/s  (%.0f ns each, %zu hits)\n",
           n, what, rounds / dt, dt / rounds * 1e9, found);
}

/* Benchmark tables of n connectors. */
static void
bench(unsigned n)
{
    struct bench *b = calloc(1, sizeof(*b));
    double t0;

    if (b == NULL)
        exit(1);
    t0 = now();
    build(b, n);
    printf("%7u connectors  build: %.3f s, %zu domain keys, %zu cert keys, "
           "%zu prefixes\n", n, now() - t0, domain_table_size(b->domains),
           domain_table_size(b->certs), cidr_table_size(b->cidrs));
    prepare(b, n);
    run(b, n, "domain_table_match", 0);
    run(b, n, "domain_table_match_cert", 1);
    run(b, n, "cidr_table_lookup", 2);
    run(b, n, "addr_parse_path (no table)", 3);
    domain_table_free(b->domains);
    domain_table_free(b->certs);
    cidr_table_free(b->cidrs);
    free(b);
}

int
main(void)
{
    bench(10);
    bench(100000);
    return 0;
}
