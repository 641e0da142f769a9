/* `flightdeck doctor`: check a deployment before (or while) it runs.
 *
 * One table of checks, each printing "ok", "warn" or "FAIL" with what it
 * found. Nothing is created or changed: the database is opened read-only
 * and not migrated (a missing database is reported, not made). The exit
 * status is 1 when a check failed, else 0 (warnings included), so a
 * deployment script or a systemd ExecStartPre can run it. */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "otlp.h"
#include "seal.h"

typedef enum verdict { V_OK, V_WARN, V_FAIL } verdict;

typedef struct doctor {
    int  fails, warns;
    char msg[1024];
} doctor;

typedef verdict (*check_fn)(doctor *dr);

/* Set dr->msg by printf rules; returns v. */
__attribute__((format(printf, 3, 4)))
static verdict say(doctor *dr, verdict v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dr->msg, sizeof dr->msg, fmt, ap);
    va_end(ap);
    return v;
}

/* The key file's path: key_file, or the database's path + ".key". */
static void key_path(char *out, size_t n)
{
    const char *k = config_path(CFG_KEY_FILE);
    if (*k) snprintf(out, n, "%s", k);
    else snprintf(out, n, "%s.key", config_path(CFG_DB));
}

static verdict check_config(doctor *dr)
{
    const char *f = config_file();
    return say(dr, V_OK, "%s (root %s)", f ? f : "no file: defaults and environment", config_root());
}

/* A folder that must exist and that this user must be able to write. */
static verdict writable_dir(doctor *dr, const char *what, const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) return say(dr, V_FAIL, "%s %s: %s", what, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return say(dr, V_FAIL, "%s %s is not a folder", what, dir);
    if (access(dir, W_OK | X_OK) != 0) return say(dr, V_FAIL, "%s %s is not writable by this user", what, dir);
    if (sb.st_mode & S_IWOTH) return say(dr, V_WARN, "%s %s is writable by every user (chmod o-w)", what, dir);
    return say(dr, V_OK, "%s", dir);
}

static verdict check_var_dir(doctor *dr) { return writable_dir(dr, "state folder", config_path(CFG_VAR_DIR)); }

static verdict check_db_dir(doctor *dr)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", config_path(CFG_DB));
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = '\0';
    /* SQLite makes -wal and -shm files beside the database. */
    return writable_dir(dr, "database folder", dir);
}

static verdict check_db(doctor *dr)
{
    const char *path = config_path(CFG_DB);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return say(dr, V_WARN, "%s does not exist yet (the app or `flightdeck setup` creates it)", path);
    if (access(path, R_OK | W_OK) != 0) return say(dr, V_FAIL, "%s is not readable and writable by this user", path);
    sqlite3 *h = NULL;
    verdict v = V_OK;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        v = say(dr, V_FAIL, "%s: %s", path, h ? sqlite3_errmsg(h) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st = NULL;
    char check[200] = "";
    long long version = -1, sessions = -1;
    if (sqlite3_prepare_v2(h, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(check, sizeof check, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(h, "SELECT max(version) FROM schema_migrations", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM sessions", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        sessions = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    int newest = db_migrations[db_migration_count - 1].version;
    if (strcmp(check, "ok") != 0) {
        v = say(dr, V_FAIL, "%s: quick_check says \"%s\" (see `flightdeck db check`, restore a backup)", path,
                *check ? check : sqlite3_errmsg(h));
    } else if (version > newest) {
        v = say(dr, V_FAIL, "%s: schema %lld is newer than this program's %d (a newer release wrote it)", path,
                version, newest);
    } else if (sb.st_mode & (S_IROTH | S_IWOTH)) {
        v = say(dr, V_WARN, "%s: schema %lld, %lld sessions; readable by every user (chmod o-rw): it holds "
                "every payload", path, version, sessions);
    } else {
        v = say(dr, V_OK, "%s: schema %lld%s, %lld sessions, quick_check ok", path, version,
                version < newest ? " (the app migrates it at start)" : "", sessions);
    }
out:
    sqlite3_close(h);
    return v;
}

static verdict check_disk(doctor *dr)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", config_path(CFG_DB));
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = '\0';
    struct statvfs vs;
    if (statvfs(dir, &vs) != 0) return say(dr, V_WARN, "free space of %s: %s", dir, strerror(errno));
    double free_b = (double)vs.f_bavail * (double)vs.f_frsize;
    double total = (double)vs.f_blocks * (double)vs.f_frsize;
    verdict v = free_b < 1024.0 * 1024 * 1024 || (total > 0 && free_b / total < 0.1) ? V_WARN : V_OK;
    return say(dr, v, "%.1f GiB free of %.1f GiB where the database lives%s", free_b / (1 << 30), total / (1 << 30),
               v == V_WARN ? " (a full disk stops writes: the app answers 503)" : "");
}

static verdict check_key(doctor *dr)
{
    char path[PATH_MAX + 8];
    key_path(path, sizeof path);
    int on = (int)config_int(CFG_ENCRYPT_PAYLOADS);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (!on) return say(dr, V_OK, "encryption off; no key file (%s)", path);
        struct stat dbs;
        if (stat(config_path(CFG_DB), &dbs) != 0)
            return say(dr, V_OK, "encryption on; %s is made at first start", path);
        return say(dr, V_FAIL, "encryption on but %s is missing: sealed payloads cannot be read "
                   "(restore the key file from your backup)", path);
    }
    if (!S_ISREG(sb.st_mode)) return say(dr, V_FAIL, "%s is not a regular file", path);
    if (sb.st_mode & (S_IRWXG | S_IRWXO))
        return say(dr, V_FAIL, "%s has mode %04o: it must be 0600 (chmod 600)", path, (unsigned)(sb.st_mode & 07777));
    if (sb.st_uid != geteuid())
        return say(dr, V_FAIL, "%s belongs to uid %u, not to this user (%u)", path, (unsigned)sb.st_uid,
                   (unsigned)geteuid());
    if (access(path, R_OK) != 0) return say(dr, V_FAIL, "%s is not readable by this user", path);
    seal_keyring *k = NULL;
    char err[300] = "it vanished";
    if (seal_keyring_load(path, &k, err, sizeof err)) return say(dr, V_FAIL, "%s: %s", path, err);
    int n = seal_keyring_count(k);
    seal_keyring_free(k);
    return say(dr, V_OK, "encryption %s; key file %s, mode 0600, %d key%s%s", on ? "on" : "off", path, n,
               n == 1 ? "" : "s (a rotation is unfinished: run db rotate-key)",
               on ? "" : "; kept: values sealed earlier stay readable");
}

static verdict check_files(doctor *dr)
{
    char p[PATH_MAX + 32];
    const char *need[][2] = {
        { config_path(CFG_TEMPLATES), "layout.mustache" },
        { config_path(CFG_WEB_DIR), "app.css" },
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", need[i][0], need[i][1]);
        if (access(p, R_OK) != 0) return say(dr, V_FAIL, "%s: %s", p, strerror(errno));
    }
    const char *app = config_path(CFG_FASTCGI_PROGRAM);
    if (access(app, X_OK) != 0) return say(dr, V_FAIL, "the FastCGI program %s: %s", app, strerror(errno));
    char err[300];
    if (otlp_prices_load(config_path(CFG_PRICES), err, sizeof err))
        return say(dr, V_FAIL, "prices %s: %s", config_path(CFG_PRICES), err);
    return say(dr, V_OK, "templates, static files, %s, prices", app);
}

/* lighttpd -tt on lighttpd.conf, with the variables it needs. */
static verdict check_lighttpd(doctor *dr)
{
    char conf[PATH_MAX + 32], cli[PATH_MAX];
    snprintf(conf, sizeof conf, "%s/lighttpd.conf", config_root());
    const char *c = getenv("FD_CLI");
    if (c && *c) snprintf(cli, sizeof cli, "%s", c);
    else snprintf(cli, sizeof cli, "%s/bin/flightdeck", config_root());
    if (access(conf, R_OK) != 0) return say(dr, V_FAIL, "%s: %s", conf, strerror(errno));
    int pipefd[2];
    if (pipe(pipefd) != 0) return say(dr, V_WARN, "cannot run lighttpd: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return say(dr, V_WARN, "cannot run lighttpd: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        setenv("FD_ROOT", config_root(), 0);
        setenv("FD_CLI", cli, 0);
        execlp("lighttpd", "lighttpd", "-tt", "-f", conf, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    /* lighttpd's complaint: the last line it printed, kept short. */
    char out[2048];
    size_t len = 0;
    ssize_t got;
    while ((got = read(pipefd[0], out + len, sizeof out - 1 - len)) > 0 ||
           (got < 0 && errno == EINTR))
        if (got > 0) len += (size_t)got;
    close(pipefd[0]);
    out[len] = '\0';
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' ')) out[--len] = '\0';
    const char *last = strrchr(out, '\n');
    last = last ? last + 1 : out;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return say(dr, V_FAIL, "lighttpd is not installed (apt-get install lighttpd)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return say(dr, V_FAIL, "lighttpd -tt -f %s fails: %.300s", conf, *last ? last : "(no message)");
    return say(dr, V_OK, "%s (lighttpd -tt), port %lld on %s", conf, config_int(CFG_PORT), config_str(CFG_BIND));
}

static verdict check_admin_password_file(doctor *dr)
{
    char dir[PATH_MAX], p[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s", config_path(CFG_DB));
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    snprintf(p, sizeof p, "%s/initial-admin-password", slash ? dir : ".");
    if (access(p, F_OK) == 0)
        return say(dr, V_WARN, "%s is still there: sign in, change the password, delete the file", p);
    return say(dr, V_OK, "no initial password file left");
}

static verdict check_bind(doctor *dr)
{
    const char *b = config_str(CFG_BIND);
    if (strcmp(b, "127.0.0.1") && strcmp(b, "::1") && strcmp(b, "localhost"))
        return say(dr, V_WARN, "bind = %s: lighttpd serves plain HTTP there; put a TLS proxy in front", b);
    return say(dr, V_OK, "listening on loopback (%s)", b);
}

static const struct { const char *name; check_fn fn; } checks[] = {
    { "configuration", check_config },
    { "state folder", check_var_dir },
    { "database folder", check_db_dir },
    { "database", check_db },
    { "disk", check_disk },
    { "payload key", check_key },
    { "files", check_files },
    { "lighttpd", check_lighttpd },
    { "address", check_bind },
    { "first password", check_admin_password_file },
};

int cli_doctor(cli_ctx *x, int argc, char **argv)
{
    (void)x;
    (void)argv;
    if (argc != 0) return EXIT_USAGE;
    doctor dr = { 0, 0, "" };
    static const char *const tag[] = { "ok  ", "warn", "FAIL" };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        dr.msg[0] = '\0';
        verdict v = checks[i].fn(&dr);
        if (v == V_FAIL) dr.fails++;
        if (v == V_WARN) dr.warns++;
        printf("%s  %-16s %s\n", tag[v], checks[i].name, dr.msg);
    }
    printf("%d failed, %d warning%s\n", dr.fails, dr.warns, dr.warns == 1 ? "" : "s");
    return dr.fails ? 1 : 0;
}
