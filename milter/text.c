/*
 * text.c - byte-string helpers shared by the modules (see text.h).
 *
 * Must not depend on the locale. Thread safety: no state.
 */
#include <string.h>

#include "text.h"

/* Copy src into dst, cut to fit; dst is always terminated. */
void text_copy(char *dst, size_t dstsz, const char *src)
{
    size_t len;

    if (dstsz == 0)
        return;
    len = strnlen(src, dstsz - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Length of the valid UTF-8 sequence at s; see text.h. */
size_t text_utf8_seq_len(const unsigned char *s, size_t len)
{
    size_t n;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* Overlong forms, surrogates, and code points beyond U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}
