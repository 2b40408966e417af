/*
 * log.h - syslog and stderr output, and logfmt escaping of values.
 *
 * Every line goes to syslog; with -f also to stderr. Values that come from
 * the network are escaped with log_value() so that one event is always one
 * line and no value can forge another key.
 */
#ifndef FORCETLS_LOG_H
#define FORCETLS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/*
 * Longest line log_msg() writes, NUL included; a longer line is cut and
 * ends in "...". A decision line of escaped values fits (see policy.h).
 */
#define LOG_LINE_MAX 8192

/* Longest value (in input bytes) we log; longer values are cut and end in "...". */
#define LOG_VALUE_MAX 256
/* A buffer that always holds an escaped value of LOG_VALUE_MAX bytes. */
#define LOG_VALUE_BUF (LOG_VALUE_MAX * 4 + 8)

void log_open(const char *ident, int facility, bool to_stderr);
/* Change facility after a reload (keeps ident and stderr). */
void log_set_facility(int facility);
void log_set_debug(bool debug);
bool log_debug_enabled(void);

/* printf-style; the format must be a literal. Priority: LOG_ERR etc. */
void log_msg(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Escape a value for logfmt into out (at most outsz bytes, NUL included):
 * plain when it is non-empty and only printable ASCII without space, '"',
 * '=' or '\\'; otherwise double-quoted with \" \\ \n \r \t and \xHH for
 * other bytes. Values longer than LOG_VALUE_MAX bytes, or whose escaped
 * form does not fit out, are cut before a whole escape and end in "..."
 * (inside the quotes); an out of fewer than 8 bytes gets "" instead.
 * NULL is written as "none".
 */
void log_value(const char *value, char *out, size_t outsz);

/*
 * As log_value, but always in double quotes (a plain value gets them too),
 * for a value quoted inside a sentence; out of LOG_VALUE_BUF + 2 bytes
 * holds every value, a smaller one is cut like snprintf.
 */
void log_quoted(const char *value, char *out, size_t outsz);

/* Facility name ("mail", "local0", ...) -> LOG_*; -1 if unknown. */
int log_facility_from_name(const char *name);

#endif
