/*
 * test_report_text.c - unit tests for forcetls report's text form beyond
 * test_report.c's golden log: the "not seen before" call-out when the
 * inputs come newest first (forcetls report /var/log/mail.log*: mail.log
 * before mail.log.1).
 */
#define _POSIX_C_SOURCE 200809L

#include "report.h"
#include "report_agg.h"
#include "report_out.h"
#include "testutil.h"

/* 2027-02-15T00:00:00Z: "now" for RFC 3164 years. */
#define NOW INT64_C(1802649600)

#define LINE(time, issuer) time " mx1 forcetls-milter[812]: s=1" \
    " decision=accept direction=inbound connector=contoso stage=rcpt" \
    " reason=ok tls=TLSv1.3 cert=mail.contoso.com issuer=\"" issuer "\"\n"

/* Count text as one input, read at NOW (testutil.h). */
static void count_text(struct report_agg *agg, const char *text)
{
    report_count_text(agg, text, NOW);
}

/* The text form of agg without -c (malloc'ed). */
static char *text_of(const struct report_agg *agg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (out == NULL)
        fail_msg("open_memstream failed");
    if (!report_print_text(agg, NULL, out))
        fail_msg("report_print_text: got out of memory");
    fclose(out);
    return text;
}

/* Does text contain needle? Fails with the text otherwise. */
static void check_has(const char *what, const char *text, const char *needle,
                      bool want)
{
    if ((strstr(text, needle) != NULL) != want)
        fail_msg("%s: got %s \"%s\" in:\n%s", what, want ? "no" : "a", needle,
                 text);
}

/*
 * Newest file first: the issuer of the older file is the one seen before,
 * the newer one is called out, and the connector's first certificate is
 * the earliest line's.
 */
static void test_not_seen_before_newest_first(void **state)
{
    struct report_agg *agg = report_agg_new();
    char *text;

    (void)state;
    if (agg == NULL)
        fail_msg("report_agg_new: got NULL, want an aggregate");
    count_text(agg, LINE("2027-01-20T10:00:00Z", "New Issuing CA")); /* mail.log */
    count_text(agg, LINE("2027-01-10T09:00:00Z", "Old Issuing CA")); /* mail.log.1 */
    text = text_of(agg);
    check_has("the newer issuer", text, "inbound connector contoso: issuer"
              " \"New Issuing CA\" first seen 2027-01-20T10:00:00Z (the"
              " connector's first certificate: 2027-01-10T09:00:00Z), 1"
              " recipient\n", true);
    check_has("the older issuer", text, "issuer \"Old Issuing CA\" first seen",
              false);
    free(text);
    report_agg_free(agg);
}

/* Run the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_seen_before_newest_first),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
