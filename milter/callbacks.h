/*
 * callbacks.h - the libmilter shell: registration and session accounting.
 */
#ifndef FORCETLS_CALLBACKS_H
#define FORCETLS_CALLBACKS_H

#include <stdbool.h>

/*
 * Register the filter with libmilter (smfi_register). generation is the
 * worker's (supervisor_start.generation): it makes session ids unique for
 * the daemon's life. Call once per worker, before smfi_main.
 */
bool callbacks_register(unsigned generation);

/* Sessions that start from now on are tempfailed; those in flight go on. */
void callbacks_start_draining(void);

/* Number of MTA sessions in progress. */
unsigned long callbacks_active_sessions(void);

/* A new configuration is in force: re-arm its one-time warnings. */
void callbacks_config_changed(void);

#endif
