/*
 * domain_table.c - name -> connector-id lookups whose cost does not grow
 * with the number of connectors.
 *
 * An open-addressing hash table (linear probing, power-of-two size, load
 * kept under 70%) from normalised names and "*." patterns to small
 * deduplicated lists of ids. The hash is 64-bit FNV-1a started from a
 * per-table random seed (getrandom) and finished with a multiply-xorshift,
 * so probe sequences are not predictable from outside.
 *
 * Keys are copied into large blocks owned by the table (keys are never
 * removed), so 300,000 keys cost a few allocations, not 300,000, to build
 * and to free.
 *
 * It must not allocate, lock or copy on lookup: wildcard probes hash and
 * compare "*." and the parent suffix in place, and deduplication scans the
 * id lists already found. It does not normalise names; callers pass the
 * output of addr.c.
 *
 * Thread safety: built by one thread while loading a configuration, then
 * only read; reads touch no shared mutable state, so any number of threads
 * may look up concurrently without locks.
 */

#include <stdlib.h>
#include <string.h>

#include "domain_table.h"
#include "hash.h"

#define INITIAL_SLOTS 16
/* Keys are copied into blocks of this many bytes (a longer key: its own). */
#define KEY_BLOCK 65536
/* Labels in a 253-octet name: at most 127, so this many probes at most. */
#define MAX_PROBES 130
#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/*
 * One key and its ids; key == NULL marks an empty slot. 32 bytes, two to a
 * cache line: most keys have one id, kept in the slot itself.
 */
struct slot {
    char *key;
    uint64_t hash;
    uint32_t keylen;
    uint32_t nids;
    union {
        uint32_t one;      /* nids < 2: the id */
        uint32_t *many;    /* nids >= 2: MANY_CAP, MANY_MAX, then the ids */
    } u;
};
/* The header of a many array: its capacity in ids, and the largest id. */
#define MANY_CAP 0
#define MANY_MAX 1
#define MANY_IDS 2

/* A block of key copies; the table frees the blocks, never single keys. */
struct key_block {
    struct key_block *next;
    size_t used, size;
    char bytes[];
};

struct domain_table {
    struct slot *slots;
    size_t nslots;     /* a power of two */
    size_t count;
    uint64_t seed;
    struct key_block *blocks;  /* the newest first */
};

/* Feed len bytes of s into an FNV-1a state. */
static uint64_t
fnv_feed(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* Hash of the key prefix + s[0..len) (prefix may be ""). */
static uint64_t
key_hash(const struct domain_table *t, const char *prefix, size_t plen,
         const char *s, size_t len)
{
    uint64_t h = FNV_BASIS ^ t->seed;

    h = fnv_feed(h, prefix, plen);
    h = fnv_feed(h, s, len);
    return hash_mix(h);
}

/* The ids of a slot as one array. */
static const uint32_t *
slot_ids(const struct slot *s)
{
    return s->nids >= 2 ? s->u.many + MANY_IDS : &s->u.one;
}

/* Create an empty table. */
struct domain_table *
domain_table_new(void)
{
    struct domain_table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->slots = calloc(INITIAL_SLOTS, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    t->nslots = INITIAL_SLOTS;
    t->seed = hash_seed(t);
    return t;
}

/* Free a table and every key and id list in it. */
void
domain_table_free(struct domain_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots[i].nids >= 2)
            free(t->slots[i].u.many);
    while (t->blocks != NULL) {
        struct key_block *next = t->blocks->next;
        free(t->blocks);
        t->blocks = next;
    }
    free(t->slots);
    free(t);
}

/*
 * Find the slot holding prefix + s[0..len), or the empty slot where it
 * would go. The table is never full, so the probe ends.
 */
static struct slot *
find_slot(const struct domain_table *t, uint64_t h, const char *prefix,
          size_t plen, const char *s, size_t len)
{
    size_t mask = t->nslots - 1;

    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct slot *sl = &t->slots[i];
        if (sl->key == NULL)
            return sl;
        if (sl->hash == h && sl->keylen == plen + len &&
            memcmp(sl->key, prefix, plen) == 0 &&
            memcmp(sl->key + plen, s, len) == 0)
            return sl;
    }
}

/* A copy of key[0..len) and a NUL in the table's blocks, or NULL. */
static char *
copy_key(struct domain_table *t, const char *key, size_t len)
{
    struct key_block *b = t->blocks;
    char *copy;

    if (b == NULL || b->size - b->used < len + 1) {
        size_t size = len + 1 > KEY_BLOCK ? len + 1 : KEY_BLOCK;
        if ((b = malloc(sizeof(*b) + size)) == NULL)
            return NULL;
        b->used = 0;
        b->size = size;
        b->next = t->blocks;
        t->blocks = b;
    }
    copy = b->bytes + b->used;
    memcpy(copy, key, len);
    copy[len] = '\0';
    b->used += len + 1;
    return copy;
}

/* Double the slot array and re-place every key. */
static bool
grow(struct domain_table *t)
{
    size_t n = t->nslots * 2, mask = n - 1;
    struct slot *slots = calloc(n, sizeof(*slots));

    if (slots == NULL)
        return false;
    for (size_t i = 0; i < t->nslots; i++) {
        struct slot *old = &t->slots[i];
        size_t j;
        if (old->key == NULL)
            continue;
        for (j = (size_t)old->hash & mask; slots[j].key != NULL;
             j = (j + 1) & mask)
            ;
        slots[j] = *old;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return true;
}

/* True when id is already in the slot's list. */
static bool
slot_has(const struct slot *s, uint32_t id)
{
    const uint32_t *ids = slot_ids(s);

    /* Ids usually arrive in increasing order: the common case is O(1). */
    if (s->nids == 0 || id > (s->nids >= 2 ? s->u.many[MANY_MAX] : s->u.one))
        return false;
    for (uint32_t i = 0; i < s->nids; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* Append id to a slot's list. */
static bool
slot_push(struct slot *s, uint32_t id)
{
    uint32_t *m;

    if (s->nids == 0) {
        s->u.one = id;
        s->nids = 1;
        return true;
    }
    if (s->nids == 1) {
        if ((m = malloc((MANY_IDS + 4) * sizeof(*m))) == NULL)
            return false;
        m[MANY_CAP] = 4;
        m[MANY_MAX] = s->u.one;
        m[MANY_IDS] = s->u.one;
        s->u.many = m;
    } else if (s->nids == s->u.many[MANY_CAP]) {
        uint32_t cap = s->nids * 2;
        if (cap <= s->nids || cap > UINT32_MAX - MANY_IDS)
            return false;
        m = realloc(s->u.many, ((size_t)MANY_IDS + cap) * sizeof(*m));
        if (m == NULL)
            return false;
        m[MANY_CAP] = cap;
        s->u.many = m;
    }
    m = s->u.many;
    m[MANY_IDS + s->nids++] = id;
    if (id > m[MANY_MAX])
        m[MANY_MAX] = id;
    return true;
}

/* Report the first id of s other than id through the optional outputs. */
static void
report_other(const struct slot *s, uint32_t id, bool *had_other,
             uint32_t *other_id)
{
    const uint32_t *ids = slot_ids(s);

    for (uint32_t i = 0; i < s->nids; i++) {
        if (ids[i] != id) {
            if (had_other != NULL)
                *had_other = true;
            if (other_id != NULL)
                *other_id = ids[i];
            return;
        }
    }
}

/* Add id under key, saying whether it was there (see domain_table.h). */
bool
domain_table_insert(struct domain_table *t, const char *key, uint32_t id,
                    bool *had_id, bool *had_other, uint32_t *other_id)
{
    size_t len;
    uint64_t h;
    struct slot *s;

    if (had_other != NULL)
        *had_other = false;
    if (had_id != NULL)
        *had_id = false;
    if (t == NULL || key == NULL)
        return false;
    if ((t->count + 1) * 10 > t->nslots * 7 && !grow(t))
        return false;
    if ((len = strlen(key)) > UINT32_MAX)
        return false;
    h = key_hash(t, "", 0, key, len);
    s = find_slot(t, h, "", 0, key, len);
    if (s->key == NULL) {
        char *copy = copy_key(t, key, len);
        if (copy == NULL)
            return false;
        s->key = copy;
        s->keylen = (uint32_t)len;
        s->hash = h;
        t->count++;
    }
    report_other(s, id, had_other, other_id);
    if (slot_has(s, id)) {
        if (had_id != NULL)
            *had_id = true;
        return true;
    }
    return slot_push(s, id);
}

/* Add id under key (see domain_table.h). */
bool
domain_table_add(struct domain_table *t, const char *key, uint32_t id,
                 bool *had_other, uint32_t *other_id)
{
    return domain_table_insert(t, key, id, NULL, had_other, other_id);
}

/* Number of distinct keys. */
size_t
domain_table_size(const struct domain_table *t)
{
    return t != NULL ? t->count : 0;
}

/* The ids found so far by one lookup, for deduplication without memory. */
struct found {
    const struct slot *slots[MAX_PROBES];
    size_t nslots;
    size_t total;
    uint32_t *ids;
    size_t max;
};

/* True when id is in a slot matched earlier in this lookup. */
static bool
found_before(const struct found *f, uint32_t id)
{
    for (size_t i = 0; i < f->nslots; i++) {
        const uint32_t *ids = slot_ids(f->slots[i]);
        for (uint32_t j = 0; j < f->slots[i]->nids; j++)
            if (ids[j] == id)
                return true;
    }
    return false;
}

/* Look up prefix + s[0..len) and add its new ids to the result. */
static void
probe(const struct domain_table *t, struct found *f, const char *prefix,
      size_t plen, const char *s, size_t len)
{
    uint64_t h = key_hash(t, prefix, plen, s, len);
    const struct slot *sl = find_slot(t, h, prefix, plen, s, len);
    const uint32_t *ids;

    if (sl->key == NULL || f->nslots == MAX_PROBES)
        return;
    ids = slot_ids(sl);
    for (uint32_t i = 0; i < sl->nids; i++) {
        if (found_before(f, ids[i]))
            continue;
        if (f->total < f->max)
            f->ids[f->total] = ids[i];
        f->total++;
    }
    f->slots[f->nslots++] = sl;
}

/* Start a lookup result writing into ids[0..max). */
static void
found_init(struct found *f, uint32_t *ids, size_t max)
{
    f->nslots = 0;
    f->total = 0;
    f->ids = ids;
    f->max = ids != NULL ? max : 0;
}

/* Length of a name we are willing to look up, or 0 to refuse it. */
static size_t
lookup_len(const struct domain_table *t, const char *name)
{
    size_t len;

    if (t == NULL || name == NULL)
        return 0;
    len = strnlen(name, 2 * MAX_PROBES);
    return len < 2 * MAX_PROBES ? len : 0;
}

/* Domain-pattern lookup: the name, then "*." and each parent suffix. */
size_t
domain_table_match(const struct domain_table *t, const char *name,
                   uint32_t *ids, size_t max)
{
    struct found f;
    size_t len = lookup_len(t, name);

    found_init(&f, ids, max);
    if (len == 0)
        return 0;
    probe(t, &f, "", 0, name, len);
    for (size_t i = 0; i < len; i++)
        if (name[i] == '.')
            probe(t, &f, "*.", 2, name + i + 1, len - i - 1);
    return f.total;
}

/* Certificate-name lookup: the name, then "*." and the name minus a label. */
size_t
domain_table_match_cert(const struct domain_table *t, const char *name,
                        uint32_t *ids, size_t max)
{
    struct found f;
    size_t len = lookup_len(t, name);
    const char *dot;

    found_init(&f, ids, max);
    if (len == 0)
        return 0;
    probe(t, &f, "", 0, name, len);
    dot = memchr(name, '.', len);
    if (dot != NULL)
        probe(t, &f, "*.", 2, dot + 1, len - (size_t)(dot + 1 - name));
    return f.total;
}

/* Exact key lookup. */
size_t
domain_table_get(const struct domain_table *t, const char *key,
                 uint32_t *ids, size_t max)
{
    struct found f;
    size_t len = lookup_len(t, key);

    found_init(&f, ids, max);
    if (len == 0)
        return 0;
    probe(t, &f, "", 0, key, len);
    return f.total;
}
