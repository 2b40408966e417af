/*
 * policyconn.h - one socketmap connection of the policy service without
 * its socket: input framing, pipelined answers into a bounded output
 * buffer, the request deadline, the idle limit and the choice of the
 * connection to evict. Pure (the caller does the I/O and passes the
 * time), so every rule here is unit-tested.
 */
#ifndef FORCETLS_POLICYCONN_H
#define FORCETLS_POLICYCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netstring.h"

/* Longest reply the answer function writes (POLICYMAP_REPLY_MAX). */
#define POLICYCONN_REPLY_MAX 4096
/* A reply with its netstring framing. */
#define POLICYCONN_REPLY_ROOM (POLICYCONN_REPLY_MAX + 16)
/* Bytes read from the socket at once. */
#define POLICYCONN_IN_SIZE 4096
/* Queued replies: many short ones, at least two of the longest. */
#define POLICYCONN_OUT_SIZE (2 * POLICYCONN_REPLY_ROOM)
/*
 * A request must be complete this long after its first byte arrived
 * (Postfix writes a request in one write, so it needs microseconds).
 */
#define POLICYCONN_REQUEST_MS 5000
/*
 * A connection with no request in progress is closed this long after it
 * was accepted or last answered (or after its output last moved, while a
 * client does not read). Postfix's socketmap client closes its own idle
 * connection after 10 s and retries once on a connection we closed.
 */
#define POLICYCONN_IDLE_MS 30000

/*
 * Answer one request (NUL-terminated, no NUL inside) into reply
 * (replysz == POLICYCONN_REPLY_MAX). False: close the connection after
 * this reply (a request out of step with the protocol).
 */
typedef bool (*policyconn_answer_fn)(void *ctx, const char *request,
                                     char *reply, size_t replysz);

struct policyconn {
    bool closing;           /* send what is queued, then close */
    int64_t served_ms;      /* accepted, or last reply queued or sent */
    int64_t request_ms;     /* first byte of the partial request; -1: none */
    size_t in_off, in_len;  /* unprocessed input: in[in_off, in_len) */
    size_t out_off, out_len; /* unsent output: out[out_off, out_len) */
    struct netstring_reader reader;
    char in[POLICYCONN_IN_SIZE];
    char out[POLICYCONN_OUT_SIZE];
};

/* A new connection accepted at now_ms. */
void policyconn_init(struct policyconn *c, int64_t now_ms);

/* True when the caller should read: no unprocessed input, room for replies. */
bool policyconn_wants_read(const struct policyconn *c);

/* Where to read into (POLICYCONN_IN_SIZE bytes), when policyconn_wants_read. */
char *policyconn_read_buffer(struct policyconn *c);

/* n bytes were read into the read buffer (n == 0: end of stream). */
void policyconn_received(struct policyconn *c, size_t n);

/*
 * Answer every complete request in the input, in order, while the output
 * has room for a reply of the longest kind; a malformed netstring is
 * answered "PERM ..." and closes the connection.
 */
void policyconn_process(struct policyconn *c, policyconn_answer_fn answer,
                        void *ctx, int64_t now_ms);

/* The queued output (NULL and 0 when none). */
const char *policyconn_output(const struct policyconn *c, size_t *len);

/* n bytes of the queued output were sent at now_ms. */
void policyconn_sent(struct policyconn *c, size_t n, int64_t now_ms);

/* True when all is said and the connection is to be closed. */
bool policyconn_done(const struct policyconn *c);

/* The instant (ms) from which the connection is to be closed. */
int64_t policyconn_deadline(const struct policyconn *c);

/*
 * The connection to close when a new one arrives and all slots are full:
 * the idlest, i.e. the one accepted or answered longest ago (a slow or
 * silent client ages; a client being answered has just been served).
 * Ties go to the lower index. n must be at least 1.
 */
size_t policyconn_pick_victim(const struct policyconn *const *conns, size_t n);

#endif
