/*
 * netstring.h - netstrings ("5:hello,") as the Postfix and Sendmail
 * socketmap protocols use them: an incremental reader for a byte stream
 * and a bounded writer.
 */
#ifndef FORCETLS_NETSTRING_H
#define FORCETLS_NETSTRING_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Longest payload the reader accepts. Socketmap requests are "NAME KEY"
 * with a domain, a next hop or an address as KEY: a few hundred bytes.
 */
#define NETSTRING_MAX 2048

enum netstring_status {
    NETSTRING_OK = 0,       /* one netstring complete: see netstring_payload() */
    NETSTRING_MORE,         /* all input used, the netstring is not complete yet */
    NETSTRING_ERR_LENGTH,   /* length not a decimal number (empty, non-digit, leading zero) */
    NETSTRING_ERR_TOO_LONG, /* length over the reader's maximum */
    NETSTRING_ERR_COMMA,    /* the payload is not followed by ',' */
    NETSTRING_ERR_NUL,      /* a NUL byte in the payload */
};

enum netstring_state {
    NETSTRING_STATE_START,  /* before the first length digit */
    NETSTRING_STATE_LENGTH, /* after the first digit, before ':' */
    NETSTRING_STATE_PAYLOAD,
    NETSTRING_STATE_COMMA,
    NETSTRING_STATE_ERROR,  /* sticky: the stream cannot be resynchronised */
};

/* The reader of one stream; initialise with netstring_reader_init(). */
struct netstring_reader {
    enum netstring_state state;
    enum netstring_status error;    /* the error once in STATE_ERROR */
    size_t max;                     /* payload limit, <= NETSTRING_MAX */
    size_t want;                    /* announced payload length */
    size_t have;                    /* payload bytes received */
    char payload[NETSTRING_MAX + 1];
};

/* Start reading a stream whose payloads may be at most max bytes. */
void netstring_reader_init(struct netstring_reader *r, size_t max);

/*
 * Feed len bytes of the stream. Stops after the first complete netstring
 * (NETSTRING_OK) so that pipelined requests are answered in order: *used
 * says how many bytes were consumed; feed the rest in the next call.
 * NETSTRING_MORE means every byte was used and more are needed. An error
 * is final: the stream is out of step and must be closed.
 */
enum netstring_status netstring_feed(struct netstring_reader *r,
                                     const char *data, size_t len,
                                     size_t *used);

/*
 * The payload of the netstring just completed, NUL-terminated (it never
 * contains NUL), and its length. Valid until the next netstring_feed().
 */
const char *netstring_payload(const struct netstring_reader *r, size_t *len);

/* True between netstrings: end of stream here is not a truncation. */
bool netstring_reader_idle(const struct netstring_reader *r);

/* Short English text for a status ("length over the maximum", ...). */
const char *netstring_strerror(enum netstring_status status);

/*
 * Write data as a netstring into out (outsz bytes; no NUL is added).
 * Returns the number of bytes written, or 0 if it does not fit.
 */
size_t netstring_encode(const char *data, size_t len, char *out, size_t outsz);

#endif
