/* app: request context, response helpers, and the dispatcher that checks
 * route, credentials, permission and CSRF before any handler runs.
 * See app.h. */
#include "app.h"

#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "notify.h"
#include "route.h"
#include "tmpl_json.h"

#define COOKIE_SESSION "fd_session"
#define COOKIE_FLASH   "fd_flash"

void ctx_begin(ctx *c, const app *ap, db *d, arena *a)
{
    memset(c, 0, sizeof *c);
    c->app = ap;
    c->db = d;
    c->a = a;
    http_resp_init(&c->resp);
    auth_random_id(c->request_id, 16);
}

void ctx_end(ctx *c)
{
    cJSON_Delete(c->json);
    cJSON_Delete(c->view);
    http_resp_fini(&c->resp);
    arena_clear(c->a);
    c->json = c->view = NULL;
}

int ctx_is_api(const ctx *c)
{
    if (c->route) return (c->route->flags & ROUTE_API) != 0;
    return strncmp(c->req.path, "/api/", 5) == 0;
}

const char *ctx_param(const ctx *c, size_t i)
{
    return i < c->req.nparams ? c->req.params[i] : "";
}

static hres ctx_verror(ctx *c, int status, const char *code, const char *field,
                       const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* Drop whatever a handler started writing: the error replaces it. */
    buf_reset(&c->resp.body);
    c->resp.status = status;
    if (ctx_is_api(c)) {
        cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", msg);
        if (field && *field) cJSON_AddStringToObject(e, "field", field);
        return ctx_json(c, status, o);
    }
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "status", status);
    cJSON_AddStringToObject(v, "title", http_status_text(status));
    cJSON_AddStringToObject(v, "message", msg);
    cJSON_AddStringToObject(v, "code", code);
    return ctx_render(c, status, "error", v);
}

hres ctx_error(ctx *c, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hres r = ctx_verror(c, status, code, NULL, fmt, ap);
    va_end(ap);
    return r;
}

hres ctx_error_field(ctx *c, int status, const char *code, const char *field,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hres r = ctx_verror(c, status, code, field, fmt, ap);
    va_end(ap);
    return r;
}

hres ctx_conflict(ctx *c, const char *code, const char *status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ctx_is_api(c)) return ctx_error(c, 409, code, "%s", msg);
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(o, "status", status);
    return ctx_json(c, 409, o);
}

hres ctx_json(ctx *c, int status, cJSON *obj)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!s) return HR_ERROR;
    buf_reset(&c->resp.body);
    buf_puts(&c->resp.body, s);
    buf_putc(&c->resp.body, '\n');
    cJSON_free(s);
    c->resp.status = status;
    c->resp.content_type = "application/json";
    return c->resp.body.err ? HR_ERROR : HR_OK;
}

/* The flash message left by the previous request, consumed now. */
static void ctx_take_flash(ctx *c, cJSON *view)
{
    size_t n;
    const char *v = http_kvs_getn(&c->req.cookies, COOKIE_FLASH, &n);
    if (!v || n < 3) return;
    const char *dot = memchr(v, '.', n);
    if (!dot) return;
    size_t mlen;
    char *msg = http_urldecode(c->a, dot + 1, n - (size_t)(dot + 1 - v), 0, &mlen);
    if (!msg) return;
    cJSON *f = cJSON_AddObjectToObject(view, "flash");
    cJSON_AddStringToObject(f, "kind", strncmp(v, "error.", 6) == 0 ? "error" : "ok");
    cJSON_AddStringToObject(f, "message", msg);
    http_resp_header(&c->resp, "Set-Cookie",
                     COOKIE_FLASH "=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
}

hres ctx_render(ctx *c, int status, const char *name, cJSON *view)
{
    if (!view) return HR_ERROR;
    cJSON_Delete(c->view);
    c->view = view;
    if (c->who.kind == PRINCIPAL_USER) {
        cJSON *u = cJSON_AddObjectToObject(view, "user");
        cJSON_AddStringToObject(u, "name", c->who.name);
        cJSON_AddStringToObject(view, "csrf", c->who.csrf ? c->who.csrf : "");
        /* Navigation shows only what the user may open. */
        cJSON_AddBoolToObject(view, "nav_admin", auth_can_all(&c->who, PERM_ADMIN));
    }
    if (!cJSON_HasObjectItem(view, "title"))
        cJSON_AddStringToObject(view, "title", "Flightdeck");
    cJSON_AddStringToObject(view, "version", c->app->version);
    ctx_take_flash(c, view);

    tmpl_err err;
    buf_reset(&c->resp.body);
    if (tmpl_render(c->app->tmpl, name, &tmpl_json_ops, view, &c->resp.body, &err)) {
        fprintf(stderr, "flightdeck: template %s line %d: %s\n", err.name, err.line, err.msg);
        buf_reset(&c->resp.body);
        return HR_ERROR;
    }
    c->resp.status = status;
    c->resp.content_type = "text/html; charset=utf-8";
    return c->resp.body.err ? HR_ERROR : HR_OK;
}

cJSON *ctx_body_json(ctx *c)
{
    if (strcmp(c->req.content_type, "application/json") != 0) {
        ctx_error(c, 415, "unsupported_media_type",
                  "send the body as application/json (got \"%.60s\")",
                  *c->req.content_type ? c->req.content_type : "nothing");
        return NULL;
    }
    if (!c->req.body || c->req.body_len == 0) {
        ctx_error(c, 400, "empty_body", "the request body is empty");
        return NULL;
    }
    /* Parse by length, then require that only whitespace follows the value
     * (cJSON's require_null_terminated looks past a length-limited buffer). */
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(c->req.body, c->req.body_len, &end, 0);
    if (j && end) {
        const char *stop = c->req.body + c->req.body_len;
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
        if (end != stop) { cJSON_Delete(j); j = NULL; }
    }
    if (!j) {
        size_t at = end && end >= c->req.body ? (size_t)(end - c->req.body) : 0;
        ctx_error(c, 400, "invalid_json", "the body is not valid JSON (near byte %zu)", at);
        return NULL;
    }
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        ctx_error(c, 422, "invalid_body", "the body must be a JSON object");
        return NULL;
    }
    c->json = j;
    return j;
}

hres ctx_redirect_flash(ctx *c, const char *location, const char *kind, const char *msg)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, COOKIE_FLASH "=%s.", kind);
    buf_add_urlenc(&b, msg, strlen(msg));
    buf_puts(&b, "; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
    if (!b.err) http_resp_header(&c->resp, "Set-Cookie", b.p);
    buf_fini(&b);
    http_resp_redirect(&c->resp, location);
    return HR_OK;
}

/* ------------------------------------------------------------ credentials */

/* Load the grants of a user or token into c->who. */
static int load_grants(ctx *c, db_sql_id which, int64_t id)
{
    sqlite3_stmt *st = db_stmt(c->db, which);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW && c->who.ngrants < AUTH_MAX_GRANTS) {
        int r = role_parse((const char *)sqlite3_column_text(st, 0));
        if (r < 0) continue;
        auth_grant *g = &c->who.grants[c->who.ngrants++];
        g->role = (role)r;
        g->project = sqlite3_column_type(st, 1) == SQLITE_NULL
                         ? NULL : arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int ctx_become_user(ctx *c, int64_t user_id, char *name, size_t n)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_USER_NAME);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(name, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) return -1;
    memset(&c->who, 0, sizeof c->who);
    c->who.kind = PRINCIPAL_SHARE;
    c->who.id = user_id;
    c->who.name = arena_strdup(c->a, name);
    return load_grants(c, SQL_GRANTS_OF_USER, user_id);
}

/* Bearer token -> principal. 0 (found or not), -1 on database error. */
static int auth_bearer(ctx *c)
{
    const char *h = c->req.authorization;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return 0;
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    unsigned char hash[32];
    auth_hash_secret(tok, strlen(tok), hash);
    int64_t now = db_now_ms();
    sqlite3_stmt *st = db_stmt(c->db, SQL_TOKEN_BY_HASH);
    if (!st) return -1;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) {
        c->who.kind = PRINCIPAL_TOKEN;
        c->who.id = sqlite3_column_int64(st, 0);
        c->who.name = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? 0 : -1;
    st = db_stmt(c->db, SQL_TOKEN_TOUCH);
    if (st) {
        sqlite3_bind_int64(st, 1, c->who.id);
        sqlite3_bind_int64(st, 2, now);
        db_exec(st); /* best effort: a busy database must not refuse the request */
    }
    return load_grants(c, SQL_GRANTS_OF_TOKEN, c->who.id);
}

/* Session cookie -> principal. 0 (found or not), -1 on database error. */
static int auth_cookie(ctx *c)
{
    const char *v = http_kvs_get(&c->req.cookies, COOKIE_SESSION);
    if (!v || !*v) return 0;
    unsigned char hash[32];
    auth_hash_secret(v, strlen(v), hash);
    sqlite3_stmt *st = db_stmt(c->db, SQL_WEBSESS_GET);
    if (!st) return -1;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, db_now_ms());
    int rc = db_step(st);
    if (rc == SQLITE_ROW) {
        c->who.kind = PRINCIPAL_USER;
        c->who.id = sqlite3_column_int64(st, 0);
        c->who.name = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
        c->who.csrf = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? 0 : -1;
    return load_grants(c, SQL_GRANTS_OF_USER, c->who.id);
}

/* Security headers on every answer of the app. Pages load only our own
 * static files; no inline script can run. */
static void add_security_headers(ctx *c)
{
    http_resp_header(&c->resp, "X-Content-Type-Options", "nosniff");
    http_resp_header(&c->resp, "Referrer-Policy", "same-origin");
    http_resp_header(&c->resp, "X-Request-Id", c->request_id);
    if (!ctx_is_api(c)) {
        http_resp_header(&c->resp, "Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                         "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
        http_resp_header(&c->resp, "Cache-Control", "no-store");
    }
}

void app_handle(ctx *c)
{
    unsigned allowed = 0;
    hres r = HR_OK;
    const route *rt = route_match(&c->req, c->a, &allowed);
    c->route = rt;
    add_security_headers(c);
    if (!rt) {
        if (allowed) {
            char allow[64];
            route_allow_header(allowed, allow, sizeof allow);
            http_resp_header(&c->resp, "Allow", allow);
            r = ctx_error(c, 405, "method_not_allowed", "%s is not allowed here; use %s",
                          c->req.method_name, allow);
        } else {
            r = ctx_error(c, 404, "not_found", "nothing at %.200s", c->req.path);
        }
        goto done;
    }

    /* The API takes bearer tokens only, so no cookie can ride along on a
     * cross-site request; pages take the session cookie only. */
    if ((rt->flags & ROUTE_API) ? auth_bearer(c) : auth_cookie(c)) {
        r = HR_ERROR;
        goto done;
    }
    if (rt->perm != PERM_NONE && c->who.kind == PRINCIPAL_NONE) {
        if (rt->flags & ROUTE_API) {
            http_resp_header(&c->resp, "WWW-Authenticate", "Bearer realm=\"flightdeck\"");
            r = ctx_error(c, 401, "unauthorized",
                          "send an API token: Authorization: Bearer TOKEN");
        } else if (c->req.method & (HTTP_GET | HTTP_HEAD)) {
            buf b;
            buf_init(&b);
            buf_puts(&b, "/login?next=");
            buf_add_urlenc(&b, c->req.request_uri, strlen(c->req.request_uri));
            http_resp_redirect(&c->resp, b.err ? "/login" : b.p);
            buf_fini(&b);
        } else {
            r = ctx_error(c, 401, "unauthorized", "your sign-in has expired; sign in again");
        }
        goto done;
    }
    /* Administration (users, grants, tokens, audit) spans every project, so
     * it needs admin on all of them: a project-scoped admin must not be able
     * to grant itself the rest. */
    int permitted = rt->perm == PERM_ADMIN ? auth_can_all(&c->who, PERM_ADMIN)
                                           : auth_can(&c->who, rt->perm, NULL);
    if (!permitted) {
        r = ctx_error(c, 403, "forbidden", "your role does not allow this (%s)",
                      perm_name(rt->perm));
        goto done;
    }
    if ((rt->flags & ROUTE_FORM) && (c->req.method & HTTP_POST)) {
        const char *tok = http_kvs_get(&c->req.form, "csrf");
        if (c->who.kind != PRINCIPAL_USER || !auth_equal(tok, c->who.csrf)) {
            r = ctx_error(c, 403, "csrf", "this form has expired; reload the page and try again");
            goto done;
        }
    }
    r = rt->fn(c);
    /* Wake long-polls after anything that may have changed a session. */
    if (!(c->req.method & (HTTP_GET | HTTP_HEAD))) notify_bump();
done:
    if (r != HR_OK) {
        fprintf(stderr, "flightdeck: %s %s failed (request %s)\n", c->req.method_name,
                c->req.path, c->request_id);
        if (ctx_error(c, 500, "internal", "something went wrong on our side (request %s)",
                      c->request_id) != HR_OK) {
            buf_reset(&c->resp.body);
            buf_puts(&c->resp.body, "internal error\n");
            c->resp.status = 500;
            c->resp.content_type = "text/plain; charset=utf-8";
        }
    }
}

int ctx_session_access(ctx *c, const char *id, perm what, char *project)
{
    char proj[101] = "";
    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_STATE);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(proj, sizeof proj, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
    if (rc == SQLITE_DONE || !auth_can(&c->who, PERM_READ, proj)) {
        ctx_error(c, 404, "not_found", "no session \"%.64s\"", id);
        return 0;
    }
    if (!auth_can(&c->who, what, proj)) {
        ctx_error(c, 403, "forbidden", "your role does not allow this on project %s (%s)",
                  proj, perm_name(what));
        return 0;
    }
    if (project) memcpy(project, proj, sizeof proj);
    return 1;
}

int ctx_query_int(ctx *c, const char *name, long long lo, long long hi, long long dflt,
                  long long *out)
{
    const char *v = http_kvs_get(&c->req.query, name);
    if (!v) { *out = dflt; return 0; }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        ctx_error_field(c, 400, "invalid_parameter", name,
                        "%s must be a whole number from %lld to %lld", name, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}
