/*
 * config_syntax.h - what one configuration value may look like.
 *
 * Internal to the configuration loader (config.c, config_env.c); other
 * modules use config.h. Each check takes the text of one value and either
 * returns true (and the parsed value, where there is one) or false with a
 * reason for the loader's "key: "value": reason" message. The checks know
 * nothing of libconfig, of the snapshot or of other keys.
 */
#ifndef FORCETLS_CONFIG_SYNTAX_H
#define FORCETLS_CONFIG_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* The keyword sets of the file. */
enum syntax_words {
    SYNTAX_ACTIONS,          /* reject | tempfail | monitor */
    SYNTAX_TLS_SETTINGS,     /* encryption-only | ... | domain-validation */
    SYNTAX_TLS_VERSIONS,     /* TLSv1 ... TLSv1.3 */
    SYNTAX_MTA,              /* auto | postfix | sendmail (enum mta_setting) */
};

/* ASCII helpers: the locale must not change what a file means. */

/* strcmp ignoring ASCII case. */
int syntax_casecmp(const char *a, const char *b);

/* Any C0 control byte or DEL (line breaks would forge log lines, replies). */
bool syntax_has_control(const char *s);

/* s starts with prefix. */
bool syntax_has_prefix(const char *s, const char *prefix);

/* len decimal digits (1..9) with value <= max, into *out. */
bool syntax_decimal(const char *s, size_t len, unsigned long max,
                    unsigned long *out);

/*
 * Value checks. On failure *why (or why[], for keywords) says what is
 * wrong; it is a static string unless written into the caller's buffer.
 */

/* A keyword of the set, ASCII case-insensitively; why: "must be a, b or c". */
bool syntax_keyword(enum syntax_words words, const char *text, int *value,
                    char *why, size_t whysz);

/* An octal permission string: "660" or "0660", at most 0777. */
bool syntax_mode(const char *text, mode_t *mode, const char **why);

/* A user or group name. */
bool syntax_account(const char *text, const char **why);

/* An absolute file name. */
bool syntax_abspath(const char *text, const char **why);

/* A syslog facility name, as log.h knows them, into a LOG_* value. */
bool syntax_facility(const char *text, int *facility, const char **why);

/* A connector name: it appears in logs as connector=NAME, connectors=A,B. */
bool syntax_connector_name(const char *text, const char **why);

/* A certificate issuer CN (only its length is limited). */
bool syntax_issuer(const char *text, const char **why);

/* Reply text: it goes into an SMTP reply line, so printable ASCII only. */
bool syntax_reject_text(const char *text, const char **why);

/*
 * Split "[host]:port", "[host]", "host:port" or "host" into out; the
 * normalised host goes to host (out->host is left alone).
 */
bool syntax_smart_host(const char *text, struct smart_host *out, char *host,
                       size_t hostsz, const char **why);

/*
 * UTC dates of the configuration (valid_from, valid_until, monitor_until,
 * tempfail_until) and of explain's at= and report's --since/--until:
 * exactly "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ", years
 * 1970 to 9999, days of the real (Gregorian) calendar, hours 00-23 and no
 * leap second. 'T' and 'Z' must be upper case (as written by
 * syntax_format_utc); no spaces, offsets or fractions. Into *seconds the
 * seconds since 1970-01-01T00:00:00Z. why is a static string; the loader
 * prints the value itself ("key: "value": reason").
 */
bool syntax_utc_date(const char *text, int64_t *seconds, const char **why);

/* The last second syntax_utc_date accepts: 9999-12-31T23:59:59Z. */
#define SYNTAX_UTC_MAX INT64_C(253402300799)

/* Room for "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define SYNTAX_UTC_TEXT 21

/*
 * seconds as "YYYY-MM-DDTHH:MM:SSZ" into out (truncated to outsz like
 * snprintf); values outside 0 .. SYNTAX_UTC_MAX are clamped to that range.
 */
void syntax_format_utc(int64_t seconds, char *out, size_t outsz);

/*
 * The seconds of a UTC date and time given as numbers (a log's timestamp):
 * years 1970 to 9999, real days, hours 00-23, minutes 00-59, seconds 00-60
 * (a leap second is read as the next second). False when they are not one.
 */
bool syntax_utc_civil(int64_t y, int mo, int d, int h, int mi, int s,
                      int64_t *seconds);

/* The UTC year of seconds since 1970-01-01T00:00:00Z. */
int64_t syntax_utc_year(int64_t seconds);

#endif
