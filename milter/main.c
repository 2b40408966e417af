/*
 * main.c - forcetls-milter: command line and startup.
 *
 * Owns the command line (see forcetls-milter(8) and the contract), the
 * configuration check (-n), table printing (-P), and going into the
 * background. It reads the file's bytes once and parses exactly those (the
 * daemon from the resolved path, refused as root when a user other than
 * root could change the file: safepath_check_config):
 * the parsed snapshot goes to the first worker, the bytes (sealed) to the
 * supervisor as the configuration in force. The running daemon is
 * supervisor.c (signals, the bytes in force) around worker.c (the milter).
 * Nothing here runs once threads exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "confbytes.h"
#include "config.h"
#include "log.h"
#include "policymap.h"
#include "safepath.h"
#include "supervisor.h"
#include "tlsfacts.h"
#include "worker.h"

struct options {
    const char *config_path;
    const char *socket;       /* -p, validated and in its stored form */
    char socket_buf[1024];
    const char *table;        /* -P */
    bool foreground;
    bool debug;
    bool check_only;
};

/* Print usage to out. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: forcetls-milter [-dfn] [-c FILE] [-p SOCKET] [-P TABLE]\n"
            "       forcetls-milter -V | -h\n"
            "  -c FILE    configuration file (default %s)\n"
            "  -d         also log debug lines (TLS facts of every recipient)\n"
            "  -f         stay in the foreground; log to stderr too\n"
            "  -n         check the configuration and exit\n"
            "  -p SOCKET  milter socket (unix:/path, inet:port@host, inet6:port@host)\n"
            "  -P TABLE   print a table and exit: %s\n"
            "  -V         print the version\n"
            "  -h         print this help\n",
            CONFIG_DEFAULT_PATH, POLICYMAP_TABLE_NAMES);
}

/* -p obeys the rules of socket in the file (and local: becomes unix:), or exit. */
static void check_socket_option(struct options *opts)
{
    const char *why = NULL;

    if (!config_socket_valid(opts->socket, &why)
        || !config_socket_canonical(opts->socket, opts->socket_buf,
                                    sizeof opts->socket_buf)) {
        fprintf(stderr, "forcetls-milter: -p \"%.200s\": %s\n", opts->socket,
                why != NULL ? why : "too long");
        exit(EX_USAGE);
    }
    opts->socket = opts->socket_buf;
}

/* Parse argv into opts; exits on -V, -h and usage errors. */
static void parse_options(int argc, char **argv, struct options *opts)
{
    int ch;

    opts->config_path = CONFIG_DEFAULT_PATH;
    while ((ch = getopt(argc, argv, "c:dfnp:P:Vh")) != -1) {
        switch (ch) {
        case 'c': opts->config_path = optarg; break;
        case 'd': opts->debug = true; break;
        case 'f': opts->foreground = true; break;
        case 'n': opts->check_only = true; break;
        case 'p': opts->socket = optarg; break;
        case 'P': opts->table = optarg; break;
        case 'V':
            printf("forcetls-milter %s\n", FORCETLS_VERSION);
            exit(EX_OK);
        case 'h':
            usage(stdout);
            exit(EX_OK);
        default:
            usage(stderr);
            exit(EX_USAGE);
        }
    }
    if (optind != argc) {
        usage(stderr);
        exit(EX_USAGE);
    }
    if (opts->socket != NULL)
        check_socket_option(opts);
}

/* Print an environment warning for -n. */
static void warn_stderr(const char *text, void *arg)
{
    const char *path = arg;

    (void)path;
    fprintf(stderr, "warning: %s\n", text);
}

/* Go into the background; the original process exits with the startup status. */
static int daemonize(void)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        fprintf(stderr, "forcetls-milter: cannot go into the background: %s\n",
                strerror(errno));
        exit(EX_OSERR);
    }
    if (pid > 0) {
        unsigned char status = EX_SOFTWARE;

        close(fds[1]);
        if (read(fds[0], &status, 1) != 1)
            status = EX_SOFTWARE;
        if (status != 0)
            fprintf(stderr, "forcetls-milter: failed to start (status %u); see the mail log\n",
                    status);
        _exit(status);
    }
    close(fds[0]);
    if (setsid() < 0 || chdir("/") < 0)
        exit(EX_OSERR);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    return fds[1];
}

/*
 * Close every descriptor from 3 up: the daemon opens its own, and must not
 * pass on to the worker (which runs as the configured user) whatever its
 * starter left open, as Postfix does. Before syslog or anything of ours.
 */
static void close_inherited(void)
{
    long max;

#ifdef HAVE_CLOSE_RANGE
    if (close_range(3, ~0u, 0) == 0)
        return;
#endif
    max = sysconf(_SC_OPEN_MAX);    /* kernels before 5.9, glibc before 2.34 */
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        close(fd);
}

/* Print a generated table (-P). */
static int print_table(const struct config *config, const char *table)
{
    if (!policymap_print_table(config, table, stdout)) {
        fprintf(stderr, "forcetls-milter: unknown table %s (known: %s)\n", table,
                POLICYMAP_TABLE_NAMES);
        return EX_USAGE;
    }
    return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

/* How long a new worker may take to serve (seconds). */
#define START_TIMEOUT 30

#ifdef FORCETLS_TEST_HOOKS
/*
 * Test hooks, compiled only with ./configure --enable-test-hooks (the e2e
 * tests use them; a production daemon has none): FORCETLS_START_TIMEOUT
 * shortens the start time limit, FORCETLS_TEST_HANG_FROM=N makes workers
 * of generation N on hang before serving (worker.c).
 */
/* A small number from the environment, or def. */
static int env_number(const char *name, int def)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (v == NULL || *v == '\0')
        return def;
    n = strtol(v, &end, 10);
    return *end == '\0' && n >= 0 && n <= 3600 ? (int)n : def;
}

/* Apply the test hooks' settings. */
static void test_hooks(struct worker_settings *ws, struct supervisor_job *job)
{
    ws->test_hang_from = env_number("FORCETLS_TEST_HANG_FROM", -1);
    job->start_timeout = (unsigned)env_number("FORCETLS_START_TIMEOUT", START_TIMEOUT);
    if (job->start_timeout == 0)
        job->start_timeout = START_TIMEOUT;
}
#endif

/*
 * In the supervisor, once the first worker serves: that worker has its own
 * copy of the start-up snapshot since fork, so ours goes (the supervisor
 * keeps no parsed configuration, only the sealed bytes).
 */
static void startup_served(void *arg)
{
    struct worker_settings *ws = arg;

    config_free(ws->startup);
    ws->startup = NULL;
    config_release_unused_memory();
}

/*
 * Run the daemon with the configuration parsed from bytes (taken over),
 * read from path (absolute, checked: see config_path_for_root). config
 * goes to the first worker; the supervisor keeps only the bytes.
 */
static int run_daemon(const struct options *opts, const char *path,
                      struct config *config, char *bytes, size_t len)
{
    struct worker_settings ws = { .startup = config, .ctl_fd = -1 };
    struct supervisor_job job = { .run = worker_run, .served = startup_served,
                                  .arg = &ws, .config_path = path };
    int ready_fd = -1, status;

    job.config_fd = confbytes_seal(bytes, len);
    free(bytes);
    config_release_unused_memory();   /* before the first worker inherits our heap */
    ws.config_path = path;
    ws.process = worker_process_settings(config);
    ws.socket = strdup(opts->socket != NULL ? opts->socket : config->socket);
    ws.test_hang_from = -1;
    job.start_timeout = START_TIMEOUT;
#ifdef FORCETLS_TEST_HOOKS
    test_hooks(&ws, &job);
#endif
    if (job.config_fd < 0 || ws.process == NULL || ws.socket == NULL) {
        fprintf(stderr, "forcetls-milter: cannot keep the configuration: %s\n",
                strerror(errno));
        config_free(config);
        worker_process_settings_free((struct config *)ws.process);
        return EX_OSERR;
    }
    job.pidfile = ws.process->pidfile;
    log_open("forcetls-milter", config->syslog_facility, opts->foreground);
    log_set_debug(opts->debug);
    if (!opts->foreground)
        ready_fd = daemonize();
    log_msg(LOG_INFO, "starting forcetls-milter %s: inbound=%zu outbound=%zu",
            FORCETLS_VERSION, config->inbound_count, config->outbound_count);
    status = supervisor_run(&job, ready_fd);
    config_free(ws.startup);    /* still ours if no worker ever served */
    worker_process_settings_free((struct config *)ws.process);
    free((char *)ws.socket);
    return status;
}

/*
 * The daemon's configuration file: its absolute path into out, the one
 * read at start and on every reload, refused as root when someone else
 * than root could change it (safepath_check_config), saying why.
 */
static bool config_path_for_root(const char *given, char *out)
{
    char msg[SAFEPATH_MSG_MAX];

    if (realpath(given, out) == NULL) {
        fprintf(stderr, "%s:0: cannot read: %s\n", given, strerror(errno));
        return false;
    }
    if (!safepath_check_config(out, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct options opts = { 0 };
    char path[PATH_MAX];
    struct config_error err;
    struct config *config;
    size_t len = 0;
    char *bytes;
    int status;

    parse_options(argc, argv, &opts);
    if (!opts.check_only && opts.table == NULL)
        close_inherited();
#ifdef __GLIBC__
    /*
     * No fastbins: loading a large configuration frees libconfig's tree of
     * millions of small nodes, and glibc's later consolidation of them cost
     * 20% of a 120,000-connector load (1.05 s -> 0.88 s without). Sessions'
     * small allocations are served by the per-thread cache either way.
     */
    mallopt(M_MXFAST, 0);
    /*
     * A fixed mmap threshold: the lookup tables' arrays (MBs) always get
     * their own mappings, returned whole when a replaced snapshot is freed.
     * glibc's dynamic threshold rose past them as growing tables freed
     * their smaller arrays, put the next ones in the heap, and a worker
     * kept 24 MB more after a reload (93 MB instead of 69).
     */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    /* The daemon reads the file it checked, at start and on every reload. */
    if (!opts.check_only && opts.table == NULL) {
        if (!config_path_for_root(opts.config_path, path))
            return EX_CONFIG;
        opts.config_path = path;
    }
    if (!tlsfacts_init()) {
        fprintf(stderr, "forcetls-milter: cannot read OpenSSL's cipher table\n");
        return EX_SOFTWARE;
    }
    /* The bytes read here are the ones parsed, and the ones kept in force. */
    bytes = config_read_bytes(opts.config_path, &len, &err);
    config = bytes != NULL ? config_load_bytes(opts.config_path, bytes, len, &err) : NULL;
    if (config == NULL) {
        fprintf(stderr, "%s\n", err.text);
        free(bytes);
        return opts.check_only ? 1 : EX_CONFIG;
    }
    if (opts.check_only) {
        config_check_environment(config, warn_stderr, (void *)opts.config_path);
        status = EX_OK;
    } else if (opts.table != NULL) {
        status = print_table(config, opts.table);
    } else {
        status = run_daemon(&opts, path, config, bytes, len);
        bytes = NULL;
        config = NULL;
    }
    free(bytes);
    config_free(config);
    tlsfacts_shutdown();
    return status;
}
