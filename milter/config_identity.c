/*
 * config_identity.c - certificate identities and the dated settings of
 * forcetls.conf.
 *
 * Owns the keys of one identity of an inbound connector's certificates =
 * ( { names; issuers; valid_from; valid_until; } ... ), their loading into
 * inbound_connector.identities (in the snapshot's blocks, freed with it),
 * the flat keys tls_sender_certificate_names / certificate_issuers as one
 * identity without a window, the date values (valid_from, valid_until,
 * monitor_until, tempfail_until: syntax_utc_date) and the rules across
 * them: a window and a schedule must run forwards, an identity needs names
 * or issuers, certificates excludes the flat keys, and a schedule phase
 * that the connector's action makes pointless is an error. Identity names
 * go into inbound_by_cert_name like the flat names (config_inbound.c's
 * parser), once per distinct name per connector.
 *
 * Must not: accept anything it does not understand (every problem is an
 * error "FILE:LINE: message"); log or exit; depend on the locale or on
 * the C library's time functions (dates are config_syntax.c's).
 *
 * Thread safety: as config.c: all state is the caller's loader and snapshot.
 */
#include <stddef.h>

#include <libconfig.h>

#include "config.h"
#include "config_internal.h"
#include "config_syntax.h"

/* ---- Values ---- */

/* A UTC date into an int64_t field (seconds since the epoch). */
bool config_parse_date(struct loader *ld, const config_setting_t *s,
                       const char *text, void *field)
{
    const char *why = "not a date";

    if (!syntax_utc_date(text, field, &why))
        return config_bad_value(ld, s, text, why);
    return true;
}

/* ---- Identities ---- */

#define ID(f) offsetof(struct cert_identity, f)
const struct key config_identity_keys[] = {
    { .name = "names", .type = KEY_LIST, .offset = ID(names),
      .parse = config_parse_cert_name },
    { .name = "issuers", .type = KEY_LIST, .offset = ID(issuers),
      .check = syntax_issuer, .parse = config_parse_issuer },
    { .name = "valid_from", .type = KEY_STRING, .offset = ID(valid_from),
      .parse = config_parse_date },
    { .name = "valid_until", .type = KEY_STRING, .offset = ID(valid_until),
      .parse = config_parse_date },
    { .name = NULL },
};

/*
 * "later must be after earlier": both set, earlier's value not before
 * later's, is an error at later naming earlier's line; returns false.
 */
static bool not_after(struct loader *ld, const config_setting_t *earlier,
                      const config_setting_t *later)
{
    return config_fail(ld, later, "%s \"%s\" must be after %s \"%s\" (line %u)",
                config_setting_name(later), config_setting_get_string(later),
                config_setting_name(earlier),
                config_setting_get_string(earlier),
                config_setting_source_line(earlier));
}

/* One identity group g into *id, with its rules. */
static bool load_identity(struct loader *ld, const config_setting_t *g,
                          struct cert_identity *id)
{
    *id = (struct cert_identity){
        .valid_from = CONFIG_NO_START, .valid_until = CONFIG_NO_END,
        .line = (int)config_setting_source_line(g),
    };
    if (!config_load_group(ld, g, config_identity_keys, id))
        return false;
    if (id->names.count == 0 && id->issuers.count == 0)
        return config_fail(ld, g, "certificates: an identity needs names,"
                    " issuers or both");
    if (id->valid_from != CONFIG_NO_START && id->valid_until != CONFIG_NO_END &&
        id->valid_from >= id->valid_until)
        return not_after(ld, config_setting_get_member(g, "valid_from"),
                         config_setting_get_member(g, "valid_until"));
    return true;
}

/* certificates = ( { ... }, ... ) of the inbound connector ld->id. */
bool config_load_identities(struct loader *ld, const config_setting_t *list)
{
    struct inbound_connector *c = &ld->cfg->inbound[ld->id];
    size_t n = (size_t)config_setting_length(list);

    if (n == 0)
        return config_fail(ld, list, "certificates: must not be empty (remove"
                    " the setting instead)");
    c->identities = config_alloc(ld, n * sizeof *c->identities,
                                 _Alignof(struct cert_identity));
    if (c->identities == NULL)
        return config_no_memory(ld, list);
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            return config_fail(ld, g, "certificates: each identity must be a"
                        " group { names = [ ... ]; issuers = [ ... ]; }");
        if (!load_identity(ld, g, &c->identities[i]))
            return false;
        c->identity_count = i + 1;
    }
    return true;
}

/*
 * certificates excludes the flat keys; the flat keys alone are one
 * identity without a window (names and issuers shared with cert_names
 * and cert_issuers, whose names are indexed already).
 */
bool config_identities_check(struct loader *ld, const config_setting_t *group,
                             struct inbound_connector *c)
{
    static const char *const flat[] = {
        "tls_sender_certificate_names", "certificate_issuers",
    };
    const config_setting_t *certs = config_setting_get_member(group, "certificates");

    for (size_t i = 0; certs != NULL && i < 2; i++) {
        const config_setting_t *s = config_setting_get_member(group, flat[i]);
        if (s != NULL)
            return config_fail(ld, certs, "certificates and %s (line %u) exclude"
                        " each other: write the names and issuers as an"
                        " identity of certificates", flat[i],
                        config_setting_source_line(s));
    }
    if (certs != NULL || (c->cert_names.count == 0 && c->cert_issuers.count == 0))
        return true;
    c->identities = config_alloc(ld, sizeof *c->identities,
                                 _Alignof(struct cert_identity));
    if (c->identities == NULL)
        return config_no_memory(ld, group);
    c->identities[0] = (struct cert_identity){
        .names = c->cert_names, .issuers = c->cert_issuers,
        .valid_from = CONFIG_NO_START, .valid_until = CONFIG_NO_END,
        .line = c->line,
    };
    c->identity_count = 1;
    return true;
}

/* ---- Schedules ---- */

/*
 * monitor_until before tempfail_until; a phase whose decision is no softer
 * than the action itself has no effect, which is an error (the file would
 * promise a rollout that cannot happen).
 */
bool config_schedule_check(struct loader *ld, const config_setting_t *group,
                           const struct schedule *schedule, enum action action)
{
    const config_setting_t *mon = config_setting_get_member(group, "monitor_until");
    const config_setting_t *tmp = config_setting_get_member(group, "tempfail_until");
    const char *inherited = config_setting_get_member(group, "action") == NULL
                            ? " (the default_action)" : "";

    if (action == ACTION_MONITOR && (mon != NULL || tmp != NULL))
        return config_fail(ld, mon != NULL ? mon : tmp, "%s has no effect with"
                    " action = \"monitor\"%s", mon != NULL ? "monitor_until"
                    : "tempfail_until", inherited);
    if (action == ACTION_TEMPFAIL && tmp != NULL)
        return config_fail(ld, tmp, "tempfail_until has no effect with"
                    " action = \"tempfail\"%s", inherited);
    if (mon != NULL && tmp != NULL &&
        schedule->monitor_until >= schedule->tempfail_until)
        return not_after(ld, mon, tmp);
    return true;
}
