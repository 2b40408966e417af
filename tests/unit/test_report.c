/*
 * test_report.c - unit tests for forcetls report: every prefix form with
 * its timestamp (RFC 3164, RFC 5424, ISO 8601 with offsets,
 * the daemon's stderr, journalctl -o cat) and the lines that are not ours;
 * log_value then report_line_unescape for hostile values, and the values
 * log_value never writes refused; decision lines made by the daemon's own
 * formatter (policy_decide and policy_format_line) read back field by
 * field, cut lines skipped; --since/--until edges; the caps and "(other)";
 * lines over 64 KiB streamed past; the JSON object of a small log compared
 * member by member; the call-outs of the text form, with and without -c;
 * the command's refusals.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_syntax.h"
#include "log.h"
#include "policy.h"
#include "report.h"
#include "report_agg.h"
#include "report_line.h"
#include "report_out.h"
#include "text.h"
#include "tlsfacts.h"
#include "testutil.h"

/* 2027-02-15T00:00:00Z: "now" for RFC 3164 years. */
#define NOW INT64_C(1802649600)

static const char conf_text[] =
    "log_all = true;\n"
    "inbound = (\n"
    "  { name = \"contoso\";\n"
    "    sender_domains = [ \"contoso.com\" ];\n"
    "    certificates = (\n"
    "      { names = [ \"mail.contoso.com\" ]; issuers = [ \"Old Issuing CA\" ];\n"
    "        valid_until = \"2027-03-01\"; },\n"
    "      { names = [ \"mail.contoso.com\" ]; issuers = [ \"New Issuing CA\" ];\n"
    "        valid_from = \"2027-02-01\"; }\n"
    "    );\n"
    "    monitor_until = \"2027-01-15\";\n"
    "    tempfail_until = \"2027-02-01\"; },\n"
    "  { name = \"woodgrove\"; sender_ips = [ \"198.51.100.0/24\" ];\n"
    "    action = \"monitor\"; min_tls_version = \"TLSv1.2\"; }\n"
    ");\n"
    "outbound = (\n"
    "  { name = \"fabrikam\"; recipient_domains = [ \"fabrikam.com\" ];\n"
    "    tls_settings = \"encryption-only\"; require_session_tls = true; }\n"
    ");\n";

static struct config *conf;
static char scratch[REPORT_SCRATCH_SIZE(REPORT_LINE_MAX + 16)];

/* The facts of one recipient, as the MTA's macros give them. */
struct facts {
    const char *at, *sender, *rcpt, *client, *tls, *cipher, *cert, *issuer;
};

/*
 * The decision line the daemon logs for f (callbacks.c's way), into out;
 * the TLS facts it built into *tf when not NULL.
 */
static void daemon_line(const struct facts *f, char *out, size_t outsz,
                        struct tls_facts *tf)
{
    struct tls_macros m = { .tls_version = f->tls, .cipher = f->cipher,
                            .cipher_bits = f->cipher != NULL ? "256" : NULL,
                            .cert_subject = f->cert, .cert_issuer = f->issuer };
    struct policy_session s = { 0 };
    struct addr_path sender, rcpt;
    struct verdict v;

    if (f->client != NULL && !ip_parse(f->client, &s.client_ip))
        fail_msg("ip_parse(%s) failed", f->client);
    s.have_client_ip = f->client != NULL;
    tlsfacts_from_macros(&s.tls, MTA_POSTFIX, &m);
    s.now = utc(f->at);
    if (addr_parse_path(f->sender, &sender) && addr_parse_path(f->rcpt, &rcpt))
        policy_decide(conf, &s, &sender, &rcpt, &v);
    else
        policy_fail_closed(&v);
    policy_format_line(conf, &v, &s, "4Xk2pQ", f->sender, f->rcpt, out, outsz);
    if (tf != NULL)
        *tf = s.tls;
}

/* Parse a line that must be a decision line. */
static void parse_decision(const char *what, const char *line,
                           struct report_line *l)
{
    enum report_line_kind k = report_line_parse(line, strlen(line), NOW, l,
                                                scratch, sizeof scratch);

    if (k != REPORT_LINE_DECISION)
        fail_msg("%s: %s: got kind %d, want a decision line", what, line, k);
}

/* ---- prefixes and timestamps ---- */

#define MSG "s=1 decision=reject direction=inbound connector=contoso stage=rcpt " \
    "reason=no_tls client=192.0.2.7 sender=<a@contoso.com> rcpt=<b@example.org> " \
    "tls=none cipher=none cert=none"

/* Every prefix form: its kind, its time in UTC, the values after it. */
static void test_prefixes(void **state)
{
    static const struct {
        const char *line;
        enum report_line_kind kind;
        const char *time;            /* NULL: no timestamp */
    } cases[] = {
        { "Jan 10 08:00:01 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-01-10T08:00:01Z" },
        { "Feb  5 23:59:59 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-02-05T23:59:59Z" },
        /* exactly one day ahead is this year, past that last year */
        { "Feb 16 00:00:00 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-02-16T00:00:00Z" },
        { "Feb 16 00:00:01 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2026-02-16T00:00:01Z" },
        { "Dec 31 23:59:59 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2026-12-31T23:59:59Z" },
        { "Jan 10 08:00:01.123456 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-01-10T08:00:01Z" },
        { "Jan 10 08:00:01 forcetls-milter: " MSG,
          REPORT_LINE_DECISION, "2027-01-10T08:00:01Z" },
        { "<22>Jan 10 08:00:01 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-01-10T08:00:01Z" },
        { "<22>1 2027-01-10T08:00:01.123456+01:00 mx1 forcetls-milter 812 - - " MSG,
          REPORT_LINE_DECISION, "2027-01-10T07:00:01Z" },
        { "<22>1 2027-01-10T08:00:01Z mx1 forcetls-milter 812 - "
          "[meta x=\"a]\\\"b\"][o y=\"1\"] \xef\xbb\xbf" MSG,
          REPORT_LINE_DECISION, "2027-01-10T08:00:01Z" },
        { "<22>1 - mx1 - - - - " MSG, REPORT_LINE_DECISION, NULL },
        { "<22>1 2027-01-10T08:00:01Z mx1 postfix 812 - - " MSG,
          REPORT_LINE_FOREIGN, NULL },
        { "2027-01-10T08:00:01+0100 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-01-10T07:00:01Z" },
        { "2027-01-10T08:00:01.5-0530 mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-01-10T13:30:01Z" },
        { "2027-01-10T08:00:01Z mx1 forcetls-milter[812]: " MSG,
          REPORT_LINE_DECISION, "2027-01-10T08:00:01Z" },
        { "forcetls-milter[812]: " MSG, REPORT_LINE_DECISION, NULL },
        { MSG, REPORT_LINE_DECISION, NULL },
        { MSG "\r", REPORT_LINE_DECISION, NULL },
        { "Jan 10 08:00:01 mx1 postfix/smtpd[99]: " MSG, REPORT_LINE_FOREIGN, NULL },
        { "Jan 10 08:00:01 mx1 forcetls-milterX[1]: " MSG, REPORT_LINE_FOREIGN, NULL },
        { "postfix/smtpd[99]: " MSG, REPORT_LINE_FOREIGN, NULL },
        { "Jan 10 08:00:01 mx1 forcetls-milter[812]: reload ok inbound=2 outbound=1",
          REPORT_LINE_OTHER, NULL },
        { "forcetls-milter[812]: s=1 recipient tempfailed: no configuration",
          REPORT_LINE_OTHER, NULL },
        { "s=1 debug=connect active=1", REPORT_LINE_OTHER, NULL },
        { "", REPORT_LINE_OTHER, NULL },
        /* an impossible date is no prefix: the line is not a decision line */
        { "Feb 30 08:00:01 mx1 forcetls-milter[812]: " MSG, REPORT_LINE_OTHER, NULL },
        { "2027-13-10T08:00:01Z mx1 forcetls-milter[812]: " MSG, REPORT_LINE_OTHER, NULL },
        { "2027-01-10T08:00:01 mx1 forcetls-milter[812]: " MSG, REPORT_LINE_OTHER, NULL },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct report_line l;
        char got[SYNTAX_UTC_TEXT], what[32];
        enum report_line_kind k = report_line_parse(cases[i].line,
                                                    strlen(cases[i].line), NOW,
                                                    &l, scratch, sizeof scratch);

        snprintf(what, sizeof what, "case %zu kind", i);
        check_int_in(what, cases[i].line, k, cases[i].kind);
        if (k != REPORT_LINE_DECISION)
            continue;
        snprintf(what, sizeof what, "case %zu time", i);
        check_str_in(what, cases[i].line, l.have_time ? iso(l.time, got) : NULL,
                     cases[i].time);
        snprintf(what, sizeof what, "case %zu connector", i);
        check_str_in(what, cases[i].line, l.value[RF_CONNECTOR], "contoso");
        snprintf(what, sizeof what, "case %zu cert", i);
        check_str_in(what, cases[i].line, l.value[RF_CERT], "none");
    }
}

/* ---- escaping ---- */

/* log_value(value) read back is value, or its first 256 bytes and "...". */
static void check_round_trip(const char *what, const char *value)
{
    char esc[LOG_VALUE_BUF], back[LOG_VALUE_BUF], want[LOG_VALUE_MAX + 4];
    size_t n, len = strlen(value);

    log_value(value, esc, sizeof esc);
    if (!report_line_unescape(esc, strlen(esc), back, &n))
        fail_msg("%s: unescape(%s): got refused, want read back", what, esc);
    if (len > LOG_VALUE_MAX) {
        memcpy(want, value, LOG_VALUE_MAX);
        memcpy(want + LOG_VALUE_MAX, "...", 4);
        value = want;
        len = LOG_VALUE_MAX + 3;
    }
    check_int(what, (long long)n, (long long)len);
    if (memcmp(back, value, len) != 0)
        fail_msg("%s: got other bytes than log_value was given", what);
}

/* log_value then report_line_unescape gives hostile values back. */
static void test_round_trip(void **state)
{
    static const char *const values[] = {
        "plain", "none", "mail.contoso.com", "<a@contoso.com>",
        "with space", "a\"quote", "\"", "x=y", "=", "back\\slash", "\\\"",
        "line\r\nforged=1 decision=accept", "\ttab", "", " ",
        "\x01\x1f\x7f\x80\xff", "\xc3\xbc\x62\x65\x72", "ends in \\", "\"\"\"",
        "...", "cut...", "\\x41", "\\n",
    };
    char big[4097], what[32];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(values); i++) {
        snprintf(what, sizeof what, "value %zu", i);
        check_round_trip(what, values[i]);
    }
    for (int b = 1; b < 256; b++) {
        char v[2] = { (char)b, 0 };

        snprintf(what, sizeof what, "byte 0x%02x", b);
        check_round_trip(what, v);
    }
    /* 4 KB names, as a hostile peer sends them: the daemon cuts them */
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    check_round_trip("4 KB plain", big);
    memset(big, '"', sizeof big - 1);
    check_round_trip("4 KB quotes", big);
    memset(big, '\xff', sizeof big - 1);
    check_round_trip("4 KB invalid bytes", big);
}

/* What log_value never writes is refused. */
static void test_unescape_refused(void **state)
{
    static const char *const bad[] = {
        "", "\"abc", "\"a\\qb\"", "\"\\x00\"", "\"\\x4\"", "\"\\xzz\"",
        "a\"b", "a=b", "a\\b", "\"a\"b", "\"a\x01\"", "\"\xc3\xbc\"",
        "\xc3\xbc", "a b", "\"a\\\"", "\"\\",
    };
    char out[64];
    size_t n;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        check_bool_in("unescape", bad[i],
                      report_line_unescape(bad[i], strlen(bad[i]), out, &n), false);
    check_bool_in("unescape", "\\x41", report_line_unescape("\"\\x41\"", 6, out, &n),
                  true);
    check_str("\"\\x41\"", out, "A");
}

/* ---- the daemon's own lines ---- */

/* The daemon's own lines with hostile names read back field by field. */
static void test_daemon_lines(void **state)
{
    static const char *const hostile[] = {
        "mail.contoso.com", "a \"quoted\" name", "x=1 decision=accept",
        "cr\rlf\nforged", "\\x41 not an escape", "\x01\x7f\xfe\xff",
        "\xc3\xbc\x62\x65r.example", "tab\there",
    };
    char line[LOG_LINE_MAX], what[48];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(hostile); i++) {
        struct facts f = { "2027-05-01", "<a@contoso.com>", "<b@example.org>",
                           "192.0.2.7", "TLSv1.3", "TLS_AES_256_GCM_SHA384",
                           hostile[i], hostile[ARRAY_LEN(hostile) - 1 - i] };
        struct report_line l;
        struct tls_facts tf;

        daemon_line(&f, line, sizeof line, &tf);
        snprintf(what, sizeof what, "hostile %zu", i);
        if (!tf.cert_verified)
            fail_msg("%s: got no verified certificate, want one", what);
        parse_decision(what, line, &l);
        check_str_in(what, line, l.value[RF_CERT], tf.cert_cn);
        check_str_in(what, line, l.value[RF_ISSUER], tf.issuer_cn);
        check_str_in(what, line, l.value[RF_DIRECTION], "inbound");
        check_str_in(what, line, l.value[RF_CONNECTOR], "contoso");
        check_str_in(what, line, l.value[RF_STAGE], "rcpt");
        check_str_in(what, line, l.value[RF_SENDER], "<a@contoso.com>");
        check_str_in(what, line, l.value[RF_CLIENT], "192.0.2.7");
        check_str_in(what, line, l.value[RF_TLS], "TLSv1.3");
        check_str_in(what, line, l.value[RF_CIPHER], "TLS_AES_256_GCM_SHA384");
    }
}

/* A 4 KB CN, cut by the daemon, reads back with its "..." */
static void test_daemon_long_name(void **state)
{
    char cn[4097], want[TLSFACTS_NAME_MAX], line[LOG_LINE_MAX];
    struct facts f = { "2027-05-01", "<a@contoso.com>", "<b@example.org>",
                       "192.0.2.7", "TLSv1.3", "TLS_AES_256_GCM_SHA384", cn,
                       "Old Issuing CA" };
    struct tls_facts tf;
    struct report_line l;

    (void)state;
    memset(cn, 'n', sizeof cn - 1);
    cn[sizeof cn - 1] = '\0';
    daemon_line(&f, line, sizeof line, &tf);
    text_copy(want, sizeof want, tf.cert_cn);      /* as the daemon keeps it */
    parse_decision("4 KB CN", line, &l);
    check_str("4 KB CN", l.value[RF_CERT], want);
    check_bool_in("4 KB CN ends in ...", l.value[RF_CERT],
                  l.len[RF_CERT] > 3 &&
                  strcmp(l.value[RF_CERT] + l.len[RF_CERT] - 3, "...") == 0, true);
}

/* Lines cut, forged or not the daemon's grammar. */
static void test_bad_lines(void **state)
{
    struct facts f = { "2027-05-01", "<a@contoso.com>", "<b@example.org>",
                       "192.0.2.7", "TLSv1.3", "TLS_AES_256_GCM_SHA384",
                       "mail.contoso.com", "Old \"Issuing\" CA" };
    static const struct {
        const char *line;
        enum report_line_kind kind;
    } cases[] = {
        { MSG " ", REPORT_LINE_MALFORMED },
        { MSG " reason=again", REPORT_LINE_MALFORMED },
        { MSG " issuer=\"cut", REPORT_LINE_MALFORMED },
        { MSG " Issuer=x", REPORT_LINE_MALFORMED },
        { MSG " issuer=a=b", REPORT_LINE_MALFORMED },
        { MSG "  issuer=x", REPORT_LINE_MALFORMED },
        { MSG " issuer=\"\\x00\"", REPORT_LINE_MALFORMED },
        { MSG " issuer=\xc3\xbc", REPORT_LINE_MALFORMED },
        { MSG " novalue=", REPORT_LINE_MALFORMED },
        { "decision=reject " MSG, REPORT_LINE_OTHER },
        { "s=1 decision=reject direction=inbound connector=contoso reason=ok",
          REPORT_LINE_OTHER },
        { "s=1 decision=\"cut", REPORT_LINE_OTHER },
        { MSG " future_key=\"any value\"", REPORT_LINE_DECISION },
    };
    char line[LOG_LINE_MAX];
    struct report_line l;
    size_t len;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_int_in("kind", cases[i].line,
                     report_line_parse(cases[i].line, strlen(cases[i].line), NOW,
                                       &l, scratch, sizeof scratch),
                     cases[i].kind);
    /* The daemon's line cut inside the quoted issuer (syslog's limit). */
    daemon_line(&f, line, sizeof line, NULL);
    len = strlen(line);
    check_int_in("whole", line, report_line_parse(line, len, NOW, &l, scratch,
                                                  sizeof scratch),
                 REPORT_LINE_DECISION);
    check_str_in("issuer", line, l.value[RF_ISSUER], f.issuer);
    check_int_in("cut", line, report_line_parse(line, len - 4, NOW, &l, scratch,
                                                sizeof scratch),
                 REPORT_LINE_MALFORMED);
    /* policy_format_line's own cut: the line ends in "..." inside a quote */
    policy_format_line(conf, &(struct verdict){ 0 }, NULL, "1", "<a b@c>",
                       "<c@d>", line, sizeof line);
    len = (size_t)(strstr(line, "sender=\"") - line) + 12;
    policy_format_line(conf, &(struct verdict){ 0 }, NULL, "1", "<a b@c>",
                       "<c@d>", line, len);
    check_int_in("formatter cut", line,
                 report_line_parse(line, strlen(line), NOW, &l, scratch,
                                   sizeof scratch),
                 REPORT_LINE_MALFORMED);
    check_int("over 64 KiB", report_line_parse(scratch, REPORT_LINE_MAX + 1, NOW,
                                               &l, scratch, sizeof scratch),
              REPORT_LINE_TOO_LONG);
}

/* ---- counting ---- */

/* Count text as one input, read at NOW (testutil.h). */
static void count_text(struct report_agg *agg, const char *text)
{
    report_count_text(agg, text, NOW);
}

/* A new aggregate, or the test fails. */
static struct report_agg *new_agg(void)
{
    struct report_agg *agg = report_agg_new();

    if (agg == NULL)
        fail_msg("report_agg_new: got NULL, want an aggregate");
    return agg;
}

/* --since is inclusive, --until exclusive; no time cannot be judged. */
static void test_period(void **state)
{
    static const char log[] =
        "2027-01-09T23:59:59Z h forcetls-milter[1]: " MSG "\n"
        "2027-01-10T00:00:00Z h forcetls-milter[1]: " MSG "\n"
        "2027-01-10T23:59:59Z h forcetls-milter[1]: " MSG "\n"
        "2027-01-11T00:00:00Z h forcetls-milter[1]: " MSG "\n"
        MSG "\n";
    struct report_agg *agg = new_agg();
    char t[SYNTAX_UTC_TEXT];

    (void)state;
    agg->have_since = agg->have_until = true;
    agg->since = utc("2027-01-10");
    agg->until = utc("2027-01-11");
    count_text(agg, log);
    check_int("read", (long long)agg->read, 5);
    check_int("decisions", (long long)agg->decisions, 2);
    check_int("outside", (long long)agg->skips[RS_PERIOD], 2);
    check_int("no time", (long long)agg->skips[RS_NO_TIME], 1);
    check_str("from", iso(agg->from, t), "2027-01-10T00:00:00Z");
    check_str("to", iso(agg->to, t), "2027-01-10T23:59:59Z");
    report_agg_free(agg);

    /* Without --since/--until a line without a time counts. */
    agg = new_agg();
    count_text(agg, log);
    check_int("decisions without a period", (long long)agg->decisions, 5);
    check_int("skipped without a period", (long long)agg->skipped, 0);
    report_agg_free(agg);
}

/* Past a map's cap and the connectors' cap: "(other)". */
static void test_caps(void **state)
{
    struct report_agg *agg = new_agg();
    const struct report_partner *p;
    const struct report_entry *e;
    char line[512];
    struct report_line l;

    (void)state;
    for (int i = 0; i < REPORT_MAP_CAP + 6; i++) {
        snprintf(line, sizeof line, "s=1 decision=accept direction=inbound "
                 "connector=contoso stage=rcpt reason=ok tls=TLSv1.3 cipher=C%d",
                 i);
        parse_decision("cap line", line, &l);
        if (!report_agg_add(agg, &l))
            fail_msg("report_agg_add: out of memory");
    }
    p = agg->connectors.list[0];
    check_int("connectors", (long long)agg->connectors.count, 1);
    check_int("ciphers kept", (long long)p->maps[RM_CIPHERS].used,
              REPORT_MAP_CAP + 1);
    e = report_map_find(&p->maps[RM_CIPHERS], REPORT_OTHER);
    check_int("(other) ciphers", e != NULL ? (long long)e->count : -1, 6);
    e = report_map_find(&p->maps[RM_CIPHERS], "C1023");
    check_int("C1023", e != NULL ? (long long)e->count : -1, 1);
    check_bool_in("C1024 kept", "C1024",
                  report_map_find(&p->maps[RM_CIPHERS], "C1024") != NULL, false);

    for (int i = 0; i < REPORT_PARTNER_CAP + 3; i++) {
        snprintf(line, sizeof line, "s=1 decision=accept direction=outbound "
                 "connector=c%d stage=rcpt reason=ok", i);
        parse_decision("partner line", line, &l);
        if (!report_agg_add(agg, &l))
            fail_msg("report_agg_add: out of memory");
    }
    check_int("connectors kept", (long long)agg->connectors.count,
              REPORT_PARTNER_CAP + 1);
    p = agg->connectors.list[agg->connectors.count - 1];
    check_str("last connector", p->name, REPORT_OTHER);
    check_int("(other) connector's recipients", (long long)p->recipients, 4);
    check_int("decisions", (long long)agg->decisions,
              REPORT_MAP_CAP + 6 + REPORT_PARTNER_CAP + 3);
    report_agg_free(agg);
}

/* A line over 64 KiB is skipped while it streams past; the next one counts. */
static void test_too_long(void **state)
{
    size_t big = 3 * 1024 * 1024;
    char *text = malloc(big + 2 * sizeof MSG + 4);
    struct report_agg *agg = new_agg();

    (void)state;
    if (text == NULL)
        fail_msg("malloc failed");
    memcpy(text, MSG "\n", sizeof MSG);
    memset(text + sizeof MSG, 'x', big);
    memcpy(text + sizeof MSG + big, "\n" MSG "\n", sizeof MSG + 2);
    count_text(agg, text);
    check_int("read", (long long)agg->read, 3);
    check_int("decisions", (long long)agg->decisions, 2);
    check_int("too long", (long long)agg->skips[RS_TOO_LONG], 1);
    report_agg_free(agg);
    free(text);

    /* Exactly 64 KiB is still read (and is not a decision line). */
    text = malloc(REPORT_LINE_MAX + 2);
    agg = new_agg();
    memset(text, 'y', REPORT_LINE_MAX);
    text[REPORT_LINE_MAX] = '\0';
    count_text(agg, text);
    check_int("64 KiB: not a decision line", (long long)agg->skips[RS_OTHER], 1);
    report_agg_free(agg);
    free(text);
}

/* ---- the small golden log ---- */

/* The daemon's lines of the small log, with the prefixes syslog gives them. */
static char *golden_log(void)
{
    static const struct {
        const char *prefix;     /* printf format for the time, or "" */
        struct facts f;
    } lines[] = {
        { "Jan 10 08:00:00 mx1 forcetls-milter[812]: ",
          { "2027-01-10T08:00:00Z", "<a@contoso.com>", "<b@example.org>",
            "192.0.2.7", NULL, NULL, NULL, NULL } },
        { "2027-01-10T09:00:00+0000 mx1 forcetls-milter[812]: ",
          { "2027-01-10T09:00:00Z", "<a@contoso.com>", "<b@example.org>",
            "192.0.2.7", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "mail.contoso.com",
            "Old Issuing CA" } },
        { "<22>1 2027-01-20T11:00:00+01:00 mx1 forcetls-milter 812 - - ",
          { "2027-01-20T10:00:00Z", "<a@contoso.com>", "<c@example.org>",
            "192.0.2.8", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "mail.contoso.com",
            "New Issuing CA" } },
        { "Jan 20 11:00:00 mx1 forcetls-milter[812]: ",
          { "2027-01-20T11:00:00Z", "<>", "<b@example.org>", "198.51.100.9",
            "TLSv1", "ECDHE-RSA-AES128-SHA", NULL, NULL } },
        { "forcetls-milter[812]: ",
          { "2027-01-20T12:00:00Z", "<x@y.example>", "<c@fabrikam.com>",
            "203.0.113.1", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", NULL, NULL } },
        { "Jan 21 07:00:00 mx1 forcetls-milter[812]: ",
          { "2027-01-21T07:00:00Z", "<Eve@Example.NET>", "<b@example.org>",
            "203.0.113.5", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "mx.example.net",
            "Example \"Issuing\" CA" } },
        { "",
          { "2027-01-21T08:00:00Z", "<a@contoso.com", "<b@example.org>",
            "192.0.2.7", NULL, NULL, NULL, NULL } },
    };
    static const char *const noise[] = {
        "Jan 10 08:00:00 mx1 postfix/smtpd[99]: connect from x[192.0.2.7]\n",
        "Jan 10 08:00:01 mx1 forcetls-milter[812]: reload ok inbound=2 outbound=1\n",
        ("Jan 10 08:00:02 mx1 forcetls-milter[812]: s=1 decision=reject "
         "direction=inbound connector=contoso stage=rcpt reason=no_tls cert=\"cut\n"),
    };
    size_t size = 16384, used = 0;
    char *text = calloc(1, size), line[LOG_LINE_MAX];

    if (text == NULL)
        fail_msg("calloc failed");
    for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
        daemon_line(&lines[i].f, line, sizeof line, NULL);
        used += (size_t)snprintf(text + used, size - used, "%s%s\n",
                                 lines[i].prefix, line);
    }
    for (size_t i = 0; i < ARRAY_LEN(noise); i++)
        used += (size_t)snprintf(text + used, size - used, "%s", noise[i]);
    if (used >= size)
        fail_msg("golden log: got %zu bytes, want < %zu", used, size);
    return text;
}

/* The JSON object of the golden log, split at the commas between members. */
static const char *const golden_json[] = {
    "{\"lines\":{\"read\":10", "\"decisions\":7", "\"skipped\":3",
    "\"internal\":1}", "\"from\":\"2027-01-10T08:00:00Z\"",
    "\"to\":\"2027-01-21T07:00:00Z\"",
    "\"connectors\":[{\"direction\":\"inbound\"", "\"name\":\"contoso\"",
    "\"recipients\":3",
    "\"decisions\":{\"accept\":1", "\"reject\":0", "\"tempfail\":1", "\"monitor\":1}",
    "\"reasons\":{\"cert_not_yet_valid\":1", "\"no_tls\":1", "\"ok\":1}",
    "\"would\":{\"reject\":2}",
    "\"tls_versions\":{\"TLSv1.3\":2", "\"none\":1}",
    "\"ciphers\":{\"TLS_AES_256_GCM_SHA384\":2", "\"none\":1}",
    "\"cert_names\":{\"mail.contoso.com\":2", "\"none\":1}",
    "\"issuers\":{\"New Issuing CA\":1", "\"Old Issuing CA\":1}",
    "\"clients\":{\"192.0.2.7\":2", "\"192.0.2.8\":1}",
    "\"first_seen\":\"2027-01-10T08:00:00Z\"", "\"last_seen\":\"2027-01-20T10:00:00Z\"}",
    "{\"direction\":\"inbound\"", "\"name\":\"woodgrove\"", "\"recipients\":1",
    "\"decisions\":{\"accept\":0", "\"reject\":0", "\"tempfail\":0", "\"monitor\":1}",
    "\"reasons\":{\"tls_version\":1}", "\"would\":{}", "\"tls_versions\":{\"TLSv1\":1}",
    "\"ciphers\":{\"ECDHE-RSA-AES128-SHA\":1}", "\"cert_names\":{\"none\":1}",
    "\"issuers\":{}", "\"clients\":{\"198.51.100.9\":1}",
    "\"first_seen\":\"2027-01-20T11:00:00Z\"", "\"last_seen\":\"2027-01-20T11:00:00Z\"}",
    "{\"direction\":\"outbound\"", "\"name\":\"fabrikam\"", "\"recipients\":1",
    "\"decisions\":{\"accept\":1", "\"reject\":0", "\"tempfail\":0", "\"monitor\":0}",
    "\"reasons\":{\"ok\":1}", "\"would\":{}", "\"tls_versions\":{\"TLSv1.2\":1}",
    "\"ciphers\":{\"ECDHE-RSA-AES128-GCM-SHA256\":1}", "\"cert_names\":{\"none\":1}",
    "\"issuers\":{}", "\"clients\":{\"203.0.113.1\":1}", "\"first_seen\":\"\"",
    "\"last_seen\":\"\"}]",
    "\"unmatched\":[{\"sender_domain\":\"example.net\"", "\"recipients\":1",
    "\"decisions\":{\"accept\":1", "\"reject\":0", "\"tempfail\":0", "\"monitor\":0}",
    "\"tls_versions\":{\"TLSv1.3\":1}", "\"cert_names\":{\"mx.example.net\":1}",
    "\"issuers\":{\"Example \\\"Issuing\\\" CA\":1}",
    "\"first_seen\":\"2027-01-21T07:00:00Z\"",
    "\"last_seen\":\"2027-01-21T07:00:00Z\"}]}\n",
};

/* out's text of what print wrote for the golden log (malloc'ed). */
static char *golden_output(bool json, const struct config *config)
{
    struct report_agg *agg = new_agg();
    char *log = golden_log(), *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (out == NULL)
        fail_msg("open_memstream failed");
    count_text(agg, log);
    if (!(json ? report_print_json(agg, out) : report_print_text(agg, config, out)))
        fail_msg("print: got out of memory");
    fclose(out);
    report_agg_free(agg);
    free(log);
    return text;
}

/* The JSON object of the golden log, member by member. */
static void test_golden_json(void **state)
{
    char *json = golden_output(true, NULL), *p = json;
    char what[32];

    (void)state;
    /* Member by member: split at the commas between them. */
    for (size_t i = 0; i < ARRAY_LEN(golden_json); i++) {
        const char *want = golden_json[i];
        size_t n = strlen(want);
        char got[256];

        snprintf(what, sizeof what, "JSON member %zu", i);
        text_copy(got, sizeof got < n + 1 ? sizeof got : n + 1, p);
        check_str(what, got, want);
        p += n;
        if (i + 1 < ARRAY_LEN(golden_json)) {
            if (*p != ',')
                fail_msg("%s: got %.20s after it, want a comma", what, p);
            p++;
        }
    }
    check_str("after the object", p, "");
    free(json);
}

/* Does text contain needle? Fails with the text otherwise. */
static void check_has(const char *what, const char *text, const char *needle,
                      bool want)
{
    if ((strstr(text, needle) != NULL) != want)
        fail_msg("%s: got %s \"%s\" in:\n%s", what, want ? "no" : "a", needle, text);
}

/* The call-outs of the golden log, without and with -c. */
static void test_text_callouts(void **state)
{
    char *text = golden_output(false, NULL);

    (void)state;
    check_has("summary", text, "Lines: 10 read, 7 decisions (1 internal", true);
    check_has("foreign", text, "skipped: 1 from other programs", true);
    check_has("cut", text, "skipped: 1 cut or malformed decision lines", true);
    check_has("old TLS", text, "inbound connector woodgrove: 1 of 1 recipients"
              " (TLSv1 1)", true);
    check_has("monitor (schedule)", text, "inbound connector contoso: 1 recipient"
              " accepted only because of monitor mode (until its schedule ends;"
              " then reject 1); reasons: no_tls 1", true);
    check_has("monitor (action)", text, "inbound connector woodgrove: 1 recipient"
              " accepted only because of monitor mode (action monitor 1);"
              " reasons: tls_version 1", true);
    check_has("not seen before", text, "inbound connector contoso: issuer"
              " \"New Issuing CA\" first seen 2027-01-20T10:00:00Z (the"
              " connector's first certificate: 2027-01-10T09:00:00Z), 1"
              " recipient\n", true);
    check_has("seen with the first certificate", text,
              "certificate name mail.contoso.com first seen", false);
    check_has("candidate", text, "    example.net: 1 recipient; cert names:"
              " mx.example.net 1; issuers: \"Example \\\"Issuing\\\" CA\" 1", true);
    check_has("block", text, "\ninbound connector contoso\n  recipients    3\n",
              true);
    check_has("no -c", text, "against the configuration", false);
    free(text);

    text = golden_output(false, conf);
    check_has("-c: rotation", text, "inbound connector contoso: issuer"
              " \"New Issuing CA\" (1 recipient, first seen 2027-01-20T10:00:00Z,"
              " last seen 2027-01-20T10:00:00Z): a rotation in progress: listed by"
              " the identities of line 8 (valid from 2027-02-01T00:00:00Z)\n", true);
    check_has("-c: retiring", text, "issuer \"Old Issuing CA\" (1 recipient,"
              " first seen 2027-01-10T09:00:00Z, last seen 2027-01-10T09:00:00Z): a"
              " rotation in progress: listed by the identities of line 6 (valid"
              " until 2027-03-01T00:00:00Z)\n", true);
    check_has("-c: replaces not seen before", text, "not seen before", false);
    free(text);
}

/* -c: names and issuers no identity lists, and connectors not configured. */
static void test_text_not_listed(void **state)
{
    static const char log[] =
        "s=1 decision=reject direction=inbound connector=contoso stage=rcpt"
        " reason=cert_issuer_mismatch tls=TLSv1.3 cert=MAIL.contoso.com."
        " issuer=\"Rogue CA\"\n"
        "s=2 decision=reject direction=inbound connector=contoso stage=rcpt"
        " reason=cert_name_mismatch tls=TLSv1.3 cert=other.contoso.com"
        " issuer=\"new issuing ca\"\n"
        "s=3 decision=accept direction=inbound connector=woodgrove stage=rcpt"
        " reason=ok tls=TLSv1.3 cert=anything.example issuer=Any\n"
        "s=4 decision=accept direction=inbound connector=gone stage=rcpt"
        " reason=ok tls=TLSv1.3 cert=none\n";
    struct report_agg *agg = new_agg();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    (void)state;
    if (out == NULL)
        fail_msg("open_memstream failed");
    count_text(agg, log);
    if (!report_print_text(agg, conf, out))
        fail_msg("print: got out of memory");
    fclose(out);
    check_has("issuer not listed", text, "inbound connector contoso: issuer"
              " \"Rogue CA\" (1 recipient, first seen -, last seen -): not listed"
              " by any identity (the connector's: line 6 (valid until"
              " 2027-03-01T00:00:00Z), line 8 (valid from 2027-02-01T00:00:00Z))\n",
              true);
    check_has("name not listed", text, "inbound connector contoso: certificate"
              " name other.contoso.com (1 recipient, first seen -, last seen -):"
              " not listed", true);
    /* names compare as the engine compares them: case, trailing dot */
    check_has("name listed", text, "MAIL.contoso.com. (1 recipient, first seen"
              " -, last seen -): a rotation", true);
    check_has("issuer listed, any case", text, "\"new issuing ca\" (1 recipient,"
              " first seen -, last seen -): a rotation", true);
    check_has("no identities: nothing to compare", text, "anything.example (",
              false);
    check_has("not configured", text, "inbound connector gone: not in the"
              " configuration\n", true);
    free(text);
    report_agg_free(agg);
}

/* ---- the golden log of the end-to-end tests ---- */

/*
 * A file of the source tree ($top_srcdir/tests/unit/NAME) into a malloc'ed
 * string.
 */
static char *source_file(const char *name)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    FILE *f;
    char *text;
    long len = -1;

    snprintf(path, sizeof path, "%s/tests/unit/%s", top != NULL ? top : "..", name);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        fail_msg("%s: cannot read it", path);
    text = calloc(1, (size_t)len + 1);
    if (text == NULL || fread(text, 1, (size_t)len, f) != (size_t)len)
        fail_msg("%s: cannot read it", path);
    fclose(f);
    return text;
}

/* got and want member by member (split at commas): the first difference. */
static void check_json_members(const char *what, const char *got,
                               const char *want)
{
    size_t member = 0;

    while (*got != '\0' || *want != '\0') {
        size_t g = strcspn(got, ","), w = strcspn(want, ",");

        if (g != w || memcmp(got, want, g) != 0)
            fail_msg("%s: member %zu: got %.*s, want %.*s", what, member,
                     (int)g, got, (int)w, want);
        got += g + (got[g] == ',');
        want += w + (want[w] == ',');
        member++;
    }
}

/*
 * tests/unit/report_golden.log holds what forcetls-milter logged during
 * tests/e2e/inbound.sh (Postfix, its -f stderr lines as they are) and
 * tests/e2e/inbound-sendmail.sh (Sendmail, each line given an RFC 3164
 * prefix as syslog writes it), run with KEEP=1; then lines of Postfix and
 * Sendmail (foreign), one of the daemon's lines cut inside its quoted
 * hostile CN, and one line again with an RFC 5424 prefix, with an ISO
 * 8601 one, and with an RFC 5424 APP-NAME of postfix (foreign).
 * report_golden.json is the report of it. The counts below were taken
 * with grep, not with this reader: decisions are the lines with
 * " stage=rcpt " and either "cert=none" or "issuer=", less debug= lines,
 * the cut line and the foreign RFC 5424 one.
 */
static void test_e2e_golden(void **state)
{
    static const struct {
        const char *name;
        long long recipients;
    } want[] = {
        { "adatum", 6 }, { "contoso", 64 }, { "fabrikam", 6 },
        { "litware", 6 }, { "northwind", 9 }, { "tailspin", 6 },
        { "wingtip", 15 }, { "woodgrove", 12 }, { "outpartner", 9 },
    };
    char *log = source_file("report_golden.log");
    char *golden = source_file("report_golden.json"), *json = NULL;
    struct report_agg *agg = new_agg();
    struct report_partner **v;
    const struct report_entry *e;
    size_t len = 0;
    FILE *out;

    (void)state;
    count_text(agg, log);
    check_int("read", (long long)agg->read, 566);
    check_int("decisions", (long long)agg->decisions, 133);
    check_int("foreign", (long long)agg->skips[RS_FOREIGN], 4);
    check_int("cut", (long long)agg->skips[RS_MALFORMED], 1);
    check_int("connectors", (long long)agg->connectors.count, ARRAY_LEN(want));
    v = report_partners_sorted(&agg->connectors, false);
    for (size_t i = 0; v != NULL && i < ARRAY_LEN(want); i++) {
        check_str("connector", v[i]->name, want[i].name);
        check_int(want[i].name, (long long)v[i]->recipients, want[i].recipients);
    }
    free(v);
    /* The hostile CN of both MTAs' sessions, read back whole. */
    v = report_partners_sorted(&agg->connectors, false);
    e = v != NULL ? report_map_find(&v[1]->maps[RM_NAMES],
                                    "mail.contoso.example\" decision=accept x=\"")
                  : NULL;
    check_int("hostile CN", e != NULL ? (long long)e->count : -1, 3);
    free(v);

    out = open_memstream(&json, &len);
    if (out == NULL || !report_print_json(agg, out))
        fail_msg("report_print_json failed");
    fclose(out);
    check_json_members("e2e golden JSON", json, golden);
    free(json);
    free(golden);
    free(log);
    report_agg_free(agg);
}

/* The command's refusals: a message and exit 1. */
static void test_command_errors(void **state)
{
    static const char *const cases[][4] = {
        { "--since", "2027-02-30", NULL },
        { "--since", "2027-01-02", "--until", "2027-01-01" },
        { "--until", NULL },
        { "--bogus", NULL },
        { "-c", "/nonexistent/forcetls.conf", NULL },
        { "/nonexistent/decisions.log", NULL },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *argv[5] = { NULL };
        int argc = 0;

        while (argc < 4 && cases[i][argc] != NULL) {
            argv[argc] = (char *)cases[i][argc];
            argc++;
        }
        check_int_in("exit status", cases[i][0], report_main(argc, argv), 1);
    }
}

/* Load the configuration once. */
static int setup(void **state)
{
    (void)state;
    if (!tlsfacts_init())
        return -1;
    conf = load_ok(conf_text);
    return 0;
}

/* Free it. */
static int teardown(void **state)
{
    (void)state;
    config_free(conf);
    tlsfacts_shutdown();
    return 0;
}

/* Run the tests. */
int main(void)
{
    /* The RFC 3164 lines are written in UTC (test_report_time: other zones). */
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_unescape_refused),
        cmocka_unit_test(test_daemon_lines),
        cmocka_unit_test(test_daemon_long_name),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_period),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_golden_json),
        cmocka_unit_test(test_text_callouts),
        cmocka_unit_test(test_text_not_listed),
        cmocka_unit_test(test_e2e_golden),
        cmocka_unit_test(test_command_errors),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
