/*
 * supervisor.c - the single-threaded parent that owns the signals and the
 * configuration in force.
 *
 * Why a parent at all: libmilter's own signal thread sigwaits SIGHUP,
 * SIGTERM and SIGINT and treats SIGHUP as "stop", and smfi_main() cannot
 * run twice. A SIGHUP handler or a second sigwait in the milter process
 * races with that thread (the kernel may hand the signal to either), so a
 * burst of SIGHUPs can stop the milter. Instead, as in OpenDKIM, the
 * process that administrators and systemd signal (the PID in the pidfile)
 * is this parent. It creates no threads and never calls libmilter; it
 * keeps HUP, USR1, INT, TERM and CHLD blocked and reads them from a
 * signalfd in one poll() loop, together with the worker's control channel
 * (ctlchan.h), so every signal is handled exactly where and when we expect,
 * and nothing waits without a deadline:
 *   SIGHUP, SIGUSR1  -> reload: read the file's bytes once, seal them
 *                       (confbytes.h) and offer them to the worker, which
 *                       parses them and answers valid or error; on valid
 *                       we commit those bytes, log "reload ok", and tell the
 *                       worker to publish its parsed copy; while no
 *                       worker serves (a restart), the reload waits
 *                       for the next one
 *   SIGTERM, SIGINT  -> SIGUSR2 to the worker: stop gracefully; then wait
 *   the supervisor ends -> the worker reads EOF on the control channel
 *                       and stops (and has PR_SET_PDEATHSIG), so it never
 *                       serves stale policy on its own
 *   worker exits     -> restart it: at once when it had served (at most one
 *                       start a second), with back-off (1 s doubling to
 *                       60 s) while new workers fail before they serve
 * The committed bytes are the configuration in force: the last one logged
 * as loaded. A restarted worker parses exactly them, whatever the file on
 * disk holds; only a "valid" answer to a reload changes them. We keep no
 * parsed configuration: the worker parses, and the start-up snapshot that
 * main() parsed goes to the first worker by fork and is freed here
 * (job->served) once that worker serves.
 *
 * Thread safety: single-threaded by design; must not create threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "config.h"
#include "confbytes.h"
#include "ctlchan.h"
#include "log.h"
#include "safepath.h"
#include "supervisor.h"

/* How long a stopping worker may take before it is killed (ms). */
#define SUPERVISOR_STOP_TIMEOUT (60 * 1000)
/* How long a worker may take to answer a reload (ms). */
#define SUPERVISOR_RELOAD_TIMEOUT (30 * 1000)
/* Least time between two starts of workers that served (ms). */
#define SUPERVISOR_RESTART_SPACING 1000
/* Back-off bounds after failed starts, in seconds. */
#define SUPERVISOR_BACKOFF_MIN 1
#define SUPERVISOR_BACKOFF_MAX 60

struct supervisor {
    const struct supervisor_job *job;
    int sigfd;
    int ready_fd;             /* to a daemonizing caller until the first serve */
    bool first_served;        /* some worker has served */
    pid_t worker;             /* 0 when none runs */
    int ctl;                  /* our end of its control channel; -1 after EOF */
    bool serving;             /* it has said "ready" */
    long long started;        /* when it was forked (ms) */
    long long start_deadline; /* kill it if not ready by then (ms) */
    long long restart_at;     /* when to start the next worker (ms) */
    unsigned backoff;         /* seconds before the next start after a failure */
    unsigned failed_starts;   /* in a row */
    unsigned generation;      /* workers started so far */
    bool stopping;
    long long stop_deadline;
    int committed;            /* sealed bytes of the configuration in force */
    int offered;              /* bytes the worker is validating, or -1 */
    unsigned long seq;        /* of the last offer */
    long long reload_deadline;
    bool reload_wanted;       /* a reload signal not yet acted on */
    bool reoffer;             /* the offer is a retry: its worker ended unanswered */
    int exit_status;          /* when the first worker never served */
};

/* Monotonic milliseconds. */
static long long supervisor_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Before anything else: the pidfile's directory exists (created root-owned,
 * one level, like /run/forcetls) and is safe, and the pidfile, if there is
 * one, is a plain file that root may open (see safepath.h).
 */
static bool supervisor_check_pidfile(const char *path)
{
    char dir[4096], msg[SAFEPATH_MSG_MAX];
    bool created;

    if (!safepath_dirname(path, dir, sizeof dir)) {
        log_msg(LOG_ERR, "pidfile %s: not an absolute path that fits", path);
        return false;
    }
    if (!safepath_prepare_dir("pidfile directory", dir, 0755, (gid_t)-1, &created,
                              msg, sizeof msg)
        || !safepath_check_file("pidfile", path, msg, sizeof msg)) {
        log_msg(LOG_ERR, "%s", msg);
        return false;
    }
    if (created)
        log_msg(LOG_NOTICE, "created pidfile directory %s", dir);
    return true;
}

/* Write our PID to path, never through a link; a failure is logged, not fatal. */
static void supervisor_write_pidfile(const char *path)
{
    char text[32], msg[SAFEPATH_MSG_MAX];

    snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    if (!safepath_write_file("pidfile", path, text, msg, sizeof msg))
        log_msg(LOG_ERR, "cannot write pidfile: %s", msg);
}

/* Is process pid a forcetls-milter (and not an unrelated one that reused a stale PID)? */
static bool supervisor_is_us(long pid)
{
    char path[64], comm[32] = "";
    int fd;
    ssize_t got;

    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return true;    /* no /proc: assume it is */
    got = read(fd, comm, sizeof(comm) - 1);
    close(fd);
    return got > 0 && strncmp(comm, "forcetls", 8) == 0;
}

/* Is the daemon of an existing pidfile still running? Then say so. */
static bool supervisor_already_running(const char *path)
{
    char text[32] = "";
    long pid;

    if (!safepath_read_file(path, text, sizeof text) || text[0] == '\0')
        return false;
    pid = strtol(text, NULL, 10);
    if (pid <= 1 || pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        || !supervisor_is_us(pid))
        return false;
    log_msg(LOG_ERR, "already running as PID %ld (pidfile %s)", pid, path);
    return true;
}

/* Text for a wait status, for the log. */
static void supervisor_describe(int status, char *out, size_t outsz)
{
    if (WIFEXITED(status))
        snprintf(out, outsz, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, outsz, "signal %d", WTERMSIG(status));
    else
        snprintf(out, outsz, "status 0x%x", (unsigned)status);
}

/* Exit status to report for a worker that failed to start. */
static int supervisor_failure_status(int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return WEXITSTATUS(status);
    return EX_SOFTWARE;
}

/* Tell the caller that waits for our start how it went. */
static void supervisor_report_ready(int ready_fd, int status)
{
    unsigned char byte = (unsigned char)status;

    if (ready_fd < 0)
        return;
    if (write(ready_fd, &byte, 1) != 1)
        log_msg(LOG_WARNING, "cannot report startup status: %s", strerror(errno));
    close(ready_fd);
}

/* In the child: drop the parent's descriptors, die with the parent, run the worker. */
static void supervisor_child(struct supervisor *sv, int ctl, pid_t parent)
{
    struct supervisor_start start = { .ctl_fd = ctl, .config_fd = sv->committed,
                                       .generation = sv->generation,
                                       .parent = parent };

    /*
     * If the parent is killed outright, the worker must not linger. The
     * kernel clears this on the worker's setuid, so the worker sets it
     * again after dropping privileges (and then checks start.parent); it
     * also stops when the control channel ends (worker.c).
     */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    close(sv->sigfd);
    if (sv->ready_fd >= 0)
        close(sv->ready_fd);
    _exit(sv->job->run(sv->job->arg, &start));
}

/* Fork a worker; it is "starting" until it says "ready". */
static void supervisor_start_worker(struct supervisor *sv)
{
    int fds[2] = { -1, -1 };
    pid_t pid, self = getpid();

    if (!ctlchan_pair(fds) || (pid = fork()) < 0) {
        int e = errno;

        log_msg(LOG_ERR, "cannot start a worker: %s; retrying in %u s", strerror(e),
                sv->backoff);
        if (fds[0] >= 0) {
            close(fds[0]);
            close(fds[1]);
        }
        sv->exit_status = EX_OSERR;
        sv->restart_at = supervisor_now() + (long long)sv->backoff * 1000;
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        supervisor_child(sv, fds[1], self);
    }
    close(fds[1]);
    sv->worker = pid;
    sv->ctl = fds[0];
    sv->serving = false;
    sv->generation++;
    sv->started = supervisor_now();
    sv->start_deadline = sv->started + (long long)sv->job->start_timeout * 1000;
}

/* Can a reload be offered now: a live worker serves and its channel is open? */
static bool supervisor_can_offer(const struct supervisor *sv)
{
    return !sv->stopping && sv->worker != 0 && sv->serving && sv->ctl >= 0
           && sv->offered < 0;
}

/*
 * Offer the file's bytes as they are now to the serving worker. A worker
 * that cannot be reached is ending (or will, as its channel is closed
 * here): the reload stays wanted and goes to its successor once it serves.
 */
static void supervisor_offer(struct supervisor *sv)
{
    struct config_error err;
    char text[64], msg[SAFEPATH_MSG_MAX];

    sv->reload_wanted = false;
    /* As root, only a file no one else can change (see safepath.h). */
    if (!safepath_check_config(sv->job->config_path, msg, sizeof msg)) {
        log_msg(LOG_ERR, "reload failed: %s:0: %s; keeping previous configuration",
                sv->job->config_path, msg);
        return;
    }
    sv->offered = confbytes_from_file(sv->job->config_path, &err);
    if (sv->offered < 0) {
        log_msg(LOG_ERR, "reload failed: %s; keeping previous configuration", err.text);
        return;
    }
    snprintf(text, sizeof(text), "load %lu", ++sv->seq);
    if (!ctlchan_send(sv->ctl, text, sv->offered, true)) {
        log_msg(LOG_WARNING, "cannot reach worker %ld: %s; the reload waits for "
                "the next worker", (long)sv->worker, strerror(errno));
        close(sv->offered);
        sv->offered = -1;
        sv->reload_wanted = true;
        close(sv->ctl);          /* the worker stops when its channel ends */
        sv->ctl = -1;
        return;
    }
    sv->reload_deadline = supervisor_now() + SUPERVISOR_RELOAD_TIMEOUT;
}

/* Give up on the offer under validation, keeping the committed bytes. */
static void supervisor_drop_offer(struct supervisor *sv, const char *why)
{
    char text[64];

    log_msg(LOG_ERR, "reload failed: %s; keeping previous configuration", why);
    close(sv->offered);
    sv->offered = -1;
    sv->reoffer = false;
    snprintf(text, sizeof(text), "abort %lu", sv->seq);
    if (sv->ctl >= 0)
        (void)ctlchan_send(sv->ctl, text, -1, true);
}

/* The worker found the offered bytes valid: they become the configuration in force. */
static void supervisor_commit(struct supervisor *sv, size_t inbound, size_t outbound,
                              int facility)
{
    char text[64];

    close(sv->committed);
    sv->committed = sv->offered;
    sv->offered = -1;
    sv->reoffer = false;
    log_set_facility(facility);
    log_msg(LOG_INFO, "reload ok inbound=%zu outbound=%zu", inbound, outbound);
    snprintf(text, sizeof(text), "commit %lu", sv->seq);
    /*
     * A worker that cannot be told would go on serving the previous
     * configuration: stop it, so that its successor serves the new one.
     * (worker is 0 when it has already ended.)
     */
    if (!ctlchan_send(sv->ctl, text, -1, true) && sv->worker != 0) {
        log_msg(LOG_ERR, "cannot tell worker %ld to use the new configuration: %s; "
                "restarting it", (long)sv->worker, strerror(errno));
        kill(sv->worker, SUPERVISOR_SIG_STOP);
    }
}

/* The first worker serves: the daemon has started. */
static void supervisor_first_serve(struct supervisor *sv)
{
    sv->first_served = true;
    if (sv->job->served != NULL)
        sv->job->served(sv->job->arg);
    /* Only a daemon that serves claims the pidfile (after checking at start). */
    if (sv->job->pidfile != NULL)
        supervisor_write_pidfile(sv->job->pidfile);
    supervisor_report_ready(sv->ready_fd, 0);
    sv->ready_fd = -1;
}

/* Act on one message from the worker. */
static void supervisor_on_message(struct supervisor *sv, const char *text)
{
    unsigned long seq;
    size_t inbound, outbound;
    int facility, at = 0;

    if (strcmp(text, "ready") == 0) {
        if (sv->serving)
            return;
        sv->serving = true;
        sv->failed_starts = 0;
        sv->backoff = SUPERVISOR_BACKOFF_MIN;
        if (!sv->first_served)
            supervisor_first_serve(sv);
    } else if (sscanf(text, "valid %lu inbound=%zu outbound=%zu facility=%d", &seq,
                      &inbound, &outbound, &facility) == 4) {
        if (sv->offered >= 0 && seq == sv->seq)
            supervisor_commit(sv, inbound, outbound, facility);
    } else if (sscanf(text, "error %lu %n", &seq, &at) == 1 && at > 0) {
        if (sv->offered >= 0 && seq == sv->seq)
            supervisor_drop_offer(sv, text + at);
    } else {
        log_msg(LOG_WARNING, "unexpected message from worker %ld", (long)sv->worker);
    }
}

/* Read every message waiting on the control channel; note its end. */
static void supervisor_drain(struct supervisor *sv)
{
    char text[CTLCHAN_MAX];

    while (sv->ctl >= 0) {
        int fd;
        ssize_t n = ctlchan_recv(sv->ctl, text, sizeof(text), &fd, true);

        if (fd >= 0)
            close(fd);
        if (n > 0) {
            supervisor_on_message(sv, text);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            close(sv->ctl);      /* the worker is gone or going */
            sv->ctl = -1;
        } else {
            return;
        }
    }
}

/* The worker has ended: account for it and schedule the next one. */
static void supervisor_worker_ended(struct supervisor *sv, pid_t pid, int status)
{
    char why[64];
    long long now = supervisor_now();
    bool served;

    sv->worker = 0;            /* reaped: never signal that PID again */
    supervisor_drain(sv);      /* its last answers come before its death */
    served = sv->serving;
    sv->serving = false;       /* a reload now waits for the next worker */
    if (sv->ctl >= 0)
        close(sv->ctl);
    sv->ctl = -1;
    /*
     * A worker killed while it validated (the signal came in the restart
     * gap, before we knew) did not judge the bytes: its successor does,
     * once. A second worker ending over the same reload fails it, so that
     * bytes that crash the parser cannot keep workers restarting.
     */
    if (sv->offered >= 0 && !sv->reoffer && !sv->stopping) {
        log_msg(LOG_WARNING, "worker %ld ended before it answered the reload; "
                "offering it to the next worker", (long)pid);
        close(sv->offered);
        sv->offered = -1;
        sv->reload_wanted = true;
        sv->reoffer = true;
    } else if (sv->offered >= 0) {
        supervisor_drop_offer(sv, "the worker ended before it answered");
    }
    if (sv->stopping)
        return;
    supervisor_describe(status, why, sizeof(why));
    if (!sv->first_served) {
        sv->exit_status = supervisor_failure_status(status);
        return;
    }
    if (served) {
        long long at = sv->started + SUPERVISOR_RESTART_SPACING;

        sv->restart_at = at > now ? at : now;
        log_msg(LOG_ERR, "worker %ld ended unexpectedly (%s); restarting in %lld s",
                (long)pid, why, (sv->restart_at - now + 999) / 1000);
        return;
    }
    sv->failed_starts++;
    sv->restart_at = now + (long long)sv->backoff * 1000;
    log_msg(LOG_ERR, "worker %ld failed to start (%s); retrying in %u s "
            "(back-off after %u failed starts in a row)", (long)pid, why, sv->backoff,
            sv->failed_starts);
    sv->backoff = sv->backoff * 2 > SUPERVISOR_BACKOFF_MAX
        ? SUPERVISOR_BACKOFF_MAX : sv->backoff * 2;
}

/* Reap exited children; note when the worker is gone. */
static void supervisor_reap(struct supervisor *sv)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (pid == sv->worker)
            supervisor_worker_ended(sv, pid, status);
}

/* Act on one signal read from the signalfd. */
static void supervisor_on_signal(struct supervisor *sv, int sig)
{
    switch (sig) {
    case SIGHUP:
    case SIGUSR1:
        sv->reload_wanted = true;   /* acted on when a worker serves and is free */
        break;
    case SIGTERM:
    case SIGINT:
        if (!sv->stopping) {
            log_msg(LOG_INFO, "stopping on signal %d", sig);
            sv->stopping = true;
            sv->stop_deadline = supervisor_now() + SUPERVISOR_STOP_TIMEOUT;
            /* A starting worker serves nothing yet and may not take USR2. */
            if (sv->worker != 0)
                kill(sv->worker, sv->serving ? SUPERVISOR_SIG_STOP : SIGKILL);
        }
        break;
    default:
        break;
    }
}

/* Read every pending signal. */
static void supervisor_read_signals(struct supervisor *sv)
{
    struct signalfd_siginfo si;

    while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        supervisor_on_signal(sv, (int)si.ssi_signo);
}

/* Act on the deadlines that have passed. */
static void supervisor_timers(struct supervisor *sv)
{
    long long now = supervisor_now();

    if (sv->worker != 0 && !sv->serving && !sv->stopping && now >= sv->start_deadline) {
        log_msg(LOG_ERR, "worker %ld did not serve within %u s; killing it",
                (long)sv->worker, sv->job->start_timeout);
        kill(sv->worker, SIGKILL);
        sv->start_deadline = now + SUPERVISOR_STOP_TIMEOUT;
    }
    if (sv->offered >= 0 && now >= sv->reload_deadline) {
        char why[96];

        snprintf(why, sizeof(why), "worker %ld did not answer within %d s",
                 (long)sv->worker, SUPERVISOR_RELOAD_TIMEOUT / 1000);
        supervisor_drop_offer(sv, why);
    }
    if (sv->stopping && sv->worker != 0 && now >= sv->stop_deadline) {
        log_msg(LOG_ERR, "worker %ld did not stop in %d s; killing it",
                (long)sv->worker, SUPERVISOR_STOP_TIMEOUT / 1000);
        kill(sv->worker, SIGKILL);
        sv->stop_deadline = now + SUPERVISOR_STOP_TIMEOUT;
    }
    if (!sv->stopping && sv->worker == 0 && sv->first_served && now >= sv->restart_at)
        supervisor_start_worker(sv);
    if (sv->reload_wanted && supervisor_can_offer(sv))
        supervisor_offer(sv);
}

/* Milliseconds until the next deadline, at most one second. */
static int supervisor_timeout(const struct supervisor *sv)
{
    long long now = supervisor_now(), next = now + 1000;

    if (sv->worker != 0 && !sv->serving && sv->start_deadline < next)
        next = sv->start_deadline;
    if (sv->offered >= 0 && sv->reload_deadline < next)
        next = sv->reload_deadline;
    if (sv->stopping && sv->stop_deadline < next)
        next = sv->stop_deadline;
    if (sv->worker == 0 && !sv->stopping && sv->restart_at < next)
        next = sv->restart_at;
    return next <= now ? 0 : (int)(next - now);
}

/* The loop; returns when stopped, or when the first worker failed to start. */
static void supervisor_loop(struct supervisor *sv)
{
    for (;;) {
        struct pollfd pfd[2] = { { .fd = sv->sigfd, .events = POLLIN },
                                 { .fd = sv->ctl, .events = POLLIN } };

        if (poll(pfd, sv->ctl >= 0 ? 2 : 1, supervisor_timeout(sv)) < 0
            && errno != EINTR) {
            log_msg(LOG_ERR, "poll: %s", strerror(errno));
            sleep(1);
        }
        supervisor_drain(sv);
        supervisor_read_signals(sv);
        supervisor_reap(sv);
        if (sv->worker == 0 && (sv->stopping || !sv->first_served))
            return;
        supervisor_timers(sv);
        if (sv->worker == 0 && sv->exit_status != 0 && !sv->first_served)
            return;
    }
}

/* Run the worker under supervision; see supervisor.h. */
int supervisor_run(const struct supervisor_job *job, int ready_fd)
{
    struct supervisor sv = { .job = job, .ready_fd = ready_fd, .ctl = -1,
                             .backoff = SUPERVISOR_BACKOFF_MIN,
                             .committed = job->config_fd, .offered = -1 };
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    /*
     * A closed stderr pipe (forcetls-milter -f | head) must not kill us:
     * writes then fail with EPIPE. The worker inherits this, and libmilter
     * ignores SIGPIPE itself as well.
     */
    signal(SIGPIPE, SIG_IGN);
    sv.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sv.sigfd < 0) {
        log_msg(LOG_ERR, "signalfd: %s", strerror(errno));
        supervisor_report_ready(ready_fd, EX_OSERR);
        return EX_OSERR;
    }
    if (job->pidfile != NULL && !supervisor_check_pidfile(job->pidfile)) {
        supervisor_report_ready(ready_fd, EX_CONFIG);
        return EX_CONFIG;
    }
    if (job->pidfile != NULL && supervisor_already_running(job->pidfile)) {
        supervisor_report_ready(ready_fd, EX_UNAVAILABLE);
        return EX_UNAVAILABLE;
    }
    supervisor_start_worker(&sv);
    if (sv.worker != 0)
        supervisor_loop(&sv);
    close(sv.sigfd);
    if (sv.committed >= 0)
        close(sv.committed);
    if (!sv.first_served) {
        /* Never served: stopped while starting, or the first start failed. */
        int status = sv.stopping ? EX_OK : sv.exit_status != 0 ? sv.exit_status
                     : EX_SOFTWARE;

        supervisor_report_ready(sv.ready_fd, status != EX_OK ? status : EX_TEMPFAIL);
        log_msg(LOG_INFO, sv.stopping ? "stopped before serving" : "not started");
        return status;
    }
    if (job->pidfile != NULL)
        unlink(job->pidfile);
    log_msg(LOG_INFO, "stopped");
    return EX_OK;
}
