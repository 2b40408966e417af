/*
 * test_report_time.c - unit tests for the timestamps of forcetls report's
 * RFC 3164 lines: the year guessed from the time of reading, and the
 * reader's local time zone with its summer time.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config_syntax.h"
#include "report_line.h"
#include "testutil.h"

/* The year of an RFC 3164 line: this year unless more than a day ahead. */
static void test_bsd_year(void **state)
{
    static const struct {
        int month, day;
        const char *now, *want;
    } cases[] = {
        { 1, 1, "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z" },
        { 12, 31, "2027-01-01T00:00:00Z", "2026-12-31T00:00:00Z" },
        { 1, 2, "2026-12-31T23:59:59Z", "2026-01-02T00:00:00Z" },
        { 2, 29, "2029-03-01T00:00:00Z", "2028-02-29T00:00:00Z" },
        { 2, 29, "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z" },
    };
    char got[SYNTAX_UTC_TEXT], what[32];
    int64_t t;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(what, sizeof what, "case %zu", i);
        if (!report_line_bsd_time(cases[i].month, cases[i].day, 0, 0, 0,
                                  utc(cases[i].now), &t))
            fail_msg("%s: got no date, want %s", what, cases[i].want);
        check_str(what, iso(t, got), cases[i].want);
    }
    /* 29 February in neither this year nor the last */
    check_bool_in("Feb 29", "2027-06-01",
                  report_line_bsd_time(2, 29, 0, 0, 0, utc("2027-06-01"), &t),
                  false);
}

/* RFC 3164 stamps are local time: the reader's TZ, with its summer time. */
static void test_bsd_local_time(void **state)
{
    static const struct {
        int month, day, hour;
        const char *want;
    } cases[] = {
        { 1, 10, 12, "2027-01-10T11:00:00Z" },   /* CET, UTC+1 */
        { 7, 10, 12, "2027-07-10T10:00:00Z" },   /* CEST, UTC+2 */
        { 3, 28, 1, "2027-03-28T00:00:00Z" },    /* the hour before the change */
        { 3, 28, 3, "2027-03-28T01:00:00Z" },    /* the first hour of summer time */
        { 1, 1, 0, "2026-12-31T23:00:00Z" },     /* local new year, UTC's old year */
    };
    char got[SYNTAX_UTC_TEXT], what[32];
    int64_t t;

    (void)state;
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
        skip();
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(what, sizeof what, "Berlin case %zu", i);
        if (!report_line_bsd_time(cases[i].month, cases[i].day, cases[i].hour,
                                  0, 0, utc("2027-12-01T00:00:00Z"), &t))
            fail_msg("%s: got no date, want %s", what, cases[i].want);
        check_str(what, iso(t, got), cases[i].want);
    }
    setenv("TZ", "UTC", 1);
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bsd_year),
        cmocka_unit_test(test_bsd_local_time),
    };

    /* The year cases are written in UTC; test_bsd_local_time sets its own. */
    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
