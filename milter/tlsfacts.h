/*
 * tlsfacts.h - the TLS facts of an SMTP session, normalised from the
 * macros of Postfix or Sendmail.
 *
 * Postfix and Sendmail describe the same TLS session differently (see
 * shared/reference/mta-facts.md): Postfix passes {cert_subject} only for a
 * certificate its CA file verified, and as the bare CN; Sendmail passes a
 * full xtext DN for any certificate and says trust only with {verify}=OK.
 * This module hides that difference. Forward secrecy comes from OpenSSL's
 * own cipher table, built once by tlsfacts_init() before any thread starts
 * and read-only afterwards.
 */
#ifndef FORCETLS_TLSFACTS_H
#define FORCETLS_TLSFACTS_H

#include <stdbool.h>
#include <stddef.h>

/* Ordered so that numeric comparison is version comparison. */
enum tls_version {
    TLS_VERSION_NONE = 0,     /* plaintext */
    TLS_VERSION_UNKNOWN = 1,  /* encrypted, but a version we cannot rank: below every floor */
    TLS_VERSION_1_0 = 10,
    TLS_VERSION_1_1 = 11,
    TLS_VERSION_1_2 = 12,
    TLS_VERSION_1_3 = 13,
};

enum mta_dialect {
    MTA_UNKNOWN = 0,   /* cannot tell: no certificate is trusted */
    MTA_POSTFIX,       /* macro v starts with "Postfix" */
    MTA_SENDMAIL,      /* macro v starts with a digit, e.g. "8.17.1.9" */
};

/* The configuration's mta setting: whose dialect to trust. */
enum mta_setting {
    MTA_SETTING_AUTO = 0,  /* as macro v says; unknown when it says neither */
    MTA_SETTING_POSTFIX,
    MTA_SETTING_SENDMAIL,
};

#define TLSFACTS_NAME_MAX 256
#define TLSFACTS_CIPHER_MAX 128

struct tls_facts {
    bool tls;                               /* session is encrypted */
    enum tls_version version;
    char version_text[16];                  /* as the MTA said it (cut: ends in "..."), "none" if plaintext */
    char cipher[TLSFACTS_CIPHER_MAX];       /* "none" if plaintext; cut: ends in "..." */
    int cipher_bits;                        /* 0 if unknown */
    bool forward_secret;
    bool cert_verified;                     /* a client certificate the MTA verified */
    char cert_cn[TLSFACTS_NAME_MAX];        /* its subject CN, decoded; may be ""; cut: ends in "..." */
    char issuer_cn[TLSFACTS_NAME_MAX];      /* its issuer CN, decoded; may be "" */
};

/* The raw macro values; NULL when the MTA did not send one. */
struct tls_macros {
    const char *tls_version;
    const char *cipher;
    const char *cipher_bits;
    const char *cert_subject;
    const char *cert_issuer;
    const char *verify;
    const char *cn_subject;
    const char *cn_issuer;
};

/* Build the cipher table from OpenSSL. Call once at startup; false on failure. */
bool tlsfacts_init(void);
void tlsfacts_shutdown(void);

/* Dialect from macro v (may be NULL): what v alone says. */
enum mta_dialect tlsfacts_dialect(const char *v);

/*
 * The dialect to read a session's macros in, from the configured setting
 * and what macro v said (tlsfacts_dialect): auto -> detected; postfix or
 * sendmail -> that one, unless v names the other MTA, which is
 * MTA_UNKNOWN (a contradiction trusts no certificate). Never guesses: a
 * Sendmail {cert_subject} must never be read as Postfix's verified CN.
 */
enum mta_dialect tlsfacts_dialect_resolve(enum mta_setting setting,
                                          enum mta_dialect detected);

/*
 * Normalise macros into facts. Missing or malformed values never count as
 * TLS or as a verified certificate: the result errs towards "less secure".
 */
void tlsfacts_from_macros(struct tls_facts *facts, enum mta_dialect dialect,
                          const struct tls_macros *macros);

/*
 * Sendmail sends a macro only at the stages its confMILTER_MACROS_* lists
 * name: facts read at MAIL may lack what RCPT carries. Fill what facts
 * lack from later (the facts of a later stage of the same transaction):
 * no TLS yet -> all of later; TLS of the same version -> a missing cipher,
 * cipher bits or verified certificate. Never replaces or weakens a fact
 * already in facts, and later facts come from tlsfacts_from_macros(), so
 * missing or malformed macros still never count as TLS.
 */
void tlsfacts_fill_missing(struct tls_facts *facts,
                           const struct tls_facts *later);

/* "TLSv1.2" etc. -> version; TLS_VERSION_UNKNOWN for anything else non-empty. */
enum tls_version tlsfacts_parse_version(const char *text);

/* Canonical name of a version ("TLSv1.2"). */
const char *tlsfacts_version_name(enum tls_version version);

/*
 * Forward secrecy of a cipher by its OpenSSL or IANA name, judged from its
 * key exchange in OpenSSL's table. Unknown names are not forward-secret.
 */
bool tlsfacts_cipher_is_forward_secret(const char *cipher_name);

/* Decode Sendmail xtext ("+20" -> ' '). Returns false on malformed input. */
bool tlsfacts_xtext_decode(const char *in, char *out, size_t outsz);

#endif
