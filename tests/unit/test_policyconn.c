/*
 * test_policyconn.c - unit tests for policyconn.c: pipelined requests
 * framed across every read boundary and answered in order; back-pressure
 * when the client does not read (input is no longer taken, nothing is
 * lost) and partial writes; the request deadline that runs from a
 * request's first byte and is not reset by later bytes; the idle limit;
 * malformed and huge length prefixes answered PERM at once; the choice of
 * the connection to evict.
 */
#include "policyconn.h"
#include "testutil.h"

#define NREQ 1000

static struct policyconn conn;
static char input[NREQ * 32];
static char want[NREQ * 48];
static char got[NREQ * 48 + POLICYCONN_OUT_SIZE];

/* The fake map: "OK " and the request; "bad" closes the connection. */
static bool echo_answer(void *ctx, const char *request, char *reply, size_t replysz)
{
    int *count = ctx;

    (*count)++;
    snprintf(reply, replysz, "OK %s", request);
    return strcmp(request, "bad") != 0;
}

/* NREQ requests in input, their replies in want; returns the input length. */
static size_t make_pipeline(size_t *want_len)
{
    size_t in = 0, out = 0;

    for (int i = 0; i < NREQ; i++) {
        char req[32], rep[48];
        snprintf(req, sizeof req, "tlspolicy d%d.example", i);
        snprintf(rep, sizeof rep, "OK %s", req);
        in += netstring_encode(req, strlen(req), input + in, sizeof input - in);
        out += netstring_encode(rep, strlen(rep), want + out, sizeof want - out);
    }
    *want_len = out;
    return in;
}

/*
 * Deliver input in reads of chunk bytes; the client reads at most drain
 * bytes of output between reads (0: everything). Returns the bytes of
 * output collected, in got.
 */
static size_t run_pipeline(size_t in_len, size_t chunk, size_t drain, int *answers)
{
    size_t off = 0, got_len = 0;
    int64_t now = 1000;

    policyconn_init(&conn, now);
    for (int guard = 0; guard < 1000000 && (off < in_len || conn.out_len > conn.out_off);
         guard++) {
        size_t len;
        const char *out;
        if (off < in_len && policyconn_wants_read(&conn)) {
            size_t n = in_len - off < chunk ? in_len - off : chunk;
            memcpy(policyconn_read_buffer(&conn), input + off, n);
            policyconn_received(&conn, n);
            off += n;
        }
        policyconn_process(&conn, echo_answer, answers, now);
        if ((out = policyconn_output(&conn, &len)) != NULL) {
            if (drain > 0 && len > drain)
                len = drain;
            memcpy(got + got_len, out, len);
            got_len += len;
            policyconn_sent(&conn, len, now);
        }
        now++;
    }
    return got_len;
}

/* Pipelined requests split at every read size give every reply in order. */
static void test_pipeline_read_boundaries(void **state)
{
    static const size_t chunks[] = { 1, 2, 3, 7, 13, 25, 64, 1000,
                                     POLICYCONN_IN_SIZE };
    size_t want_len, in_len = make_pipeline(&want_len);

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(chunks); i++) {
        int answers = 0;
        size_t got_len = run_pipeline(in_len, chunks[i], 0, &answers);
        if (answers != NREQ || got_len != want_len || memcmp(got, want, want_len) != 0)
            fail_msg("reads of %zu bytes: got %d answers, %zu output bytes,"
                     " want %d and %zu, same bytes", chunks[i], answers, got_len,
                     NREQ, want_len);
        check_int("closing after a clean pipeline", conn.closing, false);
    }
}

/* A client that reads slowly (partial writes) still gets every reply in order. */
static void test_pipeline_partial_writes(void **state)
{
    static const size_t drains[] = { 1, 5, 100, 5000 };
    size_t want_len, in_len = make_pipeline(&want_len);

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(drains); i++) {
        int answers = 0;
        size_t got_len = run_pipeline(in_len, POLICYCONN_IN_SIZE, drains[i], &answers);
        if (answers != NREQ || got_len != want_len || memcmp(got, want, want_len) != 0)
            fail_msg("client reading %zu bytes at a time: got %d answers, %zu bytes,"
                     " want %d and %zu", drains[i], answers, got_len, NREQ, want_len);
    }
}

/* A client that never reads stops being read: output stays bounded. */
static void test_back_pressure(void **state)
{
    size_t want_len, in_len = make_pipeline(&want_len), off = 0, len;
    int answers = 0;

    (void)state;
    policyconn_init(&conn, 0);
    for (int i = 0; i < 10000 && policyconn_wants_read(&conn) && off < in_len; i++) {
        size_t n = in_len - off < POLICYCONN_IN_SIZE ? in_len - off : POLICYCONN_IN_SIZE;
        memcpy(policyconn_read_buffer(&conn), input + off, n);
        policyconn_received(&conn, n);
        off += n;
        policyconn_process(&conn, echo_answer, &answers, 0);
    }
    check_int("wants to read while its replies are unread", policyconn_wants_read(&conn),
                  false);
    if (off >= in_len)
        fail_msg("took all %zu input bytes from a client that reads nothing", in_len);
    policyconn_output(&conn, &len);
    if (len > POLICYCONN_OUT_SIZE || answers == 0)
        fail_msg("got %zu queued bytes and %d answers, want 1..%d bytes", len, answers,
                 POLICYCONN_OUT_SIZE);
    /* Once the client reads, the rest is answered from where it stopped. */
    policyconn_sent(&conn, len, 1);
    check_int("wants to read after the output drained",
                  policyconn_wants_read(&conn) || conn.in_off < conn.in_len, true);
}

/* The request deadline runs from the first byte; later bytes do not reset it. */
static void test_request_deadline(void **state)
{
    int answers = 0;

    (void)state;
    policyconn_init(&conn, 1000);
    check_int("idle deadline after accept", policyconn_deadline(&conn),
                 1000 + POLICYCONN_IDLE_MS);
    memcpy(policyconn_read_buffer(&conn), "2", 1);
    policyconn_received(&conn, 1);
    policyconn_process(&conn, echo_answer, &answers, 3000);
    check_int("deadline after the first byte", policyconn_deadline(&conn),
                 3000 + POLICYCONN_REQUEST_MS);
    for (int64_t t = 4000; t < 7000; t += 1000) {
        memcpy(policyconn_read_buffer(&conn), t == 4000 ? "2" : t == 5000 ? ":" : "a", 1);
        policyconn_received(&conn, 1);
        policyconn_process(&conn, echo_answer, &answers, t);
        check_int("deadline after one more byte", policyconn_deadline(&conn),
                     3000 + POLICYCONN_REQUEST_MS);
    }
    check_int("answers before the request is complete", answers, 0);
}

/* After an answer, the next request gets a fresh deadline; between them, the idle limit. */
static void test_deadline_after_answer(void **state)
{
    int answers = 0;
    size_t len;

    (void)state;
    policyconn_init(&conn, 0);
    memcpy(policyconn_read_buffer(&conn), "1:a,1:", 6);
    policyconn_received(&conn, 6);
    policyconn_process(&conn, echo_answer, &answers, 2000);
    check_int("answers", answers, 1);
    check_int("deadline of the second request", policyconn_deadline(&conn),
                 2000 + POLICYCONN_REQUEST_MS);
    memcpy(policyconn_read_buffer(&conn), "b,", 2);
    policyconn_received(&conn, 2);
    policyconn_process(&conn, echo_answer, &answers, 2500);
    policyconn_output(&conn, &len);
    policyconn_sent(&conn, len, 2600);
    check_int("idle deadline after the replies were sent", policyconn_deadline(&conn),
                 2600 + POLICYCONN_IDLE_MS);
}

/* Malformed netstrings and huge length prefixes: PERM at once, then close. */
static void test_malformed(void **state)
{
    static const struct { const char *in, *reply; } cases[] = {
        { "99999999999:", "PERM netstring longer than the maximum" },
        { "2049:", "PERM netstring longer than the maximum" },
        { "x:tlspolicy a,", "PERM malformed netstring length" },
        { "3:abcd", "PERM netstring not terminated by ','" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char wantbuf[128];
        size_t len, wlen;
        const char *out;
        int answers = 0;

        policyconn_init(&conn, 0);
        memcpy(policyconn_read_buffer(&conn), cases[i].in, strlen(cases[i].in));
        policyconn_received(&conn, strlen(cases[i].in));
        policyconn_process(&conn, echo_answer, &answers, 0);
        wlen = netstring_encode(cases[i].reply, strlen(cases[i].reply), wantbuf,
                                sizeof wantbuf);
        out = policyconn_output(&conn, &len);
        if (out == NULL || len != wlen || memcmp(out, wantbuf, wlen) != 0)
            fail_msg("%s: got %.*s, want %.*s", cases[i].in, (int)len, out ? out : "",
                     (int)wlen, wantbuf);
        check_int("reads more after a malformed request", policyconn_wants_read(&conn),
                      false);
        policyconn_sent(&conn, len, 0);
        check_int("done after the PERM reply", policyconn_done(&conn), true);
    }
}

/* A request the map refuses: its reply is sent, then the connection closes. */
static void test_answer_closes(void **state)
{
    int answers = 0;
    size_t len;

    (void)state;
    policyconn_init(&conn, 0);
    memcpy(policyconn_read_buffer(&conn), "3:bad,1:a,", 10);
    policyconn_received(&conn, 10);
    policyconn_process(&conn, echo_answer, &answers, 0);
    check_int("answers", answers, 1);
    policyconn_output(&conn, &len);
    check_int("reply bytes (6:OK bad,)", (long long)len, 9);
    check_int("done before the reply is sent", policyconn_done(&conn), false);
    policyconn_sent(&conn, len, 0);
    check_int("done after the reply is sent", policyconn_done(&conn), true);
    /* End of stream: close once the output is out. */
    policyconn_init(&conn, 0);
    policyconn_received(&conn, 0);
    check_int("done at end of stream", policyconn_done(&conn), true);
}

/* The victim is the connection accepted or answered longest ago. */
static void test_pick_victim(void **state)
{
    static struct policyconn c[4];
    const struct policyconn *v[4] = { &c[0], &c[1], &c[2], &c[3] };
    int answers = 0;
    size_t len;

    (void)state;
    policyconn_init(&c[0], 5000);   /* silent since 5000 */
    policyconn_init(&c[1], 1000);   /* slow: first byte at 9000, never complete */
    memcpy(policyconn_read_buffer(&c[1]), "9", 1);
    policyconn_received(&c[1], 1);
    policyconn_process(&c[1], echo_answer, &answers, 9000);
    policyconn_init(&c[2], 0);      /* answered at 9500 */
    memcpy(policyconn_read_buffer(&c[2]), "1:a,", 4);
    policyconn_received(&c[2], 4);
    policyconn_process(&c[2], echo_answer, &answers, 9500);
    policyconn_output(&c[2], &len);
    policyconn_init(&c[3], 9900);   /* just accepted */
    check_int("victim: the slow client accepted first", (long long)policyconn_pick_victim(v, 4), 1);
    check_int("victim among the others", (long long)policyconn_pick_victim(v + 2, 2), 0);
    v[1] = &c[0];
    check_int("victim without the slow one", (long long)policyconn_pick_victim(v + 1, 3), 0);
    check_int("a single connection", (long long)policyconn_pick_victim(v + 3, 1), 0);
    policyconn_init(&c[0], 100);
    policyconn_init(&c[1], 100);
    v[1] = &c[1];
    check_int("a tie goes to the lower index", (long long)policyconn_pick_victim(v, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_read_boundaries),
        cmocka_unit_test(test_pipeline_partial_writes),
        cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_request_deadline),
        cmocka_unit_test(test_deadline_after_answer),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_answer_closes),
        cmocka_unit_test(test_pick_victim),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
