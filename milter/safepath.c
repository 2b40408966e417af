/*
 * safepath.c - paths that root may write into without being steered.
 *
 * Owns the rules of safepath.h: walking a directory path from / one
 * component at a time with O_PATH descriptors and lstat semantics (so a
 * component cannot be swapped between its check and the next step),
 * creating a missing socket or pidfile directory owned by root, the check
 * of the configuration file root reads, and the no-follow file operations
 * (pidfile, stale socket, socket mode and group).
 *
 * Must not: log, exit, or follow a symbolic link in a place a user other
 * than root can change; change anything but the one directory it was asked
 * to create, the file it was asked to write and the socket it was asked to
 * remove or adjust.
 *
 * Thread safety: no static state; only reentrant look-ups (getpwuid_r).
 * The callers run it before any thread exists, except config_env.c, which
 * only checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safepath.h"

/* Format into msg (when there is one). */
static void safepath_say(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void safepath_say(char *msg, size_t msgsz, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || msgsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
}

/* "uid 65534 (nobody)" into out. */
static void safepath_owner(uid_t uid, char *out, size_t outsz)
{
    char buf[4096];
    struct passwd pw, *res = NULL;

    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
        snprintf(out, outsz, "uid %ld (%s)", (long)uid, res->pw_name);
    else
        snprintf(out, outsz, "uid %ld", (long)uid);
}

/* Is the rule for root in force? */
bool safepath_as_root(void)
{
    return geteuid() == 0;
}

/* The directory of an absolute path (see safepath.h). */
bool safepath_dirname(const char *path, char *out, size_t outsz)
{
    const char *slash;
    size_t len;

    if (path == NULL || path[0] != '/' || (slash = strrchr(path, '/')) == NULL)
        return false;
    len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= outsz)
        return false;
    memcpy(out, path, len);
    out[len] = '\0';
    return true;
}

/* State of one walk from / down a directory path. */
struct walk {
    const char *what;
    const char *dir;          /* as asked, for messages */
    bool as_root;
    int fd;                   /* the current directory (O_PATH) */
    struct stat st;           /* its status */
    char path[PATH_MAX];      /* its resolved name */
    char todo[2 * PATH_MAX];  /* components still to walk, '/'-separated */
    unsigned links;
    char *msg;
    size_t msgsz;
};

/* Writable by group or others? */
static bool safepath_open_to_others(const struct stat *st)
{
    return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/* Start a message about culprit: "WHAT DIR is" or "WHAT DIR: CULPRIT is". */
static void safepath_subject(const struct walk *w, const char *culprit, char *out,
                             size_t outsz)
{
    if (strcmp(culprit, w->dir) == 0)
        snprintf(out, outsz, "%s %s", w->what, w->dir);
    else
        snprintf(out, outsz, "%s %s: %s", w->what, w->dir, culprit);
}

/* The current directory is owned by someone else than root. */
static enum safepath_result safepath_not_root_owned(struct walk *w)
{
    char subject[PATH_MAX + 300], owner[300];
    unsigned mode = (unsigned)(w->st.st_mode & 07777 & ~(mode_t)022);

    safepath_subject(w, w->path, subject, sizeof subject);
    safepath_owner(w->st.st_uid, owner, sizeof owner);
    safepath_say(w->msg, w->msgsz, "%s is owned by %s: make it owned by root and"
                 " not writable by others (chown root %s; chmod %o %s)",
                 subject, owner, w->path, mode, w->path);
    return SAFEPATH_UNSAFE;
}

/* The current directory is writable by group or others. */
static enum safepath_result safepath_writable(struct walk *w, bool final)
{
    char subject[PATH_MAX + 300];
    unsigned mode = (unsigned)(w->st.st_mode & 07777);

    safepath_subject(w, w->path, subject, sizeof subject);
    if (final && (w->st.st_mode & S_ISVTX))
        safepath_say(w->msg, w->msgsz, "%s is writable by others (mode %04o):"
                     " give the file a directory of its own, owned by root and"
                     " not writable by others (e.g. mkdir -m 755 %s%sforcetls)",
                     subject, mode, w->path, strcmp(w->path, "/") == 0 ? "" : "/");
    else
        safepath_say(w->msg, w->msgsz, "%s is writable by %s (mode %04o): make it"
                     " owned by root and not writable by others (chmod %o %s)",
                     subject, (w->st.st_mode & S_IWOTH) ? "others" : "group",
                     mode, (unsigned)(mode & ~(unsigned)022), w->path);
    return SAFEPATH_UNSAFE;
}

/* Take the first component of w->todo into name; false when none is left. */
static bool safepath_next(struct walk *w, char *name, size_t namesz)
{
    char *p = w->todo, *end;
    size_t len;

    while (*p == '/')
        p++;
    if (*p == '\0') {
        w->todo[0] = '\0';
        return false;
    }
    end = strchr(p, '/');
    len = end != NULL ? (size_t)(end - p) : strlen(p);
    if (len >= namesz)
        len = namesz - 1;     /* NAME_MAX is smaller; fstatat fails later */
    memcpy(name, p, len);
    name[len] = '\0';
    memmove(w->todo, p + len, strlen(p + len) + 1);
    return true;
}

/* Are components left in w->todo (other than "." ones)? */
static bool safepath_more(const struct walk *w)
{
    for (const char *p = w->todo; *p != '\0'; ) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            return false;
        if (!(p[0] == '.' && (p[1] == '/' || p[1] == '\0')))
            return true;
        p++;
    }
    return false;
}

/* Move w to directory fd named name below it (or to / when name is NULL). */
static bool safepath_enter(struct walk *w, int fd, const char *name)
{
    size_t len = strlen(w->path);

    if (fstat(fd, &w->st) != 0) {
        close(fd);
        return false;
    }
    if (w->fd >= 0)
        close(w->fd);
    w->fd = fd;
    if (name == NULL) {
        snprintf(w->path, sizeof w->path, "/");
    } else if (strcmp(name, "..") == 0) {
        char *slash = strrchr(w->path, '/');
        if (slash != NULL && slash != w->path)
            *slash = '\0';
        else
            snprintf(w->path, sizeof w->path, "/");
    } else if (len + strlen(name) + 2 <= sizeof w->path) {
        snprintf(w->path + len, sizeof w->path - len, "%s%s",
                 len > 1 ? "/" : "", name);
    }
    return true;
}

/* Follow the symbolic link name in the current directory (status st). */
static enum safepath_result safepath_link(struct walk *w, const char *name,
                                          const struct stat *st, bool sticky)
{
    char target[PATH_MAX], rest[2 * PATH_MAX];
    ssize_t n;

    if (w->as_root && sticky && st->st_uid != 0) {
        char subject[PATH_MAX + 300], owner[300];

        safepath_subject(w, w->path, subject, sizeof subject);
        safepath_owner(st->st_uid, owner, sizeof owner);
        safepath_say(w->msg, w->msgsz, "%s holds the symbolic link %s, owned by"
                     " %s, in a directory anyone can write to: name the"
                     " directory without it", subject, name, owner);
        return SAFEPATH_UNSAFE;
    }
    if (++w->links > SAFEPATH_MAX_LINKS) {
        safepath_say(w->msg, w->msgsz, "%s %s: too many symbolic links", w->what,
                     w->dir);
        return SAFEPATH_ERROR;
    }
    n = readlinkat(w->fd, name, target, sizeof target - 1);
    if (n <= 0) {
        safepath_say(w->msg, w->msgsz, "%s %s: cannot read the link %s: %s",
                     w->what, w->dir, name, strerror(n < 0 ? errno : ENOENT));
        return SAFEPATH_ERROR;
    }
    target[n] = '\0';
    if (snprintf(rest, sizeof rest, "%s/%s", target, w->todo) >= (int)sizeof rest) {
        safepath_say(w->msg, w->msgsz, "%s %s: path too long", w->what, w->dir);
        return SAFEPATH_ERROR;
    }
    memcpy(w->todo, rest, strlen(rest) + 1);
    if (target[0] == '/') {
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || !safepath_enter(w, fd, NULL)) {
            safepath_say(w->msg, w->msgsz, "%s %s: /: %s", w->what, w->dir,
                         strerror(errno));
            return SAFEPATH_ERROR;
        }
        if (w->as_root && w->st.st_uid != 0)
            return safepath_not_root_owned(w);
    }
    return SAFEPATH_OK;
}

/* One step from the current directory to its entry name. */
static enum safepath_result safepath_step(struct walk *w, const char *name)
{
    struct stat st;
    bool sticky = false;
    int fd;

    if (strcmp(name, ".") == 0)
        return SAFEPATH_OK;
    if (w->as_root && safepath_open_to_others(&w->st)) {
        if (!(w->st.st_mode & S_ISVTX))
            return safepath_writable(w, false);
        sticky = true;        /* then the next component must be root's */
    }
    if (fstatat(w->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int err = errno;

        if (err == ENOENT && !safepath_more(w)) {
            safepath_say(w->msg, w->msgsz, "%s %s does not exist", w->what, w->dir);
            return SAFEPATH_MISSING;
        }
        safepath_say(w->msg, w->msgsz, "%s %s: %s%s%s: %s", w->what, w->dir,
                     w->path, strcmp(w->path, "/") == 0 ? "" : "/", name,
                     strerror(err));
        return SAFEPATH_ERROR;
    }
    if (S_ISLNK(st.st_mode))
        return safepath_link(w, name, &st, sticky);
    if (!S_ISDIR(st.st_mode)) {
        safepath_say(w->msg, w->msgsz, "%s %s: %s%s%s is not a directory", w->what,
                     w->dir, w->path, strcmp(w->path, "/") == 0 ? "" : "/", name);
        return SAFEPATH_ERROR;
    }
    fd = openat(w->fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !safepath_enter(w, fd, name)) {
        safepath_say(w->msg, w->msgsz, "%s %s: %s: %s", w->what, w->dir, name,
                     strerror(errno));
        return SAFEPATH_ERROR;
    }
    if (w->st.st_dev != st.st_dev || w->st.st_ino != st.st_ino) {
        safepath_say(w->msg, w->msgsz, "%s %s: %s changed while it was checked",
                     w->what, w->dir, w->path);
        return SAFEPATH_ERROR;
    }
    if (w->as_root && w->st.st_uid != 0)
        return safepath_not_root_owned(w);
    return SAFEPATH_OK;
}

/* Check a directory path (see safepath.h). */
enum safepath_result safepath_check_dir(const char *what, const char *dir,
                                        bool as_root, char *msg, size_t msgsz)
{
    struct walk w = { .what = what, .dir = dir, .as_root = as_root, .fd = -1,
                      .msg = msg, .msgsz = msgsz };
    enum safepath_result r = SAFEPATH_OK;
    char name[NAME_MAX + 2];
    int fd;

    if (dir == NULL || dir[0] != '/' || strlen(dir) >= PATH_MAX) {
        safepath_say(msg, msgsz, "%s %s: not an absolute path that fits", what,
                     dir != NULL ? dir : "(none)");
        return SAFEPATH_ERROR;
    }
    snprintf(w.todo, sizeof w.todo, "%s", dir);
    fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || !safepath_enter(&w, fd, NULL)) {
        safepath_say(msg, msgsz, "%s %s: /: %s", what, dir, strerror(errno));
        return SAFEPATH_ERROR;
    }
    if (as_root && w.st.st_uid != 0)
        r = safepath_not_root_owned(&w);
    while (r == SAFEPATH_OK && safepath_next(&w, name, sizeof name))
        r = safepath_step(&w, name);
    if (r == SAFEPATH_OK && as_root && safepath_open_to_others(&w.st))
        r = safepath_writable(&w, true);
    close(w.fd);
    return r;
}

/* Create a missing directory and make it safe (see safepath.h). */
bool safepath_prepare_dir(const char *what, const char *dir, mode_t mode,
                          gid_t gid, bool *created, char *msg, size_t msgsz)
{
    bool as_root = safepath_as_root();
    enum safepath_result r = safepath_check_dir(what, dir, as_root, msg, msgsz);
    int fd;

    *created = false;
    if (r != SAFEPATH_MISSING)
        return r == SAFEPATH_OK;
    /* The parent is safe: no one but root can change what dir names. */
    if (mkdir(dir, 0700) == 0) {
        *created = true;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            safepath_say(msg, msgsz, "%s %s: %s", what, dir, strerror(errno));
            return false;
        }
        /* Unprivileged, a group we are not in (EPERM) is refused later, loudly. */
        if (as_root ? fchown(fd, 0, gid == (gid_t)-1 ? 0 : gid) != 0
                    : gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0
                      && errno != EPERM) {
            safepath_say(msg, msgsz, "chown %s %s: %s", what, dir, strerror(errno));
            close(fd);
            return false;
        }
        if (fchmod(fd, mode) != 0) {
            safepath_say(msg, msgsz, "chmod %s %s: %s", what, dir, strerror(errno));
            close(fd);
            return false;
        }
        close(fd);
    } else if (errno != EEXIST) {
        safepath_say(msg, msgsz, "cannot create %s %s: %s", what, dir,
                     strerror(errno));
        return false;
    }
    return safepath_check_dir(what, dir, as_root, msg, msgsz) == SAFEPATH_OK;
}

/*
 * lstat path (never followed): 1 when it exists (*st filled), 0 when it
 * does not, -1 with msg saying why when it cannot be looked at.
 */
static int safepath_lstat(const char *what, const char *path, struct stat *st,
                          char *msg, size_t msgsz)
{
    if (lstat(path, st) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    safepath_say(msg, msgsz, "%s %s: %s", what, path, strerror(errno));
    return -1;
}

/* Is st a file root may write: regular, one link, ours? Else say why. */
static bool safepath_plain_file(const char *what, const char *path,
                                const struct stat *st, char *msg, size_t msgsz)
{
    char owner[300];

    if (S_ISLNK(st->st_mode)) {
        safepath_say(msg, msgsz, "%s %s is a symbolic link, which is not"
                     " followed: remove it (rm %s)", what, path, path);
        return false;
    }
    if (!S_ISREG(st->st_mode)) {
        safepath_say(msg, msgsz, "%s %s exists and is not a regular file: remove"
                     " it", what, path);
        return false;
    }
    if (st->st_nlink != 1) {
        safepath_say(msg, msgsz, "%s %s has %lu hard links: remove it (rm %s)",
                     what, path, (unsigned long)st->st_nlink, path);
        return false;
    }
    if (st->st_uid != geteuid() && (safepath_as_root() || st->st_uid != 0)) {
        safepath_owner(st->st_uid, owner, sizeof owner);
        safepath_say(msg, msgsz, "%s %s is owned by %s: remove it (rm %s)", what,
                     path, owner, path);
        return false;
    }
    return true;
}

/* A file root will open (see safepath.h). */
bool safepath_check_file(const char *what, const char *path, char *msg,
                         size_t msgsz)
{
    struct stat st;

    switch (safepath_lstat(what, path, &st, msg, msgsz)) {
    case 0:  return true;
    case 1:  return safepath_plain_file(what, path, &st, msg, msgsz);
    default: return false;
    }
}

/* The configuration file root reads (see safepath.h). */
bool safepath_check_config(const char *path, char *msg, size_t msgsz)
{
    char dir[PATH_MAX], owner[300];
    struct stat st;

    if (!safepath_as_root())
        return true;
    if (!safepath_dirname(path, dir, sizeof dir)) {
        safepath_say(msg, msgsz, "configuration file %s: not an absolute path"
                     " that fits", path != NULL ? path : "(none)");
        return false;
    }
    switch (safepath_check_dir("configuration directory", dir, true, msg, msgsz)) {
    case SAFEPATH_OK:
        break;
    case SAFEPATH_MISSING:
        return true;          /* the reader says the file cannot be read */
    default:
        return false;
    }
    switch (safepath_lstat("configuration file", path, &st, msg, msgsz)) {
    case 0:  return true;     /* the reader says the file cannot be read */
    case 1:  break;
    default: return false;
    }
    if (S_ISLNK(st.st_mode)) {
        safepath_say(msg, msgsz, "configuration file %s is a symbolic link, which"
                     " is not followed: give the path of the file itself", path);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        safepath_say(msg, msgsz, "configuration file %s is not a regular file",
                     path);
        return false;
    }
    if (st.st_uid != 0) {
        safepath_owner(st.st_uid, owner, sizeof owner);
        safepath_say(msg, msgsz, "configuration file %s is owned by %s: make it"
                     " owned by root and not writable by others (chown root %s;"
                     " chmod go-w %s)", path, owner, path, path);
        return false;
    }
    if (safepath_open_to_others(&st)) {
        safepath_say(msg, msgsz, "configuration file %s is writable by %s (mode"
                     " %04o): make it owned by root and not writable by others"
                     " (chown root %s; chmod go-w %s)", path,
                     (st.st_mode & S_IWOTH) ? "others" : "group",
                     (unsigned)(st.st_mode & 07777), path, path);
        return false;
    }
    return true;
}

/* Write a file without following links (see safepath.h). */
bool safepath_write_file(const char *what, const char *path, const char *text,
                         char *msg, size_t msgsz)
{
    size_t len = strlen(text), done = 0;
    struct stat st;
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
              | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == ELOOP)
            safepath_say(msg, msgsz, "%s %s is a symbolic link, which is not"
                         " followed: remove it (rm %s)", what, path, path);
        else
            safepath_say(msg, msgsz, "%s %s: %s", what, path, strerror(errno));
        return false;
    }
    if (fstat(fd, &st) != 0 || !safepath_plain_file(what, path, &st, msg, msgsz)) {
        close(fd);
        return false;
    }
    if (ftruncate(fd, 0) != 0)
        goto fail;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        done += (size_t)n;
    }
    if (close(fd) != 0) {
        safepath_say(msg, msgsz, "%s %s: %s", what, path, strerror(errno));
        return false;
    }
    return true;
fail:
    safepath_say(msg, msgsz, "%s %s: %s", what, path, strerror(errno));
    close(fd);
    return false;
}

/* Read a regular file without following links (see safepath.h). */
bool safepath_read_file(const char *path, char *out, size_t outsz)
{
    struct stat st;
    ssize_t got;
    int fd;

    if (outsz == 0)
        return false;
    out[0] = '\0';
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return false;
    }
    do
        got = read(fd, out, outsz - 1);
    while (got < 0 && errno == EINTR);
    close(fd);
    if (got < 0)
        return false;
    out[got] = '\0';
    return true;
}

/* Remove a stale unix socket (see safepath.h). */
bool safepath_remove_stale_socket(const char *what, const char *path, char *msg,
                                  size_t msgsz)
{
    struct stat st;

    switch (safepath_lstat(what, path, &st, msg, msgsz)) {
    case 0:  return true;
    case 1:  break;
    default: return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        safepath_say(msg, msgsz, "%s %s exists and is not a socket%s: remove it"
                     " (rm %s)", what, path,
                     S_ISLNK(st.st_mode) ? " (a symbolic link, not followed)" : "",
                     path);
        return false;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        safepath_say(msg, msgsz, "cannot remove the stale %s %s: %s", what, path,
                     strerror(errno));
        return false;
    }
    return true;
}

/* Mode and group of a socket we bound (see safepath.h). */
bool safepath_set_socket_access(const char *what, const char *path, mode_t mode,
                                gid_t gid, char *msg, size_t msgsz)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        safepath_say(msg, msgsz, "%s %s: %s", what, path, strerror(errno));
        return false;
    }
    if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
        safepath_say(msg, msgsz, "%s %s is not the socket we created", what, path);
        return false;
    }
    /* A socket is never a symbolic link, and only root can replace it here. */
    if ((st.st_mode & 07777) != mode && chmod(path, mode) != 0) {
        safepath_say(msg, msgsz, "chmod %s: %s", path, strerror(errno));
        return false;
    }
    if (gid != (gid_t)-1 && st.st_gid != gid && lchown(path, (uid_t)-1, gid) != 0) {
        safepath_say(msg, msgsz, "chown %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}
