/* flightdeck: the command-line tool. Works on the local database
 * (FLIGHTDECK_DB, default var/flightdeck.db, or --db PATH).
 *
 *   flightdeck setup                     migrate; first start: admin user, demo data
 *   flightdeck db migrate                apply pending migrations
 *   flightdeck token create --name N --role R [--project P]
 *   flightdeck user add NAME --role R [--project P]   (password from stdin)
 *   flightdeck demo [--sessions N] [--seed S]
 *   flightdeck simulate [--server URL] [--token T] [--sessions N] ...
 *
 * Exit codes: 0 ok, 1 failure, 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "demo.h"
#include "sim.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: flightdeck [--db PATH] COMMAND\n"
    "\n"
    "commands:\n"
    "  setup                          migrate; on first start create the admin user\n"
    "                                 (password printed and written beside the database)\n"
    "                                 and load demo data unless FLIGHTDECK_DEMO=0\n"
    "  db migrate                     apply pending migrations\n"
    "  token create --name NAME --role viewer|operator|admin|runtime [--project P]\n"
    "                                 print a new API token (stored hashed; shown once)\n"
    "  user add NAME --role ROLE [--project P]\n"
    "                                 add a user; the password is read from stdin\n"
    "  demo [--sessions N] [--seed S] load demo sessions (default 300)\n"
    "  simulate [options]             play agent sessions against a server over the API,\n"
    "                                 obeying pause/resume/cancel (simulate --help)\n"
    "\n"
    "environment: FLIGHTDECK_DB (default var/flightdeck.db)\n";

/* The value after flag `name` in argv, or NULL. */
static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

static db *open_db(const char *path)
{
    char err[300];
    db *d = db_open(path, err, sizeof err);
    if (!d) { fprintf(stderr, "flightdeck: %s\n", err); return NULL; }
    int applied;
    if (db_migrate(d, &applied)) {
        fprintf(stderr, "flightdeck: migration failed: %s\n", db_errmsg(d));
        db_free(d);
        return NULL;
    }
    if (applied) fprintf(stderr, "flightdeck: applied %d migration(s)\n", applied);
    return d;
}

/* Grant role (by name) to a user or token; -1 with a message on failure. */
static int grant(db *d, int64_t user_id, int64_t token_id, const char *role_s, const char *project)
{
    sqlite3_stmt *st = db_stmt(d, SQL_GRANT_INSERT);
    if (!st) return -1;
    if (user_id) sqlite3_bind_int64(st, 1, user_id);
    if (token_id) sqlite3_bind_int64(st, 2, token_id);
    db_bind_text(st, 3, role_s);
    db_bind_text(st, 4, project);
    sqlite3_bind_int64(st, 5, db_now_ms());
    if (db_exec(st)) { fprintf(stderr, "flightdeck: grant failed: %s\n", db_errmsg(d)); return -1; }
    return 0;
}

/* Insert a user with a password and one grant. Returns 0, or -1. */
static int user_create(db *d, const char *name, const char *password, const char *role_s,
                       const char *project)
{
    char hash[256];
    if (auth_password_hash(password, hash, sizeof hash)) {
        fprintf(stderr, "flightdeck: cannot hash the password (out of memory?)\n");
        return -1;
    }
    if (db_begin(d)) return -1;
    sqlite3_stmt *st = db_stmt(d, SQL_USER_INSERT);
    if (!st) goto fail;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, hash);
    sqlite3_bind_int64(st, 3, db_now_ms());
    if (db_step(st) != SQLITE_ROW) {
        fprintf(stderr, "flightdeck: cannot add user %s: %s\n", name, db_errmsg(d));
        sqlite3_reset(st);
        goto fail;
    }
    int64_t uid = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (grant(d, uid, 0, role_s, project) || db_commit(d)) goto fail;
    return 0;
fail:
    db_rollback(d);
    return -1;
}

static int cmd_token_create(db *d, int argc, char **argv)
{
    const char *name = opt(argc, argv, "--name"), *role_s = opt(argc, argv, "--role");
    const char *project = opt(argc, argv, "--project");
    if (!name || !*name || !role_s || role_parse(role_s) < 0) {
        fprintf(stderr, "usage: flightdeck token create --name NAME --role viewer|operator|admin|runtime [--project P]\n");
        return EXIT_USAGE;
    }
    char token[48];
    memcpy(token, "fdt_", 4);
    auth_random_id(token + 4, 40);
    unsigned char hash[32];
    auth_hash_secret(token, strlen(token), hash);
    if (db_begin(d)) return 1;
    sqlite3_stmt *st = db_stmt(d, SQL_TOKEN_INSERT);
    if (!st) goto fail;
    db_bind_text(st, 1, name);
    sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, db_now_ms());
    sqlite3_bind_null(st, 4);
    if (db_step(st) != SQLITE_ROW) {
        fprintf(stderr, "flightdeck: cannot create token %s: %s\n", name, db_errmsg(d));
        sqlite3_reset(st);
        goto fail;
    }
    int64_t tid = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (grant(d, 0, tid, role_s, project) || db_commit(d)) goto fail;
    printf("%s\n", token);
    return 0;
fail:
    db_rollback(d);
    return 1;
}

static int cmd_user_add(db *d, int argc, char **argv)
{
    const char *role_s = opt(argc, argv, "--role"), *project = opt(argc, argv, "--project");
    if (argc < 1 || argv[0][0] == '-' || !role_s || role_parse(role_s) < 0) {
        fprintf(stderr, "usage: flightdeck user add NAME --role viewer|operator|admin|runtime [--project P] < password\n");
        return EXIT_USAGE;
    }
    char pw[512];
    if (!fgets(pw, sizeof pw, stdin)) { fprintf(stderr, "flightdeck: no password on stdin\n"); return 1; }
    pw[strcspn(pw, "\r\n")] = '\0';
    if (strlen(pw) < 8) { fprintf(stderr, "flightdeck: the password must have at least 8 characters\n"); return 1; }
    int rc = user_create(d, argv[0], pw, role_s, project);
    memset(pw, 0, sizeof pw);
    return rc ? 1 : 0;
}

/* Write the first admin password beside the database, mode 0600. */
static int write_password_file(const char *db_path, const char *pw, char *out, size_t n)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", db_path);
    snprintf(out, n, "%s/initial-admin-password", dirname(copy));
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    fchmod(fd, 0600);
    size_t len = strlen(pw);
    int ok = write(fd, pw, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    return close(fd) == 0 && ok ? 0 : -1;
}

static int cmd_setup(db *d, const char *db_path)
{
    sqlite3_stmt *st = db_stmt(d, SQL_USER_COUNT);
    if (!st || db_step(st) != SQLITE_ROW) return 1;
    int users = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    if (users == 0) {
        char pw[25], file[4200];
        auth_random_id(pw, 24);
        if (user_create(d, "admin", pw, "admin", NULL)) return 1;
        if (write_password_file(db_path, pw, file, sizeof file))
            fprintf(stderr, "flightdeck: could not write %s: %s\n", file, strerror(errno));
        printf("Created user \"admin\" with password: %s\n(also written to %s, mode 0600)\n", pw, file);
    }
    const char *demo = getenv("FLIGHTDECK_DEMO");
    st = db_stmt(d, SQL_SESSION_COUNT);
    if (!st || db_step(st) != SQLITE_ROW) return 1;
    int sessions = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    if (sessions == 0 && !(demo && strcmp(demo, "0") == 0)) {
        char err[256];
        int n = demo_load(d, 300, 42, err, sizeof err);
        if (n < 0) { fprintf(stderr, "flightdeck: demo data: %s\n", err); return 1; }
        printf("Loaded %d demo sessions (FLIGHTDECK_DEMO=0 skips this).\n", n);
    }
    return 0;
}

static int cmd_demo(db *d, int argc, char **argv)
{
    const char *ns = opt(argc, argv, "--sessions"), *seed = opt(argc, argv, "--seed");
    int n = ns ? atoi(ns) : 300;
    if (n < 1 || n > 1000000) { fprintf(stderr, "flightdeck: --sessions must be 1..1000000\n"); return EXIT_USAGE; }
    char err[256];
    int got = demo_load(d, n, seed ? (unsigned)strtoul(seed, NULL, 10) : 42, err, sizeof err);
    if (got < 0) { fprintf(stderr, "flightdeck: demo data: %s\n", err); return 1; }
    printf("Loaded %d demo sessions.\n", got);
    return 0;
}

int main(int argc, char **argv)
{
    const char *db_path = getenv("FLIGHTDECK_DB");
    if (!db_path || !*db_path) db_path = "var/flightdeck.db";
    argc--; argv++;
    if (argc >= 2 && strcmp(argv[0], "--db") == 0) { db_path = argv[1]; argc -= 2; argv += 2; }
    if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        fputs(usage_text, argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_USAGE : 0;
    }
    /* The reference runtime talks HTTP only; it never opens the database. */
    if (!strcmp(argv[0], "simulate")) return sim_main(argc, argv);
    if (auth_init()) { fprintf(stderr, "flightdeck: libsodium failed to start\n"); return 1; }
    const char *cmd = argv[0], *sub = argc > 1 ? argv[1] : "";
    int known = !strcmp(cmd, "setup") || !strcmp(cmd, "demo") ||
                (!strcmp(cmd, "db") && !strcmp(sub, "migrate")) ||
                (!strcmp(cmd, "token") && !strcmp(sub, "create")) ||
                (!strcmp(cmd, "user") && !strcmp(sub, "add"));
    if (!known) {
        fprintf(stderr, "flightdeck: unknown command \"%s%s%s\"\n\n%s", cmd, *sub ? " " : "", sub, usage_text);
        return EXIT_USAGE;
    }
    db *d = open_db(db_path);
    if (!d) return 1;
    int rc;
    if (!strcmp(cmd, "setup")) rc = cmd_setup(d, db_path);
    else if (!strcmp(cmd, "demo")) rc = cmd_demo(d, argc - 1, argv + 1);
    else if (!strcmp(cmd, "db")) rc = 0; /* migrations ran in open_db */
    else if (!strcmp(cmd, "token")) rc = cmd_token_create(d, argc - 2, argv + 2);
    else rc = cmd_user_add(d, argc - 2, argv + 2);
    db_free(d);
    return rc;
}
