/*
 * certinfo.h - the facts of a partner's certificate chain that a connector
 * is written from: the leaf's CN and DNS names, the issuing CA's CN, the
 * key, the validity dates, and the root the chain ends in (verified against
 * a CA file when one is given).
 *
 * The chain comes from a PEM file (certinfo_read_pem) or from a TLS
 * handshake (probe.h); both are a STACK_OF(X509) with the leaf first.
 */
#ifndef FORCETLS_CERTINFO_H
#define FORCETLS_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Longest text kept of one name (CN, DNS name, issuer); longer ones are cut. */
#define CERTINFO_TEXT_MAX 1024
/* DNS names kept; further ones are only counted. */
#define CERTINFO_DNS_MAX 64
/* Certificates read from one PEM file at most. */
#define CERTINFO_CHAIN_MAX 16
/* The largest PEM file read. */
#define CERTINFO_FILE_MAX (1024 * 1024)
/* Room for an error message (without "forcetls: "). */
#define CERTINFO_ERR_MAX 1536

/*
 * A name from a certificate as bytes (UTF-8 for directory strings): len
 * bytes at s, which may hold a NUL byte (s is NUL-terminated after len).
 */
struct certinfo_text {
    char s[CERTINFO_TEXT_MAX];
    size_t len;
    bool present;            /* the certificate has this name */
    bool cut;                /* longer than CERTINFO_TEXT_MAX - 1 bytes */
    bool unreadable;         /* not a string: s holds a placeholder */
};

enum certinfo_verify {
    CERTINFO_NOT_CHECKED,    /* no CA file */
    CERTINFO_VERIFIED,       /* the chain verifies with the CA file */
    CERTINFO_NOT_VERIFIED,   /* it does not: verify_error says why */
};

struct certinfo {
    struct certinfo_text cn;            /* the leaf's first subject CN */
    size_t cn_count;                    /* how many CNs the subject has */
    struct certinfo_text dns[CERTINFO_DNS_MAX];
    size_t dns_count;                   /* kept in dns[] */
    size_t dns_total;                   /* in the certificate */
    struct certinfo_text issuer_cn;     /* the leaf's issuer CN */
    char key[64];                       /* "RSA 2048", "EC P-256", "Ed25519" */
    int64_t not_before, not_after;      /* UTC seconds */
    size_t chain_len;                   /* certificates presented */
    enum certinfo_verify verify;
    char verify_error[256];             /* OpenSSL's words, NOT_VERIFIED */
    size_t verified_len;                /* certificates in the verified chain */
    /* The root: of the verified chain, or the last certificate presented
     * when it is self-signed (root_presented). */
    struct certinfo_text root;
    bool root_known;
    bool root_presented;                /* known only because the partner sent it */
};

/*
 * Read the certificates of a PEM file (leaf first, then its chain; other
 * PEM blocks such as a private key are skipped) into a new stack. NULL with
 * err set ("FILE: ...") when the file cannot be read, holds no certificate,
 * or a certificate block does not parse.
 */
STACK_OF(X509) *certinfo_read_pem(const char *path, char *err, size_t errsz);

/*
 * Parse PEM bytes (len of them) as certinfo_read_pem does; name is the
 * file's name in messages.
 */
STACK_OF(X509) *certinfo_parse_pem(const char *name, const char *bytes,
                                   size_t len, char *err, size_t errsz);

/* A trust store of the certificates in a CA file; NULL with err set. */
X509_STORE *certinfo_load_cafile(const char *path, char *err, size_t errsz);

/*
 * The facts of chain (leaf first) into info; with store, verify the chain
 * at now (UTC seconds) and name the root of the verified chain. False with
 * err set when the chain is empty or memory runs out.
 */
bool certinfo_facts(STACK_OF(X509) *chain, X509_STORE *store, int64_t now,
                    struct certinfo *info, char *err, size_t errsz);

/* Free a chain returned by certinfo_read_pem (or probe.h). */
void certinfo_chain_free(STACK_OF(X509) *chain);

#endif
