/*
 * probe.c - forcetls connector --probe: an SMTP client that connects to a
 * partner's mail server, asks for STARTTLS and reads the certificate chain
 * the server presents, with the TLS version and cipher it negotiated.
 *
 * Owns: the conversation (greeting, EHLO, STARTTLS, handshake, QUIT), its
 * bounds (one deadline for all of it, of which each address but the last
 * may take only its share to connect; a reply line of PROBE_LINE_MAX bytes,
 * PROBE_REPLY_LINES lines, PROBE_PLAIN_MAX bytes before the handshake; the
 * certificate list by OpenSSL's max_cert_list), and the one-line errors.
 *
 * Must not: verify or judge the certificate (the handshake never aborts on
 * it: certinfo.c verifies and reports), send anything but EHLO, STARTTLS
 * and QUIT, or keep plaintext the server sent after its 220 to STARTTLS (a
 * command injection: refused). Server text in messages is escaped
 * (log_value), never used as a format.
 *
 * Threads: one probe per call; sockets are non-blocking and every wait is
 * a poll() bounded by the deadline. OpenSSL's error queue is the calling
 * thread's.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certinfo.h"
#include "log.h"
#include "probe.h"
#include "text.h"
#include "tlsfacts.h"

/* One conversation: the socket, the unread bytes and the deadline. */
struct conn {
    int fd;
    long long deadline_ms;           /* CLOCK_MONOTONIC */
    long timeout_ms;
    char buf[PROBE_LINE_MAX + 2];
    size_t len;                      /* unread bytes in buf */
    size_t total;                    /* read before the handshake */
    const char *target;              /* "HOST:PORT" for messages */
    char *err;
    size_t errsz;
};

/* A reply: its code, and whether a line announced STARTTLS. */
struct reply {
    int code;
    bool starttls;
    char first[PROBE_LINE_MAX + 1];  /* its first line, for messages */
};

/* printf into err; always false, for "return fail(...)". */
static bool fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return false;
}

/* Milliseconds of the monotonic clock. */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The timeout in words: "2 s", "0.5 s". */
static const char *timeout_words(long ms, char *buf, size_t bufsz)
{
    if (ms % 1000 == 0)
        snprintf(buf, bufsz, "%ld s", ms / 1000);
    else
        snprintf(buf, bufsz, "%ld.%03ld s", ms / 1000, ms % 1000);
    return buf;
}

/* Wait for events on c's socket until the deadline; false with err set. */
static bool wait_fd(struct conn *c, short events, const char *waiting_for)
{
    for (;;) {
        long long left = c->deadline_ms - now_ms();
        struct pollfd p = { .fd = c->fd, .events = events };
        int n;
        char t[32];

        if (left <= 0)
            return fail(c->err, c->errsz, "%s: timed out after %s waiting"
                        " for %s", c->target,
                        timeout_words(c->timeout_ms, t, sizeof t), waiting_for);
        n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return fail(c->err, c->errsz, "%s: poll: %s", c->target,
                        strerror(errno));
    }
}

/* Send all of s before the deadline. */
static bool send_all(struct conn *c, const char *s, const char *what)
{
    size_t len = strlen(s), done = 0;

    while (done < len) {
        ssize_t n = send(c->fd, s + done, len - done, MSG_NOSIGNAL);

        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(c, POLLOUT, what))
                return false;
        } else if (n < 0 && errno != EINTR) {
            return fail(c->err, c->errsz, "%s: cannot send %s: %s", c->target,
                        what, strerror(errno));
        }
    }
    return true;
}

/* Read one line (without CRLF) into line; bounded in bytes and time. */
static bool read_line(struct conn *c, char *line, const char *waiting_for)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        ssize_t n;

        if (nl != NULL) {
            size_t l = (size_t)(nl - c->buf), used = l + 1;

            if (l > 0 && c->buf[l - 1] == '\r')
                l--;
            memcpy(line, c->buf, l);
            line[l] = '\0';
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return true;
        }
        if (c->len > PROBE_LINE_MAX)
            return fail(c->err, c->errsz, "%s: a reply line longer than %d"
                        " bytes (%s)", c->target, PROBE_LINE_MAX, waiting_for);
        if (c->total >= PROBE_PLAIN_MAX)
            return fail(c->err, c->errsz, "%s: more than %d bytes before TLS"
                        " (%s)", c->target, PROBE_PLAIN_MAX, waiting_for);
        n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            c->total += (size_t)n;
        } else if (n == 0) {
            return fail(c->err, c->errsz, "%s: the server closed the"
                        " connection (%s)", c->target, waiting_for);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_fd(c, POLLIN, waiting_for))
                return false;
        } else if (errno != EINTR) {
            return fail(c->err, c->errsz, "%s: cannot read (%s): %s",
                        c->target, waiting_for, strerror(errno));
        }
    }
}

/* Whether an EHLO line's text (after "250-") is the STARTTLS keyword. */
static bool is_starttls(const char *text)
{
    size_t len = strlen(text);

    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    return len == 8 && strncasecmp(text, "STARTTLS", 8) == 0;
}

/* Read a whole (multi-line) reply; bounded in lines. */
static bool read_reply(struct conn *c, struct reply *r, const char *waiting_for)
{
    char line[PROBE_LINE_MAX + 2], esc[LOG_VALUE_BUF];

    memset(r, 0, sizeof *r);
    for (int i = 0; i < PROBE_REPLY_LINES; i++) {
        if (!read_line(c, line, waiting_for))
            return false;
        if (i == 0)
            text_copy(r->first, sizeof r->first, line);
        if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
            line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
            (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
            log_value(line, esc, sizeof esc);
            return fail(c->err, c->errsz, "%s: not an SMTP reply (%s): %s",
                        c->target, waiting_for, esc);
        }
        r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (line[3] != '\0' && is_starttls(line + 4))
            r->starttls = true;
        if (line[3] != '-')
            return true;
    }
    return fail(c->err, c->errsz, "%s: a reply of more than %d lines (%s)",
                c->target, PROBE_REPLY_LINES, waiting_for);
}

/* "the server refused X: 554 ..." with the reply escaped. */
static bool refused(struct conn *c, const struct reply *r, const char *what)
{
    char esc[LOG_VALUE_BUF];

    log_value(r->first, esc, sizeof esc);
    return fail(c->err, c->errsz, "%s: the server refused %s: %s", c->target,
                what, esc);
}

/* Connect one address before the deadline; errno-style words into why. */
static int connect_one(const struct addrinfo *ai, struct conn *c,
                       char *why, size_t whysz)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int soerr = 0;
    socklen_t slen = sizeof soerr;

    if (fd < 0) {
        snprintf(why, whysz, "%s", strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        snprintf(why, whysz, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    c->fd = fd;
    if (!wait_fd(c, POLLOUT, "the connection")) {
        c->fd = -1;
        close(fd);
        return -2;
    }
    c->fd = -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
        soerr = errno;
    if (soerr != 0) {
        snprintf(why, whysz, "%s", strerror(soerr));
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * Connect to the first address of req that answers; sets c->fd. Each
 * address but the last may take only its share of the time left, so a
 * silent one (a black-holed IPv6 route) leaves time for the next.
 */
static bool connect_target(const struct probe_request *req, struct conn *c,
                           struct probe_result *res)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *list = NULL;
    char port[16], why[256] = "no address";
    const long long deadline = c->deadline_ms;
    size_t left = 0;
    int rc;

    snprintf(port, sizeof port, "%u", req->port);
    if (!req->host_is_name)
        hints.ai_flags |= AI_NUMERICHOST;
    rc = getaddrinfo(req->host, port, &hints, &list);
    if (rc != 0)
        return fail(c->err, c->errsz, "%s: cannot resolve: %s", c->target,
                    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next)
        left++;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next, left--) {
        char host[INET6_ADDRSTRLEN];
        int fd;

        c->deadline_ms = now_ms() + (deadline - now_ms()) / (long long)left;
        fd = connect_one(ai, c, why, sizeof why);
        c->deadline_ms = deadline;
        if (fd == -2 && left == 1) {
            freeaddrinfo(list);
            return false;
        }
        if (fd == -2)
            snprintf(why, sizeof why, "no answer in time");
        if (fd < 0)
            continue;
        c->fd = fd;
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL,
                        0, NI_NUMERICHOST) != 0)
            snprintf(host, sizeof host, "?");
        snprintf(res->address, sizeof res->address,
                 ai->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
                 req->port);
        freeaddrinfo(list);
        return true;
    }
    freeaddrinfo(list);
    return fail(c->err, c->errsz, "%s: cannot connect: %s", c->target, why);
}

/* The plaintext part: greeting, EHLO with STARTTLS, STARTTLS and its 220. */
static bool smtp_starttls(const struct probe_request *req, struct conn *c)
{
    struct reply r;
    char cmd[PROBE_HOST_MAX + 16];

    if (!read_reply(c, &r, "the greeting"))
        return false;
    if (r.code != 220)
        return refused(c, &r, "the session");
    snprintf(cmd, sizeof cmd, "EHLO %s\r\n", req->helo);
    if (!send_all(c, cmd, "EHLO") || !read_reply(c, &r, "the reply to EHLO"))
        return false;
    if (r.code != 250)
        return refused(c, &r, "EHLO");
    if (!r.starttls) {
        (void)send(c->fd, "QUIT\r\n", 6, MSG_NOSIGNAL);
        return fail(c->err, c->errsz, "%s: the server does not offer"
                    " STARTTLS", c->target);
    }
    if (!send_all(c, "STARTTLS\r\n", "STARTTLS") ||
        !read_reply(c, &r, "the reply to STARTTLS"))
        return false;
    if (r.code != 220)
        return refused(c, &r, "STARTTLS");
    if (c->len != 0)
        return fail(c->err, c->errsz, "%s: the server sent more after its"
                    " reply to STARTTLS (refused: a command injection)",
                    c->target);
    return true;
}

/* OpenSSL's words for a failed handshake. */
static const char *handshake_words(SSL *ssl, int ret, char *buf, size_t bufsz)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (r != NULL)
        snprintf(buf, bufsz, "%s", r);
    else if (SSL_get_error(ssl, ret) == SSL_ERROR_SYSCALL)
        snprintf(buf, bufsz, "the server closed the connection");
    else
        snprintf(buf, bufsz, "error %d", SSL_get_error(ssl, ret));
    ERR_clear_error();
    return buf;
}

/* A client context that completes a handshake with any server. */
static SSL_CTX *client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL)
        return NULL;
    /* Report what old servers do instead of failing on them. */
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_cipher_list(ctx, "ALL:!aNULL:!eNULL:@SECLEVEL=0");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_max_cert_list(ctx, 100 * 1024);
    return ctx;
}

/* Copy the peer's chain (leaf first) into res. */
static bool keep_chain(SSL *ssl, struct conn *c, struct probe_result *res)
{
    STACK_OF(X509) *peer = SSL_get_peer_cert_chain(ssl);

    if (peer == NULL || sk_X509_num(peer) == 0)
        return fail(c->err, c->errsz, "%s: the server sent no certificate",
                    c->target);
    if ((res->chain = sk_X509_new_null()) == NULL)
        return fail(c->err, c->errsz, "out of memory");
    for (int i = 0; i < sk_X509_num(peer); i++) {
        X509 *x = sk_X509_value(peer, i);

        if (!X509_up_ref(x))
            return fail(c->err, c->errsz, "out of memory");
        if (sk_X509_push(res->chain, x) <= 0) {
            X509_free(x);
            return fail(c->err, c->errsz, "out of memory");
        }
    }
    return true;
}

/* The handshake, the chain and the negotiated parameters. */
static bool tls_probe(const struct probe_request *req, struct conn *c,
                      struct probe_result *res)
{
    SSL_CTX *ctx = client_ctx();
    SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
    const SSL_CIPHER *cipher;
    bool ok = false;
    char why[256];

    if (ssl == NULL || !SSL_set_fd(ssl, c->fd) ||
        (req->host_is_name && !SSL_set_tlsext_host_name(ssl, req->host))) {
        fail(c->err, c->errsz, "%s: cannot set up TLS", c->target);
        goto out;
    }
    ERR_clear_error();
    for (;;) {
        int ret = SSL_connect(ssl), e;

        if (ret == 1)
            break;
        e = SSL_get_error(ssl, ret);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                         "the TLS handshake"))
                goto out;
            continue;
        }
        fail(c->err, c->errsz, "%s: TLS handshake failed: %s", c->target,
             handshake_words(ssl, ret, why, sizeof why));
        goto out;
    }
    if (!keep_chain(ssl, c, res))
        goto out;
    cipher = SSL_get_current_cipher(ssl);
    snprintf(res->version, sizeof res->version, "%s", SSL_get_version(ssl));
    snprintf(res->cipher, sizeof res->cipher, "%s",
             cipher != NULL ? SSL_CIPHER_get_name(cipher) : "unknown");
    res->bits = cipher != NULL ? SSL_CIPHER_get_bits(cipher, NULL) : 0;
    res->forward_secret = tlsfacts_parse_version(res->version) == TLS_VERSION_1_3 ||
                          tlsfacts_cipher_is_forward_secret(res->cipher);
    ok = true;
    /* A polite end; its result does not matter. */
    (void)SSL_write(ssl, "QUIT\r\n", 6);
    (void)SSL_shutdown(ssl);
out:
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return ok;
}

/* Probe a server (see probe.h). */
bool probe_run(const struct probe_request *req, struct probe_result *res,
               char *err, size_t errsz)
{
    struct conn *c = calloc(1, sizeof *c);
    char target[PROBE_HOST_MAX + 16];
    bool ok;

    memset(res, 0, sizeof *res);
    if (c == NULL)
        return fail(err, errsz, "out of memory");
    snprintf(target, sizeof target,
             strchr(req->host, ':') != NULL ? "[%s]:%u" : "%s:%u", req->host,
             req->port);
    c->fd = -1;
    c->target = target;
    c->err = err;
    c->errsz = errsz;
    c->timeout_ms = req->timeout_ms;
    c->deadline_ms = now_ms() + req->timeout_ms;
    ok = connect_target(req, c, res) && smtp_starttls(req, c) &&
         tls_probe(req, c, res);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    if (!ok && res->chain != NULL) {
        certinfo_chain_free(res->chain);
        res->chain = NULL;
    }
    return ok;
}

/* Parse HOST[:PORT] (see probe.h). */
bool probe_parse_target(const char *text, struct probe_request *req,
                        char *err, size_t errsz)
{
    const char *host = text, *port = NULL, *colon = strchr(text, ':');
    size_t hlen;
    unsigned char addr[sizeof(struct in6_addr)];

    /* Messages below quote text: it must stay one line. */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < ' ' || *p >= 0x7f)
            return fail(err, errsz, "--probe: a control character or a byte"
                        " over 127 in HOST[:PORT]");
    if (text[0] == '[') {
        const char *end = strchr(text, ']');

        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return fail(err, errsz, "--probe: \"%s\": want HOST, HOST:PORT or"
                        " [ADDRESS]:PORT", text);
        host = text + 1;
        hlen = (size_t)(end - host);
        port = end[1] == ':' ? end + 2 : NULL;
    } else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        hlen = (size_t)(colon - text);
        port = colon + 1;
    } else {
        hlen = strlen(text);     /* a name, or an IPv6 address without port */
    }
    if (hlen == 0 || hlen >= sizeof req->host)
        return fail(err, errsz, "--probe: \"%s\": no host, or a host name"
                    " that is too long", text);
    memcpy(req->host, host, hlen);
    req->host[hlen] = '\0';
    for (size_t i = 0; i < hlen; i++)
        if ((unsigned char)req->host[i] <= ' ' || req->host[i] == 0x7f ||
            req->host[i] == '[' || req->host[i] == ']' || req->host[i] == '/')
            return fail(err, errsz, "--probe: the host contains a character"
                        " that no host name or address has");
    req->port = PROBE_PORT_DEFAULT;
    if (port != NULL) {
        char *end;
        unsigned long p;

        errno = 0;
        p = strtoul(port, &end, 10);
        if (port[0] < '0' || port[0] > '9' || *end != '\0' || errno != 0 ||
            p == 0 || p > 65535)
            return fail(err, errsz, "--probe: \"%s\": the port must be 1 to"
                        " 65535", text);
        req->port = (unsigned)p;
    }
    req->host_is_name = inet_pton(AF_INET, req->host, addr) != 1 &&
                        inet_pton(AF_INET6, req->host, addr) != 1;
    if (req->host_is_name && strchr(req->host, ':') != NULL)
        return fail(err, errsz, "--probe: \"%s\": not an IPv6 address", text);
    return true;
}
