/*
 * confbytes.c - the validated configuration bytes, sealed in memory.
 *
 * Owns the memory file that carries the exact bytes the supervisor has
 * committed (or is offering to a worker for validation): created with
 * memfd_create and sealed against writing, shrinking and growing, so its
 * holder can only read it. Where memfd_create is missing (non-Linux), an
 * unlinked temporary file stands in, without seals.
 *
 * Must not: parse or judge the bytes (config.c does), or read the file on
 * disk (config_read_bytes does).
 *
 * Thread safety: no state; every call works on its own descriptor and
 * buffer. The descriptor's offset is never used (pread/pwrite only), since
 * supervisor and worker share it across fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "confbytes.h"

/* A new anonymous file that can be sealed, or -1. */
static int confbytes_create(void)
{
#if defined(MFD_ALLOW_SEALING)
    return memfd_create("forcetls.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
#else
    char path[] = "/tmp/forcetls.conf.XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC);

    if (fd >= 0)
        unlink(path);
    return fd;
#endif
}

/* Make a sealed memory file holding bytes (see confbytes.h). */
int confbytes_seal(const char *bytes, size_t len)
{
    int fd = confbytes_create();
    size_t done = 0;

    if (fd < 0)
        return -1;
    while (done < len) {
        ssize_t n = pwrite(fd, bytes + done, len - done, (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            errno = e;
            return -1;
        }
        done += (size_t)n;
    }
#if defined(F_ADD_SEALS)
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW
              | F_SEAL_SEAL) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
#endif
    return fd;
}

/* Copy the file at path into a sealed memory file (see confbytes.h). */
int confbytes_from_file(const char *path, struct config_error *err)
{
    char buf[65536];
    struct stat st;
    off_t done = 0;
    int in, fd = -1, e = 0;

    if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        e = errno;
        goto out;
    }
    if (fstat(in, &st) == 0 && S_ISDIR(st.st_mode)) {
        e = EISDIR;
        goto out;
    }
    if ((fd = confbytes_create()) < 0) {
        e = errno;
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            goto out;
        }
        if (n == 0)
            break;
        if ((uint64_t)done + (uint64_t)n > CONFIG_MAX_BYTES) {
            e = EFBIG;
            goto out;
        }
        for (ssize_t w = 0; w < n;) {
            ssize_t k = pwrite(fd, buf + w, (size_t)(n - w), done + w);

            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                e = k < 0 ? errno : EIO;
                goto out;
            }
            w += k;
        }
        done += n;
    }
#if defined(F_ADD_SEALS)
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW
              | F_SEAL_SEAL) != 0)
        e = errno;
#endif
out:
    if (in >= 0)
        close(in);
    if (e == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    snprintf(err->text, sizeof(err->text), "%s:0: cannot read: %s", path, strerror(e));
    return -1;
}

/* Read a sealed memory file back (see confbytes.h). */
char *confbytes_read(int fd, size_t *len)
{
    struct stat st;
    size_t size, done = 0;
    char *buf;

    if (fstat(fd, &st) != 0)
        return NULL;
    if (st.st_size < 0 || (uint64_t)st.st_size > CONFIG_MAX_BYTES) {
        errno = EFBIG;
        return NULL;
    }
    size = (size_t)st.st_size;
    if ((buf = malloc(size + 1)) == NULL)
        return NULL;
    while (done < size) {
        ssize_t n = pread(fd, buf + done, size - done, (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            errno = e;
            return NULL;
        }
        done += (size_t)n;
    }
    buf[size] = '\0';
    *len = size;
    return buf;
}
