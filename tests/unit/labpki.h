/*
 * labpki.h - the lab PKI of the forcetls connector tests, made with
 * OpenSSL's API in the group set-up: a root (EC P-256), an intermediate
 * (EC P-384), leaves with subjectAltNames (RSA 2048 and EC P-256), another
 * root of the same name; and helpers to write chains as PEM and read their
 * facts back (certinfo.h). Test code only; include after testutil.h.
 */
#ifndef FORCETLS_LABPKI_H
#define FORCETLS_LABPKI_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "tlsfacts.h"

/* The lab PKI, made once. */
static EVP_PKEY *root_key, *int_key, *rsa_key, *ec_key, *other_key;
static X509 *root, *inter, *leaf_rsa, *leaf_ec, *other_root;
static int64_t t0, t_end;        /* the leaves' notBefore and notAfter */

#define LEAF_CN "mail.lab.example"
#define INT_CN "Lab Issuing CA 1"
#define ROOT_CN "Lab Root CA"

/* A name of one CN of len bytes (any bytes), after an O. */
static inline X509_NAME *cn_name(const char *cn, size_t len)
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
static inline void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
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
static inline X509 *make_cert(EVP_PKEY *key, const char *cn, size_t len,
                              X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                              const char *sans)
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
static inline X509 *lab_leaf(EVP_PKEY *key, const char *cn, size_t len)
{
    return make_cert(key, cn, len, inter, int_key, false,
                     "DNS:" LEAF_CN ",DNS:mx2.lab.example,IP:192.0.2.7");
}

/* Make the lab PKI. */
static inline int make_pki(void **state)
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
static inline int free_pki(void **state)
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
static inline char *pem_of(X509 *const *certs)
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
static inline void write_pem(char *path, size_t pathsz, X509 *const *certs)
{
    char *pem = pem_of(certs);

    write_tmp(path, pathsz, pem);
    free(pem);
}

/* A trust store of one certificate. */
static inline X509_STORE *store_of(X509 *ca)
{
    X509_STORE *s = X509_STORE_new();

    if (s == NULL || X509_STORE_add_cert(s, ca) != 1)
        fail_msg("X509_STORE of %s failed", ROOT_CN);
    return s;
}

/* The facts of certs read back through a PEM file, verified with ca. */
static inline void facts_of(X509 *const *certs, X509 *ca,
                            struct certinfo *info)
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

#endif
