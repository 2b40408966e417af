/*
 * policymap.h - outbound delivery policy for the MTA: the Postfix
 * socketmap service and the -P tables.
 */
#ifndef FORCETLS_POLICYMAP_H
#define FORCETLS_POLICYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define POLICYMAP_TABLE_NAMES "postfix-tls-policy, postfix-transport, sendmail-access"

/* A reply buffer of this size holds every answer policymap_answer gives. */
#define POLICYMAP_REPLY_MAX 4096
/* Longest key looked up; longer keys are answered NOTFOUND. */
#define POLICYMAP_KEY_MAX 1024

enum policymap_result {
    POLICYMAP_FOUND = 0,    /* "OK ..." */
    POLICYMAP_NOTFOUND,     /* "NOTFOUND " */
    POLICYMAP_TEMP,         /* "TEMP ...": no configuration, reply too long */
    POLICYMAP_PERM,         /* "PERM ...": a well-formed request we do not serve */
    POLICYMAP_BAD_REQUEST,  /* "PERM ...": not "NAME KEY"; close the connection */
};

/*
 * Answer one socketmap request "NAME KEY" (split at the first space) from
 * config (NULL: no configuration yet, answered TEMP). Maps:
 *   tlspolicy  KEY is a next hop as Postfix writes it ("[host]:port",
 *              "[host]", "host:port", "host"; ":25" is the same as no
 *              port), a domain, or ".parent"; answers "OK encrypt|verify|
 *              secure match=NAME protocols=>=TLSvX", the strictest policy
 *              of every outbound connector covering the key (struct
 *              outbound_policy in config.h).
 *   transport  KEY is an address, a domain or ".parent"; answers
 *              "OK smtp:HOP[, HOP...]" when the most specific connector
 *              has smart_hosts (routing; most specific wins).
 * Writes the reply (NUL-terminated, without netstring framing) to reply;
 * replysz must be at least 64. Never fails otherwise.
 */
enum policymap_result policymap_answer(const struct config *config,
                                       const char *request, char *reply,
                                       size_t replysz);

/* Print the named table for config to out; false if the name is unknown. */
bool policymap_print_table(const struct config *config, const char *name, FILE *out);

#endif
