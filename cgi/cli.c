/* flightdeck: the command-line tool. Works on the local database
 * (FLIGHTDECK_DB, default var/flightdeck.db, or --db PATH); `simulate` talks
 * to a server over HTTP instead. Commands are one table: name, handler,
 * usage. Exit codes: 0 ok, 1 failure, 2 usage error. */
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
#include "auth.h"
#include "db.h"
#include "http.h"
#include "sessdata.h"
#include "sessq.h"
#include "demo.h"
#include "route.h"
#include "sim.h"

#define EXIT_USAGE 2
#define CLI_ACTOR  "cli"

typedef int (*cli_fn)(db *d, const char *db_path, int argc, char **argv);

typedef struct cli_cmd {
    const char *name;   /* "user add" */
    cli_fn      fn;     /* argv starts after the name */
    const char *usage;
} cli_cmd;

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

static int cmd_user_add(db *d, const char *path, int argc, char **argv)
{
    (void)path;
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

static int cmd_user_passwd(db *d, const char *path, int argc, char **argv)
{
    (void)path;
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

static int cmd_user_grant(db *d, const char *path, int argc, char **argv)
{
    (void)path;
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

static int cmd_user_revoke(db *d, const char *path, int argc, char **argv)
{
    (void)path;
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

static int cmd_user_list(db *d, const char *path, int argc, char **argv)
{
    (void)path;
    static const char *const cols[] = { "username", "disabled", "grants" };
    return list_rows(d, SQL_USER_LIST, has_flag(argc, argv, "--json"), cols, 3);
}

static int cmd_token_create(db *d, const char *path, int argc, char **argv)
{
    (void)path;
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

static int cmd_token_revoke(db *d, const char *path, int argc, char **argv)
{
    (void)path;
    if (argc < 1 || argv[0][0] == '-') return EXIT_USAGE;
    int64_t id = token_id(d, argv[0]);
    account_err err;
    if (!id) return 1;
    if (account_token_revoke(d, id, CLI_ACTOR, &err)) return report(&err);
    printf("Revoked token %s.\n", argv[0]);
    return 0;
}

static int cmd_token_grant(db *d, const char *path, int argc, char **argv)
{
    (void)path;
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

static int cmd_token_list(db *d, const char *path, int argc, char **argv)
{
    (void)path;
    static const char *const cols[] = { "name", "last_used_at", "revoked_at", "grants" };
    return list_rows(d, SQL_TOKEN_LIST, has_flag(argc, argv, "--json"), cols, 4);
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

static int cmd_setup(db *d, const char *db_path, int argc, char **argv)
{
    (void)argc; (void)argv;
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
    const char *demo = getenv("FLIGHTDECK_DEMO");
    if (sessions == 0 && !(demo && strcmp(demo, "0") == 0)) {
        char err[256];
        int n = demo_load(d, DEMO_DEFAULT_SESSIONS, DEMO_DEFAULT_SEED, err, sizeof err);
        if (n < 0) { fprintf(stderr, "flightdeck: demo data: %s\n", err); return 1; }
        printf("Loaded %d demo sessions (FLIGHTDECK_DEMO=0 skips this).\n", n);
    }
    return 0;
}

static int cmd_migrate(db *d, const char *path, int argc, char **argv)
{
    (void)path; (void)argc; (void)argv;
    printf("Schema version %d.\n", db_version(d)); /* migrations ran on open */
    return 0;
}

static int cmd_demo(db *d, const char *path, int argc, char **argv)
{
    (void)path;
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
static int cmd_routes(db *d, const char *path, int argc, char **argv)
{
    (void)d; (void)path; (void)argc; (void)argv;
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

/* sessions list: the API's list through sessq, on the local database with
 * full access. Every --name VALUE is the API's query parameter of the same
 * name (dashes for underscores); --json prints the API's response shape. */
static int cmd_sessions_list(db *d, const char *path, int argc, char **argv)
{
    (void)path;
    static const char *const params[] = {
        "status", "kind", "agent", "trigger", "source", "project", "environment", "cluster",
        "deployment", "thread_id", "parent", "success", "has_error", "range", "start_after",
        "start_before", "q", "meta", "metadata", "sort", "direction", "limit", "offset", "cursor", NULL };
    arena *a = arena_new();
    http_kv kvs[HTTP_MAX_PAIRS];
    http_kvs kv = { kvs, 0 };
    int json = 0, rc = 1;
    if (!a) return 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) { json = 1; continue; }
        if (!strcmp(argv[i], "--asc") || !strcmp(argv[i], "--desc")) {
            kvs[kv.n++] = (http_kv){ "direction", argv[i] + 2, strlen(argv[i] + 2) };
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "%s", strncmp(argv[i], "--", 2) ? "" : argv[i] + 2);
        for (char *p = name; *p; p++) if (*p == '-') *p = '_';
        int k;
        for (k = 0; params[k] && strcmp(params[k], name); k++) {}
        if (!params[k] || i + 1 >= argc || kv.n >= HTTP_MAX_PAIRS) {
            fprintf(stderr, "flightdeck: sessions list: unknown or incomplete option \"%s\"\n", argv[i]);
            rc = EXIT_USAGE;
            goto out;
        }
        kvs[kv.n++] = (http_kv){ params[k], argv[i + 1], strlen(argv[i + 1]) };
        i++;
    }
    sessq q;
    sq_err err = { 0 };
    sessq_init(&q, 50);
    if (sessq_parse(&q, &kv, a, db_now_ms(), &err)) {
        fprintf(stderr, "flightdeck: --%s: %s\n", err.field ? err.field : "?", err.message);
        rc = EXIT_USAGE;
        goto out;
    }
    cJSON *o = sessq_page_json(d, &q, a);
    if (!o) goto out;
    const cJSON *data = cJSON_GetObjectItem(o, "data"), *next = cJSON_GetObjectItem(o, "next_cursor");
    if (json) {
        char *t = cJSON_Print(o);
        if (t) puts(t);
        cJSON_free(t);
    } else {
        printf("%-26s %-10s %-20s %-24s %-32s %12s\n", "ID", "STATUS", "AGENT", "STARTED", "NAME", "COST");
        for (const cJSON *r = data->child; r; r = r->next) {
            const cJSON *id = cJSON_GetObjectItem(r, "id"), *stt = cJSON_GetObjectItem(r, "status"),
                        *ag = cJSON_GetObjectItem(r, "agent"), *start = cJSON_GetObjectItem(r, "start_time"),
                        *nm = cJSON_GetObjectItem(r, "name"), *cost = cJSON_GetObjectItem(r, "total_cost");
            printf("%-26.26s %-10.10s %-20.20s %-24.24s %-32.32s %12.4f\n",
                   cJSON_IsString(id) ? id->valuestring : "", cJSON_IsString(stt) ? stt->valuestring : "",
                   cJSON_IsString(ag) ? ag->valuestring : "", cJSON_IsString(start) ? start->valuestring : "-",
                   cJSON_IsString(nm) ? nm->valuestring : "", cJSON_IsNumber(cost) ? cost->valuedouble : 0.0);
        }
        if (cJSON_IsString(next)) printf("more: --cursor %s\n", next->valuestring);
    }
    cJSON_Delete(o);
    rc = 0;
out:
    arena_free(a);
    return rc;
}

/* sessions get ID [--include PARTS]...: the session as GET /api/v1/sessions/{id}
 * answers it (same JSON, same include= parts; a repeated --include adds its
 * parts), on the local database with full access. Exit 0; 1 when there is no
 * such session or on a database error; EXIT_USAGE for a bad option or part. */
static int cmd_sessions_get(db *d, const char *path, int argc, char **argv)
{
    (void)path;
    if (argc < 1 || argv[0][0] == '-') return EXIT_USAGE;
    unsigned parts = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--include") != 0 || i + 1 >= argc) {
            fprintf(stderr, "flightdeck: sessions get: unknown or incomplete option \"%s\"\n", argv[i]);
            return EXIT_USAGE;
        }
        unsigned more;
        char bad[48];
        if (sessdata_include_parse(argv[++i], &more, bad, sizeof bad)) {
            fprintf(stderr, "flightdeck: --include: unknown part \"%s\" (events, messages, children, "
                            "trace, logs, artifacts, evals, agents)\n", bad);
            return EXIT_USAGE;
        }
        parts |= more;
    }
    int missing;
    cJSON *o = sessdata_session(d, argv[0], &missing);
    if (!o) {
        if (missing) fprintf(stderr, "flightdeck: no session %s\n", argv[0]);
        else fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(d));
        return 1;
    }
    int rc = sessdata_include(d, o, argv[0], parts, NULL);
    char *t = rc ? NULL : cJSON_Print(o);
    if (t) puts(t);
    else fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(d));
    cJSON_free(t);
    cJSON_Delete(o);
    return t ? 0 : 1;
}

static const cli_cmd commands[] = {
    { "setup", cmd_setup, "setup                          migrate; on first start create the admin user\n"
      "                                 (password printed and written beside the database)\n"
      "                                 and load demo data unless FLIGHTDECK_DEMO=0" },
    { "db migrate", cmd_migrate, "db migrate                     apply pending migrations" },
    { "user add", cmd_user_add, "user add NAME --role ROLE [--project P]   (password on stdin)" },
    { "user passwd", cmd_user_passwd, "user passwd NAME               new password on stdin; ends their sign-ins" },
    { "user grant", cmd_user_grant, "user grant NAME --role ROLE [--project P]" },
    { "user revoke", cmd_user_revoke, "user revoke NAME --role ROLE [--project P]" },
    { "user list", cmd_user_list, "user list [--json]" },
    { "token create", cmd_token_create, "token create --name NAME --role ROLE [--project P] [--expires-days N]\n"
      "                                 print a new API token (stored hashed; shown once)" },
    { "token grant", cmd_token_grant, "token grant NAME --role ROLE [--project P]   (one more project or role)" },
    { "token revoke", cmd_token_revoke, "token revoke NAME" },
    { "token list", cmd_token_list, "token list [--json]" },
    { "demo", cmd_demo, "demo [--sessions N] [--seed S] load demo sessions (default 300)" },
    { "sessions list", cmd_sessions_list, "sessions list [--status S]... [--agent A] [--q TEXT] [--sort K] [--asc] [--limit N] [--json]\n"
      "                                 every filter of GET /api/v1/sessions as --name VALUE" },
    { "sessions get", cmd_sessions_get, "sessions get ID [--include events,trace,logs,artifacts,evals,agents,children,messages]\n"
      "                                 one session as JSON, as GET /api/v1/sessions/{id} answers" },
    { "routes", cmd_routes, "routes                         every route with its permission, as JSON" },
};

static void usage(FILE *f)
{
    fputs("usage: flightdeck [--db PATH] COMMAND\n\ncommands:\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].usage);
    fputs("  simulate [options]             play agent sessions against a server over the API,\n"
          "                                 obeying pause/resume/cancel (simulate --help)\n"
          "\nroles: viewer, operator, admin, runtime; --project limits a grant to one project\n"
          "environment: FLIGHTDECK_DB (default var/flightdeck.db)\n", f);
}

int main(int argc, char **argv)
{
    const char *db_path = getenv("FLIGHTDECK_DB");
    if (!db_path || !*db_path) db_path = "var/flightdeck.db";
    argc--; argv++;
    if (argc >= 2 && strcmp(argv[0], "--db") == 0) { db_path = argv[1]; argc -= 2; argv += 2; }
    if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_USAGE : 0;
    }
    /* The reference runtime talks HTTP only; it never opens the database. */
    if (!strcmp(argv[0], "simulate")) return sim_main(argc, argv);

    const cli_cmd *cmd = NULL;
    int words = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && !cmd; i++) {
        const char *sp = strchr(commands[i].name, ' ');
        if (!sp && !strcmp(argv[0], commands[i].name)) { cmd = &commands[i]; words = 1; }
        else if (sp && argc >= 2 && !strncmp(argv[0], commands[i].name, (size_t)(sp - commands[i].name)) &&
                 strlen(argv[0]) == (size_t)(sp - commands[i].name) && !strcmp(argv[1], sp + 1)) {
            cmd = &commands[i];
            words = 2;
        }
    }
    if (!cmd) {
        fprintf(stderr, "flightdeck: unknown command \"%s%s%s\"\n\n", argv[0], argc > 1 ? " " : "",
                argc > 1 ? argv[1] : "");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (auth_init()) { fprintf(stderr, "flightdeck: libsodium failed to start\n"); return 1; }
    db *d = NULL;
    if (cmd->fn != cmd_routes) {
        char err[300];
        int applied;
        d = db_open(db_path, err, sizeof err);
        if (!d) { fprintf(stderr, "flightdeck: %s\n", err); return 1; }
        if (db_migrate(d, &applied)) {
            fprintf(stderr, "flightdeck: migration failed: %s\n", db_errmsg(d));
            db_free(d);
            return 1;
        }
        if (applied) fprintf(stderr, "flightdeck: applied %d migration(s)\n", applied);
    }
    int rc = cmd->fn(d, db_path, argc - words, argv + words);
    if (rc == EXIT_USAGE) fprintf(stderr, "usage: flightdeck %s\n", cmd->usage);
    db_free(d);
    return rc;
}
