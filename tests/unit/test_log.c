/*
 * test_log.c - logfmt escaping, the "..." mark of every cut (values at
 * LOG_VALUE_MAX, escapes at the cut, small buffers, log_msg lines), and
 * facility names.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

struct escape_case {
    const char *in;
    const char *want;
};

static const struct escape_case escape_cases[] = {
    { "mail.contoso.example", "mail.contoso.example" },
    { "<a@contoso.example>", "<a@contoso.example>" },
    { NULL, "none" },
    { "", "\"\"" },
    { "Contoso Demo Root CA", "\"Contoso Demo Root CA\"" },
    { "a\"b", "\"a\\\"b\"" },
    { "a\\b", "\"a\\\\b\"" },
    { "k=v", "\"k=v\"" },
    { "x\r\ndecision=accept", "\"x\\r\\ndecision=accept\"" },
    { "tab\there", "\"tab\\there\"" },
    { "\x01\x7f", "\"\\x01\\x7f\"" },
    { "b\xc3\xbc", "\"b\\xc3\\xbc\"" },
};

/* Each value escapes to exactly the expected text. */
static void test_escape_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(escape_cases); i++) {
        char out[LOG_VALUE_BUF];

        log_value(escape_cases[i].in, out, sizeof(out));
        check_str_in("log_value", escape_cases[i].in, out,
                     escape_cases[i].want);
    }
}

/* A value longer than LOG_VALUE_MAX is cut and marked. */
static void test_escape_truncates(void **state)
{
    char in[LOG_VALUE_MAX * 2 + 1], out[LOG_VALUE_BUF];

    (void)state;
    memset(in, 'a', sizeof(in) - 1);
    in[sizeof(in) - 1] = '\0';
    log_value(in, out, sizeof(out));
    assert_int_equal(strlen(out), LOG_VALUE_MAX + 3);
    assert_string_equal(out + LOG_VALUE_MAX, "...");
}

/* fill S with n copies of byte c followed by tail; returns S. */
static char *fill(char *s, size_t n, char c, const char *tail)
{
    memset(s, c, n);
    strcpy(s + n, tail);
    return s;
}

/*
 * Rows at the cut: exactly LOG_VALUE_MAX bytes are whole (no marker), one
 * more is cut and marked, and an escape is never split by the cut.
 */
static void test_escape_cut_rows(void **state)
{
    char in[LOG_VALUE_MAX + 16], want[LOG_VALUE_BUF], out[LOG_VALUE_BUF];

    (void)state;
    /* exactly LOG_VALUE_MAX plain bytes: whole */
    log_value(fill(in, LOG_VALUE_MAX, 'a', ""), out, sizeof(out));
    check_str("LOG_VALUE_MAX bytes", out, fill(want, LOG_VALUE_MAX, 'a', ""));
    /* LOG_VALUE_MAX + 1: cut at LOG_VALUE_MAX and marked */
    log_value(fill(in, LOG_VALUE_MAX, 'a', "b"), out, sizeof(out));
    check_str("LOG_VALUE_MAX + 1 bytes", out,
              fill(want, LOG_VALUE_MAX, 'a', "..."));
    /* quoted, LOG_VALUE_MAX bytes: whole, closing quote after */
    fill(in, LOG_VALUE_MAX - 1, 'a', " ");
    log_value(in, out, sizeof(out));
    want[0] = '"';
    fill(want + 1, LOG_VALUE_MAX - 1, 'a', " \"");
    check_str("quoted LOG_VALUE_MAX bytes", out, want);
    /* a 4-byte escape as the last kept byte, then the cut */
    fill(in, LOG_VALUE_MAX - 1, 'a', "\x01\x02");
    log_value(in, out, sizeof(out));
    want[0] = '"';
    fill(want + 1, LOG_VALUE_MAX - 1, 'a', "\\x01...\"");
    check_str("escape before the cut", out, want);
    /* a 2-byte escape straddling LOG_VALUE_MAX: dropped whole, marked */
    fill(in, LOG_VALUE_MAX, 'a', "\n");
    log_value(in, out, sizeof(out));
    want[0] = '"';
    fill(want + 1, LOG_VALUE_MAX, 'a', "...\"");
    check_str("escape after the cut", out, want);
    /* UTF-8 (two escaped bytes) cut between its bytes is still marked */
    fill(in, LOG_VALUE_MAX - 1, 'a', "\xc3\xbc");
    log_value(in, out, sizeof(out));
    want[0] = '"';
    fill(want + 1, LOG_VALUE_MAX - 1, 'a', "\\xc3...\"");
    check_str("multi-byte character at the cut", out, want);
}

/* A buffer smaller than the escaped value cuts before a whole escape. */
static void test_escape_cut_by_buffer(void **state)
{
    static const struct {
        size_t outsz;
        const char *in, *want;
    } rows[] = {
        { 12, "abcdefghij", "abcdef..." },
        { 12, "abcdef", "abcdef" },
        { 12, "\x01\x01\x01", "\"\\x01...\"" },    /* 2nd escape would end at 9 > 6 */
        { 13, "a\x01\x01", "\"a\\x01...\"" },
        { 14, "ab\x01\x01", "\"ab\\x01...\"" },
        { 8, "abcdef", "ab..." },
        { 8, "a b", "\"a...\"" },
        { 7, "abc", "" },
        { 1, "abc", "" },
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        memset(out, 'X', sizeof(out));
        log_value(rows[i].in, out, rows[i].outsz);
        check_str_in("log_value small buffer", rows[i].in, out, rows[i].want);
    }
}

/* Worst-case bytes fit the documented buffer without truncation. */
static void test_escape_worst_case_fits(void **state)
{
    char in[LOG_VALUE_MAX + 1], out[LOG_VALUE_BUF];

    (void)state;
    memset(in, 0x01, LOG_VALUE_MAX);
    in[LOG_VALUE_MAX] = '\0';
    log_value(in, out, sizeof(out));
    assert_int_equal(strlen(out), LOG_VALUE_MAX * 4 + 2);
    assert_int_equal(out[strlen(out) - 1], '"');
}

/* A tiny buffer never overflows and stays terminated. */
static void test_escape_small_buffer(void **state)
{
    char out[10];

    (void)state;
    memset(out, 'X', sizeof(out));
    log_value("a value with spaces", out, sizeof(out));
    assert_true(memchr(out, '\0', sizeof(out)) != NULL);
    assert_true(strlen(out) < sizeof(out));
}

/* log_quoted: log_value's escaping, and the quotes a plain value lacks. */
static void test_quoted(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "Postfix", "\"Postfix\"" },
        { "Foo 3.7.11", "\"Foo 3.7.11\"" },
        { "a\"b\n", "\"a\\\"b\\n\"" },
        { "", "\"\"" },
        { NULL, "\"none\"" },
    };
    char in[LOG_VALUE_MAX + 1], out[LOG_VALUE_BUF + 2];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        log_quoted(cases[i].in, out, sizeof(out));
        check_str_in("log_quoted", cases[i].in != NULL ? cases[i].in : "NULL",
                     out, cases[i].want);
    }
    /* The worst case fits its documented buffer, quotes and all. */
    memset(in, 0x01, LOG_VALUE_MAX);
    in[LOG_VALUE_MAX] = '\0';
    log_quoted(in, out, sizeof(out));
    assert_int_equal(strlen(out), LOG_VALUE_MAX * 4 + 2);
    assert_int_equal(out[0], '"');
    assert_int_equal(out[strlen(out) - 1], '"');
}

/*
 * log_msg: a line that fits is written whole; a longer one is cut to
 * LOG_LINE_MAX - 1 bytes and ends in "..." (stderr copy read back).
 */
static void test_line_cut(void **state)
{
    static char big[LOG_LINE_MAX + 100], got[LOG_LINE_MAX + 200];
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n, prefix;

    (void)state;
    assert_non_null(tmp);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    log_open("test_log", LOG_USER, true);
    memset(big, 'a', sizeof(big) - 1);
    big[LOG_LINE_MAX - 1] = '\0';          /* exactly fits: LOG_LINE_MAX - 1 bytes */
    log_msg(LOG_INFO, "%s", big);
    big[LOG_LINE_MAX - 1] = 'b';            /* one byte more */
    big[LOG_LINE_MAX] = '\0';
    log_msg(LOG_INFO, "%s", big);
    log_open("test_log", LOG_USER, false);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);

    assert_non_null(fgets(got, sizeof(got), tmp));
    prefix = strcspn(got, ":") + 2;         /* "test_log[PID]: " */
    n = strlen(got);
    check_int("whole line length", (long)(n - prefix), LOG_LINE_MAX);  /* + '\n' */
    check_str("whole line end", got + n - 4, "aaa\n");
    assert_non_null(fgets(got, sizeof(got), tmp));
    n = strlen(got);
    check_int("cut line length", (long)(n - prefix), LOG_LINE_MAX);
    check_str("cut line marked", got + n - 5, "a...\n");
    fclose(tmp);
}

/* Facility names map to syslog values; unknown ones to -1. */
static void test_facility_names(void **state)
{
    (void)state;
    assert_int_equal(log_facility_from_name("mail"), LOG_MAIL);
    assert_int_equal(log_facility_from_name("LOCAL3"), LOG_LOCAL3);
    assert_int_equal(log_facility_from_name("daemon"), LOG_DAEMON);
    assert_int_equal(log_facility_from_name("mial"), -1);
    assert_int_equal(log_facility_from_name(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),
        cmocka_unit_test(test_escape_truncates),
        cmocka_unit_test(test_escape_cut_rows),
        cmocka_unit_test(test_escape_cut_by_buffer),
        cmocka_unit_test(test_escape_worst_case_fits),
        cmocka_unit_test(test_escape_small_buffer),
        cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_line_cut),
        cmocka_unit_test(test_facility_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
