/*
 * test_connector_probe.c - unit tests for forcetls connector --probe
 * (probe.c) against fake SMTP servers forked here on loopback: a full
 * STARTTLS handshake with the lab chain (labpki.h) and its facts; the
 * bounds on reply lines, line length and time; a refusal, no STARTTLS, and
 * plaintext after the 220 to STARTTLS (a command injection), each one
 * exact error naming the target; and the HOST[:PORT] forms.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/ssl.h>

#include "certinfo.h"
#include "connector.h"
#include "probe.h"
#include "tlsfacts.h"
#include "testutil.h"
#include "labpki.h"

/* ---- the probe, against servers forked here ---- */

/* What a fake server does after accepting. */
enum fake {
    FAKE_TLS,            /* a proper STARTTLS server with the RSA chain */
    FAKE_TLS10,          /* the same, but TLSv1 only (an old server) */
    FAKE_SILENT,         /* never says anything */
    FAKE_MANY_LINES,     /* a greeting of 101 lines */
    FAKE_LONG_LINE,      /* a greeting line of 3000 bytes */
    FAKE_BIG,            /* 40 greeting lines of 2000 bytes: 80 KB */
    FAKE_REFUSE,         /* 554 at once */
    FAKE_NO_STARTTLS,    /* EHLO without STARTTLS */
    FAKE_INJECT,         /* 220 to STARTTLS, then more plaintext */
};

/* Write all of s to fd (the child). */
static void put(int fd, const char *s)
{
    size_t len = strlen(s);

    while (len > 0) {
        ssize_t n = write(fd, s, len);

        if (n <= 0)
            _exit(3);
        s += n;
        len -= (size_t)n;
    }
}

/* Read up to a line end from fd (the child). */
static void get_line(int fd)
{
    char c;

    while (read(fd, &c, 1) == 1 && c != '\n')
        ;
}

/* The child's TLS server side on fd; TLSv1 only when old. */
static void serve_tls(int fd, bool old)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl;
    char buf[64];

    if (ctx != NULL && old &&
        (SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") != 1 ||
         SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
         SSL_CTX_set_max_proto_version(ctx, TLS1_VERSION) != 1))
        _exit(6);
    if (ctx == NULL || SSL_CTX_use_certificate(ctx, leaf_rsa) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, rsa_key) != 1 ||
        SSL_CTX_add1_chain_cert(ctx, inter) != 1 || (ssl = SSL_new(ctx)) == NULL)
        _exit(4);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1)
        _exit(5);
    (void)SSL_read(ssl, buf, sizeof buf);
    _exit(0);
}

/* The fake server's conversation on fd (the child). */
static void fake_serve(int fd, enum fake kind)
{
    if (kind == FAKE_SILENT) {
        pause();
        _exit(0);
    }
    if (kind == FAKE_MANY_LINES) {
        for (int i = 0; i < 101; i++)
            put(fd, "220-hello\r\n");
        put(fd, "220 done\r\n");
        _exit(0);
    }
    if (kind == FAKE_LONG_LINE) {
        char line[3003];

        memset(line, 'x', 3000);
        memcpy(line, "220 ", 4);
        memcpy(line + 3000, "\r\n", 3);
        put(fd, line);
        _exit(0);
    }
    if (kind == FAKE_BIG) {
        char line[2001];

        memset(line, 'x', 1998);
        memcpy(line, "220-", 4);
        memcpy(line + 1998, "\r\n", 3);
        for (int i = 0; i < 40; i++)
            put(fd, line);
        _exit(0);
    }
    if (kind == FAKE_REFUSE) {
        put(fd, "554 5.7.1 go \"away\"\r\n");
        _exit(0);
    }
    put(fd, "220-mx.lab.example ESMTP\r\n220 fake\r\n");
    get_line(fd);
    if (kind == FAKE_NO_STARTTLS) {
        put(fd, "250-mx.lab.example\r\n250-STARTTLSX\r\n250 8BITMIME\r\n");
        get_line(fd);
        _exit(0);
    }
    put(fd, "250-mx.lab.example\r\n250-PIPELINING\r\n250 starttls \r\n");
    get_line(fd);
    put(fd, kind == FAKE_INJECT ? "220 go ahead\r\nMAIL FROM:<x@y>\r\n" :
        "220 2.0.0 go ahead\r\n");
    if (kind == FAKE_INJECT) {
        get_line(fd);
        _exit(0);
    }
    serve_tls(fd, kind == FAKE_TLS10);
}

/* Fork a fake server on a loopback port of family; its port into *port. */
static pid_t fake_start(enum fake kind, int family, unsigned *port)
{
    struct sockaddr_in a4 = { .sin_family = AF_INET };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
    struct sockaddr *a = family == AF_INET6 ? (struct sockaddr *)&a6 :
                         (struct sockaddr *)&a4;
    socklen_t alen = family == AF_INET6 ? sizeof a6 : sizeof a4;
    int s = socket(family, SOCK_STREAM, 0);
    pid_t pid;

    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a6.sin6_addr = in6addr_loopback;
    if (s < 0 || bind(s, a, alen) != 0 || listen(s, 1) != 0 ||
        getsockname(s, a, &alen) != 0)
        fail_msg("fake server: cannot listen on the loopback address");
    *port = ntohs(family == AF_INET6 ? a6.sin6_port : a4.sin_port);
    pid = fork();
    if (pid < 0)
        fail_msg("fork failed");
    if (pid == 0) {
        int c = accept(s, NULL, NULL);

        alarm(20);
        if (c < 0)
            _exit(2);
        fake_serve(c, kind);
    }
    close(s);
    return pid;
}

/* Stop the fake server (our own child, by PID). */
static void fake_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* Probe a fake server of kind; the result and error. */
static bool probe_fake(enum fake kind, long timeout_ms, struct probe_result *res,
                       char *err, size_t errsz, char *target, size_t targetsz)
{
    struct probe_request req = { .timeout_ms = timeout_ms, .helo = "probe.lab.example" };
    unsigned port;
    pid_t pid = fake_start(kind, AF_INET, &port);
    bool ok;

    snprintf(target, targetsz, "127.0.0.1:%u", port);
    if (!probe_parse_target(target, &req, err, errsz))
        fail_msg("probe_parse_target(%s): got \"%s\", want success", target, err);
    ok = probe_run(&req, res, err, errsz);
    fake_stop(pid);
    return ok;
}

/* A full STARTTLS probe: the chain, the version, forward secrecy. */
static void test_probe_tls(void **state)
{
    struct probe_result res;
    struct certinfo *info = malloc(sizeof *info);
    char err[PROBE_ERR_MAX], target[64];
    X509_STORE *store = store_of(root);

    (void)state;
    if (!probe_fake(FAKE_TLS, 10000, &res, err, sizeof err, target, sizeof target))
        fail_msg("probe: got error \"%s\", want success", err);
    check_str("address", res.address, target);
    check_str("version", res.version, "TLSv1.3");
    check_bool_in("forward_secret", res.cipher, res.forward_secret, true);
    check_int("chain", sk_X509_num(res.chain), 2);
    if (!certinfo_facts(res.chain, store, (int64_t)time(NULL), info, err, sizeof err))
        fail_msg("certinfo_facts: got \"%s\"", err);
    check_str("cn", info->cn.s, LEAF_CN);
    check_str("root", info->root.s, ROOT_CN);
    certinfo_chain_free(res.chain);
    X509_STORE_free(store);
    free(info);
}

/* An old server (TLSv1 only): reported, not refused; the block says so. */
static void test_probe_tls10(void **state)
{
    struct connector_source src = { .probe_target = "old.lab.example",
                                    .probe_address = "127.0.0.1:25" };
    struct probe_result res;
    struct certinfo *info = malloc(sizeof *info);
    char err[PROBE_ERR_MAX], target[64], *out = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    if (!probe_fake(FAKE_TLS10, 10000, &res, err, sizeof err, target,
                    sizeof target))
        fail_msg("probe: got error \"%s\", want TLSv1 reported", err);
    check_str("version", res.version, "TLSv1");
    check_bool_in("forward_secret", res.cipher, res.forward_secret,
                  strncmp(res.cipher, "ECDHE-", 6) == 0 ||
                  strncmp(res.cipher, "DHE-", 4) == 0);
    if (!certinfo_facts(res.chain, NULL, (int64_t)time(NULL), info, err,
                        sizeof err))
        fail_msg("certinfo_facts: got \"%s\"", err);
    src.tls_version = res.version;
    src.tls_cipher = res.cipher;
    src.tls_bits = res.bits;
    src.forward_secret = res.forward_secret;
    f = open_memstream(&out, &len);
    if (!connector_print(info, &src, f, err, sizeof err))
        fail_msg("connector_print: got \"%s\"", err);
    fclose(f);
    if (strstr(out, "    min_tls_version = \"TLSv1.2\";\n    # the probe"
               " negotiated TLSv1: this partner may not meet the floor\n")
        == NULL)
        fail_msg("TLSv1: got\n%s\nwant the note under min_tls_version", out);
    free(out);
    certinfo_chain_free(res.chain);
    free(info);
}

/* IPv6: "[::1]:PORT", the address in brackets in what it reports. */
static void test_probe_ipv6(void **state)
{
    struct probe_request req = { .timeout_ms = 10000, .helo = "probe.lab.example" };
    struct probe_result res;
    char err[PROBE_ERR_MAX], target[64];
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    unsigned port;
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    pid_t pid;
    bool ok;

    (void)state;
    if (s < 0 || bind(s, (struct sockaddr *)&a6, sizeof a6) != 0) {
        if (s >= 0)
            close(s);
        skip();            /* no IPv6 on the loopback interface here */
        return;
    }
    close(s);
    pid = fake_start(FAKE_TLS, AF_INET6, &port);
    snprintf(target, sizeof target, "[::1]:%u", port);
    if (!probe_parse_target(target, &req, err, sizeof err))
        fail_msg("probe_parse_target(%s): got \"%s\"", target, err);
    ok = probe_run(&req, &res, err, sizeof err);
    fake_stop(pid);
    if (!ok)
        fail_msg("probe %s: got error \"%s\", want success", target, err);
    check_str("address", res.address, target);
    check_int("chain", sk_X509_num(res.chain), 2);
    certinfo_chain_free(res.chain);
}

/* Each bound and refusal: one error naming the target. */
static void test_probe_errors(void **state)
{
    static const struct { enum fake kind; long ms; const char *want; } cases[] = {
        { FAKE_SILENT, 300, "timed out after 0.300 s waiting for the greeting" },
        { FAKE_MANY_LINES, 5000, "a reply of more than 100 lines (the greeting)" },
        { FAKE_LONG_LINE, 5000, "a reply line longer than 2048 bytes (the greeting)" },
        { FAKE_BIG, 5000, "more than 65536 bytes before TLS (the greeting)" },
        { FAKE_REFUSE, 5000, "the server refused the session: \"554 5.7.1 go \\\"away\\\"\"" },
        { FAKE_NO_STARTTLS, 5000, "the server does not offer STARTTLS" },
        { FAKE_INJECT, 5000, "the server sent more after its reply to STARTTLS"
                             " (refused: a command injection)" },
    };
    struct probe_result res;
    char err[PROBE_ERR_MAX], target[64], want[512];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (probe_fake(cases[i].kind, cases[i].ms, &res, err, sizeof err, target,
                       sizeof target))
            fail_msg("case %zu: got success, want \"%s\"", i, cases[i].want);
        snprintf(want, sizeof want, "%s: %s", target, cases[i].want);
        check_str("probe error", err, want);
        check_bool_in("no chain", cases[i].want, res.chain == NULL, true);
    }
}

/* HOST[:PORT] forms. */
static void test_probe_targets(void **state)
{
    static const struct {
        const char *in, *host; unsigned port; bool name; const char *err;
    } cases[] = {
        { "mx.lab.example", "mx.lab.example", 25, true, NULL },
        { "192.0.2.1:2525", "192.0.2.1", 2525, false, NULL },
        { "[::1]:587", "::1", 587, false, NULL },
        { "[::1]", "::1", 25, false, NULL },
        { "::1", "::1", 25, false, NULL },
        { "mx:0", NULL, 0, false, "--probe: \"mx:0\": the port must be 1 to 65535" },
        { "mx:65536", NULL, 0, false, "--probe: \"mx:65536\": the port must be 1 to 65535" },
        { "mx:2x", NULL, 0, false, "--probe: \"mx:2x\": the port must be 1 to 65535" },
        { ":25", NULL, 0, false, "--probe: \":25\": no host, or a host name that is too long" },
        { "a b", NULL, 0, false, "--probe: the host contains a character that no host name or address has" },
        { "[::1]x", NULL, 0, false, "--probe: \"[::1]x\": want HOST, HOST:PORT or [ADDRESS]:PORT" },
        { "a:b:c", NULL, 0, false, "--probe: \"a:b:c\": not an IPv6 address" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct probe_request req;
        char err[256] = "";
        bool ok = probe_parse_target(cases[i].in, &req, err, sizeof err);

        check_bool_in("probe_parse_target", cases[i].in, ok, cases[i].err == NULL);
        if (!ok) {
            check_str_in("error", cases[i].in, err, cases[i].err);
            continue;
        }
        check_str_in("host", cases[i].in, req.host, cases[i].host);
        check_int_in("port", cases[i].in, req.port, cases[i].port);
        check_bool_in("host_is_name", cases[i].in, req.host_is_name, cases[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_tls),
        cmocka_unit_test(test_probe_tls10),
        cmocka_unit_test(test_probe_ipv6),
        cmocka_unit_test(test_probe_errors),
        cmocka_unit_test(test_probe_targets),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, make_pki, free_pki);
}
