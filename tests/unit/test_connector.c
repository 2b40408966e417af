/*
 * test_connector.c - unit tests for forcetls connector (certinfo.c,
 * connector_block.c, connector.c) on the lab PKI of labpki.h, made with
 * OpenSSL's API: a root (EC P-256), an intermediate (EC P-384), leaves
 * with subjectAltNames (RSA 2048 and EC P-256), and hostile names.
 *
 * Checked: the facts of each chain (names, issuer, key, dates, the root of
 * the verified chain, a chain that does not verify); the printed blocks
 * parsed back with libconfig, every value compared with the certificate's
 * bytes (quotes, backslashes, control and non-ASCII bytes included), and
 * loaded with config_load; names the loader would refuse left out with a
 * comment and the rest still loading; the exact error line and exit status
 * of connector_main for bad PEM and bad options; connector_quote for every
 * byte. The probe has its own tests (test_connector_probe.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <libconfig.h>
#include <signal.h>
#include <time.h>

#include "certinfo.h"
#include "config.h"
#include "connector.h"
#include "tlsfacts.h"
#include "testutil.h"
#include "labpki.h"

static char *print_blocks(const struct certinfo *info, const char *name);

/* ---- facts ---- */

/* An RSA leaf and its intermediate, verified with the lab root. */
static void test_facts_rsa_chain(void **state)
{
    struct certinfo *info = malloc(sizeof *info);

    (void)state;
    facts_of(CERTS(leaf_rsa, inter), root, info);
    check_str("cn", info->cn.s, LEAF_CN);
    check_int("cn_count", (long long)info->cn_count, 1);
    check_int("dns_total (an IP SAN is not a DNS name)",
              (long long)info->dns_total, 2);
    check_str("dns[0]", info->dns[0].s, LEAF_CN);
    check_str("dns[1]", info->dns[1].s, "mx2.lab.example");
    check_str("issuer_cn", info->issuer_cn.s, INT_CN);
    check_str("key", info->key, "RSA 2048");
    check_int("not_before", info->not_before, t0);
    check_int("not_after", info->not_after, t_end);
    check_int("chain_len", (long long)info->chain_len, 2);
    check_int("verify", info->verify, CERTINFO_VERIFIED);
    check_int("verified_len (leaf, intermediate, root)",
              (long long)info->verified_len, 3);
    check_str("root", info->root.s, ROOT_CN);
    check_bool_in("root_presented", "verified", info->root_presented, false);
    free(info);
}

/* An EC leaf; the whole chain presented, no CA file: the root as sent. */
static void test_facts_ec_presented_root(void **state)
{
    struct certinfo *info = malloc(sizeof *info);

    (void)state;
    facts_of(CERTS(leaf_ec, inter, root), NULL, info);
    check_str("key", info->key, "EC P-256");
    check_int("verify", info->verify, CERTINFO_NOT_CHECKED);
    check_bool_in("root_known", "self-signed last", info->root_known, true);
    check_bool_in("root_presented", "self-signed last", info->root_presented,
                  true);
    check_str("root", info->root.s, ROOT_CN);
    free(info);
}

/* Another root of the same name, or the wrong CA: it does not verify. */
static void test_facts_not_verified(void **state)
{
    struct certinfo *info = malloc(sizeof *info);

    (void)state;
    facts_of(CERTS(leaf_rsa, inter), other_root, info);
    check_int("verify", info->verify, CERTINFO_NOT_VERIFIED);
    check_str("verify_error", info->verify_error,
              "certificate signature failure");
    check_bool_in("root_known", "not verified, no root sent",
                  info->root_known, false);
    facts_of(CERTS(leaf_rsa), root, info);
    check_int("verify (no intermediate)", info->verify, CERTINFO_NOT_VERIFIED);
    check_str("verify_error (no intermediate)", info->verify_error,
              "unable to get local issuer certificate");
    free(info);
}

/* A subject with two CNs: the first counts (as Postfix's {cert_subject}). */
static void test_facts_two_cns(void **state)
{
    X509 *leaf = lab_leaf(ec_key, LEAF_CN, strlen(LEAF_CN));
    struct certinfo *info = malloc(sizeof *info);
    char *out;

    (void)state;
    if (!X509_NAME_add_entry_by_NID(X509_get_subject_name(leaf), NID_commonName,
                                    MBSTRING_ASC,
                                    (const unsigned char *)"evil.example", -1,
                                    -1, 0) ||
        X509_sign(leaf, int_key, EVP_sha256()) <= 0)
        fail_msg("a second CN: set-up failed");
    facts_of(CERTS(leaf, inter), root, info);
    check_str("cn", info->cn.s, LEAF_CN);
    check_int("cn_count", (long long)info->cn_count, 2);
    check_int("verify", info->verify, CERTINFO_VERIFIED);
    out = print_blocks(info, NULL);
    if (strstr(out, "# subject CN:  \"" LEAF_CN "\" (the first of 2 CNs)\n") == NULL)
        fail_msg("no note of the second CN in:\n%s", out);
    free(out);
    free(info);
    X509_free(leaf);
}

/* Other PEM blocks (a private key) around the certificates are skipped. */
static void test_pem_with_key(void **state)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char err[CERTINFO_ERR_MAX], *data;
    STACK_OF(X509) *chain;
    long n;

    (void)state;
    if (bio == NULL || !PEM_write_bio_PrivateKey(bio, ec_key, NULL, NULL, 0,
                                                 NULL, NULL) ||
        !PEM_write_bio_X509(bio, leaf_ec) || !PEM_write_bio_X509(bio, inter) ||
        !PEM_write_bio_PrivateKey(bio, rsa_key, NULL, NULL, 0, NULL, NULL))
        fail_msg("PEM with keys: set-up failed");
    n = BIO_get_mem_data(bio, &data);
    chain = certinfo_parse_pem("keys.pem", data, (size_t)n, err, sizeof err);
    if (chain == NULL)
        fail_msg("certinfo_parse_pem: got \"%s\", want 2 certificates", err);
    check_int("certificates", sk_X509_num(chain), 2);
    check_int("leaf first", X509_cmp(sk_X509_value(chain, 0), leaf_ec), 0);
    certinfo_chain_free(chain);
    BIO_free(bio);
}

/* ---- quoting ---- */

/* Parse "v = TEXT;" with libconfig; the string into out (malloc'ed). */
static char *libconfig_string(const char *quoted)
{
    config_t cfg;
    const char *v = NULL;
    char *text, *out;

    if (asprintf(&text, "v = %s;\n", quoted) < 0)
        fail_msg("asprintf failed");
    config_init(&cfg);
    if (config_read_string(&cfg, text) != CONFIG_TRUE ||
        !config_lookup_string(&cfg, "v", &v))
        fail_msg("libconfig: got error \"%s\" for %s, want a string",
                 config_error_text(&cfg), text);
    out = strdup(v);
    config_destroy(&cfg);
    free(text);
    return out;
}

/* connector_quote of len bytes of s, as a malloc'ed string. */
static char *quoted(const char *s, size_t len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);

    connector_quote(f, s, len);
    fclose(f);
    return buf;
}

/* Fixed cases, and every byte 1..255 reading back unchanged. */
static void test_quote(void **state)
{
    static const struct { const char *in, *want; } cases[] = {
        { "plain CA", "\"plain CA\"" },
        { "a\"b\\c", "\"a\\\"b\\\\c\"" },
        { "line\nbreak\r\t", "\"line\\x0abreak\\x0d\\x09\"" },
        { "Z\xc3\xbcrich \x7f", "\"Z\\xc3\\xbcrich \\x7f\"" },
        { "", "\"\"" },
    };
    char all[256], *q, *back;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        q = quoted(cases[i].in, strlen(cases[i].in));
        check_str_in("connector_quote", cases[i].in, q, cases[i].want);
        back = libconfig_string(q);
        check_str_in("libconfig reads back", q, back, cases[i].in);
        free(q);
        free(back);
    }
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    q = quoted(all, 255);
    check_bool_in("one line", "bytes 1..255", strchr(q, '\n') == NULL, true);
    back = libconfig_string(q);
    if (memcmp(back, all, 256) != 0)
        fail_msg("bytes 1..255: got %s back, want them unchanged", back);
    free(q);
    free(back);
}

/* ---- the printed blocks ---- */

/* connector_print of info for a --cert run, malloc'ed. */
static char *print_blocks(const struct certinfo *info, const char *name)
{
    struct connector_source src = {
        .cert_file = "partner.pem", .cafile = "root.pem", .name = name,
        .now = (int64_t)time(NULL),
    };
    char *buf = NULL, err[256];
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);

    if (!connector_print(info, &src, f, err, sizeof err))
        fail_msg("connector_print: got error \"%s\", want output", err);
    fclose(f);
    return buf;
}

/* The string at path in cfg, or NULL. */
static const char *lookup(const config_t *cfg, const char *path)
{
    const char *v = NULL;

    return config_lookup_string(cfg, path, &v) ? v : NULL;
}

/* Parse out with libconfig or fail. */
static void parse_blocks(config_t *cfg, const char *out)
{
    config_init(cfg);
    if (config_read_string(cfg, out) != CONFIG_TRUE)
        fail_msg("libconfig: got \"%s\" at line %d, want the output parsed:\n%s",
                 config_error_text(cfg), config_error_line(cfg), out);
}

/* The output loads with config_load: one connector each way; returns it. */
static struct config *load_blocks(const char *out)
{
    struct config *c = load_ok(out);

    check_int("inbound_count", (long long)c->inbound_count, 1);
    check_int("outbound_count", (long long)c->outbound_count, 1);
    return c;
}

/* Every value of both blocks, parsed back, equals the certificate's. */
static void test_blocks_values(void **state)
{
    struct certinfo *info = malloc(sizeof *info);
    char until[32];
    config_t cfg;
    struct config *c;
    char *out;
    int b = -1;

    (void)state;
    facts_of(CERTS(leaf_rsa, inter), root, info);
    out = print_blocks(info, NULL);
    parse_blocks(&cfg, out);
    strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ",
             gmtime(&(time_t){ (time_t)t_end }));
    check_str("inbound name", lookup(&cfg, "inbound.[0].name"), "lab.example");
    check_str("sender_domains", lookup(&cfg, "inbound.[0].sender_domains.[0]"),
              "lab.example");
    check_str("min_tls_version", lookup(&cfg, "inbound.[0].min_tls_version"),
              "TLSv1.2");
    config_lookup_bool(&cfg, "inbound.[0].require_tls", &b);
    check_int("require_tls", b, 1);
    check_bool_in("require_forward_secrecy", "--cert",
                  config_lookup(&cfg, "inbound.[0].require_forward_secrecy")
                  != NULL, false);
    check_str("names", lookup(&cfg, "inbound.[0].certificates.[0].names.[0]"),
              LEAF_CN);
    check_str("issuers", lookup(&cfg, "inbound.[0].certificates.[0].issuers.[0]"),
              INT_CN);
    check_bool_in("no valid_until (a renewal must not retire)", "--cert",
                  config_lookup(&cfg, "inbound.[0].certificates.[0].valid_until")
                  != NULL, false);
    check_bool_in("the expiry in a comment", "--cert",
                  strstr(out, until) != NULL, true);
    check_str("outbound name", lookup(&cfg, "outbound.[0].name"), "lab.example");
    check_str("recipient_domains", lookup(&cfg,
              "outbound.[0].recipient_domains.[0]"), "lab.example");
    check_str("tls_settings", lookup(&cfg, "outbound.[0].tls_settings"),
              "domain-validation");
    check_str("tls_domain", lookup(&cfg, "outbound.[0].tls_domain"), LEAF_CN);
    check_str("outbound min_tls_version",
              lookup(&cfg, "outbound.[0].min_tls_version"), "TLSv1.2");
    config_destroy(&cfg);
    c = load_blocks(out);
    check_int("identities", (long long)c->inbound[0].identity_count, 1);
    check_int("no window loaded", c->inbound[0].identities[0].valid_until,
              CONFIG_NO_END);
    check_str("issuer loaded", c->inbound[0].identities[0].issuers.items[0],
              INT_CN);
    config_free(c);
    free(out);
    free(info);
}

/* The line of out starting with prefix, after it, up to its end (malloc'ed). */
static char *line_after(const char *out, const char *prefix)
{
    const char *p = strstr(out, prefix), *end;

    if (p == NULL)
        fail_msg("no line \"%s\" in:\n%s", prefix, out);
    p += strlen(prefix);
    end = strchr(p, '\n');
    return strndup(p, end != NULL ? (size_t)(end - p) : strlen(p));
}

/* No byte of out is a control byte but the line ends. */
static void check_clean(const char *out)
{
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p >= 0x7f)
            fail_msg("output byte %02x at %td: got a raw byte, want it quoted",
                     *p, (const char *)p - out);
}

/*
 * A hostile CN (quotes, backslash, control bytes) is left out of names with
 * a comment, shown quoted on one header line that reads back unchanged; a
 * hostile but loadable issuer (quotes, backslash, UTF-8) is written and
 * reads back unchanged; the output loads.
 */
static void test_blocks_hostile(void **state)
{
    static const char bad_cn[] = "mail\"x\\y\n# injected = 1;\x01.lab.example";
    static const char bad_issuer[] = "Evil \"CA\" \\ Z\xc3\xbcrich";
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *ca = make_cert(k, bad_issuer, strlen(bad_issuer), root, root_key,
                         true, NULL);
    X509 *leaf = make_cert(ec_key, bad_cn, strlen(bad_cn), ca, k, false,
                           "DNS:mail.lab.example");
    struct certinfo *info = malloc(sizeof *info);
    char *out, *hdr, *back;
    config_t cfg;
    struct config *c;

    (void)state;
    facts_of(CERTS(leaf, ca), root, info);
    check_str("hostile cn kept as bytes", info->cn.s, bad_cn);
    out = print_blocks(info, NULL);
    check_clean(out);
    hdr = line_after(out, "# subject CN:  ");
    back = libconfig_string(hdr);
    check_str("header CN read back", back, bad_cn);
    free(back);
    free(hdr);
    if (strstr(out, "    # names: the CN \"mail\\\"x\\\\y\\x0a# injected = 1;"
               "\\x01.lab.example\" is left out: invalid character") == NULL)
        fail_msg("no comment on the CN left out in:\n%s", out);
    parse_blocks(&cfg, out);
    check_bool_in("names written", "hostile CN",
                  config_lookup(&cfg, "inbound.[0].certificates.[0].names") != NULL,
                  false);
    check_bool_in("injected key", "hostile CN",
                  config_lookup(&cfg, "injected") != NULL, false);
    check_str("issuers read back",
              lookup(&cfg, "inbound.[0].certificates.[0].issuers.[0]"), bad_issuer);
    check_str("connector name from the first DNS name",
              lookup(&cfg, "inbound.[0].name"), "lab.example");
    check_str("tls_domain: the first DNS name",
              lookup(&cfg, "outbound.[0].tls_domain"), LEAF_CN);
    config_destroy(&cfg);
    c = load_blocks(out);
    check_str("issuer loaded", c->inbound[0].identities[0].issuers.items[0],
              bad_issuer);
    check_int("names loaded", (long long)c->inbound[0].identities[0].names.count, 0);
    config_free(c);
    free(out);
    free(info);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(k);
}

/* An issuer CN with a control byte is left out; the CN stays; it loads. */
static void test_blocks_issuer_control(void **state)
{
    static const char bad_issuer[] = "Issuing\tCA";
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *ca = make_cert(k, bad_issuer, strlen(bad_issuer), root, root_key,
                         true, NULL);
    X509 *leaf = make_cert(ec_key, LEAF_CN, strlen(LEAF_CN), ca, k, false, NULL);
    struct certinfo *info = malloc(sizeof *info);
    struct config *c;
    char *out;

    (void)state;
    facts_of(CERTS(leaf, ca), root, info);
    out = print_blocks(info, "Lab_Partner-1");
    check_clean(out);
    if (strstr(out, "    # issuers: the issuer CN \"Issuing\\x09CA\" is left out:"
               " contains a control character") == NULL ||
        strstr(out, "# WARNING: this identity accepts any issuer for this CN")
        == NULL)
        fail_msg("no comments on the issuer left out in:\n%s", out);
    c = load_blocks(out);
    check_str("--name", c->inbound[0].name, "Lab_Partner-1");
    check_str("names loaded", c->inbound[0].identities[0].names.items[0], LEAF_CN);
    check_int("issuers loaded",
              (long long)c->inbound[0].identities[0].issuers.count, 0);
    config_free(c);
    free(out);
    free(info);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(k);
}

/* A CN with a NUL byte ("good\0.evil"): never cut to its first part. */
static void test_blocks_nul_cn(void **state)
{
    static const char cn[] = "mail.lab.example\0.evil.example";
    X509 *leaf = make_cert(ec_key, cn, sizeof cn - 1, inter, int_key, false,
                           NULL);
    struct certinfo *info = malloc(sizeof *info);
    struct config *c;
    char *out;

    (void)state;
    facts_of(CERTS(leaf, inter), root, info);
    check_int("cn.len", (long long)info->cn.len, (long long)sizeof cn - 1);
    out = print_blocks(info, NULL);
    if (strstr(out, "\"mail.lab.example\\x00.evil.example\" is left out:"
               " contains a NUL byte") == NULL)
        fail_msg("no comment on the NUL byte in:\n%s", out);
    if (strstr(out, "tls_settings = \"certificate-validation\"") == NULL)
        fail_msg("no host name: got no certificate-validation in:\n%s", out);
    if (strstr(out, "\n# inbound = (\n#   { name = \"partner\";\n") == NULL)
        fail_msg("no domain: got no commented-out inbound block in:\n%s", out);
    c = load_ok(out);
    check_int("inbound_count (commented out)", (long long)c->inbound_count, 0);
    check_int("outbound_count (commented out)", (long long)c->outbound_count, 0);
    config_free(c);
    free(out);
    free(info);
    X509_free(leaf);
}

/* An IP address as CN: kept in names, but no domain and no tls_domain. */
static void test_blocks_ip_cn(void **state)
{
    X509 *leaf = make_cert(ec_key, "192.0.2.7", 9, inter, int_key, false, NULL);
    struct certinfo *info = malloc(sizeof *info);
    struct config *c;
    char *out;

    (void)state;
    facts_of(CERTS(leaf, inter), root, info);
    out = print_blocks(info, NULL);
    if (strstr(out, "#       { names = [ \"192.0.2.7\" ];\n") == NULL ||
        strstr(out, "#     # not domain-validation: no host name in the"
               " certificate (an IP address, not a host name)\n") == NULL)
        fail_msg("IP CN: got\n%s\nwant names kept, no domain, no tls_domain",
                 out);
    c = load_ok(out);
    check_int("inbound_count (commented out)", (long long)c->inbound_count, 0);
    config_free(c);
    free(out);
    free(info);
    X509_free(leaf);
}

/* A wildcard CN never matches as a name: left out; the domain still comes. */
static void test_blocks_wildcard_cn(void **state)
{
    X509 *leaf = lab_leaf(ec_key, "*.lab.example", 13);
    struct certinfo *info = malloc(sizeof *info);
    struct config *c;
    config_t cfg;
    char *out;

    (void)state;
    facts_of(CERTS(leaf, inter), root, info);
    out = print_blocks(info, NULL);
    if (strstr(out, "    # names: the CN \"*.lab.example\" is left out: a"
               " wildcard, not one host name.") == NULL)
        fail_msg("wildcard CN: got\n%s\nwant it left out of names", out);
    parse_blocks(&cfg, out);
    check_str("name", lookup(&cfg, "inbound.[0].name"), "lab.example");
    check_str("tls_domain: the first DNS name",
              lookup(&cfg, "outbound.[0].tls_domain"), LEAF_CN);
    config_destroy(&cfg);
    c = load_blocks(out);
    check_int("names loaded", (long long)c->inbound[0].identities[0].names.count, 0);
    config_free(c);
    free(out);
    free(info);
    X509_free(leaf);
}

/* Issuer CNs of 254 bytes are written; of 255, left out (the daemon cuts). */
static void test_blocks_issuer_length(void **state)
{
    static const size_t lens[] = { 254, 255 };
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
        char issuer[300];
        X509 *ca, *leaf;
        struct certinfo *info = malloc(sizeof *info);
        struct config *c;
        char *out;

        memset(issuer, 'I', lens[i]);
        issuer[lens[i]] = '\0';
        ca = make_cert(k, issuer, lens[i], root, root_key, true, NULL);
        leaf = make_cert(ec_key, LEAF_CN, strlen(LEAF_CN), ca, k, false, NULL);
        facts_of(CERTS(leaf, ca), root, info);
        out = print_blocks(info, NULL);
        c = load_blocks(out);
        check_int_in("issuers written", lens[i] == 254 ? "254 bytes" : "255 bytes",
                     (long long)c->inbound[0].identities[0].issuers.count,
                     lens[i] == 254 ? 1 : 0);
        if (lens[i] == 255 && strstr(out, "is left out: longer than the daemon"
                                     " keeps of an issuer CN (254 bytes).") == NULL)
            fail_msg("255 bytes: got\n%s\nwant the comment", out);
        config_free(c);
        free(out);
        free(info);
        X509_free(leaf);
        X509_free(ca);
    }
    EVP_PKEY_free(k);
}

/* ---- connector_main: exact error lines ---- */

/* Run connector_main with words; its stdout and stderr into the buffers. */
static int run_main(const char *const *words, char *out, size_t outsz,
                    char *err, size_t errsz)
{
    char opath[256], epath[256], *argv[16];
    int argc = 0, so = dup(1), se = dup(2), rc, fo, fe;
    ssize_t n;

    while (words[argc] != NULL && argc < 15) {
        argv[argc] = (char *)words[argc];
        argc++;
    }
    argv[argc] = NULL;
    write_tmp(opath, sizeof opath, "");
    write_tmp(epath, sizeof epath, "");
    fo = open(opath, O_WRONLY | O_TRUNC);
    fe = open(epath, O_WRONLY | O_TRUNC);
    fflush(stdout);
    fflush(stderr);
    dup2(fo, 1);
    dup2(fe, 2);
    rc = connector_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    fo = open(opath, O_RDONLY);
    n = read(fo, out, outsz - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fo);
    fe = open(epath, O_RDONLY);
    n = read(fe, err, errsz - 1);
    err[n > 0 ? n : 0] = '\0';
    close(fe);
    unlink(opath);
    unlink(epath);
    return rc;
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Bad PEM and bad options: one exact line on stderr, nothing on stdout, 1. */
static void test_main_errors(void **state)
{
    char path[256], path2[256], good[256], out[4096], err[4096], want[1024];
    char *pem = pem_of(CERTS(leaf_rsa)), *two;
    int rc;

    (void)state;
    write_tmp(path, sizeof path, "-----BEGIN CERTIFICATE-----\nAAA!!\n"
              "-----END CERTIFICATE-----\n");
    rc = run_main(WORDS("--cert", path), out, sizeof out, err, sizeof err);
    snprintf(want, sizeof want, "forcetls: %s: certificate 1: unreadable PEM:"
             " bad base64 decode\n", path);
    check_str("bad base64: stderr", err, want);
    check_str("bad base64: stdout", out, "");
    check_int("bad base64: exit", rc, 1);

    if (asprintf(&two, "%s-----BEGIN CERTIFICATE-----\nMIIB\n"
                 "-----END CERTIFICATE-----\n", pem) < 0)
        fail_msg("asprintf failed");
    write_tmp(path2, sizeof path2, two);
    run_main(WORDS("--cert", path2), out, sizeof out, err, sizeof err);
    snprintf(want, sizeof want, "forcetls: %s: certificate 2: unreadable PEM:"
             " header too long\n", path2);
    check_str("a bad second certificate: stderr", err, want);

    write_tmp(good, sizeof good, "no PEM here\n");
    rc = run_main(WORDS("--cert", good), out, sizeof out, err, sizeof err);
    snprintf(want, sizeof want, "forcetls: %s: no certificate (no PEM block"
             " \"-----BEGIN CERTIFICATE-----\")\n", good);
    check_str("no certificate: stderr", err, want);
    check_int("no certificate: exit", rc, 1);
    unlink(good);

    rc = run_main(WORDS("--cert", "/nonexistent/x.pem"), out, sizeof out, err,
                  sizeof err);
    check_str("missing file", err, "forcetls: /nonexistent/x.pem: cannot read:"
              " No such file or directory\n");
    check_int("missing file: exit", rc, 1);
    /* Arguments with a line break: still one line, escaped as in the log. */
    run_main(WORDS("--cert", "/nonexistent/a\nb.pem"), out, sizeof out, err,
             sizeof err);
    check_str("missing file with a line break", err, "forcetls:"
              " \"/nonexistent/a\\nb.pem\": cannot read: No such file or"
              " directory\n");
    run_main(WORDS("--probe", "mx:2\n5"), out, sizeof out, err, sizeof err);
    check_str("target with a line break", err, "forcetls: --probe: a control"
              " character or a byte over 127 in HOST[:PORT]\n");

    run_main(WORDS("--cert", path, "--CAfile", path2), out, sizeof out, err,
             sizeof err);
    snprintf(want, sizeof want, "forcetls: %s: certificate 2: unreadable PEM:"
             " header too long\n", path2);
    check_str("bad CA file", err, want);

    run_main(WORDS("--probe", "x", "--cert", path), out, sizeof out, err,
             sizeof err);
    check_str("both", err, "forcetls: connector: give one of --cert FILE and"
              " --probe HOST[:PORT]\n");
    run_main(WORDS("--probe", "x", "--timeout", "0"), out, sizeof out, err,
             sizeof err);
    check_str("timeout 0", err, "forcetls: connector: --timeout: want whole"
              " seconds from 1 to 3600, got 0\n");
    run_main(WORDS("--bogus"), out, sizeof out, err, sizeof err);
    check_str("unknown option", err, "forcetls: connector: unknown option --bogus\n");
    run_main(WORDS("--probe", "[::1"), out, sizeof out, err, sizeof err);
    check_str("bad target", err, "forcetls: --probe: \"[::1\": want HOST,"
              " HOST:PORT or [ADDRESS]:PORT\n");

    write_tmp(good, sizeof good, pem);
    rc = run_main(WORDS("--cert", good, "--name", "lab"), out, sizeof out, err,
                  sizeof err);
    check_str("good: stderr", err, "");
    check_int("good: exit", rc, 0);
    if (strstr(out, "inbound = (\n  { name = \"lab\";") == NULL)
        fail_msg("good: got stdout\n%s\nwant the inbound block named lab", out);
    unlink(good);
    unlink(path);
    unlink(path2);
    free(two);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facts_rsa_chain),
        cmocka_unit_test(test_facts_ec_presented_root),
        cmocka_unit_test(test_facts_not_verified),
        cmocka_unit_test(test_facts_two_cns),
        cmocka_unit_test(test_pem_with_key),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_blocks_values),
        cmocka_unit_test(test_blocks_hostile),
        cmocka_unit_test(test_blocks_issuer_control),
        cmocka_unit_test(test_blocks_nul_cn),
        cmocka_unit_test(test_blocks_ip_cn),
        cmocka_unit_test(test_blocks_wildcard_cn),
        cmocka_unit_test(test_blocks_issuer_length),
        cmocka_unit_test(test_main_errors),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, make_pki, free_pki);
}
