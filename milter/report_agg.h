/*
 * report_agg.h - forcetls report's counts: per connector (direction and
 * name) and per unmatched sender domain, each a set of bounded count maps.
 *
 * Memory grows with the number of distinct connectors, domains and values,
 * never with the number of lines: every map has a cap, past which new
 * values are counted under REPORT_OTHER.
 */
#ifndef FORCETLS_REPORT_AGG_H
#define FORCETLS_REPORT_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report_line.h"

/* The key under which values past a cap are counted. */
#define REPORT_OTHER "(other)"
/* The sender domain of a sender= the daemon cut before its domain ended. */
#define REPORT_CUT_DOMAIN "(cut)"
/* Distinct values per count map (reasons, ciphers, names, clients, ...). */
#define REPORT_MAP_CAP 1024
/* Distinct connectors, and distinct unmatched sender domains. */
#define REPORT_PARTNER_CAP 65536
/* Distinct values of all maps together (a bound on the memory). */
#define REPORT_VALUES_CAP (2u * 1024 * 1024)

/* The count maps of a partner (a connector or an unmatched domain). */
enum report_map {
    RM_REASONS, RM_WOULD, RM_TLS, RM_CIPHERS, RM_NAMES, RM_ISSUERS,
    RM_CLIENTS,
    RM_MONITOR,               /* reasons of decision=monitor lines */
    RM_MONITOR_WOULD,         /* would= of decision=monitor lines */
    RM_COUNT
};

/* decision= values, in the order of the JSON "decisions" object. */
enum report_decision {
    RD_ACCEPT, RD_REJECT, RD_TEMPFAIL, RD_MONITOR, RD_COUNT
};

/* One counted value. */
struct report_entry {
    const char *key;          /* NUL-terminated, len bytes */
    uint32_t len;
    uint32_t hash;
    uint64_t count;
    uint64_t first_seq;       /* the decision line that first had it */
    bool have_time;
    int64_t first_time, last_time;
};

/* An open-addressing map of values to counts; slots NULL until used. */
struct report_map_table {
    struct report_entry *slots;
    uint32_t size;            /* a power of two, or 0 */
    uint32_t used;
    uint32_t last;            /* slot of the value counted last (logs repeat) */
};

/* A connector, or (direction NULL) an unmatched sender domain. */
struct report_partner {
    const char *direction;    /* "inbound" / "outbound"; NULL: unmatched */
    const char *name;         /* connector name, or the sender domain */
    uint32_t name_len;
    uint32_t hash;
    uint64_t recipients;
    uint64_t decisions[RD_COUNT];
    uint64_t verified;        /* lines with a verified certificate */
    uint64_t old_tls;         /* lines over TLS older than 1.2 */
    uint64_t first_seq;
    uint64_t first_cert_seq;  /* its first line with a verified certificate */
    bool have_time;
    int64_t first_time, last_time;
    bool have_cert_time;
    int64_t first_cert_time;  /* the earliest such line's time */
    struct report_map_table maps[RM_COUNT];
};

/* A table of partners (connectors or unmatched domains). */
struct report_partners {
    struct report_partner **slots;   /* open addressing */
    uint32_t size, used;
    struct report_partner **list;    /* in order of first appearance */
    size_t count;
};

/* Why a line was skipped. */
enum report_skip {
    RS_FOREIGN, RS_OTHER, RS_MALFORMED, RS_TOO_LONG, RS_PERIOD,
    RS_NO_TIME, RS_COUNT
};

struct report_arena;

/* Everything counted. */
struct report_agg {
    uint64_t read, decisions, skipped, internal;
    uint64_t skips[RS_COUNT];
    bool have_since, have_until;
    int64_t since, until;              /* since <= t < until */
    bool have_time;
    int64_t from, to;                  /* of the lines counted */
    uint64_t seq;                      /* decision lines so far */
    uint64_t values;                   /* distinct values stored */
    uint64_t seed;
    struct report_partners connectors, unmatched;
    struct report_arena *arena;
};

/* A new, empty aggregate; NULL when memory runs out. */
struct report_agg *report_agg_new(void);
void report_agg_free(struct report_agg *agg);

/* Count a line that is not counted as a decision (read, skipped, why). */
void report_agg_skip(struct report_agg *agg, enum report_skip why);

/*
 * Count one decision line (read, and decisions or skipped when outside
 * --since/--until or without a time while either is set). False when
 * memory runs out (the aggregate stays consistent).
 */
bool report_agg_add(struct report_agg *agg, const struct report_line *line);

/* Count one line as report_line_parse reads it; false: out of memory. */
bool report_agg_line(struct report_agg *agg, const char *line, size_t len,
                     int64_t now, char *scratch, size_t scratchsz);

/* The entries of a map sorted by count (highest first), then key; malloc'ed. */
struct report_entry **report_map_sorted(const struct report_map_table *map,
                                        size_t *count);

/* The partners sorted for printing (connectors by direction and name,
 * domains by recipients then name); malloc'ed. */
struct report_partner **report_partners_sorted(const struct report_partners *p,
                                               bool by_recipients);

/* The entry of key in map, or NULL. */
const struct report_entry *report_map_find(const struct report_map_table *map,
                                           const char *key);

/* The decision index of a decision= value, or RD_COUNT. */
enum report_decision report_decision_of(const char *value);

/* Is a tls= value TLS older than 1.2 (TLSv1, TLSv1.1, any unknown version)? */
bool report_tls_old(const char *version);

#endif
