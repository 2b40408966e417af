/*
 * report_line.h - forcetls report: one log line read back into the values
 * of a decision line (the exact inverse of log.c's escaping), with its
 * timestamp in UTC when the syslog prefix carries one.
 *
 * Pure functions of their arguments: no I/O, no allocation, no global
 * state; every byte of the line is hostile.
 */
#ifndef FORCETLS_REPORT_LINE_H
#define FORCETLS_REPORT_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line read (newline excluded); a longer one is skipped. */
#define REPORT_LINE_MAX (64 * 1024)

/* The values of a decision line the report counts. */
enum report_field {
    RF_DECISION, RF_WOULD, RF_DIRECTION, RF_CONNECTOR, RF_STAGE, RF_REASON,
    RF_CLIENT, RF_SENDER, RF_TLS, RF_CIPHER, RF_CERT, RF_ISSUER, RF_COUNT
};

/* What a line is. */
enum report_line_kind {
    REPORT_LINE_DECISION = 0,  /* a decision line: out holds its values */
    REPORT_LINE_FOREIGN,       /* another program's line (IDENT/APP) */
    REPORT_LINE_OTHER,         /* no decision line (another message, no prefix) */
    REPORT_LINE_MALFORMED,     /* a decision line that does not read back (cut,
                                  bad escape, a value the daemon never writes) */
    REPORT_LINE_TOO_LONG,      /* over REPORT_LINE_MAX bytes */
};

/* One decision line: each value unescaped and NUL-terminated, or NULL. */
struct report_line {
    bool have_time;
    int64_t time;                 /* UTC seconds, when have_time */
    const char *value[RF_COUNT];
    size_t len[RF_COUNT];
};

/*
 * Room report_line_parse needs in scratch for a line of len bytes: the
 * values are never longer unescaped than escaped, plus their NULs.
 */
#define REPORT_SCRATCH_SIZE(len) ((len) + RF_COUNT + 1)

/*
 * Read one line (len bytes, no newline; a trailing CR is ignored). Its
 * message part follows an RFC 3164 prefix ("Mmm dd hh:mm:ss host
 * IDENT[PID]: ", the year guessed from now: the current local year, or the
 * previous one when the line would be more than a day in the future), an
 * RFC 5424 prefix ("<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD "), an ISO
 * 8601 one with an offset ("YYYY-MM-DDTHH:MM:SS[.frac](Z|+hhmm|+hh:mm)
 * host IDENT[PID]: ", journalctl -o short-iso), the daemon's own stderr
 * ("forcetls-milter[PID]: ") or nothing (journalctl -o cat). A decision
 * line is logfmt starting "s=" with the keys decision, direction,
 * connector, stage and reason. On REPORT_LINE_DECISION out->value[] point
 * into scratch (at least REPORT_SCRATCH_SIZE(len) bytes).
 */
enum report_line_kind report_line_parse(const char *line, size_t len,
                                        int64_t now, struct report_line *out,
                                        char *scratch, size_t scratchsz);

/*
 * Undo log_value(): in (len bytes) is one value as log.c writes it, plain
 * or quoted. Writes the value and a NUL to out (at least len + 1 bytes)
 * and its length to *outlen. Every form log_value writes reads back
 * exactly; a few it never writes are read too (\xHH for a printable byte,
 * upper-case hex, quotes around a value that needed none), as their plain
 * meaning. False for what no escaping means (unterminated quote, unknown
 * escape, \x00, a raw byte that would have been escaped). A value cut by
 * the daemon keeps its "...".
 */
bool report_line_unescape(const char *in, size_t len, char *out,
                          size_t *outlen);

/*
 * An RFC 3164 month-day-time, local time (the TZ of the reader, as syslog
 * and journalctl write it), in the year guessed from now (see above): UTC
 * seconds into *t. False for an impossible date.
 */
bool report_line_bsd_time(int month, int day, int hour, int min, int sec,
                          int64_t now, int64_t *t);

#endif
