/*
 * callbacks.c - the libmilter shell: the smfiDesc table and thin mlfi_*
 * adapters.
 *
 * Owns the conversation with the MTA: what to negotiate, which macros to
 * request, reading them into a per-connection session, calling the pure
 * policy engine per recipient, and turning its verdict into a reply and a
 * log line. It makes no policy decision of its own and never accepts mail
 * the policy would refuse: any internal trouble (no memory, no
 * configuration, unparsable envelope) tempfails the recipient, with its
 * decision line (reason=internal). TLS macros are read at MAIL and, where
 * MAIL lacked them, again at RCPT (tlsfacts_fill_missing), in the dialect
 * that macro v and the configuration's mta setting give together
 * (tlsfacts_dialect_resolve; when they trust no certificate it says so
 * once per configuration). Each recipient is judged at the time it
 * arrives (policy_session.now). It never returns SMFIS_DISCARD.
 *
 * Each transaction is judged by the configuration in force at its MAIL:
 * the session takes a reference there (one per MAIL, never per
 * recipient), keeps it to the end of the transaction so that all its
 * recipients are judged alike, and gives it back at RSET or close. A
 * client that keeps one SMTP session open across a reload gets the new
 * configuration at its next MAIL.
 *
 * Thread safety: Debian's libmilter runs one session's callbacks on
 * different pool threads, one at a time; all per-session state lives in
 * the smfi_setpriv() block. Shared state is the configuration (immutable,
 * reference-counted in confref.c), a few atomics below, and the session-id
 * key and generation, written before any thread exists (the key before
 * main(), the generation by the worker before libmilter starts).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <libmilter/mfapi.h>

#include "addr.h"
#include "callbacks.h"
#include "confref.h"
#include "log.h"
#include "negotiation.h"
#include "policy.h"
#include "text.h"
#include "tlsfacts.h"

/* Longest raw envelope path we keep for logging. */
#define SESSION_PATH_MAX 512
/* Longest macro v we keep for the MTA warnings: longer than log_value
 * logs, so that a cut value is marked "...". */
#define SESSION_V_MAX (LOG_VALUE_MAX + 2)

struct session {
    const struct config *config;  /* the transaction's counted reference, from
                                     MAIL to its end; NULL outside one */
    char id[24];                  /* our id, used until a queue id exists */
    enum mta_dialect detected;    /* what macro v said at connect */
    char mta_v[SESSION_V_MAX];    /* macro v, cut, for the warnings */
    enum mta_dialect dialect;     /* the transaction's: detected and the
                                     configuration's mta setting */
    struct policy_session facts;
    bool have_sender;             /* MAIL FROM seen and parsed */
    bool sender_bad;              /* MAIL FROM seen but unparsable */
    struct addr_path sender;
    char sender_text[SESSION_PATH_MAX];
    bool refused;                 /* started while stopping: tempfail all */
};

static atomic_ulong callbacks_sessions;
/*
 * Session ids (session_id_make): a 60-bit number, the worker's generation
 * (24 bits) over a counter (36 bits), xored with a key drawn once per
 * daemon, written as 12 base32hex digits.
 */
#define SESSION_ID_DIGITS 12
#define SESSION_ID_COUNTER_BITS 36
#define SESSION_ID_MASK ((UINT64_C(1) << (5 * SESSION_ID_DIGITS)) - 1)
static uint64_t callbacks_id_key;
static uint64_t callbacks_id_generation;
static atomic_ullong callbacks_next_id;
static atomic_bool callbacks_draining;
static atomic_bool callbacks_warned_symlist;
/* Self-check: TLS sessions seen from cert-requiring partners, and certs seen. */
static atomic_ulong callbacks_tls_without_cert;
static atomic_bool callbacks_cert_seen;
static atomic_bool callbacks_warned_no_cert;
/* The MTA warnings: once per configuration (callbacks_config_changed). */
static atomic_bool callbacks_warned_mta_unknown;
static atomic_bool callbacks_warned_mta_contradiction;

/*
 * Draw the daemon's session-id key at program start, in the process that
 * later forks every worker: all workers of one daemon share it, so their
 * ids differ by generation, not by chance; another daemon (or this one
 * started again) draws another key, so ids of two daemons rarely meet.
 * Pid, clock and an address only when the kernel has no randomness to
 * give.
 */
__attribute__((constructor)) static void session_id_draw_key(void)
{
    uint64_t r = 0;
    struct timespec ts;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        clock_gettime(CLOCK_REALTIME, &ts);
        r = ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_sec * 0x9e3779b97f4a7c15u
            ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
    }
    callbacks_id_key = r & SESSION_ID_MASK;
}

/*
 * A new session id: 12 base32hex digits (0-9, a-v). The number under the
 * key is generation * 2^36 + counter, distinct for every session of the
 * daemon's life (until 2^24 workers have started or one worker has had
 * 2^36 sessions); xoring with the daemon's key keeps it distinct.
 */
static void session_id_make(char *out, size_t outsz)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
    unsigned long long n = atomic_fetch_add(&callbacks_next_id, 1);
    uint64_t v = callbacks_id_generation << SESSION_ID_COUNTER_BITS
        | ((uint64_t)n & ((UINT64_C(1) << SESSION_ID_COUNTER_BITS) - 1));
    char id[SESSION_ID_DIGITS + 1];

    v = (v ^ callbacks_id_key) & SESSION_ID_MASK;
    for (int i = SESSION_ID_DIGITS - 1; i >= 0; i--, v >>= 5)
        id[i] = digits[v & 31];
    id[SESSION_ID_DIGITS] = '\0';
    text_copy(out, outsz, id);
}

/* The session of ctx, or NULL. */
static struct session *session_of(SMFICTX *ctx)
{
    return smfi_getpriv(ctx);
}

/* A macro's value, or NULL when the MTA did not send it. */
static const char *macro(SMFICTX *ctx, const char *name)
{
    return smfi_getsymval(ctx, (char *)name);
}

/* Negotiate: only the events we use, and the macros we need. */
static sfsistat mlfi_negotiate(SMFICTX *ctx, unsigned long f0,
                               unsigned long f1, unsigned long f2,
                               unsigned long f3, unsigned long *pf0,
                               unsigned long *pf1, unsigned long *pf2,
                               unsigned long *pf3)
{
    (void)f2;
    (void)f3;
    *pf0 = f0 & SMFIF_SETSYMLIST;
    *pf1 = f1 & NEGOTIATION_STEPS;
    *pf2 = 0;
    *pf3 = 0;
    if (*pf0 & SMFIF_SETSYMLIST) {
        if (smfi_setsymlist(ctx, SMFIM_CONNECT, (char *)NEGOTIATION_CONNECT_MACROS) != MI_SUCCESS
            || smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)NEGOTIATION_ENVELOPE_MACROS) != MI_SUCCESS
            || smfi_setsymlist(ctx, SMFIM_ENVRCPT, (char *)NEGOTIATION_ENVELOPE_MACROS) != MI_SUCCESS)
            log_msg(LOG_WARNING, "cannot request macros from the MTA");
    } else if (!atomic_exchange(&callbacks_warned_symlist, true)) {
        log_msg(LOG_WARNING, "the MTA cannot send the macros forcetls asks for; "
                "add {tls_version} {cipher} {cipher_bits} {cert_subject} "
                "{cert_issuer} {verify} {cn_subject} {cn_issuer} to its MAIL and "
                "RCPT macro lists");
    }
    return SMFIS_CONTINUE;
}

/* Client address from the connect callback, else from {client_addr}. */
static void session_read_client(struct session *s, SMFICTX *ctx,
                                _SOCK_ADDR *hostaddr)
{
    const char *text;

    if (hostaddr != NULL && ip_from_sockaddr(hostaddr, &s->facts.client_ip)) {
        s->facts.have_client_ip = true;
        return;
    }
    text = macro(ctx, "{client_addr}");
    if (text != NULL && ip_parse(text, &s->facts.client_ip))
        s->facts.have_client_ip = true;
}

/*
 * A new SMTP session: its id and the client facts. No configuration yet:
 * each transaction takes the one in force at its MAIL (mlfi_envfrom).
 */
static sfsistat mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    struct session *s = calloc(1, sizeof(*s));

    (void)hostname;
    if (s == NULL) {
        log_msg(LOG_ERR, "out of memory at connect; recipients will be tempfailed");
        return SMFIS_NOREPLY;
    }
    /* Counted only with a session: libmilter calls close without connect too. */
    atomic_fetch_add(&callbacks_sessions, 1);
    s->refused = atomic_load(&callbacks_draining);
    session_id_make(s->id, sizeof(s->id));
    text_copy(s->mta_v, sizeof(s->mta_v),
              macro(ctx, "v") != NULL ? macro(ctx, "v") : "");
    s->detected = tlsfacts_dialect(macro(ctx, "v"));
    session_read_client(s, ctx, hostaddr);
    smfi_setpriv(ctx, s);
    log_msg(LOG_DEBUG, "s=%s debug=connect active=%lu", s->id,
            callbacks_active_sessions());
    return SMFIS_NOREPLY;
}

/* The TLS facts the macros visible now describe. */
static void read_tls(SMFICTX *ctx, enum mta_dialect dialect,
                     struct tls_facts *facts)
{
    const struct tls_macros m = {
        .tls_version = macro(ctx, "{tls_version}"),
        .cipher = macro(ctx, "{cipher}"),
        .cipher_bits = macro(ctx, "{cipher_bits}"),
        .cert_subject = macro(ctx, "{cert_subject}"),
        .cert_issuer = macro(ctx, "{cert_issuer}"),
        .verify = macro(ctx, "{verify}"),
        .cn_subject = macro(ctx, "{cn_subject}"),
        .cn_issuer = macro(ctx, "{cn_issuer}"),
    };

    tlsfacts_from_macros(facts, dialect, &m);
}

/* 2026-01-01T00:00:00Z: no real clock is earlier than this code. */
#define CALLBACKS_CLOCK_FLOOR INT64_C(1767225600)

/*
 * The facts for one recipient: those read at MAIL, filled (never replaced)
 * from the macros visible at RCPT when MAIL lacked TLS or a verified
 * certificate, as with Sendmail's confMILTER_MACROS_ENVRCPT; and the time
 * it is judged at (windows and schedules). False when the clock cannot be
 * read, or says a time before this code was written (a host that booted
 * without its clock set): the recipient must not be judged at some other
 * time, where a retired certificate would still be accepted and a staged
 * connector would only monitor.
 */
static bool rcpt_facts(const struct session *s, SMFICTX *ctx,
                       struct policy_session *facts)
{
    struct tls_facts later;
    struct timespec ts;
    bool clock_ok = clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
        ts.tv_sec >= CALLBACKS_CLOCK_FLOOR;

    *facts = s->facts;
    facts->now = clock_ok ? (int64_t)ts.tv_sec : 0;
    if (!(facts->tls.tls && facts->tls.cert_verified &&
          facts->tls.cipher_bits > 0)) {
        read_tls(ctx, s->dialect, &later);
        tlsfacts_fill_missing(&facts->tls, &later);
    }
    return clock_ok;
}

/*
 * The transaction's dialect, from what macro v said and the configuration
 * it is judged by. When that trusts no certificate, say once per
 * configuration what to set.
 */
static void session_resolve_dialect(struct session *s)
{
    static const char *const mta_names[] = { "auto", "postfix", "sendmail" };
    const struct config *c = s->config;
    enum mta_setting setting = c != NULL ? c->mta : MTA_SETTING_AUTO;
    char v[LOG_VALUE_BUF + 2];

    s->dialect = tlsfacts_dialect_resolve(setting, s->detected);
    if (s->dialect != MTA_UNKNOWN || c == NULL)
        return;
    if (setting == MTA_SETTING_AUTO || s->detected == MTA_UNKNOWN) {
        if (atomic_load(&callbacks_warned_mta_unknown) ||
            atomic_exchange(&callbacks_warned_mta_unknown, true))
            return;
        log_quoted(s->mta_v, v, sizeof(v));
        log_msg(LOG_WARNING, "cannot tell the MTA from macro v=%s: no client "
                "certificate is trusted; set mta = \"postfix\" or "
                "mta = \"sendmail\" in %s", v, c->path);
        return;
    }
    if (atomic_load(&callbacks_warned_mta_contradiction) ||
        atomic_exchange(&callbacks_warned_mta_contradiction, true))
        return;
    log_quoted(s->mta_v, v, sizeof(v));
    log_msg(LOG_WARNING, "mta = \"%s\" in %s:%d but macro v=%s names %s: no "
            "client certificate is trusted",
            (unsigned)setting < 3 ? mta_names[setting] : "?", c->path,
            c->lines.mta, v, s->detected == MTA_POSTFIX ? "Postfix" : "Sendmail");
}

/*
 * MAIL FROM: a new transaction. Take the configuration in force now (once
 * per MAIL: its recipients are all judged by it), give back the one of
 * the previous transaction, and remember the sender and the TLS facts.
 */
static sfsistat mlfi_envfrom(SMFICTX *ctx, char **argv)
{
    struct session *s = session_of(ctx);
    const struct config *previous;

    if (s == NULL)
        return SMFIS_NOREPLY;
    previous = s->config;
    s->config = confref_acquire();
    confref_release(previous);
    session_resolve_dialect(s);
    s->have_sender = argv[0] != NULL && addr_parse_path(argv[0], &s->sender);
    s->sender_bad = !s->have_sender;
    text_copy(s->sender_text, sizeof(s->sender_text),
                 argv[0] != NULL ? argv[0] : "");
    read_tls(ctx, s->dialect, &s->facts.tls);
    return SMFIS_NOREPLY;
}

/* Set the SMTP reply, doubling '%' (libmilter treats it as a format). */
static void set_reply(SMFICTX *ctx, const struct verdict *v)
{
    char text[512];
    size_t used = 0;

    for (const char *p = v->reply_text; *p != '\0' && used + 2 < sizeof(text); p++) {
        if (*p == '%')
            text[used++] = '%';
        text[used++] = *p;
    }
    text[used] = '\0';
    if (smfi_setreply(ctx, (char *)v->reply_code, (char *)v->reply_xcode, text) != MI_SUCCESS)
        log_msg(LOG_WARNING, "cannot set reply %s %s", v->reply_code, v->reply_xcode);
}

/* The log id: the MTA's queue id when it has one, else ours. */
static const char *log_id(SMFICTX *ctx, const struct session *s)
{
    const char *queue_id = macro(ctx, "i");

    return queue_id != NULL && *queue_id != '\0' ? queue_id : s->id;
}

/* Debug line with the raw facts the decision used. */
static void log_debug_facts(const struct session *s,
                            const struct policy_session *facts,
                            const char *id, const char *rcpt_text)
{
    static const char *const dialects[] = { "unknown", "postfix", "sendmail" };
    const struct tls_facts *t = &facts->tls;
    char client[64] = "none", e_id[LOG_VALUE_BUF], e_sender[LOG_VALUE_BUF];
    char e_rcpt[LOG_VALUE_BUF], e_cipher[LOG_VALUE_BUF], e_cert[LOG_VALUE_BUF];
    char e_issuer[LOG_VALUE_BUF], e_version[LOG_VALUE_BUF];

    if (facts->have_client_ip)
        ip_format(&facts->client_ip, client, sizeof(client));
    log_value(id, e_id, sizeof(e_id));
    log_value(s->sender_text, e_sender, sizeof(e_sender));
    log_value(rcpt_text, e_rcpt, sizeof(e_rcpt));
    log_value(t->tls ? t->version_text : "none", e_version, sizeof(e_version));
    log_value(t->tls ? t->cipher : "none", e_cipher, sizeof(e_cipher));
    log_value(t->cert_verified ? t->cert_cn : "none", e_cert, sizeof(e_cert));
    log_value(t->cert_verified ? t->issuer_cn : "none", e_issuer, sizeof(e_issuer));
    log_msg(LOG_DEBUG, "s=%s debug=rcpt mta=%s client=%s sender=%s rcpt=%s "
            "tls=%s cipher=%s bits=%d fs=%s cert=%s issuer=%s", e_id,
            dialects[s->dialect], client, e_sender, e_rcpt, e_version, e_cipher,
            t->tls ? t->cipher_bits : 0, t->forward_secret ? "yes" : "no",
            e_cert, e_issuer);
}

/* Does a connector that matched this verdict ask for a client certificate? */
static bool verdict_wants_cert(const struct config *c, const struct verdict *v)
{
    for (size_t i = 0; i < v->match_count && i < POLICY_MAX_MATCHES; i++) {
        const struct inbound_connector *in;

        if (v->matches[i].direction != DIRECTION_INBOUND)
            continue;
        in = &c->inbound[v->matches[i].id];
        if (in->identity_count > 0)
            return true;
    }
    return false;
}

/*
 * Self-check: TLS sessions from partners that must present certificates,
 * but never a verified certificate since the configuration was loaded,
 * most likely mean the MTA does not ask for or pass them. Warn once.
 */
static void self_check_certificates(const struct session *s,
                                    const struct policy_session *facts,
                                    const struct verdict *v)
{
    const unsigned long threshold = 5;

    if (facts->tls.cert_verified) {
        atomic_store(&callbacks_cert_seen, true);
        return;
    }
    if (!facts->tls.tls || atomic_load(&callbacks_cert_seen)
        || !verdict_wants_cert(s->config, v))
        return;
    if (atomic_fetch_add(&callbacks_tls_without_cert, 1) + 1 < threshold)
        return;
    if (!atomic_exchange(&callbacks_warned_no_cert, true))
        log_msg(LOG_WARNING, "self-check: %lu TLS sessions from partners that "
                "need a client certificate, and no verified certificate since "
                "the configuration was loaded: check smtpd_tls_ask_ccert = yes "
                "and smtpd_tls_CAfile (Postfix), confCACERT (Sendmail), and that "
                "the MTA passes the certificate macros", threshold);
}

/* The reply libmilter should give for a decision. */
static sfsistat verdict_status(SMFICTX *ctx, const struct verdict *v)
{
    switch (v->decision) {
    case DECISION_REJECT:
        set_reply(ctx, v);
        return SMFIS_REJECT;
    case DECISION_TEMPFAIL:
        set_reply(ctx, v);
        return SMFIS_TEMPFAIL;
    case DECISION_MONITOR:
    case DECISION_ACCEPT:
        break;
    }
    return SMFIS_CONTINUE;
}

/*
 * Tempfail a recipient we cannot judge, with its decision line
 * (decision=tempfail reason=internal, the raw addresses escaped) and a
 * line saying why: never accept what policy might refuse, never silently.
 * s may be NULL (no session state); sender_text NULL when there was no
 * MAIL FROM.
 */
static sfsistat tempfail_internal(SMFICTX *ctx, const struct session *s,
                                  const char *sender_text,
                                  const char *rcpt_text, const char *why)
{
    struct policy_session facts;
    struct verdict v;
    char fresh[24], e_id[LOG_VALUE_BUF], line[LOG_LINE_MAX];
    const char *id, *queue_id = macro(ctx, "i");

    if (s != NULL)
        id = log_id(ctx, s);
    else if (queue_id != NULL && *queue_id != '\0')
        id = queue_id;
    else {
        session_id_make(fresh, sizeof(fresh));
        id = fresh;
    }
    if (s != NULL)
        (void)rcpt_facts(s, ctx, &facts);
    policy_fail_closed(&v);
    policy_format_line(s != NULL ? s->config : NULL, &v,
                       s != NULL ? &facts : NULL, id, sender_text,
                       rcpt_text, line, sizeof(line));
    log_msg(LOG_INFO, "%s", line);
    log_value(id, e_id, sizeof(e_id));
    log_msg(LOG_WARNING, "s=%s recipient tempfailed: %s", e_id, why);
    return verdict_status(ctx, &v);
}

/* RCPT TO: decide for this recipient. */
static sfsistat mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
    struct session *s = session_of(ctx);
    struct policy_session facts;
    struct addr_path rcpt;
    struct verdict v;
    const char *id, *rcpt_text = argv[0];
    char line[LOG_LINE_MAX];

    if (s == NULL)
        return tempfail_internal(ctx, NULL, NULL, rcpt_text,
                                 "no session state (out of memory at connect)");
    /* Outside a transaction the session holds no configuration. */
    if (!s->have_sender && !s->sender_bad)
        return tempfail_internal(ctx, s, NULL, rcpt_text,
                                 "recipient without a sender (no MAIL FROM)");
    if (s->config == NULL)
        return tempfail_internal(ctx, s, s->sender_text, rcpt_text,
                                 "no configuration loaded");
    if (s->refused)
        return tempfail_internal(ctx, s, s->sender_text, rcpt_text,
                                 "shutting down");
    if (s->sender_bad)
        return tempfail_internal(ctx, s, s->sender_text, rcpt_text,
                                 "unparsable sender address");
    if (rcpt_text == NULL || !addr_parse_path(rcpt_text, &rcpt))
        return tempfail_internal(ctx, s, s->sender_text, rcpt_text,
                                 "unparsable recipient address");

    if (!rcpt_facts(s, ctx, &facts))
        return tempfail_internal(ctx, s, s->sender_text, rcpt_text,
                                 "the clock cannot be read or is before 2026");
    id = log_id(ctx, s);
    if (log_debug_enabled())
        log_debug_facts(s, &facts, id, rcpt_text);
    policy_decide(s->config, &facts, &s->sender, &rcpt, &v);
    self_check_certificates(s, &facts, &v);
    if (v.match_count > 0 || s->config->log_all) {
        policy_format_line(s->config, &v, &facts, id, s->sender_text,
                           rcpt_text, line, sizeof(line));
        log_msg(LOG_INFO, "%s", line);
    }
    return verdict_status(ctx, &v);
}

/*
 * End of a transaction (RSET or aborted DATA): forget the sender and give
 * back the transaction's configuration.
 */
static sfsistat mlfi_abort(SMFICTX *ctx)
{
    struct session *s = session_of(ctx);

    if (s != NULL) {
        s->have_sender = false;
        s->sender_bad = false;
        confref_release(s->config);
        s->config = NULL;
    }
    return SMFIS_CONTINUE;
}

/* End of the SMTP session: give back the configuration, if any. */
static sfsistat mlfi_close(SMFICTX *ctx)
{
    struct session *s = session_of(ctx);

    if (s != NULL) {
        log_msg(LOG_DEBUG, "s=%s debug=close", s->id);
        confref_release(s->config);
        free(s);
        smfi_setpriv(ctx, NULL);
        atomic_fetch_sub(&callbacks_sessions, 1);
    }
    return SMFIS_CONTINUE;
}

static struct smfiDesc callbacks_desc = {
    .xxfi_name = "forcetls",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_NONE,
    .xxfi_connect = mlfi_connect,
    .xxfi_envfrom = mlfi_envfrom,
    .xxfi_envrcpt = mlfi_envrcpt,
    .xxfi_abort = mlfi_abort,
    .xxfi_close = mlfi_close,
    .xxfi_negotiate = mlfi_negotiate,
};

/*
 * Register the filter with libmilter; generation numbers this worker's
 * session ids. Called by the worker before libmilter starts any thread.
 */
bool callbacks_register(unsigned generation)
{
    callbacks_id_generation = generation & ((UINT64_C(1) << (5 * SESSION_ID_DIGITS
                                                            - SESSION_ID_COUNTER_BITS)) - 1);
    atomic_store(&callbacks_next_id, 0);
    return smfi_register(callbacks_desc) == MI_SUCCESS;
}

/* Tempfail sessions that start from now on (graceful stop). */
void callbacks_start_draining(void)
{
    atomic_store(&callbacks_draining, true);
}

/* MTA sessions in progress. */
unsigned long callbacks_active_sessions(void)
{
    return atomic_load(&callbacks_sessions);
}

/* Re-arm the one-time self-check for a new configuration. */
void callbacks_config_changed(void)
{
    atomic_store(&callbacks_tls_without_cert, 0);
    atomic_store(&callbacks_cert_seen, false);
    atomic_store(&callbacks_warned_no_cert, false);
    atomic_store(&callbacks_warned_mta_unknown, false);
    atomic_store(&callbacks_warned_mta_contradiction, false);
}
