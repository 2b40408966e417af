/*
 * fuzz_reportline.c - libFuzzer target: forcetls report's line reader
 * (report_line.c) and counting (report_agg.c) on hostile log text, with
 * two oracles for the escaping: log_value then report_line_unescape gives
 * the value back, and every value read from a decision line, escaped
 * again, reads back the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "report_agg.h"
#include "report_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2027-06-15T12:00:00Z: RFC 3164 years are guessed from it. */
#define NOW INT64_C(1813060800)

/* log_value(value) read back must be value (when log_value did not cut it). */
static void round_trip(const char *value, size_t len)
{
    char esc[LOG_VALUE_BUF], back[LOG_VALUE_BUF];
    size_t n;

    if (len >= LOG_VALUE_MAX)
        return;
    log_value(value, esc, sizeof esc);
    if (!report_line_unescape(esc, strlen(esc), back, &n) || n != len ||
        memcmp(back, value, len) != 0)
        abort();
}

/* Feed one input: as one line, as a value, and line by line into counts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char scratch[REPORT_SCRATCH_SIZE(REPORT_LINE_MAX + 1)];
    char text[LOG_VALUE_MAX];
    struct report_line line;
    struct report_agg *agg;
    const char *p = (const char *)data, *end = p + size;

    if (report_line_parse(p, size, NOW, &line, scratch, sizeof scratch) ==
        REPORT_LINE_DECISION) {
        for (int f = 0; f < RF_COUNT; f++)
            if (line.value[f] != NULL && strlen(line.value[f]) == line.len[f])
                round_trip(line.value[f], line.len[f]);
    }
    if (size < sizeof text && memchr(data, '\0', size) == NULL) {
        memcpy(text, data, size);
        text[size] = '\0';
        round_trip(text, size);
    }
    agg = report_agg_new();
    if (agg == NULL)
        return 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl != NULL ? nl : end) - p);

        report_agg_line(agg, p, len, NOW, scratch, sizeof scratch);
        p += len + 1;
    }
    if (agg->read != agg->decisions + agg->skipped)
        abort();
    report_agg_free(agg);
    return 0;
}
