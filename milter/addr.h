/*
 * addr.h - RFC 5321 paths and domain names.
 *
 * Turns envelope paths from the MTA into a lower-case local part and an
 * A-label domain without a trailing dot, and normalises configured domain
 * and certificate names the same way, so that every comparison elsewhere is
 * a plain byte comparison.
 */
#ifndef FORCETLS_ADDR_H
#define FORCETLS_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Longest normalised domain we keep (RFC 1035: 253 octets plus NUL). */
#define ADDR_DOMAIN_MAX 256
/* Longest normalised address we keep: local@domain (RFC 5321 path limit). */
#define ADDR_MAX 512

/*
 * Normalise a domain name of len bytes (not NUL-terminated necessarily):
 * strip one trailing dot, lower-case ASCII, convert UTF-8 labels to A-labels
 * (libidn2, non-transitional), reject empty labels, labels over 63 octets,
 * names over 253 octets, and bytes that cannot occur in a host name.
 * On success writes a NUL-terminated name to out and returns true.
 * On failure returns false and, when err is not NULL, points it at a static
 * English message ("empty label", "invalid character", ...).
 */
bool addr_normalize_domain(const char *in, size_t len, char *out, size_t outsz,
                           const char **err);

/*
 * Like addr_normalize_domain, but also accepts a leading "*." wildcard
 * (kept as "*." in the output). Used for configured patterns.
 */
bool addr_normalize_pattern(const char *in, char *out, size_t outsz,
                            const char **err);

/* The parts of an envelope path. */
struct addr_path {
    bool null_path;                  /* "<>" : the null sender */
    char address[ADDR_MAX];          /* local@domain, domain normalised; "" for <> */
    char domain[ADDR_DOMAIN_MAX];    /* normalised domain; "" when none */
};

/*
 * Parse an envelope path as libmilter passes it ("<a@b.c>", "a@b.c",
 * "<@relay:a@b.c>", "<>", "<\"quoted local\"@b.c>"). The domain is the part
 * after the '@' that ends the local part (a quoted local part may contain
 * '@'), normalised as above. A source route is dropped. An address literal
 * ("[192.0.2.1]") is kept lower-cased as the domain text; it matches no
 * domain pattern. A path without '@' ("<postmaster>") gives the local part
 * as address and domain "". The local part is lower-cased (ASCII only) and
 * must be well-formed UTF-8.
 * Returns false for hostile or unparsable input (the caller fails closed).
 */
bool addr_parse_path(const char *path, struct addr_path *out);

/*
 * Normalise a full address for case-insensitive comparison (exempt
 * recipients): local part lower-cased, domain normalised. Returns false when
 * it has no '@' or the domain is invalid.
 */
bool addr_normalize_address(const char *in, char *out, size_t outsz,
                            const char **err);

#endif
