/*
 * test_connector.c - unit tests for forcetls connector (certinfo.c,
 * probe.c, connector_block.c, connector.c) on a lab PKI made here with
 * OpenSSL's API: a root (EC P-256), an intermediate (EC P-384), leaves
 * with subjectAltNames (RSA 2048 and EC P-256), hostile names.
 *
 * Checked: the facts of each chain (names, issuer, key, dates, the root of
 * the verified chain, a chain that does not verify); the printed blocks
 * parsed back with libconfig, every value compared with the certificate's
 * bytes (quotes, backslashes, control and non-ASCII bytes included), and
 * loaded with config_load; names the loader would refuse left out with a
 * comment and the rest still loading; the exact error line and exit status
 * of connector_main for bad PEM; connector_quote for every byte; and the
 * probe against fake servers forked here (a full STARTTLS handshake, the
 * bounds on lines, line length and time, no STARTTLS, a refusal, a
 * command injection after STARTTLS).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <fcntl.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "config.h"
#include "connector.h"
#include "probe.h"
#include "tlsfacts.h"
#include "testutil.h"

/* The lab PKI, made once. */
static EVP_PKEY *root_key, *int_key, *rsa_key, *ec_key, *other_key;
static X509 *root, *inter, *leaf_rsa, *leaf_ec, *other_root;
static int64_t t0, t_end;        /* the leaves' notBefore and notAfter */

#define LEAF_CN "mail.lab.example"
#define INT_CN "Lab Issuing CA 1"
#define ROOT_CN "Lab Root CA"

/* A name of one CN of len bytes (any bytes), after an O. */
static X509_NAME *cn_name(const char *cn, size_t len)
{
    X509_NAME *n = X509_NAME_new();

    if (n == NULL ||
        !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                    (const unsigned char *)"Lab", -1, -1, 0) ||
        !X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
                                    (const unsigned char *)cn, (int)len, -1, 0))
        fail_msg("X509_NAME for CN %s failed", cn);
    return n;
}

/* Add an extension given in openssl.cnf words. */
static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e == NULL || !X509_add_ext(x, e, -1))
        fail_msg("extension %s=%s failed", OBJ_nid2sn(nid), value);
    X509_EXTENSION_free(e);
}

/*
 * A certificate for key with subject CN (len bytes), signed by issuer
 * (NULL: self-signed) with issuer_key, valid from t0 to t_end; sans in
 * openssl.cnf words or NULL.
 */
static X509 *make_cert(EVP_PKEY *key, const char *cn, size_t len, X509 *issuer,
                       EVP_PKEY *issuer_key, bool ca, const char *sans)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *n = cn_name(cn, len);

    if (x == NULL || !X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) ||
        !X509_set_subject_name(x, n) ||
        !X509_set_issuer_name(x, issuer != NULL ?
                              X509_get_subject_name(issuer) : n) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)t0) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)t_end) ||
        !X509_set_pubkey(x, key))
        fail_msg("certificate %s: set-up failed", cn);
    X509_NAME_free(n);
    add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, ca ?
            "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
    if (!ca)
        add_ext(x, x, NID_ext_key_usage, "serverAuth,clientAuth");
    if (sans != NULL)
        add_ext(x, x, NID_subject_alt_name, sans);
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
        fail_msg("certificate %s: signing failed", cn);
    return x;
}

/* A leaf under the intermediate with CN cn (len bytes). */
static X509 *lab_leaf(EVP_PKEY *key, const char *cn, size_t len)
{
    return make_cert(key, cn, len, inter, int_key, false,
                     "DNS:" LEAF_CN ",DNS:mx2.lab.example,IP:192.0.2.7");
}

/* Make the lab PKI. */
static int make_pki(void **state)
{
    (void)state;
    t0 = (int64_t)time(NULL) - 86400;
    t_end = t0 + 90 * 86400;
    root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    int_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!root_key || !int_key || !rsa_key || !ec_key || !other_key)
        return -1;
    root = make_cert(root_key, ROOT_CN, strlen(ROOT_CN), NULL, root_key, true,
                     NULL);
    inter = make_cert(int_key, INT_CN, strlen(INT_CN), root, root_key, true,
                      NULL);
    leaf_rsa = lab_leaf(rsa_key, LEAF_CN, strlen(LEAF_CN));
    leaf_ec = lab_leaf(ec_key, LEAF_CN, strlen(LEAF_CN));
    other_root = make_cert(other_key, ROOT_CN, strlen(ROOT_CN), NULL,
                           other_key, true, NULL);
    return tlsfacts_init() ? 0 : -1;
}

/* Free the lab PKI. */
static int free_pki(void **state)
{
    (void)state;
    X509_free(root);
    X509_free(inter);
    X509_free(leaf_rsa);
    X509_free(leaf_ec);
    X509_free(other_root);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(int_key);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(other_key);
    tlsfacts_shutdown();
    return 0;
}

/* certs (NULL-terminated) as PEM text, malloc'ed. */
static char *pem_of(X509 *const *certs)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;

    for (size_t i = 0; certs[i] != NULL; i++)
        if (!PEM_write_bio_X509(bio, certs[i]))
            fail_msg("PEM_write_bio_X509 failed");
    n = BIO_get_mem_data(bio, &data);
    out = strndup(data, (size_t)n);
    BIO_free(bio);
    return out;
}

#define CERTS(...) ((X509 *const[]){ __VA_ARGS__, NULL })

/* Write certs to a temporary PEM file; its name into path. */
static void write_pem(char *path, size_t pathsz, X509 *const *certs)
{
    char *pem = pem_of(certs);

    write_tmp(path, pathsz, pem);
    free(pem);
}

/* A trust store of one certificate. */
static X509_STORE *store_of(X509 *ca)
{
    X509_STORE *s = X509_STORE_new();

    if (s == NULL || X509_STORE_add_cert(s, ca) != 1)
        fail_msg("X509_STORE of %s failed", ROOT_CN);
    return s;
}

/* The facts of certs read back through a PEM file, verified with ca. */
static void facts_of(X509 *const *certs, X509 *ca, struct certinfo *info)
{
    char path[256], err[CERTINFO_ERR_MAX];
    STACK_OF(X509) *chain;
    X509_STORE *store = ca != NULL ? store_of(ca) : NULL;

    write_pem(path, sizeof path, certs);
    chain = certinfo_read_pem(path, err, sizeof err);
    unlink(path);
    if (chain == NULL)
        fail_msg("certinfo_read_pem: got error \"%s\", want a chain", err);
    if (!certinfo_facts(chain, store, (int64_t)time(NULL), info, err, sizeof err))
        fail_msg("certinfo_facts: got error \"%s\", want facts", err);
    certinfo_chain_free(chain);
    X509_STORE_free(store);
}

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
    check_str("valid_until", lookup(&cfg,
              "inbound.[0].certificates.[0].valid_until"), until);
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
    check_int("valid_until loaded", c->inbound[0].identities[0].valid_until,
              t_end);
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

/* ---- the probe, against servers forked here ---- */

/* What a fake server does after accepting. */
enum fake {
    FAKE_TLS,            /* a proper STARTTLS server with the RSA chain */
    FAKE_SILENT,         /* never says anything */
    FAKE_MANY_LINES,     /* a greeting of 101 lines */
    FAKE_LONG_LINE,      /* a greeting line of 3000 bytes */
    FAKE_REFUSE,         /* 554 at once */
    FAKE_NO_STARTTLS,    /* EHLO without STARTTLS */
    FAKE_INJECT,         /* 220 to STARTTLS, then more plaintext */
};

/* Write all of s to fd (the child). */
static void put(int fd, const char *s)
{
    size_t len = strlen(s);

    while (len > 0) {
        ssize_t n = write(fd, s, len);

        if (n <= 0)
            _exit(3);
        s += n;
        len -= (size_t)n;
    }
}

/* Read up to a line end from fd (the child). */
static void get_line(int fd)
{
    char c;

    while (read(fd, &c, 1) == 1 && c != '\n')
        ;
}

/* The child's TLS server side on fd. */
static void serve_tls(int fd)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl;
    char buf[64];

    if (ctx == NULL || SSL_CTX_use_certificate(ctx, leaf_rsa) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, rsa_key) != 1 ||
        SSL_CTX_add1_chain_cert(ctx, inter) != 1 || (ssl = SSL_new(ctx)) == NULL)
        _exit(4);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1)
        _exit(5);
    (void)SSL_read(ssl, buf, sizeof buf);
    _exit(0);
}

/* The fake server's conversation on fd (the child). */
static void fake_serve(int fd, enum fake kind)
{
    if (kind == FAKE_SILENT) {
        pause();
        _exit(0);
    }
    if (kind == FAKE_MANY_LINES) {
        for (int i = 0; i < 101; i++)
            put(fd, "220-hello\r\n");
        put(fd, "220 done\r\n");
        _exit(0);
    }
    if (kind == FAKE_LONG_LINE) {
        char line[3003];

        memset(line, 'x', 3000);
        memcpy(line, "220 ", 4);
        memcpy(line + 3000, "\r\n", 3);
        put(fd, line);
        _exit(0);
    }
    if (kind == FAKE_REFUSE) {
        put(fd, "554 5.7.1 go \"away\"\r\n");
        _exit(0);
    }
    put(fd, "220-mx.lab.example ESMTP\r\n220 fake\r\n");
    get_line(fd);
    if (kind == FAKE_NO_STARTTLS) {
        put(fd, "250-mx.lab.example\r\n250-STARTTLSX\r\n250 8BITMIME\r\n");
        get_line(fd);
        _exit(0);
    }
    put(fd, "250-mx.lab.example\r\n250-PIPELINING\r\n250 starttls \r\n");
    get_line(fd);
    put(fd, kind == FAKE_INJECT ? "220 go ahead\r\nMAIL FROM:<x@y>\r\n" :
        "220 2.0.0 go ahead\r\n");
    if (kind == FAKE_INJECT) {
        get_line(fd);
        _exit(0);
    }
    serve_tls(fd);
}

/* Fork a fake server on a loopback port; its port into *port. */
static pid_t fake_start(enum fake kind, unsigned *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s, 1) != 0 || getsockname(s, (struct sockaddr *)&a, &alen) != 0)
        fail_msg("fake server: cannot listen on 127.0.0.1");
    *port = ntohs(a.sin_port);
    pid = fork();
    if (pid < 0)
        fail_msg("fork failed");
    if (pid == 0) {
        int c = accept(s, NULL, NULL);

        alarm(20);
        if (c < 0)
            _exit(2);
        fake_serve(c, kind);
    }
    close(s);
    return pid;
}

/* Stop the fake server (our own child, by PID). */
static void fake_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* Probe a fake server of kind; the result and error. */
static bool probe_fake(enum fake kind, long timeout_ms, struct probe_result *res,
                       char *err, size_t errsz, char *target, size_t targetsz)
{
    struct probe_request req = { .timeout_ms = timeout_ms, .helo = "probe.lab.example" };
    unsigned port;
    pid_t pid = fake_start(kind, &port);
    bool ok;

    snprintf(target, targetsz, "127.0.0.1:%u", port);
    if (!probe_parse_target(target, &req, err, errsz))
        fail_msg("probe_parse_target(%s): got \"%s\", want success", target, err);
    ok = probe_run(&req, res, err, errsz);
    fake_stop(pid);
    return ok;
}

/* A full STARTTLS probe: the chain, the version, forward secrecy. */
static void test_probe_tls(void **state)
{
    struct probe_result res;
    struct certinfo *info = malloc(sizeof *info);
    char err[PROBE_ERR_MAX], target[64];
    X509_STORE *store = store_of(root);

    (void)state;
    tlsfacts_init();            /* connector_main shut it down */
    if (!probe_fake(FAKE_TLS, 10000, &res, err, sizeof err, target, sizeof target))
        fail_msg("probe: got error \"%s\", want success", err);
    check_str("address", res.address, target);
    check_str("version", res.version, "TLSv1.3");
    check_bool_in("forward_secret", res.cipher, res.forward_secret, true);
    check_int("chain", sk_X509_num(res.chain), 2);
    if (!certinfo_facts(res.chain, store, (int64_t)time(NULL), info, err, sizeof err))
        fail_msg("certinfo_facts: got \"%s\"", err);
    check_str("cn", info->cn.s, LEAF_CN);
    check_str("root", info->root.s, ROOT_CN);
    certinfo_chain_free(res.chain);
    X509_STORE_free(store);
    free(info);
}

/* Each bound and refusal: one error naming the target. */
static void test_probe_errors(void **state)
{
    static const struct { enum fake kind; long ms; const char *want; } cases[] = {
        { FAKE_SILENT, 300, "timed out after 0.300 s waiting for the greeting" },
        { FAKE_MANY_LINES, 5000, "a reply of more than 100 lines (the greeting)" },
        { FAKE_LONG_LINE, 5000, "a reply line longer than 2048 bytes (the greeting)" },
        { FAKE_REFUSE, 5000, "the server refused the session: \"554 5.7.1 go \\\"away\\\"\"" },
        { FAKE_NO_STARTTLS, 5000, "the server does not offer STARTTLS" },
        { FAKE_INJECT, 5000, "the server sent more after its reply to STARTTLS"
                             " (refused: a command injection)" },
    };
    struct probe_result res;
    char err[PROBE_ERR_MAX], target[64], want[512];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (probe_fake(cases[i].kind, cases[i].ms, &res, err, sizeof err, target,
                       sizeof target))
            fail_msg("case %zu: got success, want \"%s\"", i, cases[i].want);
        snprintf(want, sizeof want, "%s: %s", target, cases[i].want);
        check_str("probe error", err, want);
        check_bool_in("no chain", cases[i].want, res.chain == NULL, true);
    }
}

/* HOST[:PORT] forms. */
static void test_probe_targets(void **state)
{
    static const struct {
        const char *in, *host; unsigned port; bool name; const char *err;
    } cases[] = {
        { "mx.lab.example", "mx.lab.example", 25, true, NULL },
        { "192.0.2.1:2525", "192.0.2.1", 2525, false, NULL },
        { "[::1]:587", "::1", 587, false, NULL },
        { "[::1]", "::1", 25, false, NULL },
        { "::1", "::1", 25, false, NULL },
        { "mx:0", NULL, 0, false, "--probe: \"mx:0\": the port must be 1 to 65535" },
        { "mx:65536", NULL, 0, false, "--probe: \"mx:65536\": the port must be 1 to 65535" },
        { "mx:2x", NULL, 0, false, "--probe: \"mx:2x\": the port must be 1 to 65535" },
        { ":25", NULL, 0, false, "--probe: \":25\": no host, or a host name that is too long" },
        { "a b", NULL, 0, false, "--probe: the host contains a character that no host name or address has" },
        { "[::1]x", NULL, 0, false, "--probe: \"[::1]x\": want HOST, HOST:PORT or [ADDRESS]:PORT" },
        { "a:b:c", NULL, 0, false, "--probe: \"a:b:c\": not an IPv6 address" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct probe_request req;
        char err[256] = "";
        bool ok = probe_parse_target(cases[i].in, &req, err, sizeof err);

        check_bool_in("probe_parse_target", cases[i].in, ok, cases[i].err == NULL);
        if (!ok) {
            check_str_in("error", cases[i].in, err, cases[i].err);
            continue;
        }
        check_str_in("host", cases[i].in, req.host, cases[i].host);
        check_int_in("port", cases[i].in, req.port, cases[i].port);
        check_bool_in("host_is_name", cases[i].in, req.host_is_name, cases[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facts_rsa_chain),
        cmocka_unit_test(test_facts_ec_presented_root),
        cmocka_unit_test(test_facts_not_verified),
        cmocka_unit_test(test_facts_two_cns),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_blocks_values),
        cmocka_unit_test(test_blocks_hostile),
        cmocka_unit_test(test_blocks_issuer_control),
        cmocka_unit_test(test_blocks_nul_cn),
        cmocka_unit_test(test_main_errors),
        cmocka_unit_test(test_probe_tls),
        cmocka_unit_test(test_probe_errors),
        cmocka_unit_test(test_probe_targets),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, make_pki, free_pki);
}
