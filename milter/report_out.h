/*
 * report_out.h - forcetls report's printers: the contract's JSON object,
 * and the text form (tables and call-outs).
 */
#ifndef FORCETLS_REPORT_OUT_H
#define FORCETLS_REPORT_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "report_agg.h"

/* Items of a count map the text form shows (the JSON object has all). */
#define REPORT_TEXT_ITEMS 10

/* The JSON object of the contract; false when memory runs out. */
bool report_print_json(const struct report_agg *agg, FILE *out);

/*
 * The text form; config (may be NULL: no -c) is compared with the
 * certificate names and issuers seen. False when memory runs out.
 */
bool report_print_text(const struct report_agg *agg,
                       const struct config *config, FILE *out);

#endif
