/*
 * test_config.c - unit tests for config.c: every rule and every default of
 * forcetls.conf. Each case writes a small file (mkstemp), loads it, and
 * asserts either the exact "FILE:LINE: " prefix plus a message substring,
 * or the parsed values and compiled tables. The shipped conf/forcetls.conf
 * must load too.
 */
#include <errno.h>
#include <locale.h>
#include <syslog.h>

#include "cidr.h"
#include "config.h"
#include "domain_table.h"
#include "testutil.h"

/* ---- Errors: one row per rule ---- */

/* A valid inbound connector body, one line, for cases about other keys. */
#define IN_OK "name = \"p\"; sender_domains = [ \"p.example\" ];"
#define OUT_OK "name = \"q\"; recipient_domains = [ \"q.example\" ];"
#define LONG_PATH "/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock"
#define TEXT201 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
                "xxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const struct error_case error_cases[] = {
    /* Syntax and file */
    { "syntax error", "log_all = true;\nuser = ;\n", 2, "syntax error" },
    { "libconfig duplicate key", "user = \"a\";\nuser = \"b\";\n", 2,
      "duplicate setting" },
    { "missing include", "log_all = true;\n@include \"/nonexistent/x.conf\"\n",
      2, "include" },
    /* Top level: unknown keys and types */
    { "unknown top-level key", "log_all = true;\nsokcet = \"unix:/a/b\";\n", 2,
      "unknown setting \"sokcet\"" },
    { "connector key at top level", "\nsender_domains = [ \"a.example\" ];\n",
      2, "belongs inside a connector" },
    { "bool as string", "log_all = \"yes\";\n", 1,
      "log_all must be true or false" },
    { "bool as int", "\n\nlog_all = 1;\n", 3, "log_all must be true or false" },
    { "string as int", "socket = 5;\n", 1, "socket must be a string" },
    { "empty string", "socket = \"\";\n", 1, "socket: must not be empty" },
    { "control character", "user = \"a\\tb\";\n", 1, "control character" },
    /* socket */
    { "inet without host", "socket = \"inet:8891\";\n", 1, "@127.0.0.1" },
    { "inet port 0", "socket = \"inet:0@127.0.0.1\";\n", 1, "port" },
    { "inet port too big", "socket = \"inet:65536@127.0.0.1\";\n", 1, "port" },
    { "inet port name", "socket = \"inet:milter@127.0.0.1\";\n", 1, "port" },
    { "inet bad host", "socket = \"inet:8891@bad host\";\n", 1,
      "IPv4 address or a host name" },
    { "inet6 with v4 address", "socket = \"inet6:8891@127.0.0.1\";\n", 1,
      "IPv6 address or a host name" },
    { "inet with v6 address", "socket = \"inet:8891@::1\";\n", 1,
      "IPv4 address or a host name" },
    { "unix relative", "socket = \"unix:run/x.sock\";\n", 1, "absolute" },
    { "bare path", "socket = \"/run/x.sock\";\n", 1, "must be unix:/PATH" },
    { "unix path too long", "socket = \"unix:" LONG_PATH "\";\n", 1,
      "too long" },
    { "policy_socket syntax", "policy_socket = \"inet:99\";\n", 1,
      "policy_socket" },
    { "policy_socket same as socket",
      "socket = \"unix:/run/a.sock\";\npolicy_socket = \"local:/run/a.sock\";\n",
      2, "policy_socket must differ from socket" },
    /* Other top-level keys */
    { "socket_mode as int", "socket_mode = 0660;\n", 1,
      "socket_mode must be a string" },
    { "socket_mode not octal", "socket_mode = \"0860\";\n", 1, "octal" },
    { "socket_mode setuid", "socket_mode = \"4755\";\n", 1, "octal" },
    { "socket_mode too short", "socket_mode = \"66\";\n", 1, "octal" },
    { "socket_group bad", "socket_group = \"post fix\";\n", 1,
      "not a valid user or group name" },
    { "user bad", "user = \"-x\";\n", 1, "not a valid user or group name" },
    { "pidfile relative", "pidfile = \"run/x.pid\";\n", 1, "absolute" },
    { "syslog_facility unknown", "syslog_facility = \"mial\";\n", 1,
      "unknown syslog facility" },
    { "default_action unknown", "default_action = \"drop\";\n", 1,
      "must be reject, tempfail or monitor" },
    { "min_tls_version unknown", "min_tls_version = \"TLSv1.4\";\n", 1,
      "must be TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3" },
    { "min_tls_version SSLv3", "min_tls_version = \"SSLv3\";\n", 1,
      "\"SSLv3\"" },
    { "min_tls_version TLSv1.0", "min_tls_version = \"TLSv1.0\";\n", 1,
      "must be TLSv1," },
    /* Connector lists */
    { "inbound as group", "inbound = { " IN_OK " };\n", 1,
      "inbound must be a list of groups" },
    { "inbound element not group", "inbound = (\n  \"x\" );\n", 2,
      "inbound connectors must be groups" },
    { "outbound as array", "outbound = [ \"x\" ];\n", 1,
      "outbound must be a list of groups" },
    /* Inbound connectors */
    { "inbound without name",
      "inbound = (\n  { " IN_OK " },\n  { sender_domains = [ \"x.example\" ]; }\n);\n",
      3, "missing required setting \"name\"" },
    { "empty name", "inbound = ( {\n name = \"\"; } );\n", 2,
      "name: must not be empty" },
    { "name with space", "inbound = ( {\n name = \"a b\"; } );\n", 2,
      "connector name" },
    { "name with comma", "inbound = ( {\n name = \"a,b\"; } );\n", 2,
      "connector name" },
    { "inbound unknown key",
      "inbound = ( { " IN_OK "\n  sender_domain = [ \"x.example\" ]; } );\n", 2,
      "unknown setting \"sender_domain\"" },
    { "outbound key in inbound",
      "inbound = ( { " IN_OK "\n  tls_settings = \"encryption-only\"; } );\n",
      2, "it is an outbound connector setting" },
    { "top-level key in inbound",
      "inbound = ( { " IN_OK "\n  log_all = true; } );\n", 2,
      "it is a top-level setting" },
    { "sender_domains as string",
      "inbound = ( { name = \"a\";\n  sender_domains = \"a.example\"; } );\n", 2,
      "sender_domains must be a list of strings" },
    { "sender_domains empty",
      "inbound = ( { name = \"a\";\n  sender_domains = [ ]; } );\n", 2,
      "must not be empty" },
    { "sender_domains bad element line",
      "inbound = ( { name = \"a\"; sender_domains = [\n  \"ok.example\",\n"
      "  \"exa mple.com\" ]; } );\n", 3, "\"exa mple.com\": invalid character" },
    { "sender_domains empty label",
      "inbound = ( { name = \"a\";\n sender_domains = [ \"a..example\" ]; } );\n",
      2, "empty label" },
    { "sender_domains inner wildcard",
      "inbound = ( { name = \"a\";\n sender_domains = [ \"a.*.example\" ]; } );\n",
      2, "wildcard" },
    { "sender_domains non-string element",
      "inbound = ( { name = \"a\"; sender_domains = (\n \"a.example\",\n 5 ); } );\n",
      3, "sender_domains must be a list of strings" },
    { "sender_ips host bits",
      "inbound = ( { name = \"a\";\n sender_ips = [ \"192.0.2.1/24\" ]; } );\n", 2,
      "host bits" },
    { "sender_ips bad address",
      "inbound = ( { name = \"a\";\n sender_ips = [ \"300.1.1.1\" ]; } );\n", 2,
      "\"300.1.1.1\"" },
    { "sender_ips bad prefix",
      "inbound = ( { name = \"a\";\n sender_ips = [ \"2001:db8::/129\" ]; } );\n",
      2, "prefix" },
    { "require_tls as string",
      "inbound = ( { " IN_OK "\n require_tls = \"true\"; } );\n", 2,
      "require_tls must be true or false" },
    { "require_tls as int", "inbound = ( { " IN_OK "\n require_tls = 1; } );\n",
      2, "require_tls must be true or false" },
    { "inbound min_tls_version unknown",
      "inbound = ( { " IN_OK "\n min_tls_version = \"tlsv1.5\"; } );\n", 2,
      "must be TLSv1" },
    { "min_cipher_bits as string",
      "inbound = ( { " IN_OK "\n min_cipher_bits = \"128\"; } );\n", 2,
      "min_cipher_bits must be an integer" },
    { "min_cipher_bits negative",
      "inbound = ( { " IN_OK "\n min_cipher_bits = -1; } );\n", 2,
      "-1 is not in the range 0 to 256" },
    { "min_cipher_bits too big",
      "inbound = ( { " IN_OK "\n min_cipher_bits = 1024; } );\n", 2,
      "1024 is not in the range" },
    { "require_forward_secrecy as string",
      "inbound = ( { " IN_OK "\n require_forward_secrecy = \"yes\"; } );\n", 2,
      "require_forward_secrecy must be true or false" },
    { "certificate name bad",
      "inbound = ( { " IN_OK "\n tls_sender_certificate_names = [ \"mail.*.example\" ]; } );\n",
      2, "wildcard" },
    { "certificate issuer empty",
      "inbound = ( { " IN_OK "\n tls_sender_certificate_names = [ \"m.example\" ];\n"
      " certificate_issuers = [ \"CA\", \"\" ]; } );\n", 3, "must not be empty" },
    { "issuers alone match nothing",
      "inbound = (\n  { name = \"ca\";\n certificate_issuers = [ \"CA\" ]; }\n);\n", 2,
      "inbound connector \"ca\" matches nothing: set sender_domains,"
      " sender_ips or tls_sender_certificate_names (certificate_issuers only" },
    { "action unknown", "inbound = ( { " IN_OK "\n action = \"bounce\"; } );\n",
      2, "\"bounce\": must be reject, tempfail or monitor" },
    { "action with space", "inbound = ( { " IN_OK "\n action = \"reject \"; } );\n",
      2, "must be reject" },
    { "exempt not an address",
      "inbound = ( { " IN_OK "\n exempt_recipients = [ \"postmaster\" ]; } );\n",
      2, "exempt_recipients: \"postmaster\"" },
    { "exempt bad domain",
      "inbound = ( { " IN_OK "\n exempt_recipients = [ \"a@b..c\" ]; } );\n", 2,
      "exempt_recipients: \"a@b..c\"" },
    { "reject_text line break",
      "inbound = ( { " IN_OK "\n reject_text = \"a\\r\\nb\"; } );\n", 2,
      "control character" },
    { "reject_text too long",
      "inbound = ( { " IN_OK "\n reject_text = \"" TEXT201 "\"; } );\n", 2,
      "longer than 200 characters" },
    { "reject_text not ASCII",
      "inbound = ( { " IN_OK "\n reject_text = \"caf\xc3\xa9\"; } );\n", 2,
      "printable ASCII" },
    { "reject_text empty", "inbound = ( { " IN_OK "\n reject_text = \"\"; } );\n",
      2, "reject_text: must not be empty" },
    { "inbound matches nothing",
      "log_all = true;\ninbound = (\n  { name = \"lonely\"; require_tls = true; }\n);\n",
      3, "inbound connector \"lonely\" matches nothing" },
    { "require_tls false with TLS requirement",
      "inbound = ( { " IN_OK " require_tls = false;\n"
      " require_forward_secrecy = true; } );\n", 2,
      "require_forward_secrecy contradicts require_tls = false" },
    { "require_tls false with certificate names",
      "inbound = ( { " IN_OK " require_tls = false;\n"
      " tls_sender_certificate_names = [ \"m.example\" ]; } );\n", 2,
      "contradicts require_tls = false" },
    { "duplicate inbound names",
      "inbound = (\n  { name = \"a\"; sender_domains = [ \"a.example\" ]; },\n"
      "  { name = \"a\"; sender_domains = [ \"b.example\" ]; }\n);\n", 3,
      "duplicate inbound connector name \"a\" (also at line 2)" },
    { "duplicate inbound names differ in case",
      "inbound = (\n  { name = \"Contoso\"; sender_domains = [ \"a.example\" ]; },\n"
      "  { name = \"b\"; sender_domains = [ \"b.example\" ]; },\n"
      "  { name = \"contoso\"; sender_domains = [ \"c.example\" ]; }\n);\n", 4,
      "duplicate inbound connector name \"contoso\" (also at line 2)" },
    { "duplicate sender domain",
      "inbound = (\n  { name = \"a\"; sender_domains = [ \"Contoso.example.\" ]; },\n"
      "  { name = \"b\"; sender_domains = [\n    \"x.example\",\n"
      "    \"contoso.EXAMPLE\" ]; }\n);\n", 5,
      "inbound connector \"b\": sender_domains: \"contoso.example\" is already"
      " listed by inbound connector \"a\" (line 2)" },
    { "duplicate wildcard sender domain",
      "inbound = (\n  { name = \"a\"; sender_domains = [ \"*.c.example\" ]; },\n"
      "  { name = \"b\"; sender_domains = [ \"*.C.example\" ]; }\n);\n", 3,
      "\"*.c.example\" is already listed by inbound connector \"a\"" },
    /* Outbound connectors */
    { "outbound without recipient_domains",
      "outbound = (\n  { name = \"f\"; tls_settings = \"encryption-only\"; }\n);\n",
      2, "missing required setting \"recipient_domains\"" },
    { "outbound without name",
      "outbound = (\n  { recipient_domains = [ \"f.example\" ]; }\n);\n", 2,
      "missing required setting \"name\"" },
    { "tls_settings unknown",
      "outbound = ( { " OUT_OK "\n tls_settings = \"verify\"; } );\n", 2,
      "must be encryption-only, certificate-validation or domain-validation" },
    { "domain-validation without tls_domain",
      "outbound = ( { " OUT_OK "\n tls_settings = \"domain-validation\";\n"
      " action = \"reject\"; } );\n", 2, "needs tls_domain" },
    { "tls_domain with certificate-validation",
      "outbound = ( { " OUT_OK "\n tls_settings = \"certificate-validation\";\n"
      " tls_domain = \"mx.q.example\"; } );\n", 3,
      "tls_domain only applies to tls_settings = \"domain-validation\"" },
    { "tls_domain with default tls_settings",
      "outbound = ( { " OUT_OK "\n tls_domain = \"mx.q.example\"; } );\n", 2,
      "only applies to" },
    { "tls_domain wildcard",
      "outbound = ( { " OUT_OK " tls_settings = \"domain-validation\";\n"
      " tls_domain = \"*.q.example\"; } );\n", 2, "tls_domain: \"*.q.example\"" },
    { "recipient_domains bad",
      "outbound = ( { name = \"q\";\n recipient_domains = [ \"q!.example\" ]; } );\n",
      2, "recipient_domains" },
    { "outbound min_tls_version unknown",
      "outbound = ( { " OUT_OK "\n min_tls_version = \"TLS1.2\"; } );\n", 2,
      "must be TLSv1" },
    { "require_session_tls as string",
      "outbound = ( { " OUT_OK "\n require_session_tls = \"no\"; } );\n", 2,
      "require_session_tls must be true or false" },
    { "outbound action unknown",
      "outbound = ( { " OUT_OK "\n action = \"defer\"; } );\n", 2, "must be reject" },
    { "inbound key in outbound",
      "outbound = ( { " OUT_OK "\n sender_ips = [ \"192.0.2.1\" ]; } );\n", 2,
      "it is an inbound connector setting" },
    { "smart host missing bracket",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"[mx.q.example:25\" ]; } );\n",
      2, "missing ']'" },
    { "smart host text after bracket",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"[mx.q.example]25\" ]; } );\n",
      2, "unexpected text after ']'" },
    { "smart host port 0",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"mx.q.example:0\" ]; } );\n", 2,
      "port" },
    { "smart host port name",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"mx.q.example:smtp\" ]; } );\n",
      2, "port" },
    { "smart host port too big",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"[mx.q.example]:99999\" ]; } );\n",
      2, "port" },
    { "smart host bare IPv4",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"192.0.2.1:25\" ]; } );\n", 2,
      "must be in brackets" },
    { "smart host bare IPv6",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"2001:db8::1\" ]; } );\n", 2,
      "IPv6 address must be in brackets" },
    { "smart host empty brackets",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"[]:25\" ]; } );\n", 2,
      "empty" },
    { "smart host bad name",
      "outbound = ( { " OUT_OK "\n smart_hosts = [ \"[mx!.q.example]\" ]; } );\n",
      2, "invalid character" },
    { "duplicate recipient domain",
      "outbound = (\n  { name = \"a\"; recipient_domains = [ \"f.example\" ]; },\n"
      "  { name = \"b\"; recipient_domains = [ \"F.Example\" ]; }\n);\n", 3,
      "outbound connector \"b\": recipient_domains: \"f.example\" is already"
      " listed by outbound connector \"a\" (line 2)" },
    { "duplicate outbound names",
      "outbound = (\n  { name = \"a\"; recipient_domains = [ \"a.example\" ]; },\n"
      "  { name = \"a\"; recipient_domains = [ \"b.example\" ]; }\n);\n", 3,
      "duplicate outbound connector name \"a\"" },
};

/* A missing file is an error with line 0 and the system's reason. */
static void test_missing_file(void **state)
{
    struct config_error err;
    const char *path = "/nonexistent/forcetls.conf";

    (void)state;
    assert_null(config_load(path, &err));
    check_str("error", err.text,
              "/nonexistent/forcetls.conf:0: cannot read: No such file or directory");
}

/* @include is refused with FILE:LINE (and the included file is not read). */
static void test_error_in_include(void **state)
{
    struct config_error err;
    char inc[256], text[512], path[256], want[300];
    struct config *cfg;

    (void)state;
    write_tmp(inc, sizeof inc, "\n\nmin_tls_version = \"TLSv1.2\";\n");
    snprintf(text, sizeof text, "log_all = true;\n@include \"%s\"\n", inc);
    cfg = load_text(text, &err, path, sizeof path);
    unlink(inc);
    assert_null(cfg);
    /* Refused: the daemon keeps only the bytes of the one file it read. */
    snprintf(want, sizeof want, "%s:2: @include is not supported", path);
    if (strncmp(err.text, want, strlen(want)) != 0)
        fail_msg("got \"%s\", want prefix \"%s\"", err.text, want);
}

/* ---- Values and defaults ---- */

/* An empty file yields every top-level default. */
static void test_top_defaults(void **state)
{
    struct config *cfg = load_ok("# nothing\n");

    (void)state;
    check_str("socket", cfg->socket, CONFIG_DEFAULT_SOCKET);
    check_str("policy_socket", cfg->policy_socket, NULL);
    check_int("socket_mode", cfg->socket_mode, CONFIG_DEFAULT_SOCKET_MODE);
    check_int("socket_mode", cfg->socket_mode, 0660);
    check_str("socket_group", cfg->socket_group, NULL);
    check_str("user", cfg->user, NULL);
    check_str("pidfile", cfg->pidfile, NULL);
    check_int("syslog_facility", cfg->syslog_facility, LOG_MAIL);
    check_int("default_action", cfg->default_action, ACTION_REJECT);
    check_int("min_tls_version", cfg->min_tls_version, TLS_VERSION_1_2);
    check_int("log_all", cfg->log_all, false);
    check_int("inbound_count", (long long)cfg->inbound_count, 0);
    check_int("outbound_count", (long long)cfg->outbound_count, 0);
    assert_non_null(cfg->inbound_by_domain);
    assert_non_null(cfg->inbound_by_ip);
    assert_non_null(cfg->inbound_by_cert_name);
    assert_non_null(cfg->outbound_by_domain);
    assert_non_null(cfg->outbound_by_nexthop);
    check_int("lines.socket", cfg->lines.socket, 0);
    config_free(cfg);
}

/* Every top-level key, written; keywords are case-insensitive. */
static void test_top_values(void **state)
{
    struct config *cfg = load_ok(
        "socket = \"local:/run/forcetls/m.sock\";\n"
        "policy_socket = \"inet:8461@127.0.0.1\";\n"
        "socket_mode = \"600\";\n"
        "socket_group = \"postfix\";\n"
        "user = \"forcetls\";\n"
        "pidfile = \"/run/forcetls/forcetls.pid\";\n"
        "syslog_facility = \"LOCAL3\";\n"
        "default_action = \"Monitor\";\n"
        "min_tls_version = \"tlsv1.3\";\n"
        "log_all = true;\n"
        "inbound = ( );\n"
        "outbound = ( );\n");

    (void)state;
    check_str("socket", cfg->socket, "unix:/run/forcetls/m.sock");
    check_str("policy_socket", cfg->policy_socket, "inet:8461@127.0.0.1");
    check_int("socket_mode", cfg->socket_mode, 0600);
    check_str("socket_group", cfg->socket_group, "postfix");
    check_str("user", cfg->user, "forcetls");
    check_str("pidfile", cfg->pidfile, "/run/forcetls/forcetls.pid");
    check_int("syslog_facility", cfg->syslog_facility, LOG_LOCAL3);
    check_int("default_action", cfg->default_action, ACTION_MONITOR);
    check_int("min_tls_version", cfg->min_tls_version, TLS_VERSION_1_3);
    check_int("log_all", cfg->log_all, true);
    check_int("lines.socket", cfg->lines.socket, 1);
    check_int("lines.policy_socket", cfg->lines.policy_socket, 2);
    check_int("lines.socket_group", cfg->lines.socket_group, 4);
    check_int("lines.user", cfg->lines.user, 5);
    check_int("lines.pidfile", cfg->lines.pidfile, 6);
    config_free(cfg);
}

/* Inbound defaults come from the top level (after it was read). */
static void test_inbound_defaults(void **state)
{
    struct config *cfg = load_ok(
        "inbound = ( { name = \"a\"; sender_domains = [ \"a.example\" ]; } );\n"
        "default_action = \"tempfail\";\nmin_tls_version = \"TLSv1.3\";\n");
    const struct inbound_connector *c = &cfg->inbound[0];

    (void)state;
    check_int("inbound_count", (long long)cfg->inbound_count, 1);
    check_str("name", c->name, "a");
    check_int("line", c->line, 1);
    check_int("require_tls", c->require_tls, true);
    check_int("min_tls_version", c->min_tls_version, TLS_VERSION_1_3);
    check_int("min_cipher_bits", c->min_cipher_bits, 0);
    check_int("require_forward_secrecy", c->require_forward_secrecy, false);
    check_int("action", c->action, ACTION_TEMPFAIL);
    check_int("sender_ip_count", (long long)c->sender_ip_count, 0);
    check_int("cert_names", (long long)c->cert_names.count, 0);
    check_int("cert_issuers", (long long)c->cert_issuers.count, 0);
    check_int("exempt", (long long)c->exempt_recipients.count, 0);
    check_str("reject_text", c->reject_text, NULL);
    config_free(cfg);
}

/* Every inbound key, normalised, and the compiled tables. */
static void test_inbound_values(void **state)
{
    struct config *cfg = load_ok(
        "inbound = (\n"
        "  { name = \"c1\";\n"
        "    sender_domains = [ \"Contoso.EXAMPLE.\", \"*.contoso.example\" ];\n"
        "    sender_ips = [ \"192.0.2.0/24\", \"2001:db8::/32\" ];\n"
        "    require_tls = true; min_tls_version = \"TLSv1\";\n"
        "    min_cipher_bits = 128L; require_forward_secrecy = true;\n"
        "    tls_sender_certificate_names = [ \"Mail.Contoso.example\", \"*.c.example\" ];\n"
        "    certificate_issuers = [ \"Contoso Root CA\", \"Other CA\" ];\n"
        "    action = \"monitor\";\n"
        "    exempt_recipients = [ \"PostMaster@Example.ORG\" ];\n"
        "    reject_text = \"Use TLS, please (100%)\"; },\n"
        "  { name = \"c2\"; sender_ips = [ \"192.0.2.128/25\" ];\n"
        "    tls_sender_certificate_names = [ \"mail.contoso.example\" ]; }\n"
        ");\n");
    const struct inbound_connector *c = &cfg->inbound[0];
    static const uint32_t id0[] = { 0, IDS_END }, id01[] = { 0, 1, IDS_END };
    static const uint32_t none[] = { IDS_END };

    (void)state;
    check_int("inbound_count", (long long)cfg->inbound_count, 2);
    check_int("line", c->line, 2);
    check_int("sender_domains", (long long)c->sender_domains.count, 2);
    check_str("sender_domains[0]", c->sender_domains.items[0], "contoso.example");
    check_str("sender_domains[1]", c->sender_domains.items[1], "*.contoso.example");
    check_int("sender_ip_count", (long long)c->sender_ip_count, 2);
    check_int("min_tls_version below global", c->min_tls_version, TLS_VERSION_1_0);
    check_int("min_cipher_bits", c->min_cipher_bits, 128);
    check_int("require_forward_secrecy", c->require_forward_secrecy, true);
    check_str("cert_names[0]", c->cert_names.items[0], "mail.contoso.example");
    check_str("cert_names[1]", c->cert_names.items[1], "*.c.example");
    check_str("cert_issuers[0]", c->cert_issuers.items[0], "Contoso Root CA");
    check_str("cert_issuers[1]", c->cert_issuers.items[1], "Other CA");
    check_int("action", c->action, ACTION_MONITOR);
    check_str("exempt[0]", c->exempt_recipients.items[0], "postmaster@example.org");
    check_str("reject_text", c->reject_text, "Use TLS, please (100%)");
    check_int("c2 line", cfg->inbound[1].line, 12);

    check_domain_lookup("by_domain", domain_table_match, cfg->inbound_by_domain,
                        "a.b.contoso.example", id0);
    check_domain_lookup("by_domain", domain_table_match, cfg->inbound_by_domain,
                        "other.example", none);
    check_cidr_lookup("by_ip", cfg->inbound_by_ip, "192.0.2.200", id01);
    check_cidr_lookup("by_ip", cfg->inbound_by_ip, "2001:db8::5", id0);
    /* A certificate name may be shared by partners of one provider. */
    check_domain_lookup("by_cert", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "mail.contoso.example", id01);
    check_domain_lookup("by_cert", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "x.c.example", id0);
    /* "*." is one label only. */
    check_domain_lookup("by_cert", domain_table_match_cert,
                        cfg->inbound_by_cert_name, "x.y.c.example", none);
    config_free(cfg);
}

/* Outbound defaults come from the top level. */
static void test_outbound_defaults(void **state)
{
    struct config *cfg = load_ok(
        "default_action = \"monitor\"; min_tls_version = \"TLSv1.1\";\n"
        "outbound = ( { name = \"f\"; recipient_domains = [ \"f.example\" ]; } );\n");
    const struct outbound_connector *c = &cfg->outbound[0];

    (void)state;
    check_int("outbound_count", (long long)cfg->outbound_count, 1);
    check_int("line", c->line, 2);
    check_int("tls_settings", c->tls_settings, TLS_SETTINGS_ENCRYPTION_ONLY);
    check_str("tls_domain", c->tls_domain, NULL);
    check_int("min_tls_version", c->min_tls_version, TLS_VERSION_1_1);
    check_int("smart_host_count", (long long)c->smart_host_count, 0);
    check_int("require_session_tls", c->require_session_tls, false);
    check_int("action", c->action, ACTION_MONITOR);
    config_free(cfg);
}

/* Every outbound key, and the next-hop keys Postfix forms. */
static void test_outbound_values(void **state)
{
    struct config *cfg = load_ok(
        "outbound = (\n"
        "  { name = \"f\"; recipient_domains = [ \"Fabrikam.example\", \"*.fabrikam.example\" ];\n"
        "    tls_settings = \"Domain-Validation\"; tls_domain = \"Mail.Fabrikam.example.\";\n"
        "    min_tls_version = \"TLSv1.3\"; require_session_tls = true;\n"
        "    action = \"tempfail\";\n"
        "    smart_hosts = [ \"[SMTP.fabrikam.example]:25\", \"[smtp2.fabrikam.example]\",\n"
        "                    \"mx.fabrikam.example:2525\", \"relay.fabrikam.example\",\n"
        "                    \"[2001:DB8::0:1]:587\", \"[192.0.2.9]\" ]; }\n"
        ");\n");
    const struct outbound_connector *c = &cfg->outbound[0];
    static const char *const keys[] = {
        "[smtp.fabrikam.example]:25", "[smtp2.fabrikam.example]",
        "mx.fabrikam.example:2525", "relay.fabrikam.example",
        "[2001:db8::1]:587", "[192.0.2.9]",
    };
    /* The lookup keys: the default port is dropped (the same destination). */
    static const char *const canonical[] = {
        "[smtp.fabrikam.example]", "[smtp2.fabrikam.example]",
        "mx.fabrikam.example:2525", "relay.fabrikam.example",
        "[2001:db8::1]:587", "[192.0.2.9]",
    };
    static const uint32_t id0[] = { 0, IDS_END };
    char text[300];
    uint32_t n;

    (void)state;
    check_str("recipient_domains[0]", c->recipient_domains.items[0], "fabrikam.example");
    check_int("tls_settings", c->tls_settings, TLS_SETTINGS_DOMAIN_VALIDATION);
    check_str("tls_domain", c->tls_domain, "mail.fabrikam.example");
    check_int("min_tls_version", c->min_tls_version, TLS_VERSION_1_3);
    check_int("require_session_tls", c->require_session_tls, true);
    check_int("action", c->action, ACTION_TEMPFAIL);
    check_int("smart_host_count", (long long)c->smart_host_count, 6);
    check_str("smart_hosts[0].host", c->smart_hosts[0].host, "smtp.fabrikam.example");
    check_int("smart_hosts[0].bracketed", c->smart_hosts[0].bracketed, true);
    check_int("smart_hosts[0].port", c->smart_hosts[0].port, 25);
    check_int("smart_hosts[1].port", c->smart_hosts[1].port, 0);
    check_int("smart_hosts[2].bracketed", c->smart_hosts[2].bracketed, false);
    for (size_t i = 0; i < 6; i++) {
        config_smart_host_text(&c->smart_hosts[i], text, sizeof text);
        check_str("config_smart_host_text", text, keys[i]);
        config_nexthop_key(&c->smart_hosts[i], text, sizeof text);
        check_str("config_nexthop_key", text, canonical[i]);
        check_int_in("policy key", canonical[i],
                     (long long)domain_table_get(cfg->outbound_by_nexthop, text, &n, 1), 1);
        check_int_in("policy of", canonical[i], cfg->outbound_policy[n].level_id, 0);
        check_int_in("smart host flag", canonical[i],
                     cfg->outbound_policy[n].flags & OUTBOUND_POLICY_SMART_HOST,
                     OUTBOUND_POLICY_SMART_HOST);
    }
    /* six next hops and two recipient patterns */
    check_int("policy keys", (long long)domain_table_size(cfg->outbound_by_nexthop), 8);
    check_int("policies", (long long)cfg->outbound_policy_count, 8);
    check_domain_lookup("by_domain", domain_table_match, cfg->outbound_by_domain,
                        "a.fabrikam.example", id0);
    config_free(cfg);
}

/* Things that look alike but are allowed. */
static void test_allowed_overlaps(void **state)
{
    struct config *cfg = load_ok(
        "inbound = (\n"
        "  { name = \"p\"; sender_domains = [ \"p.example\", \"P.example\", \"*.p.example\" ]; },\n"
        "  { name = \"p2\"; sender_domains = [ \"x.p.example\" ]; sender_ips = [ \"192.0.2.0/24\" ]; },\n"
        "  { name = \"p3\"; sender_ips = [ \"192.0.2.0/24\" ]; }\n"
        ");\n"
        "outbound = (\n"
        "  { name = \"p\"; recipient_domains = [ \"p.example\" ];\n"
        "    smart_hosts = [ \"[relay.example]:25\" ]; min_tls_version = \"TLSv1.3\"; },\n"
        "  { name = \"q\"; recipient_domains = [ \"q.example\" ];\n"
        "    tls_settings = \"certificate-validation\";\n"
        "    smart_hosts = [ \"[Relay.Example.]\" ]; }\n"
        ");\n");
    static const uint32_t id01[] = { 0, 1, IDS_END };
    uint32_t n = 0;

    (void)state;
    check_int("inbound_count", (long long)cfg->inbound_count, 3);
    check_int("a pattern listed twice in one connector is kept once",
              (long long)cfg->inbound[0].sender_domains.count, 2);
    check_str("sender_domains[1]", cfg->inbound[0].sender_domains.items[1],
              "*.p.example");
    check_domain_lookup("by_domain", domain_table_match, cfg->inbound_by_domain,
                        "x.p.example", id01);
    /* A smart host shared with other TLS settings: the strictest of each. */
    check_int("shared smart host key",
              (long long)domain_table_get(cfg->outbound_by_nexthop,
                                          "[relay.example]", &n, 1), 1);
    check_int("level from q", cfg->outbound_policy[n].level_id, 1);
    check_int("floor from p", cfg->outbound_policy[n].version_id, 0);
    check_int("first listed by p", cfg->outbound_policy[n].first_id, 0);
    check_int("outbound_count", (long long)cfg->outbound_count, 2);
    config_free(cfg);
}

/*
 * certificate_issuers without tls_sender_certificate_names: any verified
 * certificate from these issuers (contract), matched by domain or address.
 */
static void test_issuers_alone(void **state)
{
    struct config *cfg = load_ok(
        "inbound = (\n"
        "  { name = \"bydomain\"; sender_domains = [ \"d.example\" ];\n"
        "    certificate_issuers = [ \"Partner Private CA\" ]; },\n"
        "  { name = \"byip\"; sender_ips = [ \"192.0.2.0/24\" ];\n"
        "    certificate_issuers = [ \"Partner Private CA\", \"Other CA\" ]; }\n"
        ");\n");

    (void)state;
    check_int("inbound_count", (long long)cfg->inbound_count, 2);
    check_int("bydomain cert_names", (long long)cfg->inbound[0].cert_names.count, 0);
    check_int("bydomain cert_issuers", (long long)cfg->inbound[0].cert_issuers.count, 1);
    check_str("byip cert_issuers[1]", cfg->inbound[1].cert_issuers.items[1], "Other CA");
    config_free(cfg);
}

/* A connector without TLS requirements is allowed with require_tls false. */
static void test_require_tls_false(void **state)
{
    struct config *cfg = load_ok(
        "inbound = ( { name = \"legacy\"; sender_domains = [ \"l.example\" ];\n"
        "  require_tls = false; action = \"monitor\"; } );\n");

    (void)state;
    check_int("require_tls", cfg->inbound[0].require_tls, false);
    config_free(cfg);
}

/* The shipped example must load and say what its comments say. */
static void test_shipped_config(void **state)
{
    const char *top = getenv("top_srcdir");
    char path[1024], dir[512];
    struct config_error err;
    struct config *cfg;
    char *slash;

    (void)state;
    if (top != NULL && top[0] != '\0') {
        snprintf(path, sizeof path, "%s/conf/forcetls.conf", top);
    } else {
        snprintf(dir, sizeof dir, "%s", __FILE__);
        slash = strrchr(dir, '/');
        if (slash != NULL)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        snprintf(path, sizeof path, "%s/../../conf/forcetls.conf", dir);
    }
    cfg = config_load(path, &err);
    if (cfg == NULL)
        fail_msg("shipped config: got \"%s\", want success", err.text);
    check_str("socket", cfg->socket,
              "unix:/var/spool/postfix/forcetls/forcetls.sock");
    check_str("pidfile", cfg->pidfile, "/run/forcetls/forcetls.pid");
    /* The package's layout: run as forcetls, the socket's group comes from
       the setgid socket directory, not from socket_group. */
    check_str("user", cfg->user, "forcetls");
    check_str("socket_group", cfg->socket_group, NULL);
    check_int("socket_mode", (long long)cfg->socket_mode, 0660);
    check_int("inbound_count", (long long)cfg->inbound_count, 1);
    check_int("outbound_count", (long long)cfg->outbound_count, 1);
    check_str("inbound name", cfg->inbound[0].name, "contoso");
    check_int("require_forward_secrecy", cfg->inbound[0].require_forward_secrecy,
              true);
    check_int("cert_names", (long long)cfg->inbound[0].cert_names.count, 2);
    check_int("cert_issuers", (long long)cfg->inbound[0].cert_issuers.count, 2);
    check_str("exempt", cfg->inbound[0].exempt_recipients.items[0],
              "postmaster@example.org");
    check_str("outbound name", cfg->outbound[0].name, "fabrikam");
    check_int("tls_settings", cfg->outbound[0].tls_settings,
              TLS_SETTINGS_DOMAIN_VALIDATION);
    check_str("tls_domain", cfg->outbound[0].tls_domain, "mail.fabrikam.example");
    config_free(cfg);
}

/* Many connectors load, and duplicate checks do not grow quadratically. */
static void test_many_connectors(void **state)
{
    enum { N = 20000 };
    size_t size = (size_t)N * 96 + 64, used = 0;
    char *text = malloc(size);
    struct config *cfg;
    static const uint32_t last[] = { N - 1, IDS_END };

    (void)state;
    assert_non_null(text);
    used += (size_t)snprintf(text + used, size - used, "inbound = (\n");
    for (int i = 0; i < N; i++)
        used += (size_t)snprintf(text + used, size - used,
                                 "%s{ name = \"n%d\"; sender_domains = [ \"d%d.example\" ]; }\n",
                                 i == 0 ? "" : ",", i, i);
    snprintf(text + used, size - used, ");\n");
    cfg = load_ok(text);
    free(text);
    check_int("inbound_count", (long long)cfg->inbound_count, N);
    check_domain_lookup("by_domain", domain_table_match, cfg->inbound_by_domain,
                        "d19999.example", last);
    /* Every string intact, though they share blocks of the snapshot. */
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "n%d", i);
        check_str("name", cfg->inbound[i].name, want);
        snprintf(want, sizeof want, "d%d.example", i);
        check_str("sender_domains[0]", cfg->inbound[i].sender_domains.items[0],
                  want);
    }
    config_free(cfg);
}

/* ---- Small public functions ---- */

static void test_names(void **state)
{
    (void)state;
    check_str("reject", config_action_name(ACTION_REJECT), "reject");
    check_str("tempfail", config_action_name(ACTION_TEMPFAIL), "tempfail");
    check_str("monitor", config_action_name(ACTION_MONITOR), "monitor");
    check_str("0", config_action_name((enum action)0), "unknown");
    check_str("encryption-only",
              config_tls_settings_name(TLS_SETTINGS_ENCRYPTION_ONLY),
              "encryption-only");
    check_str("certificate-validation",
              config_tls_settings_name(TLS_SETTINGS_CERTIFICATE_VALIDATION),
              "certificate-validation");
    check_str("domain-validation",
              config_tls_settings_name(TLS_SETTINGS_DOMAIN_VALIDATION),
              "domain-validation");
}

static void test_socket_valid(void **state)
{
    static const struct { const char *spec; bool ok; } cases[] = {
        { "unix:/run/forcetls/forcetls.sock", true },
        { "local:/run/x.sock", true },
        { "inet:8891@127.0.0.1", true },
        { "inet:8891@localhost", true },
        { "inet:8891@0.0.0.0", true },
        { "inet6:8891@::1", true },
        { "inet6:8891@[::1]", false },
        { "inet:8891", false },
        { "inet:@127.0.0.1", false },
        { "unix:/run/", false },
        { "unix:", false },
        { "tcp:8891@127.0.0.1", false },
        { "", false },
    };
    const char *why;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        check_bool_in("config_socket_valid", cases[i].spec,
                      config_socket_valid(cases[i].spec, &why), cases[i].ok);
}

/* Collects warnings for test_environment. */
struct warnings {
    int count;
    char text[4][1100];
};

static void collect(const char *text, void *arg)
{
    struct warnings *w = arg;

    if (w->count < 4)
        snprintf(w->text[w->count], sizeof w->text[0], "%s", text);
    w->count++;
}

static void test_environment(void **state)
{
    struct config *cfg;
    struct warnings w = { 0 };
    char want[400], dir[64] = "/tmp/ftls-env.XXXXXX", text[400];

    (void)state;
    if (mkdtemp(dir) == NULL)
        fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(text, sizeof text, "socket = \"unix:%s/forcetls.sock\";\n"
             "user = \"root\";\nsocket_group = \"root\";\n"
             "pidfile = \"%s/forcetls.pid\";\n", dir, dir);
    cfg = load_ok(text);
    config_check_environment(cfg, collect, &w);
    check_int("warnings for a sane environment", w.count, 0);
    /* As root, a directory someone else owns is one the daemon refuses. */
    if (geteuid() == 0 && chown(dir, 65534, (gid_t)-1) == 0) {
        config_check_environment(cfg, collect, &w);
        check_int("warnings for a directory owned by uid 65534", w.count, 2);
        snprintf(want, sizeof want, "%s:1: socket directory %s is owned by uid 65534",
                 cfg->path, dir);
        if (strncmp(w.text[0], want, strlen(want)) != 0)
            fail_msg("warning 0: got \"%s\", want prefix \"%s\"", w.text[0], want);
        w.count = 0;
    }
    rmdir(dir);
    config_free(cfg);

    cfg = load_ok("user = \"no-such-user-ftls\";\n"
                  "socket_group = \"no-such-group-ftls\";\n"
                  "socket = \"unix:/nonexistent-ftls/m.sock\";\n"
                  "pidfile = \"/nonexistent-ftls/p.pid\";\n");
    config_check_environment(cfg, collect, &w);
    check_int("warnings", w.count, 4);
    snprintf(want, sizeof want, "%s:1: user \"no-such-user-ftls\" does not exist",
             cfg->path);
    check_str("warning 0", w.text[0], want);
    snprintf(want, sizeof want, "%s:2: group \"no-such-group-ftls\" does not exist",
             cfg->path);
    check_str("warning 1", w.text[1], want);
    snprintf(want, sizeof want, "%s:3: directory /nonexistent-ftls of the socket"
             " does not exist: No such file or directory", cfg->path);
    check_str("warning 2", w.text[2], want);
    snprintf(want, sizeof want, "%s:4: directory /nonexistent-ftls of the pidfile",
             cfg->path);
    if (strncmp(w.text[3], want, strlen(want)) != 0)
        fail_msg("warning 3: got \"%s\", want prefix \"%s\"", w.text[3], want);
    config_free(cfg);
}

/*
 * The locale must not change what a file means: in Turkish, tolower('I') is
 * not 'i'. Without such a locale installed (LOCPATH may point to one made
 * with localedef -i tr_TR -f ISO-8859-9) this checks the "C" locale only.
 */
static void test_locale_independent(void **state)
{
    static const char *const locales[] = {
        "tr_TR.ISO-8859-9", "tr_TR.iso88599", "tr_TR.UTF-8", "tr_TR.utf8",
        "de_DE.UTF-8", "de_DE.utf8",
    };
    const char *got = NULL;
    struct config *cfg;
    struct config_error err;

    (void)state;
    for (size_t i = 0; got == NULL && i < ARRAY_LEN(locales); i++)
        got = setlocale(LC_ALL, locales[i]);
    /* cmocka's TAP output marks skip() as "not ok": run in "C" instead. */
    if (got == NULL)
        print_message("no Turkish or German locale; checking in \"C\" only\n");
    cfg = load_text("syslog_facility = \"MAIL\"; default_action = \"MONITOR\";\n"
                    "min_tls_version = \"TLSV1.1\";\n"
                    "inbound = ( { name = \"MAIL-IN\"; sender_domains = [ \"MAIL.EXAMPLE\" ];\n"
                    "  min_cipher_bits = 128; } );\n", &err, NULL, 0);
    setlocale(LC_ALL, "C");
    if (cfg == NULL)
        fail_msg("locale %s: got \"%s\", want success", got ? got : "C",
                 err.text);
    check_int("syslog_facility", cfg->syslog_facility, LOG_MAIL);
    check_int("default_action", cfg->default_action, ACTION_MONITOR);
    check_int("min_tls_version", cfg->min_tls_version, TLS_VERSION_1_1);
    check_str("sender_domains[0]", cfg->inbound[0].sender_domains.items[0],
              "mail.example");
    check_int("min_cipher_bits", cfg->inbound[0].min_cipher_bits, 128);
    config_free(cfg);
}

static void test_free_null(void **state)
{
    (void)state;
    config_free(NULL);
}

#define N_ERRORS ARRAY_LEN(error_cases)
#define N_FIXED ARRAY_LEN(fixed)

static const struct CMUnitTest fixed[] = {
    cmocka_unit_test(test_missing_file),
    cmocka_unit_test(test_error_in_include),
    cmocka_unit_test(test_top_defaults),
    cmocka_unit_test(test_top_values),
    cmocka_unit_test(test_inbound_defaults),
    cmocka_unit_test(test_inbound_values),
    cmocka_unit_test(test_outbound_defaults),
    cmocka_unit_test(test_outbound_values),
    cmocka_unit_test(test_allowed_overlaps),
    cmocka_unit_test(test_issuers_alone),
    cmocka_unit_test(test_require_tls_false),
    cmocka_unit_test(test_shipped_config),
    cmocka_unit_test(test_many_connectors),
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_socket_valid),
    cmocka_unit_test(test_environment),
    cmocka_unit_test(test_locale_independent),
    cmocka_unit_test(test_free_null),
};

static struct CMUnitTest tests[N_ERRORS + N_FIXED];

int main(void)
{
    size_t n = 0;

    n += error_case_tests(tests + n, error_cases, N_ERRORS);
    for (size_t i = 0; i < N_FIXED; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("test_config", tests, n, NULL, NULL);
}
