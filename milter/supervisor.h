/*
 * supervisor.h - the single-threaded parent that owns the signals.
 */
#ifndef FORCETLS_SUPERVISOR_H
#define FORCETLS_SUPERVISOR_H

/* Signals the parent sends to the worker. */
#define SUPERVISOR_SIG_RELOAD SIGUSR1   /* load the configuration again */
#define SUPERVISOR_SIG_STOP   SIGUSR2   /* stop gracefully */

struct supervisor_job {
    /*
     * The worker, run in a forked child with HUP, INT, TERM, USR1 and USR2
     * blocked. It writes one byte to ready_fd once it serves, and returns
     * the child's exit status. generation counts the workers started
     * before this one (0 for the first).
     */
    int (*run)(void *arg, int ready_fd, unsigned generation);
    void *arg;
    const char *pidfile;    /* the parent's PID goes here; NULL for none */
};

/*
 * Run the worker under supervision until told to stop; returns the exit
 * status for the process. When ready_fd is not -1, one byte is written to
 * it once the first worker serves (0 on success, else the failed worker's
 * exit status), so a daemonizing caller can report startup errors.
 */
int supervisor_run(const struct supervisor_job *job, int ready_fd);

#endif
