/*
 * worker.h - the milter process: socket, privileges, reloads, smfi_main.
 */
#ifndef FORCETLS_WORKER_H
#define FORCETLS_WORKER_H

#include "config.h"

struct worker_settings {
    const char *config_path;      /* absolute: reloads happen after chdir("/") */
    const char *socket;           /* the milter socket (-p or the file's) */
    const struct config *startup; /* the snapshot validated at startup */
    /* Copies of what startup said (startup itself may be freed by a reload). */
    const char *file_socket;      /* socket in the file */
    const char *user;             /* user, or NULL */
    const char *policy_socket;    /* policy_socket, or NULL */
};

/* The supervisor's job: run the milter; returns an exit status. */
int worker_run(void *settings, int ready_fd, unsigned generation);

#endif
