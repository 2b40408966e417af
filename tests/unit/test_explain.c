/*
 * test_explain.c - unit tests for forcetls explain (explain.c and its
 * printers): every refused command line with its exact message, the facts
 * it builds (OpenSSL's bits for a cipher, the null sender, at=), a golden
 * text and a golden JSON output for a small configuration, the words of
 * each check's other outcomes (windows, names, exemption, no match), and the last
 * line of each recipient equal to what policy_format_line gives for the
 * same facts built as the daemon builds them (policy_decide, not the
 * traced variant), for every outcome of that configuration.
 */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "config_syntax.h"
#include "explain.h"
#include "log.h"
#include "policy.h"
#include "tlsfacts.h"
#include "testutil.h"

static const char golden_conf[] =
    "default_action = \"reject\";\n"
    "min_tls_version = \"TLSv1.2\";\n"
    "inbound = (\n"
    "  { name = \"contoso\";\n"
    "    sender_domains = [ \"contoso.com\" ];\n"
    "    certificates = (\n"
    "      { names = [ \"mail.contoso.com\" ]; issuers = [ \"Old Issuing CA\" ];\n"
    "        valid_until = \"2027-03-01\"; },\n"
    "      { names = [ \"mail.contoso.com\" ]; issuers = [ \"New Issuing CA\" ];\n"
    "        valid_from = \"2027-02-01\"; }\n"
    "    );\n"
    "    monitor_until = \"2027-01-15\";\n"
    "    tempfail_until = \"2027-02-01\"; },\n"
    "  { name = \"woodgrove\"; sender_ips = [ \"198.51.100.0/24\" ];\n"
    "    min_cipher_bits = 256; require_forward_secrecy = true;\n"
    "    exempt_recipients = [ \"postmaster@example.org\" ]; }\n"
    ");\n"
    "outbound = (\n"
    "  { name = \"fabrikam\"; recipient_domains = [ \"fabrikam.com\" ];\n"
    "    tls_settings = \"encryption-only\"; require_session_tls = true; }\n"
    ");\n";

static char conf_path[256];
static struct config *conf;

/* A NULL-terminated word list. */
#define WORDS(...) ((const char *[]){ __VA_ARGS__, NULL })

/* Count a NULL-terminated word list. */
static int count_words(const char *const *words)
{
    int n = 0;

    while (words[n] != NULL)
        n++;
    return n;
}

/* explain_parse of words, judged at 2027-01-01 unless at= says otherwise. */
static enum explain_parse_result parse(const char *const *words,
                                       struct explain_request *req, char *err,
                                       size_t errsz)
{
    return explain_parse(count_words(words), (char **)words, 1798761600, req,
                         err, errsz);
}

/* The output of explain_print for words, with the file's name as CONF. */
static char *explain_output(const char *const *words)
{
    struct explain_request req;
    char err[EXPLAIN_ERR_MAX], *buf = NULL, *p;
    size_t len = 0, plen = strlen(conf_path);
    FILE *out = open_memstream(&buf, &len);

    if (out == NULL)
        fail_msg("open_memstream failed");
    if (parse(words, &req, err, sizeof err) != EXPLAIN_PARSE_OK)
        fail_msg("explain_parse: got error \"%s\", want success", err);
    req.config_path = conf_path;
    if (!explain_print(conf, &req, out))
        fail_msg("explain_print: got false, want true");
    explain_request_free(&req);
    fclose(out);
    while ((p = strstr(buf, conf_path)) != NULL) {
        memcpy(p, "CONF", 4);
        memmove(p + 4, p + plen, strlen(p + plen) + 1);
    }
    return buf;
}

static int setup(void **state)
{
    (void)state;
    if (!tlsfacts_init())
        return -1;
    write_tmp(conf_path, sizeof conf_path, golden_conf);
    conf = load_ok(golden_conf);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    config_free(conf);
    unlink(conf_path);
    tlsfacts_shutdown();
    return 0;
}

/* ---- refused command lines ---------------------------------------------- */

struct bad_case {
    const char *const *words;
    const char *want;
};

static void test_parse_errors(void **state)
{
    const struct bad_case cases[] = {
        { WORDS("sender=a@contoso.com"), "no rcpt=: give at least one recipient" },
        { WORDS("rcpt=a@b.example", "colour=blue"),
          "unknown key \"colour\" (keys: sender, rcpt, client, tls, cipher, "
          "bits, cert, issuer, at)" },
        { WORDS("rcpt=a@b.example", "=x"),
          "unknown key \"\" (keys: sender, rcpt, client, tls, cipher, bits, "
          "cert, issuer, at)" },
        { WORDS("rcpt=a@b.example", "tls"), "\"tls\" is not KEY=VALUE" },
        { WORDS("-x", "rcpt=a@b.example"), "unknown option \"-x\"" },
        { WORDS("rcpt=a@b.example", "-c"), "-c needs a FILE" },
        { WORDS("-c", "a", "-c", "b", "rcpt=a@b.example"), "-c given twice" },
        { WORDS("--json", "rcpt=a@b.example", "--json"), "--json given twice" },
        { WORDS("rcpt=a@b.example", "sender=a@b.example", "sender=c@d.example"),
          "sender= given twice (only rcpt= repeats)" },
        { WORDS("rcpt=a@b.example", "at=2027-01-01", "at=2027-01-02"),
          "at= given twice (only rcpt= repeats)" },
        { WORDS("rcpt=a@b.example", "tls=TLSv1.2", "tls=TLSv1.3"),
          "tls= given twice (only rcpt= repeats)" },
        { WORDS("rcpt=a@"), "rcpt: \"a@\": not an address" },
        { WORDS("rcpt=<>"), "rcpt: \"<>\": the null path is no recipient" },
        { WORDS("rcpt=a@b.example", "sender=a b@c.example"),
          "sender: \"a b@c.example\": not an address (<> is the null sender)" },
        { WORDS("rcpt=a@b.example", "client=192.0.2"),
          "client: \"192.0.2\": not an IP address" },
        { WORDS("rcpt=a@b.example", "tls=SSLv3"),
          "tls: \"SSLv3\": must be TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 or none" },
        { WORDS("rcpt=a@b.example", "tls="),
          "tls: \"\": must be TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 or none" },
        { WORDS("rcpt=a@b.example", "tls=TLSv1.2", "bits=12x"),
          "bits: \"12x\": must be a whole number from 0 to 100000" },
        { WORDS("rcpt=a@b.example", "tls=TLSv1.2", "bits=100001"),
          "bits: \"100001\": must be a whole number from 0 to 100000" },
        { WORDS("rcpt=a@b.example", "at=2027-02-30"),
          "at: \"2027-02-30\": no such day in that month" },
        { WORDS("rcpt=a@b.example", "at=2027-02-03 10:00"),
          "at: \"2027-02-03 10:00\": not a date: use YYYY-MM-DD or "
          "YYYY-MM-DDTHH:MM:SSZ (UTC)" },
        { WORDS("rcpt=a@b.example", "tls=TLSv1.2", "cipher=NO-SUCH-CIPHER"),
          "cipher: \"NO-SUCH-CIPHER\": not a cipher OpenSSL knows: give bits= too" },
        { WORDS("rcpt=a@b.example", "tls=TLSv1.2", "cipher="),
          "cipher: \"\": empty" },
        { WORDS("rcpt=a@b.example", "cipher=AES256-SHA"),
          "cipher= needs tls=VERSION: a plaintext session has no cipher" },
        { WORDS("rcpt=a@b.example", "tls=none", "bits=128"),
          "bits= needs tls=VERSION: a plaintext session has no cipher" },
        { WORDS("rcpt=a@b.example", "cert=mail.contoso.com"),
          "cert= needs tls=VERSION: a plaintext session has no certificate" },
        { WORDS("rcpt=a@b.example", "tls=TLSv1.3", "issuer=Some CA"),
          "issuer= needs cert=: Postfix passes the issuer only with a "
          "certificate it verified" },
        { WORDS("rcpt=a@b.example", "cert=x\ny"),
          "cert= needs tls=VERSION: a plaintext session has no certificate" },
        { WORDS("rcpt=a@b.example", "sender=\x01@x"),
          "sender: \"\\x01@x\": not an address (<> is the null sender)" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct explain_request req;
        char err[EXPLAIN_ERR_MAX], what[64];
        enum explain_parse_result r = parse(cases[i].words, &req, err, sizeof err);

        snprintf(what, sizeof what, "case %zu (%s ...)", i, cases[i].words[0]);
        check_int(what, r, EXPLAIN_PARSE_ERROR);
        check_str(what, err, cases[i].want);
        explain_request_free(&req);
    }
}

static void test_parse_help(void **state)
{
    struct explain_request req;
    char err[EXPLAIN_ERR_MAX];

    (void)state;
    check_int("explain -h", parse(WORDS("rcpt=a@b.example", "-h"), &req, err,
                                  sizeof err), EXPLAIN_PARSE_HELP);
    explain_request_free(&req);
}

/* ---- the facts ---------------------------------------------------------- */

struct bits_case {
    const char *cipher;
    int bits;
    bool forward_secret;
};

static void test_cipher_bits_from_openssl(void **state)
{
    static const struct bits_case cases[] = {
        { "ECDHE-RSA-AES256-GCM-SHA384", 256, true },
        { "ECDHE-RSA-AES128-GCM-SHA256", 128, true },
        { "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 128, true },  /* IANA */
        { "AES256-SHA", 256, false },
        { "TLS_AES_256_GCM_SHA384", 256, true },
        { "TLS_CHACHA20_POLY1305_SHA256", 256, true },
        { "TLS_AES_128_CCM_8_SHA256", 128, true },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct explain_request req;
        char err[EXPLAIN_ERR_MAX], cipher[128];

        snprintf(cipher, sizeof cipher, "cipher=%s", cases[i].cipher);
        if (parse(WORDS("rcpt=a@b.example", "tls=TLSv1.2", cipher), &req, err,
                  sizeof err) != EXPLAIN_PARSE_OK)
            fail_msg("%s: got error \"%s\", want success", cipher, err);
        check_int_in("bits", cases[i].cipher, req.session.tls.cipher_bits,
                     cases[i].bits);
        check_bool_in("bits_from_openssl", cases[i].cipher,
                      req.bits_from_openssl, true);
        check_bool_in("forward_secret", cases[i].cipher,
                      req.session.tls.forward_secret, cases[i].forward_secret);
        explain_request_free(&req);
    }
}

static void test_facts(void **state)
{
    struct explain_request req;
    char err[EXPLAIN_ERR_MAX];

    (void)state;
    /* bits= wins over OpenSSL; at= sets now; client=none is no address. */
    if (parse(WORDS("rcpt=a@b.example", "rcpt=<c@d.example>", "tls=TLSv1.3",
                    "cipher=TLS_AES_256_GCM_SHA384", "bits=7", "client=none",
                    "at=2027-02-01T12:00:00Z", "cert=Mail.Contoso.COM",
                    "issuer=New Issuing CA", "--json", "-c", "/x.conf"),
              &req, err, sizeof err) != EXPLAIN_PARSE_OK)
        fail_msg("got error \"%s\", want success", err);
    check_int("bits", req.session.tls.cipher_bits, 7);
    check_bool_in("bits_from_openssl", "bits=7", req.bits_from_openssl, false);
    check_int("now", req.now, 1801483200);
    check_int("session.now", req.session.now, 1801483200);
    check_bool_in("at_given", "at=", req.at_given, true);
    check_bool_in("have_client_ip", "client=none", req.session.have_client_ip, false);
    check_bool_in("cert_verified", "cert=", req.session.tls.cert_verified, true);
    check_str("cert_cn", req.session.tls.cert_cn, "Mail.Contoso.COM");
    check_str("issuer_cn", req.session.tls.issuer_cn, "New Issuing CA");
    check_bool_in("json", "--json", req.json, true);
    check_str("config_path", req.config_path, "/x.conf");
    check_int("rcpt_count", (long long)req.rcpt_count, 2);
    check_str("rcpt[1]", req.rcpt[1].address, "c@d.example");
    check_str("sender_text", req.sender_text, "<>");
    check_bool_in("sender null_path", "(absent)", req.sender.null_path, true);
    explain_request_free(&req);

    /* sender= (a log line's <> without brackets) is the null sender too;
     * tls=none and no at=: plaintext, judged at the caller's now. */
    if (parse(WORDS("rcpt=a@b.example", "sender=", "tls=none"), &req, err,
              sizeof err) != EXPLAIN_PARSE_OK)
        fail_msg("got error \"%s\", want success", err);
    check_bool_in("sender null_path", "sender=", req.sender.null_path, true);
    check_bool_in("tls", "tls=none", req.session.tls.tls, false);
    check_int("now", req.now, 1798761600);
    check_bool_in("at_given", "(absent)", req.at_given, false);
    check_str("config_path", req.config_path, CONFIG_DEFAULT_PATH);
    explain_request_free(&req);
}

/* ---- golden outputs ----------------------------------------------------- */

#define GOLDEN_WORDS \
    WORDS("at=2027-01-20", "sender=a@contoso.com", "rcpt=bob@example.org", \
          "rcpt=<carol@fabrikam.com>", "client=192.0.2.7", "tls=TLSv1.2", \
          "cipher=ECDHE-RSA-AES128-GCM-SHA256", "cert=mail.contoso.com", \
          "issuer=Contoso Root CA")

static const char golden_text[] =
    "configuration CONF, judged at 2027-01-20T00:00:00Z\n"
    "session: client 192.0.2.7; TLSv1.2, cipher ECDHE-RSA-AES128-GCM-SHA256, "
    "128 bits (OpenSSL's value), forward-secret; verified certificate "
    "mail.contoso.com issued by \"Contoso Root CA\"\n"
    "sender: a@contoso.com\n"
    "\n"
    "recipient bob@example.org\n"
    "  inbound connector contoso (line 4), matched by sender domain contoso.com, "
    "certificate name mail.contoso.com\n"
    "    exempt recipient  -     no exempt_recipients\n"
    "    client address    -     not required: sender_ips are not set beside "
    "sender_domains\n"
    "    TLS               ok    a TLS session (TLSv1.2)\n"
    "    TLS version       ok    TLSv1.2, at least the floor TLSv1.2\n"
    "    cipher bits       -     not required (no min_cipher_bits)\n"
    "    forward secrecy   -     not required (require_forward_secrecy is false)\n"
    "    certificate       FAIL  certificate mail.contoso.com issued by "
    "\"Contoso Root CA\": no identity naming it accepts that issuer (line 7 "
    "accepts \"Old Issuing CA\"; line 9 accepts \"New Issuing CA\"). issuers "
    "must list the issuing (intermediate) CA's CN as Postfix passes it; the "
    "partner's root CA belongs in smtpd_tls_CAfile (Postfix) or confCACERT "
    "(Sendmail)\n"
    "    schedule                tempfail phase until 2027-02-01T00:00:00Z: a "
    "failure gets 451; then the action (reject)\n"
    "    outcome                 tempfail, reason cert_issuer_mismatch (would be "
    "reject)\n"
    "  outcome: tempfail, reason cert_issuer_mismatch, decided by inbound "
    "connector contoso; its schedule softened it: would be reject\n"
    "  reply: 451 4.7.1 client certificate not accepted\n"
    "s=explain decision=tempfail would=reject direction=inbound "
    "connector=contoso stage=rcpt reason=cert_issuer_mismatch client=192.0.2.7 "
    "sender=<a@contoso.com> rcpt=<bob@example.org> tls=TLSv1.2 "
    "cipher=ECDHE-RSA-AES128-GCM-SHA256 cert=mail.contoso.com "
    "issuer=\"Contoso Root CA\"\n"
    "\n"
    "recipient <carol@fabrikam.com>\n"
    "  inbound connector contoso (line 4), matched by sender domain contoso.com, "
    "certificate name mail.contoso.com\n"
    "    exempt recipient  -     no exempt_recipients\n"
    "    client address    -     not required: sender_ips are not set beside "
    "sender_domains\n"
    "    TLS               ok    a TLS session (TLSv1.2)\n"
    "    TLS version       ok    TLSv1.2, at least the floor TLSv1.2\n"
    "    cipher bits       -     not required (no min_cipher_bits)\n"
    "    forward secrecy   -     not required (require_forward_secrecy is false)\n"
    "    certificate       FAIL  certificate mail.contoso.com issued by "
    "\"Contoso Root CA\": no identity naming it accepts that issuer (line 7 "
    "accepts \"Old Issuing CA\"; line 9 accepts \"New Issuing CA\"). issuers "
    "must list the issuing (intermediate) CA's CN as Postfix passes it; the "
    "partner's root CA belongs in smtpd_tls_CAfile (Postfix) or confCACERT "
    "(Sendmail)\n"
    "    schedule                tempfail phase until 2027-02-01T00:00:00Z: a "
    "failure gets 451; then the action (reject)\n"
    "    outcome                 tempfail, reason cert_issuer_mismatch (would be "
    "reject)\n"
    "  outbound connector fabrikam (line 19), matched by recipient domain "
    "fabrikam.com\n"
    "    TLS               ok    a TLS session (TLSv1.2)\n"
    "    TLS version       ok    TLSv1.2, at least the floor TLSv1.2\n"
    "    schedule                no schedule: a failure gets the action (reject)\n"
    "    outcome                 accept, reason ok\n"
    "  outcome: tempfail, reason cert_issuer_mismatch, decided by inbound "
    "connector contoso; its schedule softened it: would be reject\n"
    "  reply: 451 4.7.1 client certificate not accepted\n"
    "  tlspolicy fabrikam.com: OK encrypt protocols=>=TLSv1.2\n"
    "  transport carol@fabrikam.com: NOTFOUND\n"
    "s=explain decision=tempfail would=reject direction=inbound "
    "connector=contoso connectors=contoso,fabrikam stage=rcpt "
    "reason=cert_issuer_mismatch client=192.0.2.7 sender=<a@contoso.com> "
    "rcpt=<carol@fabrikam.com> tls=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 "
    "cert=mail.contoso.com issuer=\"Contoso Root CA\"\n";

/* The checks of contoso in GOLDEN_WORDS, as JSON. */
#define GOLDEN_CONTOSO_JSON \
    "{\"name\":\"contoso\",\"direction\":\"inbound\",\"line\":4," \
    "\"matched_by\":[\"sender_domain\",\"certificate_name\"],\"checks\":[" \
    "{\"check\":\"exempt\",\"result\":\"skipped\",\"detail\":\"no exempt_recipients\"}," \
    "{\"check\":\"sender_ip\",\"result\":\"skipped\",\"detail\":\"not required: " \
    "sender_ips are not set beside sender_domains\"}," \
    "{\"check\":\"tls\",\"result\":\"ok\",\"detail\":\"a TLS session (TLSv1.2)\"}," \
    "{\"check\":\"tls_version\",\"result\":\"ok\",\"detail\":\"TLSv1.2, at least " \
    "the floor TLSv1.2\"}," \
    "{\"check\":\"cipher_bits\",\"result\":\"skipped\",\"detail\":\"not required " \
    "(no min_cipher_bits)\"}," \
    "{\"check\":\"forward_secrecy\",\"result\":\"skipped\",\"detail\":\"not " \
    "required (require_forward_secrecy is false)\"}," \
    "{\"check\":\"certificate\",\"result\":\"fail\",\"detail\":\"certificate " \
    "mail.contoso.com issued by \\\"Contoso Root CA\\\": no identity naming it " \
    "accepts that issuer (line 7 accepts \\\"Old Issuing CA\\\"; line 9 accepts " \
    "\\\"New Issuing CA\\\"). issuers must list the issuing (intermediate) CA's " \
    "CN as Postfix passes it; the partner's root CA belongs in smtpd_tls_CAfile " \
    "(Postfix) or confCACERT (Sendmail)\"}]," \
    "\"identity\":null,\"phase\":\"tempfail\"," \
    "\"monitor_until\":\"2027-01-15T00:00:00Z\"," \
    "\"tempfail_until\":\"2027-02-01T00:00:00Z\",\"decision\":\"tempfail\"," \
    "\"reason\":\"cert_issuer_mismatch\",\"would\":\"reject\"}"

static const char golden_json[] =
    "{\"config\":\"CONF\",\"at\":\"2027-01-20T00:00:00Z\","
    "\"session\":{\"sender\":\"a@contoso.com\",\"client\":\"192.0.2.7\","
    "\"tls\":\"TLSv1.2\",\"cipher\":\"ECDHE-RSA-AES128-GCM-SHA256\",\"bits\":128,"
    "\"bits_from_openssl\":true,\"forward_secret\":true,"
    "\"cert\":\"mail.contoso.com\",\"issuer\":\"Contoso Root CA\"},"
    "\"recipients\":["
    "{\"rcpt\":\"bob@example.org\",\"connectors\":[" GOLDEN_CONTOSO_JSON "],"
    "\"connector\":\"contoso\",\"decision\":\"tempfail\","
    "\"reason\":\"cert_issuer_mismatch\",\"would\":\"reject\","
    "\"reply\":\"451 4.7.1 client certificate not accepted\",\"logged\":true,"
    "\"tlspolicy\":null,\"transport\":null,"
    "\"line\":\"s=explain decision=tempfail would=reject direction=inbound "
    "connector=contoso stage=rcpt reason=cert_issuer_mismatch client=192.0.2.7 "
    "sender=<a@contoso.com> rcpt=<bob@example.org> tls=TLSv1.2 "
    "cipher=ECDHE-RSA-AES128-GCM-SHA256 cert=mail.contoso.com "
    "issuer=\\\"Contoso Root CA\\\"\"},"
    "{\"rcpt\":\"<carol@fabrikam.com>\",\"connectors\":[" GOLDEN_CONTOSO_JSON ","
    "{\"name\":\"fabrikam\",\"direction\":\"outbound\",\"line\":19,"
    "\"matched_by\":[\"recipient_domain\"],\"checks\":["
    "{\"check\":\"tls\",\"result\":\"ok\",\"detail\":\"a TLS session (TLSv1.2)\"},"
    "{\"check\":\"tls_version\",\"result\":\"ok\",\"detail\":\"TLSv1.2, at least "
    "the floor TLSv1.2\"}],\"identity\":null,\"phase\":\"enforce\","
    "\"monitor_until\":null,\"tempfail_until\":null,\"decision\":\"accept\","
    "\"reason\":\"ok\",\"would\":null}],"
    "\"connector\":\"contoso\",\"decision\":\"tempfail\","
    "\"reason\":\"cert_issuer_mismatch\",\"would\":\"reject\","
    "\"reply\":\"451 4.7.1 client certificate not accepted\",\"logged\":true,"
    "\"tlspolicy\":\"OK encrypt protocols=>=TLSv1.2\",\"transport\":\"NOTFOUND\","
    "\"line\":\"s=explain decision=tempfail would=reject direction=inbound "
    "connector=contoso connectors=contoso,fabrikam stage=rcpt "
    "reason=cert_issuer_mismatch client=192.0.2.7 sender=<a@contoso.com> "
    "rcpt=<carol@fabrikam.com> tls=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 "
    "cert=mail.contoso.com issuer=\\\"Contoso Root CA\\\"\"}]}\n";

/* Compare line by line, so that a failure names the first differing line. */
static void check_lines(const char *what, const char *got, const char *want)
{
    int line = 1;

    while (*got != '\0' || *want != '\0') {
        size_t g = strcspn(got, "\n"), w = strcspn(want, "\n");
        char gl[2048], wl[2048];

        if (g != w || memcmp(got, want, g) != 0) {
            snprintf(gl, sizeof gl, "%.*s", (int)g, got);
            snprintf(wl, sizeof wl, "%.*s", (int)w, want);
            fail_msg("%s line %d: got \"%s\", want \"%s\"", what, line, gl, wl);
        }
        got += g + (got[g] == '\n');
        want += w + (want[w] == '\n');
        line++;
    }
}

static void test_golden_text(void **state)
{
    char *out = explain_output(GOLDEN_WORDS);

    (void)state;
    check_lines("text", out, golden_text);
    check_str("text", out, golden_text);
    free(out);
}

static void test_golden_json(void **state)
{
    const char *const *words = WORDS("--json", "at=2027-01-20",
        "sender=a@contoso.com", "rcpt=bob@example.org", "rcpt=<carol@fabrikam.com>",
        "client=192.0.2.7", "tls=TLSv1.2", "cipher=ECDHE-RSA-AES128-GCM-SHA256",
        "cert=mail.contoso.com", "issuer=Contoso Root CA");
    char *out = explain_output(words);

    (void)state;
    check_str("json", out, golden_json);
    free(out);
}

/* Bytes that are not valid UTF-8 or are control characters stay valid JSON. */
static void test_json_escaping(void **state)
{
    const char *const *words = WORDS("--json", "at=2027-01-20", "rcpt=x@y.example",
        "tls=TLSv1.2", "bits=1", "cipher=a\"b\\c\td\x01\x7f\xc3\xa9\xff\xe2\x82",
        "cert=\xed\xa0\x80", "issuer=ok \xf0\x9f\x98\x80");
    char *out = explain_output(words);

    (void)state;
    if (strstr(out, "\"cipher\":\"a\\\"b\\\\c\\td\\u0001\\u007f\xc3\xa9\\\\xff"
                    "\\\\xe2\\\\x82\"") == NULL)
        fail_msg("cipher: got %s, want it escaped", out);
    if (strstr(out, "\"cert\":\"\\\\xed\\\\xa0\\\\x80\"") == NULL)
        fail_msg("cert (a surrogate): got %s, want \\\\xHH", out);
    if (strstr(out, "\"issuer\":\"ok \xf0\x9f\x98\x80\"") == NULL)
        fail_msg("issuer (4-byte UTF-8): got %s, want it as is", out);
    free(out);
}

/* ---- the words of other outcomes ---------------------------------------- */

struct words_case {
    const char *const *words;
    const char *want;            /* a substring of the output */
};

static void test_words(void **state)
{
    const struct words_case cases[] = {
        { WORDS("at=2027-01-20", "rcpt=x@example.org", "sender=a@unrelated.example"),
          "  outcome: accept: no connector matched; the daemon logs this line "
          "only with log_all = true (here log_all = false, so it does not)\n"
          "  reply: none, the recipient is accepted\n"
          "s=explain decision=accept direction=none connector=none stage=rcpt "
          "reason=ok client=none sender=<a@unrelated.example> rcpt=<x@example.org> "
          "tls=none cipher=none cert=none\n" },
        { WORDS("--json", "at=2027-01-20", "rcpt=x@example.org"),
          "\"connectors\":[],\"connector\":null,\"decision\":\"accept\","
          "\"reason\":\"ok\",\"would\":null,\"reply\":null,\"logged\":false," },
        { WORDS("at=2027-03-01", "sender=a@contoso.com", "rcpt=b@example.org",
                "tls=TLSv1.3", "cipher=TLS_AES_256_GCM_SHA384",
                "cert=mail.contoso.com", "issuer=old issuing ca"),
          "FAIL  certificate mail.contoso.com issued by \"old issuing ca\" is "
          "no longer accepted at 2027-03-01T00:00:00Z: identity of line 7, "
          "valid until 2027-03-01T00:00:00Z\n" },
        { WORDS("at=2027-01-31T23:59:59Z", "sender=a@contoso.com",
                "rcpt=b@example.org", "tls=TLSv1.3", "cipher=TLS_AES_256_GCM_SHA384",
                "cert=mail.contoso.com", "issuer=New Issuing CA"),
          "FAIL  certificate mail.contoso.com issued by \"New Issuing CA\" is "
          "not yet accepted at 2027-01-31T23:59:59Z: identity of line 9, valid "
          "from 2027-02-01T00:00:00Z\n" },
        { WORDS("at=2027-02-01", "sender=a@contoso.com", "rcpt=b@example.org",
                "tls=TLSv1.3", "cipher=TLS_AES_256_GCM_SHA384",
                "cert=mail.contoso.com", "issuer=New Issuing CA"),
          "ok    certificate mail.contoso.com issued by \"New Issuing CA\", "
          "accepted by the identity of line 9: names mail.contoso.com; issuers "
          "\"New Issuing CA\"; valid from 2027-02-01T00:00:00Z\n" },
        { WORDS("at=2027-02-01", "sender=a@contoso.com", "rcpt=b@example.org",
                "tls=TLSv1.3", "cipher=TLS_AES_256_GCM_SHA384",
                "cert=mx.contoso.com", "issuer=New Issuing CA"),
          "FAIL  certificate name mx.contoso.com matches no identity's names "
          "(mail.contoso.com)\n" },
        { WORDS("at=2027-01-10", "sender=a@contoso.com", "rcpt=b@example.org",
                "tls=TLSv1.1", "cipher=ECDHE-RSA-AES128-SHA"),
          "    TLS version       FAIL  TLS version TLSv1.1 below the floor TLSv1.2\n"
          "    cipher bits       -     not reached: the TLS version check failed\n" },
        { WORDS("at=2027-01-10", "sender=a@contoso.com", "rcpt=b@example.org",
                "tls=TLSv1.3", "cipher=TLS_AES_256_GCM_SHA384"),
          "    certificate       FAIL  no client certificate the MTA verified "
          "(no cert=); Postfix passes one only with smtpd_tls_ask_ccert = yes "
          "and the partner's root CA in smtpd_tls_CAfile\n"
          "    schedule                monitor phase until 2027-01-15T00:00:00Z: "
          "a failure is only logged; then 451 until 2027-02-01T00:00:00Z, then "
          "the action (reject)\n"
          "    outcome                 monitor, reason no_client_cert (would be "
          "reject)\n" },
        { WORDS("at=2027-01-10", "sender=x@y.example", "rcpt=b@example.org",
                "client=198.51.100.4", "tls=TLSv1.2", "cipher=AES256-SHA"),
          "    cipher bits       ok    cipher AES256-SHA has 256 bits (OpenSSL's "
          "value), at least min_cipher_bits = 256\n"
          "    forward secrecy   FAIL  cipher AES256-SHA has no forward secrecy "
          "(OpenSSL knows no ECDHE or DHE key exchange for it)\n" },
        { WORDS("at=2027-01-10", "rcpt=<Postmaster@Example.ORG>",
                "client=198.51.100.4"),
          "    exempt recipient  ok    recipient postmaster@example.org is in "
          "exempt_recipients: this connector accepts it whatever the session\n"
          "    client address    -     not checked: the recipient is exempt\n" },
        { WORDS("at=2027-01-10", "rcpt=c@fabrikam.com"),
          "    TLS               FAIL  plaintext: require_session_tls wants the "
          "session handing over the mail encrypted\n" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *out = explain_output(cases[i].words);

        if (strstr(out, cases[i].want) == NULL)
            fail_msg("case %zu: got \"%s\", want it to contain \"%s\"", i, out,
                     cases[i].want);
        free(out);
    }
}

/* ---- the decision line is the daemon's ---------------------------------- */

struct line_case {
    const char *sender;          /* as the MTA passes it */
    const char *rcpt;
    const char *client;          /* NULL: none */
    const char *tls, *cipher, *bits, *cert, *issuer;   /* macros; NULL: absent */
    const char *at;
    const char *want_decision;   /* the line must say so (the case is meant) */
};

/* The last line of out (without its newline) into buf. */
static void last_line(const char *out, char *buf, size_t bufsz)
{
    size_t len = strlen(out);
    const char *start;

    if (len > 0 && out[len - 1] == '\n')
        len--;
    start = out + len;
    while (start > out && start[-1] != '\n')
        start--;
    snprintf(buf, bufsz, "%.*s", (int)(len - (size_t)(start - out)), start);
}

static void test_line_is_the_daemons(void **state)
{
    static const struct line_case cases[] = {
        { "<a@contoso.com>", "<b@example.org>", "192.0.2.7", "TLSv1.2",
          "ECDHE-RSA-AES128-GCM-SHA256", "128", "mail.contoso.com",
          "Old Issuing CA", "2027-01-20", "decision=accept " },
        { "<a@contoso.com>", "<b@example.org>", "192.0.2.7", "TLSv1.2",
          "ECDHE-RSA-AES128-GCM-SHA256", "128", "mail.contoso.com",
          "Old Issuing CA", "2027-03-01", "reason=cert_retired" },
        { "<a@contoso.com>", "<b@example.org>", "192.0.2.7", "TLSv1.3",
          "TLS_AES_256_GCM_SHA384", "256", "mail.contoso.com",
          "New Issuing CA", "2027-01-31T23:59:59Z",
          "decision=tempfail would=reject" },
        { "<a@contoso.com>", "<b@example.org>", NULL, NULL, NULL, NULL, NULL,
          NULL, "2027-01-10", "decision=monitor would=reject" },
        { "<a@contoso.com>", "<b@example.org>", NULL, "TLSv1.2", "AES256-SHA",
          "256", "other.contoso.com", "Old Issuing CA", "2027-05-01",
          "reason=cert_name_mismatch" },
        { "<>", "<postmaster@example.org>", "198.51.100.9", NULL, NULL, NULL,
          NULL, NULL, "2027-05-01", "reason=exempt" },
        { "<>", "<b@example.org>", "198.51.100.9", "TLSv1.2",
          "AES256-SHA", "256", NULL, NULL, "2027-05-01",
          "reason=no_forward_secrecy" },
        { "<x@y.example>", "<b@example.org>", "198.51.100.9", "TLSv1.2",
          "ECDHE-RSA-AES128-GCM-SHA256", "128", NULL, NULL, "2027-05-01",
          "reason=weak_cipher" },
        { "<x@y.example>", "<c@fabrikam.com>", "203.0.113.1", "TLSv1.1",
          "ECDHE-RSA-AES128-SHA", "128", NULL, NULL, "2027-05-01",
          "reason=tls_version" },
        { "<x@y.example>", "<c@example.org>", "203.0.113.1", NULL, NULL, NULL,
          NULL, NULL, "2027-05-01", "connector=none" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct line_case *c = &cases[i];
        struct tls_macros m = { .tls_version = c->tls, .cipher = c->cipher,
                                .cipher_bits = c->bits, .cert_subject = c->cert,
                                .cert_issuer = c->issuer };
        struct policy_session s = { 0 };
        struct addr_path sender, rcpt;
        struct verdict v;
        const char *words[16], *why;
        char want[LOG_LINE_MAX], got[LOG_LINE_MAX], w[10][512], what[32], *out;
        int n = 0;

        /* The daemon's way (callbacks.c): macros, policy_decide, the line. */
        if (c->client != NULL && !ip_parse(c->client, &s.client_ip))
            fail_msg("case %zu: ip_parse(%s) failed", i, c->client);
        s.have_client_ip = c->client != NULL;
        tlsfacts_from_macros(&s.tls, MTA_POSTFIX, &m);
        if (!syntax_utc_date(c->at, &s.now, &why))
            fail_msg("case %zu: at %s: %s", i, c->at, why);
        if (!addr_parse_path(c->sender, &sender) || !addr_parse_path(c->rcpt, &rcpt))
            fail_msg("case %zu: addr_parse_path failed", i);
        policy_decide(conf, &s, &sender, &rcpt, &v);
        policy_format_line(conf, &v, &s, "explain", c->sender, c->rcpt, want,
                           sizeof want);

        /* explain's way, from words. */
        snprintf(w[0], sizeof w[0], "sender=%s", c->sender);
        snprintf(w[1], sizeof w[1], "rcpt=%s", c->rcpt);
        snprintf(w[2], sizeof w[2], "at=%s", c->at);
        words[n++] = w[0], words[n++] = w[1], words[n++] = w[2];
        if (c->client != NULL)
            snprintf(w[3], sizeof w[3], "client=%s", c->client), words[n++] = w[3];
        if (c->tls != NULL)
            snprintf(w[4], sizeof w[4], "tls=%s", c->tls), words[n++] = w[4];
        if (c->cipher != NULL)
            snprintf(w[5], sizeof w[5], "cipher=%s", c->cipher), words[n++] = w[5];
        if (c->bits != NULL && i % 2 == 0)   /* odd cases: OpenSSL's bits */
            snprintf(w[6], sizeof w[6], "bits=%s", c->bits), words[n++] = w[6];
        if (c->cert != NULL)
            snprintf(w[7], sizeof w[7], "cert=%s", c->cert), words[n++] = w[7];
        if (c->issuer != NULL)
            snprintf(w[8], sizeof w[8], "issuer=%s", c->issuer), words[n++] = w[8];
        words[n] = NULL;
        out = explain_output(words);
        last_line(out, got, sizeof got);
        free(out);
        snprintf(what, sizeof what, "case %zu line", i);
        check_str(what, got, want);
        if (strstr(got, c->want_decision) == NULL)
            fail_msg("case %zu: got \"%s\", want it to contain \"%s\"", i, got,
                     c->want_decision);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_help),
        cmocka_unit_test(test_cipher_bits_from_openssl),
        cmocka_unit_test(test_facts),
        cmocka_unit_test(test_golden_text),
        cmocka_unit_test(test_golden_json),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_line_is_the_daemons),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
