/*
 * test_config_identity.c - unit tests for config_identity.c and the new
 * keys around it: certificates = ( identities ) of inbound connectors, the
 * flat certificate keys as one identity without a window, identity names
 * in inbound_by_cert_name (once per connector), monitor_until /
 * tempfail_until on inbound and outbound connectors, and the top-level
 * mta. Every load error is compared whole: "FILE:LINE: message".
 */
#include "config.h"
#include "domain_table.h"
#include "testutil.h"

/* A valid inbound connector body, one line, for cases about other keys. */
#define IN_OK "name = \"p\"; sender_domains = [ \"p.example\" ];"
/* An identity that loads. */
#define ID_OK "{ names = [ \"m.p.example\" ]; }"

/* 2027-01-15, 2027-02-01 and 2027-03-01 at midnight UTC (date -u +%s). */
#define T_0115 INT64_C(1799971200)
#define T_0201 INT64_C(1801440000)
#define T_0301 INT64_C(1803859200)

/* ---- Errors, each compared whole ---- */

/* A configuration that must be refused with exactly "FILE:LINE: want". */
struct exact_case {
    const char *name;
    const char *text;
    int line;
    const char *want;
};

static const struct exact_case error_cases[] = {
    /* certificates: the list and its groups */
    { "certificates empty",
      "inbound = ( { " IN_OK "\n certificates = ( ); } );\n", 2,
      "certificates: must not be empty (remove the setting instead)" },
    { "certificates as a group",
      "inbound = ( { " IN_OK "\n certificates = " ID_OK "; } );\n", 2,
      "certificates must be a list of groups: ( { ... }, ... )" },
    { "certificates as an array",
      "inbound = ( { " IN_OK "\n certificates = [ \"m.p.example\" ]; } );\n", 2,
      "certificates must be a list of groups: ( { ... }, ... )" },
    { "identity not a group",
      "inbound = ( { " IN_OK " certificates = ( " ID_OK ",\n \"m.p.example\" ); } );\n",
      2, "certificates: each identity must be a group { names = [ ... ];"
      " issuers = [ ... ]; }" },
    { "identity unknown key",
      "inbound = ( { " IN_OK " certificates = (\n"
      "  { names = [ \"m.p.example\" ];\n    valid_form = \"2027-01-01\"; } ); } );\n",
      3, "unknown setting \"valid_form\"" },
    { "connector key in an identity",
      "inbound = ( { " IN_OK " certificates = (\n"
      "  { names = [ \"m.p.example\" ];\n    name = \"x\"; } ); } );\n",
      3, "unknown setting \"name\" (it is an inbound connector setting)" },
    { "identity key in a connector",
      "inbound = ( { " IN_OK "\n valid_until = \"2027-01-01\"; } );\n", 2,
      "unknown setting \"valid_until\" (it belongs in an identity:"
      " certificates = ( { ... } ))" },
    { "identity key at top level", "log_all = true;\nissuers = [ \"CA\" ];\n", 2,
      "unknown setting \"issuers\" (it belongs in an identity:"
      " certificates = ( { ... } ))" },
    { "identity with neither names nor issuers",
      "inbound = ( { " IN_OK " certificates = ( " ID_OK ",\n"
      "  { valid_from = \"2027-01-01\"; } ); } );\n", 2,
      "certificates: an identity needs names, issuers or both" },
    /* certificates: types of the identity keys */
    { "names as a string",
      "inbound = ( { " IN_OK " certificates = (\n { names = \"m.p.example\"; } ); } );\n",
      2, "names must be a list of strings: [ \"...\", ... ]" },
    { "names empty",
      "inbound = ( { " IN_OK " certificates = (\n { names = [ ]; } ); } );\n",
      2, "names: must not be empty (remove the setting instead)" },
    { "issuers with a number (a libconfig list)",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " issuers = ( \"CA\",\n 7 ); } ); } );\n", 3,
      "issuers must be a list of strings: [ \"...\", ... ]" },
    { "valid_from as a number",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " valid_from = 2027; } ); } );\n", 2,
      "valid_from must be a string in double quotes" },
    /* certificates: values */
    { "names with a wildcard inside",
      "inbound = ( { " IN_OK " certificates = (\n"
      " { names = [ \"mail.*.example\" ]; } ); } );\n", 2,
      "names: \"mail.*.example\": wildcard allowed only as a leading \"*.\"" },
    { "issuers empty string",
      "inbound = ( { " IN_OK " certificates = (\n"
      " { issuers = [ \"\" ]; } ); } );\n", 2, "issuers: must not be empty" },
    { "issuer too long",
      "inbound = ( { " IN_OK " certificates = (\n { issuers = [ \""
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
      "\" ]; } ); } );\n", 2, "issuers: \""
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
      "CCCCCCCC\": longer than a certificate name can be" },
    { "valid_from no such day",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " valid_from = \"2027-02-29\"; } ); } );\n", 2,
      "valid_from: \"2027-02-29\": no such day in that month" },
    { "valid_until with a space",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " valid_until = \"2027-03-01 12:00:00\"; } ); } );\n", 2,
      "valid_until: \"2027-03-01 12:00:00\": not a date: use YYYY-MM-DD or"
      " YYYY-MM-DDTHH:MM:SSZ (UTC)" },
    { "valid_until with an offset",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " valid_until = \"2027-03-01T12:00:00+01:00\"; } ); } );\n", 2,
      "valid_until: \"2027-03-01T12:00:00+01:00\": the time must end in Z (UTC),"
      " as in 2027-03-01T12:00:00Z; no offsets or fractions" },
    { "valid_until lower-case t",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " valid_until = \"2027-03-01t12:00:00Z\"; } ); } );\n", 2,
      "valid_until: \"2027-03-01t12:00:00Z\": write T and Z in upper case:"
      " YYYY-MM-DDTHH:MM:SSZ" },
    { "window reversed",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " valid_from = \"2027-03-01\";\n valid_until = \"2027-02-01\"; } ); } );\n", 3,
      "valid_until \"2027-02-01\" must be after valid_from \"2027-03-01\" (line 2)" },
    { "window empty: the same instant in two forms",
      "inbound = ( { " IN_OK " certificates = ( { names = [ \"m.p.example\" ];\n"
      " valid_until = \"2027-03-01\";\n valid_from = \"2027-03-01T00:00:00Z\"; } ); } );\n",
      2, "valid_until \"2027-03-01\" must be after valid_from"
      " \"2027-03-01T00:00:00Z\" (line 3)" },
    /* certificates: rules across keys */
    { "certificates and flat names",
      "inbound = ( { " IN_OK "\n tls_sender_certificate_names = [ \"m.p.example\" ];\n"
      " certificates = ( " ID_OK " ); } );\n", 3,
      "certificates and tls_sender_certificate_names (line 2) exclude each other:"
      " write the names and issuers as an identity of certificates" },
    { "flat issuers and certificates",
      "inbound = ( { " IN_OK "\n certificates = ( " ID_OK " );\n"
      " certificate_issuers = [ \"CA\" ]; } );\n", 2,
      "certificates and certificate_issuers (line 3) exclude each other:"
      " write the names and issuers as an identity of certificates" },
    { "certificates with require_tls = false",
      "inbound = ( { " IN_OK " require_tls = false;\n"
      " certificates = ( " ID_OK " ); } );\n", 2,
      "certificates contradicts require_tls = false" },
    { "identities with issuers only match nothing",
      "inbound = (\n { name = \"c\"; certificates = ( { issuers = [ \"CA\" ]; } ); }\n);\n",
      2, "inbound connector \"c\" matches nothing: set sender_domains, sender_ips"
      " or names in certificates (issuers only restrict a connector that"
      " matches)" },
    /* Schedules, inbound */
    { "monitor_until not a date",
      "inbound = ( { " IN_OK "\n monitor_until = \"2027-1-15\"; } );\n", 2,
      "monitor_until: \"2027-1-15\": not a date: use YYYY-MM-DD or"
      " YYYY-MM-DDTHH:MM:SSZ (UTC)" },
    { "tempfail_until as a boolean",
      "inbound = ( { " IN_OK "\n tempfail_until = true; } );\n", 2,
      "tempfail_until must be a string in double quotes" },
    { "schedule reversed",
      "inbound = ( { " IN_OK "\n monitor_until = \"2027-02-01\";\n"
      " tempfail_until = \"2027-01-15\"; } );\n", 3,
      "tempfail_until \"2027-01-15\" must be after monitor_until \"2027-02-01\""
      " (line 2)" },
    { "schedule empty: the same instant",
      "inbound = ( { " IN_OK "\n tempfail_until = \"2027-02-01T00:00:00Z\";\n"
      " monitor_until = \"2027-02-01\"; } );\n", 2,
      "tempfail_until \"2027-02-01T00:00:00Z\" must be after monitor_until"
      " \"2027-02-01\" (line 3)" },
    { "monitor_until with action monitor",
      "inbound = ( { " IN_OK " action = \"monitor\";\n"
      " monitor_until = \"2027-01-15\"; } );\n", 2,
      "monitor_until has no effect with action = \"monitor\"" },
    { "tempfail_until with default_action monitor",
      "default_action = \"monitor\";\ninbound = ( { " IN_OK "\n"
      " tempfail_until = \"2027-01-15\"; } );\n", 3,
      "tempfail_until has no effect with action = \"monitor\" (the"
      " default_action)" },
    { "tempfail_until with action tempfail",
      "inbound = ( { " IN_OK " action = \"tempfail\";\n"
      " monitor_until = \"2027-01-15\";\n tempfail_until = \"2027-02-01\"; } );\n", 3,
      "tempfail_until has no effect with action = \"tempfail\"" },
    { "schedule key at top level", "log_all = true;\nmonitor_until = \"2027-01-15\";\n",
      2, "unknown setting \"monitor_until\" (it belongs inside a connector)" },
    /* Schedules, outbound */
    { "outbound schedule without require_session_tls",
      "outbound = ( { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
      " monitor_until = \"2027-01-15\"; } );\n", 2,
      "monitor_until applies only to require_session_tls = true" },
    { "outbound schedule with require_session_tls = false",
      "outbound = ( { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
      " require_session_tls = false;\n tempfail_until = \"2027-01-15\"; } );\n", 3,
      "tempfail_until applies only to require_session_tls = true" },
    { "outbound schedule reversed",
      "outbound = ( { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
      " require_session_tls = true; tempfail_until = \"2027-01-15\";\n"
      " monitor_until = \"2027-01-15T00:00:01Z\"; } );\n", 2,
      "tempfail_until \"2027-01-15\" must be after monitor_until"
      " \"2027-01-15T00:00:01Z\" (line 3)" },
    { "outbound schedule with action monitor",
      "outbound = ( { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
      " require_session_tls = true; action = \"monitor\";\n"
      " tempfail_until = \"2027-01-15\"; } );\n", 3,
      "tempfail_until has no effect with action = \"monitor\"" },
    { "outbound tempfail_until with default_action tempfail",
      "default_action = \"tempfail\";\n"
      "outbound = ( { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
      " require_session_tls = true; tempfail_until = \"2027-01-15\"; } );\n", 3,
      "tempfail_until has no effect with action = \"tempfail\" (the"
      " default_action)" },
    { "outbound schedule bad date",
      "outbound = ( { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
      " require_session_tls = true; monitor_until = \"1969-12-31\"; } );\n", 2,
      "monitor_until: \"1969-12-31\": before 1970: dates are 1970-01-01 to"
      " 9999-12-31" },
    /* mta */
    { "mta unknown", "log_all = true;\nmta = \"exim\";\n", 2,
      "mta: \"exim\": must be auto, postfix or sendmail" },
    { "mta as a boolean", "\n\nmta = true;\n", 3,
      "mta must be a string in double quotes" },
    { "mta empty", "mta = \"\";\n", 1, "mta: must not be empty" },
    { "mta in a connector", "inbound = ( { " IN_OK "\n mta = \"postfix\"; } );\n",
      2, "unknown setting \"mta\" (it is a top-level setting)" },
};

/* Run one case: no snapshot, and exactly "FILE:LINE: want". */
static void run_exact_case(void **state)
{
    const struct exact_case *c = *state;
    struct config_error err;
    char path[256], want[sizeof err.text];
    struct config *cfg = load_text(c->text, &err, path, sizeof path);

    if (cfg != NULL) {
        config_free(cfg);
        fail_msg("%s: got success, want error \"%s\"", c->name, c->want);
    }
    snprintf(want, sizeof want, "%s:%d: %s", path, c->line, c->want);
    check_str(c->name, err.text, want);
}

/* ---- Loaded values ---- */

/* The strlist l must hold exactly want (NULL-ended), in order. */
static void check_list(const char *what, const struct strlist *l,
                       const char *const *want)
{
    size_t n = 0;

    while (want[n] != NULL)
        n++;
    check_int(what, (long long)l->count, (long long)n);
    for (size_t i = 0; i < n; i++)
        check_str(what, l->items[i], want[i]);
}

static const char *const NONE[] = { NULL };

/* The contract's rotation: two identities, one retiring, one new. */
static void test_rotation(void **state)
{
    static const char *const names[] = { "mail.contoso.example", NULL };
    static const char *const old_ca[] = { "GlobalSign RSA OV SSL CA 2018", NULL };
    static const char *const new_ca[] = {
        "DigiCert Global G2 TLS RSA SHA256 2020 CA1", NULL,
    };
    static const uint32_t id0[] = { 0, IDS_END }, none[] = { IDS_END };
    struct config *cfg = load_ok(
        "inbound = (\n"
        "  { name = \"contoso\";\n"
        "    sender_domains = [ \"contoso.example\" ];\n"
        "    certificates = (\n"
        "      { names = [ \"Mail.Contoso.Example.\" ];\n"
        "        issuers = [ \"GlobalSign RSA OV SSL CA 2018\" ];\n"
        "        valid_until = \"2027-03-01\"; },\n"
        "      { names = [ \"mail.contoso.example\" ];\n"
        "        issuers = [ \"DigiCert Global G2 TLS RSA SHA256 2020 CA1\" ];\n"
        "        valid_from = \"2027-02-01T12:00:00Z\"; }\n"
        "    );\n"
        "    monitor_until = \"2027-01-15\";\n"
        "    tempfail_until = \"2027-02-01\"; }\n"
        ");\n");
    const struct inbound_connector *c = &cfg->inbound[0];

    (void)state;
    check_int("identity_count", (long long)c->identity_count, 2);
    check_list("identity 0 names", &c->identities[0].names, names);
    check_list("identity 0 issuers", &c->identities[0].issuers, old_ca);
    check_int("identity 0 valid_from", c->identities[0].valid_from, CONFIG_NO_START);
    check_int("identity 0 valid_until", c->identities[0].valid_until, T_0301);
    check_int("identity 0 line", c->identities[0].line, 5);
    check_list("identity 1 names", &c->identities[1].names, names);
    check_list("identity 1 issuers", &c->identities[1].issuers, new_ca);
    check_int("identity 1 valid_from", c->identities[1].valid_from,
              T_0201 + 12 * 3600);
    check_int("identity 1 valid_until", c->identities[1].valid_until, CONFIG_NO_END);
    check_int("identity 1 line", c->identities[1].line, 8);
    check_int("flat names", (long long)c->cert_names.count, 0);
    check_int("flat issuers", (long long)c->cert_issuers.count, 0);
    check_int("monitor_until", c->schedule.monitor_until, T_0115);
    check_int("tempfail_until", c->schedule.tempfail_until, T_0201);
    /* The name of both identities: the connector once, not twice. */
    check_domain_lookup("match_cert", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "mail.contoso.example", id0);
    check_domain_lookup("get", domain_table_get, cfg->inbound_by_cert_name,
                        "mail.contoso.example", id0);
    check_domain_lookup("match_cert", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "contoso.example", none);
    config_free(cfg);
}

/*
 * Identity names of every identity match connectors, also a retired one;
 * two connectors may share a name (a hosting provider's certificate); a
 * name repeated in identities and within one list counts once.
 */
static void test_identity_names_index(void **state)
{
    static const uint32_t id0[] = { 0, IDS_END }, id1[] = { 1, IDS_END },
                          id01[] = { 0, 1, IDS_END };
    struct config *cfg = load_ok(
        "inbound = (\n"
        "  { name = \"a\"; certificates = (\n"
        "      { names = [ \"old.a.example\", \"*.hosting.example\" ];\n"
        "        valid_until = \"2020-01-01\"; },\n"
        "      { names = [ \"new.a.example\", \"new.a.example\","
        " \"*.Hosting.example\" ]; } ); },\n"
        "  { name = \"b\"; certificates = (\n"
        "      { names = [ \"x.hosting.example\" ]; issuers = [ \"CA\" ]; },\n"
        "      { names = [ \"*.hosting.example\" ]; } ); }\n"
        ");\n");

    (void)state;
    check_domain_lookup("retired name", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "old.a.example", id0);
    check_domain_lookup("new name", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "new.a.example", id0);
    check_domain_lookup("shared pattern", domain_table_get,
                        cfg->inbound_by_cert_name, "*.hosting.example", id01);
    check_domain_lookup("shared name", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "x.hosting.example", id01);
    check_domain_lookup("pattern only", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "y.hosting.example", id01);
    check_domain_lookup("exact of b", domain_table_get,
                        cfg->inbound_by_cert_name, "x.hosting.example", id1);
    config_free(cfg);
}

/* The flat keys are exactly one identity without a window. */
static void test_flat_keys(void **state)
{
    static const char *const names[] = { "mail.f.example", "*.f.example", NULL };
    static const char *const issuers[] = { "Some CA", NULL };
    static const uint32_t id1[] = { 1, IDS_END };
    struct config *cfg = load_ok(
        "inbound = (\n"
        "  { name = \"plain\"; sender_domains = [ \"plain.example\" ]; },\n"
        "  { name = \"flat\";\n"
        "    tls_sender_certificate_names = [ \"Mail.F.Example\", \"*.f.example\" ];\n"
        "    certificate_issuers = [ \"Some CA\" ]; },\n"
        "  { name = \"issuers\"; sender_ips = [ \"192.0.2.0/24\" ];\n"
        "    certificate_issuers = [ \"Some CA\" ]; }\n"
        ");\n");
    const struct inbound_connector *plain = &cfg->inbound[0];
    const struct inbound_connector *flat = &cfg->inbound[1];
    const struct inbound_connector *iss = &cfg->inbound[2];

    (void)state;
    check_int("plain identity_count", (long long)plain->identity_count, 0);
    check_int("plain monitor_until", plain->schedule.monitor_until, CONFIG_NO_START);
    check_int("plain tempfail_until", plain->schedule.tempfail_until, CONFIG_NO_START);
    check_int("flat identity_count", (long long)flat->identity_count, 1);
    check_list("flat names", &flat->identities[0].names, names);
    check_list("flat issuers", &flat->identities[0].issuers, issuers);
    check_list("flat cert_names", &flat->cert_names, names);
    check_int("flat valid_from", flat->identities[0].valid_from, CONFIG_NO_START);
    check_int("flat valid_until", flat->identities[0].valid_until, CONFIG_NO_END);
    check_int("flat line", flat->identities[0].line, 3);
    check_domain_lookup("flat name", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "mail.f.example", id1);
    check_int("issuers identity_count", (long long)iss->identity_count, 1);
    check_list("issuers names", &iss->identities[0].names, NONE);
    check_list("issuers issuers", &iss->identities[0].issuers, issuers);
    check_int("issuers line", iss->identities[0].line, 6);
    config_free(cfg);
}

/* Date forms and edges: a day is its midnight, a one-second window loads. */
static void test_dates(void **state)
{
    static const struct {
        const char *from, *until;
        int64_t want_from, want_until;
    } cases[] = {
        { "2027-03-01", "2027-03-01T12:00:00Z", T_0301, T_0301 + 43200 },
        { "2027-03-01T00:00:00Z", "2027-03-01T00:00:01Z", T_0301, T_0301 + 1 },
        { "1970-01-01", "9999-12-31T23:59:59Z", 0, INT64_C(253402300799) },
        { "2028-02-29T23:59:59Z", "2028-03-01", INT64_C(1835481599),
          INT64_C(1835481600) },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char text[512];
        struct config *cfg;

        snprintf(text, sizeof text, "inbound = ( { " IN_OK "\n"
                 " certificates = ( { issuers = [ \"CA\" ];\n"
                 " valid_from = \"%s\"; valid_until = \"%s\"; } ); } );\n",
                 cases[i].from, cases[i].until);
        cfg = load_ok(text);
        check_int_in("valid_from", cases[i].from,
                     cfg->inbound[0].identities[0].valid_from, cases[i].want_from);
        check_int_in("valid_until", cases[i].until,
                     cfg->inbound[0].identities[0].valid_until, cases[i].want_until);
        config_free(cfg);
    }
}

/* Schedules that load: inbound and outbound, one phase or both. */
static void test_schedules(void **state)
{
    struct config *cfg = load_ok(
        "default_action = \"tempfail\";\n"
        "inbound = (\n"
        "  { " IN_OK " monitor_until = \"2027-01-15\"; },\n"
        "  { name = \"r\"; sender_domains = [ \"r.example\" ]; action = \"reject\";\n"
        "    tempfail_until = \"2027-02-01T00:00:00Z\"; }\n"
        ");\n"
        "outbound = (\n"
        "  { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
        "    require_session_tls = true; action = \"reject\";\n"
        "    monitor_until = \"2027-01-15\"; tempfail_until = \"2027-02-01\"; },\n"
        "  { name = \"n\"; recipient_domains = [ \"n.example\" ]; }\n"
        ");\n");

    (void)state;
    check_int("p monitor_until", cfg->inbound[0].schedule.monitor_until, T_0115);
    check_int("p tempfail_until", cfg->inbound[0].schedule.tempfail_until,
              CONFIG_NO_START);
    check_int("p action", cfg->inbound[0].action, ACTION_TEMPFAIL);
    check_int("r monitor_until", cfg->inbound[1].schedule.monitor_until,
              CONFIG_NO_START);
    check_int("r tempfail_until", cfg->inbound[1].schedule.tempfail_until, T_0201);
    check_int("q monitor_until", cfg->outbound[0].schedule.monitor_until, T_0115);
    check_int("q tempfail_until", cfg->outbound[0].schedule.tempfail_until, T_0201);
    check_int("n monitor_until", cfg->outbound[1].schedule.monitor_until,
              CONFIG_NO_START);
    check_int("n tempfail_until", cfg->outbound[1].schedule.tempfail_until,
              CONFIG_NO_START);
    config_free(cfg);
}

/* mta: the default, each keyword in any case, and the line recorded. */
static void test_mta(void **state)
{
    static const struct {
        const char *text;
        enum mta_setting want;
        int line;
    } cases[] = {
        { "log_all = false;\n", MTA_SETTING_AUTO, 0 },
        { "log_all = false;\nmta = \"auto\";\n", MTA_SETTING_AUTO, 2 },
        { "mta = \"postfix\";\n", MTA_SETTING_POSTFIX, 1 },
        { "\n\nmta = \"Sendmail\";\n", MTA_SETTING_SENDMAIL, 3 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct config *cfg = load_ok(cases[i].text);
        check_int_in("mta", cases[i].text, cfg->mta, cases[i].want);
        check_int_in("lines.mta", cases[i].text, cfg->lines.mta, cases[i].line);
        config_free(cfg);
    }
}

/*
 * Many connectors with several identities each: the identities live in the
 * snapshot's blocks and go with config_free (ASan builds see any leak).
 */
static void test_many_identities(void **state)
{
    enum { N = 5000 };
    size_t size = (size_t)N * 300 + 64, used = 0;
    char *text = malloc(size);
    struct config *cfg;
    static const uint32_t last[] = { N - 1, IDS_END };

    (void)state;
    assert_non_null(text);
    used += (size_t)snprintf(text + used, size - used, "inbound = (\n");
    for (int i = 0; i < N; i++)
        used += (size_t)snprintf(text + used, size - used,
                                 "%s{ name = \"c%d\"; certificates = ("
                                 " { names = [ \"m.c%d.example\" ]; issuers = [ \"A\" ];"
                                 " valid_until = \"2027-03-01\"; },"
                                 " { names = [ \"m.c%d.example\" ]; issuers = [ \"B\" ];"
                                 " valid_from = \"2027-02-01\"; } ); }\n",
                                 i == 0 ? "" : ",", i, i, i);
    snprintf(text + used, size - used, ");\n");
    cfg = load_ok(text);
    free(text);
    check_int("inbound_count", (long long)cfg->inbound_count, N);
    check_int("identity_count of the last",
              (long long)cfg->inbound[N - 1].identity_count, 2);
    check_str("issuer of the last", cfg->inbound[N - 1].identities[1].issuers.items[0],
              "B");
    check_domain_lookup("name of the last", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "m.c4999.example", last);
    config_free(cfg);
}

#define N_ERRORS ARRAY_LEN(error_cases)
#define N_FIXED ARRAY_LEN(fixed)

static const struct CMUnitTest fixed[] = {
    cmocka_unit_test(test_rotation),
    cmocka_unit_test(test_identity_names_index),
    cmocka_unit_test(test_flat_keys),
    cmocka_unit_test(test_dates),
    cmocka_unit_test(test_schedules),
    cmocka_unit_test(test_mta),
    cmocka_unit_test(test_many_identities),
};

static struct CMUnitTest tests[N_ERRORS + N_FIXED];

int main(void)
{
    size_t n = 0;

    for (size_t i = 0; i < N_ERRORS; i++)
        tests[n++] = (struct CMUnitTest){
            .name = error_cases[i].name, .test_func = run_exact_case,
            .initial_state = (void *)&error_cases[i],
        };
    for (size_t i = 0; i < N_FIXED; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("test_config_identity", tests, n, NULL, NULL);
}
