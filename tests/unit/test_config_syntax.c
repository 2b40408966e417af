/*
 * test_config_syntax.c - single configuration values: the UTC dates of
 * config_syntax.c. syntax_utc_date accepts exactly YYYY-MM-DD and
 * YYYY-MM-DDTHH:MM:SSZ of the real calendar from 1970 to 9999 (leap years
 * by the 4/100/400 rule, no 24:00, no leap second), refuses everything
 * else with its reason (lower-case t/z too: the file is written as
 * syntax_format_utc prints), and syntax_format_utc is its inverse.
 */
#include "config_syntax.h"
#include "testutil.h"

#define SHAPE "not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"
#define NO_Z "the time must end in Z (UTC), as in 2027-03-01T12:00:00Z;" \
             " no offsets or fractions"
#define UPPER "write T and Z in upper case: YYYY-MM-DDTHH:MM:SSZ"
#define NO_DAY "no such day in that month"
#define NO_MONTH "no such month: months are 01 to 12"
#define NO_TIME "no such time of day: 00:00:00 to 23:59:59"
#define EARLY "before 1970: dates are 1970-01-01 to 9999-12-31"

/* Accepted dates and their seconds since the epoch. */
static void test_utc_date_ok(void **state)
{
    static const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        { "1970-01-01", 0 },
        { "1970-01-01T00:00:00Z", 0 },
        { "1970-01-01T00:00:01Z", 1 },
        { "1970-01-02", 86400 },
        { "2000-02-29", 951782400 },            /* 2000: divisible by 400 */
        { "2000-03-01", 951868800 },
        { "2024-02-29", 1709164800 },
        { "2024-02-29T23:59:59Z", 1709251199 },
        { "2026-12-31T23:59:59Z", 1798761599 },  /* a second before midnight */
        { "2027-01-01", 1798761600 },            /* midnight */
        { "2027-01-01T00:00:01Z", 1798761601 },  /* a second after */
        { "2027-03-01", 1803859200 },
        { "2038-01-19T03:14:08Z", INT64_C(2147483648) },  /* past 32 bits */
        { "2100-02-28", INT64_C(4107456000) },
        { "2100-03-01", INT64_C(4107542400) },   /* the day after 02-28 */
        { "9999-12-31", INT64_C(253402214400) },
        { "9999-12-31T23:59:59Z", SYNTAX_UTC_MAX },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t got = -1;
        const char *why = NULL;

        check_bool_in("syntax_utc_date", cases[i].text,
                      syntax_utc_date(cases[i].text, &got, &why), true);
        check_int_in("seconds", cases[i].text, got, cases[i].want);
        check_str_in("why", cases[i].text, why, NULL);
    }
}

/* Refused dates, each with its reason; *seconds stays untouched. */
static void test_utc_date_refused(void **state)
{
    static const struct {
        const char *text;
        const char *why;
    } cases[] = {
        { "2027-02-29", NO_DAY },
        { "2100-02-29", NO_DAY },                /* century, not by 400 */
        { "1900-02-29", EARLY },
        { "2024-02-30", NO_DAY },
        { "2027-04-31", NO_DAY },
        { "2027-01-32", NO_DAY },
        { "2027-01-00", NO_DAY },
        { "2027-00-10", NO_MONTH },
        { "2027-13-01", NO_MONTH },
        { "1969-12-31", EARLY },
        { "1969-12-31T23:59:59Z", EARLY },
        { "0000-01-01", EARLY },
        { "2027-01-01T24:00:00Z", NO_TIME },
        { "2027-01-01T23:60:00Z", NO_TIME },
        { "2016-12-31T23:59:60Z", NO_TIME },     /* a real leap second */
        { "2027-01-01T00:00:00", NO_Z },
        { "2027-01-01T00:00:00+01:00", NO_Z },
        { "2027-01-01T00:00:00.5Z", NO_Z },
        { "2027-01-01T00:00:00ZZ", NO_Z },
        { "2027-01-01t00:00:00Z", UPPER },
        { "2027-01-01T00:00:00z", UPPER },
        { "2027-01-01t00:00:00z", UPPER },
        { "", SHAPE },
        { " ", SHAPE },
        { " 2027-01-01", SHAPE },
        { "2027-01-01 ", SHAPE },
        { "2027-01-01 00:00:00Z", SHAPE },
        { "2027-01-01x", SHAPE },
        { "2027-01-01T", SHAPE },
        { "2027-01-01T00:00Z", SHAPE },
        { "2027-1-01", SHAPE },
        { "2027/01/01", SHAPE },
        { "27-01-01", SHAPE },
        { "+2027-01-01", SHAPE },
        { "10000-01-01", SHAPE },
        { "2027-0a-01", SHAPE },
        { "２027-01-01", SHAPE },                /* a fullwidth digit */
        { "now", SHAPE },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t got = -7;
        const char *why = NULL;

        check_bool_in("syntax_utc_date", cases[i].text,
                      syntax_utc_date(cases[i].text, &got, &why), false);
        check_str_in("why", cases[i].text, why, cases[i].why);
        check_int_in("seconds untouched", cases[i].text, got, -7);
    }
}

/* format(parse(x)) == x; a day prints as its midnight. */
static void test_utc_round_trip(void **state)
{
    static const char *const texts[] = {
        "1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z", "1999-12-31T23:59:59Z",
        "2000-02-29T12:00:00Z", "2000-03-01T00:00:00Z", "2024-02-29T23:59:59Z",
        "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z", "2038-01-19T03:14:08Z",
        "2100-02-28T23:59:59Z", "2100-03-01T00:00:00Z", "2400-02-29T08:09:10Z",
        "9999-12-31T23:59:59Z",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
        char out[SYNTAX_UTC_TEXT];
        int64_t sec = -1;
        const char *why = NULL;

        check_bool_in("syntax_utc_date", texts[i],
                      syntax_utc_date(texts[i], &sec, &why), true);
        syntax_format_utc(sec, out, sizeof out);
        check_str_in("format(parse)", texts[i], out, texts[i]);
    }
    {
        char out[SYNTAX_UTC_TEXT];
        int64_t sec = -1;
        const char *why = NULL;

        check_bool_in("syntax_utc_date", "2027-03-01",
                      syntax_utc_date("2027-03-01", &sec, &why), true);
        syntax_format_utc(sec, out, sizeof out);
        check_str_in("format(parse)", "2027-03-01", out,
                     "2027-03-01T00:00:00Z");
    }
}

/* Every day from 1970 to 2500: parse(format(t)) == t, days in order. */
static void test_utc_every_day(void **state)
{
    int64_t end = INT64_C(16725225600);  /* 2500-01-01 */

    (void)state;
    for (int64_t t = 0; t < end; t += 86400 + 3661) {
        char out[SYNTAX_UTC_TEXT];
        int64_t back = -1;
        const char *why = NULL;

        syntax_format_utc(t, out, sizeof out);
        check_bool_in("syntax_utc_date", out,
                      syntax_utc_date(out, &back, &why), true);
        check_int_in("parse(format)", out, back, t);
    }
}

/* Out of range seconds clamp; a short buffer truncates like snprintf. */
static void test_format_edges(void **state)
{
    char out[SYNTAX_UTC_TEXT], small[11];

    (void)state;
    syntax_format_utc(-1, out, sizeof out);
    check_str("format(-1)", out, "1970-01-01T00:00:00Z");
    syntax_format_utc(INT64_MIN, out, sizeof out);
    check_str("format(INT64_MIN)", out, "1970-01-01T00:00:00Z");
    syntax_format_utc(SYNTAX_UTC_MAX + 1, out, sizeof out);
    check_str("format(MAX + 1)", out, "9999-12-31T23:59:59Z");
    syntax_format_utc(INT64_MAX, out, sizeof out);
    check_str("format(INT64_MAX)", out, "9999-12-31T23:59:59Z");
    syntax_format_utc(1709164800, small, sizeof small);
    check_str("format into 11 bytes", small, "2024-02-29");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_date_ok),
        cmocka_unit_test(test_utc_date_refused),
        cmocka_unit_test(test_utc_round_trip),
        cmocka_unit_test(test_utc_every_day),
        cmocka_unit_test(test_format_edges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
