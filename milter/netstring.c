/*
 * netstring.c - netstrings for the socketmap protocol: an incremental
 * reader with a hard payload limit, and a bounded writer.
 *
 * The reader is a small state machine fed with whatever read() returned,
 * so a request split across reads, or several requests in one read, need
 * no special handling by the caller. It is strict, as djb's definition
 * is: the length is decimal digits without leading zeros ("0" alone is
 * the empty payload), followed by ':', the payload and ','. A payload
 * with a NUL byte is refused, because no socketmap key contains one and
 * the payload is later handled as a C string.
 *
 * Must not: read past the bytes it is given, accept a length it cannot
 * buffer, or resynchronise after an error (the peer is out of step and
 * the connection must be closed).
 *
 * Thread safety: a reader belongs to one connection; no global state.
 */
#include <stdio.h>
#include <string.h>

#include "netstring.h"

/* Start reading a stream; see netstring.h. */
void netstring_reader_init(struct netstring_reader *r, size_t max)
{
    r->state = NETSTRING_STATE_START;
    r->error = NETSTRING_OK;
    r->max = max < NETSTRING_MAX ? max : NETSTRING_MAX;
    r->want = 0;
    r->have = 0;
    r->payload[0] = '\0';
}

/* Enter the sticky error state and report how far we got. */
static enum netstring_status reader_fail(struct netstring_reader *r,
                                         enum netstring_status status,
                                         size_t *used, size_t at)
{
    r->state = NETSTRING_STATE_ERROR;
    r->error = status;
    *used = at;
    return status;
}

/* The value of an ASCII digit, or -1. */
static int digit_value(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : -1;
}

/* Take one byte of the length; returns NETSTRING_MORE to go on. */
static enum netstring_status reader_length_byte(struct netstring_reader *r,
                                                unsigned char c)
{
    int d = digit_value(c);

    if (r->state == NETSTRING_STATE_START) {
        if (d < 0)
            return NETSTRING_ERR_LENGTH;
        r->want = (size_t)d;
        r->have = 0;
        r->state = NETSTRING_STATE_LENGTH;
    } else if (c == ':') {
        r->state = r->want > 0 ? NETSTRING_STATE_PAYLOAD : NETSTRING_STATE_COMMA;
        return NETSTRING_MORE;
    } else if (d < 0 || r->want == 0) {
        /* A non-digit, or a digit after a leading "0". */
        return NETSTRING_ERR_LENGTH;
    } else {
        /* want <= max <= NETSTRING_MAX here, so this cannot overflow. */
        r->want = r->want * 10 + (size_t)d;
    }
    return r->want > r->max ? NETSTRING_ERR_TOO_LONG : NETSTRING_MORE;
}

/* Feed bytes of the stream; see netstring.h. */
enum netstring_status netstring_feed(struct netstring_reader *r,
                                     const char *data, size_t len,
                                     size_t *used)
{
    size_t i = 0;

    if (r->state == NETSTRING_STATE_ERROR)
        return reader_fail(r, r->error, used, 0);
    while (i < len) {
        enum netstring_status st;
        size_t n;

        switch (r->state) {
        case NETSTRING_STATE_START:
        case NETSTRING_STATE_LENGTH:
            st = reader_length_byte(r, (unsigned char)data[i]);
            if (st != NETSTRING_MORE)
                return reader_fail(r, st, used, i);
            i++;
            break;
        case NETSTRING_STATE_PAYLOAD:
            n = len - i < r->want - r->have ? len - i : r->want - r->have;
            if (memchr(data + i, '\0', n) != NULL)
                return reader_fail(r, NETSTRING_ERR_NUL, used, i);
            memcpy(r->payload + r->have, data + i, n);
            r->have += n;
            i += n;
            if (r->have == r->want)
                r->state = NETSTRING_STATE_COMMA;
            break;
        case NETSTRING_STATE_COMMA:
            if (data[i] != ',')
                return reader_fail(r, NETSTRING_ERR_COMMA, used, i);
            r->payload[r->have] = '\0';
            r->state = NETSTRING_STATE_START;
            *used = i + 1;
            return NETSTRING_OK;
        case NETSTRING_STATE_ERROR:
        default:
            return reader_fail(r, r->error, used, i);
        }
    }
    *used = i;
    return NETSTRING_MORE;
}

/* The payload just completed; see netstring.h. */
const char *netstring_payload(const struct netstring_reader *r, size_t *len)
{
    if (len != NULL)
        *len = r->have;
    return r->payload;
}

/* True between netstrings. */
bool netstring_reader_idle(const struct netstring_reader *r)
{
    return r->state == NETSTRING_STATE_START;
}

/* Text for a status. */
const char *netstring_strerror(enum netstring_status status)
{
    switch (status) {
    case NETSTRING_OK:
        return "ok";
    case NETSTRING_MORE:
        return "incomplete netstring";
    case NETSTRING_ERR_LENGTH:
        return "malformed netstring length";
    case NETSTRING_ERR_TOO_LONG:
        return "netstring longer than the maximum";
    case NETSTRING_ERR_COMMA:
        return "netstring not terminated by ','";
    case NETSTRING_ERR_NUL:
        return "NUL byte in netstring";
    }
    return "unknown netstring error";
}

/* Write data as a netstring; see netstring.h. */
size_t netstring_encode(const char *data, size_t len, char *out, size_t outsz)
{
    char head[24];
    int n = snprintf(head, sizeof head, "%zu:", len);

    if (n <= 0 || (size_t)n >= sizeof head || outsz < (size_t)n ||
        outsz - (size_t)n < len + 1)
        return 0;
    memcpy(out, head, (size_t)n);
    if (len > 0)
        memcpy(out + n, data, len);
    out[(size_t)n + len] = ',';
    return (size_t)n + len + 1;
}
