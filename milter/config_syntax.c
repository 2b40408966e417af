/*
 * config_syntax.c - the syntax of single forcetls.conf values.
 *
 * Owns what one value may look like: socket specifications, smart hosts
 * and their next-hop text, octal modes, keywords (actions, TLS versions,
 * tls_settings), user, group and connector names, file names, syslog
 * facilities, issuer and reject texts, UTC dates (and their printing); and
 * the ASCII helpers the loader shares. config.c decides where a value goes
 * and which rules span keys.
 *
 * Must not: know libconfig, the snapshot being built or any other key;
 * allocate, log or exit (a bad value is a false return with a reason);
 * depend on the locale (ASCII helpers below, no <ctype.h>, no strtol);
 * use the C library's time functions for dates (timegm, mktime and strptime
 * depend on TZ, the locale or extensions; the calendar is computed here).
 *
 * Thread safety: pure functions of their arguments over read-only tables,
 * so they may run in any thread, as config_load and -p checks do.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "cidr.h"
#include "config_syntax.h"
#include "log.h"
#include "text.h"

#define NAME_MAX_LEN 64          /* connector names */
#define ACCOUNT_MAX_LEN 32       /* user and group names */
#define REJECT_TEXT_MAX 200
#define STRINGIFY(x) #x
#define NUMBER_TEXT(x) STRINGIFY(x)

struct keyword {
    const char *name;
    int value;
};

static const struct keyword actions[] = {
    { "reject", ACTION_REJECT }, { "tempfail", ACTION_TEMPFAIL },
    { "monitor", ACTION_MONITOR }, { NULL, 0 },
};
static const struct keyword settings_words[] = {
    { "encryption-only", TLS_SETTINGS_ENCRYPTION_ONLY },
    { "certificate-validation", TLS_SETTINGS_CERTIFICATE_VALIDATION },
    { "domain-validation", TLS_SETTINGS_DOMAIN_VALIDATION }, { NULL, 0 },
};
static const struct keyword versions[] = {
    { "TLSv1", TLS_VERSION_1_0 }, { "TLSv1.1", TLS_VERSION_1_1 },
    { "TLSv1.2", TLS_VERSION_1_2 }, { "TLSv1.3", TLS_VERSION_1_3 },
    { NULL, 0 },
};
static const struct keyword mtas[] = {
    { "auto", MTA_SETTING_AUTO }, { "postfix", MTA_SETTING_POSTFIX },
    { "sendmail", MTA_SETTING_SENDMAIL }, { NULL, 0 },
};
static const struct keyword *const word_sets[] = {
    [SYNTAX_ACTIONS] = actions,
    [SYNTAX_TLS_SETTINGS] = settings_words,
    [SYNTAX_TLS_VERSIONS] = versions,
    [SYNTAX_MTA] = mtas,
};

/* ---- ASCII helpers (the locale must not change what a file means) ---- */

/* strcmp ignoring ASCII case. */
int syntax_casecmp(const char *a, const char *b)
{
    for (; *a != '\0' && text_ascii_lower(*a) == text_ascii_lower(*b); a++, b++)
        continue;
    return (unsigned char)text_ascii_lower(*a) - (unsigned char)text_ascii_lower(*b);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Letters, digits, '.', '_' and '-', starting with a letter or digit. */
static bool is_simple_name(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max || !is_alnum(s[0]))
        return false;
    for (; *s != '\0'; s++)
        if (!is_alnum(*s) && *s != '.' && *s != '_' && *s != '-')
            return false;
    return true;
}

/* Any C0 control byte or DEL (line breaks would forge log lines, replies). */
bool syntax_has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* len decimal digits (1..9) with value <= max. */
bool syntax_decimal(const char *s, size_t len, unsigned long max,
                    unsigned long *out)
{
    unsigned long v = 0;

    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return v <= max;
}

/* s starts with prefix. */
bool syntax_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Set *why and fail. */
static bool why_fail(const char **why, const char *text)
{
    *why = text;
    return false;
}

/* ---- Keywords ---- */

/* Keyword -> value, ASCII case-insensitively. */
static bool keyword_find(const struct keyword *kw, const char *text, int *value)
{
    for (; kw->name != NULL; kw++)
        if (syntax_casecmp(kw->name, text) == 0) {
            *value = kw->value;
            return true;
        }
    return false;
}

/* Value -> keyword, "unknown" when out of range. */
static const char *keyword_name(const struct keyword *kw, int value)
{
    for (; kw->name != NULL; kw++)
        if (kw->value == value)
            return kw->name;
    return "unknown";
}

/* "a, b or c" for messages. */
static void keyword_list(const struct keyword *kw, char *out, size_t outsz)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; kw[i].name != NULL && used < outsz; i++) {
        const char *sep = i == 0 ? "" : kw[i + 1].name == NULL ? " or " : ", ";
        int n = snprintf(out + used, outsz - used, "%s%s", sep, kw[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* One of the keywords of a set (see config_syntax.h). */
bool syntax_keyword(enum syntax_words words, const char *text, int *value,
                    char *why, size_t whysz)
{
    char list[160];

    if (!keyword_find(word_sets[words], text, value)) {
        keyword_list(word_sets[words], list, sizeof list);
        snprintf(why, whysz, "must be %s", list);
        return false;
    }
    return true;
}

/* Keyword of an action (see config.h). */
const char *config_action_name(enum action action)
{
    return keyword_name(actions, (int)action);
}

/* Keyword of a tls_settings value (see config.h). */
const char *config_tls_settings_name(enum tls_settings settings)
{
    return keyword_name(settings_words, (int)settings);
}

/* ---- Single values ---- */

/* Check a milter or policy socket specification (see config.h). */
bool config_socket_valid(const char *spec, const char **err)
{
    const char *why = NULL;

    if (spec == NULL || spec[0] == '\0' || syntax_has_control(spec)) {
        why = "empty, or contains a control character";
    } else if (syntax_has_prefix(spec, "unix:") ||
               syntax_has_prefix(spec, "local:")) {
        const char *path = strchr(spec, ':') + 1;
        size_t len = strlen(path);
        if (path[0] != '/')
            why = "the socket path must be absolute";
        else if (len >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
            why = "the socket path is too long for a unix socket";
        else if (path[len - 1] == '/')
            why = "the socket path names a directory";
    } else if (syntax_has_prefix(spec, "inet:") ||
               syntax_has_prefix(spec, "inet6:")) {
        bool v6 = syntax_has_prefix(spec, "inet6:");
        const char *port = strchr(spec, ':') + 1;
        const char *at = strchr(port, '@');
        unsigned long num;
        unsigned char addr[16];
        char host[ADDR_DOMAIN_MAX];
        struct ip_addr ip;
        if (at == NULL)
            why = "write the address to listen on, e.g. inet:8891@127.0.0.1"
                  " (without @HOST libmilter listens on all interfaces)";
        else if (!syntax_decimal(port, (size_t)(at - port), 65535, &num) ||
                 num == 0)
            why = "the port must be a number from 1 to 65535";
        else if (inet_pton(v6 ? AF_INET6 : AF_INET, at + 1, addr) == 1)
            why = NULL;
        else if (ip_parse(at + 1, &ip) ||
                 !addr_normalize_domain(at + 1, strlen(at + 1), host,
                                        sizeof host, NULL))
            why = v6 ? "the host must be an IPv6 address or a host name"
                     : "the host must be an IPv4 address or a host name";
    } else {
        why = "must be unix:/PATH, local:/PATH, inet:PORT@HOST or"
              " inet6:PORT@HOST";
    }
    if (why != NULL && err != NULL)
        *err = why;
    return why == NULL;
}

/* The stored form of a valid socket specification (see config.h). */
bool config_socket_canonical(const char *spec, char *out, size_t outsz)
{
    int n = syntax_has_prefix(spec, "local:")
        ? snprintf(out, outsz, "unix:%s", spec + strlen("local:"))
        : snprintf(out, outsz, "%s", spec);

    return n >= 0 && (size_t)n < outsz;
}

/* An octal permission string (see config_syntax.h). */
bool syntax_mode(const char *text, mode_t *mode, const char **why)
{
    size_t len = strlen(text);
    unsigned v = 0;

    if (len < 3 || len > 4 || (len == 4 && text[0] != '0'))
        return why_fail(why, "not an octal mode such as \"0660\"");
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '7')
            return why_fail(why, "not an octal mode such as \"0660\"");
        v = v * 8 + (unsigned)(text[i] - '0');
    }
    *mode = (mode_t)v;
    return true;
}

/* A user or group name. */
bool syntax_account(const char *text, const char **why)
{
    return is_simple_name(text, ACCOUNT_MAX_LEN) ||
           why_fail(why, "not a valid user or group name");
}

/* An absolute file name. */
bool syntax_abspath(const char *text, const char **why)
{
    size_t len = strlen(text);

    return (text[0] == '/' && text[len - 1] != '/' && len < PATH_MAX) ||
           why_fail(why, "must be an absolute file name");
}

/* A syslog facility name, as log.h knows them. */
bool syntax_facility(const char *text, int *facility, const char **why)
{
    char lower[32];
    size_t i;
    int value;

    for (i = 0; text[i] != '\0' && i + 1 < sizeof lower; i++)
        lower[i] = text_ascii_lower(text[i]);
    lower[i] = '\0';
    value = text[i] == '\0' ? log_facility_from_name(lower) : -1;
    if (value < 0)
        return why_fail(why, "unknown syslog facility"
                        " (mail, daemon, user, local0 ... local7)");
    *facility = value;
    return true;
}

/* A connector name (see config_syntax.h). */
bool syntax_connector_name(const char *text, const char **why)
{
    return is_simple_name(text, NAME_MAX_LEN) ||
           why_fail(why, "a connector name is 1 to " NUMBER_TEXT(NAME_MAX_LEN)
                    " letters, digits, '.', '_' or '-', starting with a"
                    " letter or digit");
}

/* An issuer CN: it must fit where certificate names are kept. */
bool syntax_issuer(const char *text, const char **why)
{
    return strlen(text) < TLSFACTS_NAME_MAX ||
           why_fail(why, "longer than a certificate name can be");
}

/* Reply text (see config_syntax.h). */
bool syntax_reject_text(const char *text, const char **why)
{
    if (strlen(text) > REJECT_TEXT_MAX)
        return why_fail(why, "longer than " NUMBER_TEXT(REJECT_TEXT_MAX)
                        " characters");
    for (const unsigned char *p = (const unsigned char *)text; *p != 0; p++)
        if (*p < 0x20 || *p > 0x7e)
            return why_fail(why, "only printable ASCII may be used");
    return true;
}

/* ---- Smart hosts ---- */

/* Split "[host]:port", "[host]", "host:port", "host" into out. */
bool syntax_smart_host(const char *text, struct smart_host *out, char *host,
                       size_t hostsz, const char **why)
{
    const char *start = text, *end, *port = NULL;
    char raw[ADDR_DOMAIN_MAX];
    struct ip_addr ip;
    unsigned long num = 0;

    out->bracketed = text[0] == '[';
    if (out->bracketed) {
        start = text + 1;
        if ((end = strchr(start, ']')) == NULL)
            return why_fail(why, "missing ']'");
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return why_fail(why, "unexpected text after ']'");
    } else {
        end = strchr(text, ':');
        if (end != NULL && strchr(end + 1, ':') != NULL)
            return why_fail(why, "an IPv6 address must be in brackets");
        if (end != NULL)
            port = end + 1;
        else
            end = text + strlen(text);
    }
    if (end == start || (size_t)(end - start) >= sizeof raw)
        return why_fail(why, "empty or overlong host");
    memcpy(raw, start, (size_t)(end - start));
    raw[end - start] = '\0';
    if (port != NULL &&
        (!syntax_decimal(port, strlen(port), 65535, &num) || num == 0))
        return why_fail(why, "the port must be a number from 1 to 65535");
    out->port = (unsigned)num;
    if (ip_parse(raw, &ip)) {
        if (!out->bracketed)
            return why_fail(why, "an IP address must be in brackets: [address]");
        ip_format(&ip, host, hostsz);
        return true;
    }
    return addr_normalize_domain(raw, strlen(raw), host, hostsz, why);
}

/* The next-hop text Postfix would use for host (see config.h). */
size_t config_smart_host_text(const struct smart_host *host, char *out,
                              size_t outsz)
{
    int n;

    if (host->bracketed && host->port != 0)
        n = snprintf(out, outsz, "[%s]:%u", host->host, host->port);
    else if (host->bracketed)
        n = snprintf(out, outsz, "[%s]", host->host);
    else if (host->port != 0)
        n = snprintf(out, outsz, "%s:%u", host->host, host->port);
    else
        n = snprintf(out, outsz, "%s", host->host);
    return n < 0 ? 0 : (size_t)n;
}

/* ---- UTC dates ---- */

#define DATE_SHAPE "not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"
#define SECONDS_PER_DAY 86400

/* Gregorian leap year: every 4th, except centuries not divisible by 400. */
static bool leap_year(unsigned long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days in month m (1..12) of year y. */
static unsigned long month_days(unsigned long y, unsigned long m)
{
    static const unsigned char days[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    };

    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/*
 * Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): March-based years put the leap day
 * last, so a year's day count needs no table; eras are 400 years.
 */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

/* text has the shape of pattern: '#' a digit, other bytes ASCII caseless. */
static bool shape_is(const char *text, const char *pattern, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (pattern[i] == '#' ? !is_digit(text[i])
                              : text_ascii_lower(text[i]) !=
                                text_ascii_lower(pattern[i]))
            return false;
    }
    return true;
}

/* A UTC date or instant (see config_syntax.h). */
bool syntax_utc_date(const char *text, int64_t *seconds, const char **why)
{
    static const char full[] = "####-##-##T##:##:##Z";
    size_t len = strlen(text);
    unsigned long y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;

    if (len == 10 && shape_is(text, full, 10)) {
        /* a day: midnight */
    } else if (len >= 19 && shape_is(text, full, 19) &&
               (len > 20 || text_ascii_lower(text[len - 1]) != 'z')) {
        return why_fail(why, "the time must end in Z (UTC), as in"
                        " 2027-03-01T12:00:00Z; no offsets or fractions");
    } else if (len != 20 || !shape_is(text, full, 20)) {
        return why_fail(why, DATE_SHAPE);
    } else if (text[10] != 'T' || text[19] != 'Z') {
        return why_fail(why, "write T and Z in upper case:"
                        " YYYY-MM-DDTHH:MM:SSZ");
    } else {
        /* shape_is saw the digits: the reads below cannot fail */
        (void)syntax_decimal(text + 11, 2, 99, &h);
        (void)syntax_decimal(text + 14, 2, 99, &mi);
        (void)syntax_decimal(text + 17, 2, 99, &s);
    }
    (void)syntax_decimal(text, 4, 9999, &y);
    (void)syntax_decimal(text + 5, 2, 99, &mo);
    (void)syntax_decimal(text + 8, 2, 99, &d);
    if (y < 1970)
        return why_fail(why, "before 1970: dates are 1970-01-01 to 9999-12-31");
    if (mo < 1 || mo > 12)
        return why_fail(why, "no such month: months are 01 to 12");
    if (d < 1 || d > month_days(y, mo))
        return why_fail(why, "no such day in that month");
    if (h > 23 || mi > 59 || s > 59)
        return why_fail(why, "no such time of day: 00:00:00 to 23:59:59");
    *seconds = days_from_civil((int64_t)y, (int64_t)mo, (int64_t)d) *
               SECONDS_PER_DAY + (int64_t)(h * 3600 + mi * 60 + s);
    return true;
}

/* Seconds of a UTC date and time given as numbers (see config_syntax.h). */
bool syntax_utc_civil(int64_t y, int mo, int d, int h, int mi, int s,
                      int64_t *seconds)
{
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
        (unsigned long)d > month_days((unsigned long)y, (unsigned long)mo) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
        return false;
    *seconds = days_from_civil(y, mo, d) * SECONDS_PER_DAY +
               (int64_t)h * 3600 + (int64_t)mi * 60 + s;
    return true;
}

/* The UTC year of seconds (see config_syntax.h). */
int64_t syntax_utc_year(int64_t seconds)
{
    int64_t days = (seconds >= 0 ? seconds : seconds - (SECONDS_PER_DAY - 1)) /
                   SECONDS_PER_DAY, y, m, d;

    civil_from_days(days, &y, &m, &d);
    return y;
}

/* seconds as "YYYY-MM-DDTHH:MM:SSZ" (see config_syntax.h). */
void syntax_format_utc(int64_t seconds, char *out, size_t outsz)
{
    int64_t y, m, d, sec;

    if (seconds < 0)
        seconds = 0;
    if (seconds > SYNTAX_UTC_MAX)
        seconds = SYNTAX_UTC_MAX;
    civil_from_days(seconds / SECONDS_PER_DAY, &y, &m, &d);
    sec = seconds % SECONDS_PER_DAY;
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m,
             (int)d, (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
}
