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
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* Fill err with "FILE:0: what" and return NULL. */
static char *read_error(const char *path, const char *what, struct config_error *err)
{
    snprintf(err->text, sizeof err->text, "%s:0: %s", path, what);
    return NULL;
}

/*
 * Read the whole file into a NUL-terminated buffer (see config.h). The one
 * reader of the file, at start, for -n and on every reload, so the checks
 * are the same everywhere: opened without blocking (O_NONBLOCK: a FIFO or
 * a device must not hold the supervisor), nothing but a regular file, at
 * most CONFIG_MAX_BYTES.
 */
char *config_read_bytes(const char *path, size_t *len, struct config_error *err)
{
    struct stat st;
    static const char too_large[] = "larger than the limit of " CONFIG_MAX_TEXT;
    char *buf = NULL, msg[96];
    size_t got = 0, cap;
    int fd, e = 0;

    err->text[0] = '\0';
    if (path == NULL || path[0] == '\0')
        return read_error("(none)", "no file given", err);
    if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0
        || fstat(fd, &st) != 0) {
        snprintf(msg, sizeof msg, "cannot read: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return read_error(path, msg, err);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return read_error(path, "not a regular file", err);
    }
    if ((uint64_t)st.st_size > CONFIG_MAX_BYTES) {
        close(fd);
        return read_error(path, too_large, err);
    }
    /* The size is a hint: the file may still change while we read. */
    cap = (size_t)st.st_size + 1 > 4096 ? (size_t)st.st_size + 1 : 4096;
    for (;;) {
        ssize_t n;

        if (buf == NULL || got == cap) {
            size_t want = buf == NULL ? cap : cap * 2;
            char *more;

            if (want > CONFIG_MAX_BYTES + 1)
                want = CONFIG_MAX_BYTES + 1;
            if (buf != NULL && want == cap)
                break;                      /* more than CONFIG_MAX_BYTES */
            if ((more = realloc(buf, want + 1)) == NULL) {
                e = ENOMEM;
                break;
            }
            buf = more;
            cap = want;
        }
        n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (e == 0 && got > CONFIG_MAX_BYTES) {
        free(buf);
        return read_error(path, too_large, err);
    }
    if (e != 0) {
        free(buf);
        snprintf(msg, sizeof msg, "cannot read: %s", strerror(e));
        return read_error(path, msg, err);
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
