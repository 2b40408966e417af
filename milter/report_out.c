/*
 * report_out.c - forcetls report's JSON object (the contract's, with the
 * extra keys lines.internal and, for unmatched domains, decisions,
 * issuers, first_seen and last_seen).
 *
 * Owns: the JSON keys and their order, and the TIME format
 * (syntax_format_utc; "" without a time). Hostile values are escaped by
 * json.c's json_string, the tool's one JSON string writer.
 * The text form is report_text.c's.
 *
 * Must not: count or change anything; print a value unescaped.
 *
 * Threads: reads an aggregate no one writes any more.
 */
#include <stdlib.h>
#include <string.h>

#include "config_syntax.h"
#include "json.h"
#include "report_out.h"

/* "key":"TIME" ("" without a time). */
static void json_time(FILE *out, const char *key, bool have, int64_t t)
{
    char buf[SYNTAX_UTC_TEXT] = "";

    if (have)
        syntax_format_utc(t, buf, sizeof buf);
    fprintf(out, ",\"%s\":\"%s\"", key, buf);
}

/* "key":{ value: count, ... } of a map, highest count first. */
static bool json_map(FILE *out, const char *key,
                     const struct report_map_table *map)
{
    size_t n;
    struct report_entry **v = report_map_sorted(map, &n);

    if (v == NULL)
        return false;
    fprintf(out, ",\"%s\":{", key);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            putc(',', out);
        json_string(out, v[i]->key);
        fprintf(out, ":%llu", (unsigned long long)v[i]->count);
    }
    putc('}', out);
    free(v);
    return true;
}

/* "decisions":{ "accept": N, "reject": N, "tempfail": N, "monitor": N } */
static void json_decisions(FILE *out, const struct report_partner *p)
{
    fprintf(out, ",\"decisions\":{\"accept\":%llu,\"reject\":%llu,"
            "\"tempfail\":%llu,\"monitor\":%llu}",
            (unsigned long long)p->decisions[RD_ACCEPT],
            (unsigned long long)p->decisions[RD_REJECT],
            (unsigned long long)p->decisions[RD_TEMPFAIL],
            (unsigned long long)p->decisions[RD_MONITOR]);
}

/* One connector's object. */
static bool json_connector(FILE *out, const struct report_partner *p)
{
    static const struct {
        const char *key;
        enum report_map map;
    } maps[] = {
        { "reasons", RM_REASONS }, { "would", RM_WOULD },
        { "tls_versions", RM_TLS }, { "ciphers", RM_CIPHERS },
        { "cert_names", RM_NAMES }, { "issuers", RM_ISSUERS },
        { "clients", RM_CLIENTS },
    };

    fputs("{\"direction\":", out);
    json_string(out, p->direction);
    fputs(",\"name\":", out);
    json_string(out, p->name);
    fprintf(out, ",\"recipients\":%llu", (unsigned long long)p->recipients);
    json_decisions(out, p);
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        if (!json_map(out, maps[i].key, &p->maps[maps[i].map]))
            return false;
    json_time(out, "first_seen", p->have_time, p->first_time);
    json_time(out, "last_seen", p->have_time, p->last_time);
    putc('}', out);
    return true;
}

/* One unmatched sender domain's object. */
static bool json_domain(FILE *out, const struct report_partner *p)
{
    fputs("{\"sender_domain\":", out);
    json_string(out, p->name);
    fprintf(out, ",\"recipients\":%llu", (unsigned long long)p->recipients);
    json_decisions(out, p);
    if (!json_map(out, "tls_versions", &p->maps[RM_TLS]) ||
        !json_map(out, "cert_names", &p->maps[RM_NAMES]) ||
        !json_map(out, "issuers", &p->maps[RM_ISSUERS]))
        return false;
    json_time(out, "first_seen", p->have_time, p->first_time);
    json_time(out, "last_seen", p->have_time, p->last_time);
    putc('}', out);
    return true;
}

/* The partners of a table as a JSON array. */
static bool json_partners(FILE *out, const char *key,
                          const struct report_partners *t, bool unmatched)
{
    struct report_partner **v = report_partners_sorted(t, unmatched);
    bool ok = v != NULL;

    fprintf(out, ",\"%s\":[", key);
    for (size_t i = 0; ok && i < t->count; i++) {
        if (i > 0)
            putc(',', out);
        ok = unmatched ? json_domain(out, v[i]) : json_connector(out, v[i]);
    }
    putc(']', out);
    free(v);
    return ok;
}

/* The JSON object; see report_out.h. */
bool report_print_json(const struct report_agg *agg, FILE *out)
{
    bool ok;

    fprintf(out, "{\"lines\":{\"read\":%llu,\"decisions\":%llu,"
            "\"skipped\":%llu,\"internal\":%llu}",
            (unsigned long long)agg->read, (unsigned long long)agg->decisions,
            (unsigned long long)agg->skipped, (unsigned long long)agg->internal);
    json_time(out, "from", agg->have_time, agg->from);
    json_time(out, "to", agg->have_time, agg->to);
    ok = json_partners(out, "connectors", &agg->connectors, false) &&
        json_partners(out, "unmatched", &agg->unmatched, true);
    fputs("}\n", out);
    return ok;
}
