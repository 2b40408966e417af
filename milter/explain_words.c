/*
 * explain_words.c - forcetls explain's sentences: how a connector matched,
 * why each of its checks came out as the engine said, the schedule phase,
 * the identity that accepted a certificate (or why none did), the outcome
 * and the reply.
 *
 * Must not: decide. Every ok, FAIL and outcome is read from the engine's
 * policy_trace and verdict; the words only name the facts and settings
 * behind them. For a refused certificate they name the identities whose
 * names match the CN (by the same domain_table matcher the configuration
 * loads) and their issuers and windows, so that an administrator sees
 * which issuer CN the certificate carried and what the connector accepts.
 *
 * Threads: pure functions writing into caller buffers.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cidr.h"
#include "config_syntax.h"
#include "domain_table.h"
#include "explain_internal.h"
#include "log.h"

/* --- buffers ------------------------------------------------------------- */

/* Append printf-style text to buf; see explain_internal.h. */
void explain_append(char *buf, size_t bufsz, const char *fmt, ...)
{
    size_t len = strnlen(buf, bufsz);
    va_list ap;

    if (bufsz == 0 || len + 1 >= bufsz)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + len, bufsz - len, fmt, ap);
    va_end(ap);
}

/* Append value as log_value writes it. */
void explain_append_value(char *buf, size_t bufsz, const char *value)
{
    char esc[LOG_VALUE_BUF];

    log_value(value, esc, sizeof esc);
    explain_append(buf, bufsz, "%s", esc);
}

/* Append value in double quotes, escaped as log_value escapes. */
void explain_append_quoted(char *buf, size_t bufsz, const char *value)
{
    char esc[LOG_VALUE_BUF];

    log_value(value, esc, sizeof esc);
    if (esc[0] == '"')
        explain_append(buf, bufsz, "%s", esc);
    else
        explain_append(buf, bufsz, "\"%s\"", esc);
}

/* A date, or NULL for an open bound. */
const char *explain_date(int64_t t, char *buf, size_t bufsz)
{
    if (t == CONFIG_NO_START || t == CONFIG_NO_END)
        return NULL;
    syntax_format_utc(t, buf, bufsz);
    return buf;
}

/* --- the connector ------------------------------------------------------- */

/* Whether the trace's connector id lies inside the configuration. */
bool explain_view_valid(const struct explain_view *v)
{
    const struct policy_match *m = &v->tc->match;

    return m->direction == DIRECTION_INBOUND ?
        m->id < v->config->inbound_count : m->id < v->config->outbound_count;
}

static const struct inbound_connector *inbound(const struct explain_view *v)
{
    return v->tc->match.direction == DIRECTION_INBOUND && explain_view_valid(v) ?
        &v->config->inbound[v->tc->match.id] : NULL;
}

static const struct outbound_connector *outbound(const struct explain_view *v)
{
    return v->tc->match.direction == DIRECTION_OUTBOUND && explain_view_valid(v) ?
        &v->config->outbound[v->tc->match.id] : NULL;
}

/* The connector's name ("?" outside the configuration). */
const char *explain_connector_name(const struct explain_view *v)
{
    const struct inbound_connector *in = inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? in->name : out != NULL ? out->name : "?";
}

/* The line the connector starts at (0 outside the configuration). */
int explain_connector_line(const struct explain_view *v)
{
    const struct inbound_connector *in = inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? in->line : out != NULL ? out->line : 0;
}

const char *explain_direction_name(enum direction direction)
{
    return direction == DIRECTION_INBOUND ? "inbound" : "outbound";
}

/* --- how it matched ------------------------------------------------------ */

unsigned explain_how_bit(size_t i)
{
    static const unsigned bits[EXPLAIN_HOW_COUNT] = {
        POLICY_BY_DOMAIN, POLICY_BY_IP, POLICY_BY_CERT, POLICY_BY_RCPT
    };

    return i < EXPLAIN_HOW_COUNT ? bits[i] : 0;
}

const char *explain_how_key(unsigned bit)
{
    switch (bit) {
    case POLICY_BY_DOMAIN: return "sender_domain";
    case POLICY_BY_IP: return "client_address";
    case POLICY_BY_CERT: return "certificate_name";
    case POLICY_BY_RCPT: return "recipient_domain";
    default: return "unknown";
    }
}

/* "sender domain contoso.com" etc. */
void explain_how_words(const struct explain_view *v, unsigned bit, char *buf,
                       size_t bufsz)
{
    char ip[64];

    buf[0] = '\0';
    switch (bit) {
    case POLICY_BY_DOMAIN:
        explain_append(buf, bufsz, "sender domain ");
        explain_append_value(buf, bufsz, v->req->sender.domain);
        break;
    case POLICY_BY_IP:
        ip_format(&v->req->session.client_ip, ip, sizeof ip);
        explain_append(buf, bufsz, "client address %s", ip);
        break;
    case POLICY_BY_CERT:
        explain_append(buf, bufsz, "certificate name ");
        explain_append_value(buf, bufsz, v->req->session.tls.cert_cn);
        break;
    case POLICY_BY_RCPT:
        explain_append(buf, bufsz, "recipient domain ");
        explain_append_value(buf, bufsz, v->r->addr->domain);
        break;
    default:
        explain_append(buf, bufsz, "an unknown way (%u)", bit);
        break;
    }
}

/* --- the checks ---------------------------------------------------------- */

bool explain_check_shown(const struct explain_view *v, enum policy_check c)
{
    if (v->tc->match.direction == DIRECTION_INBOUND)
        return c < POLICY_CHECK_COUNT;
    return c == POLICY_CHECK_TLS || c == POLICY_CHECK_VERSION;
}

const char *explain_check_key(enum policy_check c)
{
    static const char *const keys[POLICY_CHECK_COUNT] = {
        [POLICY_CHECK_EXEMPT] = "exempt",
        [POLICY_CHECK_SENDER_IP] = "sender_ip",
        [POLICY_CHECK_TLS] = "tls",
        [POLICY_CHECK_VERSION] = "tls_version",
        [POLICY_CHECK_CIPHER_BITS] = "cipher_bits",
        [POLICY_CHECK_FORWARD_SECRECY] = "forward_secrecy",
        [POLICY_CHECK_CERTIFICATE] = "certificate",
    };

    return (unsigned)c < POLICY_CHECK_COUNT ? keys[c] : "unknown";
}

const char *explain_check_label(enum policy_check c)
{
    static const char *const labels[POLICY_CHECK_COUNT] = {
        [POLICY_CHECK_EXEMPT] = "exempt recipient",
        [POLICY_CHECK_SENDER_IP] = "client address",
        [POLICY_CHECK_TLS] = "TLS",
        [POLICY_CHECK_VERSION] = "TLS version",
        [POLICY_CHECK_CIPHER_BITS] = "cipher bits",
        [POLICY_CHECK_FORWARD_SECRECY] = "forward secrecy",
        [POLICY_CHECK_CERTIFICATE] = "certificate",
    };

    return (unsigned)c < POLICY_CHECK_COUNT ? labels[c] : "unknown";
}

/* The exemption is a way out, not a requirement: only "ok" is shown as such. */
enum policy_result explain_check_result(const struct explain_view *v,
                                        enum policy_check c)
{
    enum policy_result r = v->tc->checks[c];

    if (c == POLICY_CHECK_EXEMPT && r != POLICY_RESULT_PASSED)
        return POLICY_RESULT_SKIPPED;
    return r;
}

/* Why a check was skipped, when the engine's order says so. */
static bool skipped_by_order(const struct explain_view *v, enum policy_check c,
                             char *buf, size_t bufsz)
{
    if (v->tc->checks[POLICY_CHECK_EXEMPT] == POLICY_RESULT_PASSED) {
        explain_append(buf, bufsz, "not checked: the recipient is exempt");
        return true;
    }
    for (int e = POLICY_CHECK_SENDER_IP; e < (int)c; e++)
        if (v->tc->checks[e] == POLICY_RESULT_FAILED) {
            explain_append(buf, bufsz, "not reached: the %s check failed",
                           explain_check_label((enum policy_check)e));
            return true;
        }
    return false;
}

static void detail_exempt(const struct explain_view *v, char *buf, size_t bufsz)
{
    const struct inbound_connector *in = inbound(v);

    if (v->tc->checks[POLICY_CHECK_EXEMPT] == POLICY_RESULT_PASSED) {
        explain_append(buf, bufsz, "recipient ");
        explain_append_value(buf, bufsz, v->r->addr->address);
        explain_append(buf, bufsz, " is in exempt_recipients: this connector "
                       "accepts it whatever the session");
    } else if (in != NULL && in->exempt_recipients.count > 0) {
        explain_append(buf, bufsz, "recipient not in exempt_recipients");
    } else {
        explain_append(buf, bufsz, "no exempt_recipients");
    }
}

static void detail_sender_ip(const struct explain_view *v, enum policy_result r,
                             char *buf, size_t bufsz)
{
    const struct inbound_connector *in = inbound(v);
    char ip[64] = "";

    if (v->req->session.have_client_ip)
        ip_format(&v->req->session.client_ip, ip, sizeof ip);
    if (r == POLICY_RESULT_PASSED) {
        explain_append(buf, bufsz, "client %s is in sender_ips", ip);
    } else if (r == POLICY_RESULT_FAILED) {
        if (v->req->session.have_client_ip)
            explain_append(buf, bufsz, "client %s is not in sender_ips", ip);
        else
            explain_append(buf, bufsz, "client address unknown (no client=)");
        explain_append(buf, bufsz, ", and mail from sender_domains must come "
                       "from sender_ips");
    } else if (!skipped_by_order(v, POLICY_CHECK_SENDER_IP, buf, bufsz)) {
        if (in != NULL && in->sender_domains.count > 0 && in->sender_ip_count > 0)
            explain_append(buf, bufsz, "not checked: the connector did not "
                           "match by sender domain");
        else
            explain_append(buf, bufsz, "not required: sender_ips are not set "
                           "beside sender_domains");
    }
}

/* The connector's version floor. */
static enum tls_version version_floor(const struct explain_view *v)
{
    const struct inbound_connector *in = inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? in->min_tls_version :
        out != NULL ? out->min_tls_version : TLS_VERSION_NONE;
}

static void detail_tls(const struct explain_view *v, enum policy_check c,
                       enum policy_result r, char *buf, size_t bufsz)
{
    const struct tls_facts *t = &v->req->session.tls;
    const struct inbound_connector *in = inbound(v);

    if (r == POLICY_RESULT_SKIPPED) {
        if (!skipped_by_order(v, c, buf, bufsz))
            explain_append(buf, bufsz, in != NULL ? "not required" :
                           "not required: require_session_tls is not set");
        return;
    }
    if (c == POLICY_CHECK_TLS) {
        if (r == POLICY_RESULT_PASSED) {
            explain_append(buf, bufsz, "a TLS session (");
            explain_append_value(buf, bufsz, t->version_text);
            explain_append(buf, bufsz, ")");
        } else if (in != NULL) {
            explain_append(buf, bufsz, "plaintext: the connector requires TLS");
        } else {
            explain_append(buf, bufsz, "plaintext: require_session_tls wants "
                           "the session handing over the mail encrypted");
        }
        return;
    }
    if (t->version == TLS_VERSION_UNKNOWN) {
        explain_append(buf, bufsz, "TLS version ");
        explain_append_value(buf, bufsz, t->version_text);
        explain_append(buf, bufsz, " cannot be ranked: below every floor");
        return;
    }
    explain_append(buf, bufsz, r == POLICY_RESULT_PASSED ? "" : "TLS version ");
    explain_append_value(buf, bufsz, t->version_text);
    explain_append(buf, bufsz, r == POLICY_RESULT_PASSED ?
                   ", at least the floor %s" : " below the floor %s",
                   tlsfacts_version_name(version_floor(v)));
}

static void detail_cipher(const struct explain_view *v, enum policy_check c,
                          enum policy_result r, char *buf, size_t bufsz)
{
    const struct tls_facts *t = &v->req->session.tls;
    const struct inbound_connector *in = inbound(v);

    if (r == POLICY_RESULT_SKIPPED) {
        if (skipped_by_order(v, c, buf, bufsz))
            return;
        if (c == POLICY_CHECK_CIPHER_BITS && in != NULL && in->min_cipher_bits == 0)
            explain_append(buf, bufsz, "not required (no min_cipher_bits)");
        else if (c == POLICY_CHECK_FORWARD_SECRECY && in != NULL &&
                 !in->require_forward_secrecy)
            explain_append(buf, bufsz, "not required (require_forward_secrecy "
                           "is false)");
        else
            explain_append(buf, bufsz, "not required");
        return;
    }
    if (c == POLICY_CHECK_CIPHER_BITS) {
        explain_append(buf, bufsz, "cipher ");
        explain_append_value(buf, bufsz, t->cipher);
        if (t->cipher_bits == 0)
            explain_append(buf, bufsz, ": bits unknown (0)");
        else
            explain_append(buf, bufsz, " has %d bits%s", t->cipher_bits,
                           v->req->bits_from_openssl ? " (OpenSSL's value)" : "");
        explain_append(buf, bufsz, r == POLICY_RESULT_PASSED ?
                       ", at least min_cipher_bits = %d" :
                       ", fewer than min_cipher_bits = %d",
                       in != NULL ? in->min_cipher_bits : 0);
        return;
    }
    if (r == POLICY_RESULT_PASSED && t->version == TLS_VERSION_1_3) {
        explain_append(buf, bufsz, "TLSv1.3 always has forward secrecy");
        return;
    }
    explain_append(buf, bufsz, "cipher ");
    explain_append_value(buf, bufsz, t->cipher);
    explain_append(buf, bufsz, r == POLICY_RESULT_PASSED ?
                   " has forward secrecy (an ECDHE or DHE key exchange)" :
                   " has no forward secrecy (OpenSSL knows no ECDHE or DHE "
                   "key exchange for it)");
}

/* --- certificates -------------------------------------------------------- */

/* Whether the identity accepts the issuer CN (as the engine compares it). */
static bool issuer_accepted(const struct cert_identity *id, const char *issuer)
{
    size_t len = strlen(issuer);

    if (id->issuers.count == 0)
        return true;
    if (len == 0 || len >= TLSFACTS_NAME_MAX - 1)
        return false;
    for (size_t i = 0; i < id->issuers.count; i++)
        if (strcasecmp(id->issuers.items[i], issuer) == 0)
            return true;
    return false;
}

/*
 * Which identities of in name the certificate's CN: hit[i] set for each
 * (names matched with the configuration's certificate-name matcher; no
 * names: any CN). False when the CN is no usable name or memory ran out.
 */
static bool identities_naming(const struct inbound_connector *in,
                              const struct tls_facts *t, bool *hit)
{
    char cn[ADDR_DOMAIN_MAX];
    uint32_t ids[POLICY_MAX_MATCHES];
    size_t len = strlen(t->cert_cn), n;
    struct domain_table *table;
    bool ok = true;

    if (!t->cert_verified || len == 0 || len >= TLSFACTS_NAME_MAX - 1 ||
        !addr_normalize_domain(t->cert_cn, len, cn, sizeof cn, NULL))
        cn[0] = '\0';
    if ((table = domain_table_new()) == NULL)
        return false;
    for (size_t i = 0; i < in->identity_count; i++) {
        hit[i] = in->identities[i].names.count == 0;
        for (size_t j = 0; ok && j < in->identities[i].names.count; j++)
            ok = domain_table_add(table, in->identities[i].names.items[j],
                                  (uint32_t)i, NULL, NULL);
    }
    n = ok && cn[0] != '\0' ?
        domain_table_match_cert(table, cn, ids, POLICY_MAX_MATCHES) : 0;
    for (size_t i = 0; i < n && i < POLICY_MAX_MATCHES; i++)
        if (ids[i] < in->identity_count)
            hit[ids[i]] = true;
    domain_table_free(table);
    return ok;
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
    const struct inbound_connector *in = inbound(v);
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
        if (hit[i] && issuer_accepted(&in->identities[i], t->issuer_cn)) {
            explain_append(buf, bufsz, "%s identity of line %d, ",
                           n++ == 0 ? "" : ";", in->identities[i].line);
            append_window(buf, bufsz, &in->identities[i]);
        }
}

static void detail_certificate(const struct explain_view *v, enum policy_result r,
                               char *buf, size_t bufsz)
{
    const struct inbound_connector *in = inbound(v);
    const struct tls_facts *t = &v->req->session.tls;
    const struct cert_identity *id = explain_identity(v);
    char words[EXPLAIN_WORDS_MAX];
    bool *hit;

    if (r == POLICY_RESULT_SKIPPED) {
        if (!skipped_by_order(v, POLICY_CHECK_CERTIFICATE, buf, bufsz))
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
                       "(no cert=)");
        return;
    }
    hit = calloc(in->identity_count + 1, sizeof *hit);
    if (hit == NULL || !identities_naming(in, t, hit)) {
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

/* Why the check came out as the engine said; see explain_internal.h. */
void explain_check_detail(const struct explain_view *v, enum policy_check c,
                          char *buf, size_t bufsz)
{
    enum policy_result r = v->tc->checks[c];

    buf[0] = '\0';
    switch (c) {
    case POLICY_CHECK_EXEMPT:
        detail_exempt(v, buf, bufsz);
        break;
    case POLICY_CHECK_SENDER_IP:
        detail_sender_ip(v, r, buf, bufsz);
        break;
    case POLICY_CHECK_TLS:
    case POLICY_CHECK_VERSION:
        detail_tls(v, c, r, buf, bufsz);
        break;
    case POLICY_CHECK_CIPHER_BITS:
    case POLICY_CHECK_FORWARD_SECRECY:
        detail_cipher(v, c, r, buf, bufsz);
        break;
    case POLICY_CHECK_CERTIFICATE:
        detail_certificate(v, r, buf, bufsz);
        break;
    case POLICY_CHECK_COUNT:
    default:
        break;
    }
}

/* --- schedule, outcome, reply -------------------------------------------- */

const char *explain_phase_name(enum policy_phase phase)
{
    switch (phase) {
    case POLICY_PHASE_MONITOR: return "monitor";
    case POLICY_PHASE_TEMPFAIL: return "tempfail";
    case POLICY_PHASE_ENFORCE:
    default: return "enforce";
    }
}

const struct schedule *explain_schedule(const struct explain_view *v)
{
    const struct inbound_connector *in = inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? &in->schedule : out != NULL ? &out->schedule : NULL;
}

/* The connector's action's keyword. */
static const char *action_name(const struct explain_view *v)
{
    const struct inbound_connector *in = inbound(v);
    const struct outbound_connector *out = outbound(v);

    return config_action_name(in != NULL ? in->action :
                              out != NULL ? out->action : ACTION_TEMPFAIL);
}

/* The schedule in words; see explain_internal.h. */
void explain_schedule_words(const struct explain_view *v, char *buf,
                            size_t bufsz)
{
    const struct schedule *s = explain_schedule(v);
    char m[SYNTAX_UTC_TEXT], t[SYNTAX_UTC_TEXT];
    const char *mon = s != NULL ? explain_date(s->monitor_until, m, sizeof m) : NULL;
    const char *tf = s != NULL ? explain_date(s->tempfail_until, t, sizeof t) : NULL;
    const char *act = action_name(v);

    buf[0] = '\0';
    switch (v->tc->phase) {
    case POLICY_PHASE_MONITOR:
        explain_append(buf, bufsz, "monitor phase until %s: a failure is only "
                       "logged; then ", mon != NULL ? mon : "?");
        if (tf != NULL)
            explain_append(buf, bufsz, "451 until %s, then ", tf);
        explain_append(buf, bufsz, "the action (%s)", act);
        break;
    case POLICY_PHASE_TEMPFAIL:
        explain_append(buf, bufsz, "tempfail phase until %s: a failure gets "
                       "451; then the action (%s)", tf != NULL ? tf : "?", act);
        break;
    case POLICY_PHASE_ENFORCE:
    default:
        if (mon == NULL && tf == NULL)
            explain_append(buf, bufsz, "no schedule: a failure gets the "
                           "action (%s)", act);
        else
            explain_append(buf, bufsz, "schedule over since %s: a failure "
                           "gets the action (%s)", tf != NULL ? tf : mon, act);
        break;
    }
}

/* The recipient's outcome; see explain_internal.h. */
void explain_outcome_words(const struct config *config,
                           const struct explain_recipient *r, char *buf,
                           size_t bufsz)
{
    const struct verdict *v = &r->verdict;
    const char *name = policy_deciding_name(config, v);
    const struct policy_match *m = name != NULL ? &v->matches[v->deciding] : NULL;

    buf[0] = '\0';
    if (v->match_count == 0 && v->reason != REASON_INTERNAL) {
        explain_append(buf, bufsz, "%s: no connector matched; the daemon logs "
                       "this line only with log_all = true (here log_all = %s, "
                       "so it %s)", policy_decision_name(v->decision),
                       config->log_all ? "true" : "false",
                       r->logged ? "logs it" : "does not");
        return;
    }
    explain_append(buf, bufsz, "%s, reason %s", policy_decision_name(v->decision),
                   policy_reason_name(v->reason));
    if (v->reason == REASON_INTERNAL) {
        explain_append(buf, bufsz, ": the engine could not judge this "
                       "recipient (more than %d matching connectors?) and "
                       "fails closed", POLICY_MAX_MATCHES);
        return;
    }
    if (m != NULL)
        explain_append(buf, bufsz, ", decided by %s connector %s",
                       explain_direction_name(m->direction), name);
    if (v->would > v->decision)
        explain_append(buf, bufsz, "; its schedule softened it: would be %s",
                       policy_decision_name(v->would));
}

/* The SMTP reply; false when the recipient is accepted. */
bool explain_reply(const struct explain_recipient *r, char *buf, size_t bufsz)
{
    const struct verdict *v = &r->verdict;

    buf[0] = '\0';
    if (v->decision != DECISION_REJECT && v->decision != DECISION_TEMPFAIL)
        return false;
    snprintf(buf, bufsz, "%s %s %s", v->reply_code, v->reply_xcode,
             v->reply_text != NULL ? v->reply_text : "");
    return true;
}
