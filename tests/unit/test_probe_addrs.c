/*
 * test_probe_addrs.c - unit tests for forcetls connector --probe when a
 * name has several addresses: one that never answers the connect (a full
 * listen queue on loopback, as a black-holed IPv6 route) must not take
 * the whole --timeout, so the next address is still tried. getaddrinfo
 * and freeaddrinfo are replaced here to give the name two loopback
 * addresses on two ports.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "probe.h"
#include "testutil.h"

/* The ports of the two addresses of "two.test": the silent one first. */
static unsigned silent_port, answer_port;

/* One AF_INET loopback entry on port, linked before next. */
static struct addrinfo *entry(unsigned port, struct addrinfo *next)
{
    struct addrinfo *ai = calloc(1, sizeof *ai);
    struct sockaddr_in *a = calloc(1, sizeof *a);

    if (ai == NULL || a == NULL)
        fail_msg("calloc failed");
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ai->ai_family = AF_INET;
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_addr = (struct sockaddr *)a;
    ai->ai_addrlen = sizeof *a;
    ai->ai_next = next;
    return ai;
}

/* The resolver of this test: "two.test" has two addresses, nothing else. */
int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res)
{
    (void)service;
    (void)hints;
    if (node == NULL || strcmp(node, "two.test") != 0)
        return EAI_NONAME;
    *res = entry(silent_port, entry(answer_port, NULL));
    return 0;
}

/* Free what getaddrinfo above made. */
void freeaddrinfo(struct addrinfo *ai)
{
    while (ai != NULL) {
        struct addrinfo *next = ai->ai_next;

        free(ai->ai_addr);
        free(ai);
        ai = next;
    }
}

/* A loopback listener with a queue of length; its port into *port. */
static int listener(int backlog, unsigned *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, alen) != 0 ||
        listen(s, backlog) != 0 || getsockname(s, (struct sockaddr *)&a, &alen) != 0)
        fail_msg("cannot listen on the loopback address");
    *port = ntohs(a.sin_port);
    return s;
}

/* Milliseconds of the monotonic clock. */
static long long ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The first address never completes the connect; the second refuses the
 * session at once: the error is the second's, well within the timeout.
 */
static void test_next_address_after_a_silent_one(void **state)
{
    struct probe_request req = { .timeout_ms = 2000, .helo = "probe.lab.example" };
    struct probe_result res;
    char err[PROBE_ERR_MAX];
    int full = listener(0, &silent_port), answer = listener(1, &answer_port);
    int fill[4];
    long long t0;
    pid_t pid;
    bool ok;

    (void)state;
    /* Fill the silent listener's queue: later SYNs are dropped. */
    for (size_t i = 0; i < ARRAY_LEN(fill); i++) {
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)silent_port) };

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    pid = fork();
    if (pid < 0)
        fail_msg("fork failed");
    if (pid == 0) {
        int c = accept(answer, NULL, NULL);

        alarm(10);
        if (c >= 0)
            (void)write(c, "554 5.7.1 no\r\n", 14);
        sleep(5);
        _exit(0);
    }
    close(answer);
    if (!probe_parse_target("two.test", &req, err, sizeof err))
        fail_msg("probe_parse_target(two.test): got \"%s\"", err);
    t0 = ms_now();
    ok = probe_run(&req, &res, err, sizeof err);
    t0 = ms_now() - t0;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    for (size_t i = 0; i < ARRAY_LEN(fill); i++)
        close(fill[i]);
    close(full);
    check_bool_in("probe_run", "two.test", ok, false);
    check_str("the second address answered", err,
              "two.test:25: the server refused the session: \"554 5.7.1 no\"");
    if (t0 >= 2000)
        fail_msg("elapsed: got %lld ms, want less than the 2000 ms timeout", t0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_address_after_a_silent_one),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
