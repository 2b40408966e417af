/*
 * test_confbytes.c - the daemon's configuration bytes: config_load_bytes
 * gives the same result and the same "FILE:LINE: message" as config_load
 * from the path; a NUL byte and @include are refused with FILE:LINE (the
 * validated bytes must be all there is); config_read_bytes reports read
 * errors as FILE:0; and a sealed memory file (confbytes) reads back
 * exactly and cannot be changed, also when copied from a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "confbytes.h"
#include "testutil.h"

/* Same text through config_load(path) and config_load_bytes: same outcome. */
static void test_same_as_path(void **state)
{
    static const char *const texts[] = {
        "inbound = ( { name = \"a\"; sender_domains = [ \"a.example\" ]; } );\n",
        "default_action = \"reject\";\nmin_tls_version = \"TLSv1.4\";\n",
        "# comment\n\ninbound = ( { name = \"a\"; sender_ips = [ \"192.0.2.0/33\" ]; } );\n",
        "a = 1;\nb = = 2;\n",
        "default_actoin = \"reject\";\n",
        "",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
        char path[256];
        struct config_error e1, e2;
        struct config *c1, *c2;

        write_tmp(path, sizeof(path), texts[i]);
        c1 = config_load(path, &e1);
        c2 = config_load_bytes(path, texts[i], strlen(texts[i]), &e2);
        unlink(path);
        check_bool_in("loads by bytes", texts[i], c2 != NULL, c1 != NULL);
        if (c1 == NULL)
            check_str_in("error", texts[i], e2.text, e1.text);
        else
            check_int_in("inbound", texts[i], (long)c2->inbound_count,
                         (long)c1->inbound_count);
        config_free(c1);
        config_free(c2);
    }
}

/* A syntax error names the path given and the line, as from a file. */
static void test_syntax_line(void **state)
{
    static const char text[] = "a = 1;\n\nb = = 2;\n";
    struct config_error err;
    struct config *c;

    (void)state;
    c = config_load_bytes("/etc/forcetls/x.conf", text, sizeof(text) - 1, &err);
    assert_null(c);
    if (strncmp(err.text, "/etc/forcetls/x.conf:3: ", 24) != 0)
        fail_msg("got \"%s\", want /etc/forcetls/x.conf:3: ...", err.text);
}

/* A NUL byte is refused with its line (libconfig would stop reading there). */
static void test_nul(void **state)
{
    static const char text[] = "default_action = \"reject\";\n\n"
        "x\0inbound = ( { name = \"a\"; } );\n";
    struct config_error err;
    struct config *c;

    (void)state;
    c = config_load_bytes("f.conf", text, sizeof(text) - 1, &err);
    assert_null(c);
    check_str("NUL", err.text, "f.conf:3: NUL byte in the file");
}

/* @include is refused with its line, even of a valid file (bytes must be all). */
static void test_include(void **state)
{
    char inc[256], text[512], path[256];
    struct config_error err;
    struct config *c;

    (void)state;
    write_tmp(inc, sizeof(inc),
              "inbound = ( { name = \"a\"; sender_domains = [ \"a.example\" ]; } );\n");
    snprintf(text, sizeof(text), "default_action = \"reject\";\n  @include \"%s\"\n", inc);
    c = config_load_bytes("f.conf", text, strlen(text), &err);
    assert_null(c);
    check_str("@include", err.text,
              "f.conf:2: @include is not supported: put everything in one file");
    /* The same through the path. */
    write_tmp(path, sizeof(path), text);
    c = config_load(path, &err);
    unlink(path);
    unlink(inc);
    assert_null(c);
    if (strstr(err.text, ":2: @include is not supported") == NULL)
        fail_msg("config_load: got \"%s\", want FILE:2: @include is not supported", err.text);
}

/* Read errors: FILE:0: cannot read: ... */
static void test_read_errors(void **state)
{
    struct config_error err;
    size_t len;

    (void)state;
    assert_null(config_read_bytes("/nonexistent/forcetls.conf", &len, &err));
    check_str("missing", err.text,
              "/nonexistent/forcetls.conf:0: cannot read: No such file or directory");
    assert_null(config_read_bytes("/", &len, &err));
    check_str("directory", err.text, "/:0: not a regular file");
    assert_null(config_read_bytes("/dev/null", &len, &err));
    check_str("device", err.text, "/dev/null:0: not a regular file");
}

/*
 * A FIFO (no writer) is refused at once, not waited on: the supervisor
 * reads the file on reload and must not block. alarm() turns a blocking
 * open into a failure instead of a hang.
 */
static void test_read_fifo(void **state)
{
    char dir[] = "/tmp/test_confbytes.XXXXXX", path[64], want[96];
    struct config_error err, e2;
    size_t len;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    assert_null(config_read_bytes(path, &len, &err));
    assert_int_equal(confbytes_from_file(path, &e2), -1);
    alarm(0);
    unlink(path);
    rmdir(dir);
    snprintf(want, sizeof(want), "%s:0: not a regular file", path);
    check_str("fifo", err.text, want);
    check_str("fifo, from_file", e2.text, want);
}

/* A file over CONFIG_MAX_BYTES (sparse, so cheap) is refused before reading. */
static void test_read_too_large(void **state)
{
    char path[256], want[300];
    struct config_error err, e2;
    size_t len;
    int fd;

    (void)state;
    write_tmp(path, sizeof(path), "");
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)CONFIG_MAX_BYTES + 1), 0);
    close(fd);
    assert_null(config_read_bytes(path, &len, &err));
    assert_int_equal(confbytes_from_file(path, &e2), -1);
    unlink(path);
    snprintf(want, sizeof(want), "%s:0: larger than the limit of 256 MiB", path);
    check_str("too large", err.text, want);
    check_str("too large, from_file", e2.text, want);
}

/* Bytes read from a file are exact, NUL-terminated, also past the first buffer. */
static void test_read_bytes(void **state)
{
    size_t big = 200000, len = 0;
    char *text = malloc(big + 1), *got, path[256];
    struct config_error err;

    (void)state;
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + i % 26);
    text[big] = '\0';
    write_tmp(path, sizeof(path), text);
    got = config_read_bytes(path, &len, &err);
    unlink(path);
    assert_non_null(got);
    check_int("length", (long)len, (long)big);
    assert_int_equal(got[len], '\0');
    assert_memory_equal(got, text, big);
    free(got);
    free(text);
}

/* A sealed memory file reads back exactly and refuses every change. */
static void test_seal(void **state)
{
    static const char text[] = "inbound = ();\n";
    size_t len = 0;
    char *got;
    int fd;

    (void)state;
    fd = confbytes_seal(text, sizeof(text) - 1);
    assert_true(fd >= 0);
    got = confbytes_read(fd, &len);
    assert_non_null(got);
    check_int("length", (long)len, (long)(sizeof(text) - 1));
    check_str("content", got, text);
    free(got);
#ifdef F_ADD_SEALS
    check_bool_in("pwrite refused", "sealed", pwrite(fd, "x", 1, 0) < 0, true);
    check_bool_in("append refused", "sealed", pwrite(fd, "x", 1, (off_t)len) < 0, true);
    check_bool_in("truncate refused", "sealed", ftruncate(fd, 1) < 0, true);
#endif
    close(fd);
    fd = confbytes_seal("", 0);
    assert_true(fd >= 0);
    got = confbytes_read(fd, &len);
    assert_non_null(got);
    check_int("empty length", (long)len, 0);
    free(got);
    close(fd);
}

/* The supervisor's copy of a file into sealed memory: same bytes, same errors. */
static void test_from_file(void **state)
{
    static const char text[] = "default_action = \"reject\";\n";
    struct config_error e1, e2;
    char path[256], *got;
    size_t len = 0;
    int fd;

    (void)state;
    write_tmp(path, sizeof(path), text);
    fd = confbytes_from_file(path, &e1);
    unlink(path);
    assert_true(fd >= 0);
    got = confbytes_read(fd, &len);
    assert_non_null(got);
    check_str("content", got, text);
    free(got);
#ifdef F_ADD_SEALS
    check_bool_in("pwrite refused", "from file", pwrite(fd, "x", 1, 0) < 0, true);
#endif
    close(fd);
    static const char *const bad[] = { "/nonexistent/forcetls.conf", "/", "/dev/null" };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_int_equal(confbytes_from_file(bad[i], &e1), -1);
        assert_null(config_read_bytes(bad[i], &len, &e2));
        check_str_in("error", bad[i], e1.text, e2.text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_path),
        cmocka_unit_test(test_syntax_line),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_read_fifo),
        cmocka_unit_test(test_read_too_large),
        cmocka_unit_test(test_read_bytes),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_from_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
