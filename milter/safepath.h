/*
 * safepath.h - paths that root may write into without being steered.
 *
 * A directory is safe for root when it and every directory above it is
 * owned by root and not writable by group or others; a root-owned sticky
 * directory (/tmp) may appear above it, because there only the owner of
 * the next component can replace it and that owner must be root too.
 * Symbolic links on the way are followed (at most SAFEPATH_MAX_LINKS) when
 * the directory that holds them is safe, or, in a sticky directory, when
 * root owns them. Files that root opens in such a directory are never
 * followed when they are symbolic links.
 *
 * The directory rules apply only when the process runs as root (euid 0):
 * an unprivileged daemon owns its own paths. The no-follow rules always
 * apply. Every function returns its reason as text for the caller to log.
 */
#ifndef FORCETLS_SAFEPATH_H
#define FORCETLS_SAFEPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SAFEPATH_MSG_MAX 600
#define SAFEPATH_MAX_LINKS 32

enum safepath_result {
    SAFEPATH_OK,         /* exists, and safe when we are root */
    SAFEPATH_MISSING,    /* only the last component is missing; the rest is safe */
    SAFEPATH_UNSAFE,     /* a component someone else than root can change */
    SAFEPATH_ERROR       /* cannot be checked (not a directory, I/O, ...) */
};

/* Is the rule for root in force (euid 0)? */
bool safepath_as_root(void);

/*
 * The directory of an absolute file path ("/run/x/y.pid" -> "/run/x",
 * "/y.pid" -> "/"). False when path is not absolute or does not fit.
 */
bool safepath_dirname(const char *path, char *out, size_t outsz);

/*
 * Check dir (absolute) as described above, as if root were to write into
 * it; as_root false only checks that it exists and is a directory.
 * what names it in the message, e.g. "pidfile directory". On
 * SAFEPATH_UNSAFE and SAFEPATH_ERROR msg says what is wrong and how to
 * fix it; on SAFEPATH_MISSING it says what is missing.
 */
enum safepath_result safepath_check_dir(const char *what, const char *dir,
                                        bool as_root, char *msg, size_t msgsz);

/*
 * Make sure dir exists and is safe for us (see safepath_as_root). A
 * missing last component is created: as root owned by root with group
 * gid ((gid_t)-1: root's) and exactly mode; unprivileged with mode and,
 * when gid is set, that group if we may. *created tells whether it was.
 */
bool safepath_prepare_dir(const char *what, const char *dir, mode_t mode,
                          gid_t gid, bool *created, char *msg, size_t msgsz);

/*
 * A file root will open in a safe directory: absent, or a regular file
 * with one link (owned by root when we are root). Never follows it.
 */
bool safepath_check_file(const char *what, const char *path, char *msg,
                         size_t msgsz);

/*
 * The configuration file root reads at start and on every reload: as root
 * its directory passes safepath_check_dir ("configuration directory") and
 * the file itself (never followed) is a regular file owned by root and not
 * writable by group or others; a symbolic link is refused (the caller
 * resolves the path first, so one here was planted). True when absent (the
 * reader says so) and always when not root (the user owns their paths).
 */
bool safepath_check_config(const char *path, char *msg, size_t msgsz);

/*
 * Write text into path without following a symbolic link: open with
 * O_NOFOLLOW and without O_TRUNC, check it is a regular file with one
 * link (owned by us), then truncate and write.
 */
bool safepath_write_file(const char *what, const char *path, const char *text,
                         char *msg, size_t msgsz);

/*
 * Read up to outsz - 1 bytes of a regular file without following a
 * symbolic link; NUL-terminates. False when absent or not a regular file.
 */
bool safepath_read_file(const char *path, char *out, size_t outsz);

/*
 * Remove a stale unix socket at path: nothing there is fine, a socket is
 * unlinked, anything else (a symbolic link, a file) is refused.
 */
bool safepath_remove_stale_socket(const char *what, const char *path, char *msg,
                                  size_t msgsz);

/*
 * Give the unix socket we just bound at path the mode and, when gid is
 * not (gid_t)-1, that group, never following a symbolic link (the file
 * must be a socket owned by us).
 */
bool safepath_set_socket_access(const char *what, const char *path, mode_t mode,
                                gid_t gid, char *msg, size_t msgsz);

#endif
