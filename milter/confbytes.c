/*
 * confbytes.c - the validated configuration bytes, sealed in memory.
 *
 * Owns the memory file that carries the exact bytes the supervisor has
 * committed (or is offering to a worker for validation): created with
 * memfd_create and sealed against writing, shrinking and growing, so its
 * holder can only read it. Linux only (like signalfd in supervisor.c): an
 * unsealed stand-in would let the worker change the bytes in force.
 *
 * Must not: parse or judge the bytes (config.c does), or read the file on
 * disk itself (config_read_bytes, the one reader, does).
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

#if !defined(__linux__) || !defined(MFD_ALLOW_SEALING) || !defined(F_ADD_SEALS)
#error "forcetls-milter needs Linux: memfd_create with file seals"
#endif

/* Make a sealed memory file holding bytes (see confbytes.h). */
int confbytes_seal(const char *bytes, size_t len)
{
    int fd = memfd_create("forcetls.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW
              | F_SEAL_SEAL) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/*
 * Copy the file at path into a sealed memory file (see confbytes.h):
 * config_read_bytes reads it (the same checks as at start and for -n),
 * confbytes_seal writes it. The supervisor holds the bytes in its heap
 * only meanwhile, and gives that memory back at once.
 */
int confbytes_from_file(const char *path, struct config_error *err)
{
    size_t len;
    char *bytes = config_read_bytes(path, &len, err);
    int fd, e;

    if (bytes == NULL)
        return -1;
    fd = confbytes_seal(bytes, len);
    e = errno;
    free(bytes);
    config_release_unused_memory();
    if (fd < 0)
        snprintf(err->text, sizeof(err->text), "%s:0: cannot keep the content: %s",
                 path, strerror(e));
    return fd;
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
