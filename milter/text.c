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
