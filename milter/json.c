/*
 * json.c - JSON output shared by the forcetls tool's commands.
 *
 * Owns the one JSON string writer: every string a command prints comes
 * from a configuration file, the command line or a log, so it is escaped
 * here whatever bytes it holds: quotes, backslashes and control bytes as
 * escapes, valid UTF-8 as it is, every other byte as the four characters
 * \xHH, as the daemon's log writes it (not \u00XX, which reads as a real
 * character and would make two values one), so the output is always valid
 * JSON.
 *
 * Must not: format strings from input. Threads: no state.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "text.h"

/* s as a JSON string literal; NULL as null. */
void json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len;

    if (s == NULL) {
        fputs("null", out);
        return;
    }
    len = strlen(s);
    putc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        size_t n;

        switch (c) {
        case '"': fputs("\\\"", out); continue;
        case '\\': fputs("\\\\", out); continue;
        case '\b': fputs("\\b", out); continue;
        case '\f': fputs("\\f", out); continue;
        case '\n': fputs("\\n", out); continue;
        case '\r': fputs("\\r", out); continue;
        case '\t': fputs("\\t", out); continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
        } else if (c < 0x80) {
            putc(c, out);
        } else if ((n = text_utf8_seq_len(p + i, len - i)) > 0) {
            fwrite(p + i, 1, n, out);
            i += n - 1;
        } else {
            /* As the daemon's log writes it; never a character it is not. */
            fprintf(out, "\\\\x%02x", c);
        }
    }
    putc('"', out);
}
