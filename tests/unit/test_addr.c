/*
 * test_addr.c - unit tests for addr.c: domain and pattern normalisation,
 * envelope path parsing, address normalisation. Table-driven; every row
 * asserts the exact output or the exact error message.
 */
#include "addr.h"
#include "testutil.h"

#define LBL63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LBL64 LBL63 "a"
#define LBL61 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
/* 63+1+63+1+63+1+61 = 253 octets: the longest legal name. */
#define NAME253 LBL63 "." LBL63 "." LBL63 "." LBL61
#define NAME254 LBL63 "." LBL63 "." LBL63 "." LBL61 "d"

struct norm_case {
    const char *in;
    size_t len;          /* 0: strlen(in) */
    const char *want;    /* NULL: must fail */
    const char *err;     /* the error message when it fails */
};

/* One row's outcome: success, output (when ok) and error (when not). */
static void
check_norm(const char *fn, const struct norm_case *c, bool ok,
           const char *out, const char *err)
{
    char what[64];

    check_bool_in(fn, c->in, ok, c->want != NULL);
    check_str_in(fn, c->in, ok ? out : NULL, c->want);
    snprintf(what, sizeof(what), "%s err", fn);
    check_str_in(what, c->in, ok ? NULL : err, c->err);
}

static const struct norm_case domain_cases[] = {
    { "example.com", 0, "example.com", NULL },
    { "Example.COM", 0, "example.com", NULL },
    { "EXAMPLE.COM.", 0, "example.com", NULL },
    { "mail.sub.example.com", 0, "mail.sub.example.com", NULL },
    { "localhost", 0, "localhost", NULL },
    { "_dmarc.example.com", 0, "_dmarc.example.com", NULL },
    { "a-b.ex-ample.com", 0, "a-b.ex-ample.com", NULL },
    { "-lead.example", 0, "-lead.example", NULL },
    { "123.example", 0, "123.example", NULL },
    { LBL63 ".com", 0, LBL63 ".com", NULL },
    { NAME253, 0, NAME253, NULL },
    { NAME253 ".", 0, NAME253, NULL },
    { "bücher.example", 0, "xn--bcher-kva.example", NULL },
    { "BÜCHER.Example.", 0, "xn--bcher-kva.example", NULL },
    { "xn--bcher-kva.example", 0, "xn--bcher-kva.example", NULL },
    { "XN--BCHER-KVA.EXAMPLE", 0, "xn--bcher-kva.example", NULL },
    { "mail.münchen.de", 0, "mail.xn--mnchen-3ya.de", NULL },
    { "faß.de", 0, "xn--fa-hia.de", NULL },   /* non-transitional */
    { "例え.テスト", 0, "xn--r8jz45g.xn--zckzah", NULL },
    { "example.com.x", 11, "example.com", NULL },   /* length-bounded */
    { "", 0, NULL, "empty name" },
    { ".", 0, NULL, "empty name" },
    { "..", 0, NULL, "empty label" },
    { "example.com..", 0, NULL, "empty label" },
    { ".example.com", 0, NULL, "empty label" },
    { "a..b", 0, NULL, "empty label" },
    { LBL64 ".com", 0, NULL, "label too long" },
    { "x." LBL64, 0, NULL, "label too long" },
    { NAME254, 0, NULL, "name too long" },
    { "ex ample.com", 0, NULL, "invalid character" },
    { "ex*ample.com", 0, NULL, "invalid character" },
    { "*.example.com", 0, NULL, "invalid character" },
    { "a@b.com", 0, NULL, "invalid character" },
    { "a/b.com", 0, NULL, "invalid character" },
    { "[192.0.2.1]", 0, NULL, "invalid character" },
    { "exa\tmple.com", 0, NULL, "invalid character" },
    { "exa\x7fmple.com", 0, NULL, "invalid character" },
    { "ab\0cd.com", 9, NULL, "invalid character" },
    { "\xff\xfe.com", 0, NULL, "invalid international name" },
    { "b\xc3.com", 0, NULL, "invalid international name" },
    { "\xf0\x9f\x98\x80.com", 0, NULL, "invalid international name" },
    { "ü-.example", 0, NULL, "invalid international name" },
};

/* addr_normalize_domain over the table. */
static void
t_normalize_domain(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(domain_cases); i++) {
        const struct norm_case *c = &domain_cases[i];
        char out[ADDR_DOMAIN_MAX];
        const char *err = NULL;
        size_t len = c->len ? c->len : strlen(c->in);
        bool ok = addr_normalize_domain(c->in, len, out, sizeof(out), &err);
        check_norm("addr_normalize_domain", c, ok, out, err);
    }
}

/* A too-small output buffer is an error, never a truncated name. */
static void
t_normalize_domain_small_buffer(void **state)
{
    char out[8];
    const char *err = NULL;

    (void)state;
    check_bool_in("addr_normalize_domain", "example.com",
                  addr_normalize_domain("example.com", 11, out, sizeof(out),
                                        &err), false);
    check_str_in("addr_normalize_domain err", "example.com", err,
                 "name too long");
    check_str_in("addr_normalize_domain out", "example.com", out, "");
    check_bool_in("addr_normalize_domain", "ex.com",
                  addr_normalize_domain("ex.com", 6, out, sizeof(out), NULL),
                  true);
    check_str_in("addr_normalize_domain", "ex.com", out, "ex.com");
}

/* A huge input is refused without reading past len. */
static void
t_normalize_domain_huge(void **state)
{
    static char big[5000];
    char out[ADDR_DOMAIN_MAX];
    const char *err = NULL;

    (void)state;
    memset(big, 'a', sizeof(big));
    for (size_t i = 10; i < sizeof(big); i += 10)
        big[i] = '.';
    check_bool_in("addr_normalize_domain", "(5000 octets)",
                  addr_normalize_domain(big, sizeof(big), out, sizeof(out),
                                        &err), false);
    check_str_in("addr_normalize_domain err", "(5000 octets)", err,
                 "name too long");
}

static const struct norm_case pattern_cases[] = {
    { "example.com", 0, "example.com", NULL },
    { "Example.COM.", 0, "example.com", NULL },
    { "*.example.com", 0, "*.example.com", NULL },
    { "*.Example.COM.", 0, "*.example.com", NULL },
    { "*.com", 0, "*.com", NULL },
    { "*.bücher.example", 0, "*.xn--bcher-kva.example", NULL },
    { "*", 0, NULL, "wildcard allowed only as a leading \"*.\"" },
    { "**.example.com", 0, NULL, "wildcard allowed only as a leading \"*.\"" },
    { "*example.com", 0, NULL, "wildcard allowed only as a leading \"*.\"" },
    { "*.*.example.com", 0, NULL, "wildcard allowed only as a leading \"*.\"" },
    { "a.*.example.com", 0, NULL, "wildcard allowed only as a leading \"*.\"" },
    { "example.*", 0, NULL, "wildcard allowed only as a leading \"*.\"" },
    { "ex*mple.com", 0, NULL, "wildcard allowed only as a leading \"*.\"" },
    { "*.", 0, NULL, "empty name" },
    { "*..", 0, NULL, "empty name" },
    { "*.a..b", 0, NULL, "empty label" },
    { "", 0, NULL, "empty name" },
    { ".example.com", 0, NULL, "empty label" },
    { "*." LBL64 ".com", 0, NULL, "label too long" },
    { "*.exa mple.com", 0, NULL, "invalid character" },
};

/* addr_normalize_pattern over the table. */
static void
t_normalize_pattern(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(pattern_cases); i++) {
        const struct norm_case *c = &pattern_cases[i];
        char out[ADDR_DOMAIN_MAX];
        const char *err = NULL;
        bool ok = addr_normalize_pattern(c->in, out, sizeof(out), &err);
        check_norm("addr_normalize_pattern", c, ok, out, err);
    }
}

struct path_case {
    const char *in;
    bool ok;
    bool null_path;
    const char *address;
    const char *domain;
};

static const struct path_case path_cases[] = {
    { "<a@b.c>", true, false, "a@b.c", "b.c" },
    { "a@b.c", true, false, "a@b.c", "b.c" },
    { "<A@Contoso.COM.>", true, false, "a@contoso.com", "contoso.com" },
    { "<John.Doe@Mail.Example.ORG>", true, false, "john.doe@mail.example.org",
      "mail.example.org" },
    { "<>", true, true, "", "" },
    { "<@r1,@r2:a@b.c>", true, false, "a@b.c", "b.c" },
    { "<@relay.example:User@Example.NET>", true, false, "user@example.net",
      "example.net" },
    { "<\"x@y\"@b.c>", true, false, "\"x@y\"@b.c", "b.c" },
    { "\"x@y\"@b.c", true, false, "\"x@y\"@b.c", "b.c" },
    { "<\"A B\"@B.c>", true, false, "\"a b\"@b.c", "b.c" },
    { "<\"a\\\"@b\"@c.d>", true, false, "\"a\\\"@b\"@c.d", "c.d" },
    { "<\"a>b\"@c.d>", true, false, "\"a>b\"@c.d", "c.d" },
    { "<user@[192.0.2.1]>", true, false, "user@[192.0.2.1]", "[192.0.2.1]" },
    { "<user@[IPv6:2001:DB8::1]>", true, false, "user@[ipv6:2001:db8::1]",
      "[ipv6:2001:db8::1]" },
    { "<postmaster>", true, false, "postmaster", "" },
    { "<Postmaster>", true, false, "postmaster", "" },
    { "<user+tag@example.com>", true, false, "user+tag@example.com",
      "example.com" },
    { "<a@bücher.example>", true, false, "a@xn--bcher-kva.example",
      "xn--bcher-kva.example" },
    { "<用户@例え.テスト>", true, false, "用户@xn--r8jz45g.xn--zckzah",
      "xn--r8jz45g.xn--zckzah" },
    { "<Ünïcode@Bücher.Example.>", true, false,
      "Ünïcode@xn--bcher-kva.example", "xn--bcher-kva.example" },
    { "<a@" LBL63 ".com>", true, false, "a@" LBL63 ".com", LBL63 ".com" },
    { "", false, false, "", "" },
    { "<", false, false, "", "" },
    { ">", false, false, "", "" },
    { "<a@b.c", false, false, "", "" },
    { "a@b.c>", false, false, "", "" },
    { "<<a@b.c>>", false, false, "", "" },
    { "<a@b.c>>", false, false, "", "" },
    { "<<a@b.c>", false, false, "", "" },
    { "<a@b.c> SIZE=100", false, false, "", "" },
    { "<\"x@b.c>", false, false, "", "" },
    { "<\"x\"y@b.c>", false, false, "", "" },
    { "<x\"@b.c>", false, false, "", "" },
    { "<a b@c.d>", false, false, "", "" },
    { "<a@b..c>", false, false, "", "" },
    { "<a@b.c..>", false, false, "", "" },
    { "<a@>", false, false, "", "" },
    { "<@b.c>", false, false, "", "" },
    { "<@r1:>", false, false, "", "" },
    { "<@r 1:a@b.c>", false, false, "", "" },
    { "<a@b@c.d>", false, false, "", "" },
    { "<a@" LBL64 ".com>", false, false, "", "" },
    { "<a@[192.0.2.1>", false, false, "", "" },
    { "<a@[]>", false, false, "", "" },
    { "<a@[1.2.3.4]x>", false, false, "", "" },
    { "<a@[1.2 3.4]>", false, false, "", "" },
    { "<a\x01@b.c>", false, false, "", "" },
    { "<a@b\x01.c>", false, false, "", "" },
    { "\x80\x81\x82", false, false, "", "" },
    { "<\xc3@b.c>", false, false, "", "" },
    { "<\xed\xa0\x80@b.c>", false, false, "", "" },
    { "<a@\xff.c>", false, false, "", "" },
    { "<a@*.c>", false, false, "", "" },
};

/* addr_parse_path over the table. */
static void
t_parse_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(path_cases); i++) {
        const struct path_case *c = &path_cases[i];
        struct addr_path p;
        bool ok = addr_parse_path(c->in, &p);
        check_bool_in("addr_parse_path", c->in, ok, c->ok);
        if (!ok)
            continue;
        check_bool_in("addr_parse_path null_path", c->in, p.null_path,
                      c->null_path);
        check_str_in("addr_parse_path address", c->in, p.address, c->address);
        check_str_in("addr_parse_path domain", c->in, p.domain, c->domain);
    }
}

/* NULL, overlong and very long paths are refused. */
static void
t_parse_path_hostile(void **state)
{
    static char big[4096];
    struct addr_path p;

    (void)state;
    check_bool_in("addr_parse_path", "(NULL)", addr_parse_path(NULL, &p),
                  false);
    check_bool_in("addr_parse_path out", "(NULL out)",
                  addr_parse_path("<a@b.c>", NULL), false);

    /* A local part that does not fit ADDR_MAX. */
    memset(big, 'a', 700);
    memcpy(big + 700, "@b.c", 5);
    check_bool_in("addr_parse_path", "(700-octet local part)",
                  addr_parse_path(big, &p), false);

    /* Far over any limit, and not terminated by '>'. */
    memset(big, '<', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    check_bool_in("addr_parse_path", "(4095 x '<')", addr_parse_path(big, &p),
                  false);

    /* A 2000-octet route in front of a valid mailbox. */
    big[0] = '<';
    big[1] = '@';
    memset(big + 2, 'r', 2000);
    memcpy(big + 2002, ":a@b.c>", 8);
    check_bool_in("addr_parse_path", "(2000-octet route)",
                  addr_parse_path(big, &p), false);
}

static const struct norm_case address_cases[] = {
    { "Postmaster@Example.COM", 0, "postmaster@example.com", NULL },
    { "a@b.c.", 0, "a@b.c", NULL },
    { "\"X@Y\"@B.C", 0, "\"x@y\"@b.c", NULL },
    { "user@bücher.example", 0, "user@xn--bcher-kva.example", NULL },
    { "user@[192.0.2.1]", 0, "user@[192.0.2.1]", NULL },
    { "nodomain", 0, NULL, "no domain" },
    { "", 0, NULL, "empty address" },
    { "@b.c", 0, NULL, "invalid local part" },
    { "<a@b.c>", 0, NULL, "invalid local part" },
    { "a b@c.d", 0, NULL, "invalid local part" },
    { "a@", 0, NULL, "empty name" },
    { "a@b..c", 0, NULL, "empty label" },
    { "a@b c", 0, NULL, "invalid character" },
    { "a@b@c", 0, NULL, "invalid character" },
};

/* addr_normalize_address over the table. */
static void
t_normalize_address(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(address_cases); i++) {
        const struct norm_case *c = &address_cases[i];
        char out[ADDR_MAX];
        const char *err = NULL;
        bool ok = addr_normalize_address(c->in, out, sizeof(out), &err);
        check_norm("addr_normalize_address", c, ok, out, err);
    }
}

/* A parsed path and the same configured address normalise identically. */
static void
t_path_matches_address(void **state)
{
    struct addr_path p;
    char norm[ADDR_MAX];

    (void)state;
    check_bool_in("addr_parse_path", "<Admin@Bücher.Example.>",
                  addr_parse_path("<Admin@Bücher.Example.>", &p), true);
    check_bool_in("addr_normalize_address", "ADMIN@bücher.example",
                  addr_normalize_address("ADMIN@bücher.example", norm,
                                         sizeof(norm), NULL), true);
    check_str_in("path vs address", "<Admin@Bücher.Example.>", p.address,
                 norm);
}

/* A too-small buffer for addr_normalize_address is an error. */
static void
t_normalize_address_small_buffer(void **state)
{
    char out[6];
    const char *err = NULL;

    (void)state;
    check_bool_in("addr_normalize_address", "ab@cd.ef",
                  addr_normalize_address("ab@cd.ef", out, sizeof(out), &err),
                  false);
    check_str_in("addr_normalize_address err", "ab@cd.ef", err,
                 "address too long");
    check_str_in("addr_normalize_address out", "ab@cd.ef", out, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_normalize_domain),
        cmocka_unit_test(t_normalize_domain_small_buffer),
        cmocka_unit_test(t_normalize_domain_huge),
        cmocka_unit_test(t_normalize_pattern),
        cmocka_unit_test(t_parse_path),
        cmocka_unit_test(t_parse_path_hostile),
        cmocka_unit_test(t_normalize_address),
        cmocka_unit_test(t_path_matches_address),
        cmocka_unit_test(t_normalize_address_small_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
