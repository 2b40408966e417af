/*
 * test_policymap.c - unit tests for policymap.c: socketmap answers for the
 * tlspolicy and transport maps (every TLS setting, smart-host next hops in
 * all four forms, case folding, ".parent" keys, most specific connector,
 * address keys, unknown maps, malformed requests, no configuration), keys
 * that several connectors cover (the strictest policy, ":25" forms equal),
 * the next hops of smart hosts recipients are routed through (never weaker
 * than those recipients' connectors),
 * and the -P tables compared line by line with golden text.
 *
 * Configurations go through the real path: libconfig text written to a
 * temporary file and loaded with config_load().
 */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "policymap.h"
#include "testutil.h"

static const char main_conf[] =
    "min_tls_version = \"TLSv1.2\";\n"
    "outbound = (\n"
    "  { name = \"fabrikam\";\n"
    "    recipient_domains = [ \"fabrikam.com\", \"*.fabrikam.com\" ];\n"
    "    tls_settings = \"domain-validation\";\n"
    "    tls_domain = \"mail.fabrikam.com\";\n"
    "    smart_hosts = [ \"[smtp.fabrikam.com]:25\", \"[192.0.2.10]\",\n"
    "                    \"relay.fabrikam.net:587\", \"relay2.fabrikam.net\" ]; },\n"
    "  { name = \"contoso\"; recipient_domains = [ \"Contoso.COM.\" ];\n"
    "    tls_settings = \"encryption-only\"; min_tls_version = \"TLSv1.3\"; },\n"
    "  { name = \"eu\"; recipient_domains = [ \"eu.fabrikam.com\" ];\n"
    "    tls_settings = \"certificate-validation\"; },\n"
    "  { name = \"deep\"; recipient_domains = [ \"*.deep.example\", \"*.contoso.com\" ];\n"
    "    tls_settings = \"certificate-validation\"; min_tls_version = \"TLSv1\"; },\n"
    "  { name = \"v6\"; recipient_domains = [ \"v6.example\" ];\n"
    "    tls_settings = \"encryption-only\";\n"
    "    smart_hosts = [ \"[2001:DB8::1]:2525\", \"[2001:db8::1]:2525\" ]; },\n"
    "  { name = \"relayco\"; recipient_domains = [ \"relay2.fabrikam.net\" ];\n"
    "    tls_settings = \"encryption-only\"; min_tls_version = \"TLSv1.1\"; },\n"
    "  { name = \"twin\"; recipient_domains = [ \"twin.example\" ];\n"
    "    tls_settings = \"domain-validation\"; tls_domain = \"mail.fabrikam.com\";\n"
    "    smart_hosts = [ \"[smtp.fabrikam.com]:25\", \"[smtp.fabrikam.com]:2525\" ]; }\n"
    ");\n";

static const char empty_conf[] = "min_tls_version = \"TLSv1.2\";\n";

/*
 * Keys several connectors cover, each pair with distinct policies so that
 * an answer shows whose it is: exact domain vs smart host, "*." pattern vs
 * a smart host under it, pattern vs pattern, exact vs pattern, the four
 * next-hop forms with and without ":25", and policies merged per dimension.
 * "[h3.example]:587" is another destination for Postfix, but the same
 * server for Sendmail's TLS_Srv, whose entry must be the stricter.
 */
static const char collide_conf[] =
    "min_tls_version = \"TLSv1.2\";\n"
    "outbound = (\n"
    "  { name = \"strict\"; recipient_domains = [ \"fabrikam.com\", \"*.w.example\" ];\n"
    "    tls_settings = \"domain-validation\"; tls_domain = \"mx.fabrikam.com\";\n"
    "    min_tls_version = \"TLSv1.3\"; },\n"
    "  { name = \"relayed\"; recipient_domains = [ \"r.example\" ];\n"
    "    tls_settings = \"encryption-only\"; min_tls_version = \"TLSv1\";\n"
    "    smart_hosts = [ \"fabrikam.com\", \"relay.w.example\" ]; },\n"
    "  { name = \"wide\"; recipient_domains = [ \"*.a.com\" ];\n"
    "    tls_settings = \"certificate-validation\"; },\n"
    "  { name = \"narrow\"; recipient_domains = [ \"*.b.a.com\", \"e.a.com\" ];\n"
    "    tls_settings = \"encryption-only\"; min_tls_version = \"TLSv1.3\"; },\n"
    "  { name = \"h1\"; recipient_domains = [ \"h1.test\" ]; min_tls_version = \"TLSv1\";\n"
    "    tls_settings = \"certificate-validation\"; smart_hosts = [ \"[h1.example]\" ]; },\n"
    "  { name = \"h2\"; recipient_domains = [ \"h2.test\" ]; min_tls_version = \"TLSv1.1\";\n"
    "    tls_settings = \"certificate-validation\"; smart_hosts = [ \"[h2.example]:25\" ]; },\n"
    "  { name = \"h3\"; recipient_domains = [ \"h3.test\" ]; min_tls_version = \"TLSv1.3\";\n"
    "    smart_hosts = [ \"h3.example\" ]; },\n"
    "  { name = \"h4\"; recipient_domains = [ \"h4.test\" ]; min_tls_version = \"TLSv1.3\";\n"
    "    tls_settings = \"certificate-validation\"; smart_hosts = [ \"H4.example:25\",\n"
    "      \"[h3.example]:587\" ]; },\n"
    "  { name = \"p1\"; recipient_domains = [ \"p1.test\" ]; min_tls_version = \"TLSv1\";\n"
    "    tls_settings = \"certificate-validation\"; smart_hosts = [ \"[relay.p.example]\" ]; },\n"
    "  { name = \"p2\"; recipient_domains = [ \"p2.test\" ]; min_tls_version = \"TLSv1.3\";\n"
    "    smart_hosts = [ \"[relay.p.example]:25\" ]; },\n"
    "  { name = \"s1\"; recipient_domains = [ \"s.example\" ];\n"
    "    tls_settings = \"domain-validation\"; tls_domain = \"mx.s.example\"; },\n"
    "  { name = \"s2\"; recipient_domains = [ \"s2.test\" ]; min_tls_version = \"TLSv1.3\";\n"
    "    tls_settings = \"domain-validation\"; tls_domain = \"MX.s.example\";\n"
    "    smart_hosts = [ \"s.example:25\" ]; }\n"
    ");\n";

/*
 * Recipient domains routed through smart hosts (the reviewer's case):
 * Postfix asks the transport map for the recipient, then the TLS policy of
 * the next hop only. "a"'s pattern covers sub.fabrikam.com, which "b"
 * sends through a relay; "cv"'s covers x.cv.example, sent through an MX
 * relay. Each next hop carries the strictest policy routed through it.
 */
static const char route_conf[] =
    "min_tls_version = \"TLSv1.2\";\n"
    "outbound = (\n"
    "  { name = \"a\"; recipient_domains = [ \"*.fabrikam.com\" ];\n"
    "    tls_settings = \"domain-validation\"; tls_domain = \"mx.fabrikam.com\";\n"
    "    min_tls_version = \"TLSv1.3\"; },\n"
    "  { name = \"b\"; recipient_domains = [ \"sub.fabrikam.com\" ];\n"
    "    tls_settings = \"encryption-only\"; min_tls_version = \"TLSv1\";\n"
    "    smart_hosts = [ \"[relay.contoso.com]\" ]; },\n"
    "  { name = \"cv\"; recipient_domains = [ \"*.cv.example\" ];\n"
    "    tls_settings = \"certificate-validation\"; },\n"
    "  { name = \"mx\"; recipient_domains = [ \"x.cv.example\", \"y.example\" ];\n"
    "    min_tls_version = \"TLSv1\"; smart_hosts = [ \"relay.contoso.net\" ]; }\n"
    ");\n";

static int setup_main(void **state)
{
    *state = load_ok(main_conf);
    return 0;
}

static int setup_collide(void **state)
{
    *state = load_ok(collide_conf);
    return 0;
}

static int setup_route(void **state)
{
    *state = load_ok(route_conf);
    return 0;
}

static int teardown(void **state)
{
    config_free(*state);
    return 0;
}

struct answer_case {
    const char *request;
    enum policymap_result want_result;
    const char *want_reply;
};

#define SECURE "OK secure match=mail.fabrikam.com protocols=>=TLSv1.2"
#define FAB_HOPS "OK smtp:[smtp.fabrikam.com]:25, [192.0.2.10], " \
                 "relay.fabrikam.net:587, relay2.fabrikam.net"
#define NF "NOTFOUND "

static const struct answer_case answer_cases[] = {
    /* tlspolicy: recipient domains, each TLS setting */
    { "tlspolicy fabrikam.com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy contoso.com", POLICYMAP_FOUND, "OK encrypt protocols=>=TLSv1.3" },
    /* an exact domain under a "*." pattern: the strictest of both */
    { "tlspolicy eu.fabrikam.com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy a.deep.example", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1" },
    { "tlspolicy relay2.fabrikam.net", POLICYMAP_FOUND, SECURE },
    /* case folding and a trailing dot */
    { "tlspolicy FABRIKAM.Com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy fabrikam.com.", POLICYMAP_FOUND, SECURE },
    { "tlspolicy CONTOSO.com", POLICYMAP_FOUND, "OK encrypt protocols=>=TLSv1.3" },
    /* wildcards: any depth, not the apex */
    { "tlspolicy mx.fabrikam.com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy a.b.c.fabrikam.com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy x.eu.fabrikam.com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy deep.example", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy sub.contoso.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1" },
    /* ".parent" keys: Postfix's parent-domain lookups */
    { "tlspolicy .fabrikam.com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy .eu.fabrikam.com", POLICYMAP_FOUND, SECURE },
    { "tlspolicy .Deep.Example", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1" },
    { "tlspolicy .x.deep.example", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1" },
    { "tlspolicy .contoso.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1" },
    { "tlspolicy .v6.example", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy .com", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy .", POLICYMAP_NOTFOUND, NF },
    /* smart-host next hops in all four forms */
    { "tlspolicy [smtp.fabrikam.com]:25", POLICYMAP_FOUND, SECURE },
    { "tlspolicy [SMTP.Fabrikam.COM]:25", POLICYMAP_FOUND, SECURE },
    { "tlspolicy [192.0.2.10]", POLICYMAP_FOUND, SECURE },
    { "tlspolicy relay.fabrikam.net:587", POLICYMAP_FOUND, SECURE },
    { "tlspolicy RELAY2.fabrikam.net", POLICYMAP_FOUND, SECURE },
    { "tlspolicy [2001:db8::1]:2525", POLICYMAP_FOUND, "OK encrypt protocols=>=TLSv1.2" },
    { "tlspolicy [2001:DB8:0:0::1]:2525", POLICYMAP_FOUND,
      "OK encrypt protocols=>=TLSv1.2" },
    { "tlspolicy [smtp.fabrikam.com]:2525", POLICYMAP_FOUND, SECURE },
    /* the default port names the same destination */
    { "tlspolicy [smtp.fabrikam.com]", POLICYMAP_FOUND, SECURE },
    { "tlspolicy [192.0.2.10]:25", POLICYMAP_FOUND, SECURE },
    { "tlspolicy relay2.fabrikam.net:25", POLICYMAP_FOUND, SECURE },
    { "tlspolicy smtp.fabrikam.com:25", POLICYMAP_FOUND, SECURE },
    /* another port, or brackets (no MX lookup), is another destination */
    { "tlspolicy relay.fabrikam.net", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy relay.fabrikam.net:25", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy [192.0.2.10]:587", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy [relay2.fabrikam.net]", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy [smtp.fabrikam.com", POLICYMAP_NOTFOUND, NF },
    /* not ours */
    { "tlspolicy example.org", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy user@fabrikam.com", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy *", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy *.fabrikam.com", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy fab rikam.com", POLICYMAP_NOTFOUND, NF },
    /* transport: addresses (what Postfix sends), domains, ".parent" */
    { "transport user@fabrikam.com", POLICYMAP_FOUND, FAB_HOPS },
    { "transport User+ext@A.Fabrikam.COM", POLICYMAP_FOUND, FAB_HOPS },
    { "transport \"a b@c\"@fabrikam.com", POLICYMAP_FOUND, FAB_HOPS },
    { "transport fabrikam.com", POLICYMAP_FOUND, FAB_HOPS },
    { "transport .fabrikam.com", POLICYMAP_FOUND, FAB_HOPS },
    { "transport user@v6.example", POLICYMAP_FOUND,
      "OK smtp:[2001:db8::1]:2525, [2001:db8::1]:2525" },
    { "transport user@twin.example", POLICYMAP_FOUND,
      "OK smtp:[smtp.fabrikam.com]:25, [smtp.fabrikam.com]:2525" },
    /* the most specific connector has no smart hosts: MX routing */
    { "transport user@eu.fabrikam.com", POLICYMAP_NOTFOUND, NF },
    { "transport user@contoso.com", POLICYMAP_NOTFOUND, NF },
    { "transport user@example.org", POLICYMAP_NOTFOUND, NF },
    { "transport *", POLICYMAP_NOTFOUND, NF },
    { "transport user@", POLICYMAP_NOTFOUND, NF },
    { "transport user@[192.0.2.10]", POLICYMAP_NOTFOUND, NF },
    { "transport [smtp.fabrikam.com]:25", POLICYMAP_NOTFOUND, NF },
    /* maps we do not serve, and malformed requests */
    { "access tls_rcpt:user@fabrikam.com", POLICYMAP_PERM,
      "PERM unknown map (served: tlspolicy, transport)" },
    { "TLSPOLICY fabrikam.com", POLICYMAP_PERM,
      "PERM unknown map (served: tlspolicy, transport)" },
    { "tlspolicy", POLICYMAP_BAD_REQUEST, "PERM malformed request: want NAME KEY" },
    { "tlspolicy ", POLICYMAP_BAD_REQUEST, "PERM malformed request: want NAME KEY" },
    { " fabrikam.com", POLICYMAP_BAD_REQUEST, "PERM malformed request: want NAME KEY" },
    { "", POLICYMAP_BAD_REQUEST, "PERM malformed request: want NAME KEY" },
    { "tlspolicy fab\trikam.com", POLICYMAP_BAD_REQUEST,
      "PERM control character in request" },
    { "tlspolicy fabrikam.com\r", POLICYMAP_BAD_REQUEST,
      "PERM control character in request" },
};

/* Check one answer. */
static void check_answer(const struct config *cfg, const char *request,
                         enum policymap_result want_result, const char *want,
                         size_t replysz)
{
    char reply[POLICYMAP_REPLY_MAX];
    enum policymap_result got;

    memset(reply, '#', sizeof reply);
    got = policymap_answer(cfg, request, reply, replysz);
    if (got != want_result || strcmp(reply, want) != 0)
        fail_msg("answer(\"%s\"): got %d \"%s\", want %d \"%s\"", request,
                 (int)got, reply, (int)want_result, want);
}

/* Every request of a table, with a reply buffer of full size. */
static void check_answers(const struct config *cfg,
                          const struct answer_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_answer(cfg, cases[i].request, cases[i].want_result,
                     cases[i].want_reply, POLICYMAP_REPLY_MAX);
}

/* Every request of the table. */
static void test_answers(void **state)
{
    check_answers(*state, answer_cases, ARRAY_LEN(answer_cases));
}

#define STRICT13 "OK secure match=mx.fabrikam.com protocols=>=TLSv1.3"

/* Keys several connectors cover: the strictest of them, per dimension. */
static const struct answer_case collide_cases[] = {
    /* exact recipient domain vs a smart host, same key, either form */
    { "tlspolicy fabrikam.com", POLICYMAP_FOUND, STRICT13 },
    { "tlspolicy fabrikam.com:25", POLICYMAP_FOUND, STRICT13 },
    { "tlspolicy r.example", POLICYMAP_FOUND, "OK encrypt protocols=>=TLSv1" },
    /* "*." pattern vs a smart host under it */
    { "tlspolicy relay.w.example", POLICYMAP_FOUND, STRICT13 },
    { "tlspolicy Relay.W.example:25", POLICYMAP_FOUND, STRICT13 },
    { "tlspolicy x.w.example", POLICYMAP_FOUND, STRICT13 },
    { "tlspolicy .w.example", POLICYMAP_FOUND, STRICT13 },
    { "tlspolicy [relay.w.example]", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy relay.w.example:587", POLICYMAP_NOTFOUND, NF },
    /* pattern vs pattern: the nearer one gets the farther one's too */
    { "tlspolicy .a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.2" },
    { "tlspolicy x.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.2" },
    { "tlspolicy .b.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    { "tlspolicy x.b.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    { "tlspolicy .y.x.b.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    { "tlspolicy b.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.2" },
    { "tlspolicy a.com", POLICYMAP_NOTFOUND, NF },
    /* exact vs pattern: the exact name only, not the names below it */
    { "tlspolicy e.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    { "tlspolicy x.e.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.2" },
    { "tlspolicy .e.a.com", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.2" },
    /* the four next-hop forms, each asked with and without ":25" */
    { "tlspolicy [h1.example]", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1" },
    { "tlspolicy [h1.example]:25", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1" },
    { "tlspolicy [h2.example]", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.1" },
    { "tlspolicy [h2.example]:25", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.1" },
    { "tlspolicy h3.example", POLICYMAP_FOUND, "OK encrypt protocols=>=TLSv1.3" },
    { "tlspolicy h3.example:25", POLICYMAP_FOUND, "OK encrypt protocols=>=TLSv1.3" },
    { "tlspolicy h4.example", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    { "tlspolicy h4.example:25", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    { "tlspolicy h1.example", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy [h3.example]", POLICYMAP_NOTFOUND, NF },
    { "tlspolicy [h1.example]:2525", POLICYMAP_NOTFOUND, NF },
    /* "[host]" and "[host]:25" in two connectors: one key, floors merged */
    { "tlspolicy [relay.p.example]", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    { "tlspolicy [relay.p.example]:25", POLICYMAP_FOUND, "OK verify protocols=>=TLSv1.3" },
    /* secure + secure with the same name: merged, the higher floor */
    { "tlspolicy s.example", POLICYMAP_FOUND,
      "OK secure match=mx.s.example protocols=>=TLSv1.3" },
    { "tlspolicy s.example:25", POLICYMAP_FOUND,
      "OK secure match=mx.s.example protocols=>=TLSv1.3" },
    /* routing stays most-specific-wins (the policy of the hop is above) */
    { "transport user@r.example", POLICYMAP_FOUND,
      "OK smtp:fabrikam.com, relay.w.example" },
    { "transport user@p2.test", POLICYMAP_FOUND, "OK smtp:[relay.p.example]:25" },
};

/* Every request of the collision table. */
static void test_collisions(void **state)
{
    check_answers(*state, collide_cases, ARRAY_LEN(collide_cases));
}

/* Routed recipients: the next hop's policy is never weaker than theirs. */
static const struct answer_case route_cases[] = {
    { "transport u@sub.fabrikam.com", POLICYMAP_FOUND,
      "OK smtp:[relay.contoso.com]" },
    { "tlspolicy [relay.contoso.com]", POLICYMAP_FOUND,
      "OK secure match=mx.fabrikam.com protocols=>=TLSv1.3" },
    { "tlspolicy [relay.contoso.com]:25", POLICYMAP_FOUND,
      "OK secure match=mx.fabrikam.com protocols=>=TLSv1.3" },
    { "tlspolicy sub.fabrikam.com", POLICYMAP_FOUND,
      "OK secure match=mx.fabrikam.com protocols=>=TLSv1.3" },
    { "transport u@x.cv.example", POLICYMAP_FOUND, "OK smtp:relay.contoso.net" },
    { "tlspolicy relay.contoso.net", POLICYMAP_FOUND,
      "OK verify protocols=>=TLSv1.2" },
    { "tlspolicy relay.contoso.net:25", POLICYMAP_FOUND,
      "OK verify protocols=>=TLSv1.2" },
    { "tlspolicy y.example", POLICYMAP_FOUND, "OK encrypt protocols=>=TLSv1" },
};

/* Every request of the routing table. */
static void test_routes(void **state)
{
    check_answers(*state, route_cases, ARRAY_LEN(route_cases));
}

/* Without a configuration: TEMP for our maps, PERM for others. */
static void test_no_config(void **state)
{
    static const struct answer_case cases[] = {
        { "tlspolicy fabrikam.com", POLICYMAP_TEMP,
          "TEMP no configuration loaded" },
        { "transport a@fabrikam.com", POLICYMAP_TEMP,
          "TEMP no configuration loaded" },
        { "access x", POLICYMAP_PERM,
          "PERM unknown map (served: tlspolicy, transport)" },
        { "tlspolicy", POLICYMAP_BAD_REQUEST,
          "PERM malformed request: want NAME KEY" },
    };

    (void)state;
    check_answers(NULL, cases, ARRAY_LEN(cases));
}

/* A configuration without outbound connectors finds nothing. */
static void test_empty_config(void **state)
{
    static const struct answer_case cases[] = {
        { "tlspolicy fabrikam.com", POLICYMAP_NOTFOUND, NF },
        { "tlspolicy .fabrikam.com", POLICYMAP_NOTFOUND, NF },
        { "transport a@fabrikam.com", POLICYMAP_NOTFOUND, NF },
    };
    struct config *cfg = load_ok(empty_conf);

    (void)state;
    check_answers(cfg, cases, ARRAY_LEN(cases));
    config_free(cfg);
}

/* Overlong keys are not found; a reply that does not fit is TEMP. */
static void test_limits(void **state)
{
    char request[POLICYMAP_KEY_MAX + 64];
    size_t n = (size_t)snprintf(request, sizeof request, "tlspolicy ");

    memset(request + n, 'a', POLICYMAP_KEY_MAX + 1);
    request[n + POLICYMAP_KEY_MAX + 1] = '\0';
    check_answer(*state, request, POLICYMAP_NOTFOUND, NF, POLICYMAP_REPLY_MAX);
    memcpy(request, "transport ", 10);
    check_answer(*state, request, POLICYMAP_NOTFOUND, NF, POLICYMAP_REPLY_MAX);
    check_answer(*state, "transport a@fabrikam.com", POLICYMAP_TEMP,
                 "TEMP reply too long", 64);
    check_answer(*state, "tlspolicy fabrikam.com", POLICYMAP_FOUND, SECURE,
                 strlen(SECURE) + 1);
    check_answer(*state, "tlspolicy fabrikam.com", POLICYMAP_TEMP,
                 "TEMP reply too long", strlen(SECURE));
}

/* Print a table into memory; false if the name is unknown. */
static bool print_to_string(const struct config *cfg, const char *name,
                            char *buf, size_t bufsz)
{
    FILE *f = fmemopen(buf, bufsz, "w");
    bool ok;

    assert_non_null(f);
    ok = policymap_print_table(cfg, name, f);
    assert_int_equal(fclose(f), 0);
    return ok;
}

/* Compare printed text with golden lines ("@PATH@" is the config path). */
static void check_golden(const char *table, const char *path, const char *got,
                         const char *const *want, size_t nwant)
{
    const char *line = got;

    for (size_t i = 0; i < nwant; i++) {
        char expect[512];
        const char *at = strstr(want[i], "@PATH@");
        const char *nl = strchr(line, '\n');
        size_t len;

        if (at != NULL)
            snprintf(expect, sizeof expect, "%.*s%s%s", (int)(at - want[i]),
                     want[i], path, at + 6);
        else
            snprintf(expect, sizeof expect, "%s", want[i]);
        if (nl == NULL)
            fail_msg("%s line %zu: got end of output, want \"%s\"", table,
                     i + 1, expect);
        len = (size_t)(nl - line);
        if (len != strlen(expect) || memcmp(line, expect, len) != 0)
            fail_msg("%s line %zu: got \"%.*s\", want \"%s\"", table, i + 1,
                     (int)len, line, expect);
        line = nl + 1;
    }
    if (*line != '\0')
        fail_msg("%s: got extra output \"%s\", want the end", table, line);
}

static const char *const golden_tls_policy[] = {
    "# postfix-tls-policy generated by forcetls-milter from @PATH@; do not edit",
    "# outbound connector fabrikam",
    "fabrikam.com\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    ".fabrikam.com\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "[smtp.fabrikam.com]\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "[smtp.fabrikam.com]:25\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "[192.0.2.10]\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "[192.0.2.10]:25\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "relay.fabrikam.net:587\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "relay2.fabrikam.net\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "relay2.fabrikam.net:25\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "# outbound connector contoso",
    "contoso.com\tencrypt protocols=>=TLSv1.3",
    "# outbound connector eu",
    "eu.fabrikam.com\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    "# outbound connector deep",
    ".deep.example\tverify protocols=>=TLSv1",
    ".contoso.com\tverify protocols=>=TLSv1",
    "# outbound connector v6",
    "v6.example\tencrypt protocols=>=TLSv1.2",
    "[2001:db8::1]:2525\tencrypt protocols=>=TLSv1.2",
    "# outbound connector relayco",
    ("# relay2.fabrikam.net: also listed by outbound connector fabrikam;"
     " its entry (the strictest of both) applies"),
    "# outbound connector twin",
    "twin.example\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
    ("# [smtp.fabrikam.com]: also listed by outbound connector fabrikam;"
     " its entry (the strictest of both) applies"),
    "[smtp.fabrikam.com]:2525\tsecure match=mail.fabrikam.com protocols=>=TLSv1.2",
};

static const char *const golden_transport[] = {
    "# postfix-transport generated by forcetls-milter from @PATH@; do not edit",
    "# outbound connector fabrikam",
    ("fabrikam.com\tsmtp:[smtp.fabrikam.com]:25, [192.0.2.10], "
     "relay.fabrikam.net:587, relay2.fabrikam.net"),
    (".fabrikam.com\tsmtp:[smtp.fabrikam.com]:25, [192.0.2.10], "
     "relay.fabrikam.net:587, relay2.fabrikam.net"),
    /* Null entries: a hash table's ".fabrikam.com" must not route these. */
    "# outbound connector contoso: no smart hosts",
    "contoso.com\t:",
    "# outbound connector eu: no smart hosts",
    "eu.fabrikam.com\t:",
    "# outbound connector deep: no smart hosts",
    ".deep.example\t:",
    ".contoso.com\t:",
    "# outbound connector v6",
    "v6.example\tsmtp:[2001:db8::1]:2525, [2001:db8::1]:2525",
    "# outbound connector relayco: no smart hosts",
    "relay2.fabrikam.net\t:",
    "# outbound connector twin",
    "twin.example\tsmtp:[smtp.fabrikam.com]:25, [smtp.fabrikam.com]:2525",
};

static const char *const golden_sendmail[] = {
    "# sendmail-access generated by forcetls-milter from @PATH@; do not edit",
    ("# Needs FEATURE(`access_db'). Sendmail cannot require a minimum TLS"
     " version here,"),
    ("# and a domain entry also covers the names below it. Smart hosts need"
     " mailertable entries."),
    "# outbound connector fabrikam",
    "TLS_Rcpt:fabrikam.com\tVERIFY+CN:mail.fabrikam.com",
    "TLS_Srv:smtp.fabrikam.com\tVERIFY+CN:mail.fabrikam.com",
    "TLS_Srv:192.0.2.10\tVERIFY+CN:mail.fabrikam.com",
    "TLS_Srv:relay.fabrikam.net\tVERIFY+CN:mail.fabrikam.com",
    "TLS_Srv:relay2.fabrikam.net\tVERIFY+CN:mail.fabrikam.com",
    "# outbound connector contoso",
    "TLS_Rcpt:contoso.com\tVERIFY",
    "# outbound connector eu",
    "TLS_Rcpt:eu.fabrikam.com\tVERIFY+CN:mail.fabrikam.com",
    "# outbound connector deep",
    "# *.deep.example: Sendmail also applies this to deep.example itself",
    "TLS_Rcpt:deep.example\tVERIFY",
    "# outbound connector v6",
    "TLS_Rcpt:v6.example\tENCR:128",
    "TLS_Srv:IPv6:2001:db8::1\tENCR:128",
    "# outbound connector relayco",
    "TLS_Rcpt:relay2.fabrikam.net\tVERIFY+CN:mail.fabrikam.com",
    "# outbound connector twin",
    "TLS_Rcpt:twin.example\tVERIFY+CN:mail.fabrikam.com",
};

static const char *const golden_collide_tls_policy[] = {
    "# postfix-tls-policy generated by forcetls-milter from @PATH@; do not edit",
    "# outbound connector strict",
    "fabrikam.com\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "fabrikam.com:25\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    ".w.example\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "# outbound connector relayed",
    "r.example\tencrypt protocols=>=TLSv1",
    ("# fabrikam.com: also listed by outbound connector strict; its entry"
     " (the strictest of both) applies"),
    "relay.w.example\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "relay.w.example:25\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "# outbound connector wide",
    ".a.com\tverify protocols=>=TLSv1.2",
    "# outbound connector narrow",
    ".b.a.com\tverify protocols=>=TLSv1.3",
    "e.a.com\tverify protocols=>=TLSv1.3",
    "# outbound connector h1",
    "h1.test\tverify protocols=>=TLSv1",
    "[h1.example]\tverify protocols=>=TLSv1",
    "[h1.example]:25\tverify protocols=>=TLSv1",
    "# outbound connector h2",
    "h2.test\tverify protocols=>=TLSv1.1",
    "[h2.example]\tverify protocols=>=TLSv1.1",
    "[h2.example]:25\tverify protocols=>=TLSv1.1",
    "# outbound connector h3",
    "h3.test\tencrypt protocols=>=TLSv1.3",
    "h3.example\tencrypt protocols=>=TLSv1.3",
    "h3.example:25\tencrypt protocols=>=TLSv1.3",
    "# outbound connector h4",
    "h4.test\tverify protocols=>=TLSv1.3",
    "h4.example\tverify protocols=>=TLSv1.3",
    "h4.example:25\tverify protocols=>=TLSv1.3",
    "[h3.example]:587\tverify protocols=>=TLSv1.3",
    "# outbound connector p1",
    "p1.test\tverify protocols=>=TLSv1",
    "[relay.p.example]\tverify protocols=>=TLSv1.3",
    "[relay.p.example]:25\tverify protocols=>=TLSv1.3",
    "# outbound connector p2",
    "p2.test\tencrypt protocols=>=TLSv1.3",
    ("# [relay.p.example]: also listed by outbound connector p1; its entry"
     " (the strictest of both) applies"),
    "# outbound connector s1",
    "s.example\tsecure match=mx.s.example protocols=>=TLSv1.3",
    "s.example:25\tsecure match=mx.s.example protocols=>=TLSv1.3",
    "# outbound connector s2",
    "s2.test\tsecure match=mx.s.example protocols=>=TLSv1.3",
    ("# s.example: also listed by outbound connector s1; its entry (the"
     " strictest of both) applies"),
};

static const char *const golden_collide_sendmail[] = {
    "# sendmail-access generated by forcetls-milter from @PATH@; do not edit",
    ("# Needs FEATURE(`access_db'). Sendmail cannot require a minimum TLS"
     " version here,"),
    ("# and a domain entry also covers the names below it. Smart hosts need"
     " mailertable entries."),
    "# outbound connector strict",
    "TLS_Rcpt:fabrikam.com\tVERIFY+CN:mx.fabrikam.com",
    "# *.w.example: Sendmail also applies this to w.example itself",
    "TLS_Rcpt:w.example\tVERIFY+CN:mx.fabrikam.com",
    "# outbound connector relayed",
    "TLS_Rcpt:r.example\tENCR:128",
    "TLS_Srv:fabrikam.com\tVERIFY+CN:mx.fabrikam.com",
    "TLS_Srv:relay.w.example\tVERIFY+CN:mx.fabrikam.com",
    "# outbound connector wide",
    "# *.a.com: Sendmail also applies this to a.com itself",
    "TLS_Rcpt:a.com\tVERIFY",
    "# outbound connector narrow",
    "# *.b.a.com: Sendmail also applies this to b.a.com itself",
    "TLS_Rcpt:b.a.com\tVERIFY",
    "TLS_Rcpt:e.a.com\tVERIFY",
    "# outbound connector h1",
    "TLS_Rcpt:h1.test\tVERIFY",
    "TLS_Srv:h1.example\tVERIFY",
    "# outbound connector h2",
    "TLS_Rcpt:h2.test\tVERIFY",
    "TLS_Srv:h2.example\tVERIFY",
    "# outbound connector h3",
    "TLS_Rcpt:h3.test\tENCR:128",
    "TLS_Srv:h3.example\tVERIFY",
    "# outbound connector h4",
    "TLS_Rcpt:h4.test\tVERIFY",
    "TLS_Srv:h4.example\tVERIFY",
    "# outbound connector p1",
    "TLS_Rcpt:p1.test\tVERIFY",
    "TLS_Srv:relay.p.example\tVERIFY",
    "# outbound connector p2",
    "TLS_Rcpt:p2.test\tENCR:128",
    "# outbound connector s1",
    "TLS_Rcpt:s.example\tVERIFY+CN:mx.s.example",
    "# outbound connector s2",
    "TLS_Rcpt:s2.test\tVERIFY+CN:mx.s.example",
    "TLS_Srv:s.example\tVERIFY+CN:mx.s.example",
};

static const char *const golden_route_tls_policy[] = {
    "# postfix-tls-policy generated by forcetls-milter from @PATH@; do not edit",
    "# outbound connector a",
    ".fabrikam.com\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "# outbound connector b",
    "sub.fabrikam.com\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "[relay.contoso.com]\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "[relay.contoso.com]:25\tsecure match=mx.fabrikam.com protocols=>=TLSv1.3",
    "# outbound connector cv",
    ".cv.example\tverify protocols=>=TLSv1.2",
    "# outbound connector mx",
    "x.cv.example\tverify protocols=>=TLSv1.2",
    "y.example\tencrypt protocols=>=TLSv1",
    "relay.contoso.net\tverify protocols=>=TLSv1.2",
    "relay.contoso.net:25\tverify protocols=>=TLSv1.2",
};

static const char *const golden_route_sendmail[] = {
    "# sendmail-access generated by forcetls-milter from @PATH@; do not edit",
    "# Needs FEATURE(`access_db'). Sendmail cannot require a minimum TLS version here,",
    ("# and a domain entry also covers the names below it. Smart hosts need"
     " mailertable entries."),
    "# outbound connector a",
    "# *.fabrikam.com: Sendmail also applies this to fabrikam.com itself",
    "TLS_Rcpt:fabrikam.com\tVERIFY+CN:mx.fabrikam.com",
    "# outbound connector b",
    "TLS_Rcpt:sub.fabrikam.com\tVERIFY+CN:mx.fabrikam.com",
    "TLS_Srv:relay.contoso.com\tVERIFY+CN:mx.fabrikam.com",
    "# outbound connector cv",
    "# *.cv.example: Sendmail also applies this to cv.example itself",
    "TLS_Rcpt:cv.example\tVERIFY",
    "# outbound connector mx",
    "TLS_Rcpt:x.cv.example\tVERIFY",
    "TLS_Rcpt:y.example\tENCR:128",
    "TLS_Srv:relay.contoso.net\tVERIFY",
};

/* Print table for cfg and compare it with the golden lines. */
static void check_printed(const struct config *cfg, const char *table,
                          const char *const *want, size_t nwant)
{
    static char buf[16384];

    assert_true(print_to_string(cfg, table, buf, sizeof buf));
    check_golden(table, cfg->path, buf, want, nwant);
}

/* -P postfix-tls-policy, line by line. */
static void test_print_tls_policy(void **state)
{
    check_printed(*state, "postfix-tls-policy", golden_tls_policy,
                  ARRAY_LEN(golden_tls_policy));
}

/* -P postfix-transport, line by line. */
static void test_print_transport(void **state)
{
    check_printed(*state, "postfix-transport", golden_transport,
                  ARRAY_LEN(golden_transport));
}

/* -P sendmail-access, line by line. */
static void test_print_sendmail(void **state)
{
    check_printed(*state, "sendmail-access", golden_sendmail,
                  ARRAY_LEN(golden_sendmail));
}

/* -P postfix-tls-policy of colliding keys: one merged entry per key. */
static void test_print_collide_tls_policy(void **state)
{
    check_printed(*state, "postfix-tls-policy", golden_collide_tls_policy,
                  ARRAY_LEN(golden_collide_tls_policy));
}

/* -P sendmail-access of colliding keys: merged per domain and per server. */
static void test_print_collide_sendmail(void **state)
{
    check_printed(*state, "sendmail-access", golden_collide_sendmail,
                  ARRAY_LEN(golden_collide_sendmail));
}

/* Unknown table names print nothing and return false. */
static void test_print_unknown(void **state)
{
    static char buf[256];

    buf[0] = '\0';
    assert_false(print_to_string(*state, "postfix-tls", buf, sizeof buf));
    if (buf[0] != '\0')
        fail_msg("unknown table: got output \"%s\", want none", buf);
}

/* Every line of the printed table agrees with the tlspolicy map. */
static void check_table_agrees(const struct config *cfg, size_t want_lines)
{
    static char buf[16384];
    char *save = NULL, *line;
    size_t checked = 0;

    assert_true(print_to_string(cfg, "postfix-tls-policy", buf, sizeof buf));
    for (line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char request[512], want[512], *tab = strchr(line, '\t');
        if (line[0] == '#' || tab == NULL)
            continue;
        *tab = '\0';
        snprintf(request, sizeof request, "tlspolicy %s", line);
        snprintf(want, sizeof want, "OK %s", tab + 1);
        check_answer(cfg, request, POLICYMAP_FOUND, want, POLICYMAP_REPLY_MAX);
        checked++;
    }
    check_int("table lines checked", (long long)checked, (long long)want_lines);
}

/* Every answer of the tlspolicy map agrees with the printed table. */
static void test_table_agrees_with_map(void **state)
{
    check_table_agrees(*state, 17);
}

/* The same for the table of colliding keys. */
static void test_collide_table_agrees(void **state)
{
    check_table_agrees(*state, 29);
}

/* -P tables of routed recipients: each relay entry is the strictest. */
static void test_print_route(void **state)
{
    check_printed(*state, "postfix-tls-policy", golden_route_tls_policy,
                  ARRAY_LEN(golden_route_tls_policy));
    check_printed(*state, "sendmail-access", golden_route_sendmail,
                  ARRAY_LEN(golden_route_sendmail));
    check_table_agrees(*state, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers, setup_main, teardown),
        cmocka_unit_test(test_no_config),
        cmocka_unit_test(test_empty_config),
        cmocka_unit_test_setup_teardown(test_limits, setup_main, teardown),
        cmocka_unit_test_setup_teardown(test_print_tls_policy, setup_main, teardown),
        cmocka_unit_test_setup_teardown(test_print_transport, setup_main, teardown),
        cmocka_unit_test_setup_teardown(test_print_sendmail, setup_main, teardown),
        cmocka_unit_test_setup_teardown(test_print_unknown, setup_main, teardown),
        cmocka_unit_test_setup_teardown(test_table_agrees_with_map, setup_main,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collisions, setup_collide, teardown),
        cmocka_unit_test_setup_teardown(test_print_collide_tls_policy,
                                        setup_collide, teardown),
        cmocka_unit_test_setup_teardown(test_print_collide_sendmail,
                                        setup_collide, teardown),
        cmocka_unit_test_setup_teardown(test_collide_table_agrees, setup_collide,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup_route, teardown),
        cmocka_unit_test_setup_teardown(test_print_route, setup_route, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
