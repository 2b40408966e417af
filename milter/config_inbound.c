/*
 * config_inbound.c - the inbound half of forcetls.conf: the inbound
 * connector keys, their parsers and the rules across them.
 *
 * Owns the table of inbound connector keys (read by config.c's generic
 * driver), the parsers of values only inbound connectors have (sender
 * domains and addresses, certificate names and issuers, exempt recipients),
 * which also fill the snapshot's inbound lookup tables, and the rules that
 * span keys: a connector must match by something (domains, addresses or
 * the certificate names of its identities), and TLS requirements contradict
 * require_tls = false. The keys of certificates = ( ... ), the flat keys as
 * one identity and the schedule rules are config_identity.c's.
 *
 * Must not: accept anything it does not understand (every problem is an
 * error "FILE:LINE: message"); log or exit; depend on the locale.
 *
 * Thread safety: as config.c: all state is the caller's loader and snapshot.
 */
#include <stddef.h>

#include <libconfig.h>

#include "addr.h"
#include "cidr.h"
#include "config.h"
#include "config_internal.h"
#include "config_syntax.h"
#include "domain_table.h"

#define MAX_CIPHER_BITS 256

/* sender_domains (recipient_domains: config_outbound.c), own table. */
static bool parse_sender_domain(struct loader *ld, const config_setting_t *s,
                                const char *text, void *field)
{
    return config_add_domain(ld, s, text, field, ld->cfg->inbound_by_domain);
}

/* A sender address range; field counts them. */
static bool parse_sender_ip(struct loader *ld, const config_setting_t *s,
                            const char *text, void *field)
{
    struct cidr prefix;
    const char *why = "invalid address or prefix";

    if (!cidr_parse(text, &prefix, &why))
        return config_bad_value(ld, s, text, why);
    if (!cidr_table_add(ld->cfg->inbound_by_ip, &prefix, ld->id))
        return config_no_memory(ld, s);
    (*(size_t *)field)++;
    return true;
}

/* A certificate host name, "*." standing for exactly one label; indexed
 * once per connector (domain_table: the same key and id again is a no-op). */
bool config_parse_cert_name(struct loader *ld, const config_setting_t *s,
                            const char *text, void *field)
{
    char norm[ADDR_DOMAIN_MAX];
    const char *why = "invalid certificate name";
    bool other;
    uint32_t other_id;

    if (!addr_normalize_pattern(text, norm, sizeof norm, &why))
        return config_bad_value(ld, s, text, why);
    /* Several partners may share a hosting provider's certificate. */
    if (!domain_table_add(ld->cfg->inbound_by_cert_name, norm, ld->id,
                          &other, &other_id) ||
        !config_strlist_push(ld, field, norm))
        return config_no_memory(ld, s);
    return true;
}

/* An issuer CN, kept as written (compared case-insensitively). */
bool config_parse_issuer(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field)
{
    if (!config_strlist_push(ld, field, text))
        return config_no_memory(ld, s);
    return true;
}

/* An exempt recipient address, normalised for comparison. */
static bool parse_exempt(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field)
{
    char norm[ADDR_MAX];
    const char *why = "not an address (local@domain)";

    if (!addr_normalize_address(text, norm, sizeof norm, &why))
        return config_bad_value(ld, s, text, why);
    if (!config_strlist_push(ld, field, norm))
        return config_no_memory(ld, s);
    return true;
}

#define IN(f) offsetof(struct inbound_connector, f)
const struct key config_inbound_keys[] = {
    /* First: messages about the other keys name the connector. */
    { .name = "name", .type = KEY_STRING, .offset = IN(name),
      .check = syntax_connector_name, .parse = config_store_string,
      .required = true },
    { .name = "sender_domains", .type = KEY_LIST,
      .offset = IN(sender_domains), .parse = parse_sender_domain },
    { .name = "sender_ips", .type = KEY_LIST, .offset = IN(sender_ip_count),
      .parse = parse_sender_ip },
    { .name = "require_tls", .type = KEY_BOOL, .offset = IN(require_tls),
      .dflt = "true" },
    { .name = "min_tls_version", .type = KEY_STRING,
      .offset = IN(min_tls_version), .dflt = INHERIT,
      .parse = config_parse_version },
    { .name = "min_cipher_bits", .type = KEY_INT,
      .offset = IN(min_cipher_bits), .dflt = "0", .max = MAX_CIPHER_BITS },
    { .name = "require_forward_secrecy", .type = KEY_BOOL,
      .offset = IN(require_forward_secrecy), .dflt = "false" },
    { .name = "tls_sender_certificate_names", .type = KEY_LIST,
      .offset = IN(cert_names), .parse = config_parse_cert_name },
    { .name = "certificate_issuers", .type = KEY_LIST,
      .offset = IN(cert_issuers), .check = syntax_issuer,
      .parse = config_parse_issuer },
    /* Identities (config_identity.c): or the two flat keys, not both. */
    { .name = "certificates", .type = KEY_GROUPS,
      .groups = config_load_identities },
    { .name = "action", .type = KEY_STRING, .offset = IN(action),
      .dflt = INHERIT, .parse = config_parse_action },
    { .name = "monitor_until", .type = KEY_STRING,
      .offset = IN(schedule.monitor_until), .parse = config_parse_date },
    { .name = "tempfail_until", .type = KEY_STRING,
      .offset = IN(schedule.tempfail_until), .parse = config_parse_date },
    { .name = "exempt_recipients", .type = KEY_LIST,
      .offset = IN(exempt_recipients), .parse = parse_exempt },
    { .name = "reject_text", .type = KEY_STRING, .offset = IN(reject_text),
      .check = syntax_reject_text, .parse = config_store_string },
    { .name = NULL },
};

/* The first of keys that group sets, or NULL. */
static const config_setting_t *first_set(const config_setting_t *group,
                                         const char *const *keys)
{
    for (; *keys != NULL; keys++) {
        const config_setting_t *s = config_setting_get_member(group, *keys);
        if (s != NULL)
            return s;
    }
    return NULL;
}

/* Fields of an inbound connector that do not start zero: no schedule. */
void config_inbound_init(void *connector)
{
    struct inbound_connector *c = connector;

    c->schedule.monitor_until = CONFIG_NO_START;
    c->schedule.tempfail_until = CONFIG_NO_START;
}

/* Whether some identity of c names a certificate (and so matches by it). */
static bool has_cert_names(const struct inbound_connector *c)
{
    for (size_t i = 0; i < c->identity_count; i++)
        if (c->identities[i].names.count > 0)
            return true;
    return false;
}

/* The end of the "matches nothing" message: what else to set. */
static const char *matches_nothing_hint(const config_setting_t *group,
                                        const struct inbound_connector *c)
{
    if (config_setting_get_member(group, "certificates") != NULL)
        return "names in certificates (issuers only restrict a connector"
               " that matches)";
    if (c->cert_issuers.count > 0)
        return "tls_sender_certificate_names (certificate_issuers only"
               " restricts a connector that matches)";
    return "tls_sender_certificate_names";
}

/* Inbound rules that span keys; the flat keys become one identity. */
bool config_inbound_check(struct loader *ld, const config_setting_t *group,
                          void *connector)
{
    struct inbound_connector *c = connector;
    static const char *const tls_only[] = {
        "min_tls_version", "min_cipher_bits", "require_forward_secrecy",
        "tls_sender_certificate_names", "certificate_issuers", "certificates",
        NULL,
    };
    const config_setting_t *s;

    if (!config_identities_check(ld, group, c))
        return false;
    /*
     * Issuers alone are allowed (any verified certificate from these
     * issuers), but issuers never match a connector: it still needs
     * domains, addresses or certificate names to match by.
     */
    if (c->sender_domains.count == 0 && c->sender_ip_count == 0 &&
        !has_cert_names(c))
        return config_fail(ld, group, "inbound connector \"%s\" matches nothing: set"
                    " sender_domains, sender_ips or %s", c->name,
                    matches_nothing_hint(group, c));
    if (!c->require_tls && (s = first_set(group, tls_only)) != NULL)
        return config_fail(ld, s, "%s contradicts require_tls = false",
                    config_setting_name(s));
    return config_schedule_check(ld, group, &c->schedule, c->action);
}
