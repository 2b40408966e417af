/*
 * explain_internal.h - the parts of forcetls explain (explain.c judges,
 * explain_words.c and explain_cert.c say why in words, explain_text.c and
 * explain_json.c print). Not for other modules: they use explain.h.
 */
#ifndef FORCETLS_EXPLAIN_INTERNAL_H
#define FORCETLS_EXPLAIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "explain.h"
#include "log.h"
#include "policy.h"
#include "policymap.h"

/* Room for one sentence of explain_words.c. */
#define EXPLAIN_WORDS_MAX 4096

/* What the engine said about one recipient, and what goes around it. */
struct explain_recipient {
    const char *text;                 /* as given */
    const struct addr_path *addr;     /* parsed */
    struct verdict verdict;
    struct policy_trace trace;
    bool logged;                      /* the daemon would log the line */
    bool outbound;                    /* an outbound connector matched */
    char tlspolicy_key[ADDR_DOMAIN_MAX];
    char tlspolicy[POLICYMAP_REPLY_MAX];   /* the socketmap's answers */
    char transport[POLICYMAP_REPLY_MAX];
    char line[LOG_LINE_MAX];          /* policy_format_line, s=explain */
};

/* One matched connector as the words see it. */
struct explain_view {
    const struct config *config;
    const struct explain_request *req;
    const struct explain_recipient *r;
    const struct policy_trace_connector *tc;
};

/* Judge recipient i of req under config into out. */
void explain_judge(const struct config *config,
                   const struct explain_request *req, size_t i,
                   struct explain_recipient *out);

/* Was the matched connector's id inside the configuration? (trace sanity) */
bool explain_view_valid(const struct explain_view *v);

/* Connector name, its line, "inbound"/"outbound". */
const char *explain_connector_name(const struct explain_view *v);
int explain_connector_line(const struct explain_view *v);
const char *explain_direction_name(enum direction direction);

/* The POLICY_BY_* bits in order: their JSON key and their words. */
#define EXPLAIN_HOW_COUNT 4
unsigned explain_how_bit(size_t i);
const char *explain_how_key(unsigned bit);
/* "sender domain contoso.com" etc. into buf. */
void explain_how_words(const struct explain_view *v, unsigned bit, char *buf,
                       size_t bufsz);

/* The matched inbound connector, NULL for an outbound one. */
const struct inbound_connector *explain_inbound(const struct explain_view *v);
/*
 * When a check was skipped because the recipient is exempt or an earlier
 * check failed, say so into buf and return true.
 */
bool explain_skipped_by_order(const struct explain_view *v,
                              enum policy_check c, char *buf, size_t bufsz);
/* The certificate check in words (explain_cert.c). */
void explain_cert_detail(const struct explain_view *v, enum policy_result r,
                         char *buf, size_t bufsz);

/* Whether a check is part of the connector's story (outbound: TLS only). */
bool explain_check_shown(const struct explain_view *v, enum policy_check c);
const char *explain_check_key(enum policy_check c);   /* "tls_version" */
const char *explain_check_label(enum policy_check c); /* "TLS version" */
/* Result of a check as printed: "ok" / "FAIL" / "-" (exempt: "-" unless ok). */
enum policy_result explain_check_result(const struct explain_view *v,
                                        enum policy_check c);
/* Why the check came out as it did, in words, into buf. */
void explain_check_detail(const struct explain_view *v, enum policy_check c,
                          char *buf, size_t bufsz);

const char *explain_phase_name(enum policy_phase phase);
/* The connector's schedule and the phase at the time judged, in words. */
void explain_schedule_words(const struct explain_view *v, char *buf,
                            size_t bufsz);
/* The connector's schedule (NULL for an outbound one without any). */
const struct schedule *explain_schedule(const struct explain_view *v);

/* The identity that accepted the certificate, or NULL. */
const struct cert_identity *explain_identity(const struct explain_view *v);
/* An identity in words: "line 12: names a, b; issuers "X"; valid from .. until ..". */
void explain_identity_words(const struct cert_identity *id, char *buf,
                            size_t bufsz);

/* The recipient's outcome in words (without the reply). */
void explain_outcome_words(const struct config *config,
                           const struct explain_recipient *r, char *buf,
                           size_t bufsz);
/* "550 5.7.1 text" / "451 4.7.1 text" into buf; false when accepted. */
bool explain_reply(const struct explain_recipient *r, char *buf, size_t bufsz);

/* A date as "YYYY-MM-DDTHH:MM:SSZ"; CONFIG_NO_START/END as NULL. */
const char *explain_date(int64_t t, char *buf, size_t bufsz);

/* Append printf-style text to buf (cut to fit, always terminated). */
void explain_append(char *buf, size_t bufsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A value as a quoted, escaped word ("..." via log_value) appended to buf. */
void explain_append_quoted(char *buf, size_t bufsz, const char *value);
/* A value as log_value writes it (plain or quoted) appended to buf. */
void explain_append_value(char *buf, size_t bufsz, const char *value);

/* The printers; r is scratch space for one recipient at a time. */
void explain_print_text(const struct config *config,
                        const struct explain_request *req,
                        struct explain_recipient *r, FILE *out);
void explain_print_json(const struct config *config,
                        const struct explain_request *req,
                        struct explain_recipient *r, FILE *out);

#endif
