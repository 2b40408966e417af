/*
 * test_safepath.c - unit tests for safepath.c: which directories root may
 * write into (owned by root, not writable by others, a root-owned sticky
 * directory only above a root-owned component, symbolic links), creating
 * a missing directory root-owned with an exact mode and group, and the
 * no-follow file operations (pidfile write and read, stale socket, socket
 * mode and group) against symbolic links, hard links and FIFOs, and the
 * check of the configuration file root reads.
 *
 * Every case builds its own tree under a fresh mkdtemp directory. The
 * ownership cases need root (chown to nobody); without root they print a
 * "# skipped" comment and pass, because cmocka's TAP output marks skip()
 * as "not ok".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "safepath.h"
#include "testutil.h"

/* Fail with "what: got X, want Y" when two booleans differ. */
static void check_bool(const char *what, bool got, bool want)
{
    if (got != want)
        fail_msg("%s: got %s, want %s", what, got ? "true" : "false",
                 want ? "true" : "false");
}

static char base[256];
static uid_t nobody = 65534;

/* base/rel into out. */
static const char *at(const char *rel, char *out)
{
    if (snprintf(out, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX)
        fail_msg("path too long: %s/%s", base, rel);
    return out;
}

/* mkdir base/rel with mode (exact) and, as root, owner uid. */
static void make_dir(const char *rel, mode_t mode, uid_t uid)
{
    char p[PATH_MAX];

    if (mkdir(at(rel, p), 0700) != 0 || chmod(p, mode) != 0 ||
        (geteuid() == 0 && chown(p, uid, (gid_t)-1) != 0))
        fail_msg("mkdir %s: %s", p, strerror(errno));
}

/* Write text to base/rel (plain stdio: test set-up). */
static void make_file(const char *rel, const char *text)
{
    char p[PATH_MAX];
    FILE *f = fopen(at(rel, p), "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        fail_msg("write %s: %s", p, strerror(errno));
}

/* The content of base/rel, or "" when unreadable. */
static const char *content(const char *rel)
{
    static char buf[256];
    char p[PATH_MAX];
    FILE *f = fopen(at(rel, p), "r");
    size_t n = 0;

    if (f != NULL) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* Symbolic link base/rel -> target. */
static void make_link(const char *target, const char *rel)
{
    char p[PATH_MAX];

    if (symlink(target, at(rel, p)) != 0)
        fail_msg("symlink %s: %s", p, strerror(errno));
}

/* Fail unless safepath_check_dir(base/rel) gives want (and msg contains part). */
static void check_dir(const char *rel, bool as_root, enum safepath_result want,
                      const char *part)
{
    char p[PATH_MAX], msg[SAFEPATH_MSG_MAX] = "";
    enum safepath_result got = safepath_check_dir("socket directory", at(rel, p),
                                                  as_root, msg, sizeof msg);

    if (got != want)
        fail_msg("check_dir(%s): got %d, want %d (%s)", p, got, want, msg);
    if (part != NULL && strstr(msg, part) == NULL)
        fail_msg("check_dir(%s): got message \"%s\", want it to contain \"%s\"",
                 p, msg, part);
}

/* True (and a comment) when the test needs root and we are not. */
static bool need_root(const char *name)
{
    if (geteuid() == 0)
        return false;
    printf("# skipped %s: needs root\n", name);
    return true;
}

static int setup(void **state)
{
    struct passwd *pw = getpwnam("nobody");

    (void)state;
    if (pw != NULL)
        nobody = pw->pw_uid;
    snprintf(base, sizeof base, "%s/ftls-safepath.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(base) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_dirname(void **state)
{
    static const struct { const char *in, *want; } cases[] = {
        { "/run/forcetls/forcetls.pid", "/run/forcetls" },
        { "/x.pid", "/" },
        { "/a/b/", "/a/b" },
        { "relative/x", NULL },
        { "", NULL },
    };
    char out[PATH_MAX], tiny[4];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        bool ok = safepath_dirname(cases[i].in, out, sizeof out);
        check_str_in("safepath_dirname", cases[i].in, ok ? out : NULL,
                     cases[i].want);
    }
    check_bool("too small", safepath_dirname("/abcdef/x", tiny, sizeof tiny), false);
}

static void test_safe_and_missing(void **state)
{
    const bool R = geteuid() == 0;   /* as root, the rules for root */

    (void)state;
    check_dir("", R, SAFEPATH_OK, NULL);
    make_dir("run", 0755, 0);
    check_dir("run", R, SAFEPATH_OK, NULL);
    check_dir("run/./", R, SAFEPATH_OK, NULL);
    check_dir("run/new", R, SAFEPATH_MISSING, "does not exist");
    check_dir("run/new/deeper", R, SAFEPATH_ERROR, "No such file");
    make_file("file", "x");
    check_dir("file", R, SAFEPATH_ERROR, "is not a directory");
    check_dir("file/below", R, SAFEPATH_ERROR, NULL);
}

static void test_owned_by_others(void **state)
{
    char p[PATH_MAX], msg[SAFEPATH_MSG_MAX], want[4 * PATH_MAX];
    struct passwd *pw = getpwuid(nobody);

    (void)state;
    if (need_root("owned by others"))
        return;
    make_dir("user", 0755, nobody);
    check_int("result", safepath_check_dir("pidfile directory", at("user", p), true,
                                           msg, sizeof msg), SAFEPATH_UNSAFE);
    snprintf(want, sizeof want, "pidfile directory %s is owned by uid %ld%s%s%s:"
             " make it owned by root and not writable by others"
             " (chown root %s; chmod 755 %s)", p, (long)nobody,
             pw ? " (" : "", pw ? pw->pw_name : "", pw ? ")" : "", p, p);
    check_str("message", msg, want);
    /* Not root: the user owns their own paths. */
    check_dir("user", false, SAFEPATH_OK, NULL);
    /* An ancestor is as bad, even with a root-owned directory below it. */
    make_dir("user/sub", 0755, 0);
    check_dir("user/sub", true, SAFEPATH_UNSAFE, "/user is owned by uid");
    check_dir("user/missing", true, SAFEPATH_UNSAFE, "is owned by uid");
}

static void test_writable(void **state)
{
    (void)state;
    if (need_root("writable"))
        return;
    make_dir("ow", 0757, 0);
    check_dir("ow", true, SAFEPATH_UNSAFE, "is writable by others (mode 0757)");
    check_dir("ow", true, SAFEPATH_UNSAFE, "(chmod 755 ");
    make_dir("gw", 0775, 0);
    check_dir("gw", true, SAFEPATH_UNSAFE, "is writable by group (mode 0775)");
    make_dir("gw/sub", 0755, 0);
    check_dir("gw/sub", true, SAFEPATH_UNSAFE, "/gw is writable by group");
    check_dir("gw", false, SAFEPATH_OK, NULL);
}

static void test_sticky(void **state)
{
    (void)state;
    if (need_root("sticky"))
        return;
    make_dir("tmp", 01777, 0);
    make_dir("tmp/root", 0755, 0);
    make_dir("tmp/user", 0755, nobody);
    check_dir("tmp/root", true, SAFEPATH_OK, NULL);
    check_dir("tmp/user", true, SAFEPATH_UNSAFE, "is owned by uid");
    /* The directory root writes into may not be the sticky one itself. */
    check_dir("tmp", true, SAFEPATH_UNSAFE, "give the file a directory of its own");
    check_dir("tmp/missing", true, SAFEPATH_MISSING, NULL);
    /* Not root-owned and sticky: still someone else's. */
    make_dir("ustick", 01777, nobody);
    make_dir("ustick/root", 0755, 0);
    check_dir("ustick/root", true, SAFEPATH_UNSAFE, "is owned by uid");
}

static void test_symlinks(void **state)
{
    char p[PATH_MAX];

    const bool R = geteuid() == 0;   /* as root, the rules for root */

    (void)state;
    make_dir("real", 0755, 0);
    make_link("real", "rel");
    make_link(at("real", p), "abs");
    make_link("loop2", "loop1");
    make_link("loop1", "loop2");
    check_dir("rel", R, SAFEPATH_OK, NULL);
    check_dir("abs", R, SAFEPATH_OK, NULL);
    check_dir("rel/../real", R, SAFEPATH_OK, NULL);
    check_dir("loop1", R, SAFEPATH_ERROR, "too many symbolic links");
    make_link("nowhere", "dangling");
    check_dir("dangling", R, SAFEPATH_MISSING, NULL);
    check_dir("dangling/below", R, SAFEPATH_ERROR, NULL);
    if (need_root("symlinks to others' directories"))
        return;
    make_dir("theirs", 0755, nobody);
    make_link("theirs", "to_theirs");
    check_dir("to_theirs", true, SAFEPATH_UNSAFE, "/theirs is owned by uid");
    /* A link someone else owns in a sticky directory: they may replace it. */
    make_dir("tmp", 01777, 0);
    make_link(at("real", p), "tmp/ulink");
    if (lchown(at("tmp/ulink", p), nobody, (gid_t)-1) != 0)
        fail_msg("lchown: %s", strerror(errno));
    check_dir("tmp/ulink", true, SAFEPATH_UNSAFE, "holds the symbolic link ulink");
    make_link(at("real", p), "tmp/rlink");
    check_dir("tmp/rlink", true, SAFEPATH_OK, NULL);
}

static void test_prepare_dir(void **state)
{
    char p[PATH_MAX], msg[SAFEPATH_MSG_MAX] = "";
    struct stat st;
    bool created;

    (void)state;
    if (need_root("prepare_dir"))
        return;
    umask(022);
    check_bool("create with group", safepath_prepare_dir("socket directory",
               at("sock", p), 0750, 4242, &created, msg, sizeof msg), true);
    check_bool("created", created, true);
    if (stat(p, &st) != 0)
        fail_msg("stat %s: %s", p, strerror(errno));
    check_int("mode", st.st_mode & 07777, 0750);
    check_int("owner", st.st_uid, 0);
    check_int("group", st.st_gid, 4242);
    check_bool("again", safepath_prepare_dir("socket directory", p, 0750, 4242,
               &created, msg, sizeof msg), true);
    check_bool("not created twice", created, false);
    /* Even a restrictive umask gives the exact mode. */
    umask(077);
    check_bool("create without group", safepath_prepare_dir("pidfile directory",
               at("pid", p), 0755, (gid_t)-1, &created, msg, sizeof msg), true);
    umask(022);
    if (stat(p, &st) != 0)
        fail_msg("stat %s: %s", p, strerror(errno));
    check_int("mode", st.st_mode & 07777, 0755);
    check_int("owner", st.st_uid, 0);
    check_int("group", st.st_gid, 0);
    /* An unsafe existing directory is refused and left as it is. */
    make_dir("user", 0755, nobody);
    check_bool("refuse", safepath_prepare_dir("pidfile directory", at("user", p),
               0755, (gid_t)-1, &created, msg, sizeof msg), false);
    check_bool("message", strstr(msg, "is owned by uid") != NULL, true);
    if (stat(p, &st) != 0 || st.st_uid != nobody)
        fail_msg("the refused directory changed owner");
    /* Nothing is created below an unsafe directory. */
    check_bool("refuse below", safepath_prepare_dir("pidfile directory",
               at("user/new", p), 0755, (gid_t)-1, &created, msg, sizeof msg), false);
    check_int("not created", access(p, F_OK) == 0, 0);
}

static void test_write_file(void **state)
{
    char p[PATH_MAX], q[PATH_MAX], msg[SAFEPATH_MSG_MAX] = "";

    (void)state;
    check_bool("new", safepath_write_file("pidfile", at("a.pid", p), "123\n", msg,
               sizeof msg), true);
    check_str("content", content("a.pid"), "123\n");
    make_file("b.pid", "1234567890\n");
    check_bool("shorter", safepath_write_file("pidfile", at("b.pid", p), "42\n", msg,
               sizeof msg), true);
    check_str("truncated", content("b.pid"), "42\n");
    make_file("victim", "precious\n");
    make_link(at("victim", q), "link.pid");
    check_bool("symlink", safepath_write_file("pidfile", at("link.pid", p), "1\n",
               msg, sizeof msg), false);
    check_bool("says symbolic link", strstr(msg, "is a symbolic link") != NULL, true);
    check_str("victim after symlink", content("victim"), "precious\n");
    if (link(at("victim", q), at("hard.pid", p)) != 0)
        fail_msg("link: %s", strerror(errno));
    check_bool("hard link", safepath_write_file("pidfile", p, "1\n", msg, sizeof msg),
               false);
    check_bool("says hard links", strstr(msg, "2 hard links") != NULL, true);
    check_str("victim after hard link", content("victim"), "precious\n");
    if (mkfifo(at("fifo.pid", p), 0644) != 0)
        fail_msg("mkfifo: %s", strerror(errno));
    check_bool("fifo (must not block)", safepath_write_file("pidfile", p, "1\n", msg,
               sizeof msg), false);
    check_bool("check fifo", safepath_check_file("pidfile", p, msg, sizeof msg),
               false);
    check_bool("check symlink", safepath_check_file("pidfile", at("link.pid", p),
               msg, sizeof msg), false);
    check_bool("check absent", safepath_check_file("pidfile", at("none.pid", p),
               msg, sizeof msg), true);
    check_bool("check plain", safepath_check_file("pidfile", at("a.pid", p),
               msg, sizeof msg), true);
    if (need_root("file owned by others"))
        return;
    make_file("theirs.pid", "7\n");
    if (chown(at("theirs.pid", p), nobody, (gid_t)-1) != 0)
        fail_msg("chown: %s", strerror(errno));
    check_bool("theirs", safepath_write_file("pidfile", p, "1\n", msg, sizeof msg),
               false);
    check_str("theirs unchanged", content("theirs.pid"), "7\n");
    check_bool("check theirs", safepath_check_file("pidfile", p, msg, sizeof msg),
               false);
}

static void test_read_file(void **state)
{
    char p[PATH_MAX], q[PATH_MAX], buf[32];

    (void)state;
    make_file("r.pid", "99\n");
    check_bool("plain", safepath_read_file(at("r.pid", p), buf, sizeof buf), true);
    check_str("content", buf, "99\n");
    make_link(at("r.pid", q), "rl.pid");
    check_bool("symlink", safepath_read_file(at("rl.pid", p), buf, sizeof buf),
               false);
    check_bool("absent", safepath_read_file(at("none", p), buf, sizeof buf), false);
    if (mkfifo(at("rf.pid", p), 0644) != 0)
        fail_msg("mkfifo: %s", strerror(errno));
    check_bool("fifo (must not block)", safepath_read_file(p, buf, sizeof buf), false);
}

/* Bind a unix socket at path with umask 0777 & ~mode; returns the fd. */
static int bind_socket(const char *path, mode_t mode)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    mode_t old = umask(~mode & 0777);
    int rc;

    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (fd < 0 || rc != 0)
        fail_msg("bind %s: %s", path, strerror(errno));
    return fd;
}

static void test_sockets(void **state)
{
    char p[PATH_MAX], q[PATH_MAX], msg[SAFEPATH_MSG_MAX] = "";
    struct stat st;
    int fd;

    (void)state;
    check_bool("absent", safepath_remove_stale_socket("socket", at("s.sock", p), msg,
               sizeof msg), true);
    fd = bind_socket(p, 0600);
    close(fd);
    check_bool("stale", safepath_remove_stale_socket("socket", p, msg, sizeof msg),
               true);
    check_int("removed", lstat(p, &st) == 0, 0);
    /* A symbolic link is never removed, nor what it points to. */
    fd = bind_socket(at("target.sock", q), 0600);
    close(fd);
    make_link(q, "l.sock");
    check_bool("link", safepath_remove_stale_socket("socket", at("l.sock", p), msg,
               sizeof msg), false);
    check_bool("says link", strstr(msg, "symbolic link") != NULL, true);
    check_int("link kept", lstat(p, &st) == 0 && S_ISLNK(st.st_mode), 1);
    check_int("target kept", lstat(q, &st) == 0 && S_ISSOCK(st.st_mode), 1);
    make_file("f.sock", "data\n");
    check_bool("file", safepath_remove_stale_socket("socket", at("f.sock", p), msg,
               sizeof msg), false);
    check_str("file kept", content("f.sock"), "data\n");

    /* Mode and group of a fresh socket. */
    fd = bind_socket(at("m.sock", p), 0660);
    check_bool("access", safepath_set_socket_access("socket", p, 0660,
               geteuid() == 0 ? 4242 : (gid_t)-1, msg, sizeof msg), true);
    if (lstat(p, &st) != 0)
        fail_msg("lstat: %s", strerror(errno));
    check_int("mode", st.st_mode & 07777, 0660);
    if (geteuid() == 0)
        check_int("group", st.st_gid, 4242);
    close(fd);
    /* Never through a symbolic link: the victim keeps its mode and group. */
    make_file("victim", "v\n");
    chmod(at("victim", q), 0600);
    make_link(q, "v.sock");
    check_bool("link access", safepath_set_socket_access("socket", at("v.sock", p),
               0666, 4242, msg, sizeof msg), false);
    if (lstat(q, &st) != 0)
        fail_msg("lstat: %s", strerror(errno));
    check_int("victim mode", st.st_mode & 07777, 0600);
    check_int("victim group", st.st_gid == 4242, 0);
}

/* safepath_check_config(base/rel): want, and msg contains part. */
static void check_config(const char *rel, bool want, const char *part)
{
    char p[PATH_MAX], msg[SAFEPATH_MSG_MAX] = "";
    bool got = safepath_check_config(at(rel, p), msg, sizeof msg);

    if (got != want)
        fail_msg("check_config(%s): got %d, want %d (%s)", p, got, want, msg);
    if (part != NULL && strstr(msg, part) == NULL)
        fail_msg("check_config(%s): got message \"%s\", want it to contain \"%s\"",
                 p, msg, part);
}

static void test_config(void **state)
{
    char p[PATH_MAX], q[PATH_MAX], want[4 * PATH_MAX];

    (void)state;
    make_dir("etc", 0755, 0);
    make_file("etc/forcetls.conf", "x");
    chmod(at("etc/forcetls.conf", p), 0644);
    check_config("etc/forcetls.conf", true, NULL);
    check_config("etc/absent.conf", true, NULL);     /* the reader says so */
    check_config("missing/absent.conf", true, NULL);
    if (geteuid() == 0) {
        /* Unprivileged (euid nobody), the user owns their own paths. */
        make_dir("own", 0777, nobody);
        make_file("own/x.conf", "x");
        chmod(at("own/x.conf", p), 0666);
        chmod(base, 0755);
        if (seteuid(nobody) != 0)
            fail_msg("seteuid: %s", strerror(errno));
        bool got = safepath_check_config(p, NULL, 0);
        if (seteuid(0) != 0)
            fail_msg("seteuid back: %s", strerror(errno));
        check_bool("unprivileged", got, true);
    } else {
        make_dir("own", 0777, 0);
        make_file("own/x.conf", "x");
        chmod(at("own/x.conf", p), 0666);
        check_config("own/x.conf", true, NULL);
    }
    if (need_root("configuration file"))
        return;
    for (size_t i = 0; i < 2; i++) {
        mode_t mode = i == 0 ? 0664 : 0646;

        chmod(at("etc/forcetls.conf", p), mode);
        snprintf(want, sizeof want, "configuration file %s is writable by %s (mode"
                 " %04o): make it owned by root and not writable by others (chown"
                 " root %s; chmod go-w %s)", p, i == 0 ? "group" : "others",
                 (unsigned)mode, p, p);
        check_config("etc/forcetls.conf", false, want);
    }
    chmod(p, 0644);
    if (chown(p, nobody, (gid_t)-1) != 0)
        fail_msg("chown: %s", strerror(errno));
    check_config("etc/forcetls.conf", false, "is owned by uid");
    check_config("etc/forcetls.conf", false, "chown root");
    if (chown(p, 0, (gid_t)-1) != 0)
        fail_msg("chown: %s", strerror(errno));
    check_config("etc/forcetls.conf", true, NULL);
    /* A symbolic link, even to the safe file, is refused. */
    make_link(p, "etc/link.conf");
    check_config("etc/link.conf", false, "is a symbolic link");
    /* A directory of the file owned by nobody, here or further up. */
    make_dir("user", 0755, nobody);
    make_dir("user/etc", 0755, 0);
    make_file("user/x.conf", "x");
    make_file("user/etc/x.conf", "x");
    check_config("user/x.conf", false, "configuration directory");
    check_config("user/x.conf", false, "is owned by uid");
    check_config("user/etc/x.conf", false, "/user is owned by uid");
    /* A FIFO is not a configuration file. */
    if (mkfifo(at("etc/fifo.conf", q), 0644) != 0)
        fail_msg("mkfifo: %s", strerror(errno));
    check_config("etc/fifo.conf", false, "not a regular file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dirname, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safe_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owned_by_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sockets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
