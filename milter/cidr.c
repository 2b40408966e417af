/*
 * cidr.c - IP addresses and CIDR prefixes, IPv4 and IPv6 in one table.
 *
 * Owns the parsing and printing of client addresses and configured
 * prefixes, and the prefix table. IPv4 is held as IPv4-mapped IPv6, so a v4
 * prefix /n is the v6 prefix /(96+n) and a v4-mapped v6 client matches it.
 * The table keeps one open-addressing hash set per prefix length in use and
 * a sorted list of those lengths; a lookup masks the address once per
 * length (longest first) and probes, so its cost depends on how many
 * distinct lengths are configured (at most 129), not on how many prefixes.
 *
 * It must not allocate on lookup or accept a prefix with host bits set (a
 * typo must not silently widen or narrow a range).
 *
 * Thread safety: built by one thread while loading a configuration, then
 * only read; lookups write only to the caller's buffers, so concurrent
 * readers need no locks.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "hash.h"

#define NLENS 129
#define INITIAL_SLOTS 8
#define TEXT_MAX 128

static const uint8_t v4_mapped_prefix[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * One prefix of a given length and its ids; nids == 0 marks an empty slot
 * (adding the first id cannot fail). 32 bytes: the key is compared in
 * place, and its hash recomputed only when the set grows.
 */
struct entry {
    struct ip_addr key;
    uint32_t nids;
    union {
        uint32_t one;      /* nids == 1: the id */
        uint32_t *many;    /* nids >= 2: MANY_CAP, MANY_MAX, then the ids */
    } u;
};
/* The header of a many array: its capacity in ids, and the largest id. */
#define MANY_CAP 0
#define MANY_MAX 1
#define MANY_IDS 2

/* The prefixes of one length. */
struct lenset {
    struct entry *slots;
    size_t nslots;     /* a power of two, or 0 while unused */
    size_t count;
};

struct cidr_table {
    struct lenset sets[NLENS];
    uint8_t lens[NLENS];  /* lengths in use, longest first */
    unsigned nlens;
    size_t count;
    uint64_t seed;
};

/* Write the IPv4-mapped form of the 4 octets at v4. */
static void
map_v4(const void *v4, struct ip_addr *out)
{
    memcpy(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix));
    memcpy(out->bytes + 12, v4, 4);
}

/* True when ip is IPv4-mapped. */
static bool
is_v4_mapped(const struct ip_addr *ip)
{
    return memcmp(ip->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

/* ASCII case-insensitive prefix test. */
static bool
has_prefix_ci(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != *prefix)
            return false;
    }
    return true;
}

/* Parse a plain address; v6only refuses dotted quads. */
static bool
parse_plain(const char *text, bool v6only, struct ip_addr *out)
{
    unsigned char v4[4];

    if (!v6only && inet_pton(AF_INET, text, v4) == 1) {
        map_v4(v4, out);
        return true;
    }
    return inet_pton(AF_INET6, text, out->bytes) == 1;
}

/* Parse an address in any of the forms listed in cidr.h. */
bool
ip_parse(const char *text, struct ip_addr *out)
{
    char buf[TEXT_MAX];
    char *p = buf;
    size_t len;
    bool v6only = false;

    if (text == NULL || out == NULL)
        return false;
    len = strnlen(text, TEXT_MAX);
    if (len == 0 || len >= TEXT_MAX)
        return false;
    memcpy(buf, text, len + 1);
    if (p[0] == '[') {
        if (len < 3 || p[len - 1] != ']')
            return false;
        p[len - 1] = '\0';
        p++;
    }
    if (has_prefix_ci(p, "ipv6:")) {
        p += 5;
        v6only = true;
    }
    return parse_plain(p, v6only, out);
}

/* Convert a connect-callback socket address. */
bool
ip_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out)
{
    if (sa == NULL || out == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        map_v4(&sin.sin_addr, out);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        memcpy(out->bytes, &sin6.sin6_addr, sizeof(out->bytes));
        return true;
    }
    return false;
}

/* Canonical text of an address, truncated to outsz if need be. */
void
ip_format(const struct ip_addr *ip, char *out, size_t outsz)
{
    char buf[INET6_ADDRSTRLEN];

    if (out == NULL || outsz == 0)
        return;
    buf[0] = '\0';
    if (ip != NULL) {
        if (is_v4_mapped(ip)) {
            const uint8_t *b = ip->bytes + 12;
            snprintf(buf, sizeof(buf), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        } else if (inet_ntop(AF_INET6, ip->bytes, buf, sizeof(buf)) == NULL) {
            buf[0] = '\0';
        }
    }
    snprintf(out, outsz, "%s", buf);
}

/* Clear the bits of ip below prefix length len (0..128). */
static void
mask_addr(const struct ip_addr *ip, unsigned len, struct ip_addr *out)
{
    unsigned full = len / 8, rest = len % 8;

    memset(out->bytes, 0, sizeof(out->bytes));
    memcpy(out->bytes, ip->bytes, full);
    if (rest != 0)
        out->bytes[full] = ip->bytes[full] & (uint8_t)(0xff00u >> rest);
}

/* Parse a decimal prefix length of at most 3 digits; -1 if malformed. */
static int
parse_len(const char *s)
{
    int n = 0;

    if (s[0] == '\0' || strlen(s) > 3)
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n;
}

/* Set *err to msg (when err is not NULL) and return false. */
static bool
fail(const char **err, const char *msg)
{
    if (err != NULL)
        *err = msg;
    return false;
}

/* Parse a CIDR prefix or a bare address (see cidr.h). */
bool
cidr_parse(const char *text, struct cidr *out, const char **err)
{
    char buf[TEXT_MAX];
    char *slash;
    unsigned char v4[4];
    struct ip_addr masked;
    int n = -1;
    size_t len;
    bool v4form;

    if (text == NULL || out == NULL)
        return fail(err, "no CIDR");
    len = strnlen(text, TEXT_MAX);
    if (len == 0 || len >= TEXT_MAX)
        return fail(err, "invalid CIDR");
    memcpy(buf, text, len + 1);
    slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    v4form = inet_pton(AF_INET, buf, v4) == 1;
    if (v4form)
        map_v4(v4, &out->addr);
    else if (inet_pton(AF_INET6, buf, out->addr.bytes) != 1)
        return fail(err, "invalid address in CIDR");
    if (slash != NULL) {
        n = parse_len(slash + 1);
        if (n < 0 || n > (v4form ? 32 : 128))
            return fail(err, "invalid CIDR prefix length");
    }
    out->prefix_len = slash == NULL ? 128u : (unsigned)n + (v4form ? 96u : 0u);
    mask_addr(&out->addr, out->prefix_len, &masked);
    if (memcmp(&masked, &out->addr, sizeof(masked)) != 0)
        return fail(err, "host bits set in CIDR");
    return true;
}

/* Hash a masked address and its length with the table's seed. */
static uint64_t
addr_hash(const struct cidr_table *t, const struct ip_addr *ip, unsigned len)
{
    uint64_t a, b, h;

    memcpy(&a, ip->bytes, 8);
    memcpy(&b, ip->bytes + 8, 8);
    h = (a ^ t->seed) * 0x9e3779b97f4a7c15ULL;
    h = ((h << 31) | (h >> 33)) ^ b ^ ((uint64_t)len << 56);
    return hash_mix(h);
}

/* Create an empty table. */
struct cidr_table *
cidr_table_new(void)
{
    struct cidr_table *t = calloc(1, sizeof(*t));

    if (t != NULL)
        t->seed = hash_seed(t);
    return t;
}

/* Free a table and all its sets. */
void
cidr_table_free(struct cidr_table *t)
{
    if (t == NULL)
        return;
    for (unsigned l = 0; l < NLENS; l++) {
        for (size_t i = 0; i < t->sets[l].nslots; i++)
            if (t->sets[l].slots[i].nids >= 2)
                free(t->sets[l].slots[i].u.many);
        free(t->sets[l].slots);
    }
    free(t);
}

/* Find the entry for key in set, or the empty slot where it would go. */
static struct entry *
find_entry(const struct lenset *set, uint64_t h, const struct ip_addr *key)
{
    size_t mask = set->nslots - 1;

    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct entry *e = &set->slots[i];
        if (e->nids == 0 || memcmp(&e->key, key, sizeof(*key)) == 0)
            return e;
    }
}

/* Give the set of length len room for one more entry (load under 70%). */
static bool
reserve(const struct cidr_table *t, struct lenset *set, unsigned len)
{
    size_t n = set->nslots ? set->nslots * 2 : INITIAL_SLOTS, mask = n - 1;
    struct entry *slots;

    if (set->nslots != 0 && (set->count + 1) * 10 <= set->nslots * 7)
        return true;
    slots = calloc(n, sizeof(*slots));
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < set->nslots; i++) {
        struct entry *old = &set->slots[i];
        size_t j;
        if (old->nids == 0)
            continue;
        for (j = (size_t)addr_hash(t, &old->key, len) & mask; slots[j].nids != 0;
             j = (j + 1) & mask)
            ;
        slots[j] = *old;
    }
    free(set->slots);
    set->slots = slots;
    set->nslots = n;
    return true;
}

/* Record that prefix length len is in use, keeping the list longest first. */
static void
note_len(struct cidr_table *t, unsigned len)
{
    unsigned i;

    for (i = 0; i < t->nlens && t->lens[i] > len; i++)
        ;
    if (i < t->nlens && t->lens[i] == len)
        return;
    memmove(t->lens + i + 1, t->lens + i, t->nlens - i);
    t->lens[i] = (uint8_t)len;
    t->nlens++;
}

/* The ids of an entry as one array. */
static const uint32_t *
entry_ids(const struct entry *e)
{
    return e->nids >= 2 ? e->u.many + MANY_IDS : &e->u.one;
}

/* Append id to an entry's list unless already there. */
static bool
entry_push(struct entry *e, uint32_t id)
{
    const uint32_t *ids = entry_ids(e);
    uint32_t *m;

    if (e->nids > 0 && id <= (e->nids >= 2 ? e->u.many[MANY_MAX] : e->u.one))
        for (uint32_t i = 0; i < e->nids; i++)
            if (ids[i] == id)
                return true;
    if (e->nids == 0) {
        e->u.one = id;
        e->nids = 1;
        return true;
    }
    if (e->nids == 1) {
        if ((m = malloc((MANY_IDS + 4) * sizeof(*m))) == NULL)
            return false;
        m[MANY_CAP] = 4;
        m[MANY_MAX] = e->u.one;
        m[MANY_IDS] = e->u.one;
        e->u.many = m;
    } else if (e->nids == e->u.many[MANY_CAP]) {
        uint32_t cap = e->nids * 2;
        if (cap <= e->nids || cap > UINT32_MAX - MANY_IDS)
            return false;
        m = realloc(e->u.many, ((size_t)MANY_IDS + cap) * sizeof(*m));
        if (m == NULL)
            return false;
        m[MANY_CAP] = cap;
        e->u.many = m;
    }
    m = e->u.many;
    m[MANY_IDS + e->nids++] = id;
    if (id > m[MANY_MAX])
        m[MANY_MAX] = id;
    return true;
}

/* Add id for a prefix; host bits are cleared defensively. */
bool
cidr_table_add(struct cidr_table *t, const struct cidr *prefix, uint32_t id)
{
    struct lenset *set;
    struct ip_addr key;
    struct entry *e;
    uint64_t h;

    if (t == NULL || prefix == NULL || prefix->prefix_len >= NLENS)
        return false;
    set = &t->sets[prefix->prefix_len];
    if (!reserve(t, set, prefix->prefix_len))
        return false;
    mask_addr(&prefix->addr, prefix->prefix_len, &key);
    h = addr_hash(t, &key, prefix->prefix_len);
    e = find_entry(set, h, &key);
    if (e->nids == 0) {
        e->key = key;           /* entry_push below makes it used */
        set->count++;
        t->count++;
        note_len(t, prefix->prefix_len);
    }
    return entry_push(e, id);
}

/* Number of distinct prefixes. */
size_t
cidr_table_size(const struct cidr_table *t)
{
    return t != NULL ? t->count : 0;
}

/* True when id is in one of the n entries matched so far. */
static bool
seen(const struct entry *const *found, unsigned n, uint32_t id)
{
    for (unsigned i = 0; i < n; i++) {
        const uint32_t *ids = entry_ids(found[i]);
        for (uint32_t j = 0; j < found[i]->nids; j++)
            if (ids[j] == id)
                return true;
    }
    return false;
}

/* All ids whose prefix contains ip, most specific prefix first. */
size_t
cidr_table_lookup(const struct cidr_table *t, const struct ip_addr *ip,
                  uint32_t *ids, size_t max)
{
    const struct entry *found[NLENS];
    unsigned nfound = 0;
    size_t total = 0;

    if (t == NULL || ip == NULL)
        return 0;
    if (ids == NULL)
        max = 0;
    for (unsigned i = 0; i < t->nlens; i++) {
        unsigned len = t->lens[i];
        struct ip_addr key;
        const struct entry *e;
        const uint32_t *eids;
        mask_addr(ip, len, &key);
        e = find_entry(&t->sets[len], addr_hash(t, &key, len), &key);
        if (e->nids == 0)
            continue;
        eids = entry_ids(e);
        for (uint32_t j = 0; j < e->nids; j++) {
            if (seen(found, nfound, eids[j]))
                continue;
            if (total < max)
                ids[total] = eids[j];
            total++;
        }
        found[nfound++] = e;
    }
    return total;
}
