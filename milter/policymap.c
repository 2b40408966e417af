/*
 * policymap.c - outbound connectors as the MTA enforces them: answers to
 * Postfix socketmap requests, and the tables printed by -P.
 *
 * The milter cannot make the MTA encrypt a delivery; the MTA's own TLS
 * policy can. This module translates each outbound connector into that
 * policy: Postfix's smtp_tls_policy_maps ("encrypt", "verify", "secure
 * match=NAME", with "protocols=>=TLSvX", valid since Postfix 3.6),
 * transport_maps for smart hosts (a list of next hops, Postfix 3.5 and
 * later), and Sendmail's access map (TLS_Rcpt and TLS_Srv, cf/README).
 *
 * Postfix looks a TLS policy up by next hop: for mail routed to a smart
 * host the key is the smart host as the transport wrote it, so the
 * tlspolicy map answers for next-hop keys before recipient domains.
 * Postfix sends socketmap keys unfolded, and for transport_maps only the
 * full address and "*" (a socketmap is a pattern table, which trivial-
 * rewrite does not ask for domains), so keys are folded and addresses are
 * answered by their domain here.
 *
 * Must not: log, allocate per request, or answer for a name no connector
 * covers (NOTFOUND lets the MTA's own defaults apply).
 *
 * Thread safety: pure functions of an immutable configuration snapshot;
 * the -P printer allocates one scratch table of its own.
 */
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "domain_table.h"
#include "policymap.h"
#include "text.h"

/* Room for a next-hop key: "[host]:port" with a 253-byte host. */
#define NEXTHOP_MAX (ADDR_DOMAIN_MAX + 16)

/* Lower-case ASCII copy of in; false if it does not fit. */
static bool lower_copy(const char *in, size_t len, char *out, size_t outsz)
{
    if (len >= outsz)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = text_ascii_lower(in[i]);
    out[len] = '\0';
    return true;
}

/* Postfix's name of a protocol version (the same as OpenSSL's), or NULL. */
static const char *protocol_name(enum tls_version version)
{
    return version >= TLS_VERSION_1_0 ? tlsfacts_version_name(version) : NULL;
}

/* The smtp_tls_policy_maps value for c; false if c cannot be expressed. */
static bool tls_policy_text(const struct outbound_connector *c, char *out,
                            size_t outsz)
{
    const char *proto = protocol_name(c->min_tls_version);
    int n = -1;

    if (proto == NULL)
        return false;
    switch (c->tls_settings) {
    case TLS_SETTINGS_ENCRYPTION_ONLY:
        n = snprintf(out, outsz, "encrypt protocols=>=%s", proto);
        break;
    case TLS_SETTINGS_CERTIFICATE_VALIDATION:
        n = snprintf(out, outsz, "verify protocols=>=%s", proto);
        break;
    case TLS_SETTINGS_DOMAIN_VALIDATION:
        if (c->tls_domain != NULL)
            n = snprintf(out, outsz, "secure match=%s protocols=>=%s",
                         c->tls_domain, proto);
        break;
    }
    return n > 0 && (size_t)n < outsz;
}

/* The smtp transport's next hops of c: "[h1]:25, [h2]"; false if too long. */
static bool transport_text(const struct outbound_connector *c, char *out,
                           size_t outsz)
{
    size_t pos = 0;

    out[0] = '\0';
    for (size_t i = 0; i < c->smart_host_count; i++) {
        char hop[NEXTHOP_MAX];
        size_t n = config_smart_host_text(&c->smart_hosts[i], hop, sizeof hop);
        int w;

        if (n == 0 || n >= sizeof hop)
            return false;
        w = snprintf(out + pos, outsz - pos, "%s%s", i > 0 ? ", " : "smtp:", hop);
        if (w < 0 || (size_t)w >= outsz - pos)
            return false;
        pos += (size_t)w;
    }
    return pos > 0;
}

/* The first (most specific) connector id a lookup found, or NULL. */
static const struct outbound_connector *pick(const struct config *config,
                                             size_t found, uint32_t id)
{
    if (found == 0 || id >= config->outbound_count)
        return NULL;
    return &config->outbound[id];
}

/*
 * The connector for a domain, or for ".parent" (Postfix's parent-domain
 * key: any name below parent). domain_table_match returns the exact
 * pattern first and then "*." patterns from the nearest parent outwards,
 * so the first id is the most specific. For ".parent" the lookup name is
 * "*.parent" itself, which matches the patterns "*.parent" and "*." of
 * every ancestor, and no exact domain.
 */
static const struct outbound_connector *by_domain(const struct config *config,
                                                  const char *key)
{
    char norm[ADDR_DOMAIN_MAX], name[ADDR_DOMAIN_MAX + 2];
    const char *domain = key[0] == '.' ? key + 1 : key;
    uint32_t id = 0;
    size_t found;

    if (!addr_normalize_domain(domain, strlen(domain), norm, sizeof norm, NULL))
        return NULL;
    snprintf(name, sizeof name, "%s%s", key[0] == '.' ? "*." : "", norm);
    found = domain_table_match(config->outbound_by_domain, name, &id, 1);
    return pick(config, found, id);
}

/*
 * A next-hop key in the form config_smart_host_text() writes: lower case,
 * and an address literal in canonical form ("[2001:DB8:0::1]:25" ->
 * "[2001:db8::1]:25"). False if it does not fit.
 */
static bool nexthop_normalize(const char *key, char *out, size_t outsz)
{
    const char *close;
    char inner[NEXTHOP_MAX], host[NEXTHOP_MAX], rest[NEXTHOP_MAX];
    struct ip_addr ip;
    size_t len;
    int n;

    if (key[0] != '[' || (close = strchr(key, ']')) == NULL)
        return lower_copy(key, strlen(key), out, outsz);
    len = (size_t)(close - key - 1);
    if (len >= sizeof inner || !lower_copy(close + 1, strlen(close + 1), rest,
                                           sizeof rest))
        return false;
    memcpy(inner, key + 1, len);
    inner[len] = '\0';
    if (ip_parse(inner, &ip))
        ip_format(&ip, host, sizeof host);
    else if (!lower_copy(inner, len, host, sizeof host))
        return false;
    n = snprintf(out, outsz, "[%s]%s", host, rest);
    return n > 0 && (size_t)n < outsz;
}

/* The connector whose smart host is the next hop key, or NULL. */
static const struct outbound_connector *by_nexthop(const struct config *config,
                                                   const char *key)
{
    char norm[NEXTHOP_MAX];
    uint32_t id = 0;
    size_t found;

    if (!nexthop_normalize(key, norm, sizeof norm))
        return NULL;
    found = domain_table_get(config->outbound_by_nexthop, norm, &id, 1);
    return pick(config, found, id);
}

/* Write "STATUS text" to reply and return result. */
static enum policymap_result reply_with(enum policymap_result result,
                                        const char *status, const char *text,
                                        char *reply, size_t replysz)
{
    int n = snprintf(reply, replysz, "%s %s", status, text);

    if (n < 0 || (size_t)n >= replysz) {
        snprintf(reply, replysz, "TEMP reply too long");
        return POLICYMAP_TEMP;
    }
    return result;
}

/* The tlspolicy map: next hop first, then the domain or ".parent". */
static enum policymap_result answer_tlspolicy(const struct config *config,
                                              const char *key, char *reply,
                                              size_t replysz)
{
    const struct outbound_connector *c = NULL;
    char text[POLICYMAP_REPLY_MAX];

    if (strchr(key, '@') == NULL) {
        c = by_nexthop(config, key);
        if (c == NULL)
            c = by_domain(config, key);
    }
    if (c == NULL)
        return reply_with(POLICYMAP_NOTFOUND, "NOTFOUND", "", reply, replysz);
    if (!tls_policy_text(c, text, sizeof text))
        return reply_with(POLICYMAP_TEMP, "TEMP", "cannot express connector",
                          reply, replysz);
    return reply_with(POLICYMAP_FOUND, "OK", text, reply, replysz);
}

/* The transport map: an address by its domain, a domain, or ".parent". */
static enum policymap_result answer_transport(const struct config *config,
                                              const char *key, char *reply,
                                              size_t replysz)
{
    const struct outbound_connector *c;
    const char *at = strrchr(key, '@');
    char text[POLICYMAP_REPLY_MAX];

    c = by_domain(config, at != NULL ? at + 1 : key);
    if (c == NULL || c->smart_host_count == 0)
        return reply_with(POLICYMAP_NOTFOUND, "NOTFOUND", "", reply, replysz);
    if (!transport_text(c, text, sizeof text))
        return reply_with(POLICYMAP_TEMP, "TEMP", "reply too long", reply,
                          replysz);
    return reply_with(POLICYMAP_FOUND, "OK", text, reply, replysz);
}

/* True if request has a control character (never in a Postfix key). */
static bool has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Answer one socketmap request; see policymap.h. */
enum policymap_result policymap_answer(const struct config *config,
                                       const char *request, char *reply,
                                       size_t replysz)
{
    const char *sp = strchr(request, ' ');
    const char *key;
    size_t namelen;

    if (sp == NULL || sp == request || sp[1] == '\0')
        return reply_with(POLICYMAP_BAD_REQUEST, "PERM",
                          "malformed request: want NAME KEY", reply, replysz);
    if (has_control(request))
        return reply_with(POLICYMAP_BAD_REQUEST, "PERM",
                          "control character in request", reply, replysz);
    namelen = (size_t)(sp - request);
    key = sp + 1;
    if (namelen == 9 && memcmp(request, "tlspolicy", 9) == 0) {
        if (config == NULL)
            return reply_with(POLICYMAP_TEMP, "TEMP", "no configuration loaded",
                              reply, replysz);
        if (strlen(key) > POLICYMAP_KEY_MAX)
            return reply_with(POLICYMAP_NOTFOUND, "NOTFOUND", "", reply, replysz);
        return answer_tlspolicy(config, key, reply, replysz);
    }
    if (namelen == 9 && memcmp(request, "transport", 9) == 0) {
        if (config == NULL)
            return reply_with(POLICYMAP_TEMP, "TEMP", "no configuration loaded",
                              reply, replysz);
        if (strlen(key) > POLICYMAP_KEY_MAX)
            return reply_with(POLICYMAP_NOTFOUND, "NOTFOUND", "", reply, replysz);
        return answer_transport(config, key, reply, replysz);
    }
    return reply_with(POLICYMAP_PERM, "PERM",
                      "unknown map (served: tlspolicy, transport)", reply,
                      replysz);
}

/* ---- The -P tables ---- */

/* The table key of a domain pattern: "*.x" -> ".x" (Postfix's parent key). */
static const char *postfix_key(const char *pattern)
{
    return strncmp(pattern, "*.", 2) == 0 ? pattern + 1 : pattern;
}

/* True if connector id is the first to claim its smart host k. */
static bool first_for_nexthop(const struct config *config, uint32_t id,
                              size_t k, const char *text)
{
    const struct outbound_connector *c = &config->outbound[id];
    uint32_t first = id;

    for (size_t j = 0; j < k; j++) {
        char other[NEXTHOP_MAX];
        config_smart_host_text(&c->smart_hosts[j], other, sizeof other);
        if (strcmp(other, text) == 0)
            return false;
    }
    if (domain_table_get(config->outbound_by_nexthop, text, &first, 1) == 0)
        return true;
    return first == id;
}

/* postfix-tls-policy: domains, ".parent" keys and smart-host next hops. */
static void print_tls_policy(const struct config *config, FILE *out)
{
    for (size_t i = 0; i < config->outbound_count; i++) {
        const struct outbound_connector *c = &config->outbound[i];
        char policy[POLICYMAP_REPLY_MAX], hop[NEXTHOP_MAX];
        uint32_t id;

        fprintf(out, "# outbound connector %s\n", c->name);
        if (!tls_policy_text(c, policy, sizeof policy)) {
            fprintf(out, "# %s: cannot be expressed\n", c->name);
            continue;
        }
        for (size_t k = 0; k < c->recipient_domains.count; k++) {
            const char *key = postfix_key(c->recipient_domains.items[k]);
            if (key[0] != '.' &&
                domain_table_get(config->outbound_by_nexthop, key, &id, 1) > 0) {
                fprintf(out, "# %s: also a smart host; its next-hop entry"
                        " applies\n", key);
                continue;
            }
            fprintf(out, "%s\t%s\n", key, policy);
        }
        for (size_t k = 0; k < c->smart_host_count; k++) {
            config_smart_host_text(&c->smart_hosts[k], hop, sizeof hop);
            if (first_for_nexthop(config, (uint32_t)i, k, hop))
                fprintf(out, "%s\t%s\n", hop, policy);
        }
    }
}

/* postfix-transport: the domains of connectors with smart hosts. */
static void print_transport(const struct config *config, FILE *out)
{
    for (size_t i = 0; i < config->outbound_count; i++) {
        const struct outbound_connector *c = &config->outbound[i];
        char hops[POLICYMAP_REPLY_MAX];

        if (c->smart_host_count == 0)
            continue;
        fprintf(out, "# outbound connector %s\n", c->name);
        if (!transport_text(c, hops, sizeof hops)) {
            fprintf(out, "# %s: too many smart hosts for one entry\n", c->name);
            continue;
        }
        for (size_t k = 0; k < c->recipient_domains.count; k++)
            fprintf(out, "%s\t%s\n", postfix_key(c->recipient_domains.items[k]),
                    hops);
    }
}

/* The access-map right-hand side of c (cf/README, "STARTTLS"). */
static void sendmail_rhs(const struct outbound_connector *c, char *out,
                         size_t outsz)
{
    if (c->tls_settings == TLS_SETTINGS_DOMAIN_VALIDATION && c->tls_domain != NULL)
        snprintf(out, outsz, "VERIFY+CN:%s", c->tls_domain);
    else if (c->tls_settings == TLS_SETTINGS_ENCRYPTION_ONLY)
        snprintf(out, outsz, "ENCR:128");
    else
        snprintf(out, outsz, "VERIFY");
}

/*
 * TLS_Rcpt lines of c. Sendmail's access map matches a domain and every
 * name below it, and has no "below only" form: "*.x" becomes "x" unless
 * another connector names x itself.
 */
static void print_tls_rcpt(const struct config *config, uint32_t self,
                           const char *rhs, FILE *out)
{
    const struct outbound_connector *c = &config->outbound[self];

    for (size_t k = 0; k < c->recipient_domains.count; k++) {
        const char *d = c->recipient_domains.items[k];
        uint32_t id;

        if (strncmp(d, "*.", 2) != 0) {
            fprintf(out, "TLS_Rcpt:%s\t%s\n", d, rhs);
        } else if (domain_table_get(config->outbound_by_domain, d + 2, &id, 1) > 0) {
            /* The apex has an entry: the same policy covers d; another does not. */
            if (id != self)
                fprintf(out, "# %s: not expressible: %s has its own entry,"
                        " which Sendmail applies below it too\n", d, d + 2);
        } else {
            fprintf(out, "# %s: Sendmail also applies this to %s itself\n", d,
                    d + 2);
            fprintf(out, "TLS_Rcpt:%s\t%s\n", d + 2, rhs);
        }
    }
}

/* TLS_Srv lines for c's smart hosts, each server once (seen may be NULL). */
static void print_tls_srv(const struct outbound_connector *c, uint32_t id,
                          const char *rhs, struct domain_table *seen, FILE *out)
{
    for (size_t k = 0; k < c->smart_host_count; k++) {
        const struct smart_host *h = &c->smart_hosts[k];
        char key[NEXTHOP_MAX];
        bool had_other = false;
        uint32_t other = id;

        /* {server_addr} of an IPv6 server is "IPv6:..." (LookUpAddress). */
        snprintf(key, sizeof key, "%s%s", strchr(h->host, ':') ? "IPv6:" : "",
                 h->host);
        if (seen != NULL) {
            uint32_t prev;
            if (domain_table_get(seen, key, &prev, 1) > 0)
                continue;
            if (!domain_table_add(seen, key, id, &had_other, &other))
                seen = NULL;
        }
        fprintf(out, "TLS_Srv:%s\t%s\n", key, rhs);
    }
}

/* sendmail-access: TLS_Rcpt per recipient domain, TLS_Srv per smart host. */
static void print_sendmail_access(const struct config *config, FILE *out)
{
    struct domain_table *seen = domain_table_new();

    fprintf(out, "# Needs FEATURE(`access_db'). Sendmail cannot require a"
            " minimum TLS version here,\n# and a domain entry also covers the"
            " names below it. Smart hosts need mailertable entries.\n");
    for (size_t i = 0; i < config->outbound_count; i++) {
        const struct outbound_connector *c = &config->outbound[i];
        char rhs[ADDR_DOMAIN_MAX + 16];

        fprintf(out, "# outbound connector %s\n", c->name);
        sendmail_rhs(c, rhs, sizeof rhs);
        print_tls_rcpt(config, (uint32_t)i, rhs, out);
        print_tls_srv(c, (uint32_t)i, rhs, seen, out);
    }
    domain_table_free(seen);
}

/* Print the named table; see policymap.h. */
bool policymap_print_table(const struct config *config, const char *name, FILE *out)
{
    static const struct {
        const char *name;
        void (*print)(const struct config *, FILE *);
    } tables[] = {
        { "postfix-tls-policy", print_tls_policy },
        { "postfix-transport", print_transport },
        { "sendmail-access", print_sendmail_access },
    };

    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (strcmp(name, tables[i].name) == 0) {
            fprintf(out, "# %s generated by forcetls-milter from %s; do not edit\n",
                    name, config->path != NULL ? config->path : "(unknown)");
            tables[i].print(config, out);
            return true;
        }
    }
    return false;
}
