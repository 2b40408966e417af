/*
 * test_config_outbound.c - unit tests for config_outbound.c: the keys that
 * several outbound connectors cover (an exact domain, a "*." pattern, a
 * smart host's next hop in every form, and the next hop of a smart host
 * that recipient domains are routed through). Each either gets the
 * strictest policy of all that cover it, or the file is refused with the
 * exact "FILE:LINE: " prefix and a message naming both places.
 */
#include "config.h"
#include "domain_table.h"
#include "testutil.h"

/* ---- Errors: no strictest policy ---- */

static const struct error_case error_cases[] = {
    /* Keys two connectors cover with two tls_domain names: no strictest */
    { "exact domain and smart host, two names",
      "outbound = (\n"
      "  { name = \"a\"; recipient_domains = [ \"fabrikam.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx1.fabrikam.example\"; },\n"
      "  { name = \"b\"; recipient_domains = [ \"b.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx2.fabrikam.example\";\n"
      "    smart_hosts = [ \"x.example\",\n"
      "      \"Fabrikam.Example:25\" ]; }\n);\n", 7,
      "outbound connector \"b\" (smart_hosts \"Fabrikam.Example:25\", tls_domain"
      " \"mx2.fabrikam.example\") and outbound connector \"a\" (line 2,"
      " recipient_domains \"fabrikam.example\", tls_domain"
      " \"mx1.fabrikam.example\") both cover the TLS policy key"
      " \"fabrikam.example\" with different domain-validation names: no policy"
      " is the strictest of both" },
    { "pattern and smart host under it, two names",
      "outbound = (\n"
      "  { name = \"a\"; recipient_domains = [ \"a.example\",\n"
      "      \"*.fabrikam.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx1.fabrikam.example\"; },\n"
      "  { name = \"b\"; recipient_domains = [ \"b.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx2.fabrikam.example\";\n"
      "    smart_hosts = [ \"relay.fabrikam.example\" ]; }\n);\n", 7,
      "outbound connector \"b\" (smart_hosts \"relay.fabrikam.example\", tls_domain"
      " \"mx2.fabrikam.example\") and outbound connector \"a\" (line 3,"
      " recipient_domains \"*.fabrikam.example\", tls_domain"
      " \"mx1.fabrikam.example\") both cover the TLS policy key"
      " \"relay.fabrikam.example\"" },
    { "pattern and pattern below it, two names",
      "outbound = (\n"
      "  { name = \"a\"; recipient_domains = [ \"*.a.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx1.a.example\"; },\n"
      "  { name = \"b\"; recipient_domains = [ \"*.B.a.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx2.a.example\"; }\n);\n",
      4, "outbound connector \"b\" (recipient_domains \"*.B.a.example\","
      " tls_domain \"mx2.a.example\") and outbound connector \"a\" (line 2,"
      " recipient_domains \"*.a.example\", tls_domain \"mx1.a.example\") both"
      " cover the TLS policy key \"*.b.a.example\"" },
    { "exact domain before the pattern above it, two names",
      "outbound = (\n"
      "  { name = \"a\"; recipient_domains = [ \"e.a.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx1.a.example\"; },\n"
      "  { name = \"b\"; recipient_domains = [ \"*.a.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx2.a.example\"; }\n);\n",
      4, "outbound connector \"b\" (recipient_domains \"*.a.example\","
      " tls_domain \"mx2.a.example\") and outbound connector \"a\" (line 2,"
      " recipient_domains \"e.a.example\", tls_domain \"mx1.a.example\") both"
      " cover the TLS policy key \"e.a.example\"" },
    { "[host] and [host]:25, two names",
      "outbound = (\n"
      "  { name = \"a\"; recipient_domains = [ \"a.example\" ];\n"
      "    smart_hosts = [ \"[relay.example]\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx1.example\"; },\n"
      "  { name = \"b\"; recipient_domains = [ \"b.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx2.example\";\n"
      "    smart_hosts = [ \"[Relay.Example.]:25\" ]; }\n);\n", 7,
      "outbound connector \"b\" (smart_hosts \"[Relay.Example.]:25\", tls_domain"
      " \"mx2.example\") and outbound connector \"a\" (line 3, smart_hosts"
      " \"[relay.example]\", tls_domain \"mx1.example\") both cover the TLS"
      " policy key \"[relay.example]\"" },
    /*
     * Recipient domains routed through one smart host: Postfix looks the
     * TLS policy up by the next hop only, so it must hold the policy of
     * every recipient domain sent through it.
     */
    { "two names routed through one relay",
      "outbound = (\n"
      "  { name = \"a\"; recipient_domains = [ \"*.a.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx.a.example\"; },\n"
      "  { name = \"c\"; recipient_domains = [ \"*.c.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx.c.example\"; },\n"
      "  { name = \"b\"; recipient_domains = [ \"x.a.example\",\n"
      "      \"x.c.example\" ]; smart_hosts = [ \"[relay.example]\" ]; }\n);\n", 7,
      "outbound connector \"b\" sends mail for recipient_domains \"x.c.example\""
      " through smart_hosts \"[relay.example]\", and Postfix looks the TLS policy"
      " up by that next hop (\"[relay.example]\") only, so it must hold the"
      " policy of both: outbound connector \"c\" (line 4, recipient_domains"
      " \"*.c.example\") needs tls_domain \"mx.c.example\", outbound connector"
      " \"a\" (line 2, recipient_domains \"*.a.example\") needs tls_domain"
      " \"mx.a.example\": no policy is the strictest of both" },
    { "name routed through a relay with another name",
      "outbound = (\n"
      "  { name = \"a\"; recipient_domains = [ \"*.a.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"mx.a.example\"; },\n"
      "  { name = \"b\"; recipient_domains = [ \"x.a.example\" ];\n"
      "    smart_hosts = [ \"[relay.example]:25\" ]; },\n"
      "  { name = \"r\"; recipient_domains = [ \"r.example\" ];\n"
      "    tls_settings = \"domain-validation\"; tls_domain = \"relay.example\";\n"
      "    smart_hosts = [ \"[relay.example]\" ]; }\n);\n", 4,
      "outbound connector \"b\" sends mail for recipient_domains \"x.a.example\""
      " through smart_hosts \"[relay.example]:25\", and Postfix looks the TLS"
      " policy up by that next hop (\"[relay.example]\") only, so it must hold"
      " the policy of both: outbound connector \"a\" (line 2, recipient_domains"
      " \"*.a.example\") needs tls_domain \"mx.a.example\", outbound connector"
      " \"r\" (line 8, smart_hosts \"[relay.example]\") needs tls_domain"
      " \"relay.example\"" },
};

/* ---- Merged policies ---- */

/* The merged policy of key, failing the test if there is none. */
static const struct outbound_policy *policy_of(const struct config *cfg,
                                               const char *key)
{
    uint32_t n = 0;

    if (domain_table_get(cfg->outbound_by_nexthop, key, &n, 1) != 1 ||
        n >= cfg->outbound_policy_count)
        fail_msg("no policy for key \"%s\"", key);
    return &cfg->outbound_policy[n];
}

/*
 * The reviewer's case: a pattern's domain-validation connector "a" covers
 * sub.fabrikam.example, which connector "b" (encryption-only, TLSv1) routes
 * through a relay: the relay's key carries a's policy, whichever connector
 * comes first; a relay of a domain nobody else covers keeps its own.
 */
static void test_route_strictest(void **state)
{
    static const char *const texts[] = {
        "outbound = (\n"
        "  { name = \"a\"; recipient_domains = [ \"*.fabrikam.example\" ];\n"
        "    tls_settings = \"domain-validation\"; tls_domain = \"fabrikam.example\";\n"
        "    min_tls_version = \"TLSv1.3\"; },\n"
        "  { name = \"b\"; recipient_domains = [ \"sub.fabrikam.example\" ];\n"
        "    min_tls_version = \"TLSv1\"; smart_hosts = [ \"[relay.example]\" ]; },\n"
        "  { name = \"o\"; recipient_domains = [ \"o.example\" ];\n"
        "    min_tls_version = \"TLSv1\"; smart_hosts = [ \"[other.example]\" ]; }\n);\n",
        "outbound = (\n"
        "  { name = \"o\"; recipient_domains = [ \"o.example\" ];\n"
        "    min_tls_version = \"TLSv1\"; smart_hosts = [ \"[other.example]\" ]; },\n"
        "  { name = \"b\"; recipient_domains = [ \"sub.fabrikam.example\" ];\n"
        "    min_tls_version = \"TLSv1\"; smart_hosts = [ \"[relay.example]:25\" ]; },\n"
        "  { name = \"a\"; recipient_domains = [ \"*.fabrikam.example\" ];\n"
        "    tls_settings = \"domain-validation\"; tls_domain = \"fabrikam.example\";\n"
        "    min_tls_version = \"TLSv1.3\"; }\n);\n",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
        struct config *cfg = load_ok(texts[i]);
        const struct outbound_policy *relay = policy_of(cfg, "[relay.example]");
        const struct outbound_policy *other = policy_of(cfg, "[other.example]");

        check_str_in("relay level", texts[i],
                     cfg->outbound[relay->level_id].name, "a");
        check_str_in("relay floor", texts[i],
                     cfg->outbound[relay->version_id].name, "a");
        check_str_in("relay first lister", texts[i],
                     cfg->outbound[relay->first_id].name, "b");
        check_str_in("other level", texts[i],
                     cfg->outbound[other->level_id].name, "o");
        check_int_in("other floor", texts[i],
                     cfg->outbound[other->version_id].min_tls_version,
                     TLS_VERSION_1_0);
        config_free(cfg);
    }
}

/*
 * Routes do not chain: "y" sends x.s.example (under "s"'s domain-validation
 * pattern) to the next hop hop.example, and "r" routes its recipient domain
 * hop.example through [h2.example], which "t" lists with another name. Mail
 * to hop.example is no mail to x.s.example, so [h2.example] gets hop.example's
 * own policy (encrypt), not what y's route put on the next hop hop.example:
 * the file loads, whatever the order of y and r.
 */
static void test_route_not_transitive(void **state)
{
    struct config *cfg = load_ok(
        "outbound = (\n"
        "  { name = \"s\"; recipient_domains = [ \"*.s.example\" ];\n"
        "    tls_settings = \"domain-validation\"; tls_domain = \"mx.s.example\"; },\n"
        "  { name = \"y\"; recipient_domains = [ \"x.s.example\" ];\n"
        "    smart_hosts = [ \"hop.example\" ]; },\n"
        "  { name = \"r\"; recipient_domains = [ \"hop.example\" ];\n"
        "    smart_hosts = [ \"[h2.example]\" ]; },\n"
        "  { name = \"t\"; recipient_domains = [ \"t.example\" ];\n"
        "    tls_settings = \"domain-validation\"; tls_domain = \"mx.t.example\";\n"
        "    smart_hosts = [ \"[h2.example]\" ]; }\n);\n");

    (void)state;
    check_str("next hop hop.example level",
              cfg->outbound[policy_of(cfg, "hop.example")->level_id].name, "s");
    check_str("[h2.example] level",
              cfg->outbound[policy_of(cfg, "[h2.example]")->level_id].name, "t");
    config_free(cfg);
}


/*
 * Many outbound connectors sharing one smart host, each with a pattern and
 * a name below it: every key merged, in one pass (not one per pair).
 */
static void test_many_outbound(void **state)
{
    enum { N = 20000 };
    size_t size = (size_t)N * 200 + 64, used = 0;
    char *text = malloc(size);
    struct config *cfg;
    uint32_t n = 0;

    (void)state;
    assert_non_null(text);
    used += (size_t)snprintf(text + used, size - used, "outbound = (\n");
    for (int i = 0; i < N; i++)
        used += (size_t)snprintf(text + used, size - used,
                                 "%s{ name = \"o%d\"; recipient_domains = [ \"*.o%d.example\","
                                 " \"x.o%d.example\" ]; smart_hosts = [ \"[hub.example]%s\" ];"
                                 " min_tls_version = \"%s\"; }\n", i == 0 ? "" : ",", i, i,
                                 i, i % 2 ? ":25" : "", i == N / 2 ? "TLSv1.3" : "TLSv1.2");
    snprintf(text + used, size - used, ");\n");
    cfg = load_ok(text);
    free(text);
    check_int("outbound_count", (long long)cfg->outbound_count, N);
    check_int("hub key", (long long)domain_table_get(cfg->outbound_by_nexthop,
                                                     "[hub.example]", &n, 1), 1);
    check_int("hub floor from the one TLSv1.3 connector",
              cfg->outbound_policy[n].version_id, N / 2);
    check_int("keys", (long long)cfg->outbound_policy_count, 2 * N + 1);
    config_free(cfg);
}

#define N_ERRORS ARRAY_LEN(error_cases)
#define N_FIXED ARRAY_LEN(fixed)

static const struct CMUnitTest fixed[] = {
    cmocka_unit_test(test_route_strictest),
    cmocka_unit_test(test_route_not_transitive),
    cmocka_unit_test(test_many_outbound),
};

static struct CMUnitTest tests[N_ERRORS + N_FIXED];

int main(void)
{
    size_t n = 0;

    n += error_case_tests(tests + n, error_cases, N_ERRORS);
    for (size_t i = 0; i < N_FIXED; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("test_config_outbound", tests, n, NULL, NULL);
}
