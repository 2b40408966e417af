/*
 * test_policy_identity.c - unit tests for policy.c's certificate
 * identities, rotation windows and staged enforcement: identity pairs
 * (a name of one identity never goes with an issuer of another), window
 * edges one second before, at and after each date (valid_from inclusive,
 * valid_until exclusive), cert_not_yet_valid and cert_retired, the flat
 * keys as before, schedule phases at each edge for inbound connectors and
 * outbound require_session_tls, would= in golden decision lines,
 * precedence across several connectors, and policy_decide_traced's trace.
 *
 * Configurations go through config_load() (a temporary file), session
 * facts through tlsfacts_from_macros() with the Postfix dialect, dates
 * through syntax_utc_date(), as in the milter and forcetls explain.
 */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "config_syntax.h"
#include "log.h"
#include "policy.h"
#include "tlsfacts.h"
#include "testutil.h"

/* 250 bytes of an issuer CN, to build ones of 254, 255 and 300 bytes. */
#define X50 "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
#define X250 X50 X50 X50 X50 X50

static const char conf_text[] =
    "default_action = \"reject\";\n"
    "min_tls_version = \"TLSv1.2\";\n"
    "inbound = (\n"
    /* 0: a rotation: the old identity retires, the new one starts */
    "  { name = \"contoso\"; sender_domains = [ \"contoso.com\" ];\n"
    "    certificates = (\n"
    "      { names = [ \"mail.contoso.com\" ]; issuers = [ \"Old CA\" ];\n"
    "        valid_until = \"2027-03-01\"; },\n"
    "      { names = [ \"mail.contoso.com\", \"*.relay.contoso.com\" ];\n"
    "        issuers = [ \"New CA\" ]; valid_from = \"2027-02-01\"; }\n"
    "    ); },\n"
    /* 1: two partners' identities in one connector */
    "  { name = \"pairs\"; sender_domains = [ \"pairs.example\" ];\n"
    "    certificates = (\n"
    "      { names = [ \"a.pairs.example\" ]; issuers = [ \"CA A\" ]; },\n"
    "      { names = [ \"b.pairs.example\" ]; issuers = [ \"CA B\" ]; }\n"
    "    ); },\n"
    /* 2: one window with times of day */
    "  { name = \"window\"; sender_domains = [ \"window.example\" ];\n"
    "    certificates = (\n"
    "      { names = [ \"mx.window.example\" ]; issuers = [ \"W CA\" ];\n"
    "        valid_from = \"2027-01-10T08:00:00Z\";\n"
    "        valid_until = \"2027-01-20T08:00:00Z\"; }\n"
    "    ); },\n"
    /* 3: a gap between two windows of the same pair */
    "  { name = \"gap\"; sender_domains = [ \"gap.example\" ];\n"
    "    certificates = (\n"
    "      { names = [ \"mx.gap.example\" ]; issuers = [ \"G CA\" ];\n"
    "        valid_until = \"2027-01-01\"; },\n"
    "      { names = [ \"mx.gap.example\" ]; issuers = [ \"G CA\" ];\n"
    "        valid_from = \"2027-06-01\"; }\n"
    "    ); },\n"
    /* 4, 5: names only, issuers only */
    "  { name = \"anyissuer\"; sender_domains = [ \"anyissuer.example\" ];\n"
    "    certificates = ( { names = [ \"mx.anyissuer.example\" ]; } ); },\n"
    "  { name = \"anyname\"; sender_domains = [ \"anyname.example\" ];\n"
    "    certificates = ( { issuers = [ \"Only CA\" ]; } ); },\n"
    /* 6: the flat keys */
    "  { name = \"flat\"; sender_domains = [ \"flat.example\" ];\n"
    "    tls_sender_certificate_names = [ \"mx.flat.example\",\n"
    "                                     \"*.flat.example\" ];\n"
    "    certificate_issuers = [ \"Flat CA\", \"Other CA\" ]; },\n"
    /* 7: matched by a certificate name only, old and new names */
    "  { name = \"bycert\";\n"
    "    certificates = (\n"
    "      { names = [ \"old.rot.example\" ]; valid_until = \"2027-01-01\"; },\n"
    "      { names = [ \"new.rot.example\" ]; valid_from = \"2027-01-01\"; }\n"
    "    ); },\n"
    /* 8-10: staged enforcement */
    "  { name = \"staged\"; sender_domains = [ \"staged.example\" ];\n"
    "    monitor_until = \"2027-01-15\"; tempfail_until = \"2027-02-01\"; },\n"
    "  { name = \"stagedtf\"; sender_domains = [ \"stagedtf.example\" ];\n"
    "    action = \"tempfail\"; monitor_until = \"2027-01-15\"; },\n"
    "  { name = \"tfonly\"; sender_domains = [ \"tfonly.example\" ];\n"
    "    tempfail_until = \"2027-02-01\"; },\n"
    /* 11-13: precedence; the softened connector comes last */
    "  { name = \"plainmon\"; sender_ips = [ \"198.51.100.0/25\" ];\n"
    "    action = \"monitor\"; },\n"
    "  { name = \"plaintf\"; sender_ips = [ \"198.51.100.128/25\" ];\n"
    "    action = \"tempfail\"; },\n"
    "  { name = \"softrej\"; sender_domains = [ \"prec.example\" ];\n"
    "    monitor_until = \"2027-01-15\"; tempfail_until = \"2027-02-01\"; },\n"
    /* 14: everything a trace can show */
    "  { name = \"traced\"; sender_domains = [ \"trace.example\" ];\n"
    "    sender_ips = [ \"192.0.2.0/24\" ];\n"
    "    min_cipher_bits = 128; require_forward_secrecy = true;\n"
    "    certificates = (\n"
    "      { names = [ \"old.trace.example\" ]; issuers = [ \"Trace CA\" ];\n"
    "        valid_until = \"2027-03-01\"; },\n"
    "      { names = [ \"mx.trace.example\" ]; issuers = [ \"Trace CA\" ]; }\n"
    "    );\n"
    "    exempt_recipients = [ \"postmaster@example.org\" ];\n"
    "    monitor_until = \"2027-01-15\"; },\n"
    /* 15: a name of one identity lists the connector; another identity's
     * wildcard must still cover exactly one label */
    "  { name = \"deep\"; sender_domains = [ \"deep.example\" ];\n"
    "    certificates = (\n"
    "      { names = [ \"*.w.example\" ]; issuers = [ \"CA A\" ]; },\n"
    "      { names = [ \"a.b.w.example\" ]; issuers = [ \"CA B\" ]; },\n"
    "      { names = [ \"w.example\" ]; issuers = [ \"CA C\" ]; }\n"
    "    ); },\n"
    /* 16: issuers of 255 bytes (what a cut issuer CN looks like) and 254 */
    "  { name = \"cut\"; sender_domains = [ \"cut.example\" ];\n"
    "    certificates = ( { issuers = [ \"" X250 "XX...\", \"" X250 "YYYY\" ]; } ); }\n"
    ");\n"
    "outbound = (\n"
    "  { name = \"outstaged\"; recipient_domains = [ \"out.example\" ];\n"
    "    tls_settings = \"encryption-only\"; require_session_tls = true;\n"
    "    monitor_until = \"2027-01-15\"; tempfail_until = \"2027-02-01\"; },\n"
    "  { name = \"outplain\"; recipient_domains = [ \"plain-out.example\" ];\n"
    "    tls_settings = \"encryption-only\"; require_session_tls = true;\n"
    "    action = \"tempfail\"; }\n"
    ");\n";

static struct config *cfg;

#define ACC DECISION_ACCEPT
#define MON DECISION_MONITOR
#define TMP DECISION_TEMPFAIL
#define REJ DECISION_REJECT

#define RCPT "<b@example.org>"
#define TX_BADCERT "client certificate not accepted"

/* UTC seconds of a date that must be valid, plus delta seconds. */
static int64_t
at(const char *date, int64_t delta)
{
    const char *why = NULL;
    int64_t t;

    if (!syntax_utc_date(date, &t, &why))
        fail_msg("syntax_utc_date(\"%s\"): got false (%s), want true", date,
                 why != NULL ? why : "?");
    return t + delta;
}

/* One recipient's facts and envelope. */
struct envelope {
    struct policy_session s;
    struct addr_path sender, rcpt;
};

/*
 * Facts from Postfix macros: cn NULL means TLS without a verified
 * certificate; tls false means plaintext.
 */
static void
make_envelope(struct envelope *e, const char *client, bool tls,
              const char *cipher, const char *cn, const char *issuer,
              const char *sender, const char *rcpt, int64_t now)
{
    struct tls_macros m = { 0 };

    memset(e, 0, sizeof(*e));
    if (client != NULL) {
        if (!ip_parse(client, &e->s.client_ip))
            fail_msg("ip_parse(\"%s\"): got false, want true", client);
        e->s.have_client_ip = true;
    }
    if (tls) {
        m.tls_version = "TLSv1.2";
        m.cipher = cipher != NULL ? cipher : "ECDHE-RSA-AES128-GCM-SHA256";
        m.cipher_bits = "128";
        m.cert_subject = cn;
        m.cert_issuer = issuer;
    }
    tlsfacts_from_macros(&e->s.tls, MTA_POSTFIX, &m);
    e->s.now = now;
    if (!addr_parse_path(sender, &e->sender))
        fail_msg("addr_parse_path(\"%s\"): got false, want true", sender);
    if (!addr_parse_path(rcpt, &e->rcpt))
        fail_msg("addr_parse_path(\"%s\"): got false, want true", rcpt);
}

/* --- certificate identities and windows ----------------------------------- */

struct cert_case {
    const char *name;
    const char *sender;
    const char *cn;          /* NULL: TLS, no verified certificate */
    const char *issuer;
    const char *date;        /* now = date + delta */
    int64_t delta;
    enum decision decision;
    enum reason reason;
    long identity;           /* the trace's identity; -1: none */
};

static const struct cert_case cert_cases[] = {
    /* cross combinations: a name only with an issuer of its own identity */
    { "pair A", "<x@pairs.example>", "a.pairs.example", "CA A",
      "2027-01-01", 0, ACC, REASON_OK, 0 },
    { "pair B", "<x@pairs.example>", "b.pairs.example", "CA B",
      "2027-01-01", 0, ACC, REASON_OK, 1 },
    { "name of A with issuer of B", "<x@pairs.example>", "a.pairs.example",
      "CA B", "2027-01-01", 0, REJ, REASON_CERT_ISSUER_MISMATCH, -1 },
    { "name of B with issuer of A", "<x@pairs.example>", "b.pairs.example",
      "ca a", "2027-01-01", 0, REJ, REASON_CERT_ISSUER_MISMATCH, -1 },
    { "pair A, issuer in other case", "<x@pairs.example>", "A.Pairs.Example.",
      "ca a", "2027-01-01", 0, ACC, REASON_OK, 0 },
    { "name of neither", "<x@pairs.example>", "c.pairs.example", "CA A",
      "2027-01-01", 0, REJ, REASON_CERT_NAME_MISMATCH, -1 },
    { "no verified certificate", "<x@pairs.example>", NULL, NULL,
      "2027-01-01", 0, REJ, REASON_NO_CLIENT_CERT, -1 },
    { "empty issuer never equals", "<x@pairs.example>", "a.pairs.example",
      "", "2027-01-01", 0, REJ, REASON_CERT_ISSUER_MISMATCH, -1 },

    /* rotation: old identity until 2027-03-01, new from 2027-02-01 */
    { "old, before the new one starts", "<x@contoso.com>",
      "mail.contoso.com", "Old CA", "2027-02-01", -1, ACC, REASON_OK, 0 },
    { "old, one second before valid_until", "<x@contoso.com>",
      "mail.contoso.com", "Old CA", "2027-03-01", -1, ACC, REASON_OK, 0 },
    { "old, at valid_until: retired", "<x@contoso.com>", "mail.contoso.com",
      "Old CA", "2027-03-01", 0, REJ, REASON_CERT_RETIRED, -1 },
    { "old, one second after valid_until", "<x@contoso.com>",
      "mail.contoso.com", "Old CA", "2027-03-01", 1, REJ,
      REASON_CERT_RETIRED, -1 },
    { "new, one second before valid_from", "<x@contoso.com>",
      "mail.contoso.com", "New CA", "2027-02-01", -1, REJ,
      REASON_CERT_NOT_YET_VALID, -1 },
    { "new, at valid_from", "<x@contoso.com>", "mail.contoso.com", "New CA",
      "2027-02-01", 0, ACC, REASON_OK, 1 },
    { "new, one second after valid_from", "<x@contoso.com>",
      "mail.contoso.com", "New CA", "2027-02-01", 1, ACC, REASON_OK, 1 },
    { "new, long after", "<x@contoso.com>", "mail.contoso.com", "New CA",
      "2099-01-01", 0, ACC, REASON_OK, 1 },
    { "new wildcard name, one label", "<x@contoso.com>",
      "x1.relay.contoso.com", "New CA", "2027-02-01", 0, ACC, REASON_OK, 1 },
    { "new wildcard name with the old issuer", "<x@contoso.com>",
      "x1.relay.contoso.com", "Old CA", "2027-02-15", 0, REJ,
      REASON_CERT_ISSUER_MISMATCH, -1 },
    { "new wildcard name, two labels", "<x@contoso.com>",
      "a.b.relay.contoso.com", "New CA", "2027-02-15", 0, REJ,
      REASON_CERT_NAME_MISMATCH, -1 },
    { "new wildcard name, the base name", "<x@contoso.com>",
      "relay.contoso.com", "New CA", "2027-02-15", 0, REJ,
      REASON_CERT_NAME_MISMATCH, -1 },
    { "wildcard name before its window", "<x@contoso.com>",
      "x1.relay.contoso.com", "New CA", "2027-01-31", 0, REJ,
      REASON_CERT_NOT_YET_VALID, -1 },
    { "third issuer", "<x@contoso.com>", "mail.contoso.com", "Third CA",
      "2027-02-15", 0, REJ, REASON_CERT_ISSUER_MISMATCH, -1 },

    /* one window with times of day: every edge */
    { "window: one second before valid_from", "<x@window.example>",
      "mx.window.example", "W CA", "2027-01-10T08:00:00Z", -1, REJ,
      REASON_CERT_NOT_YET_VALID, -1 },
    { "window: at valid_from", "<x@window.example>", "mx.window.example",
      "W CA", "2027-01-10T08:00:00Z", 0, ACC, REASON_OK, 0 },
    { "window: one second after valid_from", "<x@window.example>",
      "mx.window.example", "W CA", "2027-01-10T08:00:00Z", 1, ACC,
      REASON_OK, 0 },
    { "window: one second before valid_until", "<x@window.example>",
      "mx.window.example", "W CA", "2027-01-20T08:00:00Z", -1, ACC,
      REASON_OK, 0 },
    { "window: at valid_until", "<x@window.example>", "mx.window.example",
      "W CA", "2027-01-20T08:00:00Z", 0, REJ, REASON_CERT_RETIRED, -1 },
    { "window: one second after valid_until", "<x@window.example>",
      "mx.window.example", "W CA", "2027-01-20T08:00:00Z", 1, REJ,
      REASON_CERT_RETIRED, -1 },
    { "window: name mismatch comes first", "<x@window.example>",
      "other.window.example", "W CA", "2027-01-20T08:00:00Z", 1, REJ,
      REASON_CERT_NAME_MISMATCH, -1 },
    { "window: issuer mismatch before the window", "<x@window.example>",
      "mx.window.example", "X CA", "2027-01-01", 0, REJ,
      REASON_CERT_ISSUER_MISMATCH, -1 },

    /* a gap between two windows: a future pairing says not yet valid */
    { "gap: in the first window", "<x@gap.example>", "mx.gap.example",
      "G CA", "2027-01-01", -1, ACC, REASON_OK, 0 },
    { "gap: between the windows", "<x@gap.example>", "mx.gap.example",
      "G CA", "2027-01-01", 0, REJ, REASON_CERT_NOT_YET_VALID, -1 },
    { "gap: in the second window", "<x@gap.example>", "mx.gap.example",
      "G CA", "2027-06-01", 0, ACC, REASON_OK, 1 },

    /* names only, issuers only */
    { "names only: any issuer", "<x@anyissuer.example>",
      "mx.anyissuer.example", "Whatever CA", "2027-01-01", 0, ACC,
      REASON_OK, 0 },
    { "names only: no issuer at all", "<x@anyissuer.example>",
      "mx.anyissuer.example", NULL, "2027-01-01", 0, ACC, REASON_OK, 0 },
    { "names only: other name", "<x@anyissuer.example>",
      "mx.other.example", "Whatever CA", "2027-01-01", 0, REJ,
      REASON_CERT_NAME_MISMATCH, -1 },
    { "issuers only: any name", "<x@anyname.example>", "whatever.example",
      "Only CA", "2027-01-01", 0, ACC, REASON_OK, 0 },
    { "issuers only: a CN that is no host name", "<x@anyname.example>",
      "Some Device", "only ca", "2027-01-01", 0, ACC, REASON_OK, 0 },
    { "issuers only: other issuer", "<x@anyname.example>",
      "whatever.example", "Other CA", "2027-01-01", 0, REJ,
      REASON_CERT_ISSUER_MISMATCH, -1 },

    /* the flat keys: one identity without a window, at any time */
    { "flat: name and first issuer", "<x@flat.example>", "mx.flat.example",
      "Flat CA", "1970-01-01", 0, ACC, REASON_OK, 0 },
    { "flat: wildcard and second issuer", "<x@flat.example>",
      "a.flat.example", "Other CA", "9999-12-31T23:59:59Z", 0, ACC,
      REASON_OK, 0 },
    { "flat: wildcard, two labels", "<x@flat.example>", "a.b.flat.example",
      "Flat CA", "2027-01-01", 0, REJ, REASON_CERT_NAME_MISMATCH, -1 },
    { "flat: third issuer", "<x@flat.example>", "mx.flat.example",
      "Third CA", "2027-01-01", 0, REJ, REASON_CERT_ISSUER_MISMATCH, -1 },
    { "flat: no certificate", "<x@flat.example>", NULL, NULL, "2027-01-01",
      0, REJ, REASON_NO_CLIENT_CERT, -1 },

    /* wildcards per identity, the connector listed by another's name */
    { "deep: wildcard, one label", "<x@deep.example>", "b.w.example",
      "CA A", "2027-01-01", 0, ACC, REASON_OK, 0 },
    { "deep: two labels are the other identity's", "<x@deep.example>",
      "a.b.w.example", "CA B", "2027-01-01", 0, ACC, REASON_OK, 1 },
    { "deep: two labels with the wildcard's issuer", "<x@deep.example>",
      "a.b.w.example", "CA A", "2027-01-01", 0, REJ,
      REASON_CERT_ISSUER_MISMATCH, -1 },
    { "deep: the base name with the wildcard's issuer", "<x@deep.example>",
      "w.example", "CA A", "2027-01-01", 0, REJ,
      REASON_CERT_ISSUER_MISMATCH, -1 },
    { "deep: the base name with its own issuer", "<x@deep.example>",
      "w.example", "CA C", "2027-01-01", 0, ACC, REASON_OK, 2 },

    /* retired and future names still match their connector */
    { "by old name, in its window", "<>", "old.rot.example", "Any CA",
      "2027-01-01", -1, ACC, REASON_OK, 0 },
    { "by old name, retired", "<>", "old.rot.example", "Any CA",
      "2027-01-01", 0, REJ, REASON_CERT_RETIRED, -1 },
    { "by new name, not yet valid", "<>", "new.rot.example", "Any CA",
      "2027-01-01", -1, REJ, REASON_CERT_NOT_YET_VALID, -1 },
    { "by new name, valid", "<>", "new.rot.example", "Any CA",
      "2027-01-01", 0, ACC, REASON_OK, 1 },

    /* an issuer CN cut to 255 bytes ("...") never equals, even one
     * configured exactly so; 254 bytes still do */
    { "cut issuer never equals", "<x@cut.example>", "mx.cut.example",
      X250 X50, "2027-01-01", 0, REJ, REASON_CERT_ISSUER_MISMATCH, -1 },
    { "issuer of 254 bytes", "<x@cut.example>", "mx.cut.example",
      X250 "YYYY", "2027-01-01", 0, ACC, REASON_OK, 0 },
};

/* Check one certificate case, with and without a trace. */
static void
run_cert_case(const struct cert_case *c)
{
    struct envelope e;
    struct verdict v, plain;
    static struct policy_trace trace;
    char what[200];
    const struct policy_trace_connector *t;

    make_envelope(&e, "203.0.113.9", true, NULL, c->cn, c->issuer, c->sender,
                  RCPT, at(c->date, c->delta));
    policy_decide(cfg, &e.s, &e.sender, &e.rcpt, &plain);
    policy_decide_traced(cfg, &e.s, &e.sender, &e.rcpt, &v, &trace);
#define WHAT(f) (snprintf(what, sizeof(what), "%s: %s", c->name, f), what)
    check_str(WHAT("decision"), policy_decision_name(plain.decision),
              policy_decision_name(c->decision));
    check_str(WHAT("reason"), policy_reason_name(plain.reason),
              policy_reason_name(c->reason));
    check_str(WHAT("traced decision"), policy_decision_name(v.decision),
              policy_decision_name(plain.decision));
    check_str(WHAT("traced reason"), policy_reason_name(v.reason),
              policy_reason_name(plain.reason));
    check_int(WHAT("would"), plain.would, DECISION_ACCEPT);
    check_int(WHAT("matches"), plain.match_count, 1);
    check_int(WHAT("trace count"), trace.count, 1);
    t = &trace.connectors[0];
    check_int(WHAT("trace identity"), t->identity, c->identity);
    check_int(WHAT("certificate check"), t->checks[POLICY_CHECK_CERTIFICATE],
              c->reason == REASON_OK ? POLICY_RESULT_PASSED :
              POLICY_RESULT_FAILED);
    check_str(WHAT("trace reason"), policy_reason_name(t->reason),
              policy_reason_name(c->reason));
    if (c->decision == REJ)
        check_str(WHAT("reply text"), plain.reply_text,
                  c->reason == REASON_NO_CLIENT_CERT ?
                  "trusted client certificate required" : TX_BADCERT);
#undef WHAT
}

static void
t_identities(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cert_cases); i++)
        run_cert_case(&cert_cases[i]);
}

/* The flat keys load as one identity without a window. */
static void
t_flat_is_one_identity(void **state)
{
    const struct inbound_connector *c = &cfg->inbound[6];

    (void)state;
    check_str("connector 6", c->name, "flat");
    check_int("identity_count", c->identity_count, 1);
    check_int("valid_from", c->identities[0].valid_from, CONFIG_NO_START);
    check_int("valid_until", c->identities[0].valid_until, CONFIG_NO_END);
    check_int("names", c->identities[0].names.count, 2);
    check_int("issuers", c->identities[0].issuers.count, 2);
}

/* Find an inbound connector by name. */
static struct inbound_connector *
inbound_named(const char *name)
{
    size_t i;

    for (i = 0; i < cfg->inbound_count; i++)
        if (strcmp(cfg->inbound[i].name, name) == 0)
            return &cfg->inbound[i];
    fail_msg("no connector %s", name);
    return NULL;
}

/*
 * A connector with identities requires TLS whatever require_tls says
 * (config.c refuses the combination; policy.c does not rely on it): the
 * connectors are patched in memory to get there.
 */
static void
t_identities_need_tls(void **state)
{
    static const char *const names[] = { "contoso", "anyname", "anyissuer" };
    static const char *const senders[] = {
        "<x@contoso.com>", "<x@anyname.example>", "<x@anyissuer.example>",
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(names); i++) {
        struct inbound_connector *c = inbound_named(names[i]);
        struct envelope e;
        struct verdict v;

        c->require_tls = false;
        make_envelope(&e, "203.0.113.9", false, NULL, NULL, NULL, senders[i],
                      RCPT, at("2027-02-15", 0));
        policy_decide(cfg, &e.s, &e.sender, &e.rcpt, &v);
        c->require_tls = true;
        check_str_in("reason", names[i], policy_reason_name(v.reason),
                     "no_tls");
        check_str_in("decision", names[i], policy_decision_name(v.decision),
                     "reject");
    }
}

/* --- schedules ------------------------------------------------------------ */

struct phase_case {
    const char *name;
    const char *sender;
    const char *rcpt;
    bool tls;
    const char *date;
    int64_t delta;
    enum decision decision;
    enum decision would;
    enum policy_phase phase;
    const char *text;        /* reply text; "" for accept/monitor */
};

static const struct phase_case phase_cases[] = {
    /* inbound, action reject: monitor until 01-15, tempfail until 02-01 */
    { "inbound: before monitor_until", "<x@staged.example>", RCPT, false,
      "2027-01-15", -1, MON, REJ, POLICY_PHASE_MONITOR, "" },
    { "inbound: at monitor_until", "<x@staged.example>", RCPT, false,
      "2027-01-15", 0, TMP, REJ, POLICY_PHASE_TEMPFAIL, "TLS required" },
    { "inbound: after monitor_until", "<x@staged.example>", RCPT, false,
      "2027-01-15", 1, TMP, REJ, POLICY_PHASE_TEMPFAIL, "TLS required" },
    { "inbound: before tempfail_until", "<x@staged.example>", RCPT, false,
      "2027-02-01", -1, TMP, REJ, POLICY_PHASE_TEMPFAIL, "TLS required" },
    { "inbound: at tempfail_until", "<x@staged.example>", RCPT, false,
      "2027-02-01", 0, REJ, ACC, POLICY_PHASE_ENFORCE, "TLS required" },
    { "inbound: after tempfail_until", "<x@staged.example>", RCPT, false,
      "2027-02-01", 1, REJ, ACC, POLICY_PHASE_ENFORCE, "TLS required" },
    { "inbound: passing in the monitor phase", "<x@staged.example>", RCPT,
      true, "2027-01-01", 0, ACC, ACC, POLICY_PHASE_MONITOR, "" },
    /* action tempfail, monitor_until only */
    { "tempfail action: before monitor_until", "<x@stagedtf.example>", RCPT,
      false, "2027-01-15", -1, MON, TMP, POLICY_PHASE_MONITOR, "" },
    { "tempfail action: at monitor_until", "<x@stagedtf.example>", RCPT,
      false, "2027-01-15", 0, TMP, ACC, POLICY_PHASE_ENFORCE,
      "TLS required" },
    /* action reject, tempfail_until only */
    { "tempfail_until only: before", "<x@tfonly.example>", RCPT, false,
      "2027-02-01", -1, TMP, REJ, POLICY_PHASE_TEMPFAIL, "TLS required" },
    { "tempfail_until only: at", "<x@tfonly.example>", RCPT, false,
      "2027-02-01", 0, REJ, ACC, POLICY_PHASE_ENFORCE, "TLS required" },
    /* outbound require_session_tls, action reject */
    { "outbound: before monitor_until", "<x@other.example>",
      "<y@out.example>", false, "2027-01-15", -1, MON, REJ,
      POLICY_PHASE_MONITOR, "" },
    { "outbound: at monitor_until", "<x@other.example>", "<y@out.example>",
      false, "2027-01-15", 0, TMP, REJ, POLICY_PHASE_TEMPFAIL,
      "TLS required" },
    { "outbound: after monitor_until", "<x@other.example>",
      "<y@out.example>", false, "2027-01-15", 1, TMP, REJ,
      POLICY_PHASE_TEMPFAIL, "TLS required" },
    { "outbound: before tempfail_until", "<x@other.example>",
      "<y@out.example>", false, "2027-02-01", -1, TMP, REJ,
      POLICY_PHASE_TEMPFAIL, "TLS required" },
    { "outbound: at tempfail_until", "<x@other.example>", "<y@out.example>",
      false, "2027-02-01", 0, REJ, ACC, POLICY_PHASE_ENFORCE,
      "TLS required" },
    { "outbound: after tempfail_until", "<x@other.example>",
      "<y@out.example>", false, "2027-02-01", 1, REJ, ACC,
      POLICY_PHASE_ENFORCE, "TLS required" },
    { "outbound: TLS in the monitor phase", "<x@other.example>",
      "<y@out.example>", true, "2027-01-01", 0, ACC, ACC,
      POLICY_PHASE_MONITOR, "" },
    { "outbound without a schedule", "<x@other.example>",
      "<y@plain-out.example>", false, "2027-01-01", 0, TMP, ACC,
      POLICY_PHASE_ENFORCE, "TLS required" },
};

static void
t_phases(void **state)
{
    static struct policy_trace trace;
    size_t i;
    char what[200];

    (void)state;
    for (i = 0; i < ARRAY_LEN(phase_cases); i++) {
        const struct phase_case *c = &phase_cases[i];
        struct envelope e;
        struct verdict v;

        make_envelope(&e, "203.0.113.9", c->tls, NULL, NULL, NULL,
                      c->sender, c->rcpt, at(c->date, c->delta));
        policy_decide_traced(cfg, &e.s, &e.sender, &e.rcpt, &v, &trace);
#define WHAT(f) (snprintf(what, sizeof(what), "%s: %s", c->name, f), what)
        check_str(WHAT("decision"), policy_decision_name(v.decision),
                  policy_decision_name(c->decision));
        check_str(WHAT("reason"), policy_reason_name(v.reason),
                  c->tls ? "ok" : "no_tls");
        check_str(WHAT("would"), policy_decision_name(v.would),
                  policy_decision_name(c->would));
        check_int(WHAT("trace count"), trace.count, 1);
        check_int(WHAT("phase"), trace.connectors[0].phase, c->phase);
        check_str(WHAT("trace would"),
                  policy_decision_name(trace.connectors[0].would),
                  policy_decision_name(c->would));
        check_str(WHAT("reply text"), v.reply_text, c->text);
#undef WHAT
    }
}

/*
 * A phase never makes a decision stricter than the action (config.c
 * refuses the schedules that would try; policy.c does not rely on it):
 * "staged" is patched to action monitor, then tempfail.
 */
static void
t_phase_never_stricter(void **state)
{
    static const struct {
        enum action action;
        const char *date;
        enum decision decision;
    } cases[] = {
        { ACTION_MONITOR, "2027-01-14", MON },
        { ACTION_MONITOR, "2027-01-20", MON },
        { ACTION_MONITOR, "2027-02-01", MON },
        { ACTION_TEMPFAIL, "2027-01-14", MON },
        { ACTION_TEMPFAIL, "2027-01-20", TMP },
        { ACTION_TEMPFAIL, "2027-02-01", TMP },
    };
    struct inbound_connector *c = inbound_named("staged");
    enum action saved = c->action;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct envelope e;
        struct verdict v;

        c->action = cases[i].action;
        make_envelope(&e, "203.0.113.9", false, NULL, NULL, NULL,
                      "<x@staged.example>", RCPT, at(cases[i].date, 0));
        policy_decide(cfg, &e.s, &e.sender, &e.rcpt, &v);
        c->action = saved;
        check_str_in("decision", cases[i].date,
                     policy_decision_name(v.decision),
                     policy_decision_name(cases[i].decision));
        check_str_in("would", cases[i].date, policy_decision_name(v.would),
                     cases[i].action == ACTION_TEMPFAIL &&
                     cases[i].decision == MON ? "tempfail" : "accept");
    }
}

/* --- would= in the decision line ------------------------------------------ */

static void
t_golden_lines(void **state)
{
    static const struct {
        const char *name;
        const char *sender, *rcpt;
        const char *date;
        int64_t delta;
        const char *want;
    } cases[] = {
        { "monitor phase", "<a@staged.example>", RCPT, "2027-01-14", 0,
          "s=Q decision=monitor would=reject direction=inbound "
          "connector=staged stage=rcpt reason=no_tls client=203.0.113.9 "
          "sender=<a@staged.example> rcpt=<b@example.org> tls=none "
          "cipher=none cert=none" },
        { "tempfail phase", "<a@staged.example>", RCPT, "2027-01-15", 0,
          "s=Q decision=tempfail would=reject direction=inbound "
          "connector=staged stage=rcpt reason=no_tls client=203.0.113.9 "
          "sender=<a@staged.example> rcpt=<b@example.org> tls=none "
          "cipher=none cert=none" },
        { "enforced: no would", "<a@staged.example>", RCPT, "2027-02-01", 0,
          "s=Q decision=reject direction=inbound connector=staged "
          "stage=rcpt reason=no_tls client=203.0.113.9 "
          "sender=<a@staged.example> rcpt=<b@example.org> tls=none "
          "cipher=none cert=none" },
        { "tempfail action in its monitor phase", "<a@stagedtf.example>",
          RCPT, "2027-01-14", 0,
          "s=Q decision=monitor would=tempfail direction=inbound "
          "connector=stagedtf stage=rcpt reason=no_tls "
          "client=203.0.113.9 sender=<a@stagedtf.example> "
          "rcpt=<b@example.org> tls=none cipher=none cert=none" },
        { "outbound monitor phase", "<a@other.example>", "<b@out.example>",
          "2027-01-14", 0,
          "s=Q decision=monitor would=reject direction=outbound "
          "connector=outstaged stage=rcpt reason=no_tls "
          "client=203.0.113.9 sender=<a@other.example> rcpt=<b@out.example> "
          "tls=none cipher=none cert=none delivery=encryption-only" },
    };
    char line[LOG_LINE_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct envelope e;
        struct verdict v;

        make_envelope(&e, "203.0.113.9", false, NULL, NULL, NULL,
                      cases[i].sender, cases[i].rcpt,
                      at(cases[i].date, cases[i].delta));
        policy_decide(cfg, &e.s, &e.sender, &e.rcpt, &v);
        policy_format_line(cfg, &v, &e.s, "Q", cases[i].sender,
                           cases[i].rcpt, line, sizeof(line));
        check_str_in("line", cases[i].name, line, cases[i].want);
    }
}

/* A certificate reason in a golden line, with its issuer. */
static void
t_golden_cert_line(void **state)
{
    struct envelope e;
    struct verdict v;
    char line[LOG_LINE_MAX];

    (void)state;
    make_envelope(&e, "203.0.113.9", true, NULL, "mail.contoso.com",
                  "Old CA", "<a@contoso.com>", RCPT, at("2027-03-01", 0));
    policy_decide(cfg, &e.s, &e.sender, &e.rcpt, &v);
    policy_format_line(cfg, &v, &e.s, "Q", "<a@contoso.com>", RCPT, line,
                       sizeof(line));
    check_str("retired line", line,
              "s=Q decision=reject direction=inbound connector=contoso "
              "stage=rcpt reason=cert_retired client=203.0.113.9 "
              "sender=<a@contoso.com> rcpt=<b@example.org> tls=TLSv1.2 "
              "cipher=ECDHE-RSA-AES128-GCM-SHA256 cert=mail.contoso.com "
              "issuer=\"Old CA\"");
}

/* --- precedence across connectors ------------------------------------------ */

static void
t_precedence(void **state)
{
    static const struct {
        const char *name;
        const char *client, *sender, *rcpt;
        const char *date;
        enum decision decision, would;
        const char *connector;
    } cases[] = {
        { "a monitor action alone", "198.51.100.7", "<a@other.example>", RCPT,
          "2027-01-01", MON, ACC, "plainmon" },
        { "monitor action first, softened reject second: the softened one",
          "198.51.100.7", "<a@prec.example>", RCPT, "2027-01-01", MON, REJ,
          "softrej" },
        { "tempfail action first, softened tempfail second: the softened one",
          "198.51.100.200", "<a@prec.example>", RCPT, "2027-01-20", TMP, REJ,
          "softrej" },
        { "monitor phase loses to a tempfail action", "198.51.100.200",
          "<a@prec.example>", RCPT, "2027-01-14", TMP, ACC, "plaintf" },
        { "enforced reject beats a tempfail action", "198.51.100.200",
          "<a@prec.example>", RCPT, "2027-02-01", REJ, ACC, "softrej" },
        { "inbound monitor phase, outbound tempfail action", "203.0.113.9",
          "<a@staged.example>", "<b@plain-out.example>", "2027-01-01", TMP,
          ACC, "outplain" },
        { "inbound enforced, outbound tempfail action", "203.0.113.9",
          "<a@staged.example>", "<b@plain-out.example>", "2027-02-01", REJ,
          ACC, "staged" },
        { "both softened alike: the first (inbound) decides", "203.0.113.9",
          "<a@staged.example>", "<b@out.example>", "2027-01-20", TMP, REJ,
          "staged" },
        { "inbound tempfail action, outbound softened tempfail",
          "203.0.113.9", "<a@stagedtf.example>", "<b@out.example>",
          "2027-01-20", TMP, REJ, "outstaged" },
    };
    size_t i;
    char what[200];

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct envelope e;
        struct verdict v;
        char line[LOG_LINE_MAX];

        make_envelope(&e, cases[i].client, false, NULL, NULL, NULL,
                      cases[i].sender, cases[i].rcpt, at(cases[i].date, 0));
        policy_decide(cfg, &e.s, &e.sender, &e.rcpt, &v);
#define WHAT(f) (snprintf(what, sizeof(what), "%s: %s", cases[i].name, f), what)
        check_str(WHAT("decision"), policy_decision_name(v.decision),
                  policy_decision_name(cases[i].decision));
        check_str(WHAT("would"), policy_decision_name(v.would),
                  policy_decision_name(cases[i].would));
        check_str(WHAT("connector"), policy_deciding_name(cfg, &v),
                  cases[i].connector);
        /* the line says would= exactly when the verdict was softened */
        policy_format_line(cfg, &v, &e.s, "Q", cases[i].sender,
                           cases[i].rcpt, line, sizeof(line));
        check_bool_in("would= in line", line, strstr(line, " would=") != NULL,
                      cases[i].would > cases[i].decision);
#undef WHAT
    }
}

/* --- the trace ------------------------------------------------------------ */

#define SK POLICY_RESULT_SKIPPED
#define OK POLICY_RESULT_PASSED
#define NO POLICY_RESULT_FAILED

struct trace_case {
    const char *name;
    const char *client;
    bool tls;
    const char *cipher;
    const char *cn, *issuer;
    const char *sender, *rcpt;
    const char *date;
    unsigned how;
    enum policy_result checks[POLICY_CHECK_COUNT];
    long identity;
    enum policy_phase phase;
    enum decision decision;
    enum reason reason;
    enum decision would;
};

#define DIC (POLICY_BY_DOMAIN | POLICY_BY_IP | POLICY_BY_CERT)
#define GOOD_TLS true, NULL
#define RSA_TLS true, "AES128-GCM-SHA256"

static const struct trace_case trace_cases[] = {
    { "all passed", "192.0.2.7", GOOD_TLS, "mx.trace.example", "Trace CA",
      "<a@trace.example>", RCPT, "2027-02-01", DIC,
      { SK, OK, OK, OK, OK, OK, OK }, 1, POLICY_PHASE_ENFORCE, ACC,
      REASON_OK, ACC },
    { "old identity, by name and address", "192.0.2.7", GOOD_TLS,
      "old.trace.example", "Trace CA", "<a@other.example>", RCPT,
      "2027-02-01", POLICY_BY_IP | POLICY_BY_CERT,
      { SK, SK, OK, OK, OK, OK, OK }, 0, POLICY_PHASE_ENFORCE, ACC,
      REASON_OK, ACC },
    { "old identity retired", "192.0.2.7", GOOD_TLS, "old.trace.example",
      "Trace CA", "<a@trace.example>", RCPT, "2027-03-01", DIC,
      { SK, OK, OK, OK, OK, OK, NO }, -1, POLICY_PHASE_ENFORCE, REJ,
      REASON_CERT_RETIRED, ACC },
    { "wrong address", "203.0.113.9", GOOD_TLS, "mx.trace.example",
      "Trace CA", "<a@trace.example>", RCPT, "2027-02-01",
      POLICY_BY_DOMAIN | POLICY_BY_CERT, { SK, NO, SK, SK, SK, SK, SK }, -1,
      POLICY_PHASE_ENFORCE, REJ, REASON_IP_NOT_ALLOWED, ACC },
    { "exempt recipient", "203.0.113.9", false, NULL, NULL, NULL,
      "<a@trace.example>", "<Postmaster@example.org>", "2027-02-01",
      POLICY_BY_DOMAIN, { OK, SK, SK, SK, SK, SK, SK }, -1,
      POLICY_PHASE_ENFORCE, ACC, REASON_EXEMPT, ACC },
    { "plaintext", "192.0.2.7", false, NULL, NULL, NULL,
      "<a@trace.example>", RCPT, "2027-02-01",
      POLICY_BY_DOMAIN | POLICY_BY_IP, { SK, OK, NO, SK, SK, SK, SK }, -1,
      POLICY_PHASE_ENFORCE, REJ, REASON_NO_TLS, ACC },
    { "static RSA", "192.0.2.7", RSA_TLS, "mx.trace.example", "Trace CA",
      "<a@trace.example>", RCPT, "2027-02-01", DIC,
      { SK, OK, OK, OK, OK, NO, SK }, -1, POLICY_PHASE_ENFORCE, REJ,
      REASON_NO_FORWARD_SECRECY, ACC },
    { "no certificate, monitor phase", "192.0.2.7", GOOD_TLS, NULL, NULL,
      "<a@trace.example>", RCPT, "2027-01-14",
      POLICY_BY_DOMAIN | POLICY_BY_IP, { SK, OK, OK, OK, OK, OK, NO }, -1,
      POLICY_PHASE_MONITOR, MON, REASON_NO_CLIENT_CERT, REJ },
    { "outbound", "203.0.113.9", false, NULL, NULL, NULL,
      "<a@other.example>", "<b@out.example>", "2027-01-20", POLICY_BY_RCPT,
      { SK, SK, NO, SK, SK, SK, SK }, -1, POLICY_PHASE_TEMPFAIL, TMP,
      REASON_NO_TLS, REJ },
    { "outbound passed", "203.0.113.9", GOOD_TLS, NULL, NULL,
      "<a@other.example>", "<b@out.example>", "2027-03-01", POLICY_BY_RCPT,
      { SK, SK, OK, OK, SK, SK, SK }, -1, POLICY_PHASE_ENFORCE, ACC,
      REASON_OK, ACC },
};

static void
run_trace_case(const struct trace_case *c)
{
    static struct policy_trace trace;
    const struct policy_trace_connector *t;
    struct envelope e;
    struct verdict v, plain;
    char what[200];
    size_t k;

    make_envelope(&e, c->client, c->tls, c->tls ? c->cipher : NULL, c->cn,
                  c->issuer, c->sender, c->rcpt, at(c->date, 0));
    policy_decide_traced(cfg, &e.s, &e.sender, &e.rcpt, &v, &trace);
    policy_decide(cfg, &e.s, &e.sender, &e.rcpt, &plain);
#define WHAT(f) (snprintf(what, sizeof(what), "%s: %s", c->name, f), what)
    check_int(WHAT("trace count"), trace.count, 1);
    check_int(WHAT("match count"), v.match_count, 1);
    t = &trace.connectors[0];
    check_int(WHAT("trace match direction"), t->match.direction,
              v.matches[0].direction);
    check_int(WHAT("trace match id"), t->match.id, v.matches[0].id);
    check_int(WHAT("how"), t->how, c->how);
    for (k = 0; k < POLICY_CHECK_COUNT; k++) {
        char check_what[64];

        snprintf(check_what, sizeof(check_what), "check %zu", k);
        check_int(WHAT(check_what), t->checks[k], c->checks[k]);
    }
    check_int(WHAT("identity"), t->identity, c->identity);
    check_int(WHAT("phase"), t->phase, c->phase);
    check_str(WHAT("decision"), policy_decision_name(t->decision),
              policy_decision_name(c->decision));
    check_str(WHAT("reason"), policy_reason_name(t->reason),
              policy_reason_name(c->reason));
    check_str(WHAT("would"), policy_decision_name(t->would),
              policy_decision_name(c->would));
    /* the verdict is policy_decide's */
    check_int(WHAT("verdict decision"), v.decision, plain.decision);
    check_int(WHAT("verdict reason"), v.reason, plain.reason);
    check_int(WHAT("verdict would"), v.would, plain.would);
    check_int(WHAT("verdict deciding"), v.deciding, plain.deciding);
    check_str(WHAT("verdict reply"), v.reply_text, plain.reply_text);
#undef WHAT
}

static void
t_trace(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(trace_cases); i++)
        run_trace_case(&trace_cases[i]);
}

/* Several connectors: one trace entry each, in the order of matches[]. */
static void
t_trace_several(void **state)
{
    static struct policy_trace trace;
    struct envelope e;
    struct verdict v;
    size_t i;

    (void)state;
    make_envelope(&e, "198.51.100.200", false, NULL, NULL, NULL,
                  "<a@prec.example>", "<b@out.example>", at("2027-01-01", 0));
    policy_decide_traced(cfg, &e.s, &e.sender, &e.rcpt, &v, &trace);
    check_int("match count", v.match_count, 3);
    check_int("trace count", trace.count, v.match_count);
    for (i = 0; i < trace.count; i++) {
        check_int("trace direction", trace.connectors[i].match.direction,
                  v.matches[i].direction);
        check_int("trace id", trace.connectors[i].match.id, v.matches[i].id);
    }
    check_int("plaintf how", trace.connectors[0].how, POLICY_BY_IP);
    check_int("softrej how", trace.connectors[1].how, POLICY_BY_DOMAIN);
    check_int("outstaged how", trace.connectors[2].how, POLICY_BY_RCPT);
    check_str("plaintf", policy_decision_name(trace.connectors[0].decision),
              "tempfail");
    check_str("plaintf would", policy_decision_name(trace.connectors[0].would),
              "accept");
    check_int("plaintf phase", trace.connectors[0].phase,
              POLICY_PHASE_ENFORCE);
    check_str("softrej", policy_decision_name(trace.connectors[1].decision),
              "monitor");
    check_str("softrej would", policy_decision_name(trace.connectors[1].would),
              "reject");
    check_int("softrej phase", trace.connectors[1].phase,
              POLICY_PHASE_MONITOR);
    check_str("outstaged", policy_decision_name(trace.connectors[2].decision),
              "monitor");
    check_str("deciding", policy_deciding_name(cfg, &v), "plaintf");

    /* nothing to judge: an empty trace */
    trace.count = 99;
    policy_decide_traced(NULL, &e.s, &e.sender, &e.rcpt, &v, &trace);
    check_int("no configuration: trace count", trace.count, 0);
    check_str("no configuration: reason", policy_reason_name(v.reason),
              "internal");
}

static int
setup(void **state)
{
    (void)state;
    if (!tlsfacts_init())
        return -1;
    cfg = load_ok(conf_text);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    config_free(cfg);
    tlsfacts_shutdown();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_identities),
        cmocka_unit_test(t_flat_is_one_identity),
        cmocka_unit_test(t_identities_need_tls),
        cmocka_unit_test(t_phases),
        cmocka_unit_test(t_phase_never_stricter),
        cmocka_unit_test(t_golden_lines),
        cmocka_unit_test(t_golden_cert_line),
        cmocka_unit_test(t_precedence),
        cmocka_unit_test(t_trace),
        cmocka_unit_test(t_trace_several),
    };

    return cmocka_run_group_tests_name("policy_identity", tests, setup,
                                       teardown);
}
