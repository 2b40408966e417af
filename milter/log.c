/*
 * log.c - syslog and stderr output, and logfmt escaping of values.
 *
 * Owns where log lines go (syslog always; stderr too in the foreground) and
 * how untrusted values are written into them. It must never let a value
 * from the network end a line or forge a key: log_value() is the only way
 * such a value reaches a log line.
 *
 * Thread safety: the settings are written at startup and by the reloader
 * (facility, atomically); log_msg() formats into a stack buffer and hands
 * the finished line to syslog(3) and to one write(2) on stderr, both of
 * which are safe to call from many threads.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "forcetls-milter";
static atomic_bool log_to_stderr;
static atomic_bool log_debug;
static atomic_int log_facility = LOG_MAIL;

static const struct {
    const char *name;
    int facility;
} log_facilities[] = {
    { "mail", LOG_MAIL },     { "daemon", LOG_DAEMON }, { "user", LOG_USER },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
    { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* Start logging as ident to facility, and to stderr when asked. */
void log_open(const char *ident, int facility, bool to_stderr)
{
    log_ident = ident;
    atomic_store(&log_facility, facility);
    atomic_store(&log_to_stderr, to_stderr);
    openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* Use another facility from now on (after a reload). */
void log_set_facility(int facility)
{
    atomic_store(&log_facility, facility);
}

/* Turn debug lines on or off. */
void log_set_debug(bool debug)
{
    atomic_store(&log_debug, debug);
}

/* Are debug lines wanted? Callers skip building them otherwise. */
bool log_debug_enabled(void)
{
    return atomic_load(&log_debug);
}

/* Write one finished line to stderr, prefixed like syslog would. */
static void log_write_stderr(const char *line)
{
    char buf[LOG_LINE_MAX + 64];
    int len = snprintf(buf, sizeof(buf), "%s[%ld]: %s\n", log_ident,
                       (long)getpid(), line);

    if (len < 0)
        return;
    if ((size_t)len >= sizeof(buf)) {
        len = (int)sizeof(buf) - 1;
        buf[len - 1] = '\n';
    }
    /* One write per line, so lines from several threads do not interleave. */
    if (write(STDERR_FILENO, buf, (size_t)len) < 0)
        return;
}

/* Log a printf-style message at priority. */
void log_msg(int priority, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    int len;

    if (priority == LOG_DEBUG && !log_debug_enabled())
        return;
    va_start(ap, fmt);
    len = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (len >= (int)sizeof(line))
        memcpy(line + sizeof(line) - 4, "...", 3);
    syslog(priority | atomic_load(&log_facility), "%s", line);
    if (atomic_load(&log_to_stderr))
        log_write_stderr(line);
}

/* Can byte c stand unquoted in a logfmt value? */
static bool log_plain_byte(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

/* The escaped form of byte c inside quotes, written to esc; returns its length. */
static size_t log_escape_byte(unsigned char c, char esc[5])
{
    static const char hex[] = "0123456789abcdef";

    switch (c) {
    case '"':  memcpy(esc, "\\\"", 2); return 2;
    case '\\': memcpy(esc, "\\\\", 2); return 2;
    case '\n': memcpy(esc, "\\n", 2);  return 2;
    case '\r': memcpy(esc, "\\r", 2);  return 2;
    case '\t': memcpy(esc, "\\t", 2);  return 2;
    default:
        if (c >= ' ' && c < 0x7f) {
            esc[0] = (char)c;
            return 1;
        }
        esc[0] = '\\';
        esc[1] = 'x';
        esc[2] = hex[c >> 4];
        esc[3] = hex[c & 0xf];
        return 4;
    }
}

/* Does value need quoting? */
static bool log_needs_quotes(const char *value)
{
    if (*value == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (!log_plain_byte(*p))
            return true;
    return false;
}

/* Escape value for logfmt into out; see log.h. */
void log_value(const char *value, char *out, size_t outsz)
{
    /* Room for the closing quote, "..." and the NUL after what fits. */
    const size_t limit = outsz - 6;
    bool quoted;
    size_t used = 0, in = 0;

    if (outsz < 8) {
        /* No room for a value and its marker: write nothing rather than half. */
        if (outsz > 0)
            out[0] = '\0';
        return;
    }
    if (value == NULL)
        value = "none";
    quoted = log_needs_quotes(value);
    if (quoted && used < limit)
        out[used++] = '"';
    for (; value[in] != '\0' && in < LOG_VALUE_MAX; in++) {
        char esc[5];
        size_t n = log_escape_byte((unsigned char)value[in], esc);

        if (used + n > limit)
            break;
        memcpy(out + used, esc, n);
        used += n;
    }
    if (value[in] != '\0') {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    if (quoted)
        out[used++] = '"';
    out[used] = '\0';
}

/* log_value, always in double quotes; see log.h. */
void log_quoted(const char *value, char *out, size_t outsz)
{
    char esc[LOG_VALUE_BUF];

    log_value(value, esc, sizeof(esc));
    snprintf(out, outsz, esc[0] == '"' ? "%s" : "\"%s\"", esc);
}

/* Facility name -> LOG_* value, or -1. */
int log_facility_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
        if (strcasecmp(name, log_facilities[i].name) == 0)
            return log_facilities[i].facility;
    return -1;
}
