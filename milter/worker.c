/*
 * worker.c - the milter process: socket, privileges, reloads, smfi_main.
 *
 * Owns the life of one milter process under the supervisor: open the
 * socket while still privileged (in a directory safepath.c found to be
 * root's, so root follows no path the user controls), drop privileges,
 * publish the configuration in force, start the control and signal
 * threads, and hand over to libmilter. It decides nothing about mail.
 *
 * Configuration: the first worker publishes the start-up snapshot that
 * main() parsed (inherited by fork; ownership passes to confref, and
 * nothing here reads it afterwards). Every later worker parses the sealed
 * bytes the supervisor committed (never the file on disk), and fails to
 * start if they do not load. A reload is the supervisor's offer on the
 * control channel: we parse the offered bytes, answer valid or error, and
 * publish only when the supervisor says commit (after it has logged
 * "reload ok"), so both processes always agree on the bytes in force.
 * When the control channel ends, the supervisor is gone: we stop as on
 * USR2 rather than serve on unsupervised (we also set PR_SET_PDEATHSIG
 * again after dropping privileges, since setuid clears it).
 *
 * Signals: the supervisor forks us with HUP, INT, TERM, USR1 and USR2
 * blocked, and we keep them blocked in every thread we or libmilter
 * create. libmilter's signal thread then takes HUP/INT/TERM (sent to this
 * PID directly, they stop us and the supervisor restarts us), and our
 * signal thread is the only one that takes USR2 (graceful stop) and USR1
 * (ignored: reloads go through the supervisor). No signal can land on a
 * thread that does not expect it.
 *
 * Thread safety: the control thread publishes snapshots through
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "confbytes.h"
#include "confref.h"
#include "ctlchan.h"
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

/* Does a process setting differ between the start-up values and c? */
static bool worker_differs(const char *now, const char *then)
{
    return (now == NULL) != (then == NULL) || (now != NULL && strcmp(now, then) != 0);
}

/* Warn about one process setting that a reload changed but cannot apply. */
static void worker_warn_changed(const char *name)
{
    log_msg(LOG_WARNING, "%s changed in the configuration: takes effect when the "
            "daemon is restarted", name);
}

/*
 * The process settings (see worker.h) stay those of the daemon's start,
 * for every worker, until the daemon itself is restarted: say so for each
 * one a reload changes.
 */
static void worker_warn_process_settings(const struct config *c, const struct config *p)
{
    if (worker_differs(c->user, p->user))
        worker_warn_changed("user");
    if (strcmp(c->socket, p->socket) != 0)
        worker_warn_changed("socket");
    if (worker_differs(c->policy_socket, p->policy_socket))
        worker_warn_changed("policy_socket");
    if (c->socket_mode != p->socket_mode)
        worker_warn_changed("socket_mode");
    if (worker_differs(c->socket_group, p->socket_group))
        worker_warn_changed("socket_group");
}

/* Make c the active snapshot (ownership passes to confref). */
static void worker_publish(struct config *c)
{
    log_set_facility(c->syslog_facility);
    confref_publish(c);
    config_release_unused_memory();   /* the old snapshot, unless sessions hold it */
    callbacks_config_changed();
}

/* Parse the sealed bytes of fd (closing it); NULL with *err filled on failure. */
static struct config *worker_parse(const struct worker_settings *ws, int fd,
                                   struct config_error *err)
{
    struct config *c;
    size_t len;
    char *bytes = confbytes_read(fd, &len);

    if (bytes == NULL) {
        snprintf(err->text, sizeof(err->text), "%s:0: cannot read the validated "
                 "content: %s", ws->config_path, strerror(errno));
        close(fd);
        return NULL;
    }
    close(fd);
    c = config_load_bytes(ws->config_path, bytes, len, err);
    free(bytes);
    config_release_unused_memory();   /* the copy of the bytes, too */
    return c;
}

/*
 * Validate the supervisor's offer "load SEQ" (bytes in fd) and answer.
 * Returns the parsed snapshot, to publish only if the supervisor commits it.
 */
static struct config *worker_validate(const struct worker_settings *ws,
                                      unsigned long seq, int fd)
{
    const struct config *p = ws->process;
    struct config_error err;
    struct config *c = worker_parse(ws, fd, &err);
    char text[CTLCHAN_MAX];

    if (c == NULL) {
        snprintf(text, sizeof(text), "error %lu %s", seq, err.text);
        (void)ctlchan_send(ws->ctl_fd, text, -1, false);
        return NULL;
    }
    worker_warn_process_settings(c, p);
    snprintf(text, sizeof(text), "valid %lu inbound=%zu outbound=%zu facility=%d", seq,
             c->inbound_count, c->outbound_count, c->syslog_facility);
    if (!ctlchan_send(ws->ctl_fd, text, -1, false)) {
        config_free(c);
        return NULL;
    }
    return c;
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

/*
 * The control thread: takes the supervisor's messages one at a time. A
 * validated snapshot waits in pending until "commit SEQ" (publish) or
 * anything else (drop: the supervisor keeps its previous bytes).
 */
static void *worker_control_thread(void *arg)
{
    const struct worker_settings *ws = arg;
    struct config *pending = NULL;
    unsigned long pending_seq = 0;
    char text[CTLCHAN_MAX];

    for (;;) {
        unsigned long seq;
        int fd;
        ssize_t n = ctlchan_recv(ws->ctl_fd, text, sizeof(text), &fd, false);

        if (n <= 0) {
            /*
             * The supervisor is gone (or has given up on us): nobody could
             * reload or restart us, so we would serve stale policy, and
             * hold the socket a new daemon needs. Stop as on USR2.
             */
            config_free(pending);
            log_msg(LOG_WARNING, "the supervisor's control channel ended: stopping");
            worker_drain_and_stop();
            return NULL;
        }
        if (pending != NULL && sscanf(text, "commit %lu", &seq) == 1
            && seq == pending_seq) {
            worker_publish(pending);
            pending = NULL;
            continue;
        }
        config_free(pending);   /* "abort SEQ", or a new offer */
        pending = NULL;
        if (sscanf(text, "load %lu", &seq) == 1 && fd >= 0) {
            pending = worker_validate(ws, seq, fd);
            pending_seq = seq;
        } else if (fd >= 0) {
            close(fd);
        }
    }
}

/* The signal thread: the only thread that takes USR1 and USR2. */
static void *worker_signal_thread(void *arg)
{
    sigset_t set;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SUPERVISOR_SIG_STOP);
    for (;;) {
        int sig;

        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            log_msg(LOG_WARNING, "SIGUSR1 to the worker is ignored: send SIGHUP to "
                    "the supervisor (the pidfile's PID) to reload");
        } else {
            worker_drain_and_stop();
            return NULL;
        }
    }
}

/*
 * The first snapshot of this process. The first worker takes the start-up
 * snapshot (ws->startup is ours since fork; it is set to NULL here, so
 * ownership visibly passes to confref). A restarted worker parses the
 * committed bytes: the configuration last logged as loaded.
 */
static bool worker_publish_first(struct worker_settings *ws,
                                 const struct supervisor_start *start)
{
    struct config_error err;
    struct config *c;

    if (ws->startup != NULL) {
        c = ws->startup;
        ws->startup = NULL;
        close(start->config_fd);
        confref_publish(c);
        return true;
    }
    c = worker_parse(ws, start->config_fd, &err);
    if (c == NULL) {
        log_msg(LOG_ERR, "cannot load the configuration in force: %s", err.text);
        return false;
    }
    log_msg(LOG_INFO, "worker serves the configuration in force: inbound=%zu outbound=%zu",
            c->inbound_count, c->outbound_count);
    log_set_facility(c->syslog_facility);
    confref_publish(c);
    return true;
}

#ifdef FORCETLS_TEST_HOOKS
/*
 * Test hook (./configure --enable-test-hooks only; see main.c): hang
 * before serving while the supervisor lives (see worker.h).
 */
static void worker_test_hang(const struct worker_settings *ws, unsigned generation)
{
    pid_t parent = getppid();
    int i;

    if (ws->test_hang_from < 0 || generation < (unsigned)ws->test_hang_from)
        return;
    log_msg(LOG_WARNING, "test hook: worker hangs before serving");
    for (i = 0; i < 3600 && getppid() == parent; i++)
        sleep(1);
}
#endif

/* Block the signals that only designated threads may take. */
static void worker_block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SUPERVISOR_SIG_STOP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Run the milter; see worker.h. */
int worker_run(void *arg, const struct supervisor_start *start)
{
    struct worker_settings *ws = arg;
    const struct config *p = ws->process;
    pthread_t thread;
    int status, policy_fd = -1;

    worker_block_signals();
    ws->ctl_fd = start->ctl_fd;
    if (!callbacks_register(start->generation)) {
        log_msg(LOG_ERR, "smfi_register failed");
        return EX_SOFTWARE;
    }
    if ((status = worker_prepare_socket_dir("socket directory", ws->socket, p)) != EX_OK
        || (p->policy_socket != NULL
            && (status = worker_prepare_socket_dir("policy_socket directory",
                                                   p->policy_socket, p)) != EX_OK))
        return status;
    if (!worker_open_socket(ws->socket, p))
        return EX_UNAVAILABLE;
    if (p->policy_socket != NULL) {
        policy_fd = policyserver_open(p->policy_socket, p->socket_mode, p->socket_group);
        if (policy_fd < 0)
            return EX_UNAVAILABLE;
    }
    status = worker_drop_privileges(p);
    if (status != EX_OK)
        return status;
    /*
     * setuid cleared the death signal the supervisor set at fork: set it
     * again, then make sure the supervisor did not end in between.
     */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != start->parent) {
        log_msg(LOG_ERR, "the supervisor is gone; not serving");
        return EX_SOFTWARE;
    }
    if (!worker_publish_first(ws, start))
        return EX_CONFIG;
#ifdef FORCETLS_TEST_HOOKS
    worker_test_hang(ws, start->generation);
#endif
    if (policy_fd >= 0 && !policyserver_start(policy_fd)) {
        log_msg(LOG_ERR, "cannot start the policy service");
        return EX_OSERR;
    }
    if (pthread_create(&thread, NULL, worker_signal_thread, NULL) != 0
        || pthread_detach(thread) != 0
        || pthread_create(&thread, NULL, worker_control_thread, ws) != 0
        || pthread_detach(thread) != 0) {
        log_msg(LOG_ERR, "cannot start the signal and control threads");
        return EX_OSERR;
    }
    /* Never joined: when libmilter stops on its own, they are still waiting. */
    log_msg(LOG_INFO, "serving on %s", ws->socket);
    if (!ctlchan_send(ws->ctl_fd, "ready", -1, false))
        log_msg(LOG_WARNING, "cannot tell the supervisor we are ready");
    status = smfi_main();
    if (policy_fd >= 0)
        policyserver_stop();
    log_msg(LOG_INFO, "milter stopped%s", status == MI_SUCCESS ? "" : " with an error");
    return status == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}

/* Copy one optional string; false when out of memory. */
static bool worker_copy(char **to, const char *from)
{
    *to = from != NULL ? strdup(from) : NULL;
    return from == NULL || *to != NULL;
}

/* The process settings of c (see worker.h). */
struct config *worker_process_settings(const struct config *c)
{
    struct config *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->socket_mode = c->socket_mode;
    p->syslog_facility = c->syslog_facility;
    p->lines = c->lines;
    if (!worker_copy(&p->path, c->path) || !worker_copy(&p->socket, c->socket)
        || !worker_copy(&p->policy_socket, c->policy_socket)
        || !worker_copy(&p->socket_group, c->socket_group)
        || !worker_copy(&p->user, c->user) || !worker_copy(&p->pidfile, c->pidfile)) {
        worker_process_settings_free(p);
        return NULL;
    }
    return p;
}

/*
 * Free what worker_process_settings made: its strings are strdup'd, not in
 * a snapshot's string blocks, so config_free alone would leak them.
 */
void worker_process_settings_free(struct config *p)
{
    if (p == NULL)
        return;
    free(p->socket);
    free(p->policy_socket);
    free(p->socket_group);
    free(p->user);
    free(p->pidfile);
    config_free(p);
}
