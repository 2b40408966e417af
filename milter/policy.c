/*
 * policy.c - the decision for one recipient: which connectors match, what
 * each of them requires, which outcome wins, what the MTA answers, and the
 * decision log line (contract: "What the milter decides", "SMTP replies",
 * "Decision log").
 *
 * Must not: do I/O, keep state, or accept what a matching connector would
 * refuse. Anything it cannot decide (too many matches, an id outside the
 * configuration) is a tempfail with reason "internal". Reply texts never
 * name partners or expected certificate names and contain no '%'.
 *
 * Threads: a pure function of a read-only configuration snapshot, the
 * session facts and the envelope; all scratch space is on the stack, so any
 * number of threads may call it at once.
 *
 * Semantics this file settles (the contract leaves them open):
 * - A connector requires TLS when require_tls is true OR it asks for
 *   anything only a TLS session can give: a client certificate (names or
 *   issuers), min_cipher_bits > 0, or forward secrecy. Such a connector gets
 *   every TLS check in order, so plaintext fails with reason no_tls. A
 *   connector that requires none of these applies no TLS check at all, not
 *   even its min_tls_version (which defaults to the global floor): refusing
 *   a partner that tries TLS 1.0 while accepting it in plaintext would only
 *   reward downgrades. (config.c refuses TLS-only keys next to
 *   require_tls = false; this rule does not depend on that.)
 * - Exemption is per connector: a recipient in a connector's
 *   exempt_recipients neutralises that connector only (accept, reason
 *   exempt). Another matching connector that does not list the recipient
 *   still applies, and the strictest outcome wins.
 * - Connectors are considered in configuration order, inbound before
 *   outbound; on equal outcomes the first one decides.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain_table.h"
#include "log.h"
#include "policy.h"

#ifndef LOG_VALUE_BUF
#define LOG_VALUE_BUF (LOG_VALUE_MAX * 4 + 8)
#endif

/* Ids found by one lookup, sorted; overflow when there were more than fit. */
struct idset {
    uint32_t ids[POLICY_MAX_MATCHES];
    size_t count;
    bool overflow;
};

/* The three inbound lookups of one recipient. */
struct inbound_hits {
    struct idset by_domain;
    struct idset by_ip;
    struct idset by_cert;
};

/* What one connector says about the recipient. */
struct outcome {
    enum decision decision;
    enum reason reason;
};

/* --- names and texts ------------------------------------------------------ */

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
        [REASON_INTERNAL] = "internal",
    };

    if ((size_t)reason < sizeof(names) / sizeof(names[0]) &&
        names[reason] != NULL)
        return names[reason];
    return "unknown";
}

/* Default reply text of a reason (tls_version without a known floor). */
const char *
policy_default_text(enum reason reason)
{
    switch (reason) {
    case REASON_OK:
    case REASON_EXEMPT:
        return "accepted";
    case REASON_NO_TLS:
        return "TLS required";
    case REASON_TLS_VERSION:
        return "newer TLS version required";
    case REASON_WEAK_CIPHER:
        return "stronger TLS cipher required";
    case REASON_NO_FORWARD_SECRECY:
        return "forward-secret TLS cipher required";
    case REASON_NO_CLIENT_CERT:
        return "trusted client certificate required";
    case REASON_CERT_NAME_MISMATCH:
    case REASON_CERT_ISSUER_MISMATCH:
        return "client certificate not accepted";
    case REASON_IP_NOT_ALLOWED:
        return "client address not allowed for this sender";
    case REASON_INTERNAL:
    default:
        return "temporary policy failure, try again later";
    }
}

/* Reply text for a version floor: the floor is no secret, so say it. */
static const char *
version_text(enum tls_version floor)
{
    switch (floor) {
    case TLS_VERSION_1_0:
        return "TLS 1.0 or later required";
    case TLS_VERSION_1_1:
        return "TLS 1.1 or later required";
    case TLS_VERSION_1_2:
        return "TLS 1.2 or later required";
    case TLS_VERSION_1_3:
        return "TLS 1.3 or later required";
    default:
        return policy_default_text(REASON_TLS_VERSION);
    }
}

/* --- lookups -------------------------------------------------------------- */

/* qsort order of ids. */
static int
id_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Record a lookup's total and sort what was stored. */
static void
idset_finish(struct idset *set, size_t total)
{
    set->overflow = total > POLICY_MAX_MATCHES;
    set->count = set->overflow ? POLICY_MAX_MATCHES : total;
    qsort(set->ids, set->count, sizeof(set->ids[0]), id_cmp);
}

/* Whether id is in a sorted set. */
static bool
idset_has(const struct idset *set, uint32_t id)
{
    return bsearch(&id, set->ids, set->count, sizeof(id), id_cmp) != NULL;
}

/*
 * The certificate CN as a lookup key: normalised like configured names
 * (case, trailing dot, A-labels). False when there is no usable CN: none
 * verified, empty, cut short by its buffer, or not a host name.
 */
static bool
cert_key(const struct tls_facts *tls, char *out, size_t outsz)
{
    size_t len = strlen(tls->cert_cn);

    if (!tls->cert_verified || len == 0 || len >= TLSFACTS_NAME_MAX - 1)
        return false;
    return addr_normalize_domain(tls->cert_cn, len, out, outsz, NULL);
}

/* Run the three inbound lookups. */
static void
inbound_lookups(const struct config *config,
                const struct policy_session *session,
                const struct addr_path *sender, struct inbound_hits *hits)
{
    char cn[ADDR_DOMAIN_MAX];
    size_t n;

    n = 0;
    if (!sender->null_path && sender->domain[0] != '\0' &&
        config->inbound_by_domain != NULL)
        n = domain_table_match(config->inbound_by_domain, sender->domain,
                               hits->by_domain.ids, POLICY_MAX_MATCHES);
    idset_finish(&hits->by_domain, n);

    n = 0;
    if (session->have_client_ip && config->inbound_by_ip != NULL)
        n = cidr_table_lookup(config->inbound_by_ip, &session->client_ip,
                              hits->by_ip.ids, POLICY_MAX_MATCHES);
    idset_finish(&hits->by_ip, n);

    n = 0;
    if (config->inbound_by_cert_name != NULL &&
        cert_key(&session->tls, cn, sizeof(cn)))
        n = domain_table_match_cert(config->inbound_by_cert_name, cn,
                                    hits->by_cert.ids, POLICY_MAX_MATCHES);
    idset_finish(&hits->by_cert, n);
}

/* Append a match; false when matches[] is full. */
static bool
add_match(struct verdict *v, enum direction dir, uint32_t id)
{
    if (v->match_count >= POLICY_MAX_MATCHES)
        return false;
    v->matches[v->match_count].direction = dir;
    v->matches[v->match_count].id = id;
    v->match_count++;
    return true;
}

/* Merge the sorted, deduplicated union of the inbound hits into v. */
static bool
merge_inbound(const struct inbound_hits *hits, size_t limit, struct verdict *v)
{
    const struct idset *sets[3] = {
        &hits->by_domain, &hits->by_ip, &hits->by_cert
    };
    size_t pos[3] = { 0, 0, 0 }, i;

    for (;;) {
        uint32_t next = UINT32_MAX;
        bool any = false;

        for (i = 0; i < 3; i++)
            if (pos[i] < sets[i]->count && sets[i]->ids[pos[i]] <= next) {
                next = sets[i]->ids[pos[i]];
                any = true;
            }
        if (!any)
            return true;
        for (i = 0; i < 3; i++)
            if (pos[i] < sets[i]->count && sets[i]->ids[pos[i]] == next)
                pos[i]++;
        if (next >= limit || !add_match(v, DIRECTION_INBOUND, next))
            return false;
    }
}

/* Append the outbound connectors matching the recipient's domain. */
static bool
match_outbound(const struct config *config, const struct addr_path *rcpt,
               struct verdict *v)
{
    struct idset set;
    size_t n = 0, i;

    if (!rcpt->null_path && rcpt->domain[0] != '\0' &&
        config->outbound_by_domain != NULL)
        n = domain_table_match(config->outbound_by_domain, rcpt->domain,
                               set.ids, POLICY_MAX_MATCHES);
    idset_finish(&set, n);
    if (set.overflow)
        return false;
    for (i = 0; i < set.count; i++)
        if (set.ids[i] >= config->outbound_count ||
            !add_match(v, DIRECTION_OUTBOUND, set.ids[i]))
            return false;
    return true;
}

/* --- per-connector checks ------------------------------------------------- */

/* Decision a failing connector yields. */
static enum decision
action_decision(enum action action)
{
    switch (action) {
    case ACTION_MONITOR:
        return DECISION_MONITOR;
    case ACTION_REJECT:
        return DECISION_REJECT;
    case ACTION_TEMPFAIL:
    default:
        return DECISION_TEMPFAIL;
    }
}

/* Whether a strlist holds s, ignoring ASCII case. */
static bool
strlist_has_nocase(const struct strlist *list, const char *s)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        if (strcasecmp(list->items[i], s) == 0)
            return true;
    return false;
}

/* Whether the connector asks for anything only a TLS session can give. */
static bool
connector_needs_tls(const struct inbound_connector *c)
{
    return c->require_tls || c->cert_names.count > 0 ||
        c->cert_issuers.count > 0 || c->min_cipher_bits > 0 ||
        c->require_forward_secrecy;
}

/* Checks (2)-(5): presence, version, cipher bits, forward secrecy. */
static enum reason
tls_failure(const struct inbound_connector *c, const struct tls_facts *tls)
{
    if (!tls->tls)
        return REASON_NO_TLS;
    if (tls->version < c->min_tls_version)
        return REASON_TLS_VERSION;
    if (tls->cipher_bits < c->min_cipher_bits)
        return REASON_WEAK_CIPHER;
    if (c->require_forward_secrecy && tls->version != TLS_VERSION_1_3 &&
        !tls->forward_secret)
        return REASON_NO_FORWARD_SECRECY;
    return REASON_OK;
}

/* Check (6): a verified certificate whose CN and issuer CN are listed. */
static enum reason
cert_failure(const struct inbound_connector *c, uint32_t id,
             const struct tls_facts *tls, const struct inbound_hits *hits)
{
    size_t issuer_len = strlen(tls->issuer_cn);

    if (c->cert_names.count == 0 && c->cert_issuers.count == 0)
        return REASON_OK;
    if (!tls->cert_verified)
        return REASON_NO_CLIENT_CERT;
    /* by_cert holds id exactly when the CN matches one of c's names. */
    if (c->cert_names.count > 0 && !idset_has(&hits->by_cert, id))
        return REASON_CERT_NAME_MISMATCH;
    if (c->cert_issuers.count > 0 &&
        (issuer_len == 0 || issuer_len >= TLSFACTS_NAME_MAX - 1 ||
         !strlist_has_nocase(&c->cert_issuers, tls->issuer_cn)))
        return REASON_CERT_ISSUER_MISMATCH;
    return REASON_OK;
}

/* What inbound connector id says; the first failing check is the reason. */
static struct outcome
inbound_outcome(const struct config *config, uint32_t id,
                const struct policy_session *session,
                const struct addr_path *rcpt, const struct inbound_hits *hits)
{
    const struct inbound_connector *c = &config->inbound[id];
    struct outcome out = { DECISION_ACCEPT, REASON_OK };

    if (rcpt->address[0] != '\0' &&
        strlist_has_nocase(&c->exempt_recipients, rcpt->address)) {
        out.reason = REASON_EXEMPT;
        return out;
    }
    /* (1) mail from the connector's domains must come from its addresses */
    if (c->sender_domains.count > 0 && c->sender_ip_count > 0 &&
        idset_has(&hits->by_domain, id) && !idset_has(&hits->by_ip, id))
        out.reason = REASON_IP_NOT_ALLOWED;
    if (out.reason == REASON_OK && connector_needs_tls(c))
        out.reason = tls_failure(c, &session->tls);
    if (out.reason == REASON_OK)
        out.reason = cert_failure(c, id, &session->tls, hits);
    if (out.reason != REASON_OK)
        out.decision = action_decision(c->action);
    return out;
}

/* What outbound connector id says about the session handing us the mail. */
static struct outcome
outbound_outcome(const struct config *config, uint32_t id,
                 const struct policy_session *session)
{
    const struct outbound_connector *c = &config->outbound[id];
    struct outcome out = { DECISION_ACCEPT, REASON_OK };

    if (!c->require_session_tls)
        return out;
    if (!session->tls.tls)
        out.reason = REASON_NO_TLS;
    else if (session->tls.version < c->min_tls_version)
        out.reason = REASON_TLS_VERSION;
    if (out.reason != REASON_OK)
        out.decision = action_decision(c->action);
    return out;
}

/* --- the decision --------------------------------------------------------- */

/* Fill the reply of a reject/tempfail verdict from its deciding connector. */
static void
set_reply(const struct config *config, struct verdict *v)
{
    const struct policy_match *m = &v->matches[v->deciding];
    const char *text = policy_default_text(v->reason);

    if (v->decision != DECISION_REJECT && v->decision != DECISION_TEMPFAIL)
        return;
    if (v->decision == DECISION_REJECT) {
        memcpy(v->reply_code, "550", 4);
        memcpy(v->reply_xcode, "5.7.1", 6);
    } else {
        memcpy(v->reply_code, "451", 4);
        memcpy(v->reply_xcode, "4.7.1", 6);
    }
    if (v->reason != REASON_INTERNAL && v->match_count > 0) {
        if (m->direction == DIRECTION_INBOUND) {
            const struct inbound_connector *c = &config->inbound[m->id];

            if (c->reject_text != NULL && c->reject_text[0] != '\0')
                text = c->reject_text;
            else if (v->reason == REASON_TLS_VERSION)
                text = version_text(c->min_tls_version);
        } else if (v->reason == REASON_TLS_VERSION) {
            text = version_text(config->outbound[m->id].min_tls_version);
        }
    }
    v->reply_text = text;
}

/* Fail closed: tempfail, reason internal; matches[] stays for the log. */
static void
decide_internal(struct verdict *v)
{
    v->decision = DECISION_TEMPFAIL;
    v->reason = REASON_INTERNAL;
    v->deciding = 0;
}

/* The verdict for a recipient nobody could judge; see policy.h. */
void
policy_fail_closed(struct verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->reply_text = "";
    decide_internal(out);
    set_reply(NULL, out);
}

/* Decide for one recipient; see policy.h. */
void
policy_decide(const struct config *config,
              const struct policy_session *session,
              const struct addr_path *sender, const struct addr_path *rcpt,
              struct verdict *out)
{
    struct inbound_hits hits;
    size_t i;

    if (config == NULL || session == NULL || sender == NULL || rcpt == NULL) {
        policy_fail_closed(out);
        return;
    }
    memset(out, 0, sizeof(*out));
    out->reply_text = "";
    inbound_lookups(config, session, sender, &hits);
    /* Merge even after an overflow: the partial list goes to the log. */
    if (!merge_inbound(&hits, config->inbound_count, out) ||
        hits.by_domain.overflow || hits.by_ip.overflow ||
        hits.by_cert.overflow || !match_outbound(config, rcpt, out)) {
        decide_internal(out);
        set_reply(config, out);
        return;
    }
    for (i = 0; i < out->match_count; i++) {
        const struct policy_match *m = &out->matches[i];
        struct outcome o = m->direction == DIRECTION_INBOUND ?
            inbound_outcome(config, m->id, session, rcpt, &hits) :
            outbound_outcome(config, m->id, session);

        if (i == 0 || o.decision > out->decision) {
            out->decision = o.decision;
            out->reason = o.reason;
            out->deciding = i;
        }
    }
    set_reply(config, out);
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

/* --- the log line --------------------------------------------------------- */

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
