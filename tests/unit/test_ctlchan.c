/*
 * test_ctlchan.c - the supervisor's control channel: one message per
 * send, a descriptor passed along arrives usable (the sealed bytes read
 * back), extra descriptors are closed rather than leaked, a long message
 * is cut but still terminated, nowait never blocks, and end of file is 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/socket.h>

#include "config.h"
#include "confbytes.h"
#include "ctlchan.h"
#include "testutil.h"

/* Two messages stay two messages; no descriptor means -1. */
static void test_messages(void **state)
{
    char text[CTLCHAN_MAX];
    int fds[2], fd;

    (void)state;
    assert_true(ctlchan_pair(fds));
    assert_true(ctlchan_send(fds[0], "ready", -1, true));
    assert_true(ctlchan_send(fds[0], "valid 1 inbound=2 outbound=3 facility=16", -1, true));
    check_int("first length", ctlchan_recv(fds[1], text, sizeof(text), &fd, true), 5);
    check_str("first", text, "ready");
    check_int("no descriptor", fd, -1);
    ctlchan_recv(fds[1], text, sizeof(text), &fd, true);
    check_str("second", text, "valid 1 inbound=2 outbound=3 facility=16");
    check_int("nothing waiting", ctlchan_recv(fds[1], text, sizeof(text), &fd, true), -1);
    check_bool_in("EAGAIN", "nowait", errno == EAGAIN || errno == EWOULDBLOCK, true);
    close(fds[0]);
    check_int("end of file", ctlchan_recv(fds[1], text, sizeof(text), &fd, true), 0);
    close(fds[1]);
}

/* A sealed configuration passes to the other end and reads back. */
static void test_descriptor(void **state)
{
    static const char conf[] = "inbound = ();\n";
    char text[CTLCHAN_MAX], *got;
    int fds[2], sealed, fd = -1;
    size_t len = 0;

    (void)state;
    assert_true(ctlchan_pair(fds));
    sealed = confbytes_seal(conf, sizeof(conf) - 1);
    assert_true(sealed >= 0);
    assert_true(ctlchan_send(fds[0], "load 7", sealed, true));
    close(sealed);
    ctlchan_recv(fds[1], text, sizeof(text), &fd, false);
    check_str("message", text, "load 7");
    assert_true(fd >= 0);
    check_bool_in("close-on-exec", "received", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, true);
    got = confbytes_read(fd, &len);
    assert_non_null(got);
    check_str("content", got, conf);
    free(got);
    close(fd);
    close(fds[0]);
    close(fds[1]);
}

/* How many descriptors this process has open. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    if (d == NULL)
        fail_msg("opendir /proc/self/fd failed");
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Two descriptors in one message: the first is kept, the second closed. */
static void test_extra_descriptor(void **state)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(2 * sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = "load 1", .iov_len = 6 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
    struct cmsghdr *c;
    int fds[2], two[2], got = -1, before;
    char text[CTLCHAN_MAX];

    (void)state;
    assert_true(ctlchan_pair(fds));
    two[0] = confbytes_seal("a", 1);
    two[1] = confbytes_seal("b", 1);
    memset(&control, 0, sizeof(control));
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(c), two, sizeof(two));
    assert_int_equal(sendmsg(fds[0], &msg, 0), 6);
    close(two[0]);
    close(two[1]);
    before = open_fds();
    ctlchan_recv(fds[1], text, sizeof(text), &got, false);
    assert_true(got >= 0);
    check_int("open descriptors (one more, none leaked)", open_fds(), before + 1);
    close(got);
    close(fds[0]);
    close(fds[1]);
}

/* A message longer than the buffer is cut and terminated. */
static void test_long(void **state)
{
    char big[CTLCHAN_MAX + 100], text[16];
    int fds[2], fd;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_true(ctlchan_pair(fds));
    assert_true(ctlchan_send(fds[0], big, -1, true));
    check_int("cut to the buffer", ctlchan_recv(fds[1], text, sizeof(text), &fd, true), 15);
    check_int("terminated", text[15], '\0');
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_extra_descriptor),
        cmocka_unit_test(test_long),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
