/*
 * test_confref.c - the active configuration snapshot: a session keeps the
 * snapshot it started with across reloads, an old snapshot goes when its
 * last session does, and readers racing a publisher never see a freed
 * snapshot (run under AddressSanitizer/ThreadSanitizer to catch that).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "confref.h"
#include "testutil.h"

/* A small valid configuration whose one inbound connector is called name. */
static struct config *load_named(const char *name)
{
    char text[256];

    snprintf(text, sizeof(text),
             "inbound = ( { name = \"%s\"; sender_domains = [ \"a.example\" ]; } );\n",
             name);
    return load_ok(text);
}

/* Nothing published: acquire gives NULL, release of NULL is harmless. */
static void test_empty(void **state)
{
    (void)state;
    assert_null(confref_acquire());
    confref_release(NULL);
}

/* A session keeps its snapshot across a reload; new sessions get the new one. */
static void test_session_keeps_snapshot(void **state)
{
    const struct config *first, *second, *again;

    (void)state;
    confref_publish(load_named("first"));
    first = confref_acquire();
    check_str("session before reload", first->inbound[0].name, "first");
    confref_publish(load_named("second"));
    /* first stays valid: the session still holds it. */
    check_str("session after reload", first->inbound[0].name, "first");
    second = confref_acquire();
    check_str("session started after reload", second->inbound[0].name, "second");
    again = confref_acquire();
    assert_ptr_equal(again, second);
    confref_release(first);          /* the last holder: first is freed */
    confref_release(second);
    confref_release(again);
    check_str("published after releases", (second = confref_acquire())->inbound[0].name,
              "second");
    confref_release(second);
    confref_shutdown();
    assert_null(confref_acquire());
}

/* A session outliving shutdown still reads its snapshot, then frees it. */
static void test_shutdown_with_session(void **state)
{
    const struct config *held;

    (void)state;
    confref_publish(load_named("last"));
    held = confref_acquire();
    confref_shutdown();
    assert_null(confref_acquire());
    check_str("held after shutdown", held->inbound[0].name, "last");
    confref_release(held);
}

static atomic_bool race_stop;
static atomic_ulong race_reads;
static atomic_ulong race_corrupt;

/* A session loop: acquire, read the snapshot, release. */
static void *race_reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_stop)) {
        const struct config *c = confref_acquire();

        if (c != NULL) {
            /* Touch what a session reads; a freed snapshot trips the sanitizer. */
            if (c->inbound_count != 1 || c->inbound[0].name[0] != 'r')
                atomic_fetch_add(&race_corrupt, 1);   /* checked by the test thread */
            atomic_fetch_add(&race_reads, 1);
        }
        confref_release(c);
    }
    return NULL;
}

/* Four session threads against 300 reloads. */
static void test_reload_race(void **state)
{
    pthread_t readers[4];

    (void)state;
    atomic_store(&race_stop, false);
    confref_publish(load_named("r0"));
    for (size_t i = 0; i < ARRAY_LEN(readers); i++)
        assert_int_equal(pthread_create(&readers[i], NULL, race_reader, NULL), 0);
    for (int i = 1; i <= 300; i++) {
        char name[16];

        snprintf(name, sizeof(name), "r%d", i);
        confref_publish(load_named(name));
    }
    atomic_store(&race_stop, true);
    for (size_t i = 0; i < ARRAY_LEN(readers); i++)
        pthread_join(readers[i], NULL);
    confref_shutdown();
    check_int("corrupted snapshots seen", (long long)atomic_load(&race_corrupt), 0);
    if (atomic_load(&race_reads) == 0)
        fail_msg("readers: got 0 reads, want some (the race did not run)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_session_keeps_snapshot),
        cmocka_unit_test(test_shutdown_with_session),
        cmocka_unit_test(test_reload_race),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
