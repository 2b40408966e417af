/*
 * worker.h - the milter process: socket, privileges, reloads, smfi_main.
 */
#ifndef FORCETLS_WORKER_H
#define FORCETLS_WORKER_H

#include "config.h"
#include "supervisor.h"

struct worker_settings {
    const char *config_path;  /* absolute, for messages (the bytes come from the supervisor) */
    const char *socket;       /* the milter socket (-p or the file's); our own copy */
    /*
     * The process settings of the start-up configuration (socket, socket_mode,
     * socket_group, user, policy_socket; no connectors): every worker opens
     * its sockets and drops privileges by them, until the daemon restarts.
     */
    const struct config *process;
    /*
     * The whole start-up snapshot, for the first worker only: it takes it
     * over (and sets this to NULL in its copy); the supervisor frees its own
     * and sets this to NULL once that worker serves.
     */
    struct config *startup;
    int test_hang_from;       /* test hook (--enable-test-hooks): hang from this generation */
    int ctl_fd;               /* set by worker_run: the control channel */
};

/* The process settings of c, without connectors. */
struct config *worker_process_settings(const struct config *c);
/* Free what worker_process_settings returned (NULL is ignored). */
void worker_process_settings_free(struct config *p);

/* The supervisor's job: run the milter; returns an exit status. */
int worker_run(void *settings, const struct supervisor_start *start);

#endif
