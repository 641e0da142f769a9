/* account: users, grants, tokens. See account.h. */
#include "account.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "db.h"

static int fail(account_err *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(account_err *err, int status, const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int charset_ok(const char *s, size_t max, const char *extra)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return n > 0 && n <= max;
}

int account_username_valid(const char *s) { return charset_ok(s, 64, "._@-"); }
int account_project_valid(const char *s) { return charset_ok(s, 100, "._-"); }

static int password_ok(const char *pw, account_err *err)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < 8) return fail(err, 422, "the password must have at least 8 characters");
    if (n > 256) return fail(err, 422, "the password must have at most 256 characters");
    return 0;
}

static int grant_args_ok(const char *role_s, const char *project, account_err *err)
{
    if (role_parse(role_s) < 0)
        return fail(err, 422, "role must be viewer, operator, admin, runtime or metrics");
    if (project && !account_project_valid(project))
        return fail(err, 422, "a project name is 1-100 characters of A-Z, a-z, 0-9, . _ -");
    return 0;
}


/* Insert a grant inside the caller's transaction. 0, 1 when it already
 * exists, -1 on error. */
static int grant_insert(db *d, int64_t user_id, int64_t token_id, const char *role_s,
                        const char *project)
{
    sqlite3_stmt *st = db_stmt(d, SQL_GRANT_INSERT);
    if (!st) return -1;
    if (user_id) sqlite3_bind_int64(st, 1, user_id);
    if (token_id) sqlite3_bind_int64(st, 2, token_id);
    db_bind_text(st, 3, role_s);
    db_bind_text(st, 4, project);
    sqlite3_bind_int64(st, 5, db_now_ms());
    int rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 0;
    return (rc & 0xff) == SQLITE_CONSTRAINT ? 1 : -1;
}

/* Name of a user (for audit details) into out; "" when missing. */
static void user_name(db *d, int64_t id, char *out, size_t n)
{
    out[0] = '\0';
    sqlite3_stmt *st = db_stmt(d, SQL_USER_BY_ID);
    if (!st) return;
    sqlite3_bind_int64(st, 1, id);
    if (db_step(st) == SQLITE_ROW) snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
}

#define PROJECT_TEXT(p) ((p) ? (p) : "all projects")

int account_user_create(db *d, const char *name, const char *password, const char *role_s,
                        const char *project, const char *actor, int64_t *id, account_err *err)
{
    char hash[256], detail[200];
    if (!account_username_valid(name))
        return fail(err, 422, "a user name is 1-64 characters of A-Z, a-z, 0-9, . _ @ -");
    if (password_ok(password, err) || grant_args_ok(role_s, project, err)) return -1;
    if (auth_password_hash(password, hash, sizeof hash))
        return fail(err, 500, "cannot hash the password (out of memory?)");
    if (db_begin(d)) return fail(err, 500, "the database is busy");
    sqlite3_stmt *st = db_stmt(d, SQL_USER_INSERT);
    if (!st) goto dberr;
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, hash);
    sqlite3_bind_int64(st, 3, db_now_ms());
    int rc = db_step(st);
    if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        db_rollback(d);
        return fail(err, 409, "a user named %s already exists", name);
    }
    if (rc != SQLITE_ROW || grant_insert(d, *id, 0, role_s, project) != 0) goto dberr;
    snprintf(detail, sizeof detail, "user %s, role %s on %s", name, role_s, PROJECT_TEXT(project));
    if (db_audit(d, actor, "user_create", detail) || db_commit(d)) goto dberr;
    return 0;
dberr:
    db_rollback(d);
    return fail(err, 500, "database error: %s", db_errmsg(d));
}

/* Run one UPDATE on user `id` plus sign-out and audit, in one transaction. */
static int user_change(db *d, int64_t id, db_sql_id sql, const char *text, int num,
                       int sign_out, const char *actor, const char *action, account_err *err)
{
    char name[80], detail[120];
    if (db_begin(d)) return fail(err, 500, "the database is busy");
    user_name(d, id, name, sizeof name);
    if (!*name) { db_rollback(d); return fail(err, 404, "no user %lld", (long long)id); }
    sqlite3_stmt *st = db_stmt(d, sql);
    if (!st) goto dberr;
    sqlite3_bind_int64(st, 1, id);
    if (text) db_bind_text(st, 2, text);
    else sqlite3_bind_int(st, 2, num);
    if (db_exec(st)) goto dberr;
    if (sign_out) {
        st = db_stmt(d, SQL_WEBSESS_DELETE_USER);
        if (!st) goto dberr;
        sqlite3_bind_int64(st, 1, id);
        if (db_exec(st)) goto dberr;
    }
    snprintf(detail, sizeof detail, "user %s", name);
    if (db_audit(d, actor, action, detail) || db_commit(d)) goto dberr;
    return 0;
dberr:
    db_rollback(d);
    return fail(err, 500, "database error: %s", db_errmsg(d));
}

int account_user_password(db *d, int64_t id, const char *password, const char *actor,
                          account_err *err)
{
    char hash[256];
    if (password_ok(password, err)) return -1;
    if (auth_password_hash(password, hash, sizeof hash))
        return fail(err, 500, "cannot hash the password (out of memory?)");
    return user_change(d, id, SQL_USER_SET_PASSWORD_ID, hash, 0, 1, actor, "password_reset", err);
}

int account_user_disable(db *d, int64_t id, int disabled, const char *actor, account_err *err)
{
    return user_change(d, id, SQL_USER_SET_DISABLED, NULL, disabled ? 1 : 0, disabled, actor,
                       disabled ? "user_disable" : "user_enable", err);
}

int account_grant(db *d, int64_t user_id, int64_t token_id, const char *role_s,
                  const char *project, const char *actor, account_err *err)
{
    char detail[200];
    if (grant_args_ok(role_s, project, err)) return -1;
    if (db_begin(d)) return fail(err, 500, "the database is busy");
    int rc = grant_insert(d, user_id, token_id, role_s, project);
    if (rc < 0) goto dberr;
    if (rc > 0) { db_rollback(d); return 0; } /* already granted: nothing to do */
    char who[80];
    if (user_id) user_name(d, user_id, who, sizeof who);
    else snprintf(who, sizeof who, "token %lld", (long long)token_id);
    snprintf(detail, sizeof detail, "%s: role %s on %s", who, role_s, PROJECT_TEXT(project));
    if (db_audit(d, actor, "grant", detail) || db_commit(d)) goto dberr;
    return 0;
dberr:
    db_rollback(d);
    if ((sqlite3_extended_errcode(db_handle(d)) & 0xff) == SQLITE_CONSTRAINT)
        return fail(err, 404, "no such user or token");
    return fail(err, 500, "database error: %s", db_errmsg(d));
}

int account_revoke(db *d, int64_t grant_id, const char *actor, account_err *err)
{
    char detail[320];
    if (db_begin(d)) return fail(err, 500, "the database is busy");
    sqlite3_stmt *st = db_stmt(d, SQL_GRANT_DELETE);
    if (!st) goto dberr;
    sqlite3_bind_int64(st, 1, grant_id);
    int rc = db_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        db_rollback(d);
        return fail(err, 404, "no grant %lld", (long long)grant_id);
    }
    if (rc != SQLITE_ROW) { sqlite3_reset(st); goto dberr; }
    int64_t uid = sqlite3_column_int64(st, 0), tid = sqlite3_column_int64(st, 1);
    char role_s[16], project[104];
    snprintf(role_s, sizeof role_s, "%s", (const char *)sqlite3_column_text(st, 2));
    int all = sqlite3_column_type(st, 3) == SQLITE_NULL;
    snprintf(project, sizeof project, "%s", all ? "all projects" : (const char *)sqlite3_column_text(st, 3));
    sqlite3_reset(st);
    char who[80];
    if (uid) user_name(d, uid, who, sizeof who);
    else snprintf(who, sizeof who, "token %lld", (long long)tid);
    snprintf(detail, sizeof detail, "%s: role %s on %s", who, role_s, project);
    if (db_audit(d, actor, "revoke", detail) || db_commit(d)) goto dberr;
    return 0;
dberr:
    db_rollback(d);
    return fail(err, 500, "database error: %s", db_errmsg(d));
}

int account_token_create(db *d, const char *name, const char *role_s, const char *project,
                         int64_t expires_at, const char *actor, char *out, account_err *err)
{
    char detail[200];
    if (!account_username_valid(name))
        return fail(err, 422, "a token name is 1-64 characters of A-Z, a-z, 0-9, . _ @ -");
    if (grant_args_ok(role_s, project, err)) return -1;
    memcpy(out, "fdt_", 4); /* NOLINT(bugprone-not-null-terminated-result): auth_random_id terminates it */
    auth_random_id(out + 4, ACCOUNT_TOKEN_LEN - 4);
    unsigned char hash[32];
    auth_hash_secret(out, strlen(out), hash);
    if (db_begin(d)) return fail(err, 500, "the database is busy");
    sqlite3_stmt *st = db_stmt(d, SQL_TOKEN_INSERT);
    if (!st) goto dberr;
    db_bind_text(st, 1, name);
    sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, db_now_ms());
    if (expires_at > 0) sqlite3_bind_int64(st, 4, expires_at);
    int rc = db_step(st);
    int64_t tid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        db_rollback(d);
        return fail(err, 409, "a token named %s already exists", name);
    }
    if (rc != SQLITE_ROW || grant_insert(d, 0, tid, role_s, project) != 0) goto dberr;
    snprintf(detail, sizeof detail, "token %s, role %s on %s", name, role_s, PROJECT_TEXT(project));
    if (db_audit(d, actor, "token_create", detail) || db_commit(d)) goto dberr;
    return 0;
dberr:
    db_rollback(d);
    memset(out, 0, ACCOUNT_TOKEN_LEN + 1);
    return fail(err, 500, "database error: %s", db_errmsg(d));
}

int account_token_revoke(db *d, int64_t id, const char *actor, account_err *err)
{
    char detail[100];
    if (db_begin(d)) return fail(err, 500, "the database is busy");
    sqlite3_stmt *st = db_stmt(d, SQL_TOKEN_REVOKE);
    if (!st) goto dberr;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, db_now_ms());
    int rc = db_step(st);
    if (rc == SQLITE_ROW)
        snprintf(detail, sizeof detail, "token %.80s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        db_rollback(d);
        return fail(err, 404, "no active token %lld", (long long)id);
    }
    if (rc != SQLITE_ROW) goto dberr;
    if (db_audit(d, actor, "token_revoke", detail) || db_commit(d)) goto dberr;
    return 0;
dberr:
    db_rollback(d);
    return fail(err, 500, "database error: %s", db_errmsg(d));
}
