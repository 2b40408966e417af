/*
 * confref.h - the active configuration, shared by all sessions.
 *
 * One published snapshot at a time. A session takes a counted reference
 * when it starts and drops it when it ends; a reload publishes a new
 * snapshot, and the old one is freed when its last session ends.
 */
#ifndef FORCETLS_CONFREF_H
#define FORCETLS_CONFREF_H

#include "config.h"

/* Publish config as the active snapshot (takes ownership). */
void confref_publish(struct config *config);

/* A counted reference to the active snapshot, or NULL if none. */
const struct config *confref_acquire(void);

/* Drop a reference taken by confref_acquire (NULL is ignored). */
void confref_release(const struct config *config);

/* Drop the published snapshot (at exit). */
void confref_shutdown(void);

#endif
