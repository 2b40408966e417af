/*
 * explain_cert.c - forcetls explain's words for the certificate check: the
 * identity that accepted a certificate, or why none did (no verified
 * certificate; a name no identity lists; an issuer CN no identity naming
 * the CN accepts, with the hint that issuers take the issuing CA's CN and
 * the root belongs in the MTA's CA file; identities outside their windows
 * at the time judged).
 *
 * Must not: decide. The result and reason are the engine's (policy_trace);
 * which identities name the CN, and which accept its issuer, are found
 * with the engine's own matchers (policy.h), only to name them.
 *
 * Threads: pure functions writing into caller buffers.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config_syntax.h"
#include "explain_internal.h"

/*
 * Which identities of in name the certificate's CN: hit[i] set for each,
 * with the engine's matcher (policy_cert_name_matches; no names: any CN,
 * and a CN that is no usable name matches no name).
 */
static void identities_naming(const struct inbound_connector *in,
                              const struct tls_facts *t, bool *hit)
{
    char cn[ADDR_DOMAIN_MAX];
    size_t len = strlen(t->cert_cn);
    bool usable = t->cert_verified && len > 0 && len < TLSFACTS_NAME_MAX - 1 &&
        addr_normalize_domain(t->cert_cn, len, cn, sizeof cn, NULL);

    for (size_t i = 0; i < in->identity_count; i++) {
        const struct cert_identity *id = &in->identities[i];

        hit[i] = id->names.count == 0;
        for (size_t j = 0; usable && !hit[i] && j < id->names.count; j++)
            hit[i] = policy_cert_name_matches(id->names.items[j], cn);
    }
}

/* A list of strings: "a, b" (or fallback when empty), quoted if asked. */
static void append_list(char *buf, size_t bufsz, const struct strlist *l,
                        bool quoted, const char *fallback)
{
    if (l->count == 0)
        explain_append(buf, bufsz, "%s", fallback);
    for (size_t i = 0; i < l->count; i++) {
        if (i > 0)
            explain_append(buf, bufsz, ", ");
        if (quoted)
            explain_append_quoted(buf, bufsz, l->items[i]);
        else
            explain_append_value(buf, bufsz, l->items[i]);
    }
}

/* An identity's window in words. */
static void append_window(char *buf, size_t bufsz, const struct cert_identity *id)
{
    char a[SYNTAX_UTC_TEXT], b[SYNTAX_UTC_TEXT];
    const char *from = explain_date(id->valid_from, a, sizeof a);
    const char *until = explain_date(id->valid_until, b, sizeof b);

    if (from == NULL && until == NULL)
        explain_append(buf, bufsz, "no window");
    else if (until == NULL)
        explain_append(buf, bufsz, "valid from %s", from);
    else if (from == NULL)
        explain_append(buf, bufsz, "valid until %s", until);
    else
        explain_append(buf, bufsz, "valid from %s until %s", from, until);
}

/* "line 12: names a; issuers "X"; valid from .." */
void explain_identity_words(const struct cert_identity *id, char *buf,
                            size_t bufsz)
{
    buf[0] = '\0';
    explain_append(buf, bufsz, "line %d: names ", id->line);
    append_list(buf, bufsz, &id->names, false, "any");
    explain_append(buf, bufsz, "; issuers ");
    append_list(buf, bufsz, &id->issuers, true, "any");
    explain_append(buf, bufsz, "; ");
    append_window(buf, bufsz, id);
}

/* The identity the engine says accepted the certificate, or NULL. */
const struct cert_identity *explain_identity(const struct explain_view *v)
{
    const struct inbound_connector *in = explain_inbound(v);
    long i = v->tc->identity;

    if (in == NULL || i < 0 || (size_t)i >= in->identity_count)
        return NULL;
    return &in->identities[i];
}

/* "certificate CN issued by "ISSUER"" */
static void append_cert(char *buf, size_t bufsz, const struct tls_facts *t)
{
    explain_append(buf, bufsz, "certificate ");
    explain_append_value(buf, bufsz, t->cert_cn);
    explain_append(buf, bufsz, " issued by ");
    if (t->issuer_cn[0] == '\0')
        explain_append(buf, bufsz, "an unnamed CA (no issuer CN)");
    else
        explain_append_quoted(buf, bufsz, t->issuer_cn);
}

/* Every distinct name of the connector's identities. */
static void append_all_names(char *buf, size_t bufsz,
                             const struct inbound_connector *in)
{
    size_t shown = 0;

    for (size_t i = 0; i < in->identity_count; i++)
        for (size_t j = 0; j < in->identities[i].names.count; j++) {
            const char *name = in->identities[i].names.items[j];
            bool seen = false;

            for (size_t k = 0; k < i && !seen; k++)
                for (size_t m = 0; m < in->identities[k].names.count; m++)
                    if (strcmp(in->identities[k].names.items[m], name) == 0)
                        seen = true;
            if (seen)
                continue;
            explain_append(buf, bufsz, "%s", shown++ > 0 ? ", " : "");
            explain_append_value(buf, bufsz, name);
        }
}

/* Whether any of hit[from..count) is set. */
static bool any_after(const bool *hit, size_t from, size_t count)
{
    for (size_t i = from; i < count; i++)
        if (hit[i])
            return true;
    return false;
}

/* Why no identity paired: the issuer CN against what the naming ones accept. */
static void issuer_words(const struct inbound_connector *in, const bool *hit,
                         const struct tls_facts *t, char *buf, size_t bufsz)
{
    append_cert(buf, bufsz, t);
    explain_append(buf, bufsz, ": no identity naming it accepts that issuer");
    for (size_t i = 0, n = 0; i < in->identity_count; i++)
        if (hit[i]) {
            explain_append(buf, bufsz, "%sline %d accepts ",
                           n++ == 0 ? " (" : "; ", in->identities[i].line);
            append_list(buf, bufsz, &in->identities[i].issuers, true, "any");
            explain_append(buf, bufsz, "%s", i + 1 == in->identity_count ||
                           !any_after(hit, i + 1, in->identity_count) ? ")" : "");
        }
    explain_append(buf, bufsz, ". issuers must list the issuing "
                   "(intermediate) CA's CN as Postfix passes it; the "
                   "partner's root CA belongs in smtpd_tls_CAfile (Postfix) "
                   "or confCACERT (Sendmail)");
}

/* Why the pairing identities are out of their windows at the time judged. */
static void window_words(const struct explain_view *v,
                         const struct inbound_connector *in, const bool *hit,
                         char *buf, size_t bufsz)
{
    const struct tls_facts *t = &v->req->session.tls;
    char at[SYNTAX_UTC_TEXT];

    syntax_format_utc(v->req->now, at, sizeof at);
    append_cert(buf, bufsz, t);
    explain_append(buf, bufsz, v->tc->reason == REASON_CERT_NOT_YET_VALID ?
                   " is not yet accepted at %s:" : " is no longer accepted "
                   "at %s:", at);
    for (size_t i = 0, n = 0; i < in->identity_count; i++)
        if (hit[i] &&
            policy_identity_accepts_issuer(&in->identities[i], t->issuer_cn)) {
            explain_append(buf, bufsz, "%s identity of line %d, ",
                           n++ == 0 ? "" : ";", in->identities[i].line);
            append_window(buf, bufsz, &in->identities[i]);
        }
}

/* Why the certificate check came out as the engine said. */
void explain_cert_detail(const struct explain_view *v, enum policy_result r,
                         char *buf, size_t bufsz)
{
    const struct inbound_connector *in = explain_inbound(v);
    const struct tls_facts *t = &v->req->session.tls;
    const struct cert_identity *id = explain_identity(v);
    char words[EXPLAIN_WORDS_MAX];
    bool *hit;

    if (r == POLICY_RESULT_SKIPPED) {
        if (!explain_skipped_by_order(v, POLICY_CHECK_CERTIFICATE, buf, bufsz))
            explain_append(buf, bufsz, in != NULL && in->identity_count == 0 ?
                           "not required (no certificate identities)" :
                           "not required");
        return;
    }
    if (r == POLICY_RESULT_PASSED) {
        append_cert(buf, bufsz, t);
        if (id != NULL) {
            explain_identity_words(id, words, sizeof words);
            explain_append(buf, bufsz, ", accepted by the identity of %s", words);
        }
        return;
    }
    if (in == NULL || v->tc->reason == REASON_NO_CLIENT_CERT || !t->cert_verified) {
        explain_append(buf, bufsz, "no client certificate the MTA verified "
                       "(no cert=); Postfix passes one only with "
                       "smtpd_tls_ask_ccert = yes and the partner's root CA "
                       "in smtpd_tls_CAfile");
        return;
    }
    hit = calloc(in->identity_count + 1, sizeof *hit);
    if (hit != NULL)
        identities_naming(in, t, hit);
    if (hit == NULL) {
        explain_append(buf, bufsz, "refused (%s)", policy_reason_name(v->tc->reason));
    } else if (v->tc->reason == REASON_CERT_NAME_MISMATCH) {
        explain_append(buf, bufsz, "certificate name ");
        explain_append_value(buf, bufsz, t->cert_cn);
        explain_append(buf, bufsz, " matches no identity's names (");
        append_all_names(buf, bufsz, in);
        explain_append(buf, bufsz, ")");
    } else if (v->tc->reason == REASON_CERT_ISSUER_MISMATCH) {
        issuer_words(in, hit, t, buf, bufsz);
    } else if (v->tc->reason == REASON_CERT_NOT_YET_VALID ||
               v->tc->reason == REASON_CERT_RETIRED) {
        window_words(v, in, hit, buf, bufsz);
    } else {
        explain_append(buf, bufsz, "refused (%s)", policy_reason_name(v->tc->reason));
    }
    free(hit);
}
