/*
 * test_tlsfacts.c - unit tests for tlsfacts.c: OpenSSL forward-secrecy
 * table, version parsing, MTA dialects, xtext, and macro normalisation for
 * Postfix, Sendmail and unknown MTAs.
 */
#include "tlsfacts.h"
#include "testutil.h"

/* --- forward secrecy ------------------------------------------------------ */

static const struct {
    const char *name;
    bool fs;
} fs_cases[] = {
    { "TLS_AES_256_GCM_SHA384", true },
    { "TLS_AES_128_GCM_SHA256", true },
    { "TLS_CHACHA20_POLY1305_SHA256", true },
    { "TLS_AES_128_CCM_SHA256", true },
    { "TLS_AES_128_CCM_8_SHA256", true },
    { "ECDHE-RSA-AES128-GCM-SHA256", true },
    { "ECDHE-ECDSA-AES256-GCM-SHA384", true },
    { "ECDHE-RSA-CHACHA20-POLY1305", true },
    { "DHE-RSA-AES256-GCM-SHA384", true },
    { "DHE-RSA-AES128-SHA", true },
    { "ECDHE-PSK-AES128-CBC-SHA256", true },
    { "DHE-PSK-AES128-GCM-SHA256", true },
    /* IANA names of the same suites */
    { "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", true },
    { "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", true },
    { "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", true },
    /* static RSA, PSK, RSA-PSK, SRP: no forward secrecy */
    { "AES128-GCM-SHA256", false },
    { "AES256-SHA", false },
    { "AES256-GCM-SHA384", false },
    { "TLS_RSA_WITH_AES_128_GCM_SHA256", false },
    { "TLS_RSA_WITH_AES_256_CBC_SHA", false },
    { "PSK-AES128-GCM-SHA256", false },
    { "RSA-PSK-AES128-GCM-SHA256", false },
    { "SRP-AES-128-CBC-SHA", false },
    /* garbage, prefixes, case variants: fail closed */
    { "", false },
    { "garbage", false },
    { "ECDHE-", false },
    { "ECDHE-RSA-AES128-GCM-SHA256 ", false },
    { "ecdhe-rsa-aes128-gcm-sha256", false },
    { "ECDHE-RSA-AES128-GCM-SHA256\n", false },
    { "DHE-", false },
    { "(NONE)", false },
};

static void
t_forward_secrecy(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(fs_cases); i++)
        check_bool_in("fs", fs_cases[i].name,
                      tlsfacts_cipher_is_forward_secret(fs_cases[i].name),
                      fs_cases[i].fs);
    assert_false(tlsfacts_cipher_is_forward_secret(NULL));
}

/* Before tlsfacts_init() every cipher is "not forward secret". */
static void
t_fs_before_init(void **state)
{
    (void)state;
    check_int("fs before init", tlsfacts_cipher_is_forward_secret(
                  "TLS_AES_256_GCM_SHA384"), false);
}

/* init is idempotent; shutdown then init gives the same answers. */
static void
t_init_twice(void **state)
{
    (void)state;
    assert_true(tlsfacts_init());
    assert_true(tlsfacts_init());
    tlsfacts_shutdown();
    check_int("fs after shutdown", tlsfacts_cipher_is_forward_secret(
                  "ECDHE-RSA-AES128-GCM-SHA256"), false);
    assert_true(tlsfacts_init());
    check_int("fs after re-init", tlsfacts_cipher_is_forward_secret(
                  "ECDHE-RSA-AES128-GCM-SHA256"), true);
}

/* --- versions and dialects ------------------------------------------------ */

static const struct {
    const char *text;
    enum tls_version want;
} version_cases[] = {
    { NULL, TLS_VERSION_NONE },
    { "", TLS_VERSION_NONE },
    { "TLSv1", TLS_VERSION_1_0 },
    { "TLSv1.0", TLS_VERSION_1_0 },
    { "TLSv1.1", TLS_VERSION_1_1 },
    { "TLSv1.2", TLS_VERSION_1_2 },
    { "TLSv1.3", TLS_VERSION_1_3 },
    { "tlsv1.2", TLS_VERSION_1_2 },
    { "SSLv3", TLS_VERSION_UNKNOWN },
    { "TLSv1.4", TLS_VERSION_UNKNOWN },
    { "TLSv1.2 ", TLS_VERSION_UNKNOWN },
    { "DTLSv1.2", TLS_VERSION_UNKNOWN },
    { "unknown", TLS_VERSION_UNKNOWN },
};

static void
t_parse_version(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(version_cases); i++)
        check_int_in("parse_version", version_cases[i].text,
                     tlsfacts_parse_version(version_cases[i].text),
                     version_cases[i].want);
    assert_true(TLS_VERSION_UNKNOWN < TLS_VERSION_1_0);
    assert_true(TLS_VERSION_NONE < TLS_VERSION_UNKNOWN);
}

static void
t_version_name(void **state)
{
    (void)state;
    check_str("name(none)", tlsfacts_version_name(TLS_VERSION_NONE), "none");
    check_str("name(unknown)", tlsfacts_version_name(TLS_VERSION_UNKNOWN),
              "unknown");
    check_str("name(1.0)", tlsfacts_version_name(TLS_VERSION_1_0), "TLSv1");
    check_str("name(1.1)", tlsfacts_version_name(TLS_VERSION_1_1), "TLSv1.1");
    check_str("name(1.2)", tlsfacts_version_name(TLS_VERSION_1_2), "TLSv1.2");
    check_str("name(1.3)", tlsfacts_version_name(TLS_VERSION_1_3), "TLSv1.3");
}

static const struct {
    const char *v;
    enum mta_dialect want;
} dialect_cases[] = {
    { NULL, MTA_UNKNOWN },
    { "", MTA_UNKNOWN },
    { "Postfix 3.7.11", MTA_POSTFIX },
    { "Postfix", MTA_POSTFIX },
    { "postfix 3.7.11", MTA_UNKNOWN },
    { "8.17.1.9", MTA_SENDMAIL },
    { "8.17.1", MTA_SENDMAIL },
    { "Exim 4.96", MTA_UNKNOWN },
    { " Postfix", MTA_UNKNOWN },
    { "Foo 3.7.11", MTA_UNKNOWN },
    { "Sendmail 8.17.1", MTA_UNKNOWN },
};

static void
t_dialect(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(dialect_cases); i++)
        check_int_in("dialect", dialect_cases[i].v,
                     tlsfacts_dialect(dialect_cases[i].v),
                     dialect_cases[i].want);
}

/* Every (setting, detected) pair: a contradiction or no clue is unknown. */
static void
t_dialect_resolve(void **state)
{
    static const struct {
        enum mta_setting setting;
        enum mta_dialect detected;
        enum mta_dialect want;
        const char *name;
    } cases[] = {
        { MTA_SETTING_AUTO, MTA_UNKNOWN, MTA_UNKNOWN, "auto, unknown" },
        { MTA_SETTING_AUTO, MTA_POSTFIX, MTA_POSTFIX, "auto, postfix" },
        { MTA_SETTING_AUTO, MTA_SENDMAIL, MTA_SENDMAIL, "auto, sendmail" },
        { MTA_SETTING_POSTFIX, MTA_UNKNOWN, MTA_POSTFIX, "postfix, unknown" },
        { MTA_SETTING_POSTFIX, MTA_POSTFIX, MTA_POSTFIX, "postfix, postfix" },
        { MTA_SETTING_POSTFIX, MTA_SENDMAIL, MTA_UNKNOWN,
          "postfix, sendmail (contradiction)" },
        { MTA_SETTING_SENDMAIL, MTA_UNKNOWN, MTA_SENDMAIL,
          "sendmail, unknown" },
        { MTA_SETTING_SENDMAIL, MTA_POSTFIX, MTA_UNKNOWN,
          "sendmail, postfix (contradiction)" },
        { MTA_SETTING_SENDMAIL, MTA_SENDMAIL, MTA_SENDMAIL,
          "sendmail, sendmail" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++)
        check_int_in("tlsfacts_dialect_resolve", cases[i].name,
                     tlsfacts_dialect_resolve(cases[i].setting,
                                              cases[i].detected),
                     cases[i].want);
}

/*
 * The whole way from macro v and the mta setting to a trusted certificate,
 * as callbacks.c goes it: tlsfacts_dialect, tlsfacts_dialect_resolve,
 * tlsfacts_from_macros.
 */
static void
t_mta_detection(void **state)
{
    /* Postfix's macros for a verified certificate. */
    static const struct tls_macros postfix_cert = {
        .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
        .cipher_bits = "256", .cert_subject = "mail.contoso.com",
        .cert_issuer = "Contoso Issuing CA",
    };
    /* Sendmail's for an unverified certificate naming the partner: the DN
     * and the CN macros say contoso, {verify} does not say OK. */
    static const struct tls_macros sendmail_unverified = {
        .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
        .cipher_bits = "256", .verify = "FAIL",
        .cert_subject = "/C=US/O=Contoso/CN=mail.contoso.com",
        .cert_issuer = "/CN=Contoso+20Issuing+20CA",
        .cn_subject = "mail.contoso.com", .cn_issuer = "Contoso+20Issuing+20CA",
    };
    /* The same without any {verify} at all. */
    static const struct tls_macros sendmail_no_verify = {
        .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
        .cipher_bits = "256",
        .cert_subject = "/C=US/O=Contoso/CN=mail.contoso.com",
        .cn_subject = "mail.contoso.com",
    };
    static const struct tls_macros sendmail_verified = {
        .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
        .cipher_bits = "256", .verify = "OK",
        .cert_subject = "/C=US/O=Contoso/CN=mail.contoso.com",
        .cn_subject = "mail.contoso.com", .cn_issuer = "Contoso+20Issuing+20CA",
    };
    static const struct {
        const char *name;
        const char *v;
        enum mta_setting setting;
        const struct tls_macros *m;
        enum mta_dialect dialect;
        const char *cn;          /* NULL: no certificate trusted */
    } cases[] = {
        { "postfix, auto", "Postfix 3.7.11", MTA_SETTING_AUTO,
          &postfix_cert, MTA_POSTFIX, "mail.contoso.com" },
        { "renamed postfix, auto: unknown, no certificate", "Foo 3.7.11",
          MTA_SETTING_AUTO, &postfix_cert, MTA_UNKNOWN, NULL },
        { "renamed postfix, mta postfix: trusted", "Foo 3.7.11",
          MTA_SETTING_POSTFIX, &postfix_cert, MTA_POSTFIX,
          "mail.contoso.com" },
        { "postfix without macro v, mta postfix: trusted", NULL,
          MTA_SETTING_POSTFIX, &postfix_cert, MTA_POSTFIX,
          "mail.contoso.com" },
        { "postfix without macro v, auto: no certificate", NULL,
          MTA_SETTING_AUTO, &postfix_cert, MTA_UNKNOWN, NULL },
        { "postfix, mta sendmail (contradiction)", "Postfix 3.7.11",
          MTA_SETTING_SENDMAIL, &postfix_cert, MTA_UNKNOWN, NULL },
        { "sendmail DN without verify=OK, auto", "8.17.1.9",
          MTA_SETTING_AUTO, &sendmail_unverified, MTA_SENDMAIL, NULL },
        { "sendmail DN without verify=OK, mta postfix (contradiction)",
          "8.17.1.9", MTA_SETTING_POSTFIX, &sendmail_unverified, MTA_UNKNOWN,
          NULL },
        { "sendmail DN without verify=OK, mta sendmail", "8.17.1.9",
          MTA_SETTING_SENDMAIL, &sendmail_unverified, MTA_SENDMAIL, NULL },
        { "sendmail DN, no verify macro, auto", "8.17.1.9",
          MTA_SETTING_AUTO, &sendmail_no_verify, MTA_SENDMAIL, NULL },
        { "sendmail DN, no verify macro, mta postfix (contradiction)",
          "8.17.1.9", MTA_SETTING_POSTFIX, &sendmail_no_verify, MTA_UNKNOWN,
          NULL },
        { "sendmail DN, no verify macro, mta sendmail", "8.17.1.9",
          MTA_SETTING_SENDMAIL, &sendmail_no_verify, MTA_SENDMAIL, NULL },
        { "sendmail verified, auto", "8.17.1.9", MTA_SETTING_AUTO,
          &sendmail_verified, MTA_SENDMAIL, "mail.contoso.com" },
        { "sendmail verified, mta postfix (contradiction)", "8.17.1.9",
          MTA_SETTING_POSTFIX, &sendmail_verified, MTA_UNKNOWN, NULL },
        { "renamed sendmail verified, mta sendmail", "Foo",
          MTA_SETTING_SENDMAIL, &sendmail_verified, MTA_SENDMAIL,
          "mail.contoso.com" },
        { "renamed sendmail verified, auto", "Foo", MTA_SETTING_AUTO,
          &sendmail_verified, MTA_UNKNOWN, NULL },
    };
    struct tls_facts f;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        enum mta_dialect d = tlsfacts_dialect_resolve(
            cases[i].setting, tlsfacts_dialect(cases[i].v));

        check_int_in("dialect", cases[i].name, d, cases[i].dialect);
        tlsfacts_from_macros(&f, d, cases[i].m);
        check_bool_in("tls", cases[i].name, f.tls, true);
        check_bool_in("cert_verified", cases[i].name, f.cert_verified,
                      cases[i].cn != NULL);
        check_str_in("cert_cn", cases[i].name, f.cert_cn,
                     cases[i].cn != NULL ? cases[i].cn : "");
    }
}

/* --- xtext ---------------------------------------------------------------- */

static const struct {
    const char *in;
    bool ok;
    const char *want;
} xtext_cases[] = {
    { "", true, "" },
    { "plain.example", true, "plain.example" },
    { "Lab+20Root+20CA", true, "Lab Root CA" },
    { "a+2Bb", true, "a+b" },
    { "a+2bb", true, "a+b" },
    { "+3Cx+3E", true, "<x>" },
    { "+C3+BC", true, "\xc3\xbc" },
    { "+0D+0A", true, "\r\n" },
    { "+", false, "" },
    { "abc+", false, "" },
    { "abc+4", false, "" },
    { "abc+G0", false, "" },
    { "abc+0G", false, "" },
    { "abc+00def", false, "" },
    { "+ 20", false, "" },
};

static void
t_xtext(void **state)
{
    char out[64];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(xtext_cases); i++) {
        bool ok = tlsfacts_xtext_decode(xtext_cases[i].in, out, sizeof(out));

        check_bool_in("xtext ok", xtext_cases[i].in, ok, xtext_cases[i].ok);
        check_str_in("xtext", xtext_cases[i].in, out, xtext_cases[i].want);
    }
}

/* Output that does not fit is an error, not a silently shortened name. */
static void
t_xtext_bounds(void **state)
{
    char out[4];

    (void)state;
    assert_true(tlsfacts_xtext_decode("abc", out, sizeof(out)));
    check_str("fits", out, "abc");
    assert_false(tlsfacts_xtext_decode("abcd", out, sizeof(out)));
    check_str("too long", out, "");
    assert_false(tlsfacts_xtext_decode("ab+20c", out, sizeof(out)));
    assert_false(tlsfacts_xtext_decode(NULL, out, sizeof(out)));
    assert_false(tlsfacts_xtext_decode("a", out, 0));
}

/* --- macros -> facts ------------------------------------------------------ */

struct facts_want {
    bool tls;
    enum tls_version version;
    const char *version_text;
    const char *cipher;
    int bits;
    bool fs;
    bool verified;
    const char *cn;
    const char *issuer;
};

static const struct {
    const char *name;
    enum mta_dialect dialect;
    struct tls_macros m;
    struct facts_want want;
} macro_cases[] = {
    { "postfix plaintext", MTA_POSTFIX, { 0 },
      { false, TLS_VERSION_NONE, "none", "none", 0, false, false, "", "" } },
    { "postfix empty version is plaintext", MTA_POSTFIX,
      { .tls_version = "", .cipher = "AES256-SHA", .cipher_bits = "256",
        .cert_subject = "x" },
      { false, TLS_VERSION_NONE, "none", "none", 0, false, false, "", "" } },
    { "postfix tls13 no cert", MTA_POSTFIX,
      { .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
        .cipher_bits = "256" },
      { true, TLS_VERSION_1_3, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256,
        true, false, "", "" } },
    { "postfix verified cert", MTA_POSTFIX,
      { .tls_version = "TLSv1.2", .cipher = "ECDHE-RSA-AES128-GCM-SHA256",
        .cipher_bits = "128", .cert_subject = "relay.client.example",
        .cert_issuer = "Test Client CA" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", 128,
        true, true, "relay.client.example", "Test Client CA" } },
    { "postfix verified cert without CN", MTA_POSTFIX,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .cert_subject = "",
        .cert_issuer = "Test Client CA" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, true,
        "", "Test Client CA" } },
    { "postfix verified cert, no issuer macro", MTA_POSTFIX,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .cert_subject = "a.example" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, true,
        "a.example", "" } },
    { "postfix ignores verify=OK", MTA_POSTFIX,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "OK", .cn_subject = "a.example" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, false,
        "", "" } },
    { "postfix cert macros without TLS", MTA_POSTFIX,
      { .cert_subject = "a.example", .cert_issuer = "CA" },
      { false, TLS_VERSION_NONE, "none", "none", 0, false, false, "", "" } },
    { "unknown version is TLS below every floor", MTA_POSTFIX,
      { .tls_version = "SSLv3", .cipher = "DES-CBC3-SHA",
        .cipher_bits = "112" },
      { true, TLS_VERSION_UNKNOWN, "SSLv3", "DES-CBC3-SHA", 112, false,
        false, "", "" } },
    { "TLS without cipher macro", MTA_POSTFIX,
      { .tls_version = "TLSv1.2" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "", 0, false, false, "", "" } },
    { "sendmail verified", MTA_SENDMAIL,
      { .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
        .cipher_bits = "256", .verify = "OK",
        .cert_subject = "/C=DE/O=Client+20Org/CN=relay.client.example",
        .cert_issuer = "/C=DE/CN=Lab+20Root+20CA",
        .cn_subject = "relay.client.example", .cn_issuer = "Lab+20Root+20CA" },
      { true, TLS_VERSION_1_3, "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, true,
        true, "relay.client.example", "Lab Root CA" } },
    { "sendmail unverified cert naming the partner", MTA_SENDMAIL,
      { .tls_version = "TLSv1.2", .cipher = "ECDHE-RSA-AES128-GCM-SHA256",
        .cipher_bits = "128", .verify = "FAIL",
        .cert_subject = "/CN=mail.contoso.com", .cert_issuer = "/CN=Evil",
        .cn_subject = "mail.contoso.com", .cn_issuer = "Evil" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", 128,
        true, false, "", "" } },
    { "sendmail verify=NO", MTA_SENDMAIL,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "NO", .cert_subject = "",
        .cn_subject = "" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, false,
        "", "" } },
    { "sendmail verify=ok lower case is not OK", MTA_SENDMAIL,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "ok", .cn_subject = "a.example" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, false,
        "", "" } },
    { "sendmail verified, DN only (no cn macros)", MTA_SENDMAIL,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "OK",
        .cert_subject = "/CN=mail.contoso.com" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, true,
        "", "" } },
    { "sendmail BadCertificate placeholders", MTA_SENDMAIL,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "OK",
        .cn_subject = "BadCertificateTooLong",
        .cn_issuer = "BadCertificateContainsNUL" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, true,
        "", "" } },
    { "sendmail bad xtext", MTA_SENDMAIL,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "OK", .cn_subject = "a+0",
        .cn_issuer = "CA+00x" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, true,
        "", "" } },
    { "sendmail xtext control bytes kept", MTA_SENDMAIL,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "OK",
        .cn_subject = "a+0D+0Ab=c", .cn_issuer = "+22Q+22" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, true,
        "a\r\nb=c", "\"Q\"" } },
    { "unknown MTA: cert_subject is no trust", MTA_UNKNOWN,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .cert_subject = "mail.contoso.com" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, false,
        "", "" } },
    { "unknown MTA: verify=OK is no trust either", MTA_UNKNOWN,
      { .tls_version = "TLSv1.2", .cipher = "AES256-SHA",
        .cipher_bits = "256", .verify = "OK",
        .cert_subject = "/CN=wrong.example", .cn_subject = "a+2Eexample",
        .cert_issuer = "CA", .cn_issuer = "CA" },
      { true, TLS_VERSION_1_2, "TLSv1.2", "AES256-SHA", 256, false, false,
        "", "" } },
    { "sendmail verify without TLS", MTA_SENDMAIL,
      { .verify = "OK", .cn_subject = "a.example" },
      { false, TLS_VERSION_NONE, "none", "none", 0, false, false, "", "" } },
};

static void
check_facts(const char *name, const struct tls_facts *f,
            const struct facts_want *w)
{
    char what[160];

#define WHAT(field) (snprintf(what, sizeof(what), "%s: %s", name, field), what)
    check_int(WHAT("tls"), f->tls, w->tls);
    check_int(WHAT("version"), f->version, w->version);
    check_str(WHAT("version_text"), f->version_text, w->version_text);
    check_str(WHAT("cipher"), f->cipher, w->cipher);
    check_int(WHAT("cipher_bits"), f->cipher_bits, w->bits);
    check_int(WHAT("forward_secret"), f->forward_secret, w->fs);
    check_int(WHAT("cert_verified"), f->cert_verified, w->verified);
    check_str(WHAT("cert_cn"), f->cert_cn, w->cn);
    check_str(WHAT("issuer_cn"), f->issuer_cn, w->issuer);
#undef WHAT
}

static void
t_from_macros(void **state)
{
    struct tls_facts f;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(macro_cases); i++) {
        memset(&f, 0xa5, sizeof(f));
        tlsfacts_from_macros(&f, macro_cases[i].dialect, &macro_cases[i].m);
        check_facts(macro_cases[i].name, &f, &macro_cases[i].want);
    }
    memset(&f, 0xa5, sizeof(f));
    tlsfacts_from_macros(&f, MTA_POSTFIX, NULL);
    check_facts("NULL macros", &f, &macro_cases[0].want);
}

static const struct {
    const char *text;
    int want;
} bits_cases[] = {
    { NULL, 0 }, { "", 0 }, { "0", 0 }, { "128", 128 }, { "256", 256 },
    { "0128", 128 }, { "100000", 100000 }, { "100001", 0 },
    { "99999999999999999999999", 0 }, { "-1", 0 }, { "+128", 0 },
    { " 128", 0 }, { "128 ", 0 }, { "12a", 0 }, { "0x80", 0 },
};

static void
t_cipher_bits(void **state)
{
    struct tls_macros m = { .tls_version = "TLSv1.2", .cipher = "AES256-SHA" };
    struct tls_facts f;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(bits_cases); i++) {
        m.cipher_bits = bits_cases[i].text;
        tlsfacts_from_macros(&f, MTA_POSTFIX, &m);
        check_int_in("bits", bits_cases[i].text, f.cipher_bits,
                     bits_cases[i].want);
    }
}

/* Over-long values are cut to their buffers, never overflow them. */
static void
t_long_values(void **state)
{
    char big[1000], xt[3000];
    struct tls_macros m = { .tls_version = "TLSv1.2" };
    struct tls_facts f;
    size_t i;

    (void)state;
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    m.cipher = big;
    m.cert_subject = big;
    m.cert_issuer = big;
    tlsfacts_from_macros(&f, MTA_POSTFIX, &m);
    check_int("cn length", (long)strlen(f.cert_cn), TLSFACTS_NAME_MAX - 1);
    check_int("issuer length", (long)strlen(f.issuer_cn),
              TLSFACTS_NAME_MAX - 1);
    check_int("cipher length", (long)strlen(f.cipher),
              TLSFACTS_CIPHER_MAX - 1);
    check_int("long cipher fs", f.forward_secret, false);
    /* log.h: a value cut for length carries the marker */
    check_str("cut cn marked", f.cert_cn + TLSFACTS_NAME_MAX - 4, "...");
    check_str("cut issuer marked", f.issuer_cn + TLSFACTS_NAME_MAX - 4, "...");
    check_str("cut cipher marked", f.cipher + TLSFACTS_CIPHER_MAX - 4, "...");
    /* one byte less than the buffer: whole, no marker */
    big[TLSFACTS_NAME_MAX - 1] = '\0';
    tlsfacts_from_macros(&f, MTA_POSTFIX, &m);
    check_int("fitting cn kept whole", (long)strspn(f.cert_cn, "A"),
              TLSFACTS_NAME_MAX - 1);
    big[TLSFACTS_NAME_MAX - 1] = 'A';

    m.tls_version = big;
    tlsfacts_from_macros(&f, MTA_POSTFIX, &m);
    check_int("long version", f.version, TLS_VERSION_UNKNOWN);
    check_int("version_text length", (long)strlen(f.version_text),
              (long)sizeof(f.version_text) - 1);
    check_str("cut version_text marked",
              f.version_text + sizeof(f.version_text) - 4, "...");

    /* A Sendmail CN that does not fit is no CN at all. */
    for (i = 0; i + 3 < sizeof(xt); i += 3)
        memcpy(xt + i, "+41", 3);
    xt[i] = '\0';
    m.tls_version = "TLSv1.2";
    m.verify = "OK";
    m.cn_subject = xt;
    tlsfacts_from_macros(&f, MTA_SENDMAIL, &m);
    check_int("sendmail long verified", f.cert_verified, true);
    check_str("sendmail long cn", f.cert_cn, "");
}

/* Facts from Postfix-style macros (NULL fields: not sent). */
static void
facts_of(struct tls_facts *f, const char *version, const char *cipher,
         const char *bits, const char *cn, const char *issuer)
{
    const struct tls_macros m = { .tls_version = version, .cipher = cipher,
                                  .cipher_bits = bits, .cert_subject = cn,
                                  .cert_issuer = issuer };

    tlsfacts_from_macros(f, MTA_POSTFIX, &m);
}

/*
 * Macros seen first at RCPT (Sendmail's confMILTER_MACROS_ENVRCPT) fill
 * what MAIL lacked, and never replace or weaken what MAIL gave.
 */
static void
t_fill_missing(void **state)
{
    struct tls_facts mail, rcpt;

    (void)state;
    /* MAIL: nothing; RCPT: everything -> all of RCPT */
    facts_of(&mail, NULL, NULL, NULL, NULL, NULL);
    facts_of(&rcpt, "TLSv1.3", "TLS_AES_256_GCM_SHA384", "256", "mx.p.example",
             "P CA");
    tlsfacts_fill_missing(&mail, &rcpt);
    check_int("filled tls", mail.tls, true);
    check_int("filled version", mail.version, TLS_VERSION_1_3);
    check_int("filled bits", mail.cipher_bits, 256);
    check_int("filled fs", mail.forward_secret, true);
    check_int("filled verified", mail.cert_verified, true);
    check_str("filled cn", mail.cert_cn, "mx.p.example");
    check_str("filled issuer", mail.issuer_cn, "P CA");

    /* MAIL: TLS without certificate; RCPT adds the certificate */
    facts_of(&mail, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "128", NULL, NULL);
    facts_of(&rcpt, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "128",
             "mx.p.example", "P CA");
    tlsfacts_fill_missing(&mail, &rcpt);
    check_int("cert added", mail.cert_verified, true);
    check_str("cert added cn", mail.cert_cn, "mx.p.example");

    /* RCPT says another version: nothing from it */
    facts_of(&mail, "TLSv1", "ECDHE-RSA-AES128-SHA", "128", NULL, NULL);
    facts_of(&rcpt, "TLSv1.3", "TLS_AES_256_GCM_SHA384", "256", "mx.p.example",
             "P CA");
    tlsfacts_fill_missing(&mail, &rcpt);
    check_int("other version kept", mail.version, TLS_VERSION_1_0);
    check_int("other version no cert", mail.cert_verified, false);
    check_int("other version bits", mail.cipher_bits, 128);

    /* MAIL's facts are never replaced: RCPT's different certificate ignored */
    facts_of(&mail, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "128",
             "mx.p.example", "P CA");
    facts_of(&rcpt, "TLSv1.2", "AES256-SHA", "256", "evil.example", "Evil CA");
    tlsfacts_fill_missing(&mail, &rcpt);
    check_str("cn kept", mail.cert_cn, "mx.p.example");
    check_str("issuer kept", mail.issuer_cn, "P CA");
    check_str("cipher kept", mail.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
    check_int("bits kept", mail.cipher_bits, 128);
    check_int("fs kept", mail.forward_secret, true);

    /* a later stage without TLS cannot take TLS away */
    facts_of(&rcpt, NULL, NULL, NULL, NULL, NULL);
    tlsfacts_fill_missing(&mail, &rcpt);
    check_int("tls kept", mail.tls, true);
    check_int("cert kept", mail.cert_verified, true);

    /* malformed or partial RCPT macros never count as TLS */
    facts_of(&mail, NULL, NULL, NULL, NULL, NULL);
    facts_of(&rcpt, "", "AES256-SHA", "256", "mx.p.example", "P CA");
    tlsfacts_fill_missing(&mail, &rcpt);
    check_int("empty version: no tls", mail.tls, false);
    check_int("empty version: no cert", mail.cert_verified, false);

    /* MAIL: TLS, no cipher or bits; RCPT of the same version fills them */
    facts_of(&mail, "TLSv1.2", NULL, NULL, NULL, NULL);
    facts_of(&rcpt, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL, NULL);
    tlsfacts_fill_missing(&mail, &rcpt);
    check_str("cipher filled", mail.cipher, "ECDHE-RSA-AES256-GCM-SHA384");
    check_int("bits filled", mail.cipher_bits, 256);
    check_int("fs filled", mail.forward_secret, true);
}

static int
setup(void **state)
{
    (void)state;
    return tlsfacts_init() ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    tlsfacts_shutdown();
    return 0;
}

/* One TAP plan: the before-init check first, then init, then the rest. */
static void t_init(void **state)
{
    assert_int_equal(setup(state), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_fs_before_init),
        cmocka_unit_test(t_init),
        cmocka_unit_test(t_forward_secrecy),
        cmocka_unit_test(t_init_twice),
        cmocka_unit_test(t_parse_version),
        cmocka_unit_test(t_version_name),
        cmocka_unit_test(t_dialect),
        cmocka_unit_test(t_dialect_resolve),
        cmocka_unit_test(t_mta_detection),
        cmocka_unit_test(t_xtext),
        cmocka_unit_test(t_xtext_bounds),
        cmocka_unit_test(t_from_macros),
        cmocka_unit_test(t_cipher_bits),
        cmocka_unit_test(t_long_values),
        cmocka_unit_test(t_fill_missing),
    };

    return cmocka_run_group_tests_name("tlsfacts", tests, NULL, teardown);
}
