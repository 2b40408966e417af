/*
 * text.h - byte-string helpers every module needs the same way:
 * bounded copies and locale-independent ASCII case folding.
 */
#ifndef FORCETLS_TEXT_H
#define FORCETLS_TEXT_H

#include <stddef.h>

/* Copy src into dst (dstsz > 0 bytes), cut to fit; dst is always terminated. */
void text_copy(char *dst, size_t dstsz, const char *src);

/* Lower-case one ASCII letter; every other byte is left alone, whatever the locale. */
static inline char text_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

#endif
