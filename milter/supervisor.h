/*
 * supervisor.h - the single-threaded parent that owns the signals and the
 * configuration in force.
 */
#ifndef FORCETLS_SUPERVISOR_H
#define FORCETLS_SUPERVISOR_H

#include <sys/types.h>

/* Signals the parent sends to the worker. */
#define SUPERVISOR_SIG_STOP   SIGUSR2   /* stop gracefully */

/* What a worker gets from the supervisor (in the forked child). */
struct supervisor_start {
    int ctl_fd;            /* its end of the control channel (ctlchan.h) */
    int config_fd;         /* the sealed bytes in force (confbytes.h) */
    unsigned generation;   /* workers started before this one (0: the first) */
    pid_t parent;          /* the supervisor: the worker ends when it is gone */
};

struct supervisor_job {
    /*
     * The worker, run in a forked child with HUP, INT, TERM, USR1, USR2 and
     * CHLD blocked. It sends "ready" on start->ctl_fd once it serves the
     * configuration of start->config_fd, answers reloads on it, and
     * returns the child's exit status.
     */
    int (*run)(void *arg, const struct supervisor_start *start);
    /* Called in the supervisor once, when the first worker serves; may be NULL. */
    void (*served)(void *arg);
    void *arg;
    const char *pidfile;     /* the parent's PID goes here; NULL for none */
    const char *config_path; /* absolute: read again on each reload */
    int config_fd;           /* the sealed bytes validated at start (taken over) */
    unsigned start_timeout;  /* seconds a new worker may take to serve */
};

/*
 * Run the worker under supervision until told to stop; returns the exit
 * status for the process. When ready_fd is not -1, one byte is written to
 * it once the first worker serves (0 on success, else the failed worker's
 * exit status), so a daemonizing caller can report startup errors.
 */
int supervisor_run(const struct supervisor_job *job, int ready_fd);

#endif
