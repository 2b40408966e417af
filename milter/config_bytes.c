/*
 * config_bytes.c - the bytes of forcetls.conf, before libconfig sees them.
 *
 * Owns reading the whole file into memory (config_read_bytes) and the
 * check that those bytes are all there is (config_check_bytes): no NUL,
 * which would make libconfig stop early, and no @include, which would make
 * it read another file that is not part of the validated bytes. The daemon
 * keeps exactly the bytes it validated (confbytes.c), so both matter.
 *
 * Must not: parse the configuration (config.c does), log or exit.
 *
 * Thread safety: no state; each call works on its own buffer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

/* Read the whole file into a NUL-terminated buffer (see config.h). */
char *config_read_bytes(const char *path, size_t *len, struct config_error *err)
{
    FILE *f;
    struct stat st;
    char *buf = NULL;
    size_t got = 0, cap = 0;
    int e = 0;

    err->text[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        snprintf(err->text, sizeof err->text, "(none):0: no file given");
        return NULL;
    }
    if ((f = fopen(path, "re")) == NULL) {
        snprintf(err->text, sizeof err->text, "%s:0: cannot read: %s", path,
                 strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
        e = EISDIR;
    else if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)
             && (uint64_t)st.st_size < CONFIG_MAX_BYTES)
        cap = (size_t)st.st_size + 1;   /* a hint: the file may still change */
    while (e == 0) {
        size_t n;

        if (buf == NULL || got == cap) {
            size_t want = buf == NULL ? (cap > 0 ? cap : 65536) : cap * 2;
            char *more;

            if (buf != NULL && cap > CONFIG_MAX_BYTES) {
                e = EFBIG;
                break;
            }
            if (want > CONFIG_MAX_BYTES + 1)
                want = CONFIG_MAX_BYTES + 1;
            if ((more = realloc(buf, want + 1)) == NULL) {
                e = ENOMEM;
                break;
            }
            buf = more;
            cap = want;
        }
        n = fread(buf + got, 1, cap - got, f);
        got += n;
        if (n == 0) {
            if (ferror(f))
                e = errno != 0 ? errno : EIO;
            break;
        }
    }
    fclose(f);
    if (e == 0 && got > CONFIG_MAX_BYTES)
        e = EFBIG;
    if (e != 0) {
        free(buf);
        snprintf(err->text, sizeof err->text, "%s:0: cannot read: %s", path,
                 strerror(e));
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* Line number (1-based) of offset off in bytes. */
static int line_of(const char *bytes, size_t off)
{
    int line = 1;

    for (size_t i = 0; i < off; i++)
        if (bytes[i] == '\n')
            line++;
    return line;
}

/*
 * Refuse what would make libconfig read other than these bytes (see
 * config.h). libconfig takes @include only at the start of a line, after
 * blanks; refusing every such line is conservative.
 */
bool config_check_bytes(const char *path, const char *bytes, size_t len,
                        struct config_error *err)
{
    const char *nul = memchr(bytes, '\0', len);

    if (nul != NULL) {
        snprintf(err->text, sizeof err->text, "%s:%d: NUL byte in the file", path,
                 line_of(bytes, (size_t)(nul - bytes)));
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        size_t j = i;

        while (j < len && (bytes[j] == ' ' || bytes[j] == '\t'))
            j++;
        if (len - j >= 8 && memcmp(bytes + j, "@include", 8) == 0) {
            snprintf(err->text, sizeof err->text, "%s:%d: @include is not supported: "
                     "put everything in one file", path, line_of(bytes, j));
            return false;
        }
        const char *nl = memchr(bytes + j, '\n', len - j);
        if (nl == NULL)
            break;
        i = (size_t)(nl - bytes);
    }
    return true;
}
