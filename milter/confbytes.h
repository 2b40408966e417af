/*
 * confbytes.h - the validated configuration bytes, sealed in memory.
 *
 * The supervisor keeps the exact bytes of the configuration in force as a
 * sealed memory file: nobody (not even a compromised worker running as
 * the unprivileged user) can change them, and a restarted worker parses
 * exactly them, whatever the file on disk holds by then.
 */
#ifndef FORCETLS_CONFBYTES_H
#define FORCETLS_CONFBYTES_H

#include <stddef.h>

#include "config.h"

/*
 * A new sealed, read-only memory file holding len bytes; close-on-exec.
 * Returns its descriptor, or -1 with errno set.
 */
int confbytes_seal(const char *bytes, size_t len);

/*
 * The bytes of the file at path, read by config_read_bytes (its checks
 * and its messages) and copied into a new sealed memory file. Returns its
 * descriptor, or -1 with *err set ("FILE:0: ...").
 */
int confbytes_from_file(const char *path, struct config_error *err);

/*
 * The whole content of a file made by confbytes_seal, as a malloc'ed
 * buffer of *len bytes followed by a NUL. Reads with pread (the offset is
 * shared with other processes). Returns NULL with errno set on failure.
 */
char *confbytes_read(int fd, size_t *len);

#endif
