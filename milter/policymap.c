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
 * Postfix looks a TLS policy up by next hop (postconf(5),
 * smtp_tls_policy_maps): the recipient domain, or the next hop verbatim as
 * the transport wrote it, with brackets and a port; only a plain domain
 * key falls back to ".parent" keys. One key, one answer, whoever else
 * covers it: the tlspolicy map answers the strictest policy of every
 * connector covering the key, computed at load time (struct
 * outbound_policy, config_outbound.c); a lookup walks the labels of the key
 * and takes the first (most specific) key found, which already holds the
 * patterns above it. "[host]:25" is looked up as "[host]" and "host:25" as
 * "host": the same destination gets the same answer in either form.
 *
 * The transport map answers routing, not security: the most specific
 * connector's smart hosts, as it always was (a pattern below another may
 * route elsewhere); the TLS policy of whatever next hop it names is the
 * tlspolicy map's, which at load time got the policy of every recipient
 * domain routed through that next hop (Postfix asks no other key then). Postfix sends socketmap keys unfolded, and for
 * transport_maps only the full address and "*" (a socketmap is a pattern
 * table, which trivial-rewrite does not ask for domains), so keys are
 * folded and addresses are answered by their domain here.
 *
 * Must not: log, allocate per request, or answer for a name no connector
 * covers (NOTFOUND lets the MTA's own defaults apply).
 *
 * Thread safety: pure functions of an immutable configuration snapshot;
 * the -P printer allocates scratch tables of its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "domain_table.h"
#include "policymap.h"
#include "text.h"

/* Room for a next-hop key: "[host]:port" with a 253-byte host. */
#define NEXTHOP_MAX (ADDR_DOMAIN_MAX + 16)

/* Postfix's name of a protocol version (the same as OpenSSL's), or NULL. */
static const char *protocol_name(enum tls_version version)
{
    return version >= TLS_VERSION_1_0 ? tlsfacts_version_name(version) : NULL;
}

/* The smtp_tls_policy_maps value of policy p; false if it cannot be expressed. */
static bool tls_policy_text(const struct config *config,
                            const struct outbound_policy *p, char *out,
                            size_t outsz)
{
    const struct outbound_connector *c = &config->outbound[p->level_id];
    const char *proto =
        protocol_name(config->outbound[p->version_id].min_tls_version);
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

/*
 * The most specific connector for a domain, or for ".parent" (Postfix's
 * parent-domain key: any name below parent), for routing. domain_table_match
 * returns the exact pattern first and then "*." patterns from the nearest
 * parent outwards. For ".parent" the lookup name is "*.parent" itself,
 * which matches the patterns "*.parent" and "*." of every ancestor, and no
 * exact domain.
 */
static const struct outbound_connector *by_domain(const struct config *config,
                                                  const char *key)
{
    char norm[ADDR_DOMAIN_MAX], name[ADDR_DOMAIN_MAX + 2];
    const char *domain = key[0] == '.' ? key + 1 : key;
    uint32_t id = 0;

    if (!addr_normalize_domain(domain, strlen(domain), norm, sizeof norm, NULL))
        return NULL;
    snprintf(name, sizeof name, "%s%s", key[0] == '.' ? "*." : "", norm);
    if (domain_table_match(config->outbound_by_domain, name, &id, 1) == 0 ||
        id >= config->outbound_count)
        return NULL;
    return &config->outbound[id];
}

/*
 * The merged policy for a tlspolicy key, or NULL. A plain domain (also
 * "host:25") is its own key or, failing that, the nearest "*." pattern
 * above it; ".parent" is the nearest pattern at or above parent; any other
 * next hop is its own canonical key only (Postfix asks nothing else for it).
 */
static const struct outbound_policy *policy_for(const struct config *config,
                                                const char *key)
{
    char norm[NEXTHOP_MAX + 2];
    uint32_t id = 0;
    size_t found;
    bool domain_form = false;

    if (key[0] == '.') {
        memcpy(norm, "*.", 2);
        if (!addr_normalize_domain(key + 1, strlen(key + 1), norm + 2,
                                   sizeof norm - 2, NULL))
            return NULL;
        domain_form = true;
    } else if (!config_nexthop_parse(key, norm, sizeof norm, &domain_form)) {
        return NULL;
    }
    found = domain_form
                ? domain_table_match(config->outbound_by_nexthop, norm, &id, 1)
                : domain_table_get(config->outbound_by_nexthop, norm, &id, 1);
    if (found == 0 || id >= config->outbound_policy_count)
        return NULL;
    return &config->outbound_policy[id];
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

/* The tlspolicy map: the strictest policy of the key (see policy_for). */
static enum policymap_result answer_tlspolicy(const struct config *config,
                                              const char *key, char *reply,
                                              size_t replysz)
{
    const struct outbound_policy *p = NULL;
    char text[POLICYMAP_REPLY_MAX];

    if (strchr(key, '@') == NULL)
        p = policy_for(config, key);
    if (p == NULL)
        return reply_with(POLICYMAP_NOTFOUND, "NOTFOUND", "", reply, replysz);
    if (!tls_policy_text(config, p, text, sizeof text))
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

/* The merged policy of a table key (exact, "*." or canonical next hop). */
static const struct outbound_policy *key_policy(const struct config *config,
                                                const char *key, uint32_t *n)
{
    if (domain_table_get(config->outbound_by_nexthop, key, n, 1) != 1 ||
        *n >= config->outbound_policy_count)
        return NULL;
    return &config->outbound_policy[*n];
}

/* A next-hop key without a port: "[host]" or a plain "host". */
static bool default_port_form(const char *key)
{
    size_t len = strlen(key);

    return key[0] == '[' ? len > 0 && key[len - 1] == ']' : strchr(key, ':') == NULL;
}

/*
 * The line(s) of one key for connector self: the merged policy under the
 * first connector that lists the key, a pointer to it under the others.
 * A smart host's key also gets its ":25" form, which Postfix asks when a
 * next hop is written so (a static table has no equivalence of its own).
 */
static void print_policy_key(const struct config *config, uint32_t self,
                             const char *key, const char *table_key,
                             bool *printed, FILE *out)
{
    char text[POLICYMAP_REPLY_MAX];
    const struct outbound_policy *p;
    uint32_t n;

    if ((p = key_policy(config, key, &n)) == NULL)
        return;
    if (p->first_id != self) {
        fprintf(out, "# %s: also listed by outbound connector %s; its entry"
                " (the strictest of both) applies\n", table_key,
                config->outbound[p->first_id].name);
        return;
    }
    if (printed != NULL && printed[n])
        return;             /* listed twice by self ("[h]" and "[h]:25") */
    if (printed != NULL)
        printed[n] = true;
    if (!tls_policy_text(config, p, text, sizeof text)) {
        fprintf(out, "# %s: cannot be expressed\n", table_key);
        return;
    }
    fprintf(out, "%s\t%s\n", table_key, text);
    if ((p->flags & OUTBOUND_POLICY_SMART_HOST) && default_port_form(table_key))
        fprintf(out, "%s:25\t%s\n", table_key, text);
}

/* postfix-tls-policy: domains, ".parent" keys and smart-host next hops. */
static void print_tls_policy(const struct config *config, FILE *out)
{
    bool *printed = calloc(config->outbound_policy_count + 1, sizeof *printed);

    if (printed == NULL)
        fprintf(out, "# out of memory: keys shared by connectors may repeat\n");
    for (size_t i = 0; i < config->outbound_count; i++) {
        const struct outbound_connector *c = &config->outbound[i];
        char hop[NEXTHOP_MAX];

        fprintf(out, "# outbound connector %s\n", c->name);
        for (size_t k = 0; k < c->recipient_domains.count; k++)
            print_policy_key(config, (uint32_t)i, c->recipient_domains.items[k],
                             postfix_key(c->recipient_domains.items[k]),
                             printed, out);
        for (size_t k = 0; k < c->smart_host_count; k++) {
            size_t len = config_nexthop_key(&c->smart_hosts[k], hop, sizeof hop);
            if (len > 0 && len < sizeof hop)
                print_policy_key(config, (uint32_t)i, hop, hop, printed, out);
        }
    }
    free(printed);
}

/*
 * postfix-transport: the domains of connectors with smart hosts; and, when
 * any connector has smart hosts, a null entry (":", transport(5): change
 * nothing) for the domains of connectors without, so that a hash table's
 * ".parent" search cannot send them through the smart hosts of a pattern
 * above (the socketmap answers the most specific connector, and so must
 * the table: the relay's TLS policy holds only the domains routed to it).
 */
static void print_transport(const struct config *config, FILE *out)
{
    bool any_hosts = false;

    for (size_t i = 0; i < config->outbound_count; i++)
        any_hosts = any_hosts || config->outbound[i].smart_host_count > 0;
    for (size_t i = 0; i < config->outbound_count; i++) {
        const struct outbound_connector *c = &config->outbound[i];
        char hops[POLICYMAP_REPLY_MAX];

        if (c->smart_host_count == 0 && !any_hosts)
            continue;
        fprintf(out, "# outbound connector %s%s\n", c->name,
                c->smart_host_count == 0 ? ": no smart hosts" : "");
        if (c->smart_host_count == 0)
            snprintf(hops, sizeof hops, ":");
        else if (!transport_text(c, hops, sizeof hops)) {
            fprintf(out, "# %s: too many smart hosts for one entry\n", c->name);
            continue;
        }
        for (size_t k = 0; k < c->recipient_domains.count; k++)
            fprintf(out, "%s\t%s\n", postfix_key(c->recipient_domains.items[k]),
                    hops);
    }
}

/* The access-map right-hand side of policy p (cf/README, "STARTTLS"). */
static void sendmail_rhs(const struct config *config,
                         const struct outbound_policy *p, char *out,
                         size_t outsz)
{
    const struct outbound_connector *c = &config->outbound[p->level_id];

    if (c->tls_settings == TLS_SETTINGS_DOMAIN_VALIDATION && c->tls_domain != NULL)
        snprintf(out, outsz, "VERIFY+CN:%s", c->tls_domain);
    else if (c->tls_settings == TLS_SETTINGS_ENCRYPTION_ONLY)
        snprintf(out, outsz, "ENCR:128");
    else
        snprintf(out, outsz, "VERIFY");
}

/*
 * TLS_Rcpt lines of connector self. Sendmail's access map matches a domain
 * and every name below it, and has no "below only" form: "*.x" becomes "x"
 * unless a connector names x itself, whose entry then carries the
 * strictest of both (or, when there is none, a comment says so).
 */
static void print_tls_rcpt(const struct config *config, uint32_t self,
                           FILE *out)
{
    const struct outbound_connector *c = &config->outbound[self];

    for (size_t k = 0; k < c->recipient_domains.count; k++) {
        const char *d = c->recipient_domains.items[k];
        char wild[ADDR_DOMAIN_MAX + 2], rhs[ADDR_DOMAIN_MAX + 16];
        const struct outbound_policy *p, *below;
        struct outbound_policy merged;
        uint32_t n, id;

        if ((p = key_policy(config, d, &n)) == NULL)
            continue;
        merged = *p;
        if (strncmp(d, "*.", 2) != 0) {
            snprintf(wild, sizeof wild, "*.%s", d);
            below = key_policy(config, wild, &n);
            if (below != NULL &&
                !config_outbound_policy_merge(config, &merged, below))
                fprintf(out, "# %s: not expressible: %s has its own entry, which"
                        " Sendmail applies below it too\n", wild, d);
            sendmail_rhs(config, &merged, rhs, sizeof rhs);
            fprintf(out, "TLS_Rcpt:%s\t%s\n", d, rhs);
        } else if (domain_table_get(config->outbound_by_domain, d + 2, &id, 1) == 0) {
            sendmail_rhs(config, &merged, rhs, sizeof rhs);
            fprintf(out, "# %s: Sendmail also applies this to %s itself\n", d,
                    d + 2);
            fprintf(out, "TLS_Rcpt:%s\t%s\n", d + 2, rhs);
        }
    }
}

/* The access-map key of a smart host's server: "IPv6:..." for IPv6. */
static void tls_srv_key(const struct smart_host *h, char *out, size_t outsz)
{
    /* {server_addr} of an IPv6 server is "IPv6:..." (LookUpAddress). */
    snprintf(out, outsz, "%s%s", strchr(h->host, ':') ? "IPv6:" : "", h->host);
}

/* Marks a server whose smart hosts have no strictest policy together. */
#define SRV_CONFLICT 0x80u

/*
 * Sendmail's TLS_Srv key is the server, without port or brackets: the
 * policies of all smart hosts on one server merged, in srv[] by the index
 * seen gives the server. False when memory runs out.
 */
static bool merge_servers(const struct config *config, struct domain_table *seen,
                          struct outbound_policy *srv, size_t *nsrv)
{
    for (size_t i = 0; i < config->outbound_count; i++) {
        const struct outbound_connector *c = &config->outbound[i];
        for (size_t k = 0; k < c->smart_host_count; k++) {
            char key[NEXTHOP_MAX];
            const struct outbound_policy *p;
            uint32_t n;
            size_t len = config_nexthop_key(&c->smart_hosts[k], key, sizeof key);

            if (len == 0 || len >= sizeof key ||
                (p = key_policy(config, key, &n)) == NULL)
                continue;
            tls_srv_key(&c->smart_hosts[k], key, sizeof key);
            if (domain_table_get(seen, key, &n, 1) == 1) {
                if (!config_outbound_policy_merge(config, &srv[n], p))
                    srv[n].flags |= SRV_CONFLICT;
                continue;
            }
            n = (uint32_t)(*nsrv)++;
            srv[n] = *p;
            if (!domain_table_add(seen, key, n, NULL, NULL))
                return false;
        }
    }
    return true;
}

/* TLS_Srv lines for c's smart hosts, each server once, merged. */
static void print_tls_srv(const struct config *config,
                          const struct outbound_connector *c,
                          const struct domain_table *seen,
                          const struct outbound_policy *srv, bool *printed,
                          FILE *out)
{
    for (size_t k = 0; k < c->smart_host_count; k++) {
        char key[NEXTHOP_MAX], rhs[ADDR_DOMAIN_MAX + 16];
        uint32_t n;

        tls_srv_key(&c->smart_hosts[k], key, sizeof key);
        if (domain_table_get(seen, key, &n, 1) != 1 || printed[n])
            continue;
        printed[n] = true;
        if (srv[n].flags & SRV_CONFLICT) {
            fprintf(out, "# TLS_Srv:%s: not expressible: its smart hosts need"
                    " different certificate names, and Sendmail has one entry"
                    " per server\n", key);
            continue;
        }
        sendmail_rhs(config, &srv[n], rhs, sizeof rhs);
        fprintf(out, "TLS_Srv:%s\t%s\n", key, rhs);
    }
}

/* sendmail-access: TLS_Rcpt per recipient domain, TLS_Srv per smart host. */
static void print_sendmail_access(const struct config *config, FILE *out)
{
    struct domain_table *seen = domain_table_new();
    size_t hosts = 0, nsrv = 0;
    struct outbound_policy *srv;
    bool *printed;

    for (size_t i = 0; i < config->outbound_count; i++)
        hosts += config->outbound[i].smart_host_count;
    srv = calloc(hosts + 1, sizeof *srv);
    printed = calloc(hosts + 1, sizeof *printed);
    fprintf(out, "# Needs FEATURE(`access_db'). Sendmail cannot require a"
            " minimum TLS version here,\n# and a domain entry also covers the"
            " names below it. Smart hosts need mailertable entries.\n");
    if (seen == NULL || srv == NULL || printed == NULL ||
        !merge_servers(config, seen, srv, &nsrv)) {
        fprintf(out, "# out of memory: no table\n");
    } else {
        for (size_t i = 0; i < config->outbound_count; i++) {
            fprintf(out, "# outbound connector %s\n", config->outbound[i].name);
            print_tls_rcpt(config, (uint32_t)i, out);
            print_tls_srv(config, &config->outbound[i], seen, srv, printed, out);
        }
    }
    free(printed);
    free(srv);
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
