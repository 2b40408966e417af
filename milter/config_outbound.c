/*
 * config_outbound.c - the outbound half of forcetls.conf: the outbound
 * connector keys, their parsers and the rules across them.
 *
 * Owns the table of outbound connector keys (read by config.c's generic
 * driver), the parsers of values only outbound connectors have (tls
 * settings, tls_domain, smart hosts, recipient domains), and the rules
 * that span keys and connectors: domain-validation needs tls_domain, a
 * schedule (monitor_until, tempfail_until) needs require_session_tls = true,
 * and the TLS policy of every key Postfix looks a policy up by.
 *
 * Keys that several connectors cover: an exact recipient domain, a "*."
 * pattern (any name below, at any depth), and a smart host's next hop, in
 * the canonical form of config_nexthop_key() ("[host]:25" is "[host]",
 * "host:25" is "host"). A plain domain key is also covered by every "*."
 * pattern above it, because Postfix falls back to ".parent" keys for it and
 * our own exact answer must not be weaker than the pattern's; a "*." key by
 * the patterns above it. Each key gets the strictest policy of all that
 * cover it (struct outbound_policy), or the file is refused, naming both
 * places, when two domain-validation names differ. Computed once after all
 * connectors are read: each key looks at its own labels only (one probe per
 * label, each key resolved once), so loading is O(keys x labels) and a
 * lookup is a walk of the labels of the asked key, whatever the number of
 * connectors. Then routes: Postfix asks a smart host's policy by its next
 * hop only, so each smart-host key also gets the resolved policy of every
 * recipient domain of its connector (O(domains x smart hosts) per
 * connector), or the file is refused the same way.
 *
 * Must not: accept anything it does not understand (every problem is an
 * error "FILE:LINE: message"); log or exit; depend on the locale; make a
 * lookup depend on the number of connectors.
 *
 * Thread safety: like config.c, all state is in the caller's loader and
 * the snapshot being built; nothing is shared between loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "config_internal.h"
#include "config_syntax.h"
#include "domain_table.h"

/* ---- Value parsers ---- */

/* encryption-only | certificate-validation | domain-validation. */
static bool parse_tls_settings(struct loader *ld, const config_setting_t *s,
                               const char *text, void *field)
{
    int value = 0;

    if (!config_parse_keyword(ld, s, text, SYNTAX_TLS_SETTINGS, &value))
        return false;
    *(enum tls_settings *)field = (enum tls_settings)value;
    return true;
}

/* recipient_domains, in their own table. */
static bool parse_recipient_domain(struct loader *ld, const config_setting_t *s,
                                   const char *text, void *field)
{
    return config_add_domain(ld, s, text, field, ld->cfg->outbound_by_domain);
}

/* The name a domain-validation certificate must carry. */
static bool parse_tls_domain(struct loader *ld, const config_setting_t *s,
                             const char *text, void *field)
{
    char norm[ADDR_DOMAIN_MAX];
    const char *why = "invalid domain";

    if (!addr_normalize_domain(text, strlen(text), norm, sizeof norm, &why))
        return config_bad_value(ld, s, text, why);
    return config_store_string(ld, s, norm, field);
}

/* One smart host; field is the outbound connector. */
static bool parse_smart_host(struct loader *ld, const config_setting_t *s,
                             const char *text, void *field)
{
    struct outbound_connector *c = field;
    struct smart_host h;
    char host[ADDR_DOMAIN_MAX];
    const char *why = "invalid smart host";
    size_t n = c->smart_host_count;

    if (!syntax_smart_host(text, &h, host, sizeof host, &why))
        return config_bad_value(ld, s, text, why);
    if (n == 0 || (n & (n - 1)) == 0) {
        struct smart_host *hosts =
            realloc(c->smart_hosts, (n == 0 ? 1 : 2 * n) * sizeof *hosts);
        if (hosts == NULL)
            return config_no_memory(ld, s);
        c->smart_hosts = hosts;
    }
    if ((h.host = config_strdup(ld, host)) == NULL)
        return config_no_memory(ld, s);
    c->smart_hosts[n] = h;
    c->smart_host_count = n + 1;
    return true;
}

/* ---- The schema ---- */

#define OUT(f) offsetof(struct outbound_connector, f)
const struct key config_outbound_keys[] = {
    { .name = "name", .type = KEY_STRING, .offset = OUT(name),
      .check = syntax_connector_name, .parse = config_store_string,
      .required = true },
    { .name = "recipient_domains", .type = KEY_LIST,
      .offset = OUT(recipient_domains), .parse = parse_recipient_domain,
      .required = true },
    { .name = "tls_settings", .type = KEY_STRING,
      .offset = OUT(tls_settings), .dflt = "encryption-only",
      .parse = parse_tls_settings },
    { .name = "tls_domain", .type = KEY_STRING, .offset = OUT(tls_domain),
      .parse = parse_tls_domain },
    { .name = "min_tls_version", .type = KEY_STRING,
      .offset = OUT(min_tls_version), .dflt = INHERIT,
      .parse = config_parse_version },
    /* The element parser fills both smart_hosts and smart_host_count. */
    { .name = "smart_hosts", .type = KEY_LIST, .offset = 0,
      .parse = parse_smart_host },
    { .name = "require_session_tls", .type = KEY_BOOL,
      .offset = OUT(require_session_tls), .dflt = "false" },
    { .name = "action", .type = KEY_STRING, .offset = OUT(action),
      .dflt = INHERIT, .parse = config_parse_action },
    { .name = "monitor_until", .type = KEY_STRING,
      .offset = OUT(schedule.monitor_until), .parse = config_parse_date },
    { .name = "tempfail_until", .type = KEY_STRING,
      .offset = OUT(schedule.tempfail_until), .parse = config_parse_date },
    { .name = NULL },
};

/* ---- Rules across keys ---- */

/* Fields of an outbound connector that do not start zero: no schedule. */
void config_outbound_init(void *connector)
{
    struct outbound_connector *c = connector;

    c->schedule.monitor_until = CONFIG_NO_START;
    c->schedule.tempfail_until = CONFIG_NO_START;
}

/* Outbound rules that span keys. */
bool config_outbound_check(struct loader *ld, const config_setting_t *group,
                           void *connector)
{
    static const char *const dated[] = { "monitor_until", "tempfail_until" };
    const struct outbound_connector *c = connector;
    bool dv = c->tls_settings == TLS_SETTINGS_DOMAIN_VALIDATION;

    if (dv && c->tls_domain == NULL)
        return config_fail(ld, config_setting_get_member(group, "tls_settings"),
                    "tls_settings = \"domain-validation\" needs tls_domain");
    if (!dv && c->tls_domain != NULL)
        return config_fail(ld, config_setting_get_member(group, "tls_domain"),
                    "tls_domain only applies to tls_settings ="
                    " \"domain-validation\"");
    /* A schedule softens require_session_tls failures only. */
    for (size_t i = 0; !c->require_session_tls && i < 2; i++) {
        const config_setting_t *s = config_setting_get_member(group, dated[i]);
        if (s != NULL)
            return config_fail(ld, s, "%s applies only to require_session_tls"
                        " = true", dated[i]);
    }
    return config_schedule_check(ld, group, &c->schedule, c->action);
}

/* ---- Next-hop keys ---- */

/* The canonical lookup key of a next hop (see config.h). */
size_t config_nexthop_key(const struct smart_host *host, char *out,
                          size_t outsz)
{
    struct smart_host h = *host;

    if (h.port == 25)
        h.port = 0;
    return config_smart_host_text(&h, out, outsz);
}

/* Parse a next hop into its canonical key (see config.h). */
bool config_nexthop_parse(const char *text, char *key, size_t keysz,
                          bool *domain_form)
{
    struct smart_host h;
    char host[ADDR_DOMAIN_MAX];
    const char *why;
    size_t n;

    if (!syntax_smart_host(text, &h, host, sizeof host, &why))
        return false;
    h.host = host;
    if (domain_form != NULL)
        *domain_form = !h.bracketed && (h.port == 0 || h.port == 25);
    n = config_nexthop_key(&h, key, keysz);
    return n > 0 && n < keysz;
}

/* ---- The strictest policy of each key ---- */

/* Merge from into *into; see config.h. */
bool config_outbound_policy_merge(const struct config *config,
                                  struct outbound_policy *into,
                                  const struct outbound_policy *from)
{
    const struct outbound_connector *a = &config->outbound[into->level_id];
    const struct outbound_connector *b = &config->outbound[from->level_id];

    if (a->tls_settings == TLS_SETTINGS_DOMAIN_VALIDATION &&
        b->tls_settings == TLS_SETTINGS_DOMAIN_VALIDATION &&
        (a->tls_domain == NULL || b->tls_domain == NULL ||
         strcmp(a->tls_domain, b->tls_domain) != 0))
        return false;
    if (b->tls_settings > a->tls_settings)
        into->level_id = from->level_id;
    if (config->outbound[from->version_id].min_tls_version >
        config->outbound[into->version_id].min_tls_version)
        into->version_id = from->version_id;
    return true;
}

/* True if pattern (a recipient domain pattern) covers key. */
static bool pattern_covers(const char *pattern, const char *key)
{
    const char *base = strncmp(key, "*.", 2) == 0 ? key + 2 : key;
    size_t blen = strlen(base), plen;

    if (strcmp(pattern, key) == 0)
        return true;
    if (strncmp(pattern, "*.", 2) != 0)
        return false;
    plen = strlen(pattern + 1);            /* ".parent" */
    return blen > plen && memcmp(base + blen - plen, pattern + 1, plen) == 0;
}

/*
 * The element of connector id (in the file) through which it covers key,
 * for an error message; the connector's group if none is found. Only used
 * on the error path, so it may re-parse the connector's lists.
 */
static const config_setting_t *covering_element(const config_setting_t *list,
                                                uint32_t id, const char *key)
{
    const config_setting_t *group = config_setting_get_elem(list, id);
    const config_setting_t *s;
    char norm[ADDR_DOMAIN_MAX + 16];
    const char *why;
    int n;

    if ((s = config_setting_get_member(group, "smart_hosts")) != NULL) {
        n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            const char *text = config_setting_get_string(e);
            if (text != NULL &&
                config_nexthop_parse(text, norm, sizeof norm, NULL) &&
                strcmp(norm, key) == 0)
                return e;
        }
    }
    if ((s = config_setting_get_member(group, "recipient_domains")) != NULL) {
        n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            const char *text = config_setting_get_string(e);
            if (text != NULL &&
                addr_normalize_pattern(text, norm, sizeof norm, &why) &&
                pattern_covers(norm, key))
                return e;
        }
    }
    return group;
}

/* "recipient_domains "x"" or "smart_hosts "x"" for element e of an error. */
static void describe(const config_setting_t *e, char *out, size_t outsz)
{
    const config_setting_t *parent = config_setting_parent(e);
    const char *text = config_setting_get_string(e);

    if (text != NULL && parent != NULL && config_setting_name(parent) != NULL)
        snprintf(out, outsz, "%s \"%.200s\"", config_setting_name(parent), text);
    else
        snprintf(out, outsz, "its settings");
}

/* Refuse key: connectors a and b cover it with different tls_domain names. */
static bool no_strictest(struct loader *ld, const config_setting_t *list,
                         uint32_t a, uint32_t b, const char *key)
{
    const struct outbound_connector *ca, *cb;
    const config_setting_t *ea, *eb;
    char da[300], db[300];
    uint32_t t;

    if (a > b) {
        t = a;
        a = b;
        b = t;
    }
    ca = &ld->cfg->outbound[a];
    cb = &ld->cfg->outbound[b];
    ea = covering_element(list, a, key);
    eb = covering_element(list, b, key);
    describe(ea, da, sizeof da);
    describe(eb, db, sizeof db);
    return config_fail(ld, eb, "outbound connector \"%s\" (%s, tls_domain \"%s\") and"
                " outbound connector \"%s\" (line %u, %s, tls_domain \"%s\")"
                " both cover the TLS policy key \"%s\" with different"
                " domain-validation names: no policy is the strictest of both;"
                " use one tls_domain or keys that do not overlap",
                config_conn_name(ld, b), db, cb->tls_domain ? cb->tls_domain : "",
                config_conn_name(ld, a), config_setting_source_line(ea), da,
                ca->tls_domain ? ca->tls_domain : "", key);
}

/* Enter connector id under key, merging with what the key has. */
static bool add_key(struct loader *ld, const config_setting_t *list,
                    const char *key, bool smart_host)
{
    struct config *cfg = ld->cfg;
    struct outbound_policy one = { ld->id, ld->id, ld->id, 0 }, *p;
    uint32_t n;

    if (domain_table_get(cfg->outbound_by_nexthop, key, &n, 1) == 1) {
        p = &cfg->outbound_policy[n];
        if (!config_outbound_policy_merge(cfg, p, &one))
            return no_strictest(ld, list, p->level_id, ld->id, key);
        p->flags |= smart_host ? OUTBOUND_POLICY_SMART_HOST : 0;
        return true;
    }
    n = (uint32_t)cfg->outbound_policy_count;
    if (n == 0 || (n & (n - 1)) == 0) {
        size_t cap = n == 0 ? 1 : 2 * (size_t)n;   /* grows by doubling */
        if ((p = realloc(cfg->outbound_policy, cap * sizeof *p)) == NULL)
            return config_no_memory(ld, list);
        cfg->outbound_policy = p;
    }
    one.flags = smart_host ? OUTBOUND_POLICY_SMART_HOST : 0;
    cfg->outbound_policy[n] = one;
    if (!domain_table_add(cfg->outbound_by_nexthop, key, n, NULL, NULL))
        return config_no_memory(ld, list);
    cfg->outbound_policy_count = n + 1;
    return true;
}

/* Room for "*." and a normalised name. */
#define WILD_MAX (ADDR_DOMAIN_MAX + 2)

/*
 * Merge into the policy of the plain-domain or "*." key name the policies
 * of every "*." pattern above it. Walks the labels of name once; stops at
 * the first pattern already resolved, which holds those above it.
 */
static bool resolve(struct loader *ld, const config_setting_t *list,
                    const char *name)
{
    struct config *cfg = ld->cfg;
    uint32_t chain[ADDR_DOMAIN_MAX / 2 + 2], n;
    size_t depth = 0, start = strncmp(name, "*.", 2) == 0 ? 2 : 0;
    char wild[WILD_MAX];

    if (domain_table_get(cfg->outbound_by_nexthop, name, &n, 1) != 1)
        return true;
    chain[depth++] = n;
    for (size_t i = start; name[i] != '\0' &&
         !(cfg->outbound_policy[chain[depth - 1]].flags &
           OUTBOUND_POLICY_RESOLVED); i++) {
        if (name[i] != '.')
            continue;
        snprintf(wild, sizeof wild, "*.%s", name + i + 1);
        if (domain_table_get(cfg->outbound_by_nexthop, wild, &n, 1) == 1 &&
            depth < sizeof chain / sizeof chain[0])
            chain[depth++] = n;
    }
    /* From the farthest pattern down to name, each merges the one above. */
    cfg->outbound_policy[chain[depth - 1]].flags |= OUTBOUND_POLICY_RESOLVED;
    while (depth > 1) {
        struct outbound_policy *below = &cfg->outbound_policy[chain[depth - 2]];
        const struct outbound_policy *above =
            &cfg->outbound_policy[chain[depth - 1]];
        if (!config_outbound_policy_merge(cfg, below, above))
            return no_strictest(ld, list, below->level_id, above->level_id, name);
        below->flags |= OUTBOUND_POLICY_RESOLVED;
        depth--;
    }
    return true;
}

/* The lookup key of smart host h, or false (with an error) if too long. */
static bool host_key(struct loader *ld, const config_setting_t *list,
                     const struct smart_host *h, char *key, size_t keysz)
{
    size_t n = config_nexthop_key(h, key, keysz);

    if (n == 0 || n >= keysz)
        return config_fail(ld, list, "smart host \"%.200s\": too long", h->host);
    return true;
}

/* "recipient_domains "x"" (or whatever element of connector id covers key)
 * into out; returns the line of that element. */
static int place(const config_setting_t *list, uint32_t id, const char *key,
                 char *out, size_t outsz)
{
    const config_setting_t *e = covering_element(list, id, key);

    describe(e, out, outsz);
    return config_setting_source_line(e);
}

/* Where the tls_domain of a smart-host key's policy came from: the route
 * (connector, recipient domain) that brought it; conn NO_ROUTE if the key's
 * own connectors did. */
struct route_origin {
    uint32_t conn;
    uint32_t domain;
};
#define NO_ROUTE UINT32_MAX

/*
 * Refuse: connector c routes its recipient domain d through the smart host
 * of key hop, and the policy of d (domain_level's tls_domain) and that of
 * the next hop (hop_level's, brought by via) need different names.
 */
static bool no_strictest_route(struct loader *ld, const config_setting_t *list,
                               uint32_t c, const char *d, const char *hop,
                               uint32_t domain_level, uint32_t hop_level,
                               const struct route_origin *via)
{
    const struct config *cfg = ld->cfg;
    const config_setting_t *route = covering_element(list, c, d);
    char rd[300], rh[300], pd[300], ph[300];
    int domain_line, hop_line;

    describe(route, rd, sizeof rd);
    describe(covering_element(list, c, hop), rh, sizeof rh);
    domain_line = place(list, domain_level, d, pd, sizeof pd);
    /* hop_level covers hop, or the domain whose route brought it there. */
    hop_line = place(list, hop_level, via->conn == NO_ROUTE ? hop :
                     cfg->outbound[via->conn].recipient_domains.items[via->domain],
                     ph, sizeof ph);
    return config_fail(ld, route, "outbound connector \"%s\" sends mail for %s"
                       " through %s, and Postfix looks the TLS policy up by that"
                       " next hop (\"%s\") only, so it must hold the policy of"
                       " both: outbound connector \"%s\" (line %d, %s) needs"
                       " tls_domain \"%s\", outbound connector \"%s\" (line %d,"
                       " %s) needs tls_domain \"%s\": no policy is the"
                       " strictest of both; use one tls_domain or route these"
                       " domains through different smart hosts",
                       config_conn_name(ld, c), rd, rh, hop,
                       config_conn_name(ld, domain_level), domain_line, pd,
                       cfg->outbound[domain_level].tls_domain,
                       config_conn_name(ld, hop_level), hop_line, ph,
                       cfg->outbound[hop_level].tls_domain);
}

/*
 * Mail to connector i's recipient domains leaves through i's smart hosts
 * (the transport map), and Postfix then looks the TLS policy up by that
 * next hop only, never by the recipient domain. So each smart-host key also
 * gets the resolved policy of every recipient domain routed to it: the next
 * hop is never weaker than a connector covering a recipient sent through
 * it. Reads the policies as resolve() left them (a copy), so the result
 * does not depend on the order of connectors.
 */
static bool route(struct loader *ld, const config_setting_t *list)
{
    struct config *cfg = ld->cfg;
    size_t count = cfg->outbound_policy_count;
    struct outbound_policy *resolved;
    struct route_origin *via;
    char key[ADDR_DOMAIN_MAX + 16];
    bool ok = true;

    if (count == 0)
        return true;                /* no outbound keys, nothing routed */
    resolved = malloc(count * sizeof *resolved);
    via = malloc(count * sizeof *via);
    if (resolved == NULL || via == NULL) {
        free(resolved);
        free(via);
        return config_no_memory(ld, list);
    }
    memcpy(resolved, cfg->outbound_policy, count * sizeof *resolved);
    for (size_t n = 0; n < count; n++)
        via[n].conn = NO_ROUTE;
    for (uint32_t i = 0; ok && i < cfg->outbound_count; i++) {
        const struct outbound_connector *c = &cfg->outbound[i];
        for (size_t k = 0; ok && k < c->smart_host_count; k++) {
            struct outbound_policy *p;
            uint32_t hn, dn, before;

            if (!host_key(ld, list, &c->smart_hosts[k], key, sizeof key))
                ok = false;
            else if (domain_table_get(cfg->outbound_by_nexthop, key, &hn, 1) != 1)
                continue;
            for (size_t d = 0; ok && d < c->recipient_domains.count; d++) {
                const char *dom = c->recipient_domains.items[d];
                if (domain_table_get(cfg->outbound_by_nexthop, dom, &dn, 1) != 1)
                    continue;
                p = &cfg->outbound_policy[hn];
                before = p->level_id;
                if (!config_outbound_policy_merge(cfg, p, &resolved[dn])) {
                    ok = no_strictest_route(ld, list, i, dom, key,
                                            resolved[dn].level_id, p->level_id,
                                            &via[hn]);
                } else if (p->level_id != before) {
                    via[hn].conn = i;
                    via[hn].domain = (uint32_t)d;
                }
            }
        }
    }
    free(resolved);
    free(via);
    return ok;
}

/* The policies of every key, after all outbound connectors are read. */
bool config_outbound_finish(struct loader *ld, const config_setting_t *list)
{
    struct config *cfg = ld->cfg;
    char key[ADDR_DOMAIN_MAX + 16];

    for (uint32_t i = 0; i < cfg->outbound_count; i++) {
        const struct outbound_connector *c = &cfg->outbound[i];
        ld->id = i;
        for (size_t k = 0; k < c->recipient_domains.count; k++)
            if (!add_key(ld, list, c->recipient_domains.items[k], false))
                return false;
        for (size_t k = 0; k < c->smart_host_count; k++)
            if (!host_key(ld, list, &c->smart_hosts[k], key, sizeof key) ||
                !add_key(ld, list, key, true))
                return false;
    }
    for (uint32_t i = 0; i < cfg->outbound_count; i++) {
        const struct outbound_connector *c = &cfg->outbound[i];
        for (size_t k = 0; k < c->recipient_domains.count; k++)
            if (!resolve(ld, list, c->recipient_domains.items[k]))
                return false;
        for (size_t k = 0; k < c->smart_host_count; k++) {
            const struct smart_host *h = &c->smart_hosts[k];
            if (!h->bracketed && (h->port == 0 || h->port == 25) &&
                !resolve(ld, list, h->host))
                return false;
        }
    }
    return route(ld, list);
}
