/*
 * policymap.h - outbound delivery policy for the MTA: the Postfix
 * socketmap service and the -P tables.
 */
#ifndef FORCETLS_POLICYMAP_H
#define FORCETLS_POLICYMAP_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

#define POLICYMAP_TABLE_NAMES "postfix-tls-policy, postfix-transport, sendmail-access"

/* Print the named table for config to out; false if the name is unknown. */
bool policymap_print_table(const struct config *config, const char *name, FILE *out);

#endif
