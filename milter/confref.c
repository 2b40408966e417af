/*
 * confref.c - the active configuration snapshot and its reference counts.
 *
 * Owns which snapshot is in force. It never changes a snapshot: a reload
 * builds a new one and publishes it whole, and a session keeps the
 * snapshot it started with until it ends (OpenDKIM's pattern).
 *
 * Thread safety: one mutex guards the published pointer and the counts.
 * It is taken twice per mail transaction (acquire at MAIL, release at the
 * next MAIL, RSET or close), never per recipient, so it is uncontended in
 * practice; a mutex rather than a lock-free scheme because a reader must
 * never increment the count of a snapshot that a concurrent reload is
 * freeing. A snapshot whose last reference goes is unlinked under the lock
 * and freed after it (a large one takes a while to free, and no other
 * session should wait for that).
 */
#include <pthread.h>
#include <stdlib.h>

#include "confref.h"

struct confref_entry {
    struct config *config;
    unsigned long refs;     /* sessions holding it, plus 1 while published */
    struct confref_entry *next;
};

static pthread_mutex_t confref_lock = PTHREAD_MUTEX_INITIALIZER;
static struct confref_entry *confref_current;
/* Retired snapshots still held by sessions. */
static struct confref_entry *confref_retired;

/* Find the entry of config among the current and retired ones (locked). */
static struct confref_entry **confref_find(const struct config *config)
{
    if (confref_current != NULL && confref_current->config == config)
        return &confref_current;
    for (struct confref_entry **e = &confref_retired; *e != NULL; e = &(*e)->next)
        if ((*e)->config == config)
            return e;
    return NULL;
}

/*
 * Drop one reference of a retired or current entry (locked). Returns the
 * entry when that was its last reference, unlinked, for the caller to free
 * with confref_free once the lock is released; NULL otherwise.
 */
static struct confref_entry *confref_unref(struct confref_entry **slot)
{
    struct confref_entry *entry = *slot;

    if (--entry->refs > 0)
        return NULL;
    *slot = entry->next;
    return entry;
}

/* Free an entry confref_unref gave up (unlocked; NULL is ignored). */
static void confref_free(struct confref_entry *entry)
{
    if (entry == NULL)
        return;
    config_free(entry->config);
    free(entry);
}

/* Publish config as the active snapshot. */
void confref_publish(struct config *config)
{
    struct confref_entry *entry = calloc(1, sizeof(*entry)), *gone = NULL;

    if (entry == NULL)
        abort();      /* startup or reload with no memory: nothing sane to do */
    entry->config = config;
    entry->refs = 1;
    pthread_mutex_lock(&confref_lock);
    if (confref_current != NULL) {
        struct confref_entry *old = confref_current;

        old->next = confref_retired;
        confref_retired = old;
        confref_current = entry;
        gone = confref_unref(&confref_retired);
    } else {
        confref_current = entry;
    }
    pthread_mutex_unlock(&confref_lock);
    confref_free(gone);
}

/* Take a counted reference to the active snapshot. */
const struct config *confref_acquire(void)
{
    const struct config *config = NULL;

    pthread_mutex_lock(&confref_lock);
    if (confref_current != NULL) {
        confref_current->refs++;
        config = confref_current->config;
    }
    pthread_mutex_unlock(&confref_lock);
    return config;
}

/* Give back a reference taken by confref_acquire. */
void confref_release(const struct config *config)
{
    struct confref_entry **slot, *gone;

    if (config == NULL)
        return;
    pthread_mutex_lock(&confref_lock);
    slot = confref_find(config);
    if (slot == NULL)
        abort();      /* a reference we never gave out: impossible state */
    gone = confref_unref(slot);
    pthread_mutex_unlock(&confref_lock);
    confref_free(gone);
}

/* Unpublish the active snapshot; it goes when its last session does. */
void confref_shutdown(void)
{
    struct confref_entry *gone = NULL;

    pthread_mutex_lock(&confref_lock);
    if (confref_current != NULL) {
        struct confref_entry *old = confref_current;

        confref_current = NULL;
        old->next = confref_retired;
        confref_retired = old;
        gone = confref_unref(&confref_retired);
    }
    pthread_mutex_unlock(&confref_lock);
    confref_free(gone);
}
