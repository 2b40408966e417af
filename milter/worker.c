/*
 * worker.c - the milter process: socket, privileges, reloads, smfi_main.
 *
 * Owns the life of one milter process under the supervisor: open the
 * socket while still privileged (in a directory safepath.c found to be
 * root's, so root follows no path the user controls), drop privileges, start the reloader
 * thread, and hand over to libmilter. It decides nothing about mail.
 *
 * Signals: the supervisor forks us with HUP, INT, TERM, USR1 and USR2
 * blocked, and we keep them blocked in every thread we or libmilter
 * create. libmilter's signal thread then takes HUP/INT/TERM (sent to this
 * PID directly, they stop us and the supervisor restarts us), and our
 * reloader thread is the only one that takes USR1 (reload) and USR2
 * (graceful stop). No signal can land on a thread that does not expect it.
 *
 * Thread safety: the reloader thread publishes snapshots through
 * confref.c; everything else here runs before smfi_main() starts threads.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "confref.h"
#include "log.h"
#include "policyserver.h"
#include "safepath.h"
#include "supervisor.h"
#include "worker.h"

/* How long a graceful stop waits for sessions in flight. */
#define WORKER_DRAIN_SECONDS 30

/* The path of a unix socket spec, or NULL for inet sockets. */
static const char *worker_unix_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return spec + 5;
    if (strncmp(spec, "local:", 6) == 0)
        return spec + 6;
    if (spec[0] == '/')
        return spec;
    return NULL;
}

/* The gid of socket_group, (gid_t)-1 when unset; false when unknown. */
static bool worker_socket_gid(const struct config *c, gid_t *gid)
{
    struct group *gr;

    *gid = (gid_t)-1;
    if (c->socket_group == NULL)
        return true;
    if ((gr = getgrnam(c->socket_group)) == NULL) {
        log_msg(LOG_ERR, "socket_group %s: no such group", c->socket_group);
        return false;
    }
    *gid = gr->gr_gid;
    return true;
}

/*
 * Make the directory of a unix socket spec safe before root writes in it:
 * created when missing (one level) as root:socket_group 0750 (Postfix may
 * traverse it) or root 0755; an existing unsafe one is refused. EX_OK, or
 * EX_CONFIG (unsafe, an unknown group, or it cannot be created).
 */
static int worker_prepare_socket_dir(const char *what, const char *spec,
                                     const struct config *c)
{
    const char *path = worker_unix_path(spec);
    char dir[4096], msg[SAFEPATH_MSG_MAX];
    bool created;
    gid_t gid;

    if (path == NULL)
        return EX_OK;
    if (!worker_socket_gid(c, &gid))
        return EX_CONFIG;
    if (!safepath_dirname(path, dir, sizeof dir)) {
        log_msg(LOG_ERR, "%s %s: not an absolute path that fits", what, path);
        return EX_CONFIG;
    }
    if (!safepath_prepare_dir(what, dir, gid != (gid_t)-1 ? 0750 : 0755, gid,
                              &created, msg, sizeof msg)) {
        log_msg(LOG_ERR, "%s", msg);
        return EX_CONFIG;
    }
    if (created)
        log_msg(LOG_NOTICE, "created %s %s", what, dir);
    return EX_OK;
}

/* Open the milter socket (replacing a stale unix socket) in a safe directory. */
static bool worker_open_socket(const char *spec, const struct config *c)
{
    const char *path = worker_unix_path(spec);
    char msg[SAFEPATH_MSG_MAX];
    mode_t old_mask = 0;
    gid_t gid = (gid_t)-1;
    bool ok;

    if (path != NULL) {
        if (!worker_socket_gid(c, &gid))
            return false;
        /* Before libmilter's own removal, whose stat() follows links. */
        if (!safepath_remove_stale_socket("socket", path, msg, sizeof msg)) {
            log_msg(LOG_ERR, "%s", msg);
            return false;
        }
        old_mask = umask(~c->socket_mode & 0777);
    }
    ok = smfi_setconn((char *)spec) == MI_SUCCESS && smfi_opensocket(true) == MI_SUCCESS;
    if (path != NULL)
        umask(old_mask);
    if (!ok) {
        log_msg(LOG_ERR, "cannot open milter socket %s", spec);
        return false;
    }
    if (path != NULL && !safepath_set_socket_access("socket", path, c->socket_mode,
                                                    gid, msg, sizeof msg)) {
        log_msg(LOG_ERR, "%s", msg);
        return false;
    }
    return true;
}

/* Become the configured user; refuse to go on as root if we cannot. */
static int worker_drop_privileges(const struct config *c)
{
    struct passwd *pw;

    if (c->user == NULL)
        return EX_OK;
    pw = getpwnam(c->user);
    if (pw == NULL) {
        log_msg(LOG_ERR, "user %s: no such user; refusing to run", c->user);
        return EX_NOUSER;
    }
    if (geteuid() != 0) {
        if (geteuid() != pw->pw_uid)
            log_msg(LOG_WARNING, "not started as root: cannot become %s, "
                    "running as uid %ld", c->user, (long)geteuid());
        return EX_OK;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0
        || setuid(pw->pw_uid) != 0) {
        log_msg(LOG_ERR, "cannot become user %s: %s", c->user, strerror(errno));
        return EX_OSERR;
    }
    if (setuid(0) == 0) {
        log_msg(LOG_ERR, "could regain root after becoming %s; refusing to run", c->user);
        return EX_SOFTWARE;
    }
    return EX_OK;
}

/* Load the configuration again; keep the old one if the new one fails. */
static void worker_reload(const struct worker_settings *ws)
{
    struct config_error err;
    struct config *c = config_load(ws->config_path, &err);

    if (c == NULL) {
        log_msg(LOG_ERR, "reload failed: %s; keeping previous configuration", err.text);
        return;
    }
    if ((c->user == NULL) != (ws->user == NULL)
        || (c->user != NULL && strcmp(c->user, ws->user) != 0))
        log_msg(LOG_WARNING, "user changed in the configuration: takes effect on restart");
    if (strcmp(c->socket, ws->file_socket) != 0)
        log_msg(LOG_WARNING, "socket changed in the configuration: takes effect on restart");
    if ((c->policy_socket == NULL) != (ws->policy_socket == NULL)
        || (c->policy_socket != NULL && strcmp(c->policy_socket, ws->policy_socket) != 0))
        log_msg(LOG_WARNING, "policy_socket changed in the configuration: takes effect on restart");
    log_set_facility(c->syslog_facility);
    log_msg(LOG_INFO, "reload ok inbound=%zu outbound=%zu", c->inbound_count,
            c->outbound_count);
    confref_publish(c);
    config_release_unused_memory();   /* the old snapshot, unless sessions hold it */
    callbacks_config_changed();
}

/* Stop gracefully: refuse new work, let sessions finish (bounded), stop. */
static void worker_drain_and_stop(void)
{
    const struct timespec step = { 0, 100 * 1000 * 1000 };
    time_t deadline = time(NULL) + WORKER_DRAIN_SECONDS;

    callbacks_start_draining();
    log_msg(LOG_INFO, "stopping: waiting up to %d s for %lu sessions in flight",
            WORKER_DRAIN_SECONDS, callbacks_active_sessions());
    while (callbacks_active_sessions() > 0 && time(NULL) < deadline)
        nanosleep(&step, NULL);
    if (callbacks_active_sessions() > 0)
        log_msg(LOG_WARNING, "stopping with %lu sessions still open",
                callbacks_active_sessions());
    smfi_stop();
}

/* The reloader thread: the only thread that takes USR1 and USR2. */
static void *worker_signal_thread(void *arg)
{
    const struct worker_settings *ws = arg;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SUPERVISOR_SIG_RELOAD);
    sigaddset(&set, SUPERVISOR_SIG_STOP);
    for (;;) {
        int sig;

        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SUPERVISOR_SIG_RELOAD) {
            worker_reload(ws);
        } else {
            worker_drain_and_stop();
            return NULL;
        }
    }
}

/*
 * The first snapshot of this process: the one validated at startup for the
 * first worker; for a restarted worker the file as it is now (earlier
 * workers may have reloaded it), or the startup one if it is broken.
 */
static void worker_publish_first(const struct worker_settings *ws,
                                 unsigned generation)
{
    struct config *startup = (struct config *)ws->startup; /* our own copy since fork */
    struct config_error err;
    struct config *c;

    if (generation == 0) {
        confref_publish(startup);
        return;
    }
    c = config_load(ws->config_path, &err);
    if (c == NULL) {
        log_msg(LOG_ERR, "reload failed: %s; keeping previous configuration", err.text);
        confref_publish(startup);
        return;
    }
    /* startup stays allocated: ws->socket may point into it. */
    confref_publish(c);
}

/* Block the signals that only designated threads may take. */
static void worker_block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SUPERVISOR_SIG_RELOAD);
    sigaddset(&set, SUPERVISOR_SIG_STOP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Run the milter; see worker.h. */
int worker_run(void *arg, int ready_fd, unsigned generation)
{
    const struct worker_settings *ws = arg;
    pthread_t thread;
    int status, policy_fd = -1;

    worker_block_signals();
    if (!callbacks_register()) {
        log_msg(LOG_ERR, "smfi_register failed");
        return EX_SOFTWARE;
    }
    if ((status = worker_prepare_socket_dir("socket directory", ws->socket,
                                            ws->startup)) != EX_OK
        || (ws->startup->policy_socket != NULL
            && (status = worker_prepare_socket_dir("policy_socket directory",
                                                   ws->startup->policy_socket,
                                                   ws->startup)) != EX_OK))
        return status;
    if (!worker_open_socket(ws->socket, ws->startup))
        return EX_UNAVAILABLE;
    if (ws->startup->policy_socket != NULL) {
        policy_fd = policyserver_open(ws->startup->policy_socket,
                                      ws->startup->socket_mode,
                                      ws->startup->socket_group);
        if (policy_fd < 0)
            return EX_UNAVAILABLE;
    }
    status = worker_drop_privileges(ws->startup);
    if (status != EX_OK)
        return status;
    worker_publish_first(ws, generation);
    if (policy_fd >= 0 && !policyserver_start(policy_fd)) {
        log_msg(LOG_ERR, "cannot start the policy service");
        return EX_OSERR;
    }
    if (pthread_create(&thread, NULL, worker_signal_thread, (void *)ws) != 0) {
        log_msg(LOG_ERR, "cannot start the reloader thread");
        return EX_OSERR;
    }
    /* Never joined: when libmilter stops on its own, it is still in sigwait. */
    pthread_detach(thread);
    log_msg(LOG_INFO, "serving on %s", ws->socket);
    if (write(ready_fd, "1", 1) != 1)
        log_msg(LOG_WARNING, "cannot tell the supervisor we are ready");
    close(ready_fd);
    status = smfi_main();
    if (policy_fd >= 0)
        policyserver_stop();
    log_msg(LOG_INFO, "milter stopped%s", status == MI_SUCCESS ? "" : " with an error");
    return status == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
