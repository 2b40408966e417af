/*
 * supervisor.c - the single-threaded parent that owns the signals.
 *
 * Why a parent at all: libmilter's own signal thread sigwaits SIGHUP,
 * SIGTERM and SIGINT and treats SIGHUP as "stop", and smfi_main() cannot
 * run twice. A SIGHUP handler or a second sigwait in the milter process
 * races with that thread (the kernel may hand the signal to either), so a
 * burst of SIGHUPs can stop the milter. Instead, as in OpenDKIM, the
 * process that administrators and systemd signal (the PID in the pidfile)
 * is this parent. It creates no threads and never calls libmilter; it
 * keeps HUP, USR1, INT, TERM and CHLD blocked and takes them one at a time
 * with sigtimedwait(), so every signal is handled exactly where and when
 * we expect:
 *   SIGHUP, SIGUSR1  -> SIGUSR1 to the worker, whose reloader thread is the
 *                       only thread that takes SIGUSR1 (all others block it)
 *   SIGTERM, SIGINT  -> SIGUSR2 to the worker: stop gracefully; then wait
 *   worker exits     -> restart it, with back-off, unless stopping
 * Signals of one kind that arrive together coalesce into one reload,
 * which is what a reload wants. The worker never sees SIGHUP from us.
 *
 * Thread safety: single-threaded by design; must not create threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "log.h"
#include "safepath.h"
#include "supervisor.h"

/* How long a stopping worker may take before it is killed. */
#define SUPERVISOR_STOP_TIMEOUT 60
/* Restart back-off bounds, in seconds. */
#define SUPERVISOR_BACKOFF_MIN 1
#define SUPERVISOR_BACKOFF_MAX 60

struct supervisor {
    const struct supervisor_job *job;
    pid_t worker;             /* 0 when none runs */
    time_t worker_started;
    time_t restart_at;        /* when to start the next worker */
    unsigned backoff;
    bool stopping;
    time_t stop_deadline;
    unsigned generation;      /* workers started so far */
};

/* A no-op handler, so that SIGCHLD is queued rather than discarded. */
static void supervisor_sigchld(int sig)
{
    (void)sig;
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

/* In the child: die with the parent, then run the worker. */
static void supervisor_child(const struct supervisor_job *job, int ready_fd,
                             unsigned generation)
{
#ifdef __linux__
    /* If the parent is killed outright, the worker must not linger. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    _exit(job->run(job->arg, ready_fd, generation));
}

/*
 * Fork a worker and wait until it serves. Returns its PID, or 0 when it
 * failed to start; then *status holds its wait status.
 */
static pid_t supervisor_start_worker(const struct supervisor_job *job,
                                     unsigned generation, int *status)
{
    int fds[2];
    pid_t pid;
    char byte;
    ssize_t got;

    *status = 0;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        log_msg(LOG_ERR, "pipe: %s", strerror(errno));
        *status = EX_OSERR << 8;
        return 0;
    }
    pid = fork();
    if (pid < 0) {
        log_msg(LOG_ERR, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        *status = EX_OSERR << 8;
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        supervisor_child(job, fds[1], generation);
    }
    close(fds[1]);
    do
        got = read(fds[0], &byte, 1);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got == 1)
        return pid;
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return 0;
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

/* Schedule the next start after the current back-off, and double it (bounded). */
static void supervisor_back_off(struct supervisor *sv)
{
    sv->restart_at = time(NULL) + sv->backoff;
    sv->backoff = sv->backoff * 2 > SUPERVISOR_BACKOFF_MAX
        ? SUPERVISOR_BACKOFF_MAX : sv->backoff * 2;
}

/* Reap exited children; note when the worker is gone. */
static void supervisor_reap(struct supervisor *sv)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        char why[64];
        time_t now = time(NULL);

        if (pid != sv->worker)
            continue;
        sv->worker = 0;
        if (sv->stopping)
            continue;
        if (now - sv->worker_started > SUPERVISOR_BACKOFF_MAX)
            sv->backoff = SUPERVISOR_BACKOFF_MIN;
        supervisor_describe(status, why, sizeof(why));
        log_msg(LOG_ERR, "worker %ld ended unexpectedly (%s); restarting in %u s",
                (long)pid, why, sv->backoff);
        supervisor_back_off(sv);
    }
}

/* Start a replacement worker when it is time to. */
static void supervisor_maybe_restart(struct supervisor *sv)
{
    int status;

    if (sv->stopping || sv->worker != 0 || time(NULL) < sv->restart_at)
        return;
    sv->worker = supervisor_start_worker(sv->job, sv->generation++, &status);
    sv->worker_started = time(NULL);
    if (sv->worker == 0) {
        char why[64];

        supervisor_describe(status, why, sizeof(why));
        log_msg(LOG_ERR, "worker failed to start (%s); retrying in %u s", why,
                sv->backoff);
        supervisor_back_off(sv);
    }
}

/* Act on one signal taken from the blocked set. */
static void supervisor_on_signal(struct supervisor *sv, int sig)
{
    switch (sig) {
    case SIGHUP:
    case SIGUSR1:
        if (sv->worker != 0 && !sv->stopping)
            kill(sv->worker, SUPERVISOR_SIG_RELOAD);
        break;
    case SIGTERM:
    case SIGINT:
        if (!sv->stopping) {
            log_msg(LOG_INFO, "stopping on signal %d", sig);
            sv->stopping = true;
            sv->stop_deadline = time(NULL) + SUPERVISOR_STOP_TIMEOUT;
            if (sv->worker != 0)
                kill(sv->worker, SUPERVISOR_SIG_STOP);
        }
        break;
    default:
        break;
    }
}

/* The signal loop; returns when the worker has stopped after SIGTERM/SIGINT. */
static void supervisor_loop(struct supervisor *sv, const sigset_t *set)
{
    for (;;) {
        const struct timespec tick = { 1, 0 };
        int sig = sigtimedwait(set, NULL, &tick);

        if (sig > 0)
            supervisor_on_signal(sv, sig);
        supervisor_reap(sv);
        if (sv->stopping && sv->worker == 0)
            return;
        if (sv->stopping && time(NULL) > sv->stop_deadline) {
            log_msg(LOG_ERR, "worker %ld did not stop in %d s; killing it",
                    (long)sv->worker, SUPERVISOR_STOP_TIMEOUT);
            kill(sv->worker, SIGKILL);
            sv->stop_deadline = time(NULL) + SUPERVISOR_STOP_TIMEOUT;
        }
        supervisor_maybe_restart(sv);
    }
}

/* Run the worker under supervision; see supervisor.h. */
int supervisor_run(const struct supervisor_job *job, int ready_fd)
{
    struct supervisor sv = { .job = job, .backoff = SUPERVISOR_BACKOFF_MIN };
    struct sigaction sa;
    sigset_t set;
    int status;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = supervisor_sigchld;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    if (job->pidfile != NULL && !supervisor_check_pidfile(job->pidfile)) {
        supervisor_report_ready(ready_fd, EX_CONFIG);
        return EX_CONFIG;
    }
    if (job->pidfile != NULL && supervisor_already_running(job->pidfile)) {
        supervisor_report_ready(ready_fd, EX_UNAVAILABLE);
        return EX_UNAVAILABLE;
    }
    sv.worker = supervisor_start_worker(job, sv.generation++, &status);
    sv.worker_started = time(NULL);
    if (sv.worker == 0) {
        status = supervisor_failure_status(status);
        supervisor_report_ready(ready_fd, status);
        return status;
    }
    /* Only a daemon that serves claims the pidfile (after checking above). */
    if (job->pidfile != NULL)
        supervisor_write_pidfile(job->pidfile);
    supervisor_report_ready(ready_fd, 0);
    supervisor_loop(&sv, &set);
    if (job->pidfile != NULL)
        unlink(job->pidfile);
    log_msg(LOG_INFO, "stopped");
    return EX_OK;
}
