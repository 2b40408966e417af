/*
 * config_env.c - environment checks of a loaded configuration.
 *
 * Owns config_check_environment: the problems of the system rather than of
 * the file (unknown user or group, missing directory of a unix socket or of
 * the pidfile, and, when run as root, a directory, pidfile or configuration
 * file the daemon would refuse: see safepath.h), reported as warnings
 * through the caller's function.
 *
 * Must not: change the snapshot or the system (no mkdir, no chown), fail a
 * load (a directory may appear before the daemon binds), log or exit.
 *
 * Thread safety: reads the snapshot, which is read-only after loading, and
 * uses only reentrant look-ups (getpwnam_r, getgrnam_r, safepath.c), so it may
 * run in any thread; warn is called in the caller's thread.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "config_syntax.h"
#include "safepath.h"

/* What every warning needs. */
struct env {
    const struct config *config;
    void (*warn)(const char *text, void *arg);
    void *arg;
};

/* Pass "FILE:LINE: message" (or "FILE: message" for a default) to warn. */
static void env_warn(const struct env *env, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void env_warn(const struct env *env, int line, const char *fmt, ...)
{
    char msg[768], text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(text, sizeof text, "%s:%d: %s", env->config->path, line, msg);
    else
        snprintf(text, sizeof text, "%s: %s", env->config->path, msg);
    env->warn(text, env->arg);
}

/*
 * Is path (never followed) owned by the configured user, and is it a
 * directory whose parent root may trust, or a file in such a directory?
 * That is the layout of a daemon started as that user (the packaged
 * forcetls-milter.service): checked as root with -n, it deserves a note,
 * not advice to hand the path to root, which would stop that daemon.
 */
static bool users_own(const struct env *env, const char *path, bool is_dir)
{
    char buf[16384], parent[PATH_MAX], msg[SAFEPATH_MSG_MAX];
    struct passwd pw, *res = NULL;
    struct stat st;

    if (env->config->user == NULL || !safepath_as_root()
        || getpwnam_r(env->config->user, &pw, buf, sizeof buf, &res) != 0
        || res == NULL || pw.pw_uid == 0 || lstat(path, &st) != 0
        || st.st_uid != pw.pw_uid
        || (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        || !safepath_dirname(path, parent, sizeof parent))
        return false;
    if (!is_dir)
        return users_own(env, parent, true);
    return safepath_check_dir("directory", parent, true, msg, sizeof msg)
           == SAFEPATH_OK;
}

/* The note for a path that users_own. */
static void warn_users_own(const struct env *env, int line, const char *what,
                           const char *path)
{
    env_warn(env, line, "%s %s is owned by user %s, the configured user: right "
             "when the daemon is started as %s (as forcetls-milter.service "
             "does); started as root, it refuses it", what, path,
             env->config->user, env->config->user);
}

/*
 * Warn when the directory that will hold file does not exist or, when we
 * run as root, is one the daemon refuses (see safepath.h).
 */
static void check_dir(const struct env *env, int line, const char *what,
                      const char *file)
{
    char dir[PATH_MAX], label[64], msg[SAFEPATH_MSG_MAX];

    if (!safepath_dirname(file, dir, sizeof dir))
        return;
    snprintf(label, sizeof label, "%s directory", what);
    switch (safepath_check_dir(label, dir, safepath_as_root(), msg, sizeof msg)) {
    case SAFEPATH_OK:
        break;
    case SAFEPATH_MISSING:
        env_warn(env, line, "directory %s of the %s does not exist: %s", dir, what,
                 strerror(ENOENT));
        break;
    case SAFEPATH_UNSAFE:
        if (users_own(env, dir, true))
            warn_users_own(env, line, label, dir);
        else
            env_warn(env, line, "%s; the daemon refuses to start as root", msg);
        break;
    case SAFEPATH_ERROR:
        env_warn(env, line, "%s", msg);
        break;
    }
}

/* Warn about a unix socket whose directory is missing. */
static void check_socket(const struct env *env, int line, const char *what,
                         const char *spec)
{
    if (spec != NULL && syntax_has_prefix(spec, "unix:"))
        check_dir(env, line, what, spec + strlen("unix:"));
}

/* Unknown user or group, missing directories (see config.h). */
void config_check_environment(const struct config *config,
                              void (*warn)(const char *text, void *arg),
                              void *arg)
{
    const struct env env = { config, warn, arg };
    char buf[16384], path[PATH_MAX], msg[SAFEPATH_MSG_MAX];

    if (config->user != NULL) {
        struct passwd pw, *res = NULL;
        int rc = getpwnam_r(config->user, &pw, buf, sizeof buf, &res);
        if (rc != 0 || res == NULL)
            env_warn(&env, config->lines.user, "user \"%s\" does not exist",
                     config->user);
    }
    if (config->socket_group != NULL) {
        struct group gr, *res = NULL;
        int rc = getgrnam_r(config->socket_group, &gr, buf, sizeof buf, &res);
        if (rc != 0 || res == NULL)
            env_warn(&env, config->lines.socket_group,
                     "group \"%s\" does not exist", config->socket_group);
    }
    check_socket(&env, config->lines.socket, "socket", config->socket);
    check_socket(&env, config->lines.policy_socket, "policy_socket",
                 config->policy_socket);
    if (config->pidfile != NULL) {
        check_dir(&env, config->lines.pidfile, "pidfile", config->pidfile);
        if (!safepath_check_file("pidfile", config->pidfile, msg, sizeof msg)
            && !users_own(&env, config->pidfile, false))
            env_warn(&env, config->lines.pidfile, "%s", msg);
    }
    /* The file itself, as the daemon would check it (resolved) as root. */
    if (realpath(config->path, path) != NULL
        && !safepath_check_config(path, msg, sizeof msg))
        env_warn(&env, 0, "%s; the daemon refuses to start as root", msg);
}
