/*
 * report_line.c - forcetls report's line reader: a syslog, journal or
 * stderr line back into the values of the daemon's decision line.
 *
 * Owns: recognising the prefixes (RFC 3164, RFC 5424, ISO 8601 with an
 * offset, the daemon's stderr, none), their timestamps in UTC (an RFC 3164
 * line's in local time, as syslog writes them, its year guessed from the
 * time of reading), which program wrote
 * the line, and the logfmt grammar of policy_format_line with the exact
 * inverse of log.c's log_value escaping.
 *
 * Must not: trust any byte. Nothing here allocates, formats with input or
 * reads past len; a value is accepted only in a form log_value writes, so
 * a forged or cut line is skipped, never half-counted. Counting is
 * report_agg.c's.
 *
 * Threads: pure functions (localtime_r reads the time zone); no state.
 */
#include <string.h>
#include <time.h>

#include "config_syntax.h"
#include "report_line.h"
#include "text.h"

#define IDENT "forcetls-milter"
#define SECONDS_PER_DAY 86400

/* ---- dates ---- */

/*
 * The offset from UTC of local time at UTC instant t (tm_gmtoff), for
 * RFC 3164 stamps, which syslog writes in local time.
 */
static int64_t local_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    return localtime_r(&tt, &tm) == NULL ? 0 : tm.tm_gmtoff;
}

/* Local wall-clock seconds (as if UTC) to the UTC instant they name. */
static int64_t local_to_utc(int64_t wall)
{
    int64_t t = wall - local_offset(wall);

    /* Again at the first guess: right across a change of offset. */
    return wall - local_offset(t);
}

/* An RFC 3164 date in the year guessed from now; see report_line.h. */
bool report_line_bsd_time(int month, int day, int hour, int min, int sec,
                          int64_t now, int64_t *t)
{
    int64_t year = syntax_utc_year(now + local_offset(now));

    if (syntax_utc_civil(year, month, day, hour, min, sec, t) &&
        (*t = local_to_utc(*t)) <= now + SECONDS_PER_DAY)
        return true;
    if (!syntax_utc_civil(year - 1, month, day, hour, min, sec, t))
        return false;
    *t = local_to_utc(*t);
    return true;
}

/* ---- small scanners: each reads only [p, end) ---- */

/* Is c an ASCII digit? */
static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* n digits at p (inside end) as a number, or -1. */
static int digits(const char *p, const char *end, int n)
{
    int v = 0;

    if (end - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Does [p, end) start with the byte c? */
static bool at(const char *p, const char *end, char c)
{
    return p < end && *p == c;
}

/* The end of the token at p: the next space or end. */
static const char *token_end(const char *p, const char *end)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));

    return sp != NULL ? sp : end;
}

/*
 * "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|+hhmm|-...)" at p: UTC seconds into
 * *t and the byte after it into *next ('t' and 'z' in lower case too).
 */
static bool iso_time(const char *p, const char *end, int64_t *t,
                     const char **next)
{
    int y = digits(p, end, 4), mo, d, h, mi, s, oh, om = 0, sign;

    if (y < 0 || end - p < 20 || p[4] != '-' || p[7] != '-' ||
        (p[10] != 'T' && p[10] != 't') || p[13] != ':' || p[16] != ':')
        return false;
    mo = digits(p + 5, end, 2);
    d = digits(p + 8, end, 2);
    h = digits(p + 11, end, 2);
    mi = digits(p + 14, end, 2);
    s = digits(p + 17, end, 2);
    if (mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 ||
        !syntax_utc_civil(y, mo, d, h, mi, s, t))
        return false;
    p += 19;
    if (at(p, end, '.')) {
        const char *f = ++p;

        while (p < end && digit(*p) && p - f < 12)
            p++;
        if (p == f || (p < end && digit(*p)))
            return false;
    }
    if (at(p, end, 'Z') || at(p, end, 'z')) {
        *next = p + 1;
        return true;
    }
    if (!at(p, end, '+') && !at(p, end, '-'))
        return false;
    sign = *p++ == '-' ? -1 : 1;
    oh = digits(p, end, 2);
    if (oh < 0 || oh > 23)
        return false;
    p += 2;
    if (at(p, end, ':'))
        p++;
    om = digits(p, end, 2);
    if (om < 0 || om > 59)
        return false;
    /* local = UTC + offset */
    *t -= sign * (oh * 3600 + om * 60);
    *next = p + 2;
    return true;
}

/*
 * "Mmm dd hh:mm:ss" (dd may be space-padded; fractions, as journalctl -o
 * short-precise writes them, ignored) at p; see report_line_bsd_time.
 */
static bool bsd_time(const char *p, const char *end, int64_t now, int64_t *t,
                     const char **next)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int month = 0, day, h, mi, s;

    if (end - p < 15 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' ||
        p[12] != ':')
        return false;
    for (int i = 0; i < 12; i++)
        if (memcmp(p, months + 3 * i, 3) == 0)
            month = i + 1;
    day = p[4] == ' ' ? digits(p + 5, end, 1) : digits(p + 4, end, 2);
    h = digits(p + 7, end, 2);
    mi = digits(p + 10, end, 2);
    s = digits(p + 13, end, 2);
    if (month == 0 || day < 1 || h < 0 || mi < 0 || s < 0 ||
        !report_line_bsd_time(month, day, h, mi, s, now, t))
        return false;
    p += 15;
    if (at(p, end, '.')) {
        const char *f = ++p;

        while (p < end && digit(*p) && p - f < 12)
            p++;
        if (p == f)
            return false;
    }
    *next = p;
    return true;
}

/*
 * "IDENT[PID]:" or "IDENT:" then a space (or the end) at p: whether it is
 * a tag at all, and whether IDENT is the daemon's; the message after it.
 */
static bool tag(const char *p, const char *end, bool *ours, const char **msg)
{
    const char *e = token_end(p, end), *id_end;

    if (e == p || e[-1] != ':')
        return false;
    id_end = memchr(p, '[', (size_t)(e - p));
    if (id_end != NULL) {
        if (e - id_end < 3 || e[-2] != ']')
            return false;
    } else {
        id_end = e - 1;
    }
    *ours = (size_t)(id_end - p) == sizeof(IDENT) - 1 &&
        memcmp(p, IDENT, sizeof(IDENT) - 1) == 0;
    *msg = e < end ? e + 1 : e;
    return true;
}

/* After a timestamp: " host IDENT[PID]: " or " IDENT[PID]: " (no host). */
static bool host_and_tag(const char *p, const char *end, bool *ours,
                         const char **msg)
{
    if (!at(p, end, ' '))
        return false;
    p++;
    if (tag(p, end, ours, msg))
        return true;
    p = token_end(p, end);
    if (!at(p, end, ' '))
        return false;
    return tag(p + 1, end, ours, msg);
}

/* RFC 5424 structured data ("-" or "[...]..." with quoted params) at p. */
static const char *skip_sd(const char *p, const char *end)
{
    if (at(p, end, '-'))
        return p + 1;
    if (!at(p, end, '['))
        return NULL;
    while (at(p, end, '[')) {
        bool quoted = false;

        for (p++;; p++) {
            if (p >= end)
                return NULL;
            if (quoted && *p == '\\' && p + 1 < end) {
                p++;
            } else if (*p == '"') {
                quoted = !quoted;
            } else if (!quoted && *p == ']') {
                p++;
                break;
            }
        }
    }
    return p;
}

/*
 * After "<PRI>1 ": TIMESTAMP HOST APP PROCID MSGID SD [MSG]. A nil
 * ("-") APP is no ident; another one is a foreign line.
 */
static bool rfc5424(const char *p, const char *end, struct report_line *out,
                    bool *ours, const char **msg)
{
    const char *e;

    if (at(p, end, '-')) {
        p++;
    } else if (iso_time(p, end, &out->time, &e)) {
        out->have_time = true;
        p = e;
    } else {
        return false;
    }
    if (!at(p, end, ' '))
        return false;
    p = token_end(p + 1, end);            /* HOST */
    if (!at(p, end, ' '))
        return false;
    e = token_end(++p, end);              /* APP */
    *ours = (e - p == 1 && *p == '-') ||
        ((size_t)(e - p) == sizeof(IDENT) - 1 &&
         memcmp(p, IDENT, sizeof(IDENT) - 1) == 0);
    for (int i = 0; i < 2; i++) {         /* PROCID, MSGID */
        if (!at(e, end, ' '))
            return false;
        e = token_end(e + 1, end);
    }
    if (!at(e, end, ' '))
        return false;
    p = skip_sd(e + 1, end);
    if (p == NULL)
        return false;
    if (at(p, end, ' '))
        p++;
    if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;                           /* the BOM of a UTF-8 MSG */
    *msg = p;
    return true;
}

/*
 * The message part of a line, its time and whether the daemon wrote it.
 * False: no known prefix (the line is then read as a message: -o cat).
 */
static bool prefix(const char *p, const char *end, int64_t now,
                   struct report_line *out, bool *ours, const char **msg)
{
    const char *e;

    if (at(p, end, '<')) {
        const char *q = p + 1;

        while (q < end && digit(*q) && q - p <= 3)
            q++;
        if (q == p + 1 || !at(q, end, '>'))
            return false;
        p = q + 1;
        if (end - p >= 2 && p[0] == '1' && p[1] == ' ')
            return rfc5424(p + 2, end, out, ours, msg);
    }
    if (bsd_time(p, end, now, &out->time, &e) ||
        (p < end && digit(*p) && iso_time(p, end, &out->time, &e))) {
        out->have_time = true;
        return host_and_tag(e, end, ours, msg);
    }
    return tag(p, end, ours, msg);
}

/* ---- logfmt values ---- */

/* Can byte c stand unquoted? (log.c's log_plain_byte) */
static bool plain_byte(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

/*
 * A value at p: its end into *next (a space or end follows it) and, when
 * out is not NULL, the unescaped bytes and a NUL into out, their count
 * into *outlen. False when log_value would not have written it.
 */
static bool value_at(const char *p, const char *end, const char **next,
                     char *out, size_t *outlen)
{
    size_t n = 0;

    if (!at(p, end, '"')) {
        const char *q = p;

        while (q < end && *q != ' ') {
            if (!plain_byte((unsigned char)*q))
                return false;
            q++;
        }
        if (q == p)
            return false;          /* log_value quotes the empty value */
        if (out != NULL) {
            memcpy(out, p, (size_t)(q - p));
            n = (size_t)(q - p);
        }
        *next = q;
    } else {
        for (p++;; p++) {
            unsigned char c;
            int hi, lo;

            if (p >= end)
                return false;      /* unterminated: a cut line */
            c = (unsigned char)*p;
            if (c == '"')
                break;
            if (c < ' ' || c >= 0x7f)
                return false;      /* log_value escapes these */
            if (c == '\\') {
                if (++p >= end)
                    return false;
                switch (*p) {
                case '"': c = '"'; break;
                case '\\': c = '\\'; break;
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 't': c = '\t'; break;
                case 'x':
                    if (end - p < 3 || (hi = text_hex_value(p[1])) < 0 ||
                        (lo = text_hex_value(p[2])) < 0 || (hi | lo) == 0)
                        return false;
                    c = (unsigned char)(hi << 4 | lo);
                    p += 2;
                    break;
                default:
                    return false;
                }
            }
            if (out != NULL)
                out[n++] = (char)c;
        }
        *next = p + 1;
        if (*next < end && **next != ' ')
            return false;
    }
    if (out != NULL) {
        out[n] = '\0';
        *outlen = n;
    }
    return true;
}

/* Undo log_value(); see report_line.h. */
bool report_line_unescape(const char *in, size_t len, char *out,
                          size_t *outlen)
{
    const char *next;

    return value_at(in, in + len, &next, out, outlen) && next == in + len;
}

/* The field a key names, RF_COUNT for a key the report does not count. */
static enum report_field field_of(const char *k, size_t len)
{
    static const struct {
        const char *name;
        size_t len;
    } names[RF_COUNT] = {
#define F(f, n) [f] = { n, sizeof(n) - 1 }
        F(RF_DECISION, "decision"), F(RF_WOULD, "would"),
        F(RF_DIRECTION, "direction"), F(RF_CONNECTOR, "connector"),
        F(RF_STAGE, "stage"), F(RF_REASON, "reason"), F(RF_CLIENT, "client"),
        F(RF_SENDER, "sender"), F(RF_TLS, "tls"), F(RF_CIPHER, "cipher"),
        F(RF_CERT, "cert"), F(RF_ISSUER, "issuer"),
#undef F
    };

    /* Every line has a dozen keys: compare the first byte before the rest. */
    for (int f = 0; f < RF_COUNT; f++)
        if (names[f].len == len && names[f].name[0] == k[0] &&
            memcmp(names[f].name + 1, k + 1, len - 1) == 0)
            return (enum report_field)f;
    return RF_COUNT;
}

/* Is c a byte of a key (policy_format_line's keys: a-z and '_')? */
static bool key_byte(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

/* The keys without which a line is not a decision line. */
#define REQUIRED ((1u << RF_DECISION) | (1u << RF_DIRECTION) | \
                  (1u << RF_CONNECTOR) | (1u << RF_STAGE) | (1u << RF_REASON))

/* The logfmt message part: a decision line or not. */
static enum report_line_kind logfmt(const char *p, const char *end,
                                    struct report_line *out, char *scratch)
{
    unsigned seen = 0;
    bool first = true;

    if (end - p < 2 || memcmp(p, "s=", 2) != 0)
        return REPORT_LINE_OTHER;
    while (p < end) {
        const char *k = p, *next;
        enum report_field f;

        while (p < end && key_byte(*p))
            p++;
        if (p == k || !at(p, end, '='))
            goto bad;
        f = field_of(k, (size_t)(p - k));
        if (first && (p - k != 1 || *k != 's'))
            goto bad;
        first = false;
        p++;
        if (f < RF_COUNT && (seen & (1u << f)))
            goto bad;              /* the daemon never repeats a key */
        if (f < RF_COUNT) {
            if (!value_at(p, end, &next, scratch, &out->len[f]))
                goto bad;
            out->value[f] = scratch;
            scratch += out->len[f] + 1;
            seen |= 1u << f;
        } else if (!value_at(p, end, &next, NULL, NULL)) {
            goto bad;
        }
        p = next;
        if (p < end && ++p == end)
            goto bad;              /* a trailing space */
    }
    if ((seen & REQUIRED) != REQUIRED)
        return REPORT_LINE_OTHER;
    return REPORT_LINE_DECISION;
bad:
    /* Cut or forged after the decision's own keys: a broken decision line. */
    return (seen & ((1u << RF_DECISION) | (1u << RF_DIRECTION))) ==
        ((1u << RF_DECISION) | (1u << RF_DIRECTION)) ?
        REPORT_LINE_MALFORMED : REPORT_LINE_OTHER;
}

/* Read one line; see report_line.h. */
enum report_line_kind report_line_parse(const char *line, size_t len,
                                        int64_t now, struct report_line *out,
                                        char *scratch, size_t scratchsz)
{
    const char *end = line + len, *msg = line;
    bool ours = true;

    memset(out, 0, sizeof *out);
    if (len > REPORT_LINE_MAX)
        return REPORT_LINE_TOO_LONG;
    if (scratchsz < REPORT_SCRATCH_SIZE(len))
        return REPORT_LINE_TOO_LONG;
    if (len > 0 && end[-1] == '\r')
        end--;
    if (!prefix(line, end, now, out, &ours, &msg)) {
        out->have_time = false;
        msg = line;
        ours = true;
    }
    if (!ours)
        return REPORT_LINE_FOREIGN;
    return logfmt(msg, end, out, scratch);
}
