/*
 * test_netstring.c - unit tests for netstring.c: the incremental reader
 * (complete, pipelined, truncated, oversized, malformed, NUL, the empty
 * payload) fed whole, byte by byte and in every two-part split, and the
 * bounded writer. Table-driven; every case states the exact payloads and
 * the exact final status.
 */
#include "netstring.h"
#include "testutil.h"

#define MAXOUT 4

struct read_case {
    const char *name;
    const char *input;      /* may contain NUL: see len */
    size_t len;             /* 0: strlen(input) */
    size_t max;             /* 0: NETSTRING_MAX */
    const char *want[MAXOUT];   /* payloads, NULL-terminated */
    enum netstring_status want_status;  /* after the last byte */
    int want_idle;          /* netstring_reader_idle at the end (MORE only) */
};

/* What one run of the reader produced. */
struct outcome {
    char payloads[MAXOUT][NETSTRING_MAX + 1];
    size_t lens[MAXOUT];
    size_t count;
    enum netstring_status status;
    int idle;
};

static char big_ok[NETSTRING_MAX + 16];
static char big_over[NETSTRING_MAX + 16];

static const struct read_case read_cases[] = {
    { "one netstring", "5:hello,", 0, 0, { "hello" }, NETSTRING_MORE, 1 },
    { "empty payload", "0:,", 0, 0, { "" }, NETSTRING_MORE, 1 },
    { "three pipelined", "3:abc,3:def,1:x,", 0, 0, { "abc", "def", "x" },
      NETSTRING_MORE, 1 },
    { "socketmap request", "25:tlspolicy [mx.example]:25,", 0, 0,
      { "tlspolicy [mx.example]:25" }, NETSTRING_MORE, 1 },
    { "payload may hold ':' and ','", "5:a:b,c,", 0, 0, { "a:b,c" },
      NETSTRING_MORE, 1 },
    { "truncated payload", "5:hel", 0, 0, { NULL }, NETSTRING_MORE, 0 },
    { "truncated length", "5", 0, 0, { NULL }, NETSTRING_MORE, 0 },
    { "truncated before comma", "5:hello", 0, 0, { NULL }, NETSTRING_MORE, 0 },
    { "complete then truncated", "3:abc,3:de", 0, 0, { "abc" },
      NETSTRING_MORE, 0 },
    { "nothing at all", "", 0, 0, { NULL }, NETSTRING_MORE, 1 },
    { "non-digit length", "x:abc,", 0, 0, { NULL }, NETSTRING_ERR_LENGTH, 0 },
    { "no length", ":abc,", 0, 0, { NULL }, NETSTRING_ERR_LENGTH, 0 },
    { "negative length", "-1:a,", 0, 0, { NULL }, NETSTRING_ERR_LENGTH, 0 },
    { "space in length", "5 :hello,", 0, 0, { NULL }, NETSTRING_ERR_LENGTH, 0 },
    { "leading zero", "05:hello,", 0, 0, { NULL }, NETSTRING_ERR_LENGTH, 0 },
    { "two zeros", "00:,", 0, 0, { NULL }, NETSTRING_ERR_LENGTH, 0 },
    { "garbage after a good one", "3:abc,x", 0, 0, { "abc" },
      NETSTRING_ERR_LENGTH, 0 },
    { "missing comma", "3:abcd", 0, 0, { NULL }, NETSTRING_ERR_COMMA, 0 },
    { "wrong terminator", "3:abc;", 0, 0, { NULL }, NETSTRING_ERR_COMMA, 0 },
    { "empty payload without comma", "0:x", 0, 0, { NULL },
      NETSTRING_ERR_COMMA, 0 },
    { "embedded NUL", "3:a\0c,", 6, 0, { NULL }, NETSTRING_ERR_NUL, 0 },
    { "NUL after a good one", "1:a,1:\0,", 8, 0, { "a" },
      NETSTRING_ERR_NUL, 0 },
    { "length over a small maximum", "5:hello,", 0, 4, { NULL },
      NETSTRING_ERR_TOO_LONG, 0 },
    { "length equal to a small maximum", "4:hell,", 0, 4, { "hell" },
      NETSTRING_MORE, 1 },
    { "first digit already over the maximum", "9:", 0, 4, { NULL },
      NETSTRING_ERR_TOO_LONG, 0 },
    { "huge length does not overflow", "99999999999999999999999999:", 0, 0,
      { NULL }, NETSTRING_ERR_TOO_LONG, 0 },
    { "2049 bytes", big_over, 0, 0, { NULL }, NETSTRING_ERR_TOO_LONG, 0 },
};

/* Feed input in pieces of at most chunk bytes (0: all at once). */
static void run_reader(const struct read_case *c, size_t chunk,
                       struct outcome *out)
{
    struct netstring_reader r;
    size_t len = c->len ? c->len : strlen(c->input), pos = 0;

    netstring_reader_init(&r, c->max ? c->max : NETSTRING_MAX);
    memset(out, 0, sizeof *out);
    out->status = NETSTRING_MORE;
    while (pos < len) {
        size_t n = chunk && len - pos > chunk ? chunk : len - pos, used = 0;
        enum netstring_status st = netstring_feed(&r, c->input + pos, n, &used);

        assert_true(used <= n);
        pos += used;
        if (st == NETSTRING_OK) {
            size_t plen;
            const char *p = netstring_payload(&r, &plen);
            assert_true(out->count < MAXOUT);
            memcpy(out->payloads[out->count], p, plen + 1);
            out->lens[out->count++] = plen;
            continue;
        }
        out->status = st;
        if (st != NETSTRING_MORE)
            break;
        assert_int_equal(used, n);
    }
    out->idle = netstring_reader_idle(&r);
}

/* Compare one run with the case. */
static void check_outcome(const struct read_case *c, const char *how,
                          const struct outcome *got)
{
    size_t nwant = 0;

    while (nwant < MAXOUT && c->want[nwant] != NULL)
        nwant++;
    if (got->count != nwant)
        fail_msg("%s (%s): got %zu payloads, want %zu", c->name, how,
                 got->count, nwant);
    for (size_t i = 0; i < nwant; i++) {
        if (got->lens[i] != strlen(c->want[i]) ||
            strcmp(got->payloads[i], c->want[i]) != 0)
            fail_msg("%s (%s): payload %zu: got \"%s\", want \"%s\"", c->name,
                     how, i, got->payloads[i], c->want[i]);
    }
    if (got->status != c->want_status)
        fail_msg("%s (%s): got status \"%s\", want \"%s\"", c->name, how,
                 netstring_strerror(got->status),
                 netstring_strerror(c->want_status));
    if (c->want_status == NETSTRING_MORE && got->idle != c->want_idle)
        fail_msg("%s (%s): got idle=%d, want idle=%d", c->name, how, got->idle,
                 c->want_idle);
}

/* Build the long inputs. */
static int setup_big(void **state)
{
    (void)state;
    snprintf(big_ok, sizeof big_ok, "%d:", NETSTRING_MAX);
    memset(big_ok + strlen(big_ok), 'a', NETSTRING_MAX);
    strcpy(big_ok + strlen(big_ok), ",");
    snprintf(big_over, sizeof big_over, "%d:", NETSTRING_MAX + 1);
    memset(big_over + strlen(big_over), 'a', NETSTRING_MAX + 1);
    strcpy(big_over + strlen(big_over), ",");
    return 0;
}

/* Every case of the table, fed in pieces of at most chunk bytes. */
static void check_read_cases(size_t chunk, const char *how)
{
    struct outcome got;

    for (size_t i = 0; i < ARRAY_LEN(read_cases); i++) {
        run_reader(&read_cases[i], chunk, &got);
        check_outcome(&read_cases[i], how, &got);
    }
}

/* Every case fed whole. */
static void test_read_whole(void **state)
{
    (void)state;
    check_read_cases(0, "whole");
}

/* Every case fed one byte at a time. */
static void test_read_bytewise(void **state)
{
    (void)state;
    check_read_cases(1, "byte by byte");
}

/* Every case fed in chunks of 2, 3 and 7 bytes. */
static void test_read_chunks(void **state)
{
    static const size_t chunks[] = { 2, 3, 7 };
    char how[32];

    (void)state;
    for (size_t k = 0; k < ARRAY_LEN(chunks); k++) {
        snprintf(how, sizeof how, "chunks of %zu", chunks[k]);
        check_read_cases(chunks[k], how);
    }
}

/* The longest allowed payload is read whole. */
static void test_read_max_length(void **state)
{
    struct netstring_reader r;
    size_t used = 0, plen = 0;
    const char *p;

    (void)state;
    netstring_reader_init(&r, NETSTRING_MAX);
    assert_int_equal(netstring_feed(&r, big_ok, strlen(big_ok), &used),
                     NETSTRING_OK);
    assert_int_equal(used, strlen(big_ok));
    p = netstring_payload(&r, &plen);
    assert_int_equal(plen, NETSTRING_MAX);
    assert_int_equal(strlen(p), NETSTRING_MAX);
}

/* After OK, used points just past the comma, at the next request. */
static void test_read_used_offsets(void **state)
{
    static const char in[] = "1:a,11:tlspolicy x,0:,";
    static const size_t want_used[] = { 4, 15, 3 };
    struct netstring_reader r;
    size_t pos = 0, used;

    (void)state;
    netstring_reader_init(&r, 64);
    for (size_t i = 0; i < 3; i++) {
        enum netstring_status st = netstring_feed(&r, in + pos,
                                                  strlen(in) - pos, &used);
        if (st != NETSTRING_OK || used != want_used[i])
            fail_msg("request %zu: got status %d used %zu, want OK used %zu",
                     i, (int)st, used, want_used[i]);
        pos += used;
    }
    assert_int_equal(pos, strlen(in));
}

/* An error is sticky: later good input is refused too. */
static void test_read_error_sticky(void **state)
{
    struct netstring_reader r;
    size_t used = 99;

    (void)state;
    netstring_reader_init(&r, 64);
    assert_int_equal(netstring_feed(&r, "3:abcX", 6, &used), NETSTRING_ERR_COMMA);
    assert_int_equal(used, 5);
    used = 99;
    assert_int_equal(netstring_feed(&r, "1:a,", 4, &used), NETSTRING_ERR_COMMA);
    assert_int_equal(used, 0);
    assert_false(netstring_reader_idle(&r));
}

/* A maximum above NETSTRING_MAX is clamped to it. */
static void test_read_clamped_max(void **state)
{
    struct netstring_reader r;
    char in[16];
    size_t used;

    (void)state;
    netstring_reader_init(&r, 1000000);
    snprintf(in, sizeof in, "%d:", NETSTRING_MAX + 1);
    assert_int_equal(netstring_feed(&r, in, strlen(in), &used),
                     NETSTRING_ERR_TOO_LONG);
}

struct encode_case {
    const char *data;
    size_t outsz;
    const char *want;   /* NULL: must not fit */
};

/* The writer: exact output, exact fit, and refusal when too small. */
static void test_encode(void **state)
{
    static const struct encode_case cases[] = {
        { "hello", 64, "5:hello," },
        { "", 64, "0:," },
        { "OK encrypt protocols=>=TLSv1.2", 64,
          "30:OK encrypt protocols=>=TLSv1.2," },
        { "hello", 8, "5:hello," },     /* exactly fits */
        { "hello", 7, NULL },
        { "", 3, "0:," },
        { "", 2, NULL },
        { "abcdefghij", 3, NULL },      /* head alone does not fit */
        { "x", 0, NULL },
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct encode_case *c = &cases[i];
        size_t n;

        memset(out, '#', sizeof out);
        n = netstring_encode(c->data, strlen(c->data), out, c->outsz);
        if (c->want == NULL) {
            if (n != 0)
                fail_msg("encode \"%s\" into %zu: got %zu bytes, want 0",
                         c->data, c->outsz, n);
            continue;
        }
        if (n != strlen(c->want) || memcmp(out, c->want, n) != 0)
            fail_msg("encode \"%s\": got \"%.*s\", want \"%s\"", c->data,
                     (int)n, out, c->want);
        if (n < sizeof out && out[n] != '#')
            fail_msg("encode \"%s\": wrote past the netstring", c->data);
    }
}

/* What the writer writes, the reader reads back. */
static void test_roundtrip(void **state)
{
    static const char *const data[] = {
        "", "a", "transport user@example.com", "PERM unknown map",
        "OK smtp:[192.0.2.1]:25, [mx.example.com]:587",
    };
    struct netstring_reader r;
    char buf[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(data); i++) {
        size_t n = netstring_encode(data[i], strlen(data[i]), buf, sizeof buf);
        size_t used = 0;
        assert_true(n > 0);
        netstring_reader_init(&r, NETSTRING_MAX);
        if (netstring_feed(&r, buf, n, &used) != NETSTRING_OK || used != n ||
            strcmp(netstring_payload(&r, NULL), data[i]) != 0)
            fail_msg("roundtrip \"%s\": got \"%s\" (used %zu of %zu)", data[i],
                     netstring_payload(&r, NULL), used, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_whole),
        cmocka_unit_test(test_read_bytewise),
        cmocka_unit_test(test_read_chunks),
        cmocka_unit_test(test_read_max_length),
        cmocka_unit_test(test_read_used_offsets),
        cmocka_unit_test(test_read_error_sticky),
        cmocka_unit_test(test_read_clamped_max),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_roundtrip),
    };

    return cmocka_run_group_tests(tests, setup_big, NULL);
}
