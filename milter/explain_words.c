/*
 * explain_words.c - forcetls explain's sentences: how a connector matched,
 * why each of its checks came out as the engine said (the certificate's
 * in explain_cert.c), the schedule phase, the outcome and the reply.
 *
 * Must not: decide. Every ok, FAIL and outcome is read from the engine's
 * policy_trace and verdict; the words only name the facts and settings
 * behind them.
 *
 * Threads: pure functions writing into caller buffers.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "config_syntax.h"
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
    char quoted[LOG_VALUE_BUF + 2];

    log_quoted(value, quoted, sizeof quoted);
    explain_append(buf, bufsz, "%s", quoted);
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

/* The matched inbound connector, NULL for an outbound one. */
const struct inbound_connector *explain_inbound(const struct explain_view *v)
{
    return v->tc->match.direction == DIRECTION_INBOUND && explain_view_valid(v) ?
        &v->config->inbound[v->tc->match.id] : NULL;
}

/* The matched outbound connector, NULL for an inbound one. */
static const struct outbound_connector *outbound(const struct explain_view *v)
{
    return v->tc->match.direction == DIRECTION_OUTBOUND && explain_view_valid(v) ?
        &v->config->outbound[v->tc->match.id] : NULL;
}

/* The connector's name ("?" outside the configuration). */
const char *explain_connector_name(const struct explain_view *v)
{
    const struct inbound_connector *in = explain_inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? in->name : out != NULL ? out->name : "?";
}

/* The line the connector starts at (0 outside the configuration). */
int explain_connector_line(const struct explain_view *v)
{
    const struct inbound_connector *in = explain_inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? in->line : out != NULL ? out->line : 0;
}

/* "inbound" or "outbound". */
const char *explain_direction_name(enum direction direction)
{
    return direction == DIRECTION_INBOUND ? "inbound" : "outbound";
}

/* --- how it matched ------------------------------------------------------ */

/* The i-th POLICY_BY_* bit, in the order they are printed. */
unsigned explain_how_bit(size_t i)
{
    static const unsigned bits[EXPLAIN_HOW_COUNT] = {
        POLICY_BY_DOMAIN, POLICY_BY_IP, POLICY_BY_CERT, POLICY_BY_RCPT
    };

    return i < EXPLAIN_HOW_COUNT ? bits[i] : 0;
}

/* The JSON name of a POLICY_BY_* bit. */
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

/* Inbound: every check; outbound: the session TLS checks only. */
bool explain_check_shown(const struct explain_view *v, enum policy_check c)
{
    if (v->tc->match.direction == DIRECTION_INBOUND)
        return c < POLICY_CHECK_COUNT;
    return c == POLICY_CHECK_TLS || c == POLICY_CHECK_VERSION;
}

/* The JSON name of a check. */
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

/* The text label of a check. */
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
bool explain_skipped_by_order(const struct explain_view *v, enum policy_check c,
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

/* The exemption: listed, or not. */
static void detail_exempt(const struct explain_view *v, char *buf, size_t bufsz)
{
    const struct inbound_connector *in = explain_inbound(v);

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

/* Mail from sender_domains from sender_ips. */
static void detail_sender_ip(const struct explain_view *v, enum policy_result r,
                             char *buf, size_t bufsz)
{
    const struct inbound_connector *in = explain_inbound(v);
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
    } else if (!explain_skipped_by_order(v, POLICY_CHECK_SENDER_IP, buf, bufsz)) {
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
    const struct inbound_connector *in = explain_inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? in->min_tls_version :
        out != NULL ? out->min_tls_version : TLS_VERSION_NONE;
}

/* A TLS session, and its version against the connector's floor. */
static void detail_tls(const struct explain_view *v, enum policy_check c,
                       enum policy_result r, char *buf, size_t bufsz)
{
    const struct tls_facts *t = &v->req->session.tls;
    const struct inbound_connector *in = explain_inbound(v);

    if (r == POLICY_RESULT_SKIPPED) {
        if (!explain_skipped_by_order(v, c, buf, bufsz))
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

/* Cipher bits against min_cipher_bits, and forward secrecy. */
static void detail_cipher(const struct explain_view *v, enum policy_check c,
                          enum policy_result r, char *buf, size_t bufsz)
{
    const struct tls_facts *t = &v->req->session.tls;
    const struct inbound_connector *in = explain_inbound(v);

    if (r == POLICY_RESULT_SKIPPED) {
        if (explain_skipped_by_order(v, c, buf, bufsz))
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
        explain_cert_detail(v, r, buf, bufsz);
        break;
    case POLICY_CHECK_COUNT:
    default:
        break;
    }
}

/* --- schedule, outcome, reply -------------------------------------------- */

/* "enforce", "monitor" or "tempfail". */
const char *explain_phase_name(enum policy_phase phase)
{
    switch (phase) {
    case POLICY_PHASE_MONITOR: return "monitor";
    case POLICY_PHASE_TEMPFAIL: return "tempfail";
    case POLICY_PHASE_ENFORCE:
    default: return "enforce";
    }
}

/* The matched connector's schedule (NULL outside the configuration). */
const struct schedule *explain_schedule(const struct explain_view *v)
{
    const struct inbound_connector *in = explain_inbound(v);
    const struct outbound_connector *out = outbound(v);

    return in != NULL ? &in->schedule : out != NULL ? &out->schedule : NULL;
}

/* The connector's action's keyword. */
static const char *action_name(const struct explain_view *v)
{
    const struct inbound_connector *in = explain_inbound(v);
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
