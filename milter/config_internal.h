/*
 * config_internal.h - what config.c (the generic driver and the top
 * level) shares with config_inbound.c and config_outbound.c (the keys and
 * rules of inbound and outbound connectors) and config_identity.c
 * (certificate identities and the dated settings).
 *
 * Internal to the configuration loader; other modules use config.h. The
 * loader state, the key-table types and the few helpers both halves call.
 */
#ifndef FORCETLS_CONFIG_INTERNAL_H
#define FORCETLS_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "config.h"
#include "config_syntax.h"

struct loader {
    const char *path;            /* the file given to config_load */
    struct config *cfg;          /* being built */
    struct config_error *err;
    const char *key;             /* setting being read, for messages */
    bool inbound;                /* reading an inbound connector */
    uint32_t id;                 /* index of that connector */
    size_t list_len;             /* elements of the list being read */
};

/* Parse text (a written value, or a default when s is NULL) into field. */
typedef bool value_fn(struct loader *ld, const config_setting_t *s,
                      const char *text, void *field);
/* Check the syntax of text; on failure *why says what is wrong. */
typedef bool syntax_fn(const char *text, const char **why);
/* Load a list of connector groups. */
typedef bool groups_fn(struct loader *ld, const config_setting_t *list);

enum key_type { KEY_STRING, KEY_BOOL, KEY_INT, KEY_LIST, KEY_GROUPS };

struct key {
    const char *name;
    enum key_type type;
    size_t offset;               /* of the field in the target struct */
    const char *dflt;            /* parsed like a written value; NULL: unset */
    syntax_fn *check;            /* run before parse; NULL: parse checks */
    value_fn *parse;             /* KEY_STRING, and each element of KEY_LIST */
    groups_fn *groups;           /* KEY_GROUPS */
    int max;                     /* KEY_INT accepts 0..max */
    bool required;
    size_t line_offset;          /* top level: where to record the line; 0: no */
};

/* Default of connector keys that take the value of a top-level key; the
 * parser sees this very pointer, so such keys have no .check. */
extern const char config_inherit[];
#define INHERIT config_inherit

/* Format "FILE:LINE: message" for setting s (NULL: line 0); returns false. */
bool config_vfail(struct loader *ld, const config_setting_t *s,
                  const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* config_vfail with arguments; returns false. */
bool config_fail(struct loader *ld, const config_setting_t *s,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The usual "key: "value": why" error; returns false. */
bool config_bad_value(struct loader *ld, const config_setting_t *s,
                      const char *text, const char *why);
/* "out of memory" at s; returns false. */
bool config_no_memory(struct loader *ld, const config_setting_t *s);
/* Name of connector id of the direction being read (ld->inbound). */
const char *config_conn_name(const struct loader *ld, uint32_t id);
/* strdup text into a char * field (a value_fn; fields start NULL). */
bool config_store_string(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field);
/* A copy of text among the snapshot's strings (NULL: out of memory). */
char *config_strdup(struct loader *ld, const char *text);

/* A domain pattern of this connector; the same pattern in two is an error. */
bool config_add_domain(struct loader *ld, const config_setting_t *s,
                       const char *text, struct strlist *list,
                       struct domain_table *table);

/* A keyword of set words into *value; INHERIT keeps *value. */
bool config_parse_keyword(struct loader *ld, const config_setting_t *s,
                          const char *text, enum syntax_words words,
                          int *value);

/* reject | tempfail | monitor; connectors default to default_action. */
bool config_parse_action(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field);

/* TLSv1 ... TLSv1.3; connectors default to the top-level floor. */
bool config_parse_version(struct loader *ld, const config_setting_t *s,
                          const char *text, void *field);

/* Append s to a snapshot list (its strings live in the snapshot's blocks). */
bool config_strlist_push(struct loader *ld, struct strlist *list, const char *s);

/* size bytes at a multiple of align (a power of two) among the snapshot's
 * blocks, freed with it (NULL: out of memory). */
void *config_alloc(struct loader *ld, size_t size, size_t align);

/* Read group into obj by the table keys (unknown keys, types, defaults). */
bool config_load_group(struct loader *ld, const config_setting_t *group,
                       const struct key *keys, void *obj);

/* A certificate host name ("*." = one label) into a strlist field; also
 * indexes it in inbound_by_cert_name under ld->id (config_inbound.c). */
bool config_parse_cert_name(struct loader *ld, const config_setting_t *s,
                            const char *text, void *field);
/* An issuer CN, as written, into a strlist field (config_inbound.c). */
bool config_parse_issuer(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field);

/* The inbound connector keys, and their rules across keys
 * (config_inbound.c). */
extern const struct key config_inbound_keys[];
void config_inbound_init(void *connector);
bool config_inbound_check(struct loader *ld, const config_setting_t *group,
                          void *connector);

/* The outbound connector keys, and their rules across keys
 * (config_outbound.c). */
extern const struct key config_outbound_keys[];
void config_outbound_init(void *connector);
bool config_outbound_check(struct loader *ld, const config_setting_t *group,
                           void *connector);
/* After all outbound connectors: the strictest policy of every lookup key,
 * or an error naming both places when there is none. */
bool config_outbound_finish(struct loader *ld, const config_setting_t *list);

/*
 * Certificate identities and dated settings (config_identity.c): the keys
 * of one identity; certificates = ( ... ) of the inbound connector ld->id;
 * a date (syntax_utc_date) into an int64_t field; the identities rules
 * across keys (with the flat keys, which become one identity); the
 * schedule rules of a connector whose effective action is action.
 */
extern const struct key config_identity_keys[];
bool config_load_identities(struct loader *ld, const config_setting_t *list);
bool config_parse_date(struct loader *ld, const config_setting_t *s,
                       const char *text, void *field);
bool config_identities_check(struct loader *ld, const config_setting_t *group,
                             struct inbound_connector *c);
bool config_schedule_check(struct loader *ld, const config_setting_t *group,
                           const struct schedule *schedule, enum action action);

#endif
