/*
 * ctlchan.h - the supervisor's control channel to its worker.
 *
 * One SOCK_SEQPACKET socketpair per worker; each message is one line of
 * text, optionally carrying one descriptor (SCM_RIGHTS). The messages:
 *   worker -> supervisor: "ready"
 *                         "valid SEQ inbound=N outbound=M facility=F"
 *                         "error SEQ FILE:LINE: message"
 *   supervisor -> worker: "load SEQ" with a sealed configuration (confbytes.h)
 *                         "commit SEQ", "abort SEQ"
 */
#ifndef FORCETLS_CTLCHAN_H
#define FORCETLS_CTLCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The longest message, with room for a configuration error. */
#define CTLCHAN_MAX 1400

/* A close-on-exec socketpair for one worker; false with errno on failure. */
bool ctlchan_pair(int fds[2]);

/*
 * Send text (and fd unless it is -1) as one message. With nowait, never
 * blocks (a full peer is a failure). Returns false with errno on failure.
 */
bool ctlchan_send(int sock, const char *text, int fd, bool nowait);

/*
 * Receive one message into text (NUL-terminated, cut to size - 1) and its
 * descriptor into *fd (-1 if none). Returns the length, 0 at end of file,
 * -1 with errno on error (EAGAIN when nowait and nothing is waiting).
 */
ssize_t ctlchan_recv(int sock, char *text, size_t size, int *fd, bool nowait);

#endif
