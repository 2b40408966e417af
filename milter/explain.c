/*
 * explain.c - forcetls explain: the command line's words into the session
 * facts and envelope the daemon would have, and each recipient judged by
 * the daemon's engine.
 *
 * Owns: the KEY=VALUE grammar (which keys, which may repeat, what each
 * value may be), building the facts exactly as callbacks.c does
 * (tlsfacts_from_macros in the Postfix dialect: cert= is the CN of a
 * certificate the MTA verified, issuer= its issuing CA's CN), OpenSSL's
 * bits of a cipher when bits= is absent (what Postfix passes as
 * {cipher_bits}: SSL_CIPHER_get_bits), and running policy_decide_traced,
 * policy_format_line and policymap_answer per recipient.
 *
 * Must not: decide anything. Every outcome, reason, check result and the
 * decision line come from the engine (policy.h); this module and the
 * printers only put words around them. A bad word is an error, never
 * guessed at.
 *
 * Threads: a command-line program; single-threaded. explain_parse uses
 * the cipher table of tlsfacts_init().
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "cidr.h"
#include "config.h"
#include "config_syntax.h"
#include "explain.h"
#include "explain_internal.h"
#include "log.h"
#include "policymap.h"
#include "text.h"
#include "tlsfacts.h"

/* Largest bits= taken (tlsfacts.c reads larger {cipher_bits} as 0). */
#define BITS_MAX 100000UL

/* The single-valued keys; rcpt= repeats and is counted apart. */
enum key {
    KEY_SENDER, KEY_CLIENT, KEY_TLS, KEY_CIPHER, KEY_BITS, KEY_CERT,
    KEY_ISSUER, KEY_AT, KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
    [KEY_SENDER] = "sender", [KEY_CLIENT] = "client", [KEY_TLS] = "tls",
    [KEY_CIPHER] = "cipher", [KEY_BITS] = "bits", [KEY_CERT] = "cert",
    [KEY_ISSUER] = "issuer", [KEY_AT] = "at",
};

#define KEY_LIST "sender, rcpt, client, tls, cipher, bits, cert, issuer, at"

/* The lines after the synopsis: keys and options. */
void explain_usage_keys(FILE *out)
{
    fprintf(out,
            "  keys: rcpt=ADDRESS (one or more)  sender=ADDRESS (default <>)\n"
            "        client=IP  tls=TLSv1|TLSv1.1|TLSv1.2|TLSv1.3|none\n"
            "        cipher=NAME  bits=N  cert=CN  issuer=CN\n"
            "        at=YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (default: now)\n"
            "  -c FILE  configuration file (default %s)\n"
            "  --json   print one JSON object\n",
            CONFIG_DEFAULT_PATH);
}

/* Print the usage of explain. */
void explain_usage(FILE *out)
{
    fprintf(out, "usage: %s\n", EXPLAIN_SYNOPSIS);
    explain_usage_keys(out);
}

/* printf into err. */
static enum explain_parse_result
fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum explain_parse_result
fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return EXPLAIN_PARSE_ERROR;
}

/* "key: "value": why" into err. */
static enum explain_parse_result
bad_value(char *err, size_t errsz, const char *key, const char *value,
          const char *why)
{
    char quoted[LOG_VALUE_BUF + 2];

    quoted[0] = '\0';
    explain_append_quoted(quoted, sizeof quoted, value);
    return fail(err, errsz, "%s: %s: %s", key, quoted, why);
}

/* "before"value"after" into err, the value quoted and escaped. */
static enum explain_parse_result
quoted_fail(char *err, size_t errsz, const char *before, const char *value,
            const char *after)
{
    char quoted[LOG_VALUE_BUF + 2];

    quoted[0] = '\0';
    explain_append_quoted(quoted, sizeof quoted, value);
    return fail(err, errsz, "%s%s%s", before, quoted, after);
}

/*
 * OpenSSL's bits of a cipher by its OpenSSL or IANA name, among every
 * cipher it knows (as tlsfacts.c lists them); false when it knows none.
 */
static bool openssl_cipher_bits(const char *name, int *bits)
{
    static const char tls13[] =
        "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
        "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";
    STACK_OF(SSL_CIPHER) *list;
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    bool found = false;

    if (ctx == NULL)
        return false;
    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL") == 1) {
        (void)SSL_CTX_set_ciphersuites(ctx, tls13);
        list = SSL_CTX_get_ciphers(ctx);
        for (int i = 0; list != NULL && i < sk_SSL_CIPHER_num(list); i++) {
            const SSL_CIPHER *c = sk_SSL_CIPHER_value(list, i);
            const char *std = SSL_CIPHER_standard_name(c);

            if (strcmp(SSL_CIPHER_get_name(c), name) == 0 ||
                (std != NULL && strcmp(std, name) == 0)) {
                *bits = SSL_CIPHER_get_bits(c, NULL);
                found = true;
                break;
            }
        }
    }
    SSL_CTX_free(ctx);
    return found;
}

/* Which single-valued key word names; KEY_COUNT when none. */
static enum key key_of(const char *word, size_t len)
{
    for (int k = 0; k < KEY_COUNT; k++)
        if (strlen(key_names[k]) == len && memcmp(word, key_names[k], len) == 0)
            return (enum key)k;
    return KEY_COUNT;
}

/* The options and KEY=VALUE words into req and values[]; rcpt= to req. */
static enum explain_parse_result
split_words(int argc, char **argv, struct explain_request *req,
            const char *values[KEY_COUNT], char *err, size_t errsz)
{
    bool have_c = false;

    for (int i = 0; i < argc; i++) {
        const char *w = argv[i], *eq;
        enum key k;

        if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0)
            return EXPLAIN_PARSE_HELP;
        if (strcmp(w, "-c") == 0) {
            if (have_c)
                return fail(err, errsz, "-c given twice");
            if (i + 1 >= argc)
                return fail(err, errsz, "-c needs a FILE");
            req->config_path = argv[++i];
            have_c = true;
            continue;
        }
        if (strcmp(w, "--json") == 0) {
            if (req->json)
                return fail(err, errsz, "--json given twice");
            req->json = true;
            continue;
        }
        if (w[0] == '-')
            return quoted_fail(err, errsz, "unknown option ", w, "");
        if ((eq = strchr(w, '=')) == NULL)
            return quoted_fail(err, errsz, "", w, " is not KEY=VALUE");
        if ((size_t)(eq - w) == 4 && memcmp(w, "rcpt", 4) == 0) {
            req->rcpt_text[req->rcpt_count++] = eq + 1;
            continue;
        }
        k = key_of(w, (size_t)(eq - w));
        if (k == KEY_COUNT) {
            char key[64];

            text_copy(key, sizeof key, w);
            if ((size_t)(eq - w) < sizeof key)
                key[eq - w] = '\0';
            return quoted_fail(err, errsz, "unknown key ", key,
                               " (keys: " KEY_LIST ")");
        }
        if (values[k] != NULL)
            return fail(err, errsz, "%s= given twice (only rcpt= repeats)",
                        key_names[k]);
        values[k] = eq + 1;
    }
    return EXPLAIN_PARSE_OK;
}

/* sender= and rcpt= into addresses. */
static enum explain_parse_result
parse_addresses(struct explain_request *req, const char *sender, char *err,
                size_t errsz)
{
    /* "" as well: a log line's <> without its brackets. */
    req->sender_text = sender != NULL ? sender : "<>";
    if (req->sender_text[0] == '\0')
        req->sender.null_path = true;
    else if (!addr_parse_path(req->sender_text, &req->sender))
        return bad_value(err, errsz, "sender", req->sender_text,
                         "not an address (<> is the null sender)");
    if (req->rcpt_count == 0)
        return fail(err, errsz, "no rcpt=: give at least one recipient");
    for (size_t i = 0; i < req->rcpt_count; i++) {
        if (!addr_parse_path(req->rcpt_text[i], &req->rcpt[i]))
            return bad_value(err, errsz, "rcpt", req->rcpt_text[i],
                             "not an address");
        if (req->rcpt[i].null_path)
            return bad_value(err, errsz, "rcpt", req->rcpt_text[i],
                             "the null path is no recipient");
    }
    return EXPLAIN_PARSE_OK;
}

/* tls=, cipher=, bits=, cert=, issuer= into the TLS facts. */
static enum explain_parse_result
parse_tls(struct explain_request *req, const char *values[KEY_COUNT],
          char *err, size_t errsz)
{
    const char *tls = values[KEY_TLS], *cipher = values[KEY_CIPHER];
    const char *bits = values[KEY_BITS];
    bool plaintext = tls == NULL || strcasecmp(tls, "none") == 0;
    char bits_buf[16];
    unsigned long n;
    int openssl_bits;
    struct tls_macros m = { 0 };

    if (!plaintext && tlsfacts_parse_version(tls) < TLS_VERSION_1_0)
        return bad_value(err, errsz, "tls", tls,
                         "must be TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 or none");
    if (bits != NULL && !syntax_decimal(bits, strlen(bits), BITS_MAX, &n))
        return bad_value(err, errsz, "bits", bits,
                         "must be a whole number from 0 to 100000");
    if (cipher != NULL && cipher[0] == '\0')
        return bad_value(err, errsz, "cipher", cipher, "empty");
    for (int k = KEY_CIPHER; k <= KEY_CERT; k++)
        if (plaintext && values[k] != NULL)
            return fail(err, errsz, "%s= needs tls=VERSION: a plaintext "
                        "session has no %s", key_names[k],
                        k == KEY_CERT ? "certificate" : "cipher");
    if (values[KEY_ISSUER] != NULL && values[KEY_CERT] == NULL)
        return fail(err, errsz, "issuer= needs cert=: Postfix passes the "
                    "issuer only with a certificate it verified");
    if (bits == NULL && cipher != NULL) {
        if (!openssl_cipher_bits(cipher, &openssl_bits))
            return bad_value(err, errsz, "cipher", cipher,
                             "not a cipher OpenSSL knows: give bits= too");
        snprintf(bits_buf, sizeof bits_buf, "%d", openssl_bits);
        bits = bits_buf;
        req->bits_from_openssl = true;
    }
    m.tls_version = plaintext ? NULL : tls;
    m.cipher = cipher;
    m.cipher_bits = bits;
    m.cert_subject = values[KEY_CERT];
    m.cert_issuer = values[KEY_ISSUER];
    tlsfacts_from_macros(&req->session.tls, MTA_POSTFIX, &m);
    return EXPLAIN_PARSE_OK;
}

/* Parse the words after "explain"; see explain.h. */
enum explain_parse_result explain_parse(int argc, char **argv, int64_t now,
                                        struct explain_request *req,
                                        char *err, size_t errsz)
{
    const char *values[KEY_COUNT] = { 0 };
    const char *why = NULL;
    enum explain_parse_result r;

    memset(req, 0, sizeof *req);
    err[0] = '\0';
    req->config_path = CONFIG_DEFAULT_PATH;
    req->now = now;
    req->session.now = now;
    req->rcpt_text = calloc((size_t)argc + 1, sizeof *req->rcpt_text);
    req->rcpt = calloc((size_t)argc + 1, sizeof *req->rcpt);
    if (req->rcpt_text == NULL || req->rcpt == NULL)
        return fail(err, errsz, "out of memory");
    if ((r = split_words(argc, argv, req, values, err, errsz)) != EXPLAIN_PARSE_OK)
        return r;
    if (values[KEY_AT] != NULL) {
        if (!syntax_utc_date(values[KEY_AT], &req->now, &why))
            return bad_value(err, errsz, "at", values[KEY_AT], why);
        req->at_given = true;
        req->session.now = req->now;
    }
    /* none: as the daemon logs a session without a client address. */
    if (values[KEY_CLIENT] != NULL && strcmp(values[KEY_CLIENT], "none") != 0) {
        if (!ip_parse(values[KEY_CLIENT], &req->session.client_ip))
            return bad_value(err, errsz, "client", values[KEY_CLIENT],
                             "not an IP address");
        req->session.have_client_ip = true;
    }
    if ((r = parse_addresses(req, values[KEY_SENDER], err, errsz)) != EXPLAIN_PARSE_OK)
        return r;
    return parse_tls(req, values, err, errsz);
}

/* Free what explain_parse allocated. */
void explain_request_free(struct explain_request *req)
{
    free(req->rcpt_text);
    free(req->rcpt);
    req->rcpt_text = NULL;
    req->rcpt = NULL;
    req->rcpt_count = 0;
}

/* Drop trailing spaces ("NOTFOUND " has an empty value after its space). */
static void trim_end(char *s)
{
    size_t len = strlen(s);

    while (len > 0 && s[len - 1] == ' ')
        s[--len] = '\0';
}

/* Judge one recipient: the engine, the log line, the socketmap answers. */
void explain_judge(const struct config *config,
                   const struct explain_request *req, size_t i,
                   struct explain_recipient *out)
{
    char request[POLICYMAP_KEY_MAX + 16];

    memset(out, 0, sizeof *out);
    out->text = req->rcpt_text[i];
    out->addr = &req->rcpt[i];
    policy_decide_traced(config, &req->session, &req->sender, out->addr,
                         &out->verdict, &out->trace);
    /* As callbacks.c: a matched connector's line, or any with log_all. */
    out->logged = out->verdict.match_count > 0 || config->log_all;
    policy_format_line(config, &out->verdict, &req->session, "explain",
                       req->sender_text, out->text, out->line,
                       sizeof out->line);
    for (size_t j = 0; j < out->verdict.match_count; j++)
        if (out->verdict.matches[j].direction == DIRECTION_OUTBOUND)
            out->outbound = true;
    if (!out->outbound)
        return;
    text_copy(out->tlspolicy_key, sizeof out->tlspolicy_key, out->addr->domain);
    snprintf(request, sizeof request, "tlspolicy %s", out->addr->domain);
    policymap_answer(config, request, out->tlspolicy, sizeof out->tlspolicy);
    snprintf(request, sizeof request, "transport %s", out->addr->address);
    policymap_answer(config, request, out->transport, sizeof out->transport);
    trim_end(out->tlspolicy);
    trim_end(out->transport);
}

/* Print the explanation; see explain.h. */
bool explain_print(const struct config *config,
                   const struct explain_request *req, FILE *out)
{
    struct explain_recipient *r = malloc(sizeof *r);

    if (r == NULL)
        return false;
    if (req->json)
        explain_print_json(config, req, r, out);
    else
        explain_print_text(config, req, r, out);
    free(r);
    return true;
}

/* Load the configuration and print; see explain.h. */
bool explain_run(const struct explain_request *req, FILE *out, char *err,
                 size_t errsz)
{
    struct config_error cerr;
    struct config *config = config_load(req->config_path, &cerr);

    if (config == NULL) {
        text_copy(err, errsz, cerr.text);
        return false;
    }
    if (!explain_print(config, req, out)) {
        text_copy(err, errsz, "out of memory");
        config_free(config);
        return false;
    }
    config_free(config);
    return true;
}

/* forcetls explain; see explain.h. */
int explain_main(int argc, char **argv)
{
    struct explain_request req;
    char err[EXPLAIN_ERR_MAX];
    enum explain_parse_result r;
    int status = 0;

    if (!tlsfacts_init()) {
        fprintf(stderr, "forcetls: cannot read OpenSSL's cipher table\n");
        return 1;
    }
    r = explain_parse(argc, argv, (int64_t)time(NULL), &req, err, sizeof err);
    if (r == EXPLAIN_PARSE_HELP) {
        explain_usage(stdout);
    } else if (r == EXPLAIN_PARSE_ERROR || !explain_run(&req, stdout, err, sizeof err)) {
        fprintf(stderr, "forcetls: %s\n", err);
        status = 1;
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "forcetls: cannot write the explanation\n");
        status = 1;
    }
    explain_request_free(&req);
    tlsfacts_shutdown();
    return status;
}
