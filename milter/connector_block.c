/*
 * connector_block.c - what forcetls connector prints: a comment header
 * with the certificate's facts, then an inbound and an outbound connector
 * block ready to paste into forcetls.conf.
 *
 * Owns: the layout of the output, libconfig quoting (connector_quote:
 * every value reads back as exactly the certificate's bytes), and which
 * certificate names may go into the blocks: a name the loader would
 * refuse (not a certificate-name pattern, a control or NUL byte, too long)
 * or the daemon could never match (a wildcard CN, an issuer CN longer than
 * it keeps) is left out with a comment saying why, so that the blocks
 * always load and never name what cannot match.
 *
 * Must not: print any certificate text unquoted (a name with a line break
 * must not end a comment and become configuration), or widen what the
 * connector accepts: names holds the CN only, because the daemon compares
 * the CN the MTA passes; the DNS names are shown in the header.
 *
 * Threads: pure functions writing to a caller's stream.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config_syntax.h"
#include "connector.h"
#include "text.h"
#include "tlsfacts.h"

/* A name the blocks can use, normalised; or why it cannot be used. */
struct usable {
    bool ok;
    char norm[ADDR_DOMAIN_MAX];
    const char *why;
};

/* Write a libconfig string (see connector.h). */
void connector_quote(FILE *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\\' || c == '"') {
            fputc('\\', out);
            fputc(c, out);
        } else if (c < 0x20 || c >= 0x7f) {
            fprintf(out, "\\x%c%c", hex[c >> 4], hex[c & 15]);
        } else {
            fputc(c, out);
        }
    }
    fputc('"', out);
}

/* Quote a certificate text, marking a cut one. */
static void quote_text(FILE *out, const struct certinfo_text *t)
{
    connector_quote(out, t->s, t->len);
    if (t->cut)
        fputs(" (cut)", out);
}

/* Whether t may be a certificate name (pattern) of the configuration. */
static struct usable name_usable(const struct certinfo_text *t, bool pattern)
{
    struct usable u = { .ok = false };

    if (!t->present)
        u.why = "absent";
    else if (t->unreadable)
        u.why = "not a string the MTA could pass";
    else if (t->cut)
        u.why = "too long";
    else if (strlen(t->s) != t->len)
        u.why = "contains a NUL byte";
    else if (!pattern && strncmp(t->s, "*.", 2) == 0)
        u.why = "a wildcard, not one host name";
    else
        u.ok = addr_normalize_pattern(t->s, u.norm, sizeof u.norm, &u.why);
    return u;
}

/* Whether t may be an issuer of the configuration. */
static struct usable issuer_usable(const struct certinfo_text *t)
{
    struct usable u = { .ok = false };

    if (!t->present || t->len == 0)
        u.why = "absent";
    else if (t->unreadable)
        u.why = "not a string the MTA could pass";
    else if (t->cut || t->len >= TLSFACTS_NAME_MAX - 1)
        u.why = "longer than the daemon keeps of an issuer CN (254 bytes)";
    else if (strlen(t->s) != t->len)
        u.why = "contains a NUL byte";
    else if (syntax_has_control(t->s))
        u.why = "contains a control character, which the configuration refuses";
    else
        u.ok = true;
    return u;
}

/* A name usable as a host or domain: not an IPv4 or IPv6 address. */
static struct usable host_usable(const struct certinfo_text *t, bool pattern)
{
    struct usable u = name_usable(t, pattern);
    unsigned char addr[sizeof(struct in6_addr)];

    if (u.ok && (inet_pton(AF_INET, u.norm, addr) == 1 ||
                 inet_pton(AF_INET6, u.norm, addr) == 1)) {
        u.ok = false;
        u.why = "an IP address, not a host name";
    }
    return u;
}

/* The name the blocks are about: the CN, else the first usable DNS name. */
static struct usable subject_name(const struct certinfo *info, bool pattern)
{
    struct usable u = host_usable(&info->cn, pattern);

    for (size_t i = 0; !u.ok && i < info->dns_count; i++)
        u = host_usable(&info->dns[i], pattern);
    return u;
}

/* The parent domain of a normalised name: "mail.a.com" -> "a.com". */
static void parent_domain(const char *name, char *out, size_t outsz)
{
    const char *dot;

    if (strncmp(name, "*.", 2) == 0)
        name += 2;
    dot = strchr(name, '.');
    if (dot != NULL && strchr(dot + 1, '.') != NULL)
        name = dot + 1;
    text_copy(out, outsz, name);
}

/* "# LABEL  " for a header line. */
static void label(FILE *out, const char *l)
{
    fprintf(out, "# %-13s", l);
}

/* The root line of the header. */
static void print_root(const struct certinfo *info,
                       const struct connector_source *src, FILE *out)
{
    label(out, "root:");
    if (info->verify == CERTINFO_VERIFIED) {
        quote_text(out, &info->root);
        fputs(" (the chain verifies with --CAfile ", out);
        connector_quote(out, src->cafile, strlen(src->cafile));
        fputs(")\n", out);
        return;
    }
    if (info->root_known) {
        quote_text(out, &info->root);
        fputs(" (self-signed, sent by the partner; not verified)\n", out);
    } else {
        fputs("unknown (the chain does not end in a self-signed"
              " certificate)\n", out);
    }
    if (info->verify == CERTINFO_NOT_VERIFIED) {
        label(out, "verify:");
        fputs("the chain does NOT verify with --CAfile ", out);
        connector_quote(out, src->cafile, strlen(src->cafile));
        fputs(": ", out);
        connector_quote(out, info->verify_error, strlen(info->verify_error));
        fputc('\n', out);
    } else {
        label(out, "verify:");
        fputs("not checked (give the partner's root CA with --CAfile)\n", out);
    }
}

/* The comment header: what the certificate says. */
static void print_header(const struct certinfo *info,
                         const struct connector_source *src, FILE *out)
{
    char from[SYNTAX_UTC_TEXT], until[SYNTAX_UTC_TEXT];

    fputs("# forcetls connector: ", out);
    if (src->probe_target != NULL) {
        fputs("the certificate of ", out);
        connector_quote(out, src->probe_target, strlen(src->probe_target));
        fprintf(out, " (%s), read over STARTTLS\n",
                src->probe_address != NULL ? src->probe_address : "?");
    } else {
        fputs("the certificate in ", out);
        connector_quote(out, src->cert_file, strlen(src->cert_file));
        fputc('\n', out);
    }
    label(out, "subject CN:");
    if (info->cn.present)
        quote_text(out, &info->cn);
    else
        fputs("none", out);
    if (info->cn_count > 1)
        fprintf(out, " (the first of %zu CNs)", info->cn_count);
    fputc('\n', out);
    label(out, "DNS names:");
    if (info->dns_total == 0)
        fputs("none", out);
    for (size_t i = 0; i < info->dns_count; i++) {
        fputs(i > 0 ? ", " : "", out);
        quote_text(out, &info->dns[i]);
    }
    if (info->dns_total > info->dns_count)
        fprintf(out, " and %zu more", info->dns_total - info->dns_count);
    fputc('\n', out);
    label(out, "issuer CN:");
    if (info->issuer_cn.present)
        quote_text(out, &info->issuer_cn);
    else
        fputs("none", out);
    fputs(" (what issuers must hold)\n", out);
    print_root(info, src, out);
    label(out, "chain:");
    fprintf(out, "%zu certificate%s presented\n", info->chain_len,
            info->chain_len == 1 ? "" : "s");
    label(out, "key:");
    fprintf(out, "%s\n", info->key);
    syntax_format_utc(info->not_before, from, sizeof from);
    syntax_format_utc(info->not_after, until, sizeof until);
    label(out, "valid:");
    fprintf(out, "from %s until %s%s\n", from, until,
            src->now >= info->not_after ? " (EXPIRED)" :
            src->now < info->not_before ? " (NOT YET VALID)" : "");
    if (src->probe_host != NULL) {
        label(out, "host name:");
        connector_quote(out, src->probe_host, strlen(src->probe_host));
        fputs(src->host_covered ? " is a name of the certificate\n" :
              " is NOT a name of the certificate\n", out);
    }
    if (src->probe_target != NULL) {
        label(out, "TLS:");
        fprintf(out, "%s, cipher %s (%d bits), %s\n", src->tls_version,
                src->tls_cipher, src->tls_bits, src->forward_secret ?
                "forward secrecy" : "NO forward secrecy");
    }
}

/* The certificates = ( ... ) of the inbound block, or why there is none. */
static void print_identity(const struct certinfo *info, FILE *out)
{
    /* The daemon matches the CN as a host name: never a wildcard CN. */
    struct usable cn = name_usable(&info->cn, false);
    struct usable issuer = issuer_usable(&info->issuer_cn);
    char until[SYNTAX_UTC_TEXT];

    if (!cn.ok) {
        fputs("    # names: the CN ", out);
        if (info->cn.present)
            quote_text(out, &info->cn);
        fprintf(out, " is left out: %s. The daemon compares the CN the"
                " MTA passes.\n", cn.why);
    }
    if (!issuer.ok) {
        fputs("    # issuers: the issuer CN ", out);
        if (info->issuer_cn.present)
            quote_text(out, &info->issuer_cn);
        fprintf(out, " is left out: %s.\n", issuer.why);
    }
    if (!cn.ok && !issuer.ok) {
        fputs("    # No certificate identity can be written: only TLS is"
              " required.\n", out);
        return;
    }
    if (!cn.ok || !issuer.ok)
        fprintf(out, "    # WARNING: this identity accepts any %s.\n",
                !cn.ok ? "CN from this issuer" : "issuer for this CN");
    syntax_format_utc(info->not_after, until, sizeof until);
    fputs("    certificates = (\n      {", out);
    if (cn.ok) {
        fputs(" names = [ ", out);
        connector_quote(out, info->cn.s, info->cn.len);
        fputs(" ];", out);
    }
    if (issuer.ok) {
        fputs(cn.ok ? "\n        issuers = [ " : " issuers = [ ", out);
        connector_quote(out, info->issuer_cn.s, info->issuer_cn.len);
        fputs(" ];", out);
    }
    /*
     * No valid_until from the certificate: a renewal from the same issuing
     * CA pairs with this identity too, and would be refused as retired.
     */
    fprintf(out, " }\n    );\n"
            "    # This certificate expires %s. A renewal with the same name and\n"
            "    # issuing CA needs no change here; when the partner announces a new\n"
            "    # name or CA, add that identity with valid_from and give this one\n"
            "    # valid_until (forcetls.conf(5), CERTIFICATE IDENTITIES).\n", until);
}

/* The inbound block. */
static void print_inbound(const struct certinfo *info,
                          const struct connector_source *src,
                          const char *name, const char *domain, FILE *out)
{
    fputs("\n# Inbound: mail from this partner must come over TLS with this"
          " certificate,\n# verified by your MTA: put the root CA's"
          " certificate (and the intermediate, when\n# the partner's MTA does"
          " not send its chain) into smtpd_tls_CAfile (Postfix,\n# with"
          " smtpd_tls_ask_ccert = yes) or confCACERT (Sendmail).\n"
          "# To add it to an existing list, paste the { ... } group.\n"
          "inbound = (\n  { name = ", out);
    connector_quote(out, name, strlen(name));
    fputs(";\n", out);
    if (domain[0] != '\0') {
        fputs("    sender_domains = [ ", out);
        connector_quote(out, domain, strlen(domain));
        fputs(" ];   # suggested: the CN's parent domain\n", out);
    } else {
        fputs("    # sender_domains: no name of the certificate gives a"
              " domain; list the partner's sender domains\n", out);
    }
    fputs("    require_tls = true;\n"
          "    min_tls_version = \"TLSv1.2\";\n", out);
    if (src->probe_target != NULL &&
        tlsfacts_parse_version(src->tls_version) < TLS_VERSION_1_2)
        fprintf(out, "    # the probe negotiated %s: this partner may not"
                " meet the floor\n", src->tls_version);
    if (src->probe_target != NULL && src->forward_secret)
        fputs("    require_forward_secrecy = true;   # the probe negotiated"
              " it\n", out);
    print_identity(info, out);
    fputs("  }\n);\n", out);
}

/* The outbound block. */
static void print_outbound(const struct certinfo *info, const char *name,
                           const char *domain, FILE *out)
{
    struct usable host = subject_name(info, false);

    fputs("\n# Outbound: mail to this partner goes only over TLS to a server"
          " whose\n# certificate the MTA verifies", out);
    fputs(host.ok ? " and that is valid for tls_domain.\n" : ".\n", out);
    fputs("outbound = (\n  { name = ", out);
    connector_quote(out, name, strlen(name));
    fputs(";\n", out);
    if (domain[0] != '\0') {
        fputs("    recipient_domains = [ ", out);
        connector_quote(out, domain, strlen(domain));
        fputs(" ];   # suggested: the CN's parent domain\n", out);
    } else {
        fputs("    # recipient_domains: no name of the certificate gives a"
              " domain; list the partner's domains\n", out);
    }
    if (host.ok) {
        fputs("    tls_settings = \"domain-validation\";\n"
              "    tls_domain = ", out);
        connector_quote(out, host.norm, strlen(host.norm));
        fputs(";\n", out);
    } else {
        fprintf(out, "    # not domain-validation: no host name in the"
                " certificate (%s)\n"
                "    tls_settings = \"certificate-validation\";\n", host.why);
    }
    fputs("    min_tls_version = \"TLSv1.2\";\n  }\n);\n", out);
}

/* Write text with "# " before each line (a block that cannot load yet). */
static void comment_out(FILE *out, const char *text)
{
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t len = nl != NULL ? (size_t)(nl - text) : strlen(text);

        fputs(len > 0 ? "# " : "#", out);
        fwrite(text, 1, len, out);
        fputc('\n', out);
        text += len + (nl != NULL);
    }
}

/* Print the header and both blocks (see connector.h). */
bool connector_print(const struct certinfo *info,
                     const struct connector_source *src, FILE *out,
                     char *err, size_t errsz)
{
    struct usable subject = subject_name(info, true);
    char domain[ADDR_DOMAIN_MAX] = "", name[ADDR_DOMAIN_MAX], *blocks = NULL;
    size_t len = 0;
    const char *why;
    FILE *mem;

    if (subject.ok)
        parent_domain(subject.norm, domain, sizeof domain);
    text_copy(name, sizeof name,
              src->name != NULL ? src->name : domain[0] != '\0' ? domain :
              "partner");
    if (!syntax_connector_name(name, &why)) {
        if (src->name != NULL) {
            snprintf(err, errsz, "--name: %s", why);
            return false;
        }
        text_copy(name, sizeof name, "partner");
    }
    print_header(info, src, out);
    if (domain[0] != '\0') {
        print_inbound(info, src, name, domain, out);
        print_outbound(info, name, domain, out);
        return true;
    }
    /* Without a domain the connectors match nothing, which the loader
     * refuses: they are printed commented out, to be completed. */
    if ((mem = open_memstream(&blocks, &len)) == NULL) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    print_inbound(info, src, name, domain, mem);
    print_outbound(info, name, domain, mem);
    if (fclose(mem) != 0) {
        free(blocks);
        snprintf(err, errsz, "out of memory");
        return false;
    }
    fputs("#\n# No name of the certificate can be used as a domain: the"
          " blocks below are\n# commented out. Add the partner's domains,"
          " then remove the \"# \".\n", out);
    comment_out(out, blocks);
    free(blocks);
    return true;
}
