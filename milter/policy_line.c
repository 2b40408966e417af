/*
 * policy_line.c - the words of a verdict: the names of decisions and
 * reasons, the deciding connector's name, and the decision log line
 * (contract: "Decision log"), for the daemon and for forcetls explain.
 *
 * Must not: decide anything (policy.c is the only place that does), do I/O,
 * or let a value break the line: every value goes through log_value(), and
 * the line is bounded by the caller's buffer.
 *
 * Threads: pure functions of a read-only configuration snapshot, a verdict
 * and the session facts; scratch space is on the stack.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "log.h"
#include "policy.h"

/* Log name of a decision. */
const char *
policy_decision_name(enum decision decision)
{
    switch (decision) {
    case DECISION_ACCEPT:
        return "accept";
    case DECISION_MONITOR:
        return "monitor";
    case DECISION_TEMPFAIL:
        return "tempfail";
    case DECISION_REJECT:
        return "reject";
    }
    return "unknown";
}

/* Log name of a reason. */
const char *
policy_reason_name(enum reason reason)
{
    static const char *const names[] = {
        [REASON_OK] = "ok",
        [REASON_EXEMPT] = "exempt",
        [REASON_NO_TLS] = "no_tls",
        [REASON_TLS_VERSION] = "tls_version",
        [REASON_WEAK_CIPHER] = "weak_cipher",
        [REASON_NO_FORWARD_SECRECY] = "no_forward_secrecy",
        [REASON_NO_CLIENT_CERT] = "no_client_cert",
        [REASON_CERT_NAME_MISMATCH] = "cert_name_mismatch",
        [REASON_CERT_ISSUER_MISMATCH] = "cert_issuer_mismatch",
        [REASON_IP_NOT_ALLOWED] = "ip_not_allowed",
        [REASON_CERT_NOT_YET_VALID] = "cert_not_yet_valid",
        [REASON_CERT_RETIRED] = "cert_retired",
        [REASON_INTERNAL] = "internal",
    };

    if ((size_t)reason < sizeof(names) / sizeof(names[0]) &&
        names[reason] != NULL)
        return names[reason];
    return "unknown";
}

/* Name of a matched connector (NULL if its id is out of range). */
static const char *
match_name(const struct config *config, const struct policy_match *m)
{
    if (m->direction == DIRECTION_INBOUND)
        return m->id < config->inbound_count ?
            config->inbound[m->id].name : NULL;
    return m->id < config->outbound_count ? config->outbound[m->id].name : NULL;
}

/* The deciding match, NULL when no connector decided. */
static const struct policy_match *
deciding_match(const struct verdict *verdict)
{
    if (verdict->reason == REASON_INTERNAL || verdict->match_count == 0 ||
        verdict->deciding >= verdict->match_count)
        return NULL;
    return &verdict->matches[verdict->deciding];
}

/* Name of the deciding connector, NULL when none decided. */
const char *
policy_deciding_name(const struct config *config,
                     const struct verdict *verdict)
{
    const struct policy_match *m = deciding_match(verdict);

    return config == NULL || m == NULL ? NULL : match_name(config, m);
}

/* A bounded output buffer; len counts what was written (< size). */
struct linebuf {
    char *out;
    size_t size;
    size_t len;
    bool cut;                 /* something did not fit */
};

/* Append s, truncating at the end of the buffer (and noting the cut). */
static void
lb_append(struct linebuf *lb, const char *s)
{
    size_t n;

    if (lb->size == 0 || lb->len + 1 >= lb->size) {
        lb->cut = lb->cut || *s != '\0';
        return;
    }
    n = strnlen(s, lb->size - 1 - lb->len);
    lb->cut = lb->cut || s[n] != '\0';
    memcpy(lb->out + lb->len, s, n);
    lb->len += n;
    lb->out[lb->len] = '\0';
}

/* A cut buffer ends in log.h's marker "..." (when it has room for one). */
static void
lb_mark_cut(struct linebuf *lb)
{
    if (lb->cut && lb->len >= 3)
        memcpy(lb->out + lb->len - 3, "...", 3);
}

/* Append " key=VALUE" (no space before the first key), value escaped. */
static void
lb_pair(struct linebuf *lb, const char *key, const char *value)
{
    char esc[LOG_VALUE_BUF];

    log_value(value, esc, sizeof(esc));
    if (lb->len > 0)
        lb_append(lb, " ");
    lb_append(lb, key);
    lb_append(lb, "=");
    lb_append(lb, esc);
}

/* All matched connector names, comma-separated, cut at LOG_VALUE_MAX + 1. */
static void
join_names(const struct config *config, const struct verdict *v, char *out,
           size_t outsz)
{
    struct linebuf lb = { out, outsz, 0, false };
    size_t i;

    out[0] = '\0';
    for (i = 0; i < v->match_count && lb.len <= LOG_VALUE_MAX; i++) {
        const char *name = match_name(config, &v->matches[i]);

        if (i > 0)
            lb_append(&lb, ",");
        lb_append(&lb, name != NULL ? name : "?");
    }
}

/*
 * A path as "<...>": the MTA may or may not have kept the brackets. A path
 * with only one of them is not a path (an unparsable address logged raw):
 * it stays as it came.
 */
static const char *
bracketed(const char *path, char *buf, size_t bufsz)
{
    struct linebuf lb = { buf, bufsz, 0, false };
    size_t len;

    if (path == NULL)
        return NULL;
    len = strlen(path);
    if ((len >= 1 && path[0] == '<') || (len >= 1 && path[len - 1] == '>'))
        return path;
    buf[0] = '\0';
    lb_append(&lb, "<");
    lb_append(&lb, path);
    lb_append(&lb, ">");
    return buf;
}

/* Format the decision log line; see policy.h. */
size_t
policy_format_line(const struct config *config, const struct verdict *verdict,
                   const struct policy_session *session,
                   const char *session_id, const char *sender_text,
                   const char *rcpt_text, char *out, size_t outsz)
{
    static const struct policy_session no_session;
    struct linebuf lb = { out, outsz, 0, false };
    const struct policy_match *m = config == NULL ? NULL :
        deciding_match(verdict);
    const struct tls_facts *tls;
    char names[LOG_VALUE_MAX + 2], ip[64], path[LOG_VALUE_MAX + 4];

    if (outsz == 0)
        return 0;
    if (session == NULL)
        session = &no_session;
    tls = &session->tls;
    out[0] = '\0';
    lb_pair(&lb, "s", session_id);
    lb_pair(&lb, "decision", policy_decision_name(verdict->decision));
    /* Only a schedule softens, and only a connector that decided has one. */
    if (verdict->would > verdict->decision)
        lb_pair(&lb, "would", policy_decision_name(verdict->would));
    lb_pair(&lb, "direction", m == NULL ? "none" :
            m->direction == DIRECTION_INBOUND ? "inbound" : "outbound");
    lb_pair(&lb, "connector", m == NULL ? "none" : match_name(config, m));
    if (verdict->match_count > 1 && config != NULL) {
        join_names(config, verdict, names, sizeof(names));
        lb_pair(&lb, "connectors", names);
    }
    lb_pair(&lb, "stage", "rcpt");
    lb_pair(&lb, "reason", policy_reason_name(verdict->reason));
    if (session->have_client_ip)
        ip_format(&session->client_ip, ip, sizeof(ip));
    lb_pair(&lb, "client", session->have_client_ip ? ip : NULL);
    lb_pair(&lb, "sender", bracketed(sender_text, path, sizeof(path)));
    lb_pair(&lb, "rcpt", bracketed(rcpt_text, path, sizeof(path)));
    lb_pair(&lb, "tls", tls->tls ? tls->version_text : "none");
    lb_pair(&lb, "cipher", tls->tls ? tls->cipher : "none");
    lb_pair(&lb, "cert", tls->cert_verified ? tls->cert_cn : "none");
    if (tls->cert_verified)
        lb_pair(&lb, "issuer", tls->issuer_cn);
    if (m != NULL && m->direction == DIRECTION_OUTBOUND &&
        m->id < config->outbound_count)
        lb_pair(&lb, "delivery", config_tls_settings_name(
                    config->outbound[m->id].tls_settings));
    lb_mark_cut(&lb);
    return lb.len;
}
