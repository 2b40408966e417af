/*
 * test_policy.c - unit tests for policy.c: connector matching, every check
 * and reason, every action, precedence across connectors, exemptions,
 * outbound session TLS, replies, and golden decision log lines.
 *
 * Configurations go through the real path: libconfig text written to a
 * temporary file and loaded with config_load(). Session facts come from
 * tlsfacts_from_macros() and envelopes from addr_parse_path(), as in the
 * milter.
 */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "policy.h"
#include "tlsfacts.h"
#include "testutil.h"

static const char main_conf[] =
    "default_action = \"reject\";\n"
    "min_tls_version = \"TLSv1.2\";\n"
    "inbound = (\n"
    "  { name = \"contoso\";\n"
    "    sender_domains = [ \"contoso.com\", \"*.contoso.com\" ];\n"
    "    sender_ips = [ \"192.0.2.0/24\", \"2001:db8::/32\" ]; },\n"
    "  { name = \"tls13\"; sender_domains = [ \"tls13.example\" ];\n"
    "    min_tls_version = \"TLSv1.3\"; action = \"tempfail\"; },\n"
    "  { name = \"bits\"; sender_domains = [ \"bits.example\" ];\n"
    "    min_cipher_bits = 256; action = \"monitor\"; },\n"
    "  { name = \"fs\"; sender_domains = [ \"fs.example\" ];\n"
    "    require_forward_secrecy = true; },\n"
    "  { name = \"certname\"; sender_domains = [ \"cert.example\" ];\n"
    "    tls_sender_certificate_names = [ \"mail.cert.example\",\n"
    "                                     \"*.relay.cert.example\" ]; },\n"
    "  { name = \"issuer\"; sender_domains = [ \"issuer.example\" ];\n"
    "    tls_sender_certificate_names = [ \"mx.issuer.example\" ];\n"
    "    certificate_issuers = [ \"Lab Root CA\" ];\n"
    "    reject_text = \"Partner mail must use its certificate\"; },\n"
    "  { name = \"byip\"; sender_ips = [ \"198.51.100.0/24\" ];\n"
    "    action = \"tempfail\"; },\n"
    "  { name = \"bycert\";\n"
    "    tls_sender_certificate_names = [ \"relay.bycert.example\" ]; },\n"
    "  { name = \"optional\"; sender_domains = [ \"optional.example\" ];\n"
    "    require_tls = false; },\n"
    "  { name = \"optcert\"; sender_domains = [ \"optcert.example\" ];\n"
    "    tls_sender_certificate_names = [ \"mx.optcert.example\" ]; },\n"
    "  { name = \"exempt\"; sender_domains = [ \"exempt.example\" ];\n"
    "    exempt_recipients = [ \"Postmaster@Example.ORG\" ]; },\n"
    "  { name = \"mon\"; sender_domains = [ \"multi.example\" ];\n"
    "    action = \"monitor\"; },\n"
    "  { name = \"rej2\"; sender_domains = [ \"*.multi.example\" ];\n"
    "    min_tls_version = \"TLSv1.3\"; }\n"
    ");\n"
    "outbound = (\n"
    "  { name = \"fabrikam\"; recipient_domains = [ \"fabrikam.com\" ];\n"
    "    tls_settings = \"domain-validation\";\n"
    "    tls_domain = \"mail.fabrikam.com\";\n"
    "    require_session_tls = true; action = \"tempfail\"; },\n"
    "  { name = \"northwind\";\n"
    "    recipient_domains = [ \"northwind.example\", \"*.northwind.example\" ];\n"
    "    tls_settings = \"encryption-only\"; min_tls_version = \"TLSv1.3\";\n"
    "    require_session_tls = true; action = \"reject\"; },\n"
    "  { name = \"loose\"; recipient_domains = [ \"loose.example\" ];\n"
    "    tls_settings = \"certificate-validation\"; },\n"
    "  { name = \"watch\"; recipient_domains = [ \"watch.example\" ];\n"
    "    tls_settings = \"encryption-only\";\n"
    "    require_session_tls = true; action = \"monitor\"; }\n"
    ");\n";

static struct config *main_config;

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

/* Parse a path that must be valid. */
static void
make_path(struct addr_path *p, const char *text)
{
    if (!addr_parse_path(text, p))
        fail_msg("addr_parse_path(\"%s\"): got false, want true", text);
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
    make_path(&e->sender, sender);
    make_path(&e->rcpt, rcpt);
}

/* policy_decide for one envelope. */
static void
decide(const struct config *config, const struct envelope *e,
       struct verdict *v)
{
    policy_decide(config, &e->s, &e->sender, &e->rcpt, v);
}

/* Names of all matched connectors, comma-separated. */
static void
matched_names(const struct config *config, const struct verdict *v,
              char *out, size_t outsz)
{
    size_t i, used = 0;

    out[0] = '\0';
    for (i = 0; i < v->match_count; i++) {
        const struct policy_match *m = &v->matches[i];
        const char *name = m->direction == DIRECTION_INBOUND ?
            config->inbound[m->id].name : config->outbound[m->id].name;

        used += (size_t)snprintf(out + used, outsz - used, "%s%s",
                                 i ? "," : "", name);
    }
}

/* --- TLS shorthands (Postfix macros) -------------------------------------- */

#define PLAIN { 0 }
#define T10 { .tls_version = "TLSv1", .cipher = "ECDHE-RSA-AES128-SHA", \
              .cipher_bits = "128" }
#define T12 { .tls_version = "TLSv1.2", \
              .cipher = "ECDHE-RSA-AES128-GCM-SHA256", .cipher_bits = "128" }
#define T12_256 { .tls_version = "TLSv1.2", \
                  .cipher = "ECDHE-RSA-AES256-GCM-SHA384", \
                  .cipher_bits = "256" }
#define T12_C(c, b) { .tls_version = "TLSv1.2", .cipher = c, .cipher_bits = b }
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
#define MON DECISION_MONITOR
#define TMP DECISION_TEMPFAIL
#define REJ DECISION_REJECT

#define RCPT "<b@example.org>"

/* Default reply texts, as the contract describes them. */
#define TX_NO_TLS "TLS required"
#define TX_V12 "TLS 1.2 or later required"
#define TX_V13 "TLS 1.3 or later required"
#define TX_FS "forward-secret TLS cipher required"
#define TX_CERT "trusted client certificate required"
#define TX_BADCERT "client certificate not accepted"
#define TX_IP "client address not allowed for this sender"
#define TX_ISSUER "Partner mail must use its certificate"

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

static const struct decide_case decide_cases[] = {
    /* no match */
    { "unrelated sender", "203.0.113.9", PF, PLAIN, "<a@other.example>", RCPT,
      ACC, REASON_OK, NULL, "", "" },
    { "lookalike domain", "203.0.113.9", PF, PLAIN, "<a@notcontoso.com>", RCPT,
      ACC, REASON_OK, NULL, "", "" },
    { "suffix is not a subdomain", "203.0.113.9", PF, PLAIN,
      "<a@contoso.com.evil.example>", RCPT, ACC, REASON_OK, NULL, "", "" },

    /* contoso: domains + IPs, TLS >= 1.2, reject */
    { "contoso ok v4", "192.0.2.7", PF, T12, "<a@contoso.com>", RCPT,
      ACC, REASON_OK, "contoso", "contoso", "" },
    { "contoso plaintext", "192.0.2.7", PF, PLAIN, "<a@contoso.com>", RCPT,
      REJ, REASON_NO_TLS, "contoso", "contoso", TX_NO_TLS },
    { "contoso upper case, trailing dot", "192.0.2.7", PF, PLAIN,
      "<A@CONTOSO.COM.>", RCPT, REJ, REASON_NO_TLS, "contoso", "contoso",
      TX_NO_TLS },
    { "contoso wildcard subdomain", "192.0.2.7", PF, PLAIN,
      "<a@Mail.Eu.Contoso.Com>", RCPT, REJ, REASON_NO_TLS, "contoso",
      "contoso", TX_NO_TLS },
    { "contoso TLSv1", "192.0.2.7", PF, T10, "<a@contoso.com>", RCPT,
      REJ, REASON_TLS_VERSION, "contoso", "contoso", TX_V12 },
    { "contoso unknown version", "192.0.2.7", PF,
      { .tls_version = "SSLv3", .cipher = "AES256-SHA", .cipher_bits = "256" },
      "<a@contoso.com>", RCPT, REJ, REASON_TLS_VERSION, "contoso", "contoso",
      TX_V12 },
    { "contoso ok v6", "2001:db8::25", PF, T12, "<a@contoso.com>", RCPT,
      ACC, REASON_OK, "contoso", "contoso", "" },
    { "contoso ok v6 MTA form", "IPv6:2001:db8:1::25", PF, T12,
      "<a@contoso.com>", RCPT, ACC, REASON_OK, "contoso", "contoso", "" },
    { "contoso ok v4-mapped", "::ffff:192.0.2.200", PF, T12,
      "<a@contoso.com>", RCPT, ACC, REASON_OK, "contoso", "contoso", "" },
    { "contoso wrong v4", "192.0.3.7", PF, T13, "<a@contoso.com>", RCPT,
      REJ, REASON_IP_NOT_ALLOWED, "contoso", "contoso", TX_IP },
    { "contoso wrong v6", "2001:db9::1", PF, T13, "<a@contoso.com>", RCPT,
      REJ, REASON_IP_NOT_ALLOWED, "contoso", "contoso", TX_IP },
    { "contoso unknown client", NULL, PF, T13, "<a@contoso.com>", RCPT,
      REJ, REASON_IP_NOT_ALLOWED, "contoso", "contoso", TX_IP },
    { "ip check precedes tls check", "192.0.3.7", PF, PLAIN,
      "<a@contoso.com>", RCPT, REJ, REASON_IP_NOT_ALLOWED, "contoso",
      "contoso", TX_IP },
    { "contoso by IP only, other domain", "192.0.2.7", PF, PLAIN,
      "<a@other.example>", RCPT, REJ, REASON_NO_TLS, "contoso", "contoso",
      TX_NO_TLS },
    { "contoso by v4-mapped IP only", "::ffff:192.0.2.9", PF, PLAIN,
      "<a@other.example>", RCPT, REJ, REASON_NO_TLS, "contoso", "contoso",
      TX_NO_TLS },

    /* null sender: only IP or certificate match */
    { "null sender from contoso IP", "192.0.2.7", PF, PLAIN, "<>", RCPT,
      REJ, REASON_NO_TLS, "contoso", "contoso", TX_NO_TLS },
    { "null sender from contoso IP, TLS", "192.0.2.7", PF, T12, "<>", RCPT,
      ACC, REASON_OK, "contoso", "contoso", "" },
    { "null sender elsewhere", "203.0.113.9", PF, PLAIN, "<>", RCPT,
      ACC, REASON_OK, NULL, "", "" },
    { "null sender by certificate", "203.0.113.9", PF,
      T12_CERT("relay.bycert.example", "Some CA"), "<>", RCPT,
      ACC, REASON_OK, "bycert", "bycert", "" },
    { "null sender by certificate, TLSv1", "203.0.113.9", PF,
      { .tls_version = "TLSv1", .cipher = "AES256-SHA", .cipher_bits = "256",
        .cert_subject = "RELAY.BYCERT.EXAMPLE", .cert_issuer = "CA" },
      "<>", RCPT, REJ, REASON_TLS_VERSION, "bycert", "bycert", TX_V12 },

    /* versions, bits, forward secrecy */
    { "tls13 with 1.2", "203.0.113.9", PF, T12, "<a@tls13.example>", RCPT,
      TMP, REASON_TLS_VERSION, "tls13", "tls13", TX_V13 },
    { "tls13 with 1.3", "203.0.113.9", PF, T13, "<a@tls13.example>", RCPT,
      ACC, REASON_OK, "tls13", "tls13", "" },
    { "tls13 plaintext", "203.0.113.9", PF, PLAIN, "<a@tls13.example>", RCPT,
      TMP, REASON_NO_TLS, "tls13", "tls13", TX_NO_TLS },
    { "bits 128 < 256: monitor", "203.0.113.9", PF, T12, "<a@bits.example>",
      RCPT, MON, REASON_WEAK_CIPHER, "bits", "bits", "" },
    { "bits 256", "203.0.113.9", PF, T12_256, "<a@bits.example>", RCPT,
      ACC, REASON_OK, "bits", "bits", "" },
    { "bits garbage is 0", "203.0.113.9", PF,
      T12_C("ECDHE-RSA-AES256-GCM-SHA384", "256bits"), "<a@bits.example>",
      RCPT, MON, REASON_WEAK_CIPHER, "bits", "bits", "" },
    { "fs ECDHE", "203.0.113.9", PF, T12, "<a@fs.example>", RCPT,
      ACC, REASON_OK, "fs", "fs", "" },
    { "fs DHE", "203.0.113.9", PF, T12_C("DHE-RSA-AES256-GCM-SHA384", "256"),
      "<a@fs.example>", RCPT, ACC, REASON_OK, "fs", "fs", "" },
    { "fs static RSA", "203.0.113.9", PF, T12_C("AES128-GCM-SHA256", "128"),
      "<a@fs.example>", RCPT, REJ, REASON_NO_FORWARD_SECRECY, "fs", "fs",
      TX_FS },
    { "fs AES256-SHA", "203.0.113.9", PF, T12_C("AES256-SHA", "256"),
      "<a@fs.example>", RCPT, REJ, REASON_NO_FORWARD_SECRECY, "fs", "fs",
      TX_FS },
    { "fs garbage cipher", "203.0.113.9", PF, T12_C("garbage", "256"),
      "<a@fs.example>", RCPT, REJ, REASON_NO_FORWARD_SECRECY, "fs", "fs",
      TX_FS },
    { "fs TLSv1.3 always", "203.0.113.9", PF,
      { .tls_version = "TLSv1.3", .cipher = "garbage", .cipher_bits = "256" },
      "<a@fs.example>", RCPT, ACC, REASON_OK, "fs", "fs", "" },
    { "fs version first", "203.0.113.9", PF,
      { .tls_version = "TLSv1.1", .cipher = "AES256-SHA",
        .cipher_bits = "256" },
      "<a@fs.example>", RCPT, REJ, REASON_TLS_VERSION, "fs", "fs", TX_V12 },

    /* certificate names */
    { "cert exact", "203.0.113.9", PF, T12_CERT("mail.cert.example", "CA"),
      "<a@cert.example>", RCPT, ACC, REASON_OK, "certname", "certname", "" },
    { "cert case and trailing dot", "203.0.113.9", PF,
      T12_CERT("MAIL.Cert.Example.", "CA"), "<a@cert.example>", RCPT,
      ACC, REASON_OK, "certname", "certname", "" },
    { "cert wildcard one label", "203.0.113.9", PF,
      T12_CERT("x1.relay.cert.example", "CA"), "<a@cert.example>", RCPT,
      ACC, REASON_OK, "certname", "certname", "" },
    { "cert wildcard two labels", "203.0.113.9", PF,
      T12_CERT("a.b.relay.cert.example", "CA"), "<a@cert.example>", RCPT,
      REJ, REASON_CERT_NAME_MISMATCH, "certname", "certname", TX_BADCERT },
    { "cert wildcard base name", "203.0.113.9", PF,
      T12_CERT("relay.cert.example", "CA"), "<a@cert.example>", RCPT,
      REJ, REASON_CERT_NAME_MISMATCH, "certname", "certname", TX_BADCERT },
    { "cert other name", "203.0.113.9", PF,
      T12_CERT("mail.evil.example", "CA"), "<a@cert.example>", RCPT,
      REJ, REASON_CERT_NAME_MISMATCH, "certname", "certname", TX_BADCERT },
    { "cert empty CN", "203.0.113.9", PF, T12_CERT("", "CA"),
      "<a@cert.example>", RCPT, REJ, REASON_CERT_NAME_MISMATCH, "certname",
      "certname", TX_BADCERT },
    { "cert CN not a host name", "203.0.113.9", PF,
      T12_CERT("Mail Cert Example", "CA"), "<a@cert.example>", RCPT,
      REJ, REASON_CERT_NAME_MISMATCH, "certname", "certname", TX_BADCERT },
    { "cert CN literal wildcard", "203.0.113.9", PF,
      T12_CERT("*.relay.cert.example", "CA"), "<a@cert.example>", RCPT,
      REJ, REASON_CERT_NAME_MISMATCH, "certname", "certname", TX_BADCERT },
    { "cert not verified", "203.0.113.9", PF, T12, "<a@cert.example>", RCPT,
      REJ, REASON_NO_CLIENT_CERT, "certname", "certname", TX_CERT },
    { "cert plaintext", "203.0.113.9", PF, PLAIN, "<a@cert.example>", RCPT,
      REJ, REASON_NO_TLS, "certname", "certname", TX_NO_TLS },

    /* issuers, reject_text; Sendmail dialect */
    { "issuer ok", "203.0.113.9", PF,
      T12_CERT("mx.issuer.example", "Lab Root CA"), "<a@issuer.example>",
      RCPT, ACC, REASON_OK, "issuer", "issuer", "" },
    { "issuer case-insensitive", "203.0.113.9", PF,
      T12_CERT("mx.issuer.example", "LAB root ca"), "<a@issuer.example>",
      RCPT, ACC, REASON_OK, "issuer", "issuer", "" },
    { "issuer mismatch", "203.0.113.9", PF,
      T12_CERT("mx.issuer.example", "Lab Root CA 2"), "<a@issuer.example>",
      RCPT, REJ, REASON_CERT_ISSUER_MISMATCH, "issuer", "issuer", TX_ISSUER },
    { "issuer missing", "203.0.113.9", PF,
      { .tls_version = "TLSv1.2", .cipher = "ECDHE-RSA-AES128-GCM-SHA256",
        .cipher_bits = "128", .cert_subject = "mx.issuer.example" },
      "<a@issuer.example>", RCPT, REJ, REASON_CERT_ISSUER_MISMATCH, "issuer",
      "issuer", TX_ISSUER },
    { "name checked before issuer", "203.0.113.9", PF,
      T12_CERT("mx.evil.example", "Evil CA"), "<a@issuer.example>", RCPT,
      REJ, REASON_CERT_NAME_MISMATCH, "issuer", "issuer", TX_ISSUER },
    { "sendmail verified, xtext issuer", "203.0.113.9", SM,
      SM_T12("OK", "mx.issuer.example", "Lab+20Root+20CA"),
      "<a@issuer.example>", RCPT, ACC, REASON_OK, "issuer", "issuer", "" },
    { "sendmail unverified cert naming the partner", "203.0.113.9", SM,
      SM_T12("FAIL", "mx.issuer.example", "Lab+20Root+20CA"),
      "<a@issuer.example>", RCPT, REJ, REASON_NO_CLIENT_CERT, "issuer",
      "issuer", TX_ISSUER },
    { "sendmail unverified cert does not match by cert", "203.0.113.9", SM,
      SM_T12("FAIL", "relay.bycert.example", "CA"), "<>", RCPT,
      ACC, REASON_OK, NULL, "", "" },
    { "sendmail verified cert matches by cert", "203.0.113.9", SM,
      SM_T12("OK", "relay.bycert.example", "CA"), "<>", RCPT,
      ACC, REASON_OK, "bycert", "bycert", "" },
    { "postfix unverified: no cert macros", "203.0.113.9", PF, T12, "<>",
      RCPT, ACC, REASON_OK, NULL, "", "" },

    /* require_tls = false */
    { "optional plaintext", "203.0.113.9", PF, PLAIN, "<a@optional.example>",
      RCPT, ACC, REASON_OK, "optional", "optional", "" },
    { "optional TLSv1: no floor", "203.0.113.9", PF, T10,
      "<a@optional.example>", RCPT, ACC, REASON_OK, "optional", "optional",
      "" },

    /* exempt recipients */
    { "exempt recipient", "203.0.113.9", PF, PLAIN, "<a@exempt.example>",
      "<postmaster@example.org>", ACC, REASON_EXEMPT, "exempt", "exempt", "" },
    { "exempt recipient, other case", "203.0.113.9", PF, PLAIN,
      "<a@exempt.example>", "<POSTMASTER@EXAMPLE.ORG.>", ACC, REASON_EXEMPT,
      "exempt", "exempt", "" },
    { "not exempt recipient", "203.0.113.9", PF, PLAIN, "<a@exempt.example>",
      "<webmaster@example.org>", REJ, REASON_NO_TLS, "exempt", "exempt",
      TX_NO_TLS },
    { "exempt in one connector, other still applies", "198.51.100.7", PF,
      PLAIN, "<a@exempt.example>", "<postmaster@example.org>", TMP,
      REASON_NO_TLS, "byip", "byip,exempt", TX_NO_TLS },
    { "exempt does not apply to other connectors' senders", "192.0.2.7", PF,
      PLAIN, "<a@contoso.com>", "<postmaster@example.org>", REJ,
      REASON_NO_TLS, "contoso", "contoso", TX_NO_TLS },

    /* precedence across connectors */
    { "monitor < tempfail", "198.51.100.7", PF, PLAIN, "<a@multi.example>",
      RCPT, TMP, REASON_NO_TLS, "byip", "byip,mon", TX_NO_TLS },
    { "tempfail < reject", "198.51.100.7", PF, PLAIN, "<a@contoso.com>",
      RCPT, REJ, REASON_IP_NOT_ALLOWED, "contoso", "contoso,byip", TX_IP },
    { "monitor alone", "203.0.113.9", PF, PLAIN, "<a@multi.example>", RCPT,
      MON, REASON_NO_TLS, "mon", "mon", "" },
    { "monitor on tls_version", "203.0.113.9", PF, T10,
      "<a@multi.example>", RCPT, MON, REASON_TLS_VERSION, "mon", "mon", "" },
    { "all accept: first decides", "198.51.100.7", PF, T12,
      "<a@multi.example>", RCPT, ACC, REASON_OK, "byip", "byip,mon", "" },
    { "wildcard connector rejects, exact monitors", "203.0.113.9", PF, T12,
      "<a@x.multi.example>", RCPT, REJ, REASON_TLS_VERSION, "rej2", "rej2",
      TX_V13 },
    { "three connectors, reject wins", "198.51.100.7", PF,
      T12_CERT("relay.bycert.example", "CA"), "<a@x.multi.example>", RCPT,
      REJ, REASON_TLS_VERSION, "rej2", "byip,bycert,rej2", TX_V13 },
    { "domain + cert match, both pass", "203.0.113.9", PF,
      T12_CERT("relay.bycert.example", "CA"), "<a@bits.example>", RCPT,
      MON, REASON_WEAK_CIPHER, "bits", "bits,bycert", "" },
    { "equal outcomes: first in config decides", "198.51.100.7", PF,
      PLAIN, "<a@tls13.example>", RCPT, TMP, REASON_NO_TLS, "tls13",
      "tls13,byip", TX_NO_TLS },
    { "monitor and accept: monitor", "198.51.100.7", PF,
      T12_CERT("relay.bycert.example", "CA"), "<a@bits.example>", RCPT,
      MON, REASON_WEAK_CIPHER, "bits", "bits,byip,bycert", "" },

    /* outbound */
    { "outbound plaintext", "203.0.113.9", PF, PLAIN, "<a@other.example>",
      "<b@fabrikam.com>", TMP, REASON_NO_TLS, "fabrikam", "fabrikam",
      TX_NO_TLS },
    { "outbound TLS", "203.0.113.9", PF, T12, "<a@other.example>",
      "<b@Fabrikam.COM.>", ACC, REASON_OK, "fabrikam", "fabrikam", "" },
    { "outbound below floor", "203.0.113.9", PF, T12, "<a@other.example>",
      "<b@x.northwind.example>", REJ, REASON_TLS_VERSION, "northwind",
      "northwind", TX_V13 },
    { "outbound exact and floor met", "203.0.113.9", PF, T13,
      "<a@other.example>", "<b@northwind.example>", ACC, REASON_OK,
      "northwind", "northwind", "" },
    { "outbound no session requirement", "203.0.113.9", PF, PLAIN,
      "<a@other.example>", "<b@loose.example>", ACC, REASON_OK, "loose",
      "loose", "" },
    { "outbound monitor", "203.0.113.9", PF, PLAIN, "<a@other.example>",
      "<b@watch.example>", MON, REASON_NO_TLS, "watch", "watch", "" },
    { "outbound subdomain of exact-only", "203.0.113.9", PF, PLAIN,
      "<a@other.example>", "<b@x.fabrikam.com>", ACC, REASON_OK, NULL, "",
      "" },
    { "inbound and outbound, outbound rejects", "192.0.2.7", PF, T12,
      "<a@contoso.com>", "<b@northwind.example>", REJ, REASON_TLS_VERSION,
      "northwind", "contoso,northwind", TX_V13 },
    { "inbound rejects before outbound tempfails", "192.0.2.7", PF, PLAIN,
      "<a@contoso.com>", "<b@fabrikam.com>", REJ, REASON_NO_TLS, "contoso",
      "contoso,fabrikam", TX_NO_TLS },
};

static void
run_decide_case(const struct config *config, const struct decide_case *c)
{
    struct envelope e;
    struct verdict v;
    char what[200], names[1024];
    const char *want_code = "", *want_xcode = "";

    make_envelope(&e, c->client, c->dialect, &c->tls, c->sender, c->rcpt);
    decide(config, &e, &v);

#define WHAT(f) (snprintf(what, sizeof(what), "%s: %s", c->name, f), what)
    check_str(WHAT("decision"), policy_decision_name(v.decision),
              policy_decision_name(c->decision));
    check_str(WHAT("reason"), policy_reason_name(v.reason),
              policy_reason_name(c->reason));
    check_str(WHAT("connector"), policy_deciding_name(config, &v),
              c->connector);
    matched_names(config, &v, names, sizeof(names));
    check_str(WHAT("matched"), names, c->matched);
    if (c->decision == DECISION_REJECT) {
        want_code = "550";
        want_xcode = "5.7.1";
    } else if (c->decision == DECISION_TEMPFAIL) {
        want_code = "451";
        want_xcode = "4.7.1";
    }
    check_str(WHAT("reply code"), v.reply_code, want_code);
    check_str(WHAT("reply xcode"), v.reply_xcode, want_xcode);
    check_str(WHAT("reply text"), v.reply_text, c->text);
    if (strchr(v.reply_text, '%') != NULL)
        fail_msg("%s: reply text contains '%%'", c->name);
#undef WHAT
}

static void
t_decide(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(decide_cases); i++)
        run_decide_case(main_config, &decide_cases[i]);
}

/*
 * config.c refuses TLS-only keys with require_tls = false, but policy.c
 * does not rely on it: a connector asking for a client certificate (or
 * bits, or forward secrecy) requires TLS whatever require_tls says. The
 * connector is patched in memory to get there.
 */
static const struct decide_case optcert_cases[] = {
    { "optional but cert: plaintext", "203.0.113.9", PF, PLAIN,
      "<a@optcert.example>", RCPT, REJ, REASON_NO_TLS, "optcert", "optcert",
      TX_NO_TLS },
    { "optional but cert: TLS no cert", "203.0.113.9", PF, T12,
      "<a@optcert.example>", RCPT, REJ, REASON_NO_CLIENT_CERT, "optcert",
      "optcert", TX_CERT },
    { "optional but cert: TLSv1 with cert", "203.0.113.9", PF,
      { .tls_version = "TLSv1", .cipher = "AES256-SHA", .cipher_bits = "256",
        .cert_subject = "mx.optcert.example", .cert_issuer = "CA" },
      "<a@optcert.example>", RCPT, REJ, REASON_TLS_VERSION, "optcert",
      "optcert", TX_V12 },
    { "optional but cert: ok", "203.0.113.9", PF,
      T12_CERT("mx.optcert.example", "CA"), "<a@optcert.example>", RCPT,
      ACC, REASON_OK, "optcert", "optcert", "" },
};

static const struct decide_case optbits_cases[] = {
    { "optional but bits: plaintext", "203.0.113.9", PF, PLAIN,
      "<a@bits.example>", RCPT, MON, REASON_NO_TLS, "bits", "bits", "" },
    { "optional but bits: TLSv1", "203.0.113.9", PF, T10,
      "<a@bits.example>", RCPT, MON, REASON_TLS_VERSION, "bits", "bits", "" },
    { "optional but fs: plaintext", "203.0.113.9", PF, PLAIN,
      "<a@fs.example>", RCPT, REJ, REASON_NO_TLS, "fs", "fs", TX_NO_TLS },
};

/* Find an inbound connector by name in the main configuration. */
static struct inbound_connector *
inbound_named(const char *name)
{
    size_t i;

    for (i = 0; i < main_config->inbound_count; i++)
        if (strcmp(main_config->inbound[i].name, name) == 0)
            return &main_config->inbound[i];
    fail_msg("no connector %s", name);
    return NULL;
}

static void
t_tls_implied(void **state)
{
    struct inbound_connector *optcert = inbound_named("optcert");
    struct inbound_connector *bits = inbound_named("bits");
    struct inbound_connector *fs = inbound_named("fs");
    size_t i;

    (void)state;
    optcert->require_tls = bits->require_tls = fs->require_tls = false;
    for (i = 0; i < ARRAY_LEN(optcert_cases); i++)
        run_decide_case(main_config, &optcert_cases[i]);
    for (i = 0; i < ARRAY_LEN(optbits_cases); i++)
        run_decide_case(main_config, &optbits_cases[i]);
    optcert->require_tls = bits->require_tls = fs->require_tls = true;
    for (i = 0; i < ARRAY_LEN(optcert_cases); i++)
        run_decide_case(main_config, &optcert_cases[i]);
}

/* Every action for the same failure; and the default_action. */
static void
t_actions(void **state)
{
    static const struct {
        const char *conf;
        enum decision want;
    } cases[] = {
        { "inbound = ({ name = \"a\"; sender_domains = [\"a.example\"];"
          " action = \"reject\"; });", DECISION_REJECT },
        { "inbound = ({ name = \"a\"; sender_domains = [\"a.example\"];"
          " action = \"tempfail\"; });", DECISION_TEMPFAIL },
        { "inbound = ({ name = \"a\"; sender_domains = [\"a.example\"];"
          " action = \"monitor\"; });", DECISION_MONITOR },
        { "default_action = \"monitor\";\n"
          "inbound = ({ name = \"a\"; sender_domains = [\"a.example\"]; });",
          DECISION_MONITOR },
        { "default_action = \"tempfail\";\n"
          "inbound = ({ name = \"a\"; sender_domains = [\"a.example\"]; });",
          DECISION_TEMPFAIL },
        { "inbound = ({ name = \"a\"; sender_domains = [\"a.example\"]; });",
          DECISION_REJECT },
    };
    struct tls_macros plain = PLAIN;
    struct envelope e;
    struct verdict v;
    size_t i;

    (void)state;
    make_envelope(&e, "203.0.113.9", PF, &plain, "<x@a.example>", RCPT);
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct config *config = load_ok(cases[i].conf);

        decide(config, &e, &v);
        if (v.decision != cases[i].want || v.reason != REASON_NO_TLS)
            fail_msg("action case %zu: got %s/%s, want %s/no_tls", i,
                     policy_decision_name(v.decision),
                     policy_reason_name(v.reason),
                     policy_decision_name(cases[i].want));
        config_free(config);
    }
}

/* Global floor is every connector's default floor. */
static void
t_global_floor(void **state)
{
    struct config *config = load_ok(
        "min_tls_version = \"TLSv1.3\";\n"
        "inbound = ({ name = \"a\"; sender_domains = [\"a.example\"]; });\n"
        "outbound = ({ name = \"o\"; recipient_domains = [\"o.example\"];\n"
        "  tls_settings = \"encryption-only\"; require_session_tls = true; });");
    struct tls_macros t12 = T12;
    struct envelope e;
    struct verdict v;

    (void)state;
    make_envelope(&e, "203.0.113.9", PF, &t12, "<x@a.example>", RCPT);
    decide(config, &e, &v);
    check_str("inbound global floor", policy_reason_name(v.reason),
              "tls_version");
    check_str("inbound floor text", v.reply_text, TX_V13);
    make_envelope(&e, "203.0.113.9", PF, &t12, "<x@b.example>",
                  "<y@o.example>");
    decide(config, &e, &v);
    check_str("outbound global floor", policy_reason_name(v.reason),
              "tls_version");
    check_str("outbound decision", policy_decision_name(v.decision),
              "reject");
    config_free(config);
}

/* Exactly POLICY_MAX_MATCHES connectors is fine; one more fails closed. */
static char *
many_ip_connectors(size_t n)
{
    size_t size = 64 + n * 80, used = 0, i;
    char *text = malloc(size);

    if (text == NULL)
        abort();
    used += (size_t)snprintf(text + used, size - used, "inbound = (\n");
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(text + used, size - used,
                                 "{ name = \"c%zu\"; sender_ips = "
                                 "[ \"10.%zu.%zu.0/24\", \"10.0.0.0/8\" ]; }%s\n",
                                 i, i / 256, i % 256, i + 1 < n ? "," : "");
    snprintf(text + used, size - used, ");\n");
    return text;
}

#define OVERFLOW_PREFIX "s=ov1 decision=tempfail direction=none" \
    " connector=none connectors=c0,c1,"

static void
t_overflow(void **state)
{
    struct tls_macros t12 = T12;
    struct envelope e;
    struct verdict v;
    struct config *config;
    char *text, line[4096];

    (void)state;
    make_envelope(&e, "10.1.2.3", PF, &t12, "<x@a.example>", RCPT);

    text = many_ip_connectors(POLICY_MAX_MATCHES);
    config = load_ok(text);
    free(text);
    decide(config, &e, &v);
    check_str("256 matches", policy_reason_name(v.reason), "ok");
    if (v.match_count != POLICY_MAX_MATCHES)
        fail_msg("match_count: got %zu, want %d", v.match_count,
                 POLICY_MAX_MATCHES);
    config_free(config);

    text = many_ip_connectors(POLICY_MAX_MATCHES + 1);
    config = load_ok(text);
    free(text);
    decide(config, &e, &v);
    check_str("257 matches decision", policy_decision_name(v.decision),
              "tempfail");
    check_str("257 matches reason", policy_reason_name(v.reason), "internal");
    check_str("257 matches code", v.reply_code, "451");
    check_str("257 matches xcode", v.reply_xcode, "4.7.1");
    check_str("257 matches text", v.reply_text,
              "temporary policy failure, try again later");
    check_str("257 matches deciding", policy_deciding_name(config, &v), NULL);
    if (v.match_count == 0)
        fail_msg("match_count: got 0, want > 0 so that the line is logged");
    policy_format_line(config, &v, &e.s, "ov1", "<x@a.example>", RCPT, line,
                       sizeof(line));
    if (strncmp(line, OVERFLOW_PREFIX, strlen(OVERFLOW_PREFIX)) != 0)
        fail_msg("overflow line: got \"%.80s\"", line);
    if (strstr(line, "... stage=rcpt reason=internal client=10.1.2.3 ") == NULL)
        fail_msg("overflow line: got \"%s\", want connectors cut with ..."
                 " and reason=internal", line);
    config_free(config);
}

/* Bad arguments fail closed. */
static void
t_null_inputs(void **state)
{
    struct tls_macros plain = PLAIN;
    struct envelope e;
    struct verdict v;

    (void)state;
    make_envelope(&e, "192.0.2.7", PF, &plain, "<a@contoso.com>", RCPT);
    policy_decide(NULL, &e.s, &e.sender, &e.rcpt, &v);
    check_str("NULL config", policy_reason_name(v.reason), "internal");
    check_str("NULL config code", v.reply_code, "451");
    policy_decide(main_config, NULL, &e.sender, &e.rcpt, &v);
    check_str("NULL session", policy_decision_name(v.decision), "tempfail");
    policy_decide(main_config, &e.s, NULL, &e.rcpt, &v);
    check_str("NULL sender", policy_decision_name(v.decision), "tempfail");
    policy_decide(main_config, &e.s, &e.sender, NULL, &v);
    check_str("NULL rcpt", policy_decision_name(v.decision), "tempfail");
}

/* --- names and texts ------------------------------------------------------ */

static void
t_names(void **state)
{
    static const char *const reasons[] = {
        "ok", "exempt", "no_tls", "tls_version", "weak_cipher",
        "no_forward_secrecy", "no_client_cert", "cert_name_mismatch",
        "cert_issuer_mismatch", "ip_not_allowed", "cert_not_yet_valid",
        "cert_retired", "internal",
    };
    static const char *const decisions[] = {
        "accept", "monitor", "tempfail", "reject",
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(reasons); i++) {
        const char *text = policy_default_text((enum reason)i);

        check_str("reason name", policy_reason_name((enum reason)i),
                  reasons[i]);
        if (text == NULL || text[0] == '\0' || strchr(text, '%') != NULL)
            fail_msg("default text of %s: got \"%s\", want non-empty, no %%",
                     reasons[i], text ? text : "(null)");
    }
    check_str("reason out of range", policy_reason_name((enum reason)99),
              "unknown");
    for (i = 0; i < ARRAY_LEN(decisions); i++)
        check_str("decision name", policy_decision_name((enum decision)i),
                  decisions[i]);
    check_str("no_tls text", policy_default_text(REASON_NO_TLS), TX_NO_TLS);
    check_str("cert text", policy_default_text(REASON_NO_CLIENT_CERT),
              TX_CERT);
    check_str("not yet valid text",
              policy_default_text(REASON_CERT_NOT_YET_VALID), TX_BADCERT);
    check_str("retired text", policy_default_text(REASON_CERT_RETIRED),
              TX_BADCERT);
}

/* --- log lines ------------------------------------------------------------ */

struct line_case {
    const char *name;
    const char *client;
    enum mta_dialect dialect;
    struct tls_macros tls;
    const char *sender;       /* parsed */
    const char *rcpt;         /* parsed */
    const char *sender_text;  /* as logged */
    const char *rcpt_text;
    const char *want;
};

static const struct line_case line_cases[] = {
    { "contract example", "192.0.2.7", PF, PLAIN, "<a@contoso.com>",
      "<b@example.org>", "<a@contoso.com>", "<b@example.org>",
      "s=3f2a1 decision=reject direction=inbound connector=contoso"
      " stage=rcpt reason=no_tls client=192.0.2.7 sender=<a@contoso.com>"
      " rcpt=<b@example.org> tls=none cipher=none cert=none" },
    { "brackets added", "2001:db8::25", PF, T13, "<a@contoso.com>",
      "<b@example.org>", "a@contoso.com", "b@example.org",
      "s=3f2a1 decision=accept direction=inbound connector=contoso"
      " stage=rcpt reason=ok client=2001:db8::25 sender=<a@contoso.com>"
      " rcpt=<b@example.org> tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384"
      " cert=none" },
    { "v4-mapped client logged as v4", "::ffff:192.0.2.7", PF, PLAIN, "<>",
      "<b@example.org>", "<>", "<b@example.org>",
      "s=3f2a1 decision=reject direction=inbound connector=contoso"
      " stage=rcpt reason=no_tls client=192.0.2.7 sender=<>"
      " rcpt=<b@example.org> tls=none cipher=none cert=none" },
    { "cert and issuer, several connectors", "198.51.100.7", PF,
      T12_CERT("relay.bycert.example", "Lab Root CA"), "<a@multi.example>",
      "<b@example.org>", "<a@multi.example>", "<b@example.org>",
      "s=3f2a1 decision=accept direction=inbound connector=byip"
      " connectors=byip,bycert,mon stage=rcpt reason=ok"
      " client=198.51.100.7 sender=<a@multi.example> rcpt=<b@example.org>"
      " tls=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256"
      " cert=relay.bycert.example issuer=\"Lab Root CA\"" },
    { "hostile CN escaped", "203.0.113.9", PF,
      T12_CERT("evil \"x\"\r\nfake=1 a\\b\x01", "CA\tone"), "<a@cert.example>",
      "<b@example.org>", "<a@cert.example>", "<b@example.org>",
      "s=3f2a1 decision=reject direction=inbound connector=certname"
      " stage=rcpt reason=cert_name_mismatch client=203.0.113.9"
      " sender=<a@cert.example> rcpt=<b@example.org> tls=TLSv1.2"
      " cipher=ECDHE-RSA-AES128-GCM-SHA256"
      " cert=\"evil \\\"x\\\"\\r\\nfake=1 a\\\\b\\x01\" issuer=\"CA\\tone\"" },
    { "empty CN", "203.0.113.9", PF, T12_CERT("", "CA"), "<a@cert.example>",
      "<b@example.org>", "<a@cert.example>", "<b@example.org>",
      "s=3f2a1 decision=reject direction=inbound connector=certname"
      " stage=rcpt reason=cert_name_mismatch client=203.0.113.9"
      " sender=<a@cert.example> rcpt=<b@example.org> tls=TLSv1.2"
      " cipher=ECDHE-RSA-AES128-GCM-SHA256 cert=\"\" issuer=CA" },
    { "outbound delivery", "203.0.113.9", PF, PLAIN, "<a@other.example>",
      "<b@fabrikam.com>", "<a@other.example>", "<b@fabrikam.com>",
      "s=3f2a1 decision=tempfail direction=outbound connector=fabrikam"
      " stage=rcpt reason=no_tls client=203.0.113.9 sender=<a@other.example>"
      " rcpt=<b@fabrikam.com> tls=none cipher=none cert=none"
      " delivery=domain-validation" },
    { "outbound encryption-only", "203.0.113.9", PF, T12, "<a@other.example>",
      "<b@northwind.example>", "<a@other.example>", "<b@northwind.example>",
      "s=3f2a1 decision=reject direction=outbound connector=northwind"
      " stage=rcpt reason=tls_version client=203.0.113.9"
      " sender=<a@other.example> rcpt=<b@northwind.example> tls=TLSv1.2"
      " cipher=ECDHE-RSA-AES128-GCM-SHA256 cert=none"
      " delivery=encryption-only" },
    { "inbound decides over outbound: no delivery", "192.0.2.7", PF, PLAIN,
      "<a@contoso.com>", "<b@loose.example>", "<a@contoso.com>",
      "<b@loose.example>",
      "s=3f2a1 decision=reject direction=inbound connector=contoso"
      " connectors=contoso,loose stage=rcpt reason=no_tls client=192.0.2.7"
      " sender=<a@contoso.com> rcpt=<b@loose.example> tls=none cipher=none"
      " cert=none" },
    { "no match (log_all)", "203.0.113.9", PF, T13, "<>",
      "<b@example.org>", "<>", "<b@example.org>",
      "s=3f2a1 decision=accept direction=none connector=none stage=rcpt"
      " reason=ok client=203.0.113.9 sender=<> rcpt=<b@example.org>"
      " tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 cert=none" },
    { "unknown client, hostile paths", NULL, PF, PLAIN, "<>",
      "<b@example.org>", "<a b=c@x>", NULL,
      "s=3f2a1 decision=accept direction=none connector=none stage=rcpt"
      " reason=ok client=none sender=\"<a b=c@x>\" rcpt=none tls=none"
      " cipher=none cert=none" },
    { "exempt", "203.0.113.9", PF, PLAIN, "<a@exempt.example>",
      "<Postmaster@example.org>", "<a@exempt.example>",
      "<Postmaster@example.org>",
      "s=3f2a1 decision=accept direction=inbound connector=exempt stage=rcpt"
      " reason=exempt client=203.0.113.9 sender=<a@exempt.example>"
      " rcpt=<Postmaster@example.org> tls=none cipher=none cert=none" },
    { "sendmail xtext names", "203.0.113.9", SM,
      SM_T12("OK", "mx.issuer.example", "Lab+20Root+20CA"),
      "<a@issuer.example>", "<b@example.org>", "<a@issuer.example>",
      "<b@example.org>",
      "s=3f2a1 decision=accept direction=inbound connector=issuer stage=rcpt"
      " reason=ok client=203.0.113.9 sender=<a@issuer.example>"
      " rcpt=<b@example.org> tls=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256"
      " cert=mx.issuer.example issuer=\"Lab Root CA\"" },
};

/* The verdict and line of one line case, into line. */
static size_t
format_case(const struct line_case *c, char *line, size_t linesz)
{
    struct envelope e;
    struct verdict v;

    make_envelope(&e, c->client, c->dialect, &c->tls, c->sender, c->rcpt);
    decide(main_config, &e, &v);
    return policy_format_line(main_config, &v, &e.s, "3f2a1", c->sender_text,
                              c->rcpt_text, line, linesz);
}

static void
t_format_line(void **state)
{
    char line[4096];
    size_t i, n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(line_cases); i++) {
        n = format_case(&line_cases[i], line, sizeof(line));
        check_str(line_cases[i].name, line, line_cases[i].want);
        if (n != strlen(line))
            fail_msg("%s: returned %zu, want %zu", line_cases[i].name, n,
                     strlen(line));
        if (strpbrk(line, "\r\n") != NULL)
            fail_msg("%s: line contains CR or LF", line_cases[i].name);
    }
}

/* A small buffer gets a prefix of the line, terminated. */
static void
t_format_truncated(void **state)
{
    const struct line_case *c = &line_cases[0];
    char full[4096], small[40];
    size_t n;

    (void)state;
    format_case(c, full, sizeof(full));
    memset(small, 'X', sizeof(small));
    n = format_case(c, small, sizeof(small));
    if (n != sizeof(small) - 1)
        fail_msg("truncated length: got %zu, want %zu", n, sizeof(small) - 1);
    /* log.h: a cut line ends in "..." */
    if (strncmp(small, full, sizeof(small) - 4) != 0 ||
        strcmp(small + sizeof(small) - 4, "...") != 0)
        fail_msg("truncated: got \"%.40s\", want a prefix of \"%s\" and"
                 " \"...\"", small, full);
    /* A line that just fits is not marked. */
    {
        char exact[4096];

        n = format_case(c, exact, strlen(full) + 1);
        check_str("line that just fits", exact, full);
        if (n != strlen(full))
            fail_msg("just fits: returned %zu, want %zu", n, strlen(full));
    }
    n = format_case(c, small, 1);
    if (n != 0 || small[0] != '\0')
        fail_msg("size 1: got %zu \"%s\", want 0 \"\"", n, small);
}

/* Huge hostile values stay one bounded line. */
static void
t_format_long_values(void **state)
{
    struct line_case c = line_cases[4];
    char cn[2000], want[2 * TLSFACTS_NAME_MAX + 16], path[1000];
    char line[8192];
    size_t n, i;

    (void)state;
    memset(cn, '\n', sizeof(cn) - 1);
    cn[sizeof(cn) - 1] = '\0';
    c.tls.cert_subject = cn;
    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    c.sender_text = path;
    n = format_case(&c, line, sizeof(line));
    if (strpbrk(line, "\r\n") != NULL)
        fail_msg("long CN: line contains CR or LF");
    /*
     * tlsfacts keeps TLSFACTS_NAME_MAX - 1 bytes: TLSFACTS_NAME_MAX - 4 of
     * them, each logged as "\n", then the cut marker "...".
     */
    n = (size_t)snprintf(want, sizeof(want), " cert=\"");
    for (i = 0; i < TLSFACTS_NAME_MAX - 4; i++)
        n += (size_t)snprintf(want + n, sizeof(want) - n, "\\n");
    snprintf(want + n, sizeof(want) - n, "...\" issuer=");
    if (strstr(line, want) == NULL)
        fail_msg("long CN: got \"%s\", want it to contain \"%s\"", line,
                 want);
    if (strstr(line, " sender=<ppp") == NULL ||
        strstr(line, "ppp... rcpt=") == NULL)
        fail_msg("long sender: got \"%s\", want it cut with ...", line);
    if (strlen(line) > 1500)
        fail_msg("long values: got %zu bytes, want <= 1500", strlen(line));
}

static int
setup(void **state)
{
    (void)state;
    if (!tlsfacts_init())
        return -1;
    main_config = load_ok(main_conf);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    config_free(main_config);
    tlsfacts_shutdown();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_decide),
        cmocka_unit_test(t_tls_implied),
        cmocka_unit_test(t_actions),
        cmocka_unit_test(t_global_floor),
        cmocka_unit_test(t_overflow),
        cmocka_unit_test(t_null_inputs),
        cmocka_unit_test(t_names),
        cmocka_unit_test(t_format_line),
        cmocka_unit_test(t_format_truncated),
        cmocka_unit_test(t_format_long_values),
    };

    return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
