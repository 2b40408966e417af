/*
 * report_text.c - forcetls report's text form: a summary of the lines, the
 * call-outs, a block per connector and the table of unmatched domains.
 *
 * Owns: the words and layout of the text form and the call-outs: TLS older
 * than 1.2, monitor-mode failures that would be refused, certificate names
 * and issuers a connector's configuration does not list (-c: compared with
 * its identities and their windows) or not seen before (without -c: first
 * seen after the connector's first line), and unmatched domains that
 * always come with a verified certificate.
 *
 * Must not: print a value other than through log_value (one row is one
 * line, whatever the log held), or count anything.
 *
 * Threads: reads an aggregate and a configuration no one writes.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config_syntax.h"
#include "log.h"
#include "policy.h"
#include "report_out.h"

/* A value as log_value writes it: plain, or quoted and escaped. */
static void put_value(FILE *out, const char *s)
{
    char esc[LOG_VALUE_BUF];

    log_value(s, esc, sizeof esc);
    fputs(esc, out);
}

/* A sender domain for the text form: the null sender as <>. */
static void put_domain(FILE *out, const char *domain)
{
    if (*domain == '\0')
        fputs("<>", out);
    else
        put_value(out, domain);
}

/* TIME, or "-" without one. */
static const char *when(bool have, int64_t t, char buf[SYNTAX_UTC_TEXT])
{
    if (!have)
        return "-";
    syntax_format_utc(t, buf, SYNTAX_UTC_TEXT);
    return buf;
}

/* "recipient" or "recipients" for a count. */
static const char *recipients(uint64_t n)
{
    return n == 1 ? "recipient" : "recipients";
}

/* "inbound connector NAME" or "unmatched domain NAME". */
static void put_partner(FILE *out, const struct report_partner *p)
{
    if (p->direction != NULL) {
        fprintf(out, "%s connector ", p->direction);
        put_value(out, p->name);
    } else {
        fputs("unmatched domain ", out);
        put_domain(out, p->name);
    }
}

/* "value N, value N, ... (and N more)" of a map; filter: keys to show. */
static bool put_map(FILE *out, const struct report_map_table *map,
                    bool (*filter)(const char *key))
{
    size_t n, shown = 0, more = 0;
    struct report_entry **v = report_map_sorted(map, &n);

    if (v == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (filter != NULL && !filter(v[i]->key))
            continue;
        if (shown == REPORT_TEXT_ITEMS) {
            more++;
            continue;
        }
        fputs(shown++ > 0 ? ", " : "", out);
        put_value(out, v[i]->key);
        fprintf(out, " %llu", (unsigned long long)v[i]->count);
    }
    if (shown == 0)
        fputs("-", out);
    if (more > 0)
        fprintf(out, " (and %zu more: --json lists all)", more);
    free(v);
    return true;
}

/* Keys of the TLS older than 1.2 (report_tls_old), "(other)" aside. */
static bool old_tls_key(const char *key)
{
    return report_tls_old(key) && strcmp(key, REPORT_OTHER) != 0;
}

/* ---- call-outs ---- */

/* Partners with recipients over TLS older than 1.2. */
static bool callout_old_tls(FILE *out, struct report_partner **v, size_t n,
                            bool *any)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i]->old_tls == 0)
            continue;
        if (!*any)
            fputs("  Partners still on TLS older than 1.2:\n", out);
        *any = true;
        fputs("    ", out);
        put_partner(out, v[i]);
        fprintf(out, ": %llu of %llu recipients (",
                (unsigned long long)v[i]->old_tls,
                (unsigned long long)v[i]->recipients);
        if (!put_map(out, &v[i]->maps[RM_TLS], old_tls_key))
            return false;
        fputs(")\n", out);
    }
    return true;
}

/* The total of a map's counts. */
static uint64_t map_total(const struct report_map_table *map)
{
    uint64_t n = 0;

    for (uint32_t i = 0; i < map->size; i++)
        n += map->slots[i].key != NULL ? map->slots[i].count : 0;
    return n;
}

/* Connectors whose monitor-mode failures would be refused, by reason. */
static bool callout_monitor(FILE *out, struct report_partner **v, size_t n,
                            bool *shown)
{
    bool any = false;

    for (size_t i = 0; i < n; i++) {
        const struct report_partner *p = v[i];
        uint64_t softened = map_total(&p->maps[RM_MONITOR_WOULD]);

        if (p->decisions[RD_MONITOR] == 0)
            continue;
        if (!any)
            fputs("  Monitor-mode failures that would be refused:\n", out);
        any = true;
        fputs("    ", out);
        put_partner(out, p);
        fprintf(out, ": %llu %s accepted only because of monitor mode (",
                (unsigned long long)p->decisions[RD_MONITOR],
                recipients(p->decisions[RD_MONITOR]));
        if (softened > 0) {
            fputs("until its schedule ends; then ", out);
            if (!put_map(out, &p->maps[RM_MONITOR_WOULD], NULL))
                return false;
        }
        if (p->decisions[RD_MONITOR] > softened)
            fprintf(out, "%saction monitor %llu", softened > 0 ? "; " : "",
                    (unsigned long long)(p->decisions[RD_MONITOR] - softened));
        fputs("); reasons: ", out);
        if (!put_map(out, &p->maps[RM_MONITOR], NULL))
            return false;
        fputs("\n", out);
    }
    *shown = *shown || any;
    return true;
}

/* A value that names no certificate: none, or the cap's bucket. */
static bool no_cert(const char *key)
{
    return strcmp(key, "none") == 0 || strcmp(key, REPORT_OTHER) == 0;
}

/* Does identity id list the value (a CN when names, else an issuer)? */
static bool identity_lists(const struct cert_identity *id, const char *value,
                           bool names)
{
    char cn[ADDR_DOMAIN_MAX];

    if (!names)
        return policy_identity_accepts_issuer(id, value);
    if (id->names.count == 0)
        return true;
    if (!addr_normalize_domain(value, strlen(value), cn, sizeof cn, NULL))
        return false;
    for (size_t i = 0; i < id->names.count; i++)
        if (policy_cert_name_matches(id->names.items[i], cn))
            return true;
    return false;
}

/* "line L (valid from T until T)" of an identity: its place and window. */
static void put_identity(FILE *out, const struct cert_identity *id)
{
    char a[SYNTAX_UTC_TEXT], b[SYNTAX_UTC_TEXT];
    bool from = id->valid_from != CONFIG_NO_START;
    bool until = id->valid_until != CONFIG_NO_END;

    fprintf(out, "line %d (", id->line);
    if (from)
        fprintf(out, "valid from %s", when(true, id->valid_from, a));
    if (until)
        fprintf(out, "%svalid until %s", from ? " " : "",
                when(true, id->valid_until, b));
    fputs(from || until ? ")" : "no window)", out);
}

/* One seen name or issuer compared with the connector's identities. */
static void compare_value(FILE *out, const struct report_partner *p,
                          const struct inbound_connector *c,
                          const struct report_entry *e, bool names, bool *any)
{
    const char *what = names ? "certificate name" : "issuer";
    bool listed = false, windowed = false;
    char t[SYNTAX_UTC_TEXT];

    for (size_t i = 0; i < c->identity_count; i++) {
        const struct cert_identity *id = &c->identities[i];

        if (!identity_lists(id, e->key, names))
            continue;
        listed = true;
        windowed = windowed || id->valid_from != CONFIG_NO_START ||
            id->valid_until != CONFIG_NO_END;
    }
    if (listed && !windowed)
        return;
    if (!*any)
        fputs("  Certificate names and issuers against the configuration:\n",
              out);
    *any = true;
    fputs("    ", out);
    put_partner(out, p);
    fprintf(out, ": %s ", what);
    put_value(out, e->key);
    fprintf(out, " (%llu %s, first seen %s", (unsigned long long)e->count,
            recipients(e->count), when(e->have_time, e->first_time, t));
    fprintf(out, ", last seen %s): ", when(e->have_time, e->last_time, t));
    fputs(listed ? "a rotation in progress: listed by the identities of "
                 : "not listed by any identity (the connector's: ", out);
    for (size_t i = 0, k = 0; i < c->identity_count; i++) {
        const struct cert_identity *id = &c->identities[i];

        if (listed && !identity_lists(id, e->key, names))
            continue;
        fputs(k++ > 0 ? ", " : "", out);
        put_identity(out, id);
    }
    fputs(listed ? "\n" : ")\n", out);
}

/* The inbound connector of the configuration named name, or NULL. */
static const struct inbound_connector *
find_inbound(const struct config *config, const char *name)
{
    for (size_t i = 0; i < config->inbound_count; i++)
        if (strcmp(config->inbound[i].name, name) == 0)
            return &config->inbound[i];
    return NULL;
}

/* Is a connector (direction, name) in the configuration? */
static bool configured(const struct config *config,
                       const struct report_partner *p)
{
    if (strcmp(p->direction, "inbound") == 0)
        return find_inbound(config, p->name) != NULL;
    for (size_t i = 0; i < config->outbound_count; i++)
        if (strcmp(config->outbound[i].name, p->name) == 0)
            return true;
    return false;
}

/*
 * Was e first seen after p's first line with a certificate? By time when
 * both have one (inputs may come newest first: mail.log before
 * mail.log.1), else in the order the lines were read.
 */
static bool seen_later(const struct report_partner *p,
                       const struct report_entry *e)
{
    if (e->have_time && p->have_cert_time)
        return e->first_time > p->first_cert_time;
    return e->first_seq > p->first_cert_seq;
}

/* Names and issuers against the configuration (-c), or not seen before. */
static bool callout_certs(FILE *out, struct report_partner **v, size_t n,
                          const struct config *config, bool *shown)
{
    bool any = false;
    char t[SYNTAX_UTC_TEXT];

    for (size_t i = 0; i < n; i++) {
        const struct report_partner *p = v[i];
        const struct inbound_connector *c = NULL;

        if (config != NULL && !configured(config, p)) {
            if (!any)
                fputs("  Certificate names and issuers against the"
                      " configuration:\n", out);
            any = true;
            fputs("    ", out);
            put_partner(out, p);
            fputs(": not in the configuration\n", out);
            continue;
        }
        if (config != NULL) {
            c = strcmp(p->direction, "inbound") == 0 ?
                find_inbound(config, p->name) : NULL;
            if (c == NULL || c->identity_count == 0)
                continue;
        }
        for (int m = RM_NAMES; m <= RM_ISSUERS; m++) {
            size_t k;
            struct report_entry **e = report_map_sorted(&p->maps[m], &k);

            if (e == NULL)
                return false;
            for (size_t j = 0; j < k; j++) {
                if (no_cert(e[j]->key))
                    continue;
                if (c != NULL) {
                    compare_value(out, p, c, e[j], m == RM_NAMES, &any);
                    continue;
                }
                if (!seen_later(p, e[j]))
                    continue;
                if (!any)
                    fputs("  Certificate names and issuers not seen before"
                          " (first seen after the connector's first line with"
                          " a certificate):\n", out);
                any = true;
                fputs("    ", out);
                put_partner(out, p);
                fprintf(out, ": %s ", m == RM_NAMES ? "certificate name" : "issuer");
                put_value(out, e[j]->key);
                fprintf(out, " first seen %s", when(e[j]->have_time,
                                                    e[j]->first_time, t));
                fprintf(out, " (the connector's first certificate: %s), %llu"
                        " %s\n", when(p->have_cert_time, p->first_cert_time, t),
                        (unsigned long long)e[j]->count, recipients(e[j]->count));
            }
            free(e);
        }
    }
    *shown = *shown || any;
    return true;
}

/* Unmatched domains whose every line had a verified certificate. */
static bool callout_candidates(FILE *out, struct report_partner **v, size_t n,
                               bool *shown)
{
    bool any = false;

    for (size_t i = 0; i < n; i++) {
        if (v[i]->recipients == 0 || v[i]->verified != v[i]->recipients ||
            strcmp(v[i]->name, REPORT_OTHER) == 0)
            continue;
        if (!any)
            fputs("  Unmatched domains always arriving with a verified"
                  " certificate (candidates for a connector):\n", out);
        any = true;
        fputs("    ", out);
        put_domain(out, v[i]->name);
        fprintf(out, ": %llu %s; cert names: ",
                (unsigned long long)v[i]->recipients,
                recipients(v[i]->recipients));
        if (!put_map(out, &v[i]->maps[RM_NAMES], NULL))
            return false;
        fputs("; issuers: ", out);
        if (!put_map(out, &v[i]->maps[RM_ISSUERS], NULL))
            return false;
        fputs("; TLS: ", out);
        if (!put_map(out, &v[i]->maps[RM_TLS], NULL))
            return false;
        fputs("\n", out);
    }
    *shown = *shown || any;
    return true;
}

/* ---- tables ---- */

/* One connector's block. */
static bool connector_block(FILE *out, const struct report_partner *p)
{
    static const struct {
        const char *label;
        enum report_map map;
    } rows[] = {
        { "reasons", RM_REASONS }, { "would", RM_WOULD },
        { "TLS versions", RM_TLS }, { "ciphers", RM_CIPHERS },
        { "cert names", RM_NAMES }, { "issuers", RM_ISSUERS },
        { "clients", RM_CLIENTS },
    };
    char a[SYNTAX_UTC_TEXT], b[SYNTAX_UTC_TEXT];

    fputs("\n", out);
    put_partner(out, p);
    fprintf(out, "\n  %-13s %llu\n", "recipients",
            (unsigned long long)p->recipients);
    fprintf(out, "  %-13s accept %llu, reject %llu, tempfail %llu, monitor %llu\n",
            "decisions", (unsigned long long)p->decisions[RD_ACCEPT],
            (unsigned long long)p->decisions[RD_REJECT],
            (unsigned long long)p->decisions[RD_TEMPFAIL],
            (unsigned long long)p->decisions[RD_MONITOR]);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fprintf(out, "  %-13s ", rows[i].label);
        if (!put_map(out, &p->maps[rows[i].map], NULL))
            return false;
        fputs("\n", out);
    }
    fprintf(out, "  %-13s %s\n  %-13s %s\n", "first seen",
            when(p->have_time, p->first_time, a), "last seen",
            when(p->have_time, p->last_time, b));
    return true;
}

/* The table of unmatched sender domains. */
static bool domain_table(FILE *out, struct report_partner **v, size_t n)
{
    if (n == 0)
        return true;
    fputs("\nUnmatched sender domains (log_all)\n", out);
    for (size_t i = 0; i < n; i++) {
        fputs("  ", out);
        put_domain(out, v[i]->name);
        fprintf(out, "\n    recipients %llu; TLS versions ",
                (unsigned long long)v[i]->recipients);
        if (!put_map(out, &v[i]->maps[RM_TLS], NULL))
            return false;
        fputs("; cert names ", out);
        if (!put_map(out, &v[i]->maps[RM_NAMES], NULL))
            return false;
        fputs("\n", out);
    }
    return true;
}

/* The summary of the lines read. */
static void summary(FILE *out, const struct report_agg *agg)
{
    char a[SYNTAX_UTC_TEXT], b[SYNTAX_UTC_TEXT];
    static const char *const why[RS_COUNT] = {
        [RS_FOREIGN] = "from other programs",
        [RS_OTHER] = "not decision lines",
        [RS_MALFORMED] = "cut or malformed decision lines",
        [RS_TOO_LONG] = "longer than 64 KiB",
        [RS_PERIOD] = "outside --since/--until",
        [RS_NO_TIME] = "without a timestamp (--since/--until cannot judge them)",
    };

    fprintf(out, "Lines: %llu read, %llu decisions (%llu internal, counted"
            " nowhere else), %llu skipped\n",
            (unsigned long long)agg->read, (unsigned long long)agg->decisions,
            (unsigned long long)agg->internal, (unsigned long long)agg->skipped);
    for (int i = 0; i < RS_COUNT; i++)
        if (agg->skips[i] > 0)
            fprintf(out, "  skipped: %llu %s\n",
                    (unsigned long long)agg->skips[i], why[i]);
    fprintf(out, "Period: %s to %s\n", when(agg->have_time, agg->from, a),
            when(agg->have_time, agg->to, b));
}

/* The text form; see report_out.h. */
bool report_print_text(const struct report_agg *agg,
                       const struct config *config, FILE *out)
{
    struct report_partner **conns = report_partners_sorted(&agg->connectors, false);
    struct report_partner **doms = report_partners_sorted(&agg->unmatched, true);
    size_t nc = agg->connectors.count, nd = agg->unmatched.count;
    bool ok = conns != NULL && doms != NULL, old = false, shown = false;

    summary(out, agg);
    if (ok) {
        fputs("\nCall-outs\n", out);
        ok = callout_old_tls(out, conns, nc, &old) &&
            callout_old_tls(out, doms, nd, &old) &&
            callout_monitor(out, conns, nc, &shown) &&
            callout_certs(out, conns, nc, config, &shown) &&
            callout_candidates(out, doms, nd, &shown);
        if (ok && !old && !shown)
            fputs("  none\n", out);
    }
    if (ok && nc > 0)
        fputs("\nConnectors\n", out);
    for (size_t i = 0; ok && i < nc; i++)
        ok = connector_block(out, conns[i]);
    ok = ok && domain_table(out, doms, nd);
    free(conns);
    free(doms);
    return ok;
}
