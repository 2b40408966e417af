/*
 * config_outbound.c - the outbound half of forcetls.conf: the outbound
 * connector keys, their parsers and the rules across them.
 *
 * Owns the table of outbound connector keys (read by config.c's generic
 * driver), the parsers of values only outbound connectors have (tls
 * settings, tls_domain, smart hosts, recipient domains), and the rules
 * that span keys and connectors: domain-validation needs tls_domain, and
 * the next-hop keys that Postfix looks a TLS policy up by.
 *
 * Must not: accept anything it does not understand (every problem is an
 * error "FILE:LINE: message"); log or exit; depend on the locale.
 *
 * Thread safety: like config.c, all state is in the caller's loader and
 * the snapshot being built; nothing is shared between loads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "config_internal.h"
#include "config_syntax.h"
#include "domain_table.h"

/* ---- Errors ---- */

/* config_vfail with arguments; returns false. */
static bool fail(struct loader *ld, const config_setting_t *s,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(struct loader *ld, const config_setting_t *s,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_vfail(ld, s, fmt, ap);
    va_end(ap);
    return false;
}

/* The usual "key: "value": why" error. */
static bool bad_value(struct loader *ld, const config_setting_t *s,
                      const char *text, const char *why)
{
    return fail(ld, s, "%s: \"%.200s\": %s", ld->key, text, why);
}

static bool no_memory(struct loader *ld, const config_setting_t *s)
{
    return fail(ld, s, "out of memory");
}

/* Name of outbound connector id. */
static const char *conn_name(const struct loader *ld, uint32_t id)
{
    const char *name = ld->cfg->outbound[id].name;
    return name != NULL ? name : "(unnamed)";
}

/* strdup into a char * field, replacing nothing (fields start NULL). */
static bool store_string(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field)
{
    char **dst = field;

    if ((*dst = strdup(text)) == NULL)
        return no_memory(ld, s);
    return true;
}

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
        return bad_value(ld, s, text, why);
    return store_string(ld, s, norm, field);
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
        return bad_value(ld, s, text, why);
    if (n == 0 || (n & (n - 1)) == 0) {
        struct smart_host *hosts =
            realloc(c->smart_hosts, (n == 0 ? 1 : 2 * n) * sizeof *hosts);
        if (hosts == NULL)
            return no_memory(ld, s);
        c->smart_hosts = hosts;
    }
    if ((h.host = strdup(host)) == NULL)
        return no_memory(ld, s);
    c->smart_hosts[n] = h;
    c->smart_host_count = n + 1;
    return true;
}

/* ---- The schema ---- */

#define OUT(f) offsetof(struct outbound_connector, f)
const struct key config_outbound_keys[] = {
    { .name = "name", .type = KEY_STRING, .offset = OUT(name),
      .check = syntax_connector_name, .parse = store_string,
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
    { .name = NULL },
};

/* ---- Rules across keys ---- */

/* Two connectors answering for one next hop must give the same policy. */
static bool same_tls_policy(const struct outbound_connector *a,
                            const struct outbound_connector *b)
{
    return a->tls_settings == b->tls_settings &&
           a->min_tls_version == b->min_tls_version &&
           (a->tls_domain == NULL) == (b->tls_domain == NULL) &&
           (a->tls_domain == NULL || strcmp(a->tls_domain, b->tls_domain) == 0);
}

/* Enter the next-hop keys of connector id's smart hosts. */
static bool add_nexthops(struct loader *ld, const config_setting_t *group)
{
    const struct outbound_connector *c = &ld->cfg->outbound[ld->id];
    const config_setting_t *list = config_setting_get_member(group, "smart_hosts");

    for (size_t i = 0; i < c->smart_host_count; i++) {
        const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
        char key[ADDR_DOMAIN_MAX + 16];
        bool other = false;
        uint32_t other_id = 0;
        config_smart_host_text(&c->smart_hosts[i], key, sizeof key);
        if (!domain_table_add(ld->cfg->outbound_by_nexthop, key, ld->id,
                              &other, &other_id))
            return no_memory(ld, s);
        if (other && !same_tls_policy(c, &ld->cfg->outbound[other_id]))
            return fail(ld, s, "smart host \"%s\" is also used by outbound"
                        " connector \"%s\" with other TLS settings (Postfix"
                        " looks the TLS policy up by next hop)", key,
                        conn_name(ld, other_id));
    }
    return true;
}

/* Outbound rules that span keys. */
bool config_outbound_check(struct loader *ld, const config_setting_t *group,
                           const void *connector)
{
    const struct outbound_connector *c = connector;
    bool dv = c->tls_settings == TLS_SETTINGS_DOMAIN_VALIDATION;

    if (dv && c->tls_domain == NULL)
        return fail(ld, config_setting_get_member(group, "tls_settings"),
                    "tls_settings = \"domain-validation\" needs tls_domain");
    if (!dv && c->tls_domain != NULL)
        return fail(ld, config_setting_get_member(group, "tls_domain"),
                    "tls_domain only applies to tls_settings ="
                    " \"domain-validation\"");
    return add_nexthops(ld, group);
}
