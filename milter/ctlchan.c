/*
 * ctlchan.c - the supervisor's control channel to its worker.
 *
 * Owns the framing of the messages between supervisor and worker (see
 * ctlchan.h for the set): one SOCK_SEQPACKET message per line of text,
 * with at most one descriptor attached. It decides nothing; supervisor.c
 * and worker.c give the messages their meaning.
 *
 * Must not: block the supervisor (it passes nowait), or leak a descriptor
 * that arrives unasked (extra ones are closed).
 *
 * Thread safety: no state. Each message is sent with one sendmsg, so two
 * threads of a worker may send on the same socket.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctlchan.h"

/* Make the pair (see ctlchan.h). */
bool ctlchan_pair(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0;
}

/* Send one message (see ctlchan.h). */
bool ctlchan_send(int sock, const char *text, int fd, bool nowait)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    if (iov.iov_len >= CTLCHAN_MAX)
        iov.iov_len = CTLCHAN_MAX - 1;
    if (fd >= 0) {
        struct cmsghdr *c;

        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0));
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)iov.iov_len;
}

/* Receive one message (see ctlchan.h). */
ssize_t ctlchan_recv(int sock, char *text, size_t size, int *fd, bool nowait)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = text, .iov_len = size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf,
                          .msg_controllen = sizeof(control.buf) };
    ssize_t n;

    *fd = -1;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (nowait ? MSG_DONTWAIT : 0));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    text[n] = '\0';
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int got;

            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*fd < 0)
                *fd = got;
            else
                close(got);
        }
    }
    return n;
}
