/*
 * report_agg.c - forcetls report's counts: decision lines into per
 * connector and per unmatched sender domain count maps.
 *
 * Owns: which line counts where (connector=none with reason=internal only
 * in "lines"; other connector=none lines under the sender's domain), the
 * --since/--until period, the open-addressing tables and the arena their
 * strings live in, and the caps that bound memory by distinct values:
 * REPORT_MAP_CAP per map, REPORT_PARTNER_CAP connectors and domains,
 * REPORT_VALUES_CAP values and ARENA_CAP bytes in all, past which new
 * values count under REPORT_OTHER.
 *
 * Must not: allocate per line (only a value not seen before is stored),
 * or trust a value: hashes are seeded per run, keys compared by length
 * and bytes. Printing is report_out.c's.
 *
 * Threads: one aggregate per thread; no global state.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "report_agg.h"
#include "text.h"

/* The directions, one pointer each (partners compare them by address). */
static const char dir_inbound[] = "inbound", dir_outbound[] = "outbound";

/* Bytes of all stored strings together. */
#define ARENA_CAP (128u * 1024 * 1024)
#define ARENA_CHUNK (1u * 1024 * 1024)

/* A chunk of string storage. */
struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    char data[];
};

struct report_arena {
    struct arena_chunk *head;
    size_t total;
};

/* A copy of s (len bytes) and a NUL in the arena; NULL when full or out of memory. */
static const char *arena_copy(struct report_arena *a, const char *s,
                              size_t len)
{
    struct arena_chunk *c = a->head;
    char *out;

    if (a->total + len + 1 > ARENA_CAP)
        return NULL;
    if (c == NULL || c->size - c->used < len + 1) {
        size_t size = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;

        c = malloc(sizeof *c + size);
        if (c == NULL)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
    }
    out = c->data + c->used;
    memcpy(out, s, len);
    out[len] = '\0';
    c->used += len + 1;
    a->total += len + 1;
    return out;
}

/* Free every chunk. */
static void arena_free(struct report_arena *a)
{
    while (a != NULL && a->head != NULL) {
        struct arena_chunk *next = a->head->next;

        free(a->head);
        a->head = next;
    }
    free(a);
}

/* A seeded hash of len bytes (8 at a time, then mixed). */
static uint32_t hash_bytes(uint64_t seed, const char *s, size_t len)
{
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

    while (len >= 8) {
        uint64_t w;

        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
        s += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t w = 0;

        memcpy(&w, s, len);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    return (uint32_t)hash_mix(h);
}

/* A new, empty aggregate. */
struct report_agg *report_agg_new(void)
{
    struct report_agg *agg = calloc(1, sizeof *agg);

    if (agg == NULL)
        return NULL;
    agg->arena = calloc(1, sizeof *agg->arena);
    if (agg->arena == NULL) {
        free(agg);
        return NULL;
    }
    agg->seed = hash_seed(agg);
    return agg;
}

/* Free the partners of a table. */
static void partners_free(struct report_partners *p)
{
    for (size_t i = 0; i < p->count; i++) {
        for (int m = 0; m < RM_COUNT; m++)
            free(p->list[i]->maps[m].slots);
        free(p->list[i]);
    }
    free(p->list);
    free(p->slots);
}

/* Free an aggregate and everything it holds. */
void report_agg_free(struct report_agg *agg)
{
    if (agg == NULL)
        return;
    partners_free(&agg->connectors);
    partners_free(&agg->unmatched);
    arena_free(agg->arena);
    free(agg);
}

/* Count a skipped line. */
void report_agg_skip(struct report_agg *agg, enum report_skip why)
{
    agg->read++;
    agg->skipped++;
    agg->skips[why]++;
}

/* ---- count maps ---- */

/* The slot of key in map (its entry, or the empty slot it would take). */
static struct report_entry *map_slot(const struct report_map_table *map,
                                     const char *key, size_t len,
                                     uint32_t hash)
{
    uint32_t mask = map->size - 1, i = hash & mask;

    for (;;) {
        struct report_entry *e = &map->slots[i];

        if (e->key == NULL ||
            (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0))
            return e;
        i = (i + 1) & mask;
    }
}

/* Double a map's slots (or make its first ones); false: out of memory. */
static bool map_grow(struct report_map_table *map)
{
    uint32_t size = map->size == 0 ? 8 : map->size * 2;
    struct report_map_table bigger = { calloc(size, sizeof(struct report_entry)),
                                       size, map->used, 0 };

    if (bigger.slots == NULL)
        return false;
    for (uint32_t i = 0; i < map->size; i++) {
        const struct report_entry *e = &map->slots[i];

        if (e->key != NULL)
            *map_slot(&bigger, e->key, e->len, e->hash) = *e;
    }
    free(map->slots);
    *map = bigger;
    return true;
}

/* Count one line's value in map; false: out of memory. */
static bool map_add(struct report_agg *agg, struct report_map_table *map,
                    const char *key, size_t len, const struct report_line *l)
{
    uint32_t hash;
    struct report_entry *e;

    if (map->size == 0 && !map_grow(map))
        return false;
    e = &map->slots[map->last];
    if (e->key != NULL && e->len == len && memcmp(e->key, key, len) == 0)
        goto count;               /* the same value as last time */
    hash = hash_bytes(agg->seed, key, len);
    e = map_slot(map, key, len, hash);
    if (e->key == NULL) {
        const char *copy = NULL;

        if (map->used < REPORT_MAP_CAP && agg->values < REPORT_VALUES_CAP)
            copy = arena_copy(agg->arena, key, len);
        if (copy == NULL) {
            /* Past a cap (or the arena's): the value counts as "(other)". */
            key = REPORT_OTHER;
            len = sizeof(REPORT_OTHER) - 1;
            hash = hash_bytes(agg->seed, key, len);
            e = map_slot(map, key, len, hash);
            copy = REPORT_OTHER;
        }
        if (e->key == NULL) {
            if ((map->used + 1) * 4 > map->size * 3) {
                if (!map_grow(map))
                    return false;
                e = map_slot(map, key, len, hash);
            }
            e->key = copy;
            e->len = (uint32_t)len;
            e->hash = hash;
            e->first_seq = agg->seq;
            e->have_time = l->have_time;
            e->first_time = e->last_time = l->time;
            map->used++;
            agg->values++;
        }
    }
    map->last = (uint32_t)(e - map->slots);
count:
    e->count++;
    if (l->have_time) {
        if (!e->have_time || l->time < e->first_time)
            e->first_time = l->time;
        if (!e->have_time || l->time > e->last_time)
            e->last_time = l->time;
        e->have_time = true;
    }
    return true;
}

/* The entry of key in map, or NULL (report_agg.h). */
const struct report_entry *report_map_find(const struct report_map_table *map,
                                           const char *key)
{
    for (uint32_t i = 0; i < map->size; i++)
        if (map->slots[i].key != NULL && strcmp(map->slots[i].key, key) == 0)
            return &map->slots[i];
    return NULL;
}

/* ---- partners ---- */

/* The slot of (direction, name) in a partner table. */
static struct report_partner **partner_slot(const struct report_partners *t,
                                            const char *direction,
                                            const char *name, size_t len,
                                            uint32_t hash)
{
    uint32_t mask = t->size - 1, i = hash & mask;

    for (;;) {
        struct report_partner **p = &t->slots[i];

        if (*p == NULL ||
            ((*p)->hash == hash && (*p)->name_len == len &&
             (*p)->direction == direction && memcmp((*p)->name, name, len) == 0))
            return p;
        i = (i + 1) & mask;
    }
}

/* Double a partner table's slots; false: out of memory. */
static bool partners_grow(struct report_partners *t)
{
    uint32_t size = t->size == 0 ? 64 : t->size * 2;
    struct report_partner **slots = calloc(size, sizeof *slots);
    struct report_partners bigger = { slots, size, t->used, t->list, t->count };

    if (slots == NULL)
        return false;
    for (size_t i = 0; i < t->count; i++) {
        struct report_partner *p = t->list[i];

        *partner_slot(&bigger, p->direction, p->name, p->name_len, p->hash) = p;
    }
    free(t->slots);
    *t = bigger;
    return true;
}

/*
 * The partner (direction, name), made when new; past REPORT_PARTNER_CAP
 * the partner REPORT_OTHER of that direction. NULL: out of memory.
 */
static struct report_partner *partner_get(struct report_agg *agg,
                                          struct report_partners *t,
                                          const char *direction,
                                          const char *name, size_t len)
{
    uint32_t hash = hash_bytes(agg->seed, name, len);
    struct report_partner **slot, *p, **list;
    const char *copy = NULL;

    if (t->size == 0 && !partners_grow(t))
        return NULL;
    slot = partner_slot(t, direction, name, len, hash);
    if (*slot != NULL)
        return *slot;
    if (t->count < REPORT_PARTNER_CAP)
        copy = arena_copy(agg->arena, name, len);
    if (copy == NULL) {
        name = copy = REPORT_OTHER;
        len = sizeof(REPORT_OTHER) - 1;
        hash = hash_bytes(agg->seed, name, len);
        slot = partner_slot(t, direction, name, len, hash);
        if (*slot != NULL)
            return *slot;
    }
    if ((t->used + 1) * 2 > t->size) {
        if (!partners_grow(t))
            return NULL;
        slot = partner_slot(t, direction, name, len, hash);
    }
    if ((t->count & (t->count - 1)) == 0) {
        /* count is 0 or a power of two: the list is full */
        list = realloc(t->list, (t->count < 8 ? 16 : t->count * 2) * sizeof *list);
        if (list == NULL)
            return NULL;
        t->list = list;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->direction = direction;
    p->name = copy;
    p->name_len = (uint32_t)len;
    p->hash = hash;
    p->first_seq = agg->seq;
    t->list[t->count++] = p;
    t->used++;
    *slot = p;
    return p;
}

/* ---- words ---- */

/* The decision index of a decision= value, or RD_COUNT. */
enum report_decision report_decision_of(const char *value)
{
    static const char *const names[RD_COUNT] = {
        [RD_ACCEPT] = "accept", [RD_REJECT] = "reject",
        [RD_TEMPFAIL] = "tempfail", [RD_MONITOR] = "monitor",
    };

    for (int d = 0; d < RD_COUNT; d++)
        if (strcmp(value, names[d]) == 0)
            return (enum report_decision)d;
    return RD_COUNT;
}

/* TLS older than 1.2: TLSv1, TLSv1.1 and every version not known. */
bool report_tls_old(const char *version)
{
    return strcmp(version, "none") != 0 && strcmp(version, "TLSv1.2") != 0 &&
        strcmp(version, "TLSv1.3") != 0;
}

/*
 * The domain of a sender= value ("<a@B.example>" -> "b.example"; the null
 * sender, none and a path without '@' -> ""), lower case, into out
 * (at least len + 1 and 6 bytes); its length. A path the daemon cut (it
 * ends in "..." where its '>' should be) has lost its domain, or part of
 * it: "(cut)", never "" (the null sender) nor a domain cut short.
 */
static size_t sender_domain(const char *s, size_t len, char *out)
{
    const char *at = NULL;
    size_t n = 0;

    if (len >= 3 && memcmp(s + len - 3, "...", 3) == 0) {
        memcpy(out, REPORT_CUT_DOMAIN, sizeof(REPORT_CUT_DOMAIN));
        return sizeof(REPORT_CUT_DOMAIN) - 1;
    }

    if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
        s++;
        len -= 2;
    }
    for (size_t i = 0; i < len; i++)
        if (s[i] == '@')
            at = s + i;
    if (at != NULL) {
        for (const char *p = at + 1; p < s + len; p++)
            out[n++] = text_ascii_lower(*p);
        if (n > 1 && out[n - 1] == '.')
            n--;
    }
    out[n] = '\0';
    return n;
}

/* ---- counting ---- */

/* Count a line's value of field f in map m (when the line has it). */
static bool count_field(struct report_agg *agg, struct report_partner *p,
                        enum report_map m, const struct report_line *l,
                        enum report_field f)
{
    if (l->value[f] == NULL)
        return true;
    return map_add(agg, &p->maps[m], l->value[f], l->len[f], l);
}

/* Count a decision line for partner p (a connector unless unmatched). */
static bool count_partner(struct report_agg *agg, struct report_partner *p,
                          const struct report_line *l, enum report_decision d,
                          bool unmatched)
{
    const char *cert = l->value[RF_CERT], *tls = l->value[RF_TLS];
    bool ok = true;

    p->recipients++;
    p->decisions[d]++;
    if (cert != NULL && strcmp(cert, "none") != 0) {
        if (p->verified++ == 0)
            p->first_cert_seq = agg->seq;
        /* The earliest, not the first read: inputs come in any order. */
        if (l->have_time &&
            (!p->have_cert_time || l->time < p->first_cert_time)) {
            p->have_cert_time = true;
            p->first_cert_time = l->time;
        }
    }
    if (tls != NULL && report_tls_old(tls))
        p->old_tls++;
    if (l->have_time) {
        if (!p->have_time || l->time < p->first_time)
            p->first_time = l->time;
        if (!p->have_time || l->time > p->last_time)
            p->last_time = l->time;
        p->have_time = true;
    }
    ok = ok && count_field(agg, p, RM_TLS, l, RF_TLS);
    ok = ok && count_field(agg, p, RM_NAMES, l, RF_CERT);
    ok = ok && count_field(agg, p, RM_ISSUERS, l, RF_ISSUER);
    if (unmatched)
        return ok;
    ok = ok && count_field(agg, p, RM_REASONS, l, RF_REASON);
    ok = ok && count_field(agg, p, RM_WOULD, l, RF_WOULD);
    ok = ok && count_field(agg, p, RM_CIPHERS, l, RF_CIPHER);
    ok = ok && count_field(agg, p, RM_CLIENTS, l, RF_CLIENT);
    if (d == RD_MONITOR) {
        ok = ok && count_field(agg, p, RM_MONITOR, l, RF_REASON);
        ok = ok && count_field(agg, p, RM_MONITOR_WOULD, l, RF_WOULD);
    }
    return ok;
}

/* Count one decision line; see report_agg.h. */
bool report_agg_add(struct report_agg *agg, const struct report_line *l)
{
    const char *dir = l->value[RF_DIRECTION], *conn = l->value[RF_CONNECTOR];
    enum report_decision d = report_decision_of(l->value[RF_DECISION]);
    struct report_partner *p;

    if (d == RD_COUNT) {
        report_agg_skip(agg, RS_MALFORMED);
        return true;
    }
    if (agg->have_since || agg->have_until) {
        if (!l->have_time) {
            report_agg_skip(agg, RS_NO_TIME);
            return true;
        }
        if ((agg->have_since && l->time < agg->since) ||
            (agg->have_until && l->time >= agg->until)) {
            report_agg_skip(agg, RS_PERIOD);
            return true;
        }
    }
    if (strcmp(conn, "none") != 0) {
        if (strcmp(dir, dir_inbound) == 0)
            dir = dir_inbound;
        else if (strcmp(dir, dir_outbound) == 0)
            dir = dir_outbound;
        else {
            report_agg_skip(agg, RS_MALFORMED);
            return true;
        }
    }
    agg->read++;
    agg->decisions++;
    agg->seq++;
    if (l->have_time) {
        if (!agg->have_time || l->time < agg->from)
            agg->from = l->time;
        if (!agg->have_time || l->time > agg->to)
            agg->to = l->time;
        agg->have_time = true;
    }
    if (strcmp(conn, "none") == 0) {
        char domain[REPORT_LINE_MAX + 1];
        size_t n;

        if (strcmp(l->value[RF_REASON], "internal") == 0) {
            agg->internal++;
            return true;
        }
        n = l->value[RF_SENDER] == NULL ? 0 :
            sender_domain(l->value[RF_SENDER], l->len[RF_SENDER], domain);
        domain[n] = '\0';
        p = partner_get(agg, &agg->unmatched, NULL, domain, n);
        return p != NULL && count_partner(agg, p, l, d, true);
    }
    p = partner_get(agg, &agg->connectors, dir, conn, l->len[RF_CONNECTOR]);
    return p != NULL && count_partner(agg, p, l, d, false);
}

/* Read and count one line; see report_agg.h. */
bool report_agg_line(struct report_agg *agg, const char *line, size_t len,
                     int64_t now, char *scratch, size_t scratchsz)
{
    struct report_line l;

    switch (report_line_parse(line, len, now, &l, scratch, scratchsz)) {
    case REPORT_LINE_DECISION:
        return report_agg_add(agg, &l);
    case REPORT_LINE_FOREIGN:
        report_agg_skip(agg, RS_FOREIGN);
        return true;
    case REPORT_LINE_OTHER:
        report_agg_skip(agg, RS_OTHER);
        return true;
    case REPORT_LINE_MALFORMED:
        report_agg_skip(agg, RS_MALFORMED);
        return true;
    case REPORT_LINE_TOO_LONG:
        report_agg_skip(agg, RS_TOO_LONG);
        return true;
    }
    return true;
}

/* ---- sorting for the printers ---- */

/* Highest count first, then key bytes; "(other)" last. */
static int entry_cmp(const void *a, const void *b)
{
    const struct report_entry *x = *(const struct report_entry *const *)a;
    const struct report_entry *y = *(const struct report_entry *const *)b;
    bool xo = strcmp(x->key, REPORT_OTHER) == 0;
    bool yo = strcmp(y->key, REPORT_OTHER) == 0;

    if (xo != yo)
        return xo ? 1 : -1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* The entries of a map, sorted; see report_agg.h. */
struct report_entry **report_map_sorted(const struct report_map_table *map,
                                        size_t *count)
{
    struct report_entry **v = malloc((map->used + 1) * sizeof *v);
    size_t n = 0;

    *count = 0;
    if (v == NULL)
        return NULL;
    for (uint32_t i = 0; i < map->size; i++)
        if (map->slots[i].key != NULL)
            v[n++] = &map->slots[i];
    qsort(v, n, sizeof *v, entry_cmp);
    *count = n;
    return v;
}

/* Connectors: inbound before outbound, then by name. */
static int connector_cmp(const void *a, const void *b)
{
    const struct report_partner *x = *(const struct report_partner *const *)a;
    const struct report_partner *y = *(const struct report_partner *const *)b;
    int c = strcmp(x->direction, y->direction);

    return c != 0 ? c : strcmp(x->name, y->name);
}

/* Domains: most recipients first, then by name. */
static int domain_cmp(const void *a, const void *b)
{
    const struct report_partner *x = *(const struct report_partner *const *)a;
    const struct report_partner *y = *(const struct report_partner *const *)b;

    if (x->recipients != y->recipients)
        return x->recipients > y->recipients ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The partners sorted for printing; see report_agg.h. */
struct report_partner **report_partners_sorted(const struct report_partners *p,
                                               bool by_recipients)
{
    struct report_partner **v = malloc((p->count + 1) * sizeof *v);

    if (v == NULL)
        return NULL;
    if (p->count > 0)
        memcpy(v, p->list, p->count * sizeof *v);
    qsort(v, p->count, sizeof *v, by_recipients ? domain_cmp : connector_cmp);
    return v;
}
