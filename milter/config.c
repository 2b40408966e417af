/*
 * config.c - forcetls.conf (libconfig) to a validated, immutable snapshot.
 *
 * Owns the schema of the top level: its table of keys, types, defaults,
 * syntax checks and parsers; the generic driver that reads a group by its
 * table (also for connectors: the inbound table, parsers and rules are
 * config_inbound.c's, the outbound ones config_outbound.c's), connector
 * lists and unique names, the top-level rules that span several keys, the
 * compiled lookup tables, the blocks that hold a
 * snapshot's strings, lists and identities (config_alloc, config_strdup)
 * and config_free. A default
 * is text run through the same check and parser as a written value, so a
 * default can never be something the file could not say. What one value
 * may look like is config_syntax.c's; warnings about the environment are
 * config_env.c's.
 *
 * Must not: accept anything it does not understand (an unknown key, a wrong
 * type or a bad value is an error "FILE:LINE: message", because a typo must
 * never silently weaken policy); log or exit (the caller reports); look at
 * the environment while loading (config_check_environment only warns);
 * depend on the locale (ASCII helpers of config_syntax.h, no <ctype.h>, no
 * strtol).
 *
 * Thread safety: config_load keeps all its state in its own loader, snapshot
 * and libconfig object, so a reload may run in any thread while sessions
 * read the previous snapshot, which is never written after loading.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "addr.h"
#include "cidr.h"
#include "config.h"
#include "config_internal.h"
#include "config_syntax.h"
#include "domain_table.h"

#define MAX_CONNECTORS 1000000u
/* More keys than any key table has (find_members and
 * config_load_group abort otherwise). */
#define MAX_KEYS 32

/* The INHERIT default (config_internal.h). */
const char config_inherit[] = "(the top-level value)";

/* ---- Errors ---- */

/* Format "FILE:LINE: message" for setting s (NULL: line 0); returns false. */
bool config_vfail(struct loader *ld, const config_setting_t *s,
                  const char *fmt, va_list ap)
{
    char msg[768];
    const char *file = NULL;
    unsigned line = 0;

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (s != NULL) {
        file = config_setting_source_file(s);
        line = config_setting_source_line(s);
    }
    snprintf(ld->err->text, sizeof ld->err->text, "%s:%u: %s",
             file != NULL ? file : ld->path, line, msg);
    return false;
}

/* config_vfail with arguments; returns false. */
bool config_fail(struct loader *ld, const config_setting_t *s,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_vfail(ld, s, fmt, ap);
    va_end(ap);
    return false;
}

/* The usual "key: "value": why" error. */
bool config_bad_value(struct loader *ld, const config_setting_t *s,
                      const char *text, const char *why)
{
    return config_fail(ld, s, "%s: \"%.200s\": %s", ld->key, text, why);
}

bool config_no_memory(struct loader *ld, const config_setting_t *s)
{
    return config_fail(ld, s, "out of memory");
}

/* Name of connector id of the direction being read. */
const char *config_conn_name(const struct loader *ld, uint32_t id)
{
    const char *name = ld->inbound ? ld->cfg->inbound[id].name
                                   : ld->cfg->outbound[id].name;
    return name != NULL ? name : "(unnamed)";
}

/* ---- Small containers ---- */

/* Strings are copied into blocks of this many bytes (a longer one: its own). */
#define STRING_BLOCK 65536

/*
 * A block of the snapshot's strings. Some 450,000 strings of 100,000 +
 * 20,000 connectors cost a few allocations, not one each, to build and free.
 */
struct config_strings {
    struct config_strings *next;    /* the older blocks */
    size_t used, size;
    char bytes[];
};

/* size bytes at a multiple of align (a power of two) in the blocks. */
void *config_alloc(struct loader *ld, size_t size, size_t align)
{
    struct config_strings *b = ld->cfg->strings;
    size_t at = b != NULL ? (b->used + align - 1) & ~(align - 1) : 0;
    void *p;

    if (b == NULL || at > b->size || b->size - at < size) {
        size_t bsize = size > STRING_BLOCK ? size : STRING_BLOCK;
        /* bytes[] follows three words: aligned for pointers. */
        if ((b = malloc(sizeof *b + bsize)) == NULL)
            return NULL;
        b->size = bsize;
        b->next = ld->cfg->strings;
        ld->cfg->strings = b;
        at = 0;
    }
    p = b->bytes + at;
    b->used = at + size;
    return p;
}

/* A copy of text among the snapshot's strings (NULL: out of memory). */
char *config_strdup(struct loader *ld, const char *text)
{
    size_t len = strlen(text);
    char *copy = config_alloc(ld, len + 1, 1);

    if (copy != NULL)
        memcpy(copy, text, len + 1);
    return copy;
}

/*
 * Append a copy of s. Lists are read by load_list only: the first push
 * takes room for all ld->list_len elements in the blocks, never to grow.
 */
bool config_strlist_push(struct loader *ld, struct strlist *list, const char *s)
{
    size_t n = list->count;

    if (n == 0 &&
        (list->items = config_alloc(ld, ld->list_len * sizeof *list->items,
                                     _Alignof(char *))) == NULL)
        return false;
    if (n >= ld->list_len)
        abort();                 /* pushed outside load_list */
    if ((list->items[n] = config_strdup(ld, s)) == NULL)
        return false;
    list->count = n + 1;
    return true;
}

/* Copy into a char * field, replacing nothing (fields start NULL). */
bool config_store_string(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field)
{
    char **dst = field;

    if ((*dst = config_strdup(ld, text)) == NULL)
        return config_no_memory(ld, s);
    return true;
}

/* ---- Value parsers (the syntax checks are in config_syntax.c) ---- */

/* A socket; "local:" is stored as its synonym "unix:". */
static bool parse_socket(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field)
{
    char buf[1024];              /* a unix socket path is at most 107 bytes */

    if (!config_socket_canonical(text, buf, sizeof buf))
        return config_bad_value(ld, s, text, "too long");
    return config_store_string(ld, s, buf, field);
}

/* An octal permission string. */
static bool parse_mode(struct loader *ld, const config_setting_t *s,
                       const char *text, void *field)
{
    const char *why;

    return syntax_mode(text, field, &why) || config_bad_value(ld, s, text, why);
}

/* A syslog facility name. */
static bool parse_facility(struct loader *ld, const config_setting_t *s,
                           const char *text, void *field)
{
    const char *why;

    return syntax_facility(text, field, &why) || config_bad_value(ld, s, text, why);
}

/* auto | postfix | sendmail: whose macro dialect to trust. */
static bool parse_mta(struct loader *ld, const config_setting_t *s,
                      const char *text, void *field)
{
    int value = MTA_SETTING_AUTO;

    if (!config_parse_keyword(ld, s, text, SYNTAX_MTA, &value))
        return false;
    *(enum mta_setting *)field = (enum mta_setting)value;
    return true;
}

/* A keyword of set words into *value; INHERIT keeps *value. */
bool config_parse_keyword(struct loader *ld, const config_setting_t *s,
                          const char *text, enum syntax_words words,
                          int *value)
{
    char why[200];

    if (text != INHERIT && !syntax_keyword(words, text, value, why, sizeof why))
        return config_bad_value(ld, s, text, why);
    return true;
}

/* reject | tempfail | monitor; connectors default to default_action. */
bool config_parse_action(struct loader *ld, const config_setting_t *s,
                         const char *text, void *field)
{
    int value = ld->cfg->default_action;

    if (!config_parse_keyword(ld, s, text, SYNTAX_ACTIONS, &value))
        return false;
    *(enum action *)field = (enum action)value;
    return true;
}

/* TLSv1 ... TLSv1.3; connectors default to the top-level floor. */
bool config_parse_version(struct loader *ld, const config_setting_t *s,
                          const char *text, void *field)
{
    int value = ld->cfg->min_tls_version;

    if (!config_parse_keyword(ld, s, text, SYNTAX_TLS_VERSIONS, &value))
        return false;
    *(enum tls_version *)field = (enum tls_version)value;
    return true;
}

/* A domain pattern of this connector; the same pattern in two is an error. */
bool config_add_domain(struct loader *ld, const config_setting_t *s,
                       const char *text, struct strlist *list,
                       struct domain_table *table)
{
    char norm[ADDR_DOMAIN_MAX];
    const char *why = "invalid domain";
    bool other = false, again = false;
    uint32_t other_id = 0;

    if (!addr_normalize_pattern(text, norm, sizeof norm, &why))
        return config_bad_value(ld, s, text, why);
    if (!domain_table_insert(table, norm, ld->id, &again, &other, &other_id))
        return config_no_memory(ld, s);
    /* Listed twice in this connector: harmless, kept once. */
    if (again && !other)
        return true;
    if (!config_strlist_push(ld, list, norm))
        return config_no_memory(ld, s);
    if (other)
        return config_fail(ld, s, "%s connector \"%s\": %s: \"%s\" is already listed"
                    " by %s connector \"%s\" (line %d)",
                    ld->inbound ? "inbound" : "outbound", config_conn_name(ld, ld->id),
                    ld->key, norm, ld->inbound ? "inbound" : "outbound",
                    config_conn_name(ld, other_id),
                    ld->inbound ? ld->cfg->inbound[other_id].line
                                : ld->cfg->outbound[other_id].line);
    return true;
}

/* ---- The schema ---- */

static groups_fn load_inbound, load_outbound;

#define TOP(f) offsetof(struct config, f)
static const struct key top_keys[] = {
    { .name = "socket", .type = KEY_STRING, .offset = TOP(socket),
      .dflt = CONFIG_DEFAULT_SOCKET, .check = config_socket_valid,
      .parse = parse_socket,
      .line_offset = TOP(lines.socket) },
    { .name = "policy_socket", .type = KEY_STRING,
      .offset = TOP(policy_socket), .check = config_socket_valid,
      .parse = parse_socket,
      .line_offset = TOP(lines.policy_socket) },
    { .name = "socket_mode", .type = KEY_STRING, .offset = TOP(socket_mode),
      .dflt = "0660", .parse = parse_mode },
    { .name = "socket_group", .type = KEY_STRING,
      .offset = TOP(socket_group), .check = syntax_account,
      .parse = config_store_string,
      .line_offset = TOP(lines.socket_group) },
    { .name = "user", .type = KEY_STRING, .offset = TOP(user),
      .check = syntax_account, .parse = config_store_string,
      .line_offset = TOP(lines.user) },
    { .name = "pidfile", .type = KEY_STRING, .offset = TOP(pidfile),
      .check = syntax_abspath, .parse = config_store_string,
      .line_offset = TOP(lines.pidfile) },
    { .name = "syslog_facility", .type = KEY_STRING,
      .offset = TOP(syslog_facility), .dflt = "mail",
      .parse = parse_facility },
    { .name = "default_action", .type = KEY_STRING,
      .offset = TOP(default_action), .dflt = "reject",
      .parse = config_parse_action },
    { .name = "min_tls_version", .type = KEY_STRING,
      .offset = TOP(min_tls_version), .dflt = "TLSv1.2",
      .parse = config_parse_version },
    { .name = "log_all", .type = KEY_BOOL, .offset = TOP(log_all),
      .dflt = "false" },
    { .name = "mta", .type = KEY_STRING, .offset = TOP(mta), .dflt = "auto",
      .parse = parse_mta, .line_offset = TOP(lines.mta) },
    /* Last: connectors inherit the values above. */
    { .name = "inbound", .type = KEY_GROUPS, .groups = load_inbound },
    { .name = "outbound", .type = KEY_GROUPS, .groups = load_outbound },
    { .name = NULL },
};

static const struct key *find_key(const struct key *keys, const char *name)
{
    for (; keys->name != NULL; keys++)
        if (keys->name[0] == name[0] && strcmp(keys->name, name) == 0)
            return keys;
    return NULL;
}

/* ---- The generic driver ---- */

/* Where a key misplaced in this table belongs, for the error message. */
static const char *misplaced_hint(const struct key *keys, const char *name)
{
    if (keys != config_identity_keys &&
        find_key(config_identity_keys, name) != NULL)
        return " (it belongs in an identity: certificates = ( { ... } ))";
    if (keys != config_inbound_keys && find_key(config_inbound_keys, name) != NULL)
        return keys == top_keys ? " (it belongs inside a connector)"
                                : " (it is an inbound connector setting)";
    if (keys != config_outbound_keys &&
        find_key(config_outbound_keys, name) != NULL)
        return keys == top_keys ? " (it belongs inside a connector)"
                                : " (it is an outbound connector setting)";
    if (keys != top_keys && find_key(top_keys, name) != NULL)
        return " (it is a top-level setting)";
    return "";
}

/*
 * Every member of group must be a key of the table; set[i] receives the
 * member for keys[i] (NULL: not written). One pass over the members: asking
 * libconfig for each key by name would compare every key with every member.
 */
static bool find_members(struct loader *ld, const config_setting_t *group,
                         const struct key *keys,
                         const config_setting_t *set[MAX_KEYS])
{
    int n = config_setting_length(group);

    for (size_t k = 0; k < MAX_KEYS; k++)
        set[k] = NULL;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct key *k = find_key(keys, name);
        if (k == NULL)
            return config_fail(ld, s, "unknown setting \"%s\"%s", name,
                        misplaced_hint(keys, name));
        if ((size_t)(k - keys) >= MAX_KEYS)
            abort();             /* a key table outgrew MAX_KEYS */
        /* libconfig refuses a name written twice in a group. */
        set[k - keys] = s;
    }
    return true;
}

/* What a key of this type must look like. */
static const char *type_text(enum key_type type)
{
    switch (type) {
    case KEY_STRING: return "must be a string in double quotes";
    case KEY_BOOL:   return "must be true or false, without quotes";
    case KEY_INT:    return "must be an integer, without quotes";
    case KEY_LIST:   return "must be a list of strings: [ \"...\", ... ]";
    case KEY_GROUPS: return "must be a list of groups: ( { ... }, ... )";
    }
    return "has the wrong type";
}

/* A string value: non-empty and free of control characters. */
static bool string_ok(struct loader *ld, const config_setting_t *s,
                      const char *text)
{
    if (text[0] == '\0')
        return config_fail(ld, s, "%s: must not be empty", ld->key);
    if (syntax_has_control(text))
        return config_fail(ld, s, "%s: contains a control character"
                    " (line break, tab, ...)", ld->key);
    return true;
}

/* Check text by k->check, then parse it into field (s NULL: a default). */
static bool parse_text(struct loader *ld, const struct key *k,
                       const config_setting_t *s, const char *text,
                       void *field)
{
    const char *why;

    if (k->check != NULL && !k->check(text, &why))
        return config_bad_value(ld, s, text, why);
    return k->parse(ld, s, text, field);
}

/* A list of strings, each passed to parse_text. */
static bool load_list(struct loader *ld, const struct key *k,
                      const config_setting_t *s, void *field)
{
    int n = config_setting_length(s);

    if (n == 0)
        return config_fail(ld, s, "%s: must not be empty (remove the setting"
                    " instead)", k->name);
    ld->list_len = (size_t)n;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text;
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return config_fail(ld, e, "%s %s", k->name, type_text(KEY_LIST));
        text = config_setting_get_string(e);
        if (!string_ok(ld, e, text) || !parse_text(ld, k, e, text, field))
            return false;
    }
    return true;
}

/* A written value of key k. */
static bool load_value(struct loader *ld, const struct key *k,
                       const config_setting_t *s, void *field)
{
    int type = config_setting_type(s);
    long long num;

    switch (k->type) {
    case KEY_STRING:
        if (type != CONFIG_TYPE_STRING)
            break;
        return string_ok(ld, s, config_setting_get_string(s)) &&
               parse_text(ld, k, s, config_setting_get_string(s), field);
    case KEY_BOOL:
        if (type != CONFIG_TYPE_BOOL)
            break;
        *(bool *)field = config_setting_get_bool(s) != 0;
        return true;
    case KEY_INT:
        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
            break;
        num = config_setting_get_int64(s);
        if (num < 0 || num > k->max)
            return config_fail(ld, s, "%s: %lld is not in the range 0 to %d",
                        k->name, num, k->max);
        *(int *)field = (int)num;
        return true;
    case KEY_LIST:
        if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
            break;
        return load_list(ld, k, s, field);
    case KEY_GROUPS:
        if (type != CONFIG_TYPE_LIST)
            break;
        return k->groups(ld, s);
    }
    return config_fail(ld, s, "%s %s", k->name, type_text(k->type));
}

/* The default of key k (none: the field stays zero, NULL or empty). */
static bool load_default(struct loader *ld, const struct key *k, void *field)
{
    if (k->dflt == NULL)
        return true;
    if (k->type == KEY_BOOL) {
        *(bool *)field = strcmp(k->dflt, "true") == 0;
        return true;
    }
    if (k->type == KEY_INT) {
        unsigned long v = 0;
        syntax_decimal(k->dflt, strlen(k->dflt), (unsigned long)k->max, &v);
        *(int *)field = (int)v;
        return true;
    }
    return parse_text(ld, k, NULL, k->dflt, field);
}

/* Read group into obj by the table keys. */
bool config_load_group(struct loader *ld, const config_setting_t *group,
                       const struct key *keys, void *obj)
{
    const config_setting_t *set[MAX_KEYS];

    if (!find_members(ld, group, keys, set))
        return false;
    for (const struct key *k = keys; k->name != NULL; k++) {
        const config_setting_t *s;
        void *field = (char *)obj + k->offset;

        if ((size_t)(k - keys) >= MAX_KEYS)
            abort();             /* a key table outgrew MAX_KEYS */
        s = set[k - keys];
        ld->key = k->name;
        if (s == NULL && k->required)
            return config_fail(ld, group, "missing required setting \"%s\"",
                        k->name);
        if (s == NULL ? !load_default(ld, k, field)
                      : !load_value(ld, k, s, field))
            return false;
        if (s != NULL && k->line_offset != 0)
            *(int *)((char *)obj + k->line_offset) =
                (int)config_setting_source_line(s);
    }
    return true;
}

/* ---- Rules across keys ---- */

struct named {
    const char *name;
    size_t index;
    const config_setting_t *group;
};

/* Order by name (ASCII case-insensitive), then by position in the file. */
static int named_cmp(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int r = syntax_casecmp(x->name, y->name);

    if (r != 0)
        return r;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Connector names are unique within a direction, in O(n log n). */
static bool check_names(struct loader *ld, const char *direction,
                        struct named *names, size_t n)
{
    qsort(names, n, sizeof *names, named_cmp);
    for (size_t i = 1; i < n; i++)
        if (syntax_casecmp(names[i - 1].name, names[i].name) == 0)
            return config_fail(ld, names[i].group, "duplicate %s connector name"
                        " \"%s\" (also at line %u)", direction, names[i].name,
                        config_setting_source_line(names[i - 1].group));
    return true;
}

/* Zeroed array of the list's connectors (ids are 32 bits), or NULL. */
static void *alloc_connectors(struct loader *ld, const config_setting_t *list,
                              size_t size, size_t *count)
{
    size_t n = (size_t)config_setting_length(list);
    void *array;

    if (n > MAX_CONNECTORS) {
        config_fail(ld, list, "%s: more than %u connectors", ld->key, MAX_CONNECTORS);
        return NULL;
    }
    /* One spare element so that an empty list is not a failure. */
    if ((array = calloc(n + 1, size)) == NULL) {
        config_no_memory(ld, list);
        return NULL;
    }
    *count = n;
    return array;
}

/* What differs between inbound and outbound connectors. */
struct direction {
    const char *name;
    const struct key *keys;
    size_t size, name_offset, line_offset;
    void (*init)(void *connector);   /* fields that do not start zero */
    bool (*check)(struct loader *ld, const config_setting_t *group,
                  void *connector);
};

static const struct direction inbound_direction = {
    "inbound", config_inbound_keys, sizeof(struct inbound_connector),
    offsetof(struct inbound_connector, name),
    offsetof(struct inbound_connector, line), config_inbound_init,
    config_inbound_check,
};
static const struct direction outbound_direction = {
    "outbound", config_outbound_keys, sizeof(struct outbound_connector),
    offsetof(struct outbound_connector, name),
    offsetof(struct outbound_connector, line), config_outbound_init,
    config_outbound_check,
};

/* Read the n connectors of list into array (zeroed by the caller). */
static bool load_connectors(struct loader *ld, const config_setting_t *list,
                            const struct direction *d, char *array, size_t n)
{
    struct named *names = calloc(n + 1, sizeof *names);
    bool ok = true;

    if (names == NULL)
        return config_no_memory(ld, list);
    for (size_t i = 0; ok && i < n; i++) {
        char *c = array + i * d->size;
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        ld->id = (uint32_t)i;
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            ok = config_fail(ld, g, "%s connectors must be groups"
                      " { name = \"...\"; ... }", d->name);
        } else {
            *(int *)(c + d->line_offset) = (int)config_setting_source_line(g);
            d->init(c);
            ok = config_load_group(ld, g, d->keys, c) && d->check(ld, g, c);
            names[i] = (struct named){ *(char **)(c + d->name_offset), i, g };
        }
    }
    ok = ok && check_names(ld, d->name, names, n);
    free(names);
    return ok;
}

/* The inbound = ( ... ) list. */
static bool load_inbound(struct loader *ld, const config_setting_t *list)
{
    struct config *cfg = ld->cfg;

    ld->inbound = true;
    cfg->inbound = alloc_connectors(ld, list, sizeof *cfg->inbound,
                                    &cfg->inbound_count);
    return cfg->inbound != NULL &&
           load_connectors(ld, list, &inbound_direction, (char *)cfg->inbound,
                           cfg->inbound_count);
}

/* The outbound = ( ... ) list. */
static bool load_outbound(struct loader *ld, const config_setting_t *list)
{
    struct config *cfg = ld->cfg;

    ld->inbound = false;
    cfg->outbound = alloc_connectors(ld, list, sizeof *cfg->outbound,
                                     &cfg->outbound_count);
    return cfg->outbound != NULL &&
           load_connectors(ld, list, &outbound_direction,
                           (char *)cfg->outbound, cfg->outbound_count) &&
           config_outbound_finish(ld, list);
}

/* Top-level rules that span keys. */
static bool top_check(struct loader *ld, const config_setting_t *root)
{
    const struct config *cfg = ld->cfg;

    if (cfg->policy_socket != NULL && strcmp(cfg->policy_socket, cfg->socket) == 0)
        return config_fail(ld, config_setting_get_member(root, "policy_socket"),
                    "policy_socket must differ from socket");
    return true;
}

/* ---- Public interface ---- */

/* Parse the bytes with libconfig; on failure fill err, naming path. */
static bool read_file(config_t *lc, const char *path, const char *bytes,
                      size_t len, struct config_error *err)
{
    if (!config_check_bytes(path, bytes, len, err))
        return false;
    if (config_read_string(lc, bytes) == CONFIG_TRUE)
        return true;
    snprintf(err->text, sizeof err->text, "%s:%d: %s", path, config_error_line(lc),
             config_error_text(lc));
    return false;
}

/*
 * Give freed memory (libconfig's parse tree, a replaced snapshot) back to
 * the system. With 100,000 connectors the tree is larger than the snapshot
 * it became, and glibc would otherwise keep its pages for good.
 */
void config_release_unused_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Load and validate path (see config.h). */
struct config *config_load(const char *path, struct config_error *err)
{
    size_t len;
    char *bytes = config_read_bytes(path, &len, err);
    struct config *cfg = bytes != NULL ? config_load_bytes(path, bytes, len, err) : NULL;

    free(bytes);
    return cfg;
}

/* Load and validate the bytes of path, as read before (see config.h). */
struct config *config_load_bytes(const char *path, const char *bytes, size_t len,
                                 struct config_error *err)
{
    struct loader ld = { .path = path, .err = err };
    struct config *cfg;
    config_t lc;
    bool ok;

    err->text[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        snprintf(err->text, sizeof err->text, "(none):0: no file given");
        return NULL;
    }
    if ((cfg = calloc(1, sizeof *cfg)) == NULL ||
        (cfg->path = strdup(path)) == NULL ||
        (cfg->inbound_by_domain = domain_table_new()) == NULL ||
        (cfg->inbound_by_ip = cidr_table_new()) == NULL ||
        (cfg->inbound_by_cert_name = domain_table_new()) == NULL ||
        (cfg->outbound_by_domain = domain_table_new()) == NULL ||
        (cfg->outbound_by_nexthop = domain_table_new()) == NULL) {
        snprintf(err->text, sizeof err->text, "%s:0: out of memory", path);
        config_free(cfg);
        return NULL;
    }
    ld.cfg = cfg;
    config_init(&lc);
    config_set_auto_convert(&lc, CONFIG_FALSE);
    ok = read_file(&lc, path, bytes, len, err) &&
         config_load_group(&ld, config_root_setting(&lc), top_keys, cfg) &&
         top_check(&ld, config_root_setting(&lc));
    config_destroy(&lc);
    if (!ok) {
        config_free(cfg);
        return NULL;
    }
    config_release_unused_memory();
    return cfg;
}

/* Free a snapshot and everything it owns (NULL is ignored). */
void config_free(struct config *config)
{
    if (config == NULL)
        return;
    /* The strings, the lists' arrays and the inbound connectors'
     * identities are in config->strings. */
    for (size_t i = 0; i < config->outbound_count; i++)
        free(config->outbound[i].smart_hosts);
    free(config->inbound);
    free(config->outbound);
    domain_table_free(config->inbound_by_domain);
    cidr_table_free(config->inbound_by_ip);
    domain_table_free(config->inbound_by_cert_name);
    domain_table_free(config->outbound_by_domain);
    domain_table_free(config->outbound_by_nexthop);
    free(config->outbound_policy);
    free(config->path);
    while (config->strings != NULL) {
        struct config_strings *next = config->strings->next;
        free(config->strings);
        config->strings = next;
    }
    free(config);
}
