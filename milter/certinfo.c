/*
 * certinfo.c - a partner's certificate chain and its facts, with OpenSSL:
 * reading a PEM chain, loading a CA file, verifying the chain against it,
 * and the names, key and dates a connector is written from.
 *
 * Owns: which subject CN counts (the first, as Postfix's {cert_subject}
 * takes it), which issuer CN counts (the leaf's issuer: what the MTA
 * passes as {cert_issuer} and a connector's issuers must hold), names as
 * bytes (a NUL byte or a control byte in a certificate name is kept and
 * shown, never silently cut off), the words for the key, and the root.
 *
 * Must not: trust anything in a certificate. Every name is hostile text
 * of bounded length; the printers (connector.c) quote it. Nothing here
 * decides whether a certificate is acceptable: that is the daemon's.
 *
 * Threads: pure functions on caller data; OpenSSL's error queue is the
 * calling thread's.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "log.h"

/* printf into err; always false, for "return fail(...)". */
static bool fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return false;
}

/*
 * "NAME: " and printf into err, NAME escaped as log_value writes it (a file
 * name from the command line may hold a line break: the error stays one
 * line); always false.
 */
static bool fail_file(char *err, size_t errsz, const char *name,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail_file(char *err, size_t errsz, const char *name,
                      const char *fmt, ...)
{
    char esc[LOG_VALUE_BUF];
    va_list ap;
    int n;

    log_value(name, esc, sizeof esc);
    n = snprintf(err, errsz, "%s: ", esc);
    if (n >= 0 && (size_t)n < errsz) {
        va_start(ap, fmt);
        vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* OpenSSL's words for the first error queued (then the queue is cleared). */
static const char *ssl_reason(char *buf, size_t bufsz)
{
    unsigned long e = ERR_peek_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (r != NULL)
        snprintf(buf, bufsz, "%s", r);
    else if (e != 0)
        snprintf(buf, bufsz, "OpenSSL error %lu", e);
    else
        snprintf(buf, bufsz, "unknown error");
    ERR_clear_error();
    return buf;
}

/* Free a chain and its certificates. */
void certinfo_chain_free(STACK_OF(X509) *chain)
{
    if (chain != NULL)
        sk_X509_pop_free(chain, X509_free);
}

/* Whether the only error queued says "no more PEM blocks". */
static bool pem_at_end(void)
{
    unsigned long e = ERR_peek_last_error();

    return e != 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
           ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* Parse PEM bytes into a chain (see certinfo.h). */
STACK_OF(X509) *certinfo_parse_pem(const char *name, const char *bytes,
                                   size_t len, char *err, size_t errsz)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    BIO *bio = len <= CERTINFO_FILE_MAX ?
               BIO_new_mem_buf(bytes, (int)len) : NULL;
    char why[256];
    X509 *cert;

    if (chain == NULL || bio == NULL) {
        fail_file(err, errsz, name, "out of memory");
        goto bad;
    }
    ERR_clear_error();
    for (;;) {
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (cert == NULL)
            break;
        if (sk_X509_num(chain) >= CERTINFO_CHAIN_MAX) {
            X509_free(cert);
            fail_file(err, errsz, name, "more than %d certificates",
                      CERTINFO_CHAIN_MAX);
            goto bad;
        }
        if (sk_X509_push(chain, cert) <= 0) {
            X509_free(cert);
            fail_file(err, errsz, name, "out of memory");
            goto bad;
        }
    }
    if (!pem_at_end()) {
        fail_file(err, errsz, name, "certificate %d: unreadable PEM: %s",
                  sk_X509_num(chain) + 1, ssl_reason(why, sizeof why));
        goto bad;
    }
    ERR_clear_error();
    if (sk_X509_num(chain) == 0) {
        fail_file(err, errsz, name, "no certificate (no PEM block"
                  " \"-----BEGIN CERTIFICATE-----\")");
        goto bad;
    }
    BIO_free(bio);
    return chain;
bad:
    BIO_free(bio);
    certinfo_chain_free(chain);
    return NULL;
}

/* Read a whole regular file of at most CERTINFO_FILE_MAX bytes. */
static char *read_file(const char *path, size_t *len, char *err, size_t errsz)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        fail_file(err, errsz, path, "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail_file(err, errsz, path, "not a regular file");
        goto out;
    }
    if (st.st_size > CERTINFO_FILE_MAX) {
        fail_file(err, errsz, path, "larger than %d bytes", CERTINFO_FILE_MAX);
        goto out;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        fail_file(err, errsz, path, "out of memory");
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail_file(err, errsz, path, "cannot read: %s", strerror(errno));
            free(buf);
            buf = NULL;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
out:
    close(fd);
    return buf;
}

/* Read a PEM chain from a file (see certinfo.h). */
STACK_OF(X509) *certinfo_read_pem(const char *path, char *err, size_t errsz)
{
    size_t len = 0;
    char *bytes = read_file(path, &len, err, errsz);
    STACK_OF(X509) *chain;

    if (bytes == NULL)
        return NULL;
    chain = certinfo_parse_pem(path, bytes, len, err, errsz);
    free(bytes);
    return chain;
}

/* A trust store from a CA file (see certinfo.h). */
X509_STORE *certinfo_load_cafile(const char *path, char *err, size_t errsz)
{
    size_t len = 0;
    char *bytes = read_file(path, &len, err, errsz);
    STACK_OF(X509) *certs;
    X509_STORE *store;

    if (bytes == NULL)
        return NULL;
    certs = certinfo_parse_pem(path, bytes, len, err, errsz);
    free(bytes);
    if (certs == NULL)
        return NULL;
    if ((store = X509_STORE_new()) == NULL) {
        fail_file(err, errsz, path, "out of memory");
    } else {
        for (int i = 0; i < sk_X509_num(certs); i++)
            if (X509_STORE_add_cert(store, sk_X509_value(certs, i)) != 1) {
                char why[256];

                fail_file(err, errsz, path, "certificate %d: %s", i + 1,
                          ssl_reason(why, sizeof why));
                X509_STORE_free(store);
                store = NULL;
                break;
            }
    }
    certinfo_chain_free(certs);
    return store;
}

/* Keep len bytes of an ASN.1 name's text in t (cut at the buffer). */
static void keep_text(struct certinfo_text *t, const unsigned char *s,
                      size_t len)
{
    t->present = true;
    t->cut = len > sizeof t->s - 1;
    t->len = t->cut ? sizeof t->s - 1 : len;
    memcpy(t->s, s, t->len);
    t->s[t->len] = '\0';
}

/* A directory string as UTF-8 into t; false when it does not convert. */
static bool keep_asn1_utf8(struct certinfo_text *t, const ASN1_STRING *str)
{
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, str);

    if (n < 0)
        return false;
    keep_text(t, utf8, (size_t)n);
    OPENSSL_free(utf8);
    return true;
}

/* The first CN of name into t, and how many CNs name has. */
static size_t name_cn(const X509_NAME *name, struct certinfo_text *t)
{
    size_t count = 0;
    int pos = -1;

    memset(t, 0, sizeof *t);
    while ((pos = X509_NAME_get_index_by_NID(name, NID_commonName, pos)) >= 0) {
        if (count++ == 0) {
            const ASN1_STRING *s =
                X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));

            if (!keep_asn1_utf8(t, s)) {
                keep_text(t, (const unsigned char *)"(not a string)", 14);
                t->unreadable = true;
            }
        }
    }
    return count;
}

/* A name in words: its first CN, else the whole name (RFC 2253). */
static void name_words(const X509_NAME *name, struct certinfo_text *t)
{
    BIO *bio;
    char *data;
    long n;

    if (name_cn(name, t) > 0)
        return;
    if ((bio = BIO_new(BIO_s_mem())) == NULL)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
        (n = BIO_get_mem_data(bio, &data)) > 0)
        keep_text(t, (const unsigned char *)data, (size_t)n);
    BIO_free(bio);
}

/* The subjectAltName DNS names of cert into info. */
static void dns_names(X509 *cert, struct certinfo *info)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name,
                                            NULL, NULL);

    info->dns_count = info->dns_total = 0;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

        if (g->type != GEN_DNS)
            continue;
        if (info->dns_count < CERTINFO_DNS_MAX)
            keep_text(&info->dns[info->dns_count++],
                      ASN1_STRING_get0_data(g->d.dNSName),
                      (size_t)ASN1_STRING_length(g->d.dNSName));
        info->dns_total++;
    }
    GENERAL_NAMES_free(names);
}

/* The key in words: "RSA 2048", "EC P-256", "Ed25519", "DSA 2048". */
static void key_words(X509 *cert, char *out, size_t outsz)
{
    EVP_PKEY *key = X509_get0_pubkey(cert);
    char group[48];
    int id;

    if (key == NULL) {
        snprintf(out, outsz, "unknown");
        return;
    }
    id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_EC) {
        const char *nist = NULL;

        if (EVP_PKEY_get_group_name(key, group, sizeof group, NULL) != 1)
            snprintf(group, sizeof group, "unknown curve");
        else
            nist = EC_curve_nid2nist(OBJ_sn2nid(group));
        snprintf(out, outsz, "EC %s", nist != NULL ? nist : group);
    } else if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
        snprintf(out, outsz, "%s", id == EVP_PKEY_ED25519 ? "Ed25519" : "Ed448");
    } else {
        const char *sn = id == EVP_PKEY_RSA ? "RSA" : OBJ_nid2sn(id);

        snprintf(out, outsz, "%s %d", sn != NULL ? sn : "unknown",
                 EVP_PKEY_get_bits(key));
    }
}

/* An ASN.1 time as seconds since 1970 (negative before). */
static int64_t asn1_seconds(const ASN1_TIME *t)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;

    if (epoch == NULL || t == NULL || !ASN1_TIME_diff(&days, &secs, epoch, t))
        days = secs = 0;
    ASN1_TIME_free(epoch);
    return (int64_t)days * 86400 + secs;
}

/* Verify chain with store at now; the result and the root into info. */
static bool verify_chain(STACK_OF(X509) *chain, X509_STORE *store,
                         int64_t now, struct certinfo *info)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_dup(chain);
    X509 *leaf = sk_X509_value(chain, 0);
    bool done = false;

    if (ctx == NULL || untrusted == NULL)
        goto out;
    (void)sk_X509_shift(untrusted);
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        goto out;
    X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
    if (X509_verify_cert(ctx) == 1) {
        STACK_OF(X509) *v = X509_STORE_CTX_get0_chain(ctx);

        info->verify = CERTINFO_VERIFIED;
        info->verified_len = (size_t)sk_X509_num(v);
        name_words(X509_get_subject_name(sk_X509_value(v, sk_X509_num(v) - 1)),
                   &info->root);
        info->root_known = true;
    } else {
        info->verify = CERTINFO_NOT_VERIFIED;
        snprintf(info->verify_error, sizeof info->verify_error, "%s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    done = true;
out:
    ERR_clear_error();
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    return done;
}

/* The facts of a chain (see certinfo.h). */
bool certinfo_facts(STACK_OF(X509) *chain, X509_STORE *store, int64_t now,
                    struct certinfo *info, char *err, size_t errsz)
{
    X509 *leaf, *last;

    memset(info, 0, sizeof *info);
    if (chain == NULL || sk_X509_num(chain) == 0)
        return fail(err, errsz, "no certificate");
    leaf = sk_X509_value(chain, 0);
    info->chain_len = (size_t)sk_X509_num(chain);
    info->cn_count = name_cn(X509_get_subject_name(leaf), &info->cn);
    name_cn(X509_get_issuer_name(leaf), &info->issuer_cn);
    dns_names(leaf, info);
    key_words(leaf, info->key, sizeof info->key);
    info->not_before = asn1_seconds(X509_get0_notBefore(leaf));
    info->not_after = asn1_seconds(X509_get0_notAfter(leaf));
    if (store != NULL && !verify_chain(chain, store, now, info))
        return fail(err, errsz, "cannot verify the chain: out of memory");
    last = sk_X509_value(chain, sk_X509_num(chain) - 1);
    if (!info->root_known && X509_check_issued(last, last) == X509_V_OK) {
        name_words(X509_get_subject_name(last), &info->root);
        info->root_known = info->root_presented = true;
    }
    ERR_clear_error();
    return true;
}
