/*
 * policyconn.c - the state of one policy service connection: framing of
 * pipelined netstring requests across reads, replies queued in order in a
 * bounded output buffer, back-pressure, the per-request deadline, the idle
 * limit, and which connection to evict when the service is full.
 *
 * Must not: do I/O or read the clock (policyserver.c does both and passes
 * the time in), allocate, grow with input (a client that does not read its
 * replies stops being read: policyconn_wants_read is false until its
 * output drains), or let a slow client extend its own deadline (the
 * request deadline runs from a request's first byte, not from the last).
 *
 * Thread safety: a connection belongs to one thread; no global state.
 */
#include <stdio.h>
#include <string.h>

#include "policyconn.h"

/* A new connection; see policyconn.h. */
void policyconn_init(struct policyconn *c, int64_t now_ms)
{
    c->closing = false;
    c->served_ms = now_ms;
    c->request_ms = -1;
    c->in_off = c->in_len = 0;
    c->out_off = c->out_len = 0;
    netstring_reader_init(&c->reader, NETSTRING_MAX);
}

/* Free bytes at the end of the output after compaction. */
static size_t conn_out_room(const struct policyconn *c)
{
    return sizeof c->out - (c->out_len - c->out_off);
}

/* True when the caller should read; see policyconn.h. */
bool policyconn_wants_read(const struct policyconn *c)
{
    return !c->closing && c->in_off == c->in_len &&
           conn_out_room(c) >= POLICYCONN_REPLY_ROOM;
}

/* The read buffer; see policyconn.h. */
char *policyconn_read_buffer(struct policyconn *c)
{
    return c->in;
}

/* Bytes were read; see policyconn.h. */
void policyconn_received(struct policyconn *c, size_t n)
{
    if (n == 0) {
        c->closing = true;
        return;
    }
    c->in_off = 0;
    c->in_len = n < sizeof c->in ? n : sizeof c->in;
}

/* Queue one reply as a netstring (room was checked by the caller). */
static void conn_queue(struct policyconn *c, const char *reply, int64_t now_ms)
{
    size_t n;

    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    n = netstring_encode(reply, strnlen(reply, POLICYCONN_REPLY_MAX),
                         c->out + c->out_len, sizeof c->out - c->out_len);
    if (n == 0) {
        /* Cannot happen: replies fit POLICYCONN_REPLY_ROOM. Fail closed. */
        c->closing = true;
        return;
    }
    c->out_len += n;
    c->served_ms = now_ms;
}

/* Answer the complete requests in the input; see policyconn.h. */
void policyconn_process(struct policyconn *c, policyconn_answer_fn answer,
                        void *ctx, int64_t now_ms)
{
    char reply[POLICYCONN_REPLY_MAX];

    while (!c->closing && c->in_off < c->in_len &&
           conn_out_room(c) >= POLICYCONN_REPLY_ROOM) {
        size_t used = 0;
        enum netstring_status st = netstring_feed(&c->reader, c->in + c->in_off,
                                                  c->in_len - c->in_off, &used);
        c->in_off += used;
        if (st == NETSTRING_OK) {
            c->request_ms = -1;
            reply[0] = '\0';
            if (!answer(ctx, netstring_payload(&c->reader, NULL), reply, sizeof reply))
                c->closing = true;
            reply[sizeof reply - 1] = '\0';
            conn_queue(c, reply, now_ms);
        } else if (st == NETSTRING_MORE) {
            /* The deadline starts with a request's first byte, once. */
            if (c->request_ms < 0 && !netstring_reader_idle(&c->reader))
                c->request_ms = now_ms;
        } else {
            snprintf(reply, sizeof reply, "PERM %s", netstring_strerror(st));
            conn_queue(c, reply, now_ms);
            c->closing = true;
        }
    }
    if (c->closing || c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
}

/* The queued output; see policyconn.h. */
const char *policyconn_output(const struct policyconn *c, size_t *len)
{
    *len = c->out_len - c->out_off;
    return *len > 0 ? c->out + c->out_off : NULL;
}

/* Output was sent; see policyconn.h. */
void policyconn_sent(struct policyconn *c, size_t n, int64_t now_ms)
{
    if (n == 0)
        return;
    if (n > c->out_len - c->out_off)
        n = c->out_len - c->out_off;
    c->out_off += n;
    c->served_ms = now_ms;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
}

/* True when the connection is to be closed now; see policyconn.h. */
bool policyconn_done(const struct policyconn *c)
{
    return c->closing && c->out_len == c->out_off;
}

/* The instant to close; see policyconn.h. */
int64_t policyconn_deadline(const struct policyconn *c)
{
    if (c->request_ms >= 0 && !c->closing)
        return c->request_ms + POLICYCONN_REQUEST_MS;
    return c->served_ms + POLICYCONN_IDLE_MS;
}

/* The connection to evict; see policyconn.h. */
size_t policyconn_pick_victim(const struct policyconn *const *conns, size_t n)
{
    size_t victim = 0;

    for (size_t i = 1; i < n; i++)
        if (conns[i]->served_ms < conns[victim]->served_ms)
            victim = i;
    return victim;
}
