/*
 * text.h - byte-string helpers every module needs the same way:
 * bounded copies, UTF-8 sequences, hex digits and locale-independent
 * ASCII case folding.
 */
#ifndef FORCETLS_TEXT_H
#define FORCETLS_TEXT_H

#include <stddef.h>

/* Copy src into dst (dstsz > 0 bytes), cut to fit; dst is always terminated. */
void text_copy(char *dst, size_t dstsz, const char *src);

/*
 * Length of the valid UTF-8 sequence at s (at most len > 0 bytes): 1 for
 * ASCII, 2-4 for a well-formed sequence, 0 for anything else (a stray
 * continuation byte, an overlong form, a surrogate, beyond U+10FFFF, or a
 * sequence cut by len).
 */
size_t text_utf8_seq_len(const unsigned char *s, size_t len);

/* The value of one ASCII hex digit (either case), or -1. */
static inline int text_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Lower-case one ASCII letter; every other byte is left alone, whatever the locale. */
static inline char text_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

#endif
