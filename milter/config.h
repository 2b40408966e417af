/*
 * config.h - the configuration snapshot.
 *
 * config_load() turns a libconfig file into a validated, immutable
 * snapshot with compiled lookup tables. A snapshot is never modified after
 * loading; sessions hold a reference (see confref.h) and the snapshot is
 * freed when the last one goes.
 */
#ifndef FORCETLS_CONFIG_H
#define FORCETLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tlsfacts.h"

struct domain_table;
struct cidr_table;

enum action {
    ACTION_MONITOR = 1,
    ACTION_TEMPFAIL = 2,
    ACTION_REJECT = 3,
};

enum tls_settings {
    TLS_SETTINGS_ENCRYPTION_ONLY = 1,
    TLS_SETTINGS_CERTIFICATE_VALIDATION,
    TLS_SETTINGS_DOMAIN_VALIDATION,
};

/*
 * Dates are UTC seconds since the epoch (config_syntax.h's
 * syntax_utc_date). A bound that is not set is CONFIG_NO_START (a window
 * open since ever, a phase that never was) or CONFIG_NO_END.
 */
#define CONFIG_NO_START INT64_MIN
#define CONFIG_NO_END INT64_MAX

/* A list of normalised strings (strings and array are the snapshot's, see
 * struct config: strings). */
struct strlist {
    char **items;
    size_t count;
};

/*
 * One accepted certificate identity: a verified CN matching one of names
 * (empty: any CN) with an issuer CN in issuers (empty: any issuer), from
 * valid_from (inclusive) until valid_until (exclusive). At least one of
 * names and issuers is set.
 */
struct cert_identity {
    struct strlist names;     /* normalised, lower case; "*." = one label */
    struct strlist issuers;   /* as written (compared case-insensitively) */
    int64_t valid_from;       /* CONFIG_NO_START: always was */
    int64_t valid_until;      /* CONFIG_NO_END: never ends */
    int line;                 /* of its group; flat keys: of the connector */
};

/*
 * Staged enforcement: a failure is only monitored before monitor_until,
 * tempfailed before tempfail_until, and gets the connector's action from
 * then on (monitor_until < tempfail_until when both are set). A phase not
 * configured is CONFIG_NO_START, which every time is past.
 */
struct schedule {
    int64_t monitor_until;
    int64_t tempfail_until;
};

struct inbound_connector {
    char *name;
    int line;                         /* where it starts in the file */
    struct strlist sender_domains;    /* normalised patterns */
    size_t sender_ip_count;           /* how many sender_ips were given */
    bool require_tls;
    enum tls_version min_tls_version;
    int min_cipher_bits;              /* 0 = no requirement */
    bool require_forward_secrecy;
    /* The flat keys tls_sender_certificate_names and certificate_issuers,
     * as loaded; policy reads identities only. */
    struct strlist cert_names;        /* normalised, lower case; "*." = one label */
    struct strlist cert_issuers;      /* as written (compared case-insensitively) */
    /* certificates = ( ... ), or the flat keys as one identity without a
     * window; 0: no certificate required. */
    struct cert_identity *identities;
    size_t identity_count;
    enum action action;
    struct schedule schedule;
    struct strlist exempt_recipients; /* normalised addresses */
    char *reject_text;                /* NULL: default texts */
};

struct smart_host {
    char *host;        /* without brackets, lower case */
    bool bracketed;    /* "[host]": no MX lookup */
    unsigned port;     /* 0 = default */
};

struct outbound_connector {
    char *name;
    int line;
    struct strlist recipient_domains;
    enum tls_settings tls_settings;
    char *tls_domain;                 /* domain-validation name; NULL otherwise */
    enum tls_version min_tls_version;
    struct smart_host *smart_hosts;
    size_t smart_host_count;
    bool require_session_tls;
    enum action action;
    struct schedule schedule;         /* softens require_session_tls only */
};

/*
 * The TLS policy Postfix gets for one tlspolicy lookup key: the strictest
 * of every outbound connector that covers the key, per dimension (level
 * secure > verify > encrypt, and the highest protocol floor). A key is an
 * exact recipient domain, a "*." pattern (Postfix's ".parent" key), or a
 * smart host's next hop as config_nexthop_key() writes it; an exact name is
 * also covered by every "*." pattern above it, a "*." pattern by those above
 * it. The ids index config->outbound.
 */
struct outbound_policy {
    uint32_t level_id;     /* tls_settings (and tls_domain) are this one's */
    uint32_t version_id;   /* min_tls_version is this one's */
    uint32_t first_id;     /* the first connector listing this very key */
    uint8_t flags;         /* OUTBOUND_POLICY_* */
};
#define OUTBOUND_POLICY_SMART_HOST 1u   /* some connector's smart host */
#define OUTBOUND_POLICY_RESOLVED 2u     /* patterns above merged (loading) */

struct config {
    char *path;

    char *socket;                 /* libmilter form: unix:/p, inet:port@host, ... */
    char *policy_socket;          /* NULL when not configured */
    mode_t socket_mode;
    char *socket_group;           /* NULL: leave as is */
    char *user;                   /* NULL: keep running as started */
    char *pidfile;                /* NULL: none */
    int syslog_facility;          /* LOG_MAIL etc. */
    enum action default_action;
    enum tls_version min_tls_version;
    bool log_all;
    enum mta_setting mta;         /* whose macro dialect to trust */

    struct inbound_connector *inbound;
    size_t inbound_count;
    struct outbound_connector *outbound;
    size_t outbound_count;

    /* Compiled lookups; ids index inbound[] / outbound[]. */
    struct domain_table *inbound_by_domain;
    struct cidr_table *inbound_by_ip;
    struct domain_table *inbound_by_cert_name;
    struct domain_table *outbound_by_domain;
    /* tlspolicy keys (recipient patterns and smart hosts' next hops, see
     * struct outbound_policy) -> index into outbound_policy[] */
    struct domain_table *outbound_by_nexthop;
    struct outbound_policy *outbound_policy;
    size_t outbound_policy_count;

    /* Lines of some settings (0: default used), for environment warnings. */
    struct {
        int socket, policy_socket, socket_group, user, pidfile, mta;
    } lines;

    /* Where every string above except path, and the strlists' arrays,
     * live: blocks that config_free frees whole (config.c), so none of them
     * is freed on its own. */
    struct config_strings *strings;
};

/* A load error, already formatted as "FILE:LINE: message" (LINE may be 0). */
struct config_error {
    char text[1024];
};

/*
 * Load and validate path. Returns a snapshot, or NULL with *err filled.
 * Every rule of the contract is checked here; nothing is silently ignored.
 */
struct config *config_load(const char *path, struct config_error *err);

/* The largest configuration file read, in bytes. */
#define CONFIG_MAX_BYTES (256u * 1024 * 1024)
#define CONFIG_MAX_TEXT "256 MiB"

/*
 * Read the whole of path into a malloc'ed buffer of *len bytes followed by
 * a NUL: the one reader of the file (start, -n, -P, reloads). Opens
 * without blocking and takes only a regular file of at most
 * CONFIG_MAX_BYTES. On failure returns NULL with *err set to
 * "FILE:0: cannot read: ...", "FILE:0: not a regular file" or
 * "FILE:0: larger than the limit of 256 MiB".
 */
char *config_read_bytes(const char *path, size_t *len, struct config_error *err);

/*
 * Check that bytes (len bytes read from path) are all libconfig will read:
 * no NUL byte, no @include line. On failure sets *err to "FILE:LINE: ...".
 */
bool config_check_bytes(const char *path, const char *bytes, size_t len,
                        struct config_error *err);

/*
 * As config_load, but parse bytes (len bytes followed by a NUL) read from
 * path before; messages name path. The daemon validates exactly the bytes
 * it keeps. A NUL byte or an @include line is an error with FILE:LINE.
 * config_load(path) is config_read_bytes then config_load_bytes.
 */
struct config *config_load_bytes(const char *path, const char *bytes, size_t len,
                                 struct config_error *err);

void config_free(struct config *config);

/* Return freed memory to the system (after loading or replacing a snapshot). */
void config_release_unused_memory(void);

/*
 * Problems of the environment rather than of the file (unknown user or
 * group, missing directory of a unix socket or of the pidfile; as root,
 * such a directory or pidfile that the daemon refuses, see safepath.h). Calls
 * warn(text) for each, text being "FILE:LINE: message" ("FILE: message"
 * for a default value) without a "warning:" prefix; they are warnings, not
 * errors, for -n. Checks config->socket, not a -p override.
 */
void config_check_environment(const struct config *config,
                              void (*warn)(const char *text, void *arg),
                              void *arg);

/* Keyword of an action ("reject", ...) or settings ("domain-validation", ...). */
const char *config_action_name(enum action action);
const char *config_tls_settings_name(enum tls_settings settings);

/*
 * Check a socket specification as config_load does ("unix:/abs/path",
 * "local:/abs/path", "inet:PORT@HOST", "inet6:PORT@HOST"), e.g. for -p.
 * On failure sets *err (when not NULL) to a static message.
 */
bool config_socket_valid(const char *spec, const char **err);

/*
 * The form config_load stores for a valid specification ("local:" becomes
 * its synonym "unix:"), e.g. for -p. False when it does not fit in out.
 */
bool config_socket_canonical(const char *spec, char *out, size_t outsz);

/*
 * A smart host as Postfix writes a next hop, and so the key it uses for
 * smtp_tls_policy_maps: "[host]:port", "[host]", "host:port" or "host".
 * Returns the length snprintf would write.
 */
size_t config_smart_host_text(const struct smart_host *host, char *out,
                              size_t outsz);

/*
 * The lookup key of a next hop in forcetls's canonical form: like
 * config_smart_host_text, but without the default port, which names the
 * same destination ("[host]:25" -> "[host]", "host:25" -> "host").
 * Returns the length snprintf would write.
 */
size_t config_nexthop_key(const struct smart_host *host, char *out,
                          size_t outsz);

/*
 * Parse a next hop as Postfix writes it in a lookup ("[host]:port",
 * "[host]", "host:port", "host"; any case, an address literal in any
 * form) into its canonical key. *domain_form (when not NULL) says whether
 * the key is a plain domain name, which "*." patterns cover. False if text
 * is not a next hop or the key does not fit. Allocates nothing for ASCII.
 */
bool config_nexthop_parse(const char *text, char *key, size_t keysz,
                          bool *domain_form);

/*
 * Merge policy from into *into (strictest per dimension). False, leaving
 * *into unchanged, when both levels are domain validation with different
 * tls_domain names: no policy is the strictest of both.
 */
bool config_outbound_policy_merge(const struct config *config,
                                  struct outbound_policy *into,
                                  const struct outbound_policy *from);

/* Built-in defaults, also used by the man page and the tests. */
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/forcetls/forcetls.conf"
#define CONFIG_DEFAULT_SOCKET "unix:/var/spool/postfix/forcetls/forcetls.sock"
#define CONFIG_DEFAULT_SOCKET_MODE 0660

#endif
