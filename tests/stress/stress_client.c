/*
 * stress_client.c - the load client of tests/e2e/stress.sh: many concurrent
 * SMTP sessions that tolerate refusals, and a milter readiness probe.
 *
 * Owns: driving SMTP sessions against one MTA port (plaintext, or STARTTLS
 * with a client certificate), classifying every session's outcome, and
 * printing per-class counts. Postfix's smtp-source stops at the first 550;
 * this client counts it and goes on. It decides nothing about policy: the
 * script judges the counts and the MTA's log.
 *
 * Must not: run unbounded. Every read and write has a time limit, every run
 * has a deadline, and connections go to 127.0.0.1 only.
 *
 * Thread safety: one thread per concurrent session slot; the only shared
 * state is the counters and the outcome file, both under one mutex, and the
 * session number (an atomic).
 *
 * Usage:
 *   stress_client smtp -p PORT -c CONCURRENCY [-n SESSIONS] [-t SECONDS]
 *                 [-s STOPFILE] [-k CERT -K KEY] [-o OUTCOMES] [-w TIMEOUT]
 *                 [-d PAUSE_MS]
 *     Classes rotate per session: 0 "plain" (partner sender, plaintext: the
 *     policy refuses it), 1 "cert" (partner sender over STARTTLS with the
 *     client certificate: accepted), 2 "unmatched" (another sender,
 *     plaintext: accepted). Senders are pt-N@contoso.example,
 *     ct-N@contoso.example and un-N@unrelated.example; the recipient is
 *     r-N@example.org. Stops after SESSIONS sessions, after SECONDS, or once
 *     STOPFILE exists, whichever comes first. OUTCOMES gets one line per
 *     session: "START END CLASS OUTCOME REPLY" (times in seconds since the
 *     epoch). Each slot pauses PAUSE_MS between sessions (default 0), 200 ms
 *     after a tempfail. Prints one line per class and a total line.
 *   stress_client probe -p PORT [-w SECONDS]
 *     Tries a milter option negotiation on 127.0.0.1:PORT every 10 ms until
 *     one is answered; prints the seconds it took. Exit 0 when answered,
 *     1 after SECONDS (default 60).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define CLASS_COUNT 3
#define MAX_SLOTS 1000

enum outcome {
    OUT_ACCEPTED,   /* 250 to the end of DATA: queued */
    OUT_REFUSED,    /* 5xx to RCPT */
    OUT_TEMPFAIL,   /* 4xx at any step */
    OUT_NOANSWER,   /* timeout, EOF, connection or TLS failure */
    OUT_OTHER,      /* any other reply where it does not belong */
    OUT_COUNT
};

static const char *const class_names[CLASS_COUNT] = { "plain", "cert", "unmatched" };
static const char *const outcome_names[OUT_COUNT] = {
    "accepted", "refused", "tempfail", "noanswer", "other"
};

struct options {
    int port;
    int concurrency;
    long sessions;          /* 0: no limit */
    double seconds;         /* run deadline */
    const char *stopfile;
    const char *cert, *key;
    const char *outcomes;
    int timeout;            /* per read or write */
    long pause_ms;          /* between two sessions of a slot */
};

static struct options opt = { .seconds = 600, .timeout = 60 };
static SSL_CTX *ssl_ctx;
static atomic_long next_session;
static double run_deadline;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counts[CLASS_COUNT][OUT_COUNT];
static long rcpt_codes[CLASS_COUNT][3];     /* RCPT replies 250, 451, 550 */
static FILE *outcome_file;

/* Seconds since the epoch, with microseconds. */
static double now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* One SMTP connection: a socket, optionally wrapped in TLS. */
struct conn {
    int fd;
    SSL *ssl;
    char buf[4096];
    size_t len;
};

/* A connected TCP socket to 127.0.0.1:port with I/O timeouts, or -1. */
static int tcp_connect(int port, int timeout)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { .tv_sec = timeout };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Write all of text; false on error or timeout. */
static bool conn_write(struct conn *c, const char *text)
{
    size_t n = strlen(text), done = 0;

    while (done < n) {
        ssize_t w;

        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, text + done, (int)(n - done));

            w = r > 0 ? r : -1;
        } else {
            w = send(c->fd, text + done, n - done, MSG_NOSIGNAL);
        }
        if (w <= 0)
            return false;
        done += (size_t)w;
    }
    return true;
}

/* Read more bytes into the buffer; false on EOF, error or timeout. */
static bool conn_fill(struct conn *c)
{
    ssize_t r;

    if (c->len >= sizeof(c->buf) - 1)
        return false;
    if (c->ssl != NULL) {
        int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - 1 - c->len));

        r = n > 0 ? n : -1;
    } else {
        r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
    }
    if (r <= 0)
        return false;
    c->len += (size_t)r;
    return true;
}

/*
 * Read one (possibly multi-line) SMTP reply; returns its code, 0 on EOF,
 * error or timeout. The last line goes to last (for the outcome file).
 */
static int conn_reply(struct conn *c, char *last, size_t lastsz)
{
    for (;;) {
        char *eol;

        while ((eol = memchr(c->buf, '\n', c->len)) == NULL)
            if (!conn_fill(c))
                return 0;
        size_t linelen = (size_t)(eol - c->buf) + 1;
        bool final = linelen >= 4 && c->buf[3] == ' ';
        int code = linelen >= 4 ? atoi(c->buf) : 0;

        if (final && last != NULL) {
            size_t n = linelen < lastsz ? linelen : lastsz - 1;

            memcpy(last, c->buf, n);
            last[n] = '\0';
            last[strcspn(last, "\r\n")] = '\0';
        }
        memmove(c->buf, eol + 1, c->len - linelen);
        c->len -= linelen;
        if (final || linelen < 4)
            return final ? code : 0;
    }
}

/* Send a command and read its reply code (0: no answer). */
static int conn_cmd(struct conn *c, const char *cmd, char *last, size_t lastsz)
{
    if (!conn_write(c, cmd))
        return 0;
    return conn_reply(c, last, lastsz);
}

/* Switch the connection to TLS with the client certificate. */
static bool conn_starttls(struct conn *c)
{
    c->ssl = SSL_new(ssl_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return false;
    c->len = 0;
    return SSL_connect(c->ssl) == 1;
}

/* Close the connection (QUIT first when asked). */
static void conn_close(struct conn *c, bool quit)
{
    if (quit)
        conn_cmd(c, "QUIT\r\n", NULL, 0);
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
}

/* Outcome of a reply code where 2xx (or 3xx) continues. */
static enum outcome code_outcome(int code)
{
    if (code == 0)
        return OUT_NOANSWER;
    if (code >= 400 && code < 500)
        return OUT_TEMPFAIL;
    return OUT_OTHER;
}

/* Count an RCPT reply code. */
static void count_rcpt(int cls, int code)
{
    int i = code == 250 ? 0 : code == 451 ? 1 : code == 550 ? 2 : -1;

    if (i >= 0) {
        pthread_mutex_lock(&lock);
        rcpt_codes[cls][i]++;
        pthread_mutex_unlock(&lock);
    }
}

/* Run one SMTP session number n; returns its outcome, last reply in last. */
static enum outcome session_run(long n, int cls, char *last, size_t lastsz)
{
    static const char *const prefixes[CLASS_COUNT] = { "pt", "ct", "un" };
    static const char *const domains[CLASS_COUNT] = {
        "contoso.example", "contoso.example", "unrelated.example"
    };
    struct conn c = { .fd = tcp_connect(opt.port, opt.timeout) };
    char cmd[256], sender[128];
    enum outcome out = OUT_NOANSWER;
    int code;

    snprintf(last, lastsz, "connect failed");
    if (c.fd < 0)
        return OUT_NOANSWER;
    snprintf(sender, sizeof(sender), "%s-%ld@%s", prefixes[cls], n, domains[cls]);
    code = conn_reply(&c, last, lastsz);
    if (code != 220)
        goto done;
    if ((code = conn_cmd(&c, "EHLO stress.example\r\n", last, lastsz)) != 250)
        goto done;
    if (cls == 1) {
        if ((code = conn_cmd(&c, "STARTTLS\r\n", last, lastsz)) != 220)
            goto done;
        if (!conn_starttls(&c)) {
            snprintf(last, lastsz, "TLS handshake failed");
            code = 0;
            goto done;
        }
        if ((code = conn_cmd(&c, "EHLO stress.example\r\n", last, lastsz)) != 250)
            goto done;
    }
    snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", sender);
    if ((code = conn_cmd(&c, cmd, last, lastsz)) != 250)
        goto done;
    snprintf(cmd, sizeof(cmd), "RCPT TO:<r-%ld@example.org>\r\n", n);
    code = conn_cmd(&c, cmd, last, lastsz);
    count_rcpt(cls, code);
    if (code >= 500 && code < 600) {
        out = OUT_REFUSED;
        goto quit;
    }
    if (code != 250)
        goto done;
    if ((code = conn_cmd(&c, "DATA\r\n", last, lastsz)) != 354)
        goto done;
    snprintf(cmd, sizeof(cmd), "From: <%s>\r\nTo: <r-%ld@example.org>\r\n"
             "Subject: stress %ld\r\n\r\nstress\r\n.\r\n", sender, n, n);
    code = conn_cmd(&c, cmd, last, lastsz);
    if (code == 250) {
        out = OUT_ACCEPTED;
        goto quit;
    }
done:
    if (code != 0)
        out = code_outcome(code);
quit:
    conn_close(&c, out != OUT_NOANSWER);
    return out;
}

/* Should the run stop before starting another session? */
static bool run_over(void)
{
    struct stat st;

    if (now() >= run_deadline)
        return true;
    return opt.stopfile != NULL && stat(opt.stopfile, &st) == 0;
}

/* One concurrent slot: sessions back to back until the run is over. */
static void *slot_main(void *arg)
{
    (void)arg;
    while (!run_over()) {
        long n = atomic_fetch_add(&next_session, 1);
        int cls = (int)(n % CLASS_COUNT);
        char last[160];
        double start, end;
        enum outcome out;

        if (opt.sessions > 0 && n >= opt.sessions)
            break;
        start = now();
        out = session_run(n, cls, last, sizeof(last));
        end = now();
        pthread_mutex_lock(&lock);
        counts[cls][out]++;
        if (outcome_file != NULL)
            fprintf(outcome_file, "%.6f %.6f %s %s %s\n", start, end,
                    class_names[cls], outcome_names[out], last);
        pthread_mutex_unlock(&lock);
        /* A tempfailed sender waits a little, as a real MTA would (longer). */
        long ms = out == OUT_TEMPFAIL || out == OUT_NOANSWER ? 200 : 0;

        if (opt.pause_ms > ms)
            ms = opt.pause_ms;
        if (ms > 0) {
            const struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };

            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

/* Print the counts: one line per class, then the totals. */
static void print_counts(double elapsed)
{
    long total[OUT_COUNT] = { 0 }, all = 0;

    for (int cls = 0; cls < CLASS_COUNT; cls++) {
        long n = 0;

        for (int o = 0; o < OUT_COUNT; o++) {
            n += counts[cls][o];
            total[o] += counts[cls][o];
        }
        all += n;
        printf("class=%s sessions=%ld", class_names[cls], n);
        for (int o = 0; o < OUT_COUNT; o++)
            printf(" %s=%ld", outcome_names[o], counts[cls][o]);
        printf(" rcpt250=%ld rcpt451=%ld rcpt550=%ld\n", rcpt_codes[cls][0],
               rcpt_codes[cls][1], rcpt_codes[cls][2]);
    }
    printf("class=all sessions=%ld", all);
    for (int o = 0; o < OUT_COUNT; o++)
        printf(" %s=%ld", outcome_names[o], total[o]);
    printf(" seconds=%.2f sessions_per_s=%.1f\n", elapsed,
           elapsed > 0 ? all / elapsed : 0.0);
}

/* The smtp subcommand. */
static int run_smtp(void)
{
    pthread_t threads[MAX_SLOTS];
    int started = 0;
    double t0;

    if (opt.port <= 0 || opt.concurrency <= 0 || opt.concurrency > MAX_SLOTS) {
        fprintf(stderr, "stress_client: need -p PORT and -c 1..%d\n", MAX_SLOTS);
        return 2;
    }
    ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (ssl_ctx == NULL)
        return 2;
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
    if (opt.cert != NULL
        && (SSL_CTX_use_certificate_chain_file(ssl_ctx, opt.cert) != 1
            || SSL_CTX_use_PrivateKey_file(ssl_ctx, opt.key, SSL_FILETYPE_PEM) != 1)) {
        fprintf(stderr, "stress_client: cannot load %s / %s\n", opt.cert, opt.key);
        ERR_print_errors_fp(stderr);
        return 2;
    }
    if (opt.outcomes != NULL && (outcome_file = fopen(opt.outcomes, "w")) == NULL) {
        perror(opt.outcomes);
        return 2;
    }
    t0 = now();
    run_deadline = t0 + opt.seconds;
    for (int i = 0; i < opt.concurrency; i++) {
        if (pthread_create(&threads[i], NULL, slot_main, NULL) != 0) {
            fprintf(stderr, "stress_client: pthread_create failed after %d\n", i);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    print_counts(now() - t0);
    if (outcome_file != NULL)
        fclose(outcome_file);
    SSL_CTX_free(ssl_ctx);
    return started == opt.concurrency ? 0 : 1;
}

/* One milter option negotiation on a fresh connection; true when answered. */
static bool probe_once(int port)
{
    /* SMFIC_OPTNEG: length 13, 'O', version 6, all actions, no steps off. */
    static const unsigned char optneg[17] = {
        0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff
    };
    static const unsigned char quit[5] = { 0, 0, 0, 1, 'Q' };
    unsigned char reply[5];
    size_t got = 0;
    int fd = tcp_connect(port, 5);
    bool ok = false;

    if (fd < 0)
        return false;
    if (send(fd, optneg, sizeof(optneg), MSG_NOSIGNAL) == (ssize_t)sizeof(optneg)) {
        while (got < sizeof(reply)) {
            ssize_t r = recv(fd, reply + got, sizeof(reply) - got, 0);

            if (r <= 0)
                break;
            got += (size_t)r;
        }
        ok = got == sizeof(reply) && reply[4] == 'O';
        if (ok)
            (void)send(fd, quit, sizeof(quit), MSG_NOSIGNAL);
    }
    close(fd);
    return ok;
}

/* The probe subcommand. */
static int run_probe(void)
{
    const struct timespec step = { 0, 10 * 1000 * 1000 };
    double t0 = now(), limit = opt.seconds > 0 ? opt.seconds : 120;

    if (opt.port <= 0) {
        fprintf(stderr, "stress_client: need -p PORT\n");
        return 2;
    }
    while (now() - t0 < limit) {
        if (probe_once(opt.port)) {
            printf("%.3f\n", now() - t0);
            return 0;
        }
        nanosleep(&step, NULL);
    }
    printf("timeout\n");
    return 1;
}

int main(int argc, char **argv)
{
    int ch;

    if (argc < 2) {
        fprintf(stderr, "usage: stress_client smtp|probe [options]\n");
        return 2;
    }
    optind = 2;
    while ((ch = getopt(argc, argv, "p:c:n:t:s:k:K:o:w:d:")) != -1) {
        switch (ch) {
        case 'p': opt.port = atoi(optarg); break;
        case 'c': opt.concurrency = atoi(optarg); break;
        case 'n': opt.sessions = atol(optarg); break;
        case 't': opt.seconds = atof(optarg); break;
        case 's': opt.stopfile = optarg; break;
        case 'k': opt.cert = optarg; break;
        case 'K': opt.key = optarg; break;
        case 'o': opt.outcomes = optarg; break;
        case 'w': opt.timeout = atoi(optarg); break;
        case 'd': opt.pause_ms = atol(optarg); break;
        default: return 2;
        }
    }
    if (strcmp(argv[1], "smtp") == 0)
        return run_smtp();
    if (strcmp(argv[1], "probe") == 0) {
        opt.seconds = opt.timeout;
        return run_probe();
    }
    fprintf(stderr, "stress_client: unknown command %s\n", argv[1]);
    return 2;
}
