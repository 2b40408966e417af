/*
 * probe.h - an SMTP client that reads a mail server's certificate chain
 * over STARTTLS: connect, greeting, EHLO, STARTTLS, TLS handshake, and the
 * negotiated version and cipher. Every read is bounded in bytes, lines and
 * time; the whole conversation has one deadline.
 */
#ifndef FORCETLS_PROBE_H
#define FORCETLS_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

/* The default SMTP port. */
#define PROBE_PORT_DEFAULT 25
/* Longest host name or address taken. */
#define PROBE_HOST_MAX 256
/* Longest reply line (RFC 5321 allows 512 octets; servers exceed it). */
#define PROBE_LINE_MAX 2048
/* Lines of one reply at most. */
#define PROBE_REPLY_LINES 100
/* Bytes read before the handshake at most. */
#define PROBE_PLAIN_MAX (64 * 1024)
/* Room for an error message (without "forcetls: "). */
#define PROBE_ERR_MAX 1536

struct probe_request {
    char host[PROBE_HOST_MAX];   /* a name, an IPv4 or an IPv6 address */
    unsigned port;
    bool host_is_name;           /* not an address literal: send SNI */
    long timeout_ms;             /* the whole conversation, > 0 */
    const char *helo;            /* the EHLO name */
};

struct probe_result {
    STACK_OF(X509) *chain;       /* the peer's chain, leaf first */
    char address[PROBE_HOST_MAX + 16];  /* "192.0.2.1:25", "[::1]:25" */
    char version[16];            /* "TLSv1.3" */
    char cipher[64];             /* OpenSSL's name */
    int bits;                    /* the cipher's secret bits */
    bool forward_secret;         /* judged as the daemon does (tlsfacts.h) */
};

/*
 * Parse HOST[:PORT] ("mx.example.org", "192.0.2.1:2525", "[::1]:25",
 * "[::1]", "::1") into req (host, port, host_is_name). False with err set
 * when it is malformed.
 */
bool probe_parse_target(const char *text, struct probe_request *req,
                        char *err, size_t errsz);

/*
 * Probe req's server: on success res->chain holds the peer's chain (free
 * with certinfo_chain_free). False with err set ("HOST:PORT: ...") when the
 * connection fails, the deadline passes, the server offers no STARTTLS or
 * refuses it, the handshake fails, or the server sends no certificate.
 * tlsfacts_init() must have run. SIGPIPE must be ignored by the caller.
 */
bool probe_run(const struct probe_request *req, struct probe_result *res,
               char *err, size_t errsz);

#endif
