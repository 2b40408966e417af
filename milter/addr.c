/*
 * addr.c - RFC 5321 paths and domain names.
 *
 * Owns the one normal form of names used everywhere else: ASCII lower case,
 * A-labels (libidn2, UTS #46 non-transitional), no trailing dot. Envelope
 * paths from the MTA are split into a lower-cased local part and such a
 * domain; configured patterns and certificate names go through the same
 * code, so all later comparisons are byte comparisons.
 *
 * It must not accept what it cannot represent: paths and names come from
 * the network, and anything unbalanced, overlong or malformed is an error
 * return (the caller fails closed), never a truncated or guessed result.
 * It does no lookups and keeps no state.
 *
 * Thread safety: no shared state; libidn2's conversion is reentrant. Every
 * function only writes to its caller's buffers.
 */

#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "addr.h"
#include "text.h"

/* RFC 1035 limits on the normalised (ASCII) form. */
#define LABEL_MAX 63
#define NAME_MAX_LEN 253
/* Raw input bounds: UTF-8 may take up to 4 octets per code point. */
#define RAW_NAME_MAX (4 * NAME_MAX_LEN)
#define RAW_PATH_MAX 1024

/* Set *err to msg (when err is not NULL) and return false. */
static bool
fail(const char **err, const char *msg)
{
    if (err != NULL)
        *err = msg;
    return false;
}

/* True for the bytes a normalised host-name label may hold. */
static bool
is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_';
}

/* True when the len bytes at s contain a byte outside ASCII. */
static bool
has_non_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

/* Append n bytes to out at *pos, keeping room for a NUL. */
static bool
append(char *out, size_t outsz, size_t *pos, const char *s, size_t n)
{
    if (n >= outsz - *pos)
        return false;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
    return true;
}

/* Convert one UTF-8 label to its A-label form(s) and append it. */
static bool
append_ulabel(const char *label, size_t len, char *out, size_t outsz,
              size_t *pos, const char **err)
{
    char tmp[RAW_NAME_MAX + 1];
    char *alabel = NULL;
    bool ok;

    if (len > RAW_NAME_MAX || memchr(label, '\0', len) != NULL)
        return fail(err, "invalid international name");
    memcpy(tmp, label, len);
    tmp[len] = '\0';
    if (idn2_to_ascii_8z(tmp, &alabel, IDN2_NONTRANSITIONAL) != IDN2_OK)
        return fail(err, "invalid international name");
    ok = append(out, outsz, pos, alabel, strlen(alabel));
    idn2_free(alabel);
    return ok ? true : fail(err, "name too long");
}

/* Check an assembled ASCII name: labels, lengths and characters. */
static bool
check_ascii_name(const char *name, size_t total, const char **err)
{
    size_t label = 0;

    if (total == 0)
        return fail(err, "empty name");
    for (size_t i = 0; i <= total; i++) {
        if (i == total || name[i] == '.') {
            if (label == 0)
                return fail(err, "empty label");
            label = 0;
            continue;
        }
        if (!is_host_char(name[i]))
            return fail(err, "invalid character");
        if (++label > LABEL_MAX)
            return fail(err, "label too long");
    }
    if (total > NAME_MAX_LEN)
        return fail(err, "name too long");
    return true;
}

/* Join the labels of in[0..len), U-labels converted, into buf (ASCII). */
static bool
labels_to_ascii(const char *in, size_t len, char *buf, size_t bufsz,
                size_t *pos, const char **err)
{
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && in[i] != '.')
            continue;
        if (i == start)
            return fail(err, "empty label");
        if (start > 0 && !append(buf, bufsz, pos, ".", 1))
            return fail(err, "name too long");
        if (has_non_ascii(in + start, i - start)) {
            if (!append_ulabel(in + start, i - start, buf, bufsz, pos, err))
                return false;
        } else {
            if (i - start > LABEL_MAX)
                return fail(err, "label too long");
            if (!append(buf, bufsz, pos, in + start, i - start))
                return fail(err, "name too long");
        }
        start = i + 1;
    }
    return true;
}

/* Normalise a domain name (see addr.h). */
bool
addr_normalize_domain(const char *in, size_t len, char *out, size_t outsz,
                      const char **err)
{
    char buf[ADDR_DOMAIN_MAX * 2];
    size_t pos = 0;

    if (in == NULL || out == NULL || outsz == 0)
        return fail(err, "no name");
    out[0] = '\0';
    if (len > 0 && in[len - 1] == '.')
        len--;
    if (len == 0)
        return fail(err, "empty name");
    if (len > RAW_NAME_MAX)
        return fail(err, "name too long");
    buf[0] = '\0';
    if (!labels_to_ascii(in, len, buf, sizeof(buf), &pos, err))
        return false;
    for (size_t i = 0; i < pos; i++)
        buf[i] = text_ascii_lower(buf[i]);
    if (!check_ascii_name(buf, pos, err))
        return false;
    if (pos >= outsz)
        return fail(err, "name too long");
    memcpy(out, buf, pos + 1);
    return true;
}

/* Normalise a configured pattern: a name, or "*." and a name. */
bool
addr_normalize_pattern(const char *in, char *out, size_t outsz,
                       const char **err)
{
    size_t skip = 0;

    if (in == NULL || out == NULL || outsz < 3)
        return fail(err, "no name");
    out[0] = '\0';
    if (in[0] == '*' && in[1] == '.')
        skip = 2;
    if (strchr(in + skip, '*') != NULL)
        return fail(err, "wildcard allowed only as a leading \"*.\"");
    if (!addr_normalize_domain(in + skip, strlen(in + skip), out + skip,
                               outsz - skip, err))
        return false;
    if (skip > 0)
        memcpy(out, "*.", 2);
    return true;
}

/* Copy an address literal "[...]" lower-cased; it is kept as text. */
static bool
normalize_literal(const char *in, size_t len, char *out, size_t outsz)
{
    if (len < 3 || len >= outsz || in[0] != '[' || in[len - 1] != ']')
        return false;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '\\')
            return false;
    }
    for (size_t i = 0; i < len; i++)
        out[i] = text_ascii_lower(in[i]);
    out[len] = '\0';
    return true;
}

/* Normalise the domain of a mailbox: a host name or an address literal. */
static bool
normalize_mailbox_domain(const char *in, size_t len, char *out, size_t outsz,
                         const char **err)
{
    if (len > 0 && in[0] == '[') {
        if (!normalize_literal(in, len, out, outsz))
            return fail(err, "invalid address literal");
        return true;
    }
    return addr_normalize_domain(in, len, out, outsz, err);
}

/* True for a byte that may appear unquoted in a local part. */
static bool
is_atom_byte(unsigned char c)
{
    if (c >= 0x80)
        return true; /* SMTPUTF8 */
    if (c <= ' ' || c == 0x7f)
        return false;
    return strchr("\"(),:;<>@[\\]", c) == NULL;
}

/* True when s[0..len) is well-formed UTF-8 (SMTPUTF8 local parts). */
static bool
valid_utf8(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0, n; i < len; i += n)
        if ((n = text_utf8_seq_len(u + i, len - i)) == 0)
            return false;
    return true;
}

/*
 * Find the end of the local part of the mailbox s[0..len): a quoted string
 * or a run of atom bytes and dots. Returns its length, or 0 when invalid.
 */
static size_t
local_part_len(const char *s, size_t len)
{
    size_t i = 0;

    if (len > 0 && s[0] == '"') {
        for (i = 1; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '\\' && i + 1 < len && s[i + 1] != '\0')
                i++;
            else if (c == '"')
                return i + 1;
            else if (c < ' ' || c == 0x7f)
                return 0;
        }
        return 0;
    }
    while (i < len && (s[i] == '.' || is_atom_byte((unsigned char)s[i])))
        i++;
    return i;
}

/*
 * Split a mailbox into local part and domain, writing "local@domain"
 * (local lower-cased, domain normalised) and the domain. A mailbox without
 * '@' is kept when allow_bare_local is set ("<postmaster>").
 */
static bool
split_mailbox(const char *s, size_t len, bool allow_bare_local, char *addr,
              size_t addrsz, char *domain, size_t domainsz, const char **err)
{
    size_t llen = local_part_len(s, len);

    if (llen == 0 || !valid_utf8(s, llen))
        return fail(err, "invalid local part");
    if (llen == len && !allow_bare_local)
        return fail(err, "no domain");
    if (llen < len && s[llen] != '@')
        return fail(err, "invalid local part");
    if (llen >= addrsz)
        return fail(err, "address too long");
    for (size_t i = 0; i < llen; i++)
        addr[i] = text_ascii_lower(s[i]);
    addr[llen] = '\0';
    domain[0] = '\0';
    if (llen == len)
        return true;
    if (!normalize_mailbox_domain(s + llen + 1, len - llen - 1, domain,
                                  domainsz, err))
        return false;
    if (llen + 1 + strlen(domain) >= addrsz)
        return fail(err, "address too long");
    addr[llen] = '@';
    memcpy(addr + llen + 1, domain, strlen(domain) + 1);
    return true;
}

/* Skip an RFC 5321 source route "@a,@b:"; returns bytes used, 0 if bad. */
static size_t
skip_route(const char *s, size_t len)
{
    if (len == 0 || s[0] != '@')
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':')
            return i + 1;
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' ||
            c == '\\')
            return 0;
    }
    return 0;
}

/* Parse an envelope path as libmilter passes it (see addr.h). */
bool
addr_parse_path(const char *path, struct addr_path *out)
{
    size_t len, skip;

    if (out == NULL)
        return false;
    memset(out, 0, sizeof(*out));
    if (path == NULL)
        return false;
    len = strnlen(path, RAW_PATH_MAX + 1);
    if (len == 0 || len > RAW_PATH_MAX)
        return false;
    if (path[0] == '<') {
        if (len < 2 || path[len - 1] != '>')
            return false;
        path++;
        len -= 2;
        if (len == 0) {
            out->null_path = true;
            return true;
        }
    }
    skip = skip_route(path, len);
    if (path[0] == '@' && skip == 0)
        return false;
    path += skip;
    len -= skip;
    return split_mailbox(path, len, true, out->address, sizeof(out->address),
                         out->domain, sizeof(out->domain), NULL);
}

/* Normalise a configured address: local part lower-cased, domain as above. */
bool
addr_normalize_address(const char *in, char *out, size_t outsz,
                       const char **err)
{
    char domain[ADDR_DOMAIN_MAX];
    size_t len;

    if (in == NULL || out == NULL || outsz == 0)
        return fail(err, "no address");
    out[0] = '\0';
    len = strnlen(in, RAW_PATH_MAX + 1);
    if (len > RAW_PATH_MAX)
        return fail(err, "address too long");
    if (len == 0)
        return fail(err, "empty address");
    if (!split_mailbox(in, len, false, out, outsz, domain, sizeof(domain),
                       err)) {
        out[0] = '\0';
        return false;
    }
    return true;
}
