/*
 * policy.c - the decision for one recipient: which connectors match, what
 * each of them requires (TLS, a certificate identity in its window), how a
 * schedule softens a failure, which outcome wins and what the MTA answers
 * (contract: "What the milter decides", "SMTP replies", "Certificate
 * identities, rotation windows and staged enforcement"). The only place
 * that decides; the words of a verdict and its log line are
 * policy_line.c's.
 *
 * Must not: do I/O, keep state, read the clock (the time judged is
 * session->now), or accept what a matching connector would refuse.
 * Anything it cannot decide (too many matches, an id outside the
 * configuration) is a tempfail with reason "internal". Reply texts never
 * name partners or expected certificate names and contain no '%'.
 *
 * Threads: a pure function of a read-only configuration snapshot, the
 * session facts and the envelope; all scratch space is on the stack, so any
 * number of threads may call it at once.
 *
 * Semantics this file settles (the contract leaves them open):
 * - A connector requires TLS when require_tls is true OR it asks for
 *   anything only a TLS session can give: a client certificate (an
 *   identity), min_cipher_bits > 0, or forward secrecy. Such a connector
 *   gets every TLS check in order, so plaintext fails with reason no_tls. A
 *   connector that requires none of these applies no TLS check at all, not
 *   even its min_tls_version (which defaults to the global floor): refusing
 *   a partner that tries TLS 1.0 while accepting it in plaintext would only
 *   reward downgrades. (config.c refuses TLS-only keys next to
 *   require_tls = false; this rule does not depend on that.)
 * - The certificate check, after the TLS checks: not verified ->
 *   no_client_cert; no identity whose names match the CN ->
 *   cert_name_mismatch; no identity whose names AND issuers both match (a
 *   "pair": a name of one identity never combines with an issuer of
 *   another) -> cert_issuer_mismatch; pairs, but none in its window
 *   (valid_from <= now < valid_until) -> cert_not_yet_valid when a pairing
 *   identity starts after now, else cert_retired.
 * - A schedule's phase at now: before monitor_until monitor, before
 *   tempfail_until tempfail, else enforce. A failing connector's decision is
 *   the phase's, never stricter than its action; "would" is the action's
 *   decision when that is stricter. Exemptions and passes are not softened
 *   or hardened by a schedule.
 * - Exemption is per connector: a recipient in a connector's
 *   exempt_recipients neutralises that connector only (accept, reason
 *   exempt). Another matching connector that does not list the recipient
 *   still applies, and the strictest outcome wins.
 * - Connectors are considered in configuration order, inbound before
 *   outbound; the strictest decision wins; on equal decisions the one whose
 *   schedule would be stricter (so a softened failure is not hidden behind
 *   a plain monitor), then the first one, decides.
 * - The trace (policy_decide_traced) records each check as made: passed,
 *   failed, or skipped when the connector does not ask for it or an
 *   earlier check already failed. The exemption "passes" when the
 *   recipient is exempt (then nothing else is checked) and is skipped
 *   otherwise; the sender address check is made only for mail from the
 *   connector's domains when it has addresses too. A verdict nobody could
 *   judge (reason internal) traces the connectors found so far, unchecked,
 *   each tempfail/internal. Without a trace the engine does the same work
 *   into one scratch entry: no trace is cleared or filled.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain_table.h"
#include "policy.h"

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

/* What the engine knows of one recipient while it decides. */
struct judge {
    const struct config *config;
    const struct policy_session *session;
    const struct addr_path *rcpt;
    struct inbound_hits hits;
    bool have_cn;                 /* cn holds the verified CN as a key */
    char cn[ADDR_DOMAIN_MAX];
};

/* --- reply texts ---------------------------------------------------------- */

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
    case REASON_CERT_NOT_YET_VALID:
    case REASON_CERT_RETIRED:
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

/* Run the three inbound lookups; remember the CN key for the identities. */
static void
inbound_lookups(struct judge *j, const struct addr_path *sender)
{
    const struct config *config = j->config;
    struct inbound_hits *hits = &j->hits;
    size_t n;

    n = 0;
    if (!sender->null_path && sender->domain[0] != '\0' &&
        config->inbound_by_domain != NULL)
        n = domain_table_match(config->inbound_by_domain, sender->domain,
                               hits->by_domain.ids, POLICY_MAX_MATCHES);
    idset_finish(&hits->by_domain, n);

    n = 0;
    if (j->session->have_client_ip && config->inbound_by_ip != NULL)
        n = cidr_table_lookup(config->inbound_by_ip, &j->session->client_ip,
                              hits->by_ip.ids, POLICY_MAX_MATCHES);
    idset_finish(&hits->by_ip, n);

    n = 0;
    j->have_cn = cert_key(&j->session->tls, j->cn, sizeof(j->cn));
    if (config->inbound_by_cert_name != NULL && j->have_cn)
        n = domain_table_match_cert(config->inbound_by_cert_name, j->cn,
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

/* Decision a failing connector's action yields. */
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
    return c->require_tls || c->identity_count > 0 ||
        c->min_cipher_bits > 0 || c->require_forward_secrecy;
}

/* The phase of a schedule at now (an unset date is CONFIG_NO_START). */
static enum policy_phase
schedule_phase(const struct schedule *s, int64_t now)
{
    if (now < s->monitor_until)
        return POLICY_PHASE_MONITOR;
    if (now < s->tempfail_until)
        return POLICY_PHASE_TEMPFAIL;
    return POLICY_PHASE_ENFORCE;
}

/* A connector's trace before its checks: matched, nothing checked yet. */
static void
trace_start(struct policy_trace_connector *t, const struct policy_match *m,
            unsigned how, const struct schedule *s, int64_t now)
{
    size_t k;

    t->match = *m;
    t->how = how;
    for (k = 0; k < POLICY_CHECK_COUNT; k++)
        t->checks[k] = POLICY_RESULT_SKIPPED;
    t->identity = -1;
    t->phase = schedule_phase(s, now);
    t->decision = DECISION_ACCEPT;
    t->reason = REASON_OK;
    t->would = DECISION_ACCEPT;
}

/* Record a check's result; returns ok. */
static bool
check(struct policy_trace_connector *t, enum policy_check which, bool ok)
{
    t->checks[which] = ok ? POLICY_RESULT_PASSED : POLICY_RESULT_FAILED;
    return ok;
}

/* A failing connector: its action's decision, softened by its phase. */
static void
fail(struct policy_trace_connector *t, enum reason reason, enum action action)
{
    enum decision act = action_decision(action), cap = act;

    if (t->phase == POLICY_PHASE_MONITOR)
        cap = DECISION_MONITOR;
    else if (t->phase == POLICY_PHASE_TEMPFAIL)
        cap = DECISION_TEMPFAIL;
    t->reason = reason;
    t->decision = cap < act ? cap : act;
    t->would = act > t->decision ? act : DECISION_ACCEPT;
}

/* Checks (2)-(5): presence, version, cipher bits, forward secrecy. */
static enum reason
tls_failure(const struct inbound_connector *c, const struct tls_facts *tls,
            struct policy_trace_connector *t)
{
    if (!check(t, POLICY_CHECK_TLS, tls->tls))
        return REASON_NO_TLS;
    if (!check(t, POLICY_CHECK_VERSION, tls->version >= c->min_tls_version))
        return REASON_TLS_VERSION;
    if (c->min_cipher_bits > 0 &&
        !check(t, POLICY_CHECK_CIPHER_BITS,
               tls->cipher_bits >= c->min_cipher_bits))
        return REASON_WEAK_CIPHER;
    if (c->require_forward_secrecy &&
        !check(t, POLICY_CHECK_FORWARD_SECRECY,
               tls->version == TLS_VERSION_1_3 || tls->forward_secret))
        return REASON_NO_FORWARD_SECRECY;
    return REASON_OK;
}

/* Whether a normalised CN matches a certificate-name pattern; see policy.h. */
bool
policy_cert_name_matches(const char *pattern, const char *cn)
{
    const char *dot;

    if (strcmp(pattern, cn) == 0)
        return true;
    if (pattern[0] != '*' || pattern[1] != '.')
        return false;
    dot = strchr(cn, '.');
    return dot != NULL && dot != cn && strcmp(dot + 1, pattern + 2) == 0;
}

/*
 * Whether an identity's names accept the CN: any CN when it has none.
 * listed: the connector's table lookup found the CN under one of its
 * names, without which no name of any of its identities can match.
 */
static bool
identity_names_match(const struct cert_identity *ident, const char *cn,
                     bool listed)
{
    size_t i;

    if (ident->names.count == 0)
        return true;
    if (!listed)
        return false;
    for (i = 0; i < ident->names.count; i++)
        if (policy_cert_name_matches(ident->names.items[i], cn))
            return true;
    return false;
}

/* Whether an identity's issuers accept an issuer CN; see policy.h. */
bool
policy_identity_accepts_issuer(const struct cert_identity *ident,
                               const char *issuer)
{
    size_t issuer_len = strlen(issuer);

    if (ident->issuers.count == 0)
        return true;
    return issuer_len > 0 && issuer_len < TLSFACTS_NAME_MAX - 1 &&
        strlist_has_nocase(&ident->issuers, issuer);
}

/* Check (6): a verified certificate paired with an identity in its window. */
static enum reason
cert_failure(const struct inbound_connector *c, uint32_t id,
             const struct judge *j, struct policy_trace_connector *t)
{
    const struct tls_facts *tls = &j->session->tls;
    int64_t now = j->session->now;
    size_t i;
    bool listed = j->have_cn && idset_has(&j->hits.by_cert, id);
    bool named = false, paired = false, future = false;

    if (c->identity_count == 0)
        return REASON_OK;
    if (!check(t, POLICY_CHECK_CERTIFICATE, tls->cert_verified))
        return REASON_NO_CLIENT_CERT;
    for (i = 0; i < c->identity_count; i++) {
        const struct cert_identity *ident = &c->identities[i];

        if (!identity_names_match(ident, j->cn, listed))
            continue;
        named = true;
        if (!policy_identity_accepts_issuer(ident, tls->issuer_cn))
            continue;
        paired = true;
        if (ident->valid_from <= now && now < ident->valid_until) {
            t->identity = (long)i;
            return REASON_OK;
        }
        future = future || ident->valid_from > now;
    }
    t->checks[POLICY_CHECK_CERTIFICATE] = POLICY_RESULT_FAILED;
    if (!named)
        return REASON_CERT_NAME_MISMATCH;
    if (!paired)
        return REASON_CERT_ISSUER_MISMATCH;
    return future ? REASON_CERT_NOT_YET_VALID : REASON_CERT_RETIRED;
}

/* How inbound connector id matched: POLICY_BY_* of the three lookups. */
static unsigned
inbound_how(const struct inbound_hits *hits, uint32_t id)
{
    return (idset_has(&hits->by_domain, id) ? POLICY_BY_DOMAIN : 0) |
        (idset_has(&hits->by_ip, id) ? POLICY_BY_IP : 0) |
        (idset_has(&hits->by_cert, id) ? POLICY_BY_CERT : 0);
}

/* What an inbound connector says; the first failing check is the reason. */
static void
inbound_outcome(const struct judge *j, const struct policy_match *m,
                struct policy_trace_connector *t)
{
    const struct inbound_connector *c = &j->config->inbound[m->id];
    enum reason reason = REASON_OK;

    trace_start(t, m, inbound_how(&j->hits, m->id), &c->schedule,
                j->session->now);
    if (j->rcpt->address[0] != '\0' &&
        strlist_has_nocase(&c->exempt_recipients, j->rcpt->address)) {
        t->checks[POLICY_CHECK_EXEMPT] = POLICY_RESULT_PASSED;
        t->reason = REASON_EXEMPT;
        return;
    }
    /* (1) mail from the connector's domains must come from its addresses */
    if (c->sender_domains.count > 0 && c->sender_ip_count > 0 &&
        (t->how & POLICY_BY_DOMAIN) != 0 &&
        !check(t, POLICY_CHECK_SENDER_IP, (t->how & POLICY_BY_IP) != 0))
        reason = REASON_IP_NOT_ALLOWED;
    if (reason == REASON_OK && connector_needs_tls(c))
        reason = tls_failure(c, &j->session->tls, t);
    if (reason == REASON_OK)
        reason = cert_failure(c, m->id, j, t);
    if (reason != REASON_OK)
        fail(t, reason, c->action);
}

/* What an outbound connector says about the session handing us the mail. */
static void
outbound_outcome(const struct judge *j, const struct policy_match *m,
                 struct policy_trace_connector *t)
{
    const struct outbound_connector *c = &j->config->outbound[m->id];
    const struct tls_facts *tls = &j->session->tls;
    enum reason reason = REASON_OK;

    trace_start(t, m, POLICY_BY_RCPT, &c->schedule, j->session->now);
    if (!c->require_session_tls)
        return;
    if (!check(t, POLICY_CHECK_TLS, tls->tls))
        reason = REASON_NO_TLS;
    else if (!check(t, POLICY_CHECK_VERSION,
                    tls->version >= c->min_tls_version))
        reason = REASON_TLS_VERSION;
    if (reason != REASON_OK)
        fail(t, reason, c->action);
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
    v->would = DECISION_ACCEPT;
    v->deciding = 0;
}

/*
 * The trace of a verdict nobody could judge: the connectors found before
 * the failure, how they matched, nothing checked, each "internal".
 */
static void
trace_internal(const struct judge *j, const struct verdict *v,
               struct policy_trace *trace)
{
    size_t i;

    for (i = 0; i < v->match_count; i++) {
        const struct policy_match *m = &v->matches[i];
        struct policy_trace_connector *t = &trace->connectors[i];

        if (m->direction == DIRECTION_INBOUND)
            trace_start(t, m, inbound_how(&j->hits, m->id),
                        &j->config->inbound[m->id].schedule, j->session->now);
        else
            trace_start(t, m, POLICY_BY_RCPT,
                        &j->config->outbound[m->id].schedule, j->session->now);
        t->decision = DECISION_TEMPFAIL;
        t->reason = REASON_INTERNAL;
    }
    trace->count = v->match_count;
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

/* Decide for one recipient, and say why when trace is not NULL; see policy.h. */
void
policy_decide_traced(const struct config *config,
                     const struct policy_session *session,
                     const struct addr_path *sender,
                     const struct addr_path *rcpt, struct verdict *out,
                     struct policy_trace *trace)
{
    struct judge j;
    struct policy_trace_connector scratch;
    size_t i;

    if (trace != NULL)
        trace->count = 0;
    if (config == NULL || session == NULL || sender == NULL || rcpt == NULL) {
        policy_fail_closed(out);
        return;
    }
    memset(out, 0, sizeof(*out));
    out->reply_text = "";
    j.config = config;
    j.session = session;
    j.rcpt = rcpt;
    inbound_lookups(&j, sender);
    /* Merge even after an overflow: the partial list goes to the log. */
    if (!merge_inbound(&j.hits, config->inbound_count, out) ||
        j.hits.by_domain.overflow || j.hits.by_ip.overflow ||
        j.hits.by_cert.overflow || !match_outbound(config, rcpt, out)) {
        decide_internal(out);
        if (trace != NULL)
            trace_internal(&j, out, trace);
        set_reply(config, out);
        return;
    }
    for (i = 0; i < out->match_count; i++) {
        const struct policy_match *m = &out->matches[i];
        struct policy_trace_connector *t =
            trace != NULL ? &trace->connectors[i] : &scratch;

        if (m->direction == DIRECTION_INBOUND)
            inbound_outcome(&j, m, t);
        else
            outbound_outcome(&j, m, t);
        if (i == 0 || t->decision > out->decision ||
            (t->decision == out->decision && t->would > out->would)) {
            out->decision = t->decision;
            out->reason = t->reason;
            out->would = t->would;
            out->deciding = i;
        }
    }
    if (trace != NULL)
        trace->count = out->match_count;
    set_reply(config, out);
}

/* Decide for one recipient; see policy.h. */
void
policy_decide(const struct config *config,
              const struct policy_session *session,
              const struct addr_path *sender, const struct addr_path *rcpt,
              struct verdict *out)
{
    policy_decide_traced(config, session, sender, rcpt, out, NULL);
}
