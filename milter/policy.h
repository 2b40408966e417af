/*
 * policy.h - the decision: which connectors match a recipient, what they
 * require, and what the MTA should answer.
 *
 * A pure function of (configuration snapshot, session facts, envelope):
 * no I/O, no libmilter, no global state, so it is the main test target and
 * can be called from any thread.
 */
#ifndef FORCETLS_POLICY_H
#define FORCETLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cidr.h"
#include "config.h"
#include "tlsfacts.h"

/* Ordered by precedence: the highest across all checks wins. */
enum decision {
    DECISION_ACCEPT = 0,
    DECISION_MONITOR = 1,
    DECISION_TEMPFAIL = 2,
    DECISION_REJECT = 3,
};

enum reason {
    REASON_OK = 0,
    REASON_EXEMPT,
    REASON_NO_TLS,
    REASON_TLS_VERSION,
    REASON_WEAK_CIPHER,
    REASON_NO_FORWARD_SECRECY,
    REASON_NO_CLIENT_CERT,
    REASON_CERT_NAME_MISMATCH,
    REASON_CERT_ISSUER_MISMATCH,
    REASON_IP_NOT_ALLOWED,
    REASON_CERT_NOT_YET_VALID,  /* pairs only with identities not yet valid */
    REASON_CERT_RETIRED,        /* pairs only with identities past valid_until */
    REASON_INTERNAL,          /* too many matches, bad input: fail closed (tempfail) */
};

enum direction {
    DIRECTION_INBOUND = 0,
    DIRECTION_OUTBOUND = 1,
};

/* What is known about the SMTP session. */
struct policy_session {
    bool have_client_ip;
    struct ip_addr client_ip;
    struct tls_facts tls;
    int64_t now;              /* UTC seconds the recipient is judged at:
                                 windows and schedules (config.h) */
};

#define POLICY_MAX_MATCHES 256

struct policy_match {
    enum direction direction;
    uint32_t id;              /* index into config->inbound / ->outbound */
};

struct verdict {
    enum decision decision;
    enum reason reason;
    /*
     * Every matched connector, inbound (configuration order) then outbound.
     * 0: no connector matched (accept, reason ok). With REASON_INTERNAL the
     * list may be partial (what was found before the failure) and no
     * connector decided: the log says connector=none.
     */
    size_t match_count;
    struct policy_match matches[POLICY_MAX_MATCHES];
    size_t deciding;          /* index into matches[] of the deciding connector */
    /*
     * The deciding connector's action when its schedule softened the
     * decision (decision=monitor would=reject); DECISION_ACCEPT when
     * nothing was softened (would > decision exactly when softened).
     */
    enum decision would;
    /* Reply for reject/tempfail; empty otherwise. */
    char reply_code[4];       /* "550" / "451" */
    char reply_xcode[8];      /* "5.7.1" / "4.7.1" */
    const char *reply_text;   /* config or static string; "" unless reject/tempfail.
                                 May contain '%': the caller doubles it. */
};

/*
 * Decide for one recipient. sender is the parsed MAIL FROM (null_path for
 * "<>"), rcpt the parsed RCPT TO. Never fails: internal trouble yields
 * DECISION_TEMPFAIL with REASON_INTERNAL.
 */
void policy_decide(const struct config *config,
                   const struct policy_session *session,
                   const struct addr_path *sender,
                   const struct addr_path *rcpt,
                   struct verdict *out);

/*
 * How a connector matched (policy_trace_connector.how), and the checks the
 * engine made, in the order it makes them; for forcetls explain.
 */
#define POLICY_BY_DOMAIN 1u   /* inbound: sender domain in sender_domains */
#define POLICY_BY_IP 2u       /* inbound: client address in sender_ips */
#define POLICY_BY_CERT 4u     /* inbound: verified CN in a certificate name */
#define POLICY_BY_RCPT 8u     /* outbound: recipient domain */

enum policy_check {
    POLICY_CHECK_EXEMPT = 0,      /* recipient in exempt_recipients (ok: exempt) */
    POLICY_CHECK_SENDER_IP,       /* domains and addresses both set */
    POLICY_CHECK_TLS,             /* a TLS session */
    POLICY_CHECK_VERSION,         /* version >= the connector's floor */
    POLICY_CHECK_CIPHER_BITS,     /* cipher bits >= min_cipher_bits */
    POLICY_CHECK_FORWARD_SECRECY,
    POLICY_CHECK_CERTIFICATE,     /* verified, an identity pair, its window */
    POLICY_CHECK_COUNT,
};

enum policy_result {
    POLICY_RESULT_SKIPPED = 0,     /* not required, or not reached */
    POLICY_RESULT_PASSED,
    POLICY_RESULT_FAILED,
};

/* The phase of a connector's schedule at the time judged. */
enum policy_phase {
    POLICY_PHASE_ENFORCE = 0,     /* no schedule, or past its dates: action */
    POLICY_PHASE_MONITOR,         /* before monitor_until */
    POLICY_PHASE_TEMPFAIL,        /* before tempfail_until */
};

/* What one matched connector said, and why. */
struct policy_trace_connector {
    struct policy_match match;
    unsigned how;                 /* POLICY_BY_* */
    enum policy_result checks[POLICY_CHECK_COUNT];
    long identity;                /* index of the identity that accepted the
                                     certificate; -1: none (or none needed) */
    enum policy_phase phase;
    enum decision decision;       /* this connector's outcome */
    enum reason reason;
    enum decision would;          /* as struct verdict, for this connector */
};

/* Every matched connector of one verdict, in the order of its matches[]. */
struct policy_trace {
    size_t count;
    struct policy_trace_connector connectors[POLICY_MAX_MATCHES];
};

/*
 * policy_decide, and (trace not NULL) what each matched connector said and
 * why. The verdict is the one policy_decide gives: both are one engine.
 */
void policy_decide_traced(const struct config *config,
                          const struct policy_session *session,
                          const struct addr_path *sender,
                          const struct addr_path *rcpt,
                          struct verdict *out, struct policy_trace *trace);

/*
 * The verdict for a recipient forcetls could not judge (no configuration,
 * unparsable address, no session state): tempfail, reason internal, reply
 * 451 4.7.1, no connector. Its line comes from policy_format_line() with
 * the raw addresses.
 */
void policy_fail_closed(struct verdict *out);

/*
 * Whether a normalised certificate CN matches a normalised certificate-name
 * pattern of the configuration: equal, or "*.rest" with exactly one
 * non-empty label before rest. The one matcher of identities, also for the
 * tool's words about them.
 */
bool policy_cert_name_matches(const char *pattern, const char *cn);

/*
 * Whether an identity's issuers accept an issuer CN: any when it lists
 * none; else one equal ignoring ASCII case. An empty CN, or one cut short
 * (TLSFACTS_NAME_MAX - 1 bytes or more), is never accepted.
 */
bool policy_identity_accepts_issuer(const struct cert_identity *ident,
                                    const char *issuer);

const char *policy_decision_name(enum decision decision);
const char *policy_reason_name(enum reason reason);
/* Default reply text for a reason; never names partners or certificates. */
const char *policy_default_text(enum reason reason);

/* Name of the connector that decided (NULL when none did: no match, internal). */
const char *policy_deciding_name(const struct config *config,
                                 const struct verdict *verdict);

/*
 * The decision log line (without the syslog prefix), as the contract
 * specifies:
 *   s=ID decision=D [would=A] direction=DIR connector=NAME [connectors=A,B] stage=rcpt
 *   reason=R client=IP sender=<..> rcpt=<..> tls=V cipher=C cert=CN
 *   [issuer=CN] [delivery=...]
 * All values escaped with log_value(). When no connector decided (none
 * matched, or reason internal) direction=none connector=none. issuer= comes
 * only with a verified certificate, delivery= only when an outbound
 * connector decided. sender_text/rcpt_text are the raw paths, wrapped in
 * <> when the MTA dropped both brackets (NULL logs as none; a path with
 * one bracket, unparsable, is logged as it came). config may be NULL (no
 * configuration: no connector), session too (no facts: client=none
 * tls=none). Values longer than LOG_VALUE_MAX end in "..."; a line that
 * does not fit outsz is cut to outsz-1 bytes ending in "...". Returns the
 * length written.
 */
size_t policy_format_line(const struct config *config,
                          const struct verdict *verdict,
                          const struct policy_session *session,
                          const char *session_id, const char *sender_text,
                          const char *rcpt_text, char *out, size_t outsz);

#endif
