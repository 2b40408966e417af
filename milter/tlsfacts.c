/*
 * tlsfacts.c - the TLS facts of an SMTP session, normalised from the macros
 * of Postfix or Sendmail (see tlsfacts.h and mta-facts.md sections 1, 3, 7).
 *
 * Owns: the cipher name -> forward-secrecy table built from OpenSSL's own
 * cipher list, telling the MTA's dialect from macro v and the mta setting,
 * the per-dialect rules for "verified client certificate" (an MTA it
 * cannot tell apart has none), and Sendmail's xtext decoding.
 *
 * Must not: trust anything it cannot prove. A missing or malformed macro
 * never means TLS, a verified certificate or a forward-secret cipher; the
 * result always errs towards "less secure", which makes the policy stricter.
 * It never logs and never names partners.
 *
 * Threads: the cipher table is built by tlsfacts_init() before any thread
 * starts and is read-only until tlsfacts_shutdown() at exit, so lookups take
 * no lock. Everything else works on caller-owned memory.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/ssl.h>

#include "text.h"
#include "tlsfacts.h"

/* Every TLS 1.3 suite OpenSSL 3 knows, including the two off by default. */
static const char tls13_suites[] =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
    "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/* Largest {cipher_bits} we believe; anything bigger is garbage. */
#define CIPHER_BITS_MAX 100000

/* Placeholder Sendmail puts in {cn_*} when it cannot read the CN. */
#define SENDMAIL_BAD_CERT "BadCertificate"

struct cipher_entry {
    char *name;
    bool forward_secret;
};

static struct cipher_entry *cipher_table;
static size_t cipher_count;

/* Whether a key exchange NID gives forward secrecy. */
static bool
kx_is_forward_secret(int kx_nid)
{
    switch (kx_nid) {
    case NID_kx_ecdhe:
    case NID_kx_dhe:
    case NID_kx_ecdhe_psk:
    case NID_kx_dhe_psk:
    case NID_kx_any:        /* TLS 1.3: always (EC)DHE */
        return true;
    default:
        return false;
    }
}

/* qsort/bsearch order of table entries. */
static int
entry_cmp(const void *a, const void *b)
{
    const struct cipher_entry *x = a, *y = b;

    return strcmp(x->name, y->name);
}

/* Free an entry array of n names. */
static void
free_entries(struct cipher_entry *entries, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(entries[i].name);
    free(entries);
}

/* Append (name, fs) unless name is NULL or a placeholder. */
static bool
add_entry(struct cipher_entry *entries, size_t *n, const char *name, bool fs)
{
    if (name == NULL || *name == '\0' || strcmp(name, "(NONE)") == 0)
        return true;
    entries[*n].name = strdup(name);
    if (entries[*n].name == NULL)
        return false;
    entries[*n].forward_secret = fs;
    (*n)++;
    return true;
}

/* Sort and drop duplicate names; a name listed twice is FS only if both say so. */
static size_t
sort_unique(struct cipher_entry *entries, size_t n)
{
    size_t i, out = 0;

    if (n == 0)
        return 0;
    qsort(entries, n, sizeof(*entries), entry_cmp);
    for (i = 1; i < n; i++) {
        if (strcmp(entries[i].name, entries[out].name) == 0) {
            entries[out].forward_secret = entries[out].forward_secret &&
                entries[i].forward_secret;
            free(entries[i].name);
        } else {
            entries[++out] = entries[i];
        }
    }
    return out + 1;
}

/* A context that lists every cipher this OpenSSL knows; NULL on failure. */
static SSL_CTX *
all_ciphers_ctx(void)
{
    SSL_CTX *ctx;

    ctx = SSL_CTX_new(TLS_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL") != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* If a build lacks one of the suites, the defaults are still there. */
    (void)SSL_CTX_set_ciphersuites(ctx, tls13_suites);
    return ctx;
}

/* Build the name -> forward-secrecy table from OpenSSL. */
bool
tlsfacts_init(void)
{
    STACK_OF(SSL_CIPHER) *list;
    struct cipher_entry *entries;
    SSL_CTX *ctx;
    size_t n = 0;
    int i, total;

    if (cipher_table != NULL)
        return true;
    if ((ctx = all_ciphers_ctx()) == NULL)
        return false;
    list = SSL_CTX_get_ciphers(ctx);
    total = list == NULL ? 0 : sk_SSL_CIPHER_num(list);
    if (total <= 0) {
        SSL_CTX_free(ctx);
        return false;
    }
    entries = calloc((size_t)total * 2, sizeof(*entries));
    if (entries == NULL) {
        SSL_CTX_free(ctx);
        return false;
    }
    for (i = 0; i < total; i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(list, i);
        bool fs = kx_is_forward_secret(SSL_CIPHER_get_kx_nid(c));

        if (!add_entry(entries, &n, SSL_CIPHER_get_name(c), fs) ||
            !add_entry(entries, &n, SSL_CIPHER_standard_name(c), fs)) {
            free_entries(entries, n);
            SSL_CTX_free(ctx);
            return false;
        }
    }
    SSL_CTX_free(ctx);
    cipher_count = sort_unique(entries, n);
    cipher_table = entries;
    return true;
}

/* Free the cipher table (at exit, after every thread has stopped). */
void
tlsfacts_shutdown(void)
{
    free_entries(cipher_table, cipher_count);
    cipher_table = NULL;
    cipher_count = 0;
}

/* Forward secrecy of a cipher by OpenSSL or IANA name; unknown -> false. */
bool
tlsfacts_cipher_is_forward_secret(const char *cipher_name)
{
    struct cipher_entry key, *hit;

    if (cipher_name == NULL || *cipher_name == '\0' || cipher_table == NULL)
        return false;
    key.name = (char *)cipher_name;
    hit = bsearch(&key, cipher_table, cipher_count, sizeof(key), entry_cmp);
    return hit != NULL && hit->forward_secret;
}

/* MTA dialect from macro v. */
enum mta_dialect
tlsfacts_dialect(const char *v)
{
    if (v == NULL)
        return MTA_UNKNOWN;
    if (strncmp(v, "Postfix", 7) == 0)
        return MTA_POSTFIX;
    if (isdigit((unsigned char)v[0]))
        return MTA_SENDMAIL;
    return MTA_UNKNOWN;
}

/*
 * The dialect to read macros in: the setting, unless macro v names the
 * other MTA (a contradiction trusts no certificate); auto: what v says.
 */
enum mta_dialect
tlsfacts_dialect_resolve(enum mta_setting setting, enum mta_dialect detected)
{
    switch (setting) {
    case MTA_SETTING_POSTFIX:
        return detected == MTA_SENDMAIL ? MTA_UNKNOWN : MTA_POSTFIX;
    case MTA_SETTING_SENDMAIL:
        return detected == MTA_POSTFIX ? MTA_UNKNOWN : MTA_SENDMAIL;
    case MTA_SETTING_AUTO:
    default:
        return detected == MTA_POSTFIX || detected == MTA_SENDMAIL ?
            detected : MTA_UNKNOWN;
    }
}

/* Version from its SSL_get_version() name; case does not matter. */
enum tls_version
tlsfacts_parse_version(const char *text)
{
    static const struct {
        const char *name;
        enum tls_version version;
    } names[] = {
        { "TLSv1", TLS_VERSION_1_0 },
        { "TLSv1.0", TLS_VERSION_1_0 },
        { "TLSv1.1", TLS_VERSION_1_1 },
        { "TLSv1.2", TLS_VERSION_1_2 },
        { "TLSv1.3", TLS_VERSION_1_3 },
    };
    size_t i;

    if (text == NULL || *text == '\0')
        return TLS_VERSION_NONE;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(text, names[i].name) == 0)
            return names[i].version;
    return TLS_VERSION_UNKNOWN;
}

/* Canonical name of a version. */
const char *
tlsfacts_version_name(enum tls_version version)
{
    switch (version) {
    case TLS_VERSION_NONE:
        return "none";
    case TLS_VERSION_1_0:
        return "TLSv1";
    case TLS_VERSION_1_1:
        return "TLSv1.1";
    case TLS_VERSION_1_2:
        return "TLSv1.2";
    case TLS_VERSION_1_3:
        return "TLSv1.3";
    case TLS_VERSION_UNKNOWN:
    default:
        return "unknown";
    }
}

/*
 * Decode xtext. False (and out = "") on a lone '+', bad hex, a decoded NUL,
 * or a result that does not fit: a partial name must never be compared.
 */
bool
tlsfacts_xtext_decode(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    int hi, lo;

    if (out == NULL || outsz == 0)
        return false;
    out[0] = '\0';
    if (in == NULL)
        return false;
    while (*in != '\0') {
        char c = *in++;

        if (c == '+') {
            if ((hi = text_hex_value(in[0])) < 0 ||
                (lo = text_hex_value(in[1])) < 0)
                goto bad;
            c = (char)(hi << 4 | lo);
            in += 2;
            if (c == '\0')
                goto bad;
        }
        if (n + 1 >= outsz)
            goto bad;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
bad:
    out[0] = '\0';
    return false;
}

/* Strict decimal 0..CIPHER_BITS_MAX; anything else is 0. */
static int
parse_bits(const char *text)
{
    long v = 0;

    if (text == NULL || *text == '\0')
        return 0;
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9')
            return 0;
        v = v * 10 + (*text - '0');
        if (v > CIPHER_BITS_MAX)
            return 0;
    }
    return (int)v;
}

/* A Sendmail CN: xtext-decoded, "" when absent, malformed or a placeholder. */
static void
sendmail_cn(const char *raw, char *out, size_t outsz)
{
    if (!tlsfacts_xtext_decode(raw, out, outsz) ||
        strncmp(out, SENDMAIL_BAD_CERT, strlen(SENDMAIL_BAD_CERT)) == 0)
        out[0] = '\0';
}

/*
 * Copy a value that will be logged: when it does not fit, keep what fits
 * and end it in log.h's marker "...", so a cut value never passes for the
 * whole one. Comparisons do not change: a cut value still fills its buffer
 * (dstsz - 1 bytes), which policy.c treats as "cut short".
 */
static void
copy_marked(char *dst, size_t dstsz, const char *src)
{
    text_copy(dst, dstsz, src);
    if (dstsz > 4 && strlen(src) >= dstsz)
        memcpy(dst + dstsz - 4, "...", 3);
}

/*
 * Fill the certificate part of facts (the session is known to be TLS). An
 * MTA we cannot tell apart gets no certificate trusted: its {cert_subject}
 * may be Sendmail's DN of an unverified certificate, its {verify} may mean
 * anything.
 */
static void
cert_from_macros(struct tls_facts *facts, enum mta_dialect dialect,
                 const struct tls_macros *m)
{
    if (dialect == MTA_POSTFIX) {
        /* Postfix sends {cert_subject} only for a CA-verified certificate. */
        if (m->cert_subject == NULL)
            return;
        facts->cert_verified = true;
        copy_marked(facts->cert_cn, sizeof(facts->cert_cn), m->cert_subject);
        if (m->cert_issuer != NULL)
            copy_marked(facts->issuer_cn, sizeof(facts->issuer_cn),
                        m->cert_issuer);
        return;
    }
    if (dialect != MTA_SENDMAIL)
        return;
    /*
     * Sendmail: only {verify}=OK is trust. {cert_subject} is a DN sent for
     * unverified certificates too: unused.
     */
    if (m->verify == NULL || strcmp(m->verify, "OK") != 0)
        return;
    facts->cert_verified = true;
    sendmail_cn(m->cn_subject, facts->cert_cn, sizeof(facts->cert_cn));
    sendmail_cn(m->cn_issuer, facts->issuer_cn, sizeof(facts->issuer_cn));
}

/* Normalise the MTA's macros into facts. */
void
tlsfacts_from_macros(struct tls_facts *facts, enum mta_dialect dialect,
                     const struct tls_macros *macros)
{
    memset(facts, 0, sizeof(*facts));
    text_copy(facts->version_text, sizeof(facts->version_text), "none");
    text_copy(facts->cipher, sizeof(facts->cipher), "none");
    if (macros == NULL || macros->tls_version == NULL ||
        macros->tls_version[0] == '\0')
        return;

    facts->tls = true;
    facts->version = tlsfacts_parse_version(macros->tls_version);
    copy_marked(facts->version_text, sizeof(facts->version_text),
                macros->tls_version);
    copy_marked(facts->cipher, sizeof(facts->cipher),
                macros->cipher != NULL ? macros->cipher : "");
    /* A name cut short by the buffer is not the cipher the MTA named. */
    facts->forward_secret = macros->cipher != NULL &&
        strlen(macros->cipher) < sizeof(facts->cipher) &&
        tlsfacts_cipher_is_forward_secret(macros->cipher);
    facts->cipher_bits = parse_bits(macros->cipher_bits);
    cert_from_macros(facts, dialect, macros);
}

/*
 * Fill what earlier facts lack from the facts of a later stage (see
 * tlsfacts.h). Only ever adds: a stage that says less, or something else,
 * changes nothing already known.
 */
void
tlsfacts_fill_missing(struct tls_facts *facts, const struct tls_facts *later)
{
    if (!later->tls)
        return;
    if (!facts->tls) {
        *facts = *later;
        return;
    }
    /* The same session cannot have two versions: trust neither stage more. */
    if (later->version != facts->version)
        return;
    if (facts->cipher[0] == '\0' && later->cipher[0] != '\0') {
        memcpy(facts->cipher, later->cipher, sizeof(facts->cipher));
        facts->forward_secret = later->forward_secret;
    }
    if (facts->cipher_bits == 0)
        facts->cipher_bits = later->cipher_bits;
    if (!facts->cert_verified && later->cert_verified) {
        facts->cert_verified = true;
        memcpy(facts->cert_cn, later->cert_cn, sizeof(facts->cert_cn));
        memcpy(facts->issuer_cn, later->issuer_cn, sizeof(facts->issuer_cn));
    }
}
