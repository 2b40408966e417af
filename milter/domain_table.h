/*
 * domain_table.h - name -> connector lookups that do not grow with the
 * number of connectors.
 *
 * A hash table from normalised names (see addr.h) to small lists of
 * connector indices. Patterns are stored as written ("example.com",
 * "*.example.com"); lookups probe the name itself and then the "*." forms of
 * its parents, so a lookup costs one hash probe per label, whatever the
 * number of connectors. Built once while loading a configuration, read-only
 * afterwards: safe to read from any number of threads without locks.
 */
#ifndef FORCETLS_DOMAIN_TABLE_H
#define FORCETLS_DOMAIN_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain_table;

struct domain_table *domain_table_new(void);
void domain_table_free(struct domain_table *table);

/*
 * Add id under key (a normalised name or "*." pattern; the table copies it).
 * Adding the same (key, id) twice is a no-op. Returns false only when memory
 * runs out. If the key was already present with a different id, *other_id
 * (when not NULL) receives the first such id and *had_other is set true, so
 * the caller can report duplicate patterns; the new id is still added.
 */
bool domain_table_add(struct domain_table *table, const char *key, uint32_t id,
                      bool *had_other, uint32_t *other_id);

/*
 * domain_table_add that also sets *had_id (when not NULL) true when key
 * already held id, so the caller can tell a repeat from a new entry.
 */
bool domain_table_insert(struct domain_table *table, const char *key,
                         uint32_t id, bool *had_id, bool *had_other,
                         uint32_t *other_id);

/* Number of distinct keys. */
size_t domain_table_size(const struct domain_table *table);

/*
 * Domain-pattern semantics: "example.com" matches exactly, "*.example.com"
 * matches any name below example.com at any depth but not example.com.
 * name must be normalised. Appends matching ids to ids[] (deduplicated, at
 * most max); returns how many were found in total, which may exceed max.
 * Order: the exact key's ids first, then those of the "*." patterns from
 * the most specific parent to the least (ids of one key in the order added).
 */
size_t domain_table_match(const struct domain_table *table, const char *name,
                          uint32_t *ids, size_t max);

/*
 * Certificate-name semantics: "*.example.com" matches exactly one label
 * ("a.example.com", not "a.b.example.com"). Same output rules as above.
 */
size_t domain_table_match_cert(const struct domain_table *table,
                               const char *name, uint32_t *ids, size_t max);

/* Exact key lookup (no wildcard probing), same output rules. */
size_t domain_table_get(const struct domain_table *table, const char *key,
                        uint32_t *ids, size_t max);

#endif
