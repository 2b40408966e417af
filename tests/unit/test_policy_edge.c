/*
 * test_policy_edge.c - unit tests for policy.c at its edges: connectors
 * with certificate_issuers alone (any verified certificate from those
 * issuers), the verdict and decision line of a recipient forcetls could
 * not judge (policy_fail_closed: tempfail, reason internal, raw addresses
 * escaped), and the longest decision line hostile values can make (every
 * cut value marked "...", the line under LOG_LINE_MAX).
 *
 * Like test_policy.c: configurations through config_load(), facts through
 * tlsfacts_from_macros(), envelopes through addr_parse_path().
 */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "log.h"
#include "policy.h"
#include "tlsfacts.h"
#include "testutil.h"

static const char edge_conf[] =
    "default_action = \"reject\";\n"
    "min_tls_version = \"TLSv1.2\";\n"
    "inbound = (\n"
    "  { name = \"privca\"; sender_domains = [ \"privca.example\" ];\n"
    "    certificate_issuers = [ \"Partner Private CA\" ]; },\n"
    "  { name = \"ipca\"; sender_ips = [ \"100.64.0.0/24\" ];\n"
    "    certificate_issuers = [ \"Partner Private CA\", \"Lab Root CA\" ];\n"
    "    action = \"tempfail\"; }\n"
    ");\n";

static struct config *edge_config;

/* Session facts: client address (NULL: unknown) and macros. */
static void
make_session(struct policy_session *s, const char *client,
             enum mta_dialect dialect, const struct tls_macros *m)
{
    memset(s, 0, sizeof(*s));
    if (client != NULL) {
        if (!ip_parse(client, &s->client_ip))
            fail_msg("ip_parse(\"%s\"): got false, want true", client);
        s->have_client_ip = true;
    }
    tlsfacts_from_macros(&s->tls, dialect, m);
}

/* One message of one session: its facts and both envelope paths. */
struct envelope {
    struct policy_session s;
    struct addr_path sender, rcpt;
};

/* Session facts, and the two paths, which must be valid. */
static void
make_envelope(struct envelope *e, const char *client,
              enum mta_dialect dialect, const struct tls_macros *m,
              const char *sender, const char *rcpt)
{
    make_session(&e->s, client, dialect, m);
    if (!addr_parse_path(sender, &e->sender) || !addr_parse_path(rcpt, &e->rcpt))
        fail_msg("addr_parse_path(\"%s\", \"%s\"): got false, want true",
                 sender, rcpt);
}

/* policy_decide for one envelope. */
static void
decide(const struct config *config, const struct envelope *e,
       struct verdict *v)
{
    policy_decide(config, &e->s, &e->sender, &e->rcpt, v);
}

#define PLAIN { 0 }
#define T12 { .tls_version = "TLSv1.2", \
              .cipher = "ECDHE-RSA-AES128-GCM-SHA256", .cipher_bits = "128" }
#define T13 { .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384", \
              .cipher_bits = "256" }
#define T12_CERT(cn, iss) { .tls_version = "TLSv1.2", \
                            .cipher = "ECDHE-RSA-AES128-GCM-SHA256", \
                            .cipher_bits = "128", .cert_subject = cn, \
                            .cert_issuer = iss }
#define SM_T12(vfy, cn, iss) { .tls_version = "TLSv1.2", \
                                  .cipher = "ECDHE-RSA-AES128-GCM-SHA256", \
                                  .cipher_bits = "128", .verify = vfy, \
                                  .cert_subject = "/CN=" cn, \
                                  .cn_subject = cn, .cn_issuer = iss }
#define PF MTA_POSTFIX
#define SM MTA_SENDMAIL
#define ACC DECISION_ACCEPT
#define TMP DECISION_TEMPFAIL
#define REJ DECISION_REJECT
#define RCPT "<b@example.org>"
#define TX_NO_TLS "TLS required"
#define TX_CERT "trusted client certificate required"
#define TX_BADCERT "client certificate not accepted"

struct decide_case {
    const char *name;
    const char *client;
    enum mta_dialect dialect;
    struct tls_macros tls;
    const char *sender;
    const char *rcpt;
    enum decision decision;
    enum reason reason;
    const char *connector;   /* deciding connector; NULL: none */
    const char *matched;     /* every matched connector, in order */
    const char *text;        /* reply text; "" for accept/monitor */
};

static const struct decide_case issuer_cases[] = {
    /* certificate_issuers alone: any verified certificate from them */
    { "issuers alone: plaintext", "203.0.113.9", PF, PLAIN,
      "<a@privca.example>", RCPT, REJ, REASON_NO_TLS, "privca", "privca",
      TX_NO_TLS },
    { "issuers alone: TLS without cert", "203.0.113.9", PF, T12,
      "<a@privca.example>", RCPT, REJ, REASON_NO_CLIENT_CERT, "privca",
      "privca", TX_CERT },
    { "issuers alone: any name from the issuer", "203.0.113.9", PF,
      T12_CERT("host17.partner.example", "Partner Private CA"),
      "<a@privca.example>", RCPT, ACC, REASON_OK, "privca", "privca", "" },
    { "issuers alone: issuer case-insensitive", "203.0.113.9", PF,
      T12_CERT("other.partner.example", "PARTNER private ca"),
      "<a@privca.example>", RCPT, ACC, REASON_OK, "privca", "privca", "" },
    { "issuers alone: other issuer", "203.0.113.9", PF,
      T12_CERT("host17.partner.example", "Evil CA"), "<a@privca.example>",
      RCPT, REJ, REASON_CERT_ISSUER_MISMATCH, "privca", "privca",
      TX_BADCERT },
    { "issuers alone: no issuer", "203.0.113.9", PF,
      T12_CERT("host17.partner.example", NULL), "<a@privca.example>", RCPT,
      REJ, REASON_CERT_ISSUER_MISMATCH, "privca", "privca", TX_BADCERT },
    { "issuers alone: sendmail unverified", "203.0.113.9", SM,
      SM_T12("FAIL", "host17.partner.example", "Partner+20Private+20CA"),
      "<a@privca.example>", RCPT, REJ, REASON_NO_CLIENT_CERT, "privca",
      "privca", TX_CERT },
    { "issuers alone: sendmail verified", "203.0.113.9", SM,
      SM_T12("OK", "host17.partner.example", "Partner+20Private+20CA"),
      "<a@privca.example>", RCPT, ACC, REASON_OK, "privca", "privca", "" },
    { "issuers alone by ip: ok", "100.64.0.9", PF,
      T12_CERT("relay9.partner.example", "Lab Root CA"), "<a@any.example>",
      RCPT, ACC, REASON_OK, "ipca", "ipca", "" },
    { "issuers alone by ip: null sender, other issuer", "100.64.0.9", PF,
      T12_CERT("relay9.partner.example", "Evil CA"), "<>", RCPT, TMP,
      REASON_CERT_ISSUER_MISMATCH, "ipca", "ipca", TX_BADCERT },
    { "issuers alone by ip: other address not matched", "100.64.1.9", PF,
      T12_CERT("relay9.partner.example", "Evil CA"), "<a@any.example>",
      RCPT, ACC, REASON_OK, NULL, "", "" },
};

/* certificate_issuers alone: any name, but a verified one from a listed CA. */
static void
t_issuers_alone(void **state)
{
    char what[200], names[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(issuer_cases); i++) {
        const struct decide_case *c = &issuer_cases[i];
        struct envelope e;
        struct verdict v;
        size_t used = 0;

        make_envelope(&e, c->client, c->dialect, &c->tls, c->sender, c->rcpt);
        decide(edge_config, &e, &v);
#define WHAT(f) (snprintf(what, sizeof(what), "%s: %s", c->name, f), what)
        check_str(WHAT("decision"), policy_decision_name(v.decision),
                  policy_decision_name(c->decision));
        check_str(WHAT("reason"), policy_reason_name(v.reason),
                  policy_reason_name(c->reason));
        check_str(WHAT("connector"), policy_deciding_name(edge_config, &v),
                  c->connector);
        names[0] = '\0';
        for (size_t k = 0; k < v.match_count; k++)
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                     k ? "," : "",
                                     edge_config->inbound[v.matches[k].id].name);
        check_str(WHAT("matched"), names, c->matched);
        check_str(WHAT("reply text"), v.reply_text, c->text);
#undef WHAT
    }
}

/*
 * Recipients forcetls could not judge still get one decision line
 * (contract, Guarantees): tempfail, reason internal, the raw addresses
 * escaped, with or without a configuration and session facts.
 */
static void
t_format_internal(void **state)
{
    static const struct {
        const char *name;
        bool config, facts;
        const char *sender_text, *rcpt_text, *want;
    } cases[] = {
        { "no configuration, no facts, CR LF in rcpt", false, false, NULL,
          "<a\r\nb@x.example>",
          "s=3f2a1 decision=tempfail direction=none connector=none"
          " stage=rcpt reason=internal client=none sender=none"
          " rcpt=\"<a\\r\\nb@x.example>\" tls=none cipher=none cert=none" },
        { "unbalanced bracket logged as it came", true, true,
          "<a@contoso.com>", "<b@example.org",
          "s=3f2a1 decision=tempfail direction=none connector=none"
          " stage=rcpt reason=internal client=192.0.2.7"
          " sender=<a@contoso.com> rcpt=<b@example.org tls=TLSv1.3"
          " cipher=TLS_AES_256_GCM_SHA384 cert=none" },
        { "unparsable sender, forged key escaped", true, false,
          "<x@y> decision=accept", "<b@example.org>",
          "s=3f2a1 decision=tempfail direction=none connector=none"
          " stage=rcpt reason=internal client=none"
          " sender=\"<x@y> decision=accept\" rcpt=<b@example.org>"
          " tls=none cipher=none cert=none" },
        { "closing bracket only", false, false, "a@b>", "b@example.org",
          "s=3f2a1 decision=tempfail direction=none connector=none"
          " stage=rcpt reason=internal client=none sender=a@b>"
          " rcpt=<b@example.org> tls=none cipher=none cert=none" },
    };
    struct tls_macros t13 = T13;
    struct policy_session facts;
    struct verdict v;
    char line[4096], big[10 * 1024 + 2], want[LOG_VALUE_MAX + 32];
    size_t i;

    (void)state;
    make_session(&facts, "192.0.2.7", PF, &t13);
    policy_fail_closed(&v);
    check_str("decision", policy_decision_name(v.decision), "tempfail");
    check_str("reason", policy_reason_name(v.reason), "internal");
    check_str("code", v.reply_code, "451");
    check_str("xcode", v.reply_xcode, "4.7.1");
    check_str("text", v.reply_text, "temporary policy failure, try again later");
    check_int("matches", (long)v.match_count, 0);
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        policy_format_line(cases[i].config ? edge_config : NULL, &v,
                           cases[i].facts ? &facts : NULL, "3f2a1",
                           cases[i].sender_text, cases[i].rcpt_text, line,
                           sizeof(line));
        check_str(cases[i].name, line, cases[i].want);
    }
    /* A 10 KB address: cut to LOG_VALUE_MAX bytes and marked. */
    big[0] = '<';
    memset(big + 1, 'x', sizeof(big) - 2);
    big[sizeof(big) - 1] = '\0';
    policy_format_line(NULL, &v, NULL, "3f2a1", NULL, big, line, sizeof(line));
    want[0] = ' ';
    memcpy(want + 1, "rcpt=<", 6);
    memset(want + 7, 'x', LOG_VALUE_MAX - 1);
    snprintf(want + 6 + LOG_VALUE_MAX, sizeof(want) - 6 - LOG_VALUE_MAX,
             "... tls=none");
    if (strstr(line, want) == NULL)
        fail_msg("10 KB rcpt: got \"%s\", want it to contain \"%s\"", line,
                 want);
}

/* Hostile values at every size limit still make one whole line. */
static void
t_format_worst_case(void **state)
{
    char cn[2000], cipher[400], version[100], path[1000];
    char line[LOG_LINE_MAX + 1];
    struct tls_macros m;
    struct envelope e;
    struct verdict v;
    size_t n;

    (void)state;
    memset(cn, '\x01', sizeof(cn) - 1);
    cn[sizeof(cn) - 1] = '\0';
    memset(cipher, '\x02', sizeof(cipher) - 1);
    cipher[sizeof(cipher) - 1] = '\0';
    memset(version, '\x03', sizeof(version) - 1);
    version[sizeof(version) - 1] = '\0';
    memset(path, '\x04', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    m = (struct tls_macros){ .tls_version = version, .cipher = cipher,
                             .cipher_bits = "128", .cert_subject = cn,
                             .cert_issuer = cn };
    make_envelope(&e, "203.0.113.9", PF, &m, "<a@privca.example>", RCPT);
    decide(edge_config, &e, &v);
    check_str("worst case reason", policy_reason_name(v.reason), "tls_version");
    n = policy_format_line(edge_config, &v, &e.s, path, path, path, line,
                           sizeof(line));
    if (n >= LOG_LINE_MAX - 1 || strcmp(line + n - 1, "\"") != 0)
        fail_msg("worst case: got %zu bytes ending \"%s\", want a whole"
                 " line under LOG_LINE_MAX", n, line + (n > 20 ? n - 20 : 0));
    if (strstr(line, "...\" decision=") == NULL ||
        strstr(line, "...\" rcpt=") == NULL || strstr(line, "...\" tls=") == NULL ||
        strstr(line, "...\" cipher=") == NULL ||
        strstr(line, "...\" cert=") == NULL ||
        strstr(line, "...\" issuer=") == NULL || strcmp(line + n - 4, "...\"") != 0)
        fail_msg("worst case: got \"%s\", want every cut value marked", line);
}

static int
setup(void **state)
{
    (void)state;
    if (!tlsfacts_init())
        return -1;
    edge_config = load_ok(edge_conf);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    config_free(edge_config);
    tlsfacts_shutdown();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_issuers_alone),
        cmocka_unit_test(t_format_internal),
        cmocka_unit_test(t_format_worst_case),
    };

    return cmocka_run_group_tests_name("policy_edge", tests, setup, teardown);
}
