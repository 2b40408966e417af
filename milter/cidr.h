/*
 * cidr.h - IP addresses and CIDR prefixes, IPv4 and IPv6 in one table.
 *
 * IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d), so a v4 prefix also
 * matches a v4-mapped v6 client and there is one code path. The table keeps
 * one hash set per prefix length that occurs; a lookup masks the address
 * once per such length (at most 129 probes), whatever the number of
 * prefixes. Read-only after building: lock-free concurrent reads.
 */
#ifndef FORCETLS_CIDR_H
#define FORCETLS_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct ip_addr {
    uint8_t bytes[16];    /* IPv6 or IPv4-mapped IPv6, network order */
};

struct cidr {
    struct ip_addr addr;  /* host bits cleared */
    unsigned prefix_len;  /* 0..128, in IPv6 terms (v4 /24 is 120) */
};

/*
 * Parse "192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7", and the MTA forms
 * "IPv6:2001:db8::1" and "[192.0.2.7]". Returns false on anything else.
 */
bool ip_parse(const char *text, struct ip_addr *out);

/* From a sockaddr as libmilter's connect callback passes it (AF_INET/6). */
bool ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out);

/* Canonical text (dotted quad for v4-mapped, RFC 5952 for v6). */
void ip_format(const struct ip_addr *ip, char *out, size_t outsz);

/*
 * Parse "192.0.2.0/24", "2001:db8::/32", or a bare address (full length).
 * Host bits set below the prefix are an error (a typo must not widen or
 * narrow a range silently): returns false and sets *err to a message.
 */
bool cidr_parse(const char *text, struct cidr *out, const char **err);

struct cidr_table;

struct cidr_table *cidr_table_new(void);
void cidr_table_free(struct cidr_table *table);

/* Add id for prefix. Returns false only when memory runs out. */
bool cidr_table_add(struct cidr_table *table, const struct cidr *prefix,
                    uint32_t id);

/* Number of distinct prefixes. */
size_t cidr_table_size(const struct cidr_table *table);

/*
 * All ids whose prefix contains ip, deduplicated, appended to ids[] (at
 * most max), most specific prefix first (ids of one prefix in the order
 * added). Returns the total count found, which may exceed max.
 */
size_t cidr_table_lookup(const struct cidr_table *table,
                         const struct ip_addr *ip, uint32_t *ids, size_t max);

#endif
