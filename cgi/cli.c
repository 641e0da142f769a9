/* flightdeck: the command-line tool, in the manner of git and kubectl:
 * `flightdeck NOUN VERB [ARGS] [--json]`, `--help` on every command and
 * `flightdeck help COMMAND`. Commands are one table (name, handler, flags,
 * usage, summary, help). Those with an API (sessions, history, tasks,
 * artifacts, report; cli_data.c) work on the local database (FLIGHTDECK_DB,
 * default var/flightdeck.db, or --db PATH) or against a server (--server
 * URL or FLIGHTDECK_SERVER, token in FLIGHTDECK_TOKEN; cli_remote.c);
 * administration and db commands are local only; `simulate` (sim.c) talks
 * to a server over HTTP. Exit codes: 0 ok, 1 failure, 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "cli.h"
#include "config.h"
#include "retention.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "sessdata.h"
#include "sessq.h"
#include "seal.h"
#include "seal_db.h"
#include "demo.h"
#include "route.h"
#include "sim.h"


/* The value after flag `name` in argv, or NULL. */
static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

static int has_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

static int report(const account_err *err)
{
    fprintf(stderr, "flightdeck: %s\n", err->message);
    return 1;
}

/* A password from the first line of stdin (never from argv: it would show
 * in `ps` and shell history). */
static int read_password(char *pw, size_t n)
{
    if (!fgets(pw, (int)n, stdin)) {
        fprintf(stderr, "flightdeck: give the password on standard input\n");
        return -1;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    return 0;
}

/* The id of user `name`; 0 when missing. */
static int64_t user_id(db *d, const char *name)
{
    sqlite3_stmt *st = db_stmt(d, SQL_USER_BY_NAME);
    if (!st) return 0;
    db_bind_text(st, 1, name);
    int64_t id = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (!id) fprintf(stderr, "flightdeck: no user %s\n", name);
    return id;
}

static int64_t token_id(db *d, const char *name)
{
    sqlite3_stmt *st = db_stmt(d, SQL_TOKEN_BY_NAME);
    if (!st) return 0;
    db_bind_text(st, 1, name);
    int64_t id = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (!id) fprintf(stderr, "flightdeck: no token %s\n", name);
    return id;
}

static int cmd_user_add(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    const char *role_s = opt(argc, argv, "--role");
    if (argc < 1 || argv[0][0] == '-' || !role_s) return EXIT_USAGE;
    char pw[512];
    if (read_password(pw, sizeof pw)) return 1;
    int64_t id;
    account_err err;
    int rc = account_user_create(d, argv[0], pw, role_s, opt(argc, argv, "--project"), CLI_ACTOR,
                                 &id, &err);
    memset(pw, 0, sizeof pw);
    if (rc) return report(&err);
    printf("Added user %s (%s on %s).\n", argv[0], role_s,
           opt(argc, argv, "--project") ? opt(argc, argv, "--project") : "all projects");
    return 0;
}

static int cmd_user_passwd(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    if (argc < 1 || argv[0][0] == '-') return EXIT_USAGE;
    int64_t id = user_id(d, argv[0]);
    if (!id) return 1;
    char pw[512];
    if (read_password(pw, sizeof pw)) return 1;
    account_err err;
    int rc = account_user_password(d, id, pw, CLI_ACTOR, &err);
    memset(pw, 0, sizeof pw);
    if (rc) return report(&err);
    printf("Password of %s changed; their sign-ins were ended.\n", argv[0]);
    return 0;
}

static int cmd_user_grant(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    const char *role_s = opt(argc, argv, "--role");
    if (argc < 1 || argv[0][0] == '-' || !role_s) return EXIT_USAGE;
    int64_t id = user_id(d, argv[0]);
    account_err err;
    if (!id) return 1;
    if (account_grant(d, id, 0, role_s, opt(argc, argv, "--project"), CLI_ACTOR, &err))
        return report(&err);
    printf("Granted %s to %s.\n", role_s, argv[0]);
    return 0;
}

static int cmd_user_revoke(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    const char *role_s = opt(argc, argv, "--role"), *project = opt(argc, argv, "--project");
    if (argc < 1 || argv[0][0] == '-' || !role_s) return EXIT_USAGE;
    int64_t id = user_id(d, argv[0]);
    if (!id) return 1;
    /* Find the matching grant's id, then revoke it through account.c (audit). */
    sqlite3_stmt *st = db_stmt(d, SQL_GRANT_FIND);
    if (!st) return 1;
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, role_s);
    db_bind_text(st, 3, project);
    int64_t gid = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (!gid) {
        fprintf(stderr, "flightdeck: %s has no %s grant on %s\n", argv[0], role_s,
                project ? project : "all projects");
        return 1;
    }
    account_err err;
    if (account_revoke(d, gid, CLI_ACTOR, &err)) return report(&err);
    printf("Revoked %s from %s.\n", role_s, argv[0]);
    return 0;
}

/* "admin (all), viewer (payments)" from a grants JSON array. */
static void grants_text(const cJSON *grants, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (const cJSON *g = grants ? grants->child : NULL; g; g = g->next) {
        const cJSON *r = cJSON_GetObjectItem(g, "role"), *p = cJSON_GetObjectItem(g, "project");
        int w = snprintf(out + len, n - len, "%s%s (%s)", len ? ", " : "",
                         cJSON_IsString(r) ? r->valuestring : "?",
                         cJSON_IsString(p) ? p->valuestring : "all");
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
}

/* Print the rows of a list statement as JSON (--json) or as a table. */
static int list_rows(db *d, db_sql_id sql, int json, const char *const *cols, int ncols)
{
    sqlite3_stmt *st = db_stmt(d, sql);
    if (!st) return 1;
    cJSON *arr = cJSON_CreateArray();
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) cJSON_AddItemToArray(arr, db_row_json(st));
    sqlite3_reset(st);
    if (json) {
        char *s = cJSON_Print(arr);
        if (s) puts(s);
        cJSON_free(s);
    } else {
        for (int i = 0; i < ncols; i++) printf("%-24s", cols[i]);
        putchar('\n');
        for (const cJSON *row = arr->child; row; row = row->next) {
            for (int i = 0; i < ncols; i++) {
                const cJSON *v = cJSON_GetObjectItem(row, cols[i]);
                char cell[256] = "";
                if (!strcmp(cols[i], "grants")) grants_text(v, cell, sizeof cell);
                else if (cJSON_IsString(v)) snprintf(cell, sizeof cell, "%s", v->valuestring);
                else if (cJSON_IsNumber(v)) snprintf(cell, sizeof cell, "%.0f", v->valuedouble);
                else snprintf(cell, sizeof cell, "-");
                printf(i + 1 < ncols ? "%-24s" : "%s", cell);
            }
            putchar('\n');
        }
    }
    cJSON_Delete(arr);
    return rc == SQLITE_DONE ? 0 : 1;
}

static int cmd_user_list(cli_ctx *x, int argc, char **argv)
{
    static const char *const cols[] = { "username", "disabled", "grants" };
    return list_rows(x->d, SQL_USER_LIST, has_flag(argc, argv, "--json"), cols, 3);
}

static int cmd_token_create(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    const char *name = opt(argc, argv, "--name"), *role_s = opt(argc, argv, "--role");
    const char *days = opt(argc, argv, "--expires-days");
    if (!name || !role_s) return EXIT_USAGE;
    int64_t expires = 0;
    if (days) {
        char *end;
        long n = strtol(days, &end, 10);
        if (*end || n < 1 || n > 3650) {
            fprintf(stderr, "flightdeck: --expires-days must be 1..3650\n");
            return EXIT_USAGE;
        }
        expires = db_now_ms() + (int64_t)n * 86400000;
    }
    char token[ACCOUNT_TOKEN_LEN + 1];
    account_err err;
    if (account_token_create(d, name, role_s, opt(argc, argv, "--project"), expires, CLI_ACTOR,
                             token, &err))
        return report(&err);
    printf("%s\n", token); /* alone on stdout, for scripts: TOKEN=$(flightdeck token create ...) */
    return 0;
}

static int cmd_token_revoke(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    if (argc < 1 || argv[0][0] == '-') return EXIT_USAGE;
    int64_t id = token_id(d, argv[0]);
    account_err err;
    if (!id) return 1;
    if (account_token_revoke(d, id, CLI_ACTOR, &err)) return report(&err);
    printf("Revoked token %s.\n", argv[0]);
    return 0;
}

static int cmd_token_grant(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    const char *role_s = opt(argc, argv, "--role");
    if (argc < 1 || argv[0][0] == '-' || !role_s) return EXIT_USAGE;
    int64_t id = token_id(d, argv[0]);
    account_err err;
    if (!id) return 1;
    if (account_grant(d, 0, id, role_s, opt(argc, argv, "--project"), CLI_ACTOR, &err))
        return report(&err);
    printf("Granted %s to token %s.\n", role_s, argv[0]);
    return 0;
}

static int cmd_token_list(cli_ctx *x, int argc, char **argv)
{
    static const char *const cols[] = { "name", "last_used_at", "revoked_at", "grants" };
    return list_rows(x->d, SQL_TOKEN_LIST, has_flag(argc, argv, "--json"), cols, 4);
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

static int count(db *d, db_sql_id sql)
{
    sqlite3_stmt *st = db_stmt(d, sql);
    if (!st || db_step(st) != SQLITE_ROW) return -1;
    int n = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return n;
}

static int cmd_setup(cli_ctx *x, int argc, char **argv)
{
    (void)argc; (void)argv;
    db *d = x->d;
    const char *db_path = x->db_path;
    int users = count(d, SQL_USER_COUNT), sessions = count(d, SQL_SESSION_COUNT);
    if (users < 0 || sessions < 0) return 1;
    if (users == 0) {
        char pw[25], file[4200];
        int64_t id;
        account_err err;
        auth_random_id(pw, 24);
        if (account_user_create(d, "admin", pw, "admin", NULL, CLI_ACTOR, &id, &err))
            return report(&err);
        if (write_password_file(db_path, pw, file, sizeof file))
            fprintf(stderr, "flightdeck: could not write %s: %s\n", file, strerror(errno));
        printf("Created user \"admin\" with password: %s\n(also written to %s, mode 0600)\n", pw, file);
    }
    if (sessions == 0 && config_int(CFG_DEMO)) {
        char err[256];
        int n = demo_load(d, DEMO_DEFAULT_SESSIONS, DEMO_DEFAULT_SEED, err, sizeof err);
        if (n < 0) { fprintf(stderr, "flightdeck: demo data: %s\n", err); return 1; }
        printf("Loaded %d demo sessions (FLIGHTDECK_DEMO=0 skips this).\n", n);
    }
    return 0;
}

static int cmd_migrate(cli_ctx *x, int argc, char **argv)
{
    (void)argc; (void)argv;
    printf("Schema version %d.\n", db_version(x->d)); /* migrations ran on open */
    return 0;
}

static int cmd_demo(cli_ctx *x, int argc, char **argv)
{
    db *d = x->d;
    const char *ns = opt(argc, argv, "--sessions"), *seed = opt(argc, argv, "--seed");
    int n = ns ? atoi(ns) : DEMO_DEFAULT_SESSIONS;
    if (n < 1 || n > 1000000) { fprintf(stderr, "flightdeck: --sessions must be 1..1000000\n"); return EXIT_USAGE; }
    char err[256];
    int got = demo_load(d, n, seed ? (unsigned)strtoul(seed, NULL, 10) : DEMO_DEFAULT_SEED, err, sizeof err);
    if (got < 0) { fprintf(stderr, "flightdeck: demo data: %s\n", err); return 1; }
    printf("Loaded %d demo sessions.\n", got);
    return 0;
}

/* The route table as JSON: what the permission-matrix test walks. */
/* A whole number in [lo, hi] from an option's text, or -1. */
static long long whole_in(const char *v, long long lo, long long hi)
{
    char *end;
    if (!v || !*v) return -1;
    long long n = strtoll(v, &end, 10);
    return *end || n < lo || n > hi ? -1 : n;
}

static int cmd_retention_list(cli_ctx *x, int argc, char **argv)
{
    cli_opts op;
    static const char *const spec[] = { "--json", NULL };
    if (cli_opts_parse(x->name, argc, argv, spec, &op) || op.npos) return EXIT_USAGE;
    cJSON *rules = retention_rules_json(x->d);
    if (!rules) { fprintf(stderr, "flightdeck: %s\n", db_errmsg(x->d)); return 1; }
    long long dflt = config_int(CFG_RETENTION_DAYS);
    int rc = 0;
    if (cli_opt(&op, "--json")) {
        rc = cli_print_json(rules);
    } else {
        if (dflt) printf("default: keep finished sessions %lld days (retention_days)\n", dflt);
        else printf("default: keep finished sessions forever (retention_days = 0)\n");
        const cJSON *r;
        cJSON_ArrayForEach(r, rules) {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "keep_days");
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "max_payload_bytes");
            char keep[48], cap[64];
            if (cJSON_IsNumber(k)) snprintf(keep, sizeof keep, "%lld days", (long long)k->valuedouble);
            else snprintf(keep, sizeof keep, "forever");
            if (cJSON_IsNumber(m)) snprintf(cap, sizeof cap, "up to %lld bytes", (long long)m->valuedouble);
            else snprintf(cap, sizeof cap, "whole");
            printf("%s: keep %s, payloads %s (set by %s)\n",
                   cJSON_GetObjectItemCaseSensitive(r, "project")->valuestring, keep, cap,
                   cJSON_GetObjectItemCaseSensitive(r, "updated_by")->valuestring);
        }
    }
    cJSON_Delete(rules);
    return rc;
}

static int cmd_retention_set(cli_ctx *x, int argc, char **argv)
{
    cli_opts op;
    static const char *const spec[] = { "--days=", "--forever", "--max-payload=", "--no-cap", NULL };
    if (cli_opts_parse(x->name, argc, argv, spec, &op) || op.npos != 1) return EXIT_USAGE;
    const char *days_s = cli_opt(&op, "--days"), *cap_s = cli_opt(&op, "--max-payload");
    if (!days_s == !cli_opt(&op, "--forever") || (cap_s && cli_opt(&op, "--no-cap"))) {
        fprintf(stderr, "flightdeck: give --days N or --forever, and at most one of --max-payload, --no-cap\n");
        return EXIT_USAGE;
    }
    long long days = days_s ? whole_in(days_s, 1, RETENTION_MAX_DAYS) : 0;
    long long cap = cap_s ? whole_in(cap_s, RETENTION_MIN_CAP, RETENTION_MAX_CAP) : 0;
    if (days < 0 || cap < 0) {
        fprintf(stderr, "flightdeck: --days must be 1 to %d; --max-payload %d to %lld bytes\n",
                RETENTION_MAX_DAYS, RETENTION_MIN_CAP, (long long)RETENTION_MAX_CAP);
        return EXIT_USAGE;
    }
    char err[200];
    int rc = retention_set(x->d, op.pos[0], (int)days, cap, CLI_ACTOR, err, sizeof err);
    if (rc == 1) { fprintf(stderr, "flightdeck: %s\n", err); return EXIT_USAGE; }
    if (rc) { fprintf(stderr, "flightdeck: %s\n", db_errmsg(x->d)); return 1; }
    printf("Project %s: keep finished sessions %s%s, store payloads %s%s.\n", op.pos[0],
           days ? days_s : "forever", days ? " days" : "", cap ? "up to " : "whole",
           cap ? cap_s : "");
    return 0;
}

static int cmd_retention_clear(cli_ctx *x, int argc, char **argv)
{
    cli_opts op;
    static const char *const spec[] = { NULL };
    if (cli_opts_parse(x->name, argc, argv, spec, &op) || op.npos != 1) return EXIT_USAGE;
    int rc = retention_clear(x->d, op.pos[0], CLI_ACTOR);
    if (rc < 0) { fprintf(stderr, "flightdeck: %s\n", db_errmsg(x->d)); return 1; }
    if (rc == 0) { fprintf(stderr, "flightdeck: project %s has no rule\n", op.pos[0]); return 1; }
    printf("Project %s follows the default again.\n", op.pos[0]);
    return 0;
}

/* The sweep, now, to the end (the server runs it every sweep_seconds;
 * this is for a cron job or a first clean-up). */
static int cmd_retention_sweep(cli_ctx *x, int argc, char **argv)
{
    cli_opts op;
    static const char *const spec[] = { NULL };
    if (cli_opts_parse(x->name, argc, argv, spec, &op) || op.npos) return EXIT_USAGE;
    retention_counts c = { 0, 0 };
    int n, batches = 0;
    while ((n = retention_sweep_batch(x->d, db_now_ms(), (int)config_int(CFG_RETENTION_DAYS),
                                      (int)config_int(CFG_SWEEP_BATCH), &c)) > 0)
        batches++;
    if (n < 0) {
        fprintf(stderr, "flightdeck: sweep failed after %lld sessions: %s\n", c.sessions, db_errmsg(x->d));
        return 1;
    }
    printf("Deleted %lld sessions and %lld events in %d batch%s.\n", c.sessions, c.events, batches,
           batches == 1 ? "" : "es");
    return 0;
}

/* `config [show|defaults|lighttpd|get KEY]`: the settings in effect and
 * where each came from; the documented default file; lighttpd's variables
 * (lighttpd.conf includes them); one value, for scripts. */
static int cmd_config(cli_ctx *x, int argc, char **argv)
{
    (void)x;
    const char *what = argc > 0 ? argv[0] : "show";
    if (!strcmp(what, "show") && argc <= 1) config_print(stdout);
    else if (!strcmp(what, "defaults") && argc == 1) config_print_defaults(stdout);
    else if (!strcmp(what, "lighttpd") && argc == 1) config_print_lighttpd(stdout);
    else if (!strcmp(what, "get") && argc == 2) {
        int k = config_lookup(argv[1]);
        if (k < 0) {
            fprintf(stderr, "flightdeck: no setting \"%s\" (flightdeck config lists them)\n", argv[1]);
            return EXIT_USAGE;
        }
        printf("%s\n", config_value((config_key)k));
    } else
        return EXIT_USAGE;
    return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_routes(cli_ctx *x, int argc, char **argv)
{
    (void)x; (void)argc; (void)argv;
    static const struct { unsigned m; const char *name; } methods[] = {
        { HTTP_GET, "GET" }, { HTTP_POST, "POST" }, { HTTP_PUT, "PUT" },
        { HTTP_PATCH, "PATCH" }, { HTTP_DELETE, "DELETE" } };
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < route_count; i++) {
        const route *r = &route_table[i];
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
            if (!(r->methods & methods[k].m)) continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "method", methods[k].name);
            cJSON_AddStringToObject(o, "pattern", r->pattern);
            cJSON_AddStringToObject(o, "permission", perm_name(r->perm));
            cJSON_AddStringToObject(o, "kind", (r->flags & ROUTE_API) ? "api" : "page");
            cJSON_AddBoolToObject(o, "form", (r->flags & ROUTE_FORM) != 0);
            cJSON_AddItemToArray(arr, o);
        }
    }
    char *s = cJSON_Print(arr);
    if (s) puts(s);
    cJSON_free(s);
    cJSON_Delete(arr);
    return 0;
}

/* ------------------------------------------------------------ db backup */

/* Remove a half-written backup and its journal files. */
static void backup_discard(const char *tmp)
{
    char side[4216];
    unlink(tmp);
    snprintf(side, sizeof side, "%s-journal", tmp);
    unlink(side);
    snprintf(side, sizeof side, "%s-wal", tmp);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", tmp);
    unlink(side);
}

/* Copy database src (a connection) into dst in one step (one read
 * transaction on src: a snapshot), retrying while dst is busy. */
static int copy_db(sqlite3 *dst, sqlite3 *src)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) return sqlite3_errcode(dst);
    int rc;
    for (int tries = 0; tries < 100; tries++) {
        rc = sqlite3_backup_step(b, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
        sqlite3_sleep(100);
    }
    int fin = sqlite3_backup_finish(b);
    return rc == SQLITE_DONE ? fin : rc == SQLITE_OK ? SQLITE_ERROR : rc;
}

/* db backup FILE [--force]: a consistent copy of the database through
 * SQLite's online backup API, taken in one read transaction (WAL: the
 * server keeps writing meanwhile). Written to FILE.tmp-PID beside FILE,
 * checked (quick_check), switched to rollback journal mode so the copy is
 * one self-contained file, then renamed over FILE: a reader of FILE never
 * sees half a backup. Refuses an existing FILE without --force, and never
 * overwrites the database itself. */
static int cmd_db_backup(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--force", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 1 || !*op.pos[0]) return EXIT_USAGE;
    const char *file = op.pos[0];
    struct stat fs, ds;
    if (stat(file, &fs) == 0) {
        if (!cli_opt(&op, "--force")) {
            fprintf(stderr, "flightdeck: %s exists; add --force to overwrite it\n", file);
            return 1;
        }
        if (stat(x->db_path, &ds) == 0 && fs.st_dev == ds.st_dev && fs.st_ino == ds.st_ino) {
            fprintf(stderr, "flightdeck: %s is the database itself\n", file);
            return 1;
        }
        if (!S_ISREG(fs.st_mode)) {
            fprintf(stderr, "flightdeck: %s is not a regular file\n", file);
            return 1;
        }
    }
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", file, (long)getpid()) >= sizeof tmp - 16) {
        fprintf(stderr, "flightdeck: the file name is too long\n");
        return EXIT_USAGE;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "flightdeck: cannot create %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    close(fd);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
    int pages = 0;
    const char *step = "open";
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(dst, 5000);
        step = "backup";
        rc = copy_db(dst, db_handle(x->d));
        sqlite3_stmt *pc = NULL;
        if (rc == SQLITE_OK && sqlite3_prepare_v2(dst, "PRAGMA page_count", -1, &pc, NULL) == SQLITE_OK &&
            sqlite3_step(pc) == SQLITE_ROW)
            pages = sqlite3_column_int(pc, 0);
        sqlite3_finalize(pc);
    }
    if (rc == SQLITE_OK) {
        step = "check";
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st) == SQLITE_ROW &&
                 strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
        }
        sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK) {
        step = "journal mode";
        rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    }
    const char *why = dst ? sqlite3_errmsg(dst) : "out of memory";
    char whybuf[300];
    snprintf(whybuf, sizeof whybuf, "%s", rc == SQLITE_CORRUPT ? "the copy failed its check" : why);
    if (sqlite3_close(dst) != SQLITE_OK && rc == SQLITE_OK) {
        rc = SQLITE_ERROR;
        snprintf(whybuf, sizeof whybuf, "could not close the copy");
    }
    if (rc == SQLITE_OK && rename(tmp, file) != 0) {
        step = "rename";
        rc = SQLITE_ERROR;
        snprintf(whybuf, sizeof whybuf, "%s", strerror(errno));
    }
    if (rc != SQLITE_OK) {
        backup_discard(tmp);
        fprintf(stderr, "flightdeck: backup failed (%s): %s\n", step, whybuf);
        return 1;
    }
    /* Sealed values need their keys: beside the copy, where `--db FILE`
     * looks by default (docs/encryption.md: store the two apart). */
    char keyfile[4200], kerr[300];
    snprintf(keyfile, sizeof keyfile, "%s.key", file);
    int keys = seal_export_keys(keyfile, 1, kerr, sizeof kerr);
    if (keys < 0) {
        fprintf(stderr, "flightdeck: backup written, but its key file was not: %s\n", kerr);
        return 1;
    }
    printf("Backed up %s to %s (%d pages, schema version %d).\n", x->db_path, file, pages,
           db_version(x->d));
    if (keys) printf("Its encryption keys are in %s (mode 0600): keep them apart from the backup.\n", keyfile);
    return 0;
}

/* ------------------------------------------------- db check, vacuum, restore */

/* Print the rows of a one- or three-column PRAGMA that reports problems
 * (integrity_check: "ok" alone when sound; foreign_key_check: nothing).
 * Returns how many problems, or -1 when it cannot run. */
static int pragma_problems(sqlite3 *h, const char *pragma, const char *what)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, pragma, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "flightdeck: %s: %s\n", what, sqlite3_errmsg(h));
        return -1;
    }
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        if (sqlite3_column_count(st) == 1 && a && strcmp(a, "ok") == 0) continue;
        if (n < 20) {
            if (sqlite3_column_count(st) >= 3)
                printf("%s: %s row %lld refers to a missing %s row\n", what, a ? a : "?",
                       sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2));
            else
                printf("%s: %s\n", what, a ? a : "?");
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        printf("%s: %s\n", what, sqlite3_errmsg(h));
        n++;
    }
    sqlite3_finalize(st);
    if (n > 20) printf("%s: ... %d problems in all\n", what, n);
    return n;
}

/* db check [--quick]: integrity (every page, index and constraint), foreign
 * keys, and whether the schema is this build's. Exit 1 on any problem. */
static int cmd_db_check(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--quick", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op) || op.npos) return EXIT_USAGE;
    sqlite3 *h = db_handle(x->d);
    int quick = cli_opt(&op, "--quick") != NULL;
    int bad = pragma_problems(h, quick ? "PRAGMA quick_check" : "PRAGMA integrity_check",
                              quick ? "quick_check" : "integrity_check");
    int fk = pragma_problems(h, "PRAGMA foreign_key_check", "foreign_key_check");
    int have = db_version(x->d), newest = db_migrations[db_migration_count - 1].version;
    if (have != newest) printf("schema: version %d, this build's is %d\n", have, newest);
    if (bad || fk || have != newest) {
        fprintf(stderr, "flightdeck: %s has problems (above)\n", x->db_path);
        return 1;
    }
    printf("%s: ok (%s, foreign keys, schema version %d)\n", x->db_path,
           quick ? "quick check" : "integrity check", have);
    return 0;
}

/* Bytes the database file and its WAL take. */
static long long db_bytes(const char *path)
{
    struct stat s;
    char wal[4200];
    long long n = stat(path, &s) == 0 ? (long long)s.st_size : 0;
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &s) == 0) n += (long long)s.st_size;
    return n;
}

/* db vacuum: rebuild the file without the pages deleted rows left free,
 * then empty the WAL. Holds the write lock throughout: a running server
 * answers writes 503 (with Retry-After) until it ends. */
static int cmd_db_vacuum(cli_ctx *x, int argc, char **argv)
{
    cli_opts op;
    static const char *const spec[] = { NULL };
    if (cli_opts_parse(x->name, argc, argv, spec, &op) || op.npos) return EXIT_USAGE;
    sqlite3 *h = db_handle(x->d);
    long long before = db_bytes(x->db_path);
    if (sqlite3_exec(h, "VACUUM", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "flightdeck: vacuum failed: %s\n", sqlite3_errmsg(h));
        return 1;
    }
    long long after = db_bytes(x->db_path);
    printf("Vacuumed %s: %lld bytes before, %lld after.\n", x->db_path, before, after);
    return 0;
}

/* db rotate-key: a new encryption key, every sealed value re-encrypted
 * with it while the server runs, the old key dropped (seal_db.h). */
static int cmd_db_rotate_key(cli_ctx *x, int argc, char **argv)
{
    cli_opts op;
    static const char *const spec[] = { NULL };
    if (cli_opts_parse(x->name, argc, argv, spec, &op) || op.npos) return EXIT_USAGE;
    seal_rotation r;
    char err[400];
    if (seal_rotate(x->d, 500, stderr, &r, err, sizeof err)) {
        fprintf(stderr, "flightdeck: rotate-key: %s\n", err);
        return 1;
    }
    for (int i = 0; i < SEAL_TABLES; i++)
        if (r.table[i]) printf("%-18s %lld rows re-encrypted\n", r.table[i], r.rows[i]);
    printf("Key %u now seals every value (%lld rows re-encrypted%s%s).", (unsigned)r.new_key, r.total,
           r.resumed ? ", an earlier rotation finished" : "",
           r.search_rebuilt ? ", search index rebuilt" : "");
    if (r.nold) {
        printf(" Dropped key%s", r.nold > 1 ? "s" : "");
        for (int i = 0; i < r.nold; i++) printf(" %u", (unsigned)r.old_keys[i]);
        printf(" from %s.", seal_key_path());
    }
    printf("\n");
    return 0;
}

/* db restore FILE [--force]: replace the database's content with a backup.
 * FILE is copied beside the database first, checked and migrated there (an
 * older backup comes up to this build's schema), then copied into the
 * database with the backup API, as one write: a running server sees the
 * old content or the restored one, never a mix, and goes on serving. A
 * database that holds sessions is replaced only with --force. */
static int cmd_db_restore(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--force", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 1 || !*op.pos[0]) return EXIT_USAGE;
    const char *file = op.pos[0];
    struct stat fs, ds;
    if (stat(file, &fs) != 0 || !S_ISREG(fs.st_mode)) {
        fprintf(stderr, "flightdeck: %s is not a file\n", file);
        return 1;
    }
    if (stat(x->db_path, &ds) == 0 && fs.st_dev == ds.st_dev && fs.st_ino == ds.st_ino) {
        fprintf(stderr, "flightdeck: %s is the database itself\n", file);
        return 1;
    }
    sqlite3_stmt *st;
    long long live = -1;
    if (sqlite3_prepare_v2(db_handle(x->d), "SELECT count(*) FROM sessions", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        live = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (live != 0 && !cli_opt(&op, "--force")) {
        fprintf(stderr, "flightdeck: %s holds %lld sessions; add --force to replace them with %s\n",
                x->db_path, live, file);
        return 1;
    }

    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.restore-%ld", x->db_path, (long)getpid()) >= sizeof tmp - 16) {
        fprintf(stderr, "flightdeck: the file name is too long\n");
        return EXIT_USAGE;
    }
    const char *step = "read";
    char why[300] = "";
    int rc = SQLITE_ERROR, version = -1;
    sqlite3 *src = NULL, *staged = NULL;
    db *sd = NULL;
    if (sqlite3_open_v2(file, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(src, 5000);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
            if (sqlite3_open_v2(tmp, &staged, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
                rc = copy_db(staged, src);
        } else {
            snprintf(why, sizeof why, "cannot create a file beside the database: %s", strerror(errno));
        }
    }
    if (rc != SQLITE_OK && !why[0])
        snprintf(why, sizeof why, "%s", sqlite3_errmsg(staged ? staged : src));
    sqlite3_close(src);
    if (rc == SQLITE_OK) {
        step = "check";
        rc = pragma_problems(staged, "PRAGMA quick_check", "quick_check") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
        if (rc != SQLITE_OK) snprintf(why, sizeof why, "%s is damaged (above)", file);
    }
    if (rc == SQLITE_OK && sqlite3_prepare_v2(staged, "SELECT max(version) FROM schema_migrations", -1,
                                              &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(staged);
    staged = NULL;
    int newest = db_migrations[db_migration_count - 1].version;
    if (rc == SQLITE_OK && (version < 1 || version > newest)) {
        step = "schema";
        rc = SQLITE_ERROR;
        snprintf(why, sizeof why, version < 1 ? "%s is not a Flightdeck database"
                                              : "%s is from a newer Flightdeck (schema version %d)",
                 file, version);
    }
    if (rc == SQLITE_OK) {
        /* An older backup comes up to date before anyone sees it. */
        step = "migrate";
        int applied = 0;
        sd = db_open(tmp, why, sizeof why);
        rc = sd && db_migrate(sd, &applied) == 0 ? SQLITE_OK : SQLITE_ERROR;
        if (rc != SQLITE_OK && sd) snprintf(why, sizeof why, "%s", db_errmsg(sd));
    }
    if (rc == SQLITE_OK) {
        /* The backup's keys (FILE.key, when it has one) join the key file
         * first, so the values it sealed read once it is in. */
        step = "keys";
        char keyfile[4200];
        snprintf(keyfile, sizeof keyfile, "%s.key", file);
        rc = seal_import_keys(keyfile, why, sizeof why) < 0 ? SQLITE_ERROR : SQLITE_OK;
    }
    if (rc == SQLITE_OK) {
        step = "restore";
        rc = copy_db(db_handle(x->d), db_handle(sd));
        if (rc != SQLITE_OK) snprintf(why, sizeof why, "%s", sqlite3_errmsg(db_handle(x->d)));
    }
    db_free(sd);
    backup_discard(tmp);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "flightdeck: restore failed (%s): %s; the database is unchanged\n", step, why);
        return 1;
    }
    long long now = -1;
    if (sqlite3_prepare_v2(db_handle(x->d), "SELECT count(*) FROM sessions", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        now = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    printf("Restored %s into %s (%lld sessions, schema version %d%s).\n", file, x->db_path, now,
           newest, version < newest ? ", migrated" : "");
    return 0;
}

/* ------------------------------------------------------- option parsing */

int cli_opts_parse(const char *cmd, int argc, char **argv, const char *const *spec, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    int opts_done = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || !strcmp(a, "-")) {
            if (o->npos >= CLI_POS_MAX) {
                fprintf(stderr, "flightdeck: %s: too many arguments\n", cmd);
                return EXIT_USAGE;
            }
            o->pos[o->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) { opts_done = 1; continue; }
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *match = NULL;
        int takes = 0;
        for (int k = 0; spec[k]; k++) {
            size_t sl = strlen(spec[k]);
            int v = sl > 0 && spec[k][sl - 1] == '=';
            if (nl == sl - (size_t)v && !strncmp(a, spec[k], nl)) { match = spec[k]; takes = v; break; }
        }
        if (!match || (eq && !takes)) {
            fprintf(stderr, "flightdeck: %s: unknown option \"%s\"\n", cmd, a);
            return EXIT_USAGE;
        }
        if (o->n >= CLI_OPTS_MAX) {
            fprintf(stderr, "flightdeck: %s: too many options\n", cmd);
            return EXIT_USAGE;
        }
        const char *val = "";
        if (takes) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else {
                fprintf(stderr, "flightdeck: %s: %s needs a value\n", cmd, a);
                return EXIT_USAGE;
            }
        }
        o->name[o->n] = match;
        o->val[o->n] = val;
        o->n++;
    }
    return 0;
}

const char *cli_opt(const cli_opts *o, const char *name)
{
    size_t nl = strlen(name);
    const char *v = NULL;
    for (int i = 0; i < o->n; i++)
        if (!strncmp(o->name[i], name, nl) && (o->name[i][nl] == '\0' || !strcmp(o->name[i] + nl, "=")))
            v = o->val[i];
    return v;
}

int cli_print_json(const cJSON *o)
{
    char *t = cJSON_Print(o);
    if (!t) { fprintf(stderr, "flightdeck: out of memory\n"); return 1; }
    puts(t);
    cJSON_free(t);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ the table */

enum {
    CMD_API  = 1 << 0, /* has an API: runs against --server too */
    CMD_NODB = 1 << 1  /* needs no database */
};

typedef struct cli_cmd {
    const char *name;    /* "sessions list" */
    cli_fn      fn;      /* argv starts after the name */
    unsigned    flags;
    const char *usage;   /* the synopsis after "flightdeck " */
    const char *summary; /* one line for the overview */
    const char *help;    /* what `help COMMAND` adds: options, examples */
} cli_cmd;

static const cli_cmd commands[] = {
    { "sessions list", cli_sessions_list, CMD_API,
      "sessions list [--status S]... [--kind K] [--agent A] [--trigger T] [--since 24h] [--limit N] [--json]",
      "list sessions, newest first (the History page's filters)",
      "Every parameter of GET /api/v1/sessions works as --name VALUE (dashes for\n"
      "underscores): --status (repeat it, or a comma list), --kind agent|workflow,\n"
      "--agent, --trigger manual|api|event|schedule|agent|workflow, --source,\n"
      "--project, --environment, --cluster, --deployment, --thread-id, --parent,\n"
      "--success true|false, --has-error 1, --range 1h|24h|7d|30d, --start-after,\n"
      "--start-before, --q TEXT, --meta KEY=VALUE, --metadata JSON, --sort KEY,\n"
      "--asc/--desc, --limit 1..200 (default 50), --offset N, --cursor C.\n"
      "--since DURATION (90m, 24h, 7d, 2w) lists sessions started since then.\n"
      "Prints a table (and `more: --cursor C` when another page follows); --json\n"
      "prints the API's answer {\"data\":[...],\"next_cursor\":...}.\n\n"
      "example: flightdeck sessions list --status failed --since 7d --agent support-triage" },
    { "sessions get", cli_sessions_get, CMD_API,
      "sessions get ID [--include PARTS] [--json]",
      "one session: its facts, and with --include its conversation, activity, ...",
      "PARTS is a comma list of events, messages, children, agents, trace, logs,\n"
      "artifacts, evals (--include may be repeated). Prints the session's facts,\n"
      "and for each part a section: messages as the conversation, events as\n"
      "activity lines. --json prints GET /api/v1/sessions/{id}?include=PARTS.\n\n"
      "example: flightdeck sessions get ses_123 --include messages" },
    { "sessions watch", cli_sessions_watch, CMD_API,
      "sessions watch ID [--json]",
      "follow a session live until it ends",
      "Prints the activity so far, then each new entry as one line\n"
      "(TIME  #SEQ  WHAT, times in UTC) as it arrives, until the session ends:\n"
      "then a final line with its status, and exit 0. Ctrl-C stops watching.\n"
      "--json prints each event as one line of JSON (the API's event objects),\n"
      "then {\"session_id\",\"status\",\"ended\":true}.\n"
      "Locally it reads the database every 300 ms; against a server it long-polls\n"
      "GET /api/v1/sessions/{id}/control (a token without runtime permission\n"
      "reads the session once a second instead)." },
    { "sessions pause", cli_sessions_pause, CMD_API, "sessions pause ID... [--json]",
      "pause sessions (asynchronous while a tool call runs)",
      "Each ID gets a line: \"ID: ok, running -> paused\" on standard output or\n"
      "\"ID: failed: why\" on standard error. Exit 1 when any failed. --json prints\n"
      "{\"results\":[{\"id\",\"ok\",\"status\",\"previous_status\"|\"error\"}],\"succeeded\",\"failed\"}." },
    { "sessions resume", cli_sessions_resume, CMD_API, "sessions resume ID... [--json]",
      "resume paused sessions", "As `sessions pause`." },
    { "sessions cancel", cli_sessions_cancel, CMD_API, "sessions cancel ID... [--json]",
      "cancel sessions (permanent)", "As `sessions pause`." },
    { "sessions delete", cli_sessions_delete, CMD_API, "sessions delete ID... [--json]",
      "delete ended sessions with everything they hold",
      "Only completed, failed or canceled sessions can be deleted; the audit log\n"
      "keeps who deleted what. Output as `sessions pause`." },
    { "history list", cli_sessions_list, CMD_API,
      "history list [--kind agent|workflow] [options of sessions list]",
      "the History list: agent sessions or workflow runs",
      "The same list and options as `sessions list`; --kind agent|workflow keeps\n"
      "one kind.\n\n"
      "example: flightdeck history list --kind workflow --since 24h --json" },
    { "tasks list", cli_tasks_list, CMD_API, "tasks list [--json]",
      "manual tasks waiting for a person (the Work Center)",
      "One row per task: its ID (for tasks complete), session, tool, since when,\n"
      "arguments. --json prints GET /api/v1/tasks." },
    { "tasks complete", cli_tasks_complete, CMD_API,
      "tasks complete ID [--result JSON | --reject REASON] [--json]",
      "complete a manual task with a result, or reject it",
      "--result JSON records the call's result (default {}); --reject REASON\n"
      "records it as failed with that reason. A paused session resumes.\n"
      "--json prints the API's answer {\"id\",\"session_id\",\"state\",\"session_status\"}.\n\n"
      "example: flightdeck tasks complete 42 --result '{\"approved\":true}'" },
    { "artifacts list", cli_artifacts_list, CMD_API,
      "artifacts list SESSION_ID [--limit N] [--cursor C] [--json]",
      "a session's artifacts, newest first",
      "--limit 1..200 (default 50); `more: --cursor C` when another page follows.\n"
      "--json prints GET /api/v1/sessions/{id}/artifacts." },
    { "artifacts get", cli_artifacts_get, CMD_API,
      "artifacts get SESSION_ID ARTIFACT_ID [-o FILE]",
      "an artifact's bytes, to standard output or FILE",
      "Writes the artifact exactly as stored; -o FILE (or --output FILE) writes it\n"
      "to FILE instead (replacing it)." },
    { "report get", cli_report_get, CMD_API, "report get SESSION_ID [--format md|json|html]",
      "a session's report: Markdown (default), JSON or an HTML document",
      "--json is --format json. Exit 1 when the session has no report." },
    { "db migrate", cmd_migrate, 0, "db migrate", "apply pending migrations",
      "Migrations also run whenever the CLI or the server opens the database." },
    { "db backup", cmd_db_backup, 0, "db backup FILE [--force]",
      "a consistent copy of the database, while the server runs",
      "Uses SQLite's online backup API in one read transaction, so the copy is a\n"
      "consistent snapshot even while the server writes. The copy is checked,\n"
      "is one self-contained file (no -wal), and appears under FILE only when\n"
      "complete. An existing FILE is refused unless --force.\n"
      "Restore it with `flightdeck db restore FILE`." },
    { "db restore", cmd_db_restore, 0, "db restore FILE [--force]",
      "replace the database's content with a backup, while the server runs",
      "FILE is copied beside the database, checked, and migrated to this build's\n"
      "schema first; then copied into the database in one write, so a running\n"
      "server sees the old content or the restored one, never a mix. A database\n"
      "that holds sessions is replaced only with --force. A backup from a newer\n"
      "Flightdeck, or a damaged one, is refused and nothing changes." },
    { "db check", cmd_db_check, 0, "db check [--quick]",
      "check the database: integrity, foreign keys, schema version",
      "Runs PRAGMA integrity_check (every page, index and constraint; --quick:\n"
      "quick_check, which skips the index contents) and foreign_key_check, and\n"
      "compares the schema version with this build's. Prints the problems and\n"
      "exits 1 when there is any; safe while the server runs (it only reads)." },
    { "db vacuum", cmd_db_vacuum, 0, "db vacuum",
      "give back the space deleted rows left free",
      "Rebuilds the file (SQLite VACUUM), then empties the WAL. It needs free\n"
      "disk about the database's size, and holds the write lock until it ends:\n"
      "a running server answers writes 503 with Retry-After meanwhile. Run it\n"
      "at a quiet hour." },
    { "db rotate-key", cmd_db_rotate_key, 0, "db rotate-key",
      "re-encrypt every sealed value with a new key, while the server runs",
      "Encryption at rest (docs/encryption.md): adds a new key to the key file\n"
      "(FLIGHTDECK_KEY_FILE, default the database path + \".key\"), waits until\n"
      "running servers seal with it, re-encrypts every value sealed with an older\n"
      "key (and, with FLIGHTDECK_ENCRYPT_PAYLOADS=1, every clear payload) in short\n"
      "transactions of 500 rows, rebuilds the search index from what is never\n"
      "sealed (encryption on), then drops the old key from the file. Interrupted,\n"
      "it leaves both keys in the file; run it again to finish." },
    { "setup", cmd_setup, 0, "setup",
      "migrate; on first start create the admin user and load demo data",
      "The admin password is printed and written beside the database (mode 0600).\n"
      "Demo data is loaded into an empty database unless FLIGHTDECK_DEMO=0." },
    { "user add", cmd_user_add, 0, "user add NAME --role ROLE [--project P]",
      "add a user (password on standard input)",
      "The password is read from standard input, never from arguments (which ps\n"
      "and shell history would show).\n\n"
      "example: echo 's3cret-password' | flightdeck user add alice --role operator" },
    { "user passwd", cmd_user_passwd, 0, "user passwd NAME",
      "set a user's password (standard input); ends their sign-ins", NULL },
    { "user grant", cmd_user_grant, 0, "user grant NAME --role ROLE [--project P]",
      "grant a role, on one project or all", NULL },
    { "user revoke", cmd_user_revoke, 0, "user revoke NAME --role ROLE [--project P]",
      "revoke a grant", NULL },
    { "user list", cmd_user_list, 0, "user list [--json]", "users and their grants", NULL },
    { "token create", cmd_token_create, 0,
      "token create --name NAME --role ROLE [--project P] [--expires-days N]",
      "print a new API token (stored hashed; shown once)",
      "The token alone goes to standard output:\n"
      "  export FLIGHTDECK_TOKEN=$(flightdeck token create --name me --role operator)" },
    { "token grant", cmd_token_grant, 0, "token grant NAME --role ROLE [--project P]",
      "one more role or project for a token", NULL },
    { "token revoke", cmd_token_revoke, 0, "token revoke NAME", "revoke a token at once", NULL },
    { "token list", cmd_token_list, 0, "token list [--json]", "tokens and their grants", NULL },
    { "demo", cmd_demo, 0, "demo [--sessions N] [--seed S]", "load demo sessions (default 300)", NULL },
    { "retention list", cmd_retention_list, 0, "retention list [--json]",
      "the default and every project's retention rule", NULL },
    { "retention set", cmd_retention_set, 0,
      "retention set PROJECT (--days N | --forever) [--max-payload BYTES | --no-cap]",
      "keep a project's finished sessions N days; cap its stored payloads",
      "Finished sessions are deleted by the server's sweep once they ended more than N\n"
      "days ago. --max-payload cuts events (with tool arguments and results) longer\n"
      "than BYTES (1024 or more) at ingest. Audited." },
    { "retention clear", cmd_retention_clear, 0, "retention clear PROJECT",
      "the project follows the default (retention_days) again", NULL },
    { "retention sweep", cmd_retention_sweep, 0, "retention sweep",
      "delete what has expired now, in batches (the server does it every sweep_seconds)", NULL },
    { "doctor", cli_doctor, CMD_NODB, "doctor",
      "check this deployment: folders, database, key file, lighttpd config",
      "Prints one line per check (ok, warn, FAIL) and exits 1 when one failed.\n"
      "Changes nothing: the database is opened read-only, not migrated." },
    { "config", cmd_config, CMD_NODB, "config [show | defaults | lighttpd | get KEY]",
      "the settings in effect, and where each came from",
      "show: every key, its value and its source (default, file, environment).\n"
      "defaults: the documented configuration file, every key at its default.\n"
      "lighttpd: the variables lighttpd.conf includes (port, bind, folders).\n"
      "get KEY: one value (paths made absolute), for scripts." },
    { "routes", cmd_routes, CMD_NODB, "routes", "every route with its permission, as JSON", NULL },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The overview: every command with its summary. */
static void usage(FILE *f)
{
    fputs("usage: flightdeck [--db PATH | --server URL] COMMAND [ARGS]\n\n"
          "Sessions and work (the local database, or a server with --server):\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].flags & CMD_API) fprintf(f, "  %-17s %s\n", commands[i].name, commands[i].summary);
    fputs("\nAdministration (the local database only):\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!(commands[i].flags & CMD_API)) fprintf(f, "  %-17s %s\n", commands[i].name, commands[i].summary);
    fputs("  simulate          play agent sessions against a server (simulate --help)\n"
          "\n"
          "Options (before or after the command):\n"
          "  --db PATH         the database (default: the configuration's db, var/flightdeck.db)\n"
          "  --server URL      work against a server over its API (default $FLIGHTDECK_SERVER;\n"
          "                    --db wins over the variable); the token is read from\n"
          "                    $FLIGHTDECK_TOKEN only, never from an option\n"
          "  --json            print JSON (the API's shape) instead of a table\n"
          "  -h, --help        help on a command; also: flightdeck help COMMAND\n"
          "\n"
          "Exit status: 0 ok; 1 failed, not found, refused, server or network error;\n"
          "2 usage error.\n"
          "Roles: viewer, operator, admin, runtime, metrics; --project limits a grant to one project.\n", f);
}

/* Help on one command (to stdout). */
static void command_help(const cli_cmd *c)
{
    printf("usage: flightdeck %s\n\n%s.\n", c->usage, c->summary);
    if (c->help) printf("\n%s\n", c->help);
    printf("\n%s\n", (c->flags & CMD_API)
                         ? "Works on the local database, or on a server with --server URL\n"
                           "(token in FLIGHTDECK_TOKEN)."
                         : "Works on the local database only.");
}

/* The commands of group `word` ("sessions"), to f. 0 when there are none. */
static int group_help(FILE *f, const char *word)
{
    int n = 0;
    size_t wl = strlen(word);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strncmp(commands[i].name, word, wl) || commands[i].name[wl] != ' ') continue;
        if (!n++) fprintf(f, "usage: flightdeck %s COMMAND [ARGS]\n\ncommands:\n", word);
        fprintf(f, "  %-17s %s\n", commands[i].name + wl + 1, commands[i].summary);
    }
    if (n) fprintf(f, "\nRun 'flightdeck %s COMMAND --help' for the options of one.\n", word);
    return n;
}

/* The command named by argv[0] (and argv[1]); *words receives how many
 * words its name took. NULL when there is none. */
static const cli_cmd *command_find(int argc, char **argv, int *words)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *name = commands[i].name, *sp = strchr(name, ' ');
        if (!sp && argc >= 1 && !strcmp(argv[0], name)) { *words = 1; return &commands[i]; }
        if (sp && argc >= 2 && strlen(argv[0]) == (size_t)(sp - name) &&
            !strncmp(argv[0], name, (size_t)(sp - name)) && !strcmp(argv[1], sp + 1)) {
            *words = 2;
            return &commands[i];
        }
    }
    return NULL;
}

/* `flightdeck help [WORDS...]`. */
static int help_main(int argc, char **argv)
{
    int words;
    if (argc < 1) { usage(stdout); return 0; }
    const cli_cmd *c = command_find(argc, argv, &words);
    if (c) { command_help(c); return 0; }
    if (!strcmp(argv[0], "simulate")) {
        char *sa[] = { (char *)"simulate", (char *)"--help", NULL };
        return sim_main(2, sa);
    }
    if (argc == 1 && group_help(stdout, argv[0])) return 0;
    fprintf(stderr, "flightdeck: no command \"%s%s%s\"; flightdeck help lists them\n", argv[0],
            argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
    return EXIT_USAGE;
}

/* Take the global options (--db PATH, --server URL, also as --opt=VALUE)
 * out of argv, wherever they are. 0, or EXIT_USAGE (printed). */
static int global_opts(int *argc, char **argv, const char **db_path, const char **server)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i], **dst = NULL, *val = NULL;
        if (!strcmp(a, "--db") || !strcmp(a, "--server")) {
            dst = a[2] == 'd' ? db_path : server;
            if (i + 1 >= *argc) {
                fprintf(stderr, "flightdeck: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            val = argv[++i];
        } else if (!strncmp(a, "--db=", 5) || !strncmp(a, "--server=", 9)) {
            dst = a[2] == 'd' ? db_path : server;
            val = strchr(a, '=') + 1;
        }
        if (dst) {
            if (!*val) {
                fprintf(stderr, "flightdeck: %.8s needs a value\n", a);
                return EXIT_USAGE;
            }
            *dst = val;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    return 0;
}

/* Global options, then help, then the command: on the local database or,
 * for a command with an API and a server given, over HTTP. Returns the
 * command's exit code (0, 1, or 2 for usage). */
int main(int argc, char **argv)
{
    const char *db_path = NULL, *server = NULL;
    argc--; argv++;
    /* The reference runtime has options of its own (--server, --token). */
    int first = 0;
    while (first + 1 < argc && (!strcmp(argv[first], "--db") || !strcmp(argv[first], "--server")))
        first += 2;
    if (first < argc && !strcmp(argv[first], "simulate")) return sim_main(argc - first, argv + first);
    if (global_opts(&argc, argv, &db_path, &server)) return EXIT_USAGE;
    char cerr[600];
    if (config_load(cerr, sizeof cerr)) {
        fprintf(stderr, "flightdeck: configuration: %s\n", cerr);
        return 1;
    }
    if (db_path && server) {
        fprintf(stderr, "flightdeck: give --db or --server, not both\n");
        return EXIT_USAGE;
    }
    int explicit_server = server != NULL;
    if (!server && !db_path) {
        server = getenv("FLIGHTDECK_SERVER");
        if (server && !*server) server = NULL;
    }
    if (!db_path) db_path = config_path(CFG_DB);

    if (argc < 1) { usage(stderr); return EXIT_USAGE; }
    if (!strcmp(argv[0], "help")) return help_main(argc - 1, argv + 1);
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) { usage(stdout); return 0; }

    int words = 0;
    const cli_cmd *cmd = command_find(argc, argv, &words);
    if (!cmd) {
        int wants_help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        if ((argc == 1 || wants_help) && group_help(wants_help ? stdout : stderr, argv[0]))
            return wants_help ? 0 : EXIT_USAGE;
        fprintf(stderr, "flightdeck: unknown command \"%s%s%s\"\n\n", argv[0], argc > 1 ? " " : "",
                argc > 1 ? argv[1] : "");
        usage(stderr);
        return EXIT_USAGE;
    }
    for (int i = words; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { command_help(cmd); return 0; }
    }

    cli_ctx x = { NULL, NULL, db_path, cmd->name };
    cli_remote remote;
    memset(&remote, 0, sizeof remote);
    if (server && !(cmd->flags & CMD_API)) {
        if (explicit_server) {
            fprintf(stderr, "flightdeck: %s works on the local database only (--server does not apply)\n",
                    cmd->name);
            return EXIT_USAGE;
        }
        server = NULL; /* FLIGHTDECK_SERVER is for the commands that have an API */
    }
    if (auth_init()) { fprintf(stderr, "flightdeck: libsodium failed to start\n"); return 1; }
    if (server) {
        char err[400];
        int e = cli_remote_open(&remote, server, getenv("FLIGHTDECK_TOKEN"), err, sizeof err);
        if (e) {
            fprintf(stderr, "flightdeck: %s\n", err);
            return e == -1 ? EXIT_USAGE : 1;
        }
        x.r = &remote;
    } else if (!(cmd->flags & CMD_NODB)) {
        char err[300];
        int applied;
        /* Encryption at rest (seal.h): as the server, from the same settings;
         * the key file's default follows --db. */
        char key_path[4096];
        const char *kf = config_path(CFG_KEY_FILE);
        if (seal_key_path_default(*kf ? kf : NULL, db_path, key_path, sizeof key_path)) {
            fprintf(stderr, "flightdeck: key_file: path too long\n");
            return EXIT_USAGE;
        }
        if (seal_configure((int)config_int(CFG_ENCRYPT_PAYLOADS), key_path, err, sizeof err)) {
            fprintf(stderr, "flightdeck: encryption at rest: %s\n", err);
            return 1;
        }
        x.d = db_open(db_path, err, sizeof err);
        if (!x.d) { fprintf(stderr, "flightdeck: %s\n", err); return 1; }
        if (db_migrate(x.d, &applied)) {
            fprintf(stderr, "flightdeck: migration failed: %s\n", db_errmsg(x.d));
            db_free(x.d);
            return 1;
        }
        if (applied) fprintf(stderr, "flightdeck: applied %d migration(s)\n", applied);
    }
    int rc = cmd->fn(&x, argc - words, argv + words);
    if (rc == EXIT_USAGE) fprintf(stderr, "usage: flightdeck %s\n", cmd->usage);
    cli_remote_close(x.r);
    db_free(x.d);
    return rc;
}
