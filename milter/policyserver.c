/*
 * policyserver.c - the Postfix socketmap service on policy_socket.
 *
 * Owns the policy socket and one thread that serves it: poll() over the
 * listening socket, a self-pipe, and up to POLICYSERVER_MAX_CONNS client
 * connections, all non-blocking. Each connection has a netstring reader
 * and bounded input and output buffers; requests may be pipelined and
 * connections are persistent (Postfix keeps one open per process and
 * closes it after 10 s idle; we close ours after POLICYSERVER_IDLE_SECONDS).
 * Every request takes a reference to the active configuration snapshot
 * for the duration of one answer, so a reload applies to the next lookup.
 *
 * Must not: block (a slow or hostile client only ever stalls itself),
 * grow memory with input (a client that does not read its replies stops
 * being read), resynchronise a broken stream (a malformed request is
 * answered "PERM ..." and the connection is closed), or take signals
 * (every signal is blocked in the thread; writes use MSG_NOSIGNAL).
 *
 * Thread safety: all connection state belongs to the server thread.
 * policyserver_open/start/stop are called by the worker's main thread;
 * stop wakes the server thread through the self-pipe and joins it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "confref.h"
#include "log.h"
#include "netstring.h"
#include "policymap.h"
#include "policyserver.h"
#include "safepath.h"

#define POLICYSERVER_MAX_CONNS 256
#define POLICYSERVER_IDLE_SECONDS 60
#define POLICYSERVER_BACKLOG 64
#define PS_IN_SIZE 4096
/* Room for two full replies, so a pipelining client keeps us busy. */
#define PS_OUT_SIZE (2 * (POLICYMAP_REPLY_MAX + 16))
#define PS_REPLY_ROOM (POLICYMAP_REPLY_MAX + 16)

struct ps_conn {
    int fd;
    bool closing;           /* send what is queued, then close */
    time_t last;            /* last progress, monotonic seconds */
    size_t in_off, in_len;
    size_t out_off, out_len;
    struct netstring_reader reader;
    char in[PS_IN_SIZE];
    char out[PS_OUT_SIZE];
};

static struct {
    int listen_fd;
    int wake[2];
    bool running;
    pthread_t thread;
    time_t accept_pause_until;  /* after EMFILE: stop polling the listener */
    struct ps_conn *conns[POLICYSERVER_MAX_CONNS];
    size_t nconns;
    bool have_path;             /* a unix socket we created: remove at stop */
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
    dev_t dev;
    ino_t ino;
} ps = { .listen_fd = -1, .wake = { -1, -1 } };

/* Monotonic seconds. */
static time_t ps_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Make fd non-blocking and close-on-exec. */
static bool ps_set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/* ---- Opening the socket ---- */

/* Give the socket file its mode and group, never through a link. */
static bool ps_set_access(const char *path, mode_t mode, const char *group)
{
    char msg[SAFEPATH_MSG_MAX];
    struct group *gr = NULL;

    if (group != NULL && (gr = getgrnam(group)) == NULL) {
        log_msg(LOG_ERR, "policy socket %s: no such group %s", path, group);
        return false;
    }
    if (!safepath_set_socket_access("policy socket", path, mode,
                                    gr != NULL ? gr->gr_gid : (gid_t)-1, msg,
                                    sizeof msg)) {
        log_msg(LOG_ERR, "%s", msg);
        return false;
    }
    return true;
}

/* Remove a stale socket at path; refuse to remove anything else. */
static bool ps_remove_stale(const char *path)
{
    char msg[SAFEPATH_MSG_MAX];

    if (!safepath_remove_stale_socket("policy socket", path, msg, sizeof msg)) {
        log_msg(LOG_ERR, "%s", msg);
        return false;
    }
    return true;
}

/* Bind a unix socket at path with mode and group. */
static int ps_open_unix(const char *path, mode_t mode, const char *group)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    mode_t old_mask;
    int fd, rc;

    if (path[0] != '/' || strlen(path) >= sizeof sun.sun_path) {
        log_msg(LOG_ERR, "policy socket %s: not an absolute path that fits", path);
        return -1;
    }
    if (!ps_remove_stale(path) || (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
        return -1;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    old_mask = umask(~mode & 0777);
    rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old_mask);
    if (rc == 0 && !ps_set_access(path, mode, group)) {
        close(fd);
        return -1;
    }
    if (rc != 0 || listen(fd, POLICYSERVER_BACKLOG) != 0 || !ps_set_flags(fd) ||
        lstat(path, &st) != 0) {
        log_msg(LOG_ERR, "policy socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    snprintf(ps.path, sizeof ps.path, "%s", path);
    ps.dev = st.st_dev;
    ps.ino = st.st_ino;
    ps.have_path = true;
    return fd;
}

/* Bind "PORT@HOST" (host may be in brackets) for family. */
static int ps_open_inet(const char *spec, const char *portspec, int family)
{
    struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char port[16], host[300];
    const char *at = strchr(portspec, '@');
    int fd = -1, one = 1, rc;

    if (at == NULL || (size_t)(at - portspec) >= sizeof port ||
        snprintf(host, sizeof host, "%s", at + 1) >= (int)sizeof host) {
        log_msg(LOG_ERR, "policy socket %s: want PORT@HOST", spec);
        return -1;
    }
    memcpy(port, portspec, (size_t)(at - portspec));
    port[at - portspec] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        log_msg(LOG_ERR, "policy socket %s: %s", spec, gai_strerror(rc));
        return -1;
    }
    if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, POLICYSERVER_BACKLOG) != 0 || !ps_set_flags(fd)) {
        log_msg(LOG_ERR, "policy socket %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Open and listen on spec; see policyserver.h. */
int policyserver_open(const char *spec, mode_t mode, const char *group)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return ps_open_unix(spec + 5, mode, group);
    if (strncmp(spec, "local:", 6) == 0)
        return ps_open_unix(spec + 6, mode, group);
    if (strncmp(spec, "inet:", 5) == 0)
        return ps_open_inet(spec, spec + 5, AF_INET);
    if (strncmp(spec, "inet6:", 6) == 0)
        return ps_open_inet(spec, spec + 6, AF_INET6);
    log_msg(LOG_ERR, "policy socket %s: want unix:/PATH, local:/PATH,"
            " inet:PORT@HOST or inet6:PORT@HOST", spec);
    return -1;
}

/* ---- Connections ---- */

/* Close c and free it (the slot is compacted by the caller). */
static void ps_conn_free(struct ps_conn *c)
{
    close(c->fd);
    free(c);
}

/* Queue one reply as a netstring (room was checked by the caller). */
static void ps_queue_reply(struct ps_conn *c, const char *reply)
{
    size_t n;

    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    n = netstring_encode(reply, strlen(reply), c->out + c->out_len,
                         sizeof c->out - c->out_len);
    if (n == 0) {
        /* Cannot happen: replies are shorter than PS_REPLY_ROOM. */
        log_msg(LOG_ERR, "policy service: reply does not fit; closing the connection");
        c->closing = true;
        return;
    }
    c->out_len += n;
}

/* Answer the request just read by c's netstring reader. */
static void ps_answer(struct ps_conn *c)
{
    const char *request = netstring_payload(&c->reader, NULL);
    char reply[POLICYMAP_REPLY_MAX];
    const struct config *config = confref_acquire();
    enum policymap_result res = policymap_answer(config, request, reply, sizeof reply);

    confref_release(config);
    if (res == POLICYMAP_BAD_REQUEST || log_debug_enabled()) {
        char req_v[LOG_VALUE_BUF], reply_v[LOG_VALUE_BUF];
        log_value(request, req_v, sizeof req_v);
        log_value(reply, reply_v, sizeof reply_v);
        log_msg(res == POLICYMAP_BAD_REQUEST ? LOG_WARNING : LOG_DEBUG,
                "policy request=%s reply=%s%s", req_v, reply_v,
                res == POLICYMAP_BAD_REQUEST ? " closing=yes" : "");
    }
    ps_queue_reply(c, reply);
    if (res == POLICYMAP_BAD_REQUEST)
        c->closing = true;
}

/* Turn buffered input into queued replies while there is room for them. */
static void ps_process(struct ps_conn *c)
{
    while (!c->closing && c->in_off < c->in_len &&
           sizeof c->out - (c->out_len - c->out_off) >= PS_REPLY_ROOM) {
        size_t used = 0;
        enum netstring_status st = netstring_feed(&c->reader, c->in + c->in_off,
                                                  c->in_len - c->in_off, &used);
        c->in_off += used;
        if (st == NETSTRING_OK) {
            ps_answer(c);
        } else if (st != NETSTRING_MORE) {
            char reply[128];
            snprintf(reply, sizeof reply, "PERM %s", netstring_strerror(st));
            log_msg(LOG_WARNING, "policy service: %s; closing the connection",
                    netstring_strerror(st));
            ps_queue_reply(c, reply);
            c->closing = true;
        }
    }
    if (c->in_off == c->in_len || c->closing)
        c->in_off = c->in_len = 0;
}

/* Send queued output; false on a write error. */
static bool ps_flush(struct ps_conn *c, time_t now)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_off += (size_t)n;
        c->last = now;
    }
    c->out_off = c->out_len = 0;
    return true;
}

/* Read what is there; at EOF send what is queued and close. False on error. */
static bool ps_read(struct ps_conn *c, time_t now)
{
    ssize_t n = recv(c->fd, c->in, sizeof c->in, 0);

    if (n > 0) {
        c->in_off = 0;
        c->in_len = (size_t)n;
        c->last = now;
        return true;
    }
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (!netstring_reader_idle(&c->reader))
        log_msg(LOG_WARNING, "policy service: connection closed in the middle"
                " of a request");
    c->closing = true;
    return true;
}

/* Handle poll events of c; false when c is to be closed. */
static bool ps_service(struct ps_conn *c, short revents, time_t now)
{
    if (revents & (POLLERR | POLLNVAL))
        return false;
    if (!ps_flush(c, now))
        return false;
    if ((revents & (POLLIN | POLLHUP)) && !c->closing && c->in_off == c->in_len &&
        !ps_read(c, now))
        return false;
    ps_process(c);
    if (!ps_flush(c, now))
        return false;
    return !(c->closing && c->out_len == 0);
}

/* The events c waits for. */
static short ps_events(const struct ps_conn *c)
{
    short ev = 0;

    if (!c->closing && c->in_off == c->in_len &&
        sizeof c->out - (c->out_len - c->out_off) >= PS_REPLY_ROOM)
        ev |= POLLIN;
    if (c->out_len > c->out_off)
        ev |= POLLOUT;
    return ev;
}

/* Accept waiting connections while there is room. */
static void ps_accept(time_t now)
{
    while (ps.nconns < POLICYSERVER_MAX_CONNS) {
        int fd = accept4(ps.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct ps_conn *c;

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                log_msg(LOG_WARNING, "policy service: accept: %s", strerror(errno));
                ps.accept_pause_until = now + 1;
            }
            return;
        }
        if ((c = calloc(1, sizeof *c)) == NULL) {
            log_msg(LOG_WARNING, "policy service: out of memory; connection refused");
            close(fd);
            return;
        }
        c->fd = fd;
        c->last = now;
        netstring_reader_init(&c->reader, NETSTRING_MAX);
        ps.conns[ps.nconns++] = c;
    }
}

/* Milliseconds until the next idle expiry or accept retry; -1: none. */
static int ps_timeout(time_t now)
{
    time_t next = ps.accept_pause_until > now ? ps.accept_pause_until : 0;

    for (size_t i = 0; i < ps.nconns; i++) {
        time_t expiry = ps.conns[i]->last + POLICYSERVER_IDLE_SECONDS;
        if (next == 0 || expiry < next)
            next = expiry;
    }
    if (next == 0)
        return -1;
    return next <= now ? 0 : (int)(next - now) * 1000;
}

/* Remove the slots of closed connections, keeping the order. */
static void ps_compact(void)
{
    size_t j = 0;

    for (size_t i = 0; i < ps.nconns; i++)
        if (ps.conns[i] != NULL)
            ps.conns[j++] = ps.conns[i];
    ps.nconns = j;
}

/* One round: poll, serve, accept, expire. False when told to stop. */
static bool ps_round(void)
{
    struct pollfd pfd[2 + POLICYSERVER_MAX_CONNS];
    time_t now = ps_now();
    size_t nfds = 1, first_conn;
    bool listening = ps.nconns < POLICYSERVER_MAX_CONNS && now >= ps.accept_pause_until;

    pfd[0] = (struct pollfd){ .fd = ps.wake[0], .events = POLLIN };
    if (listening)
        pfd[nfds++] = (struct pollfd){ .fd = ps.listen_fd, .events = POLLIN };
    first_conn = nfds;
    for (size_t i = 0; i < ps.nconns; i++)
        pfd[nfds++] = (struct pollfd){ .fd = ps.conns[i]->fd,
                                       .events = ps_events(ps.conns[i]) };
    if (poll(pfd, nfds, ps_timeout(now)) < 0 && errno != EINTR) {
        log_msg(LOG_ERR, "policy service: poll: %s", strerror(errno));
        return false;
    }
    if (pfd[0].revents != 0)
        return false;
    now = ps_now();
    for (size_t i = 0; i < nfds - first_conn; i++) {
        struct ps_conn *c = ps.conns[i];
        short rev = pfd[first_conn + i].revents;
        if ((rev != 0 && !ps_service(c, rev, now)) ||
            now - c->last >= POLICYSERVER_IDLE_SECONDS) {
            ps_conn_free(c);
            ps.conns[i] = NULL;
        }
    }
    ps_compact();
    if (listening && (pfd[1].revents & POLLIN))
        ps_accept(now);
    return true;
}

/* The server thread. */
static void *ps_main(void *arg)
{
    sigset_t all;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (ps_round())
        ;
    for (size_t i = 0; i < ps.nconns; i++)
        ps_conn_free(ps.conns[i]);
    ps.nconns = 0;
    return NULL;
}

/* Serve on listen_fd in a thread of its own; see policyserver.h. */
bool policyserver_start(int listen_fd)
{
    sigset_t all, old;
    int rc;

    if (ps.running || listen_fd < 0)
        return false;
    if (pipe2(ps.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_msg(LOG_ERR, "policy service: pipe: %s", strerror(errno));
        return false;
    }
    ps.listen_fd = listen_fd;
    /* The thread starts with every signal blocked: none can land on it. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&ps.thread, NULL, ps_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_msg(LOG_ERR, "policy service: cannot start thread: %s", strerror(rc));
        close(ps.wake[0]);
        close(ps.wake[1]);
        ps.wake[0] = ps.wake[1] = -1;
        return false;
    }
    ps.running = true;
    return true;
}

/* Remove our unix socket file, unless another process replaced it. */
static void ps_remove_socket_file(void)
{
    struct stat st;

    if (ps.have_path && stat(ps.path, &st) == 0 && st.st_dev == ps.dev &&
        st.st_ino == ps.ino)
        unlink(ps.path);
    ps.have_path = false;
}

/* Stop serving and close every connection; see policyserver.h. */
void policyserver_stop(void)
{
    if (ps.running) {
        ssize_t n;
        do
            n = write(ps.wake[1], "x", 1);
        while (n < 0 && errno == EINTR);
        pthread_join(ps.thread, NULL);
        ps.running = false;
        close(ps.wake[0]);
        close(ps.wake[1]);
        ps.wake[0] = ps.wake[1] = -1;
    }
    if (ps.listen_fd >= 0) {
        close(ps.listen_fd);
        ps.listen_fd = -1;
    }
    ps_remove_socket_file();
}
