/* h_login: sign-in and sign-out.
 *
 * The sign-in form is protected against login CSRF with a double-submit
 * token: a random value in a SameSite cookie and in the form must match.
 * A successful sign-in creates a web session whose random id goes to an
 * HttpOnly, SameSite=Lax cookie and only its hash to the database. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "handlers.h"

#define LOGIN_COOKIE   "fd_login"
#define SESSION_COOKIE "fd_session"
#define SESSION_TTL_MS (12LL * 3600 * 1000)

/* A same-site path to return to after sign-in, or "/sessions": no
 * control character, space or DEL anywhere (a browser drops tabs and
 * newlines from a URL, so "/\t/evil" would leave the site). */
static const char *safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\') return "/sessions";
    for (const char *p = next; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) return "/sessions";
    if (strncmp(next, "/login", 6) == 0) return "/sessions";
    return next;
}

/* Render the form, with a fresh login-CSRF token unless one is in the cookie. */
static hres login_render(ctx *c, int status, const char *error, const char *username,
                         const char *next)
{
    const char *tok = http_kvs_get(&c->req.cookies, LOGIN_COOKIE);
    char fresh[33];
    if (!tok || strlen(tok) != 32) {
        auth_random_id(fresh, 32);
        tok = fresh;
        char *cookie = arena_printf(c->a, LOGIN_COOKIE "=%s; Path=/login; HttpOnly; SameSite=Strict%s",
                                    tok, c->req.tls ? "; Secure" : "");
        if (cookie) http_resp_header(&c->resp, "Set-Cookie", cookie);
    }
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "title", "Sign in · Flightdeck");
    cJSON_AddStringToObject(v, "csrf", tok);
    cJSON_AddStringToObject(v, "next", safe_next(next));
    if (username) cJSON_AddStringToObject(v, "username", username);
    if (error) cJSON_AddStringToObject(v, "error", error);
    return ctx_render(c, status, "login", v);
}

hres h_login_form(ctx *c)
{
    return login_render(c, 200, NULL, NULL, http_kvs_get(&c->req.query, "next"));
}

/* Milliseconds until sign-in key `key` may try again (0: now). */
static int64_t throttle_wait(ctx *c, const char *key, int64_t now)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_THROTTLE_GET);
    if (!st) return 0;
    db_bind_text(st, 1, key);
    int64_t until = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    sqlite3_reset(st);
    return until > now ? until - now : 0;
}

/* Count a failure (fail=1) or clear the record (fail=0); best effort. */
static void throttle_note(ctx *c, const char *key, int fail, int64_t now)
{
    sqlite3_stmt *st = db_stmt(c->db, fail ? SQL_THROTTLE_FAIL : SQL_THROTTLE_CLEAR);
    if (!st) return;
    db_bind_text(st, 1, key);
    if (fail) sqlite3_bind_int64(st, 2, now);
    db_exec(st);
}

/* Write an audit entry for a sign-in attempt; best effort. */
static void audit_login(ctx *c, const char *username, int ok)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_AUDIT_INSERT);
    if (!st) return;
    sqlite3_bind_int64(st, 1, db_now_ms());
    db_bind_text(st, 2, arena_printf(c->a, "user:%s", username));
    db_bind_text(st, 3, ok ? "login" : "login_failed");
    sqlite3_bind_null(st, 4);
    sqlite3_bind_null(st, 5);
    sqlite3_bind_null(st, 6);
    db_bind_text(st, 7, arena_printf(c->a, "from %s", c->req.remote_addr));
    db_exec(st);
}

hres h_login_post(ctx *c)
{
    const char *user = http_kvs_get(&c->req.form, "username");
    const char *pass = http_kvs_get(&c->req.form, "password");
    const char *next = http_kvs_get(&c->req.form, "next");
    const char *tok = http_kvs_get(&c->req.form, "csrf");
    if (!auth_equal(tok, http_kvs_get(&c->req.cookies, LOGIN_COOKIE)))
        return login_render(c, 403, "This form has expired. Please sign in again.", user, next);
    if (!user || !*user || !pass || !*pass)
        return login_render(c, 400, "Enter your username and password.", user, next);

    /* Repeated failures slow down both the account and the address: from the
     * fifth in a row, each waits twice as long as the last (up to 15 min),
     * and no password is even checked meanwhile. */
    int64_t now = db_now_ms();
    const char *ukey = arena_printf(c->a, "user:%.64s", user);
    const char *akey = arena_printf(c->a, "addr:%s", c->req.remote_addr);
    if (!ukey || !akey) return HR_ERROR;
    int64_t wait = throttle_wait(c, ukey, now), await_ = throttle_wait(c, akey, now);
    if (await_ > wait) wait = await_;
    if (wait > 0) {
        char *retry = arena_printf(c->a, "%lld", (long long)(wait + 999) / 1000);
        if (retry) http_resp_header(&c->resp, "Retry-After", retry);
        return login_render(c, 429, arena_printf(c->a, "Too many failed sign-ins. Try again in %lld s.",
                                                 (long long)(wait + 999) / 1000), user, next);
    }

    sqlite3_stmt *st = db_stmt(c->db, SQL_USER_BY_NAME);
    if (!st) return HR_ERROR;
    db_bind_text(st, 1, user);
    int64_t uid = 0;
    int disabled = 1;
    char *hash = NULL;
    if (db_step(st) == SQLITE_ROW) {
        uid = sqlite3_column_int64(st, 0);
        hash = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
        disabled = sqlite3_column_int(st, 2);
    }
    sqlite3_reset(st);
    int ok = hash && auth_password_verify(hash, pass) && !disabled;
    audit_login(c, user, ok);
    throttle_note(c, ukey, !ok, now);
    if (!ok) {
        throttle_note(c, akey, 1, now);
        return login_render(c, 401, "Wrong username or password.", user, next);
    }
    /* Made with older parameters: store it anew (best effort; the sign-in
     * goes on either way). */
    char fresh[AUTH_PASSWORD_HASH_MAX];
    if (auth_password_stale(hash) && auth_password_hash(pass, fresh, sizeof fresh) == 0 &&
        (st = db_stmt(c->db, SQL_USER_REHASH)) != NULL) {
        sqlite3_bind_int64(st, 1, uid);
        db_bind_text(st, 2, fresh);
        db_bind_text(st, 3, hash);
        db_exec(st);
        db_error_clear();
    }

    /* A new random session id on every sign-in: no session fixation. */
    char sid[44], csrf[33];
    unsigned char sid_hash[32];
    auth_random_id(sid, 43);
    auth_random_id(csrf, 32);
    auth_hash_secret(sid, strlen(sid), sid_hash);
    st = db_stmt(c->db, SQL_WEBSESS_INSERT);
    if (!st) return HR_ERROR;
    sqlite3_bind_blob(st, 1, sid_hash, sizeof sid_hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, uid);
    db_bind_text(st, 3, csrf);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now + SESSION_TTL_MS);
    if (db_exec(st)) return HR_ERROR;
    st = db_stmt(c->db, SQL_WEBSESS_PURGE);
    if (st) { sqlite3_bind_int64(st, 1, now); db_exec(st); }

    char *cookie = arena_printf(c->a,
                                SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s",
                                sid, SESSION_TTL_MS / 1000, c->req.tls ? "; Secure" : "");
    if (!cookie) return HR_ERROR;
    http_resp_header(&c->resp, "Set-Cookie", cookie);
    http_resp_header(&c->resp, "Set-Cookie", LOGIN_COOKIE "=; Path=/login; Max-Age=0; HttpOnly; SameSite=Strict");
    http_resp_redirect(&c->resp, safe_next(next));
    return HR_OK;
}

hres h_logout(ctx *c)
{
    const char *v = http_kvs_get(&c->req.cookies, SESSION_COOKIE);
    if (v) {
        unsigned char hash[32];
        auth_hash_secret(v, strlen(v), hash);
        sqlite3_stmt *st = db_stmt(c->db, SQL_WEBSESS_DELETE);
        if (!st) return HR_ERROR;
        sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
        if (db_exec(st)) return HR_ERROR;
    }
    http_resp_header(&c->resp, "Set-Cookie", SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    return ctx_redirect_flash(c, "/login", "ok", "You have signed out.");
}
