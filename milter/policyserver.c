/*
 * policyserver.c - the Postfix socketmap service on policy_socket.
 *
 * Owns the policy socket and one thread that serves it: poll() over the
 * listening socket, a self-pipe, and up to POLICYSERVER_MAX_CONNS client
 * connections, all non-blocking. What a connection may do is decided by
 * policyconn.c (framing, pipelining, deadlines, whom to evict); this file
 * does the I/O. Requests may be pipelined and connections are persistent
 * (Postfix keeps one open per process and closes it after 10 s idle).
 * Every request takes a reference to the active configuration snapshot
 * for the duration of one answer, so a reload applies to the next lookup.
 *
 * Must not: block (a slow or hostile client only ever stalls itself),
 * let idle or slow clients hold the slots Postfix needs (a request must
 * be complete POLICYCONN_REQUEST_MS after its first byte, an idle
 * connection is closed after POLICYCONN_IDLE_MS, and when every slot is
 * taken a new connection evicts the idlest), grow memory with input or
 * connections (the slots are allocated once; a client that does not read
 * its replies stops being read), resynchronise a broken stream (a
 * malformed request is answered "PERM ..." and the connection is closed),
 * or take signals (every signal is blocked in the thread; writes use
 * MSG_NOSIGNAL).
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
#include <stdint.h>
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
#include "policyconn.h"
#include "policymap.h"
#include "policyserver.h"
#include "safepath.h"

#define POLICYSERVER_MAX_CONNS 256
#define POLICYSERVER_BACKLOG 64
/* Per round: accepts, and reads of one connection (fairness). */
#define PS_ACCEPT_PER_ROUND 64
#define PS_READS_PER_ROUND 16

_Static_assert(POLICYCONN_REPLY_MAX == POLICYMAP_REPLY_MAX,
               "a policymap reply must fit a policyconn reply");

/* One connection slot: allocated once, reused for every connection. */
struct ps_slot {
    int fd;
    bool counted;               /* its malformed request was counted */
    struct policyconn conn;
};

static struct {
    int listen_fd;
    int wake[2];
    bool running;
    pthread_t thread;
    int64_t accept_pause_until; /* after EMFILE: stop polling the listener */
    struct ps_slot *slots;      /* POLICYSERVER_MAX_CONNS of them */
    struct ps_slot *conns[POLICYSERVER_MAX_CONNS];  /* in use, oldest first */
    size_t nconns;
    struct ps_slot *spare[POLICYSERVER_MAX_CONNS];  /* free */
    size_t nspare;
    struct {                    /* since the last report (ps_report) */
        unsigned long evicted, deadline, idle, malformed, truncated;
        const char *malformed_why;
    } count;
    int64_t reported;
    bool have_path;             /* a unix socket we created: remove at stop */
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
    dev_t dev;
    ino_t ino;
} ps = { .listen_fd = -1, .wake = { -1, -1 } };

/* Monotonic milliseconds. */
static int64_t ps_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Answer one request from the active snapshot; false: close after it. */
static bool ps_answer(void *ctx, const char *request, char *reply, size_t replysz)
{
    const struct config *config = confref_acquire();
    enum policymap_result res = policymap_answer(config, request, reply, replysz);

    (void)ctx;
    confref_release(config);
    if (res == POLICYMAP_BAD_REQUEST || log_debug_enabled()) {
        char req_v[LOG_VALUE_BUF], reply_v[LOG_VALUE_BUF];
        log_value(request, req_v, sizeof req_v);
        log_value(reply, reply_v, sizeof reply_v);
        log_msg(res == POLICYMAP_BAD_REQUEST ? LOG_WARNING : LOG_DEBUG,
                "policy request=%s reply=%s%s", req_v, reply_v,
                res == POLICYMAP_BAD_REQUEST ? " closing=yes" : "");
    }
    return res != POLICYMAP_BAD_REQUEST;
}

/* Close the connection in slot s and return the slot to the spares. */
static void ps_slot_close(struct ps_slot *s)
{
    close(s->fd);
    s->fd = -1;
    ps.spare[ps.nspare++] = s;
}

/* Send queued output until it is all sent or the socket is full. */
static bool ps_flush(struct ps_slot *s, int64_t now)
{
    size_t len;
    const char *out;

    while ((out = policyconn_output(&s->conn, &len)) != NULL) {
        ssize_t n = send(s->fd, out, len, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        policyconn_sent(&s->conn, (size_t)n, now);
    }
    return true;
}

/* True when s has buffered input it can answer without waiting for poll. */
static bool ps_has_work(const struct ps_slot *s)
{
    const struct policyconn *c = &s->conn;

    return !c->closing && c->in_off < c->in_len &&
           sizeof c->out - (c->out_len - c->out_off) >= POLICYCONN_REPLY_ROOM;
}

/*
 * Read, answer and send for s until it would block, it is done, or it
 * had its share of this round (PS_READS_PER_ROUND reads, so a pipelining
 * client cannot starve the others). False when s is to be closed.
 */
static bool ps_serve(struct ps_slot *s, short revents, int64_t now)
{
    struct policyconn *c = &s->conn;

    if (revents & (POLLERR | POLLNVAL))
        return false;
    for (int reads = 0; reads < PS_READS_PER_ROUND;) {
        size_t pending;
        if (!ps_flush(s, now))
            return false;
        if (policyconn_output(c, &pending) != NULL || policyconn_done(c))
            break;              /* the client reads slower than it asks */
        if (policyconn_wants_read(c)) {
            ssize_t n = recv(s->fd, policyconn_read_buffer(c), POLICYCONN_IN_SIZE, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    break;
                return false;
            }
            if (n == 0 && !netstring_reader_idle(&c->reader))
                ps.count.truncated++;
            policyconn_received(c, (size_t)n);
            reads++;
        }
        policyconn_process(c, ps_answer, NULL, now);
        if (c->closing && c->reader.state == NETSTRING_STATE_ERROR && !s->counted) {
            ps.count.malformed++;
            ps.count.malformed_why = netstring_strerror(c->reader.error);
            s->counted = true;
        }
    }
    if (!ps_flush(s, now))
        return false;
    return !policyconn_done(c);
}

/* The events s waits for. */
static short ps_events(const struct ps_slot *s)
{
    size_t pending;
    short ev = 0;

    if (policyconn_wants_read(&s->conn))
        ev |= POLLIN;
    if (policyconn_output(&s->conn, &pending) != NULL)
        ev |= POLLOUT;
    return ev;
}

/* Remove conns[i], keeping the order of the others. */
static void ps_remove(size_t i)
{
    ps_slot_close(ps.conns[i]);
    memmove(&ps.conns[i], &ps.conns[i + 1], (ps.nconns - i - 1) * sizeof ps.conns[0]);
    ps.nconns--;
}

/* Close the idlest connection to make room for a new one. */
static void ps_evict(void)
{
    const struct policyconn *view[POLICYSERVER_MAX_CONNS];

    for (size_t i = 0; i < ps.nconns; i++)
        view[i] = &ps.conns[i]->conn;
    ps_remove(policyconn_pick_victim(view, ps.nconns));
    ps.count.evicted++;
}

/*
 * Log what hostile or broken clients did: the first event at once, then
 * at most one line a minute with the counts (and the rest at stop), so
 * that no client can flood the log. Idle connections closed on time are
 * normal: they are counted but do not cause a report.
 */
static void ps_report(int64_t now, bool force)
{
    if ((ps.count.evicted | ps.count.deadline | ps.count.malformed |
         ps.count.truncated) == 0 || (!force && now - ps.reported < 60000))
        return;
    log_msg(LOG_WARNING, "policy service: since the last report: %lu evicted"
            " (all %d connections in use; idlest first), %lu past the request"
            " deadline (%d ms), %lu idle (%d ms), %lu malformed (last: %s),"
            " %lu closed in the middle of a request", ps.count.evicted,
            POLICYSERVER_MAX_CONNS, ps.count.deadline, POLICYCONN_REQUEST_MS,
            ps.count.idle, POLICYCONN_IDLE_MS, ps.count.malformed,
            ps.count.malformed_why != NULL ? ps.count.malformed_why : "none",
            ps.count.truncated);
    memset(&ps.count, 0, sizeof ps.count);
    ps.reported = now;
}

/*
 * Accept waiting connections (a batch per round). When every slot is in
 * use, each new connection evicts the idlest, so idle or slow clients
 * cannot keep Postfix waiting. A new connection is served at once: its
 * request is usually already there.
 */
static void ps_accept(int64_t now)
{
    for (int i = 0; i < PS_ACCEPT_PER_ROUND; i++) {
        int fd = accept4(ps.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct ps_slot *s;

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                log_msg(LOG_WARNING, "policy service: accept: %s", strerror(errno));
                ps.accept_pause_until = now + 1000;
            }
            return;
        }
        if (ps.nconns == POLICYSERVER_MAX_CONNS)
            ps_evict();
        s = ps.spare[--ps.nspare];
        s->fd = fd;
        s->counted = false;
        policyconn_init(&s->conn, now);
        ps.conns[ps.nconns++] = s;
        if (!ps_serve(s, 0, now))
            ps_remove(ps.nconns - 1);
    }
}

/* Milliseconds until the next deadline or accept retry; -1: none. */
static int ps_timeout(int64_t now)
{
    int64_t next = ps.accept_pause_until > now ? ps.accept_pause_until : INT64_MAX;

    for (size_t i = 0; i < ps.nconns; i++) {
        int64_t d = ps_has_work(ps.conns[i]) ? now
                                             : policyconn_deadline(&ps.conns[i]->conn);
        if (d < next)
            next = d;
    }
    if (next == INT64_MAX)
        return -1;
    if (next <= now)
        return 0;
    return next - now > 3600000 ? 3600000 : (int)(next - now);
}

/* One round: poll, serve, expire, accept. False when told to stop. */
static bool ps_round(void)
{
    struct pollfd pfd[2 + POLICYSERVER_MAX_CONNS];
    int64_t now = ps_now_ms();
    size_t nfds = 1, first_conn, nconns = ps.nconns;
    bool listening = now >= ps.accept_pause_until;

    pfd[0] = (struct pollfd){ .fd = ps.wake[0], .events = POLLIN };
    if (listening)
        pfd[nfds++] = (struct pollfd){ .fd = ps.listen_fd, .events = POLLIN };
    first_conn = nfds;
    for (size_t i = 0; i < nconns; i++)
        pfd[nfds++] = (struct pollfd){ .fd = ps.conns[i]->fd,
                                       .events = ps_events(ps.conns[i]) };
    if (poll(pfd, nfds, ps_timeout(now)) < 0 && errno != EINTR) {
        log_msg(LOG_ERR, "policy service: poll: %s", strerror(errno));
        return false;
    }
    if (pfd[0].revents != 0)
        return false;
    now = ps_now_ms();
    for (size_t i = nconns; i-- > 0;) {
        struct ps_slot *s = ps.conns[i];
        short rev = pfd[first_conn + i].revents;
        if ((rev != 0 || ps_has_work(s)) && !ps_serve(s, rev, now)) {
            ps_remove(i);
        } else if (now >= policyconn_deadline(&s->conn)) {
            if (s->conn.request_ms >= 0)
                ps.count.deadline++;
            else
                ps.count.idle++;
            ps_remove(i);
        }
    }
    if (listening && (pfd[1].revents & POLLIN))
        ps_accept(now);
    ps_report(now, false);
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
    ps_report(ps_now_ms(), true);
    while (ps.nconns > 0)
        ps_remove(ps.nconns - 1);
    return NULL;
}

/* Allocate every connection slot once (no allocation per connection). */
static bool ps_slots_alloc(void)
{
    if ((ps.slots = calloc(POLICYSERVER_MAX_CONNS, sizeof *ps.slots)) == NULL) {
        log_msg(LOG_ERR, "policy service: out of memory");
        return false;
    }
    ps.nconns = 0;
    memset(&ps.count, 0, sizeof ps.count);
    ps.reported = INT64_MIN / 2;
    for (size_t i = 0; i < POLICYSERVER_MAX_CONNS; i++) {
        ps.slots[i].fd = -1;
        ps.spare[i] = &ps.slots[POLICYSERVER_MAX_CONNS - 1 - i];
    }
    ps.nspare = POLICYSERVER_MAX_CONNS;
    return true;
}

/* Free the slots (every connection is closed). */
static void ps_slots_free(void)
{
    free(ps.slots);
    ps.slots = NULL;
    ps.nspare = 0;
}

/* Serve on listen_fd in a thread of its own; see policyserver.h. */
bool policyserver_start(int listen_fd)
{
    sigset_t all, old;
    int rc;

    if (ps.running || listen_fd < 0)
        return false;
    if (!ps_slots_alloc())
        return false;
    if (pipe2(ps.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_msg(LOG_ERR, "policy service: pipe: %s", strerror(errno));
        ps_slots_free();
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
        ps_slots_free();
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
        ps_slots_free();
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
