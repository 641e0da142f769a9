/* app: request context, response helpers, and the dispatcher that checks
 * route, credentials, permission and CSRF before any handler runs.
 * See app.h. */
#include "app.h"

#include <stdarg.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "dbpool.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "otlp.h"
#include "pcache.h"
#include "route.h"
#include "tmpl_json.h"

/* Retry-After (seconds) of a 503 or 429 whose handler did not choose. */
#define APP_RETRY_503 "5"
#define APP_RETRY_429 "60"

#define COOKIE_SESSION "fd_session"
#define COOKIE_FLASH   "fd_flash"

void ctx_begin(ctx *c, const app *ap, db *d, arena *a)
{
    memset(c, 0, sizeof *c);
    c->app = ap;
    c->db = d;
    c->a = a;
    http_resp_init(&c->resp);
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    auth_random_id(c->request_id, 16);
    db_error_clear();
    log_context(c->request_id, NULL);
}

int ctx_set_request_id(ctx *c, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > CTX_REQUEST_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    memcpy(c->request_id, v, n + 1);
    log_context(c->request_id, NULL);
    return 1;
}

void ctx_end(ctx *c)
{
    cJSON_Delete(c->json);
    cJSON_Delete(c->view);
    http_resp_fini(&c->resp);
    arena_clear(c->a);
    log_context(NULL, NULL);
    c->json = c->view = NULL;
}

void ctx_db_park(ctx *c)
{
    if (!c->db || !c->pooled) return;
    db_request_end(c->db);
    dbpool_give(c->db);
    c->db = NULL;
}

void ctx_db_resume(ctx *c)
{
    if (!c->db && c->pooled) c->db = dbpool_take();
}

int ctx_wgroup_run(ctx *c, wgroup_fn fn, void *arg, int weight, int *storage_err)
{
    ctx_db_park(c);
    int rc = wgroup_run(c->db, fn, arg, weight, storage_err);
    ctx_db_resume(c);
    return rc;
}

int ctx_is_otlp(const ctx *c)
{
    return c->req.path && strncmp(c->req.path, "/v1/", 4) == 0;
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
                       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static hres ctx_verror(ctx *c, int status, const char *code, const char *field,
                       const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* The server's own failures are errors; a client's mistakes only
     * interest someone debugging one. */
    log_msg(status >= 500 ? LOGL_ERROR : LOGL_DEBUG, "%d %s: %s", status, code, msg);
    /* Drop whatever a handler started writing: the error replaces it. */
    buf_reset(&c->resp.body);
    c->resp.status = status;
    if (ctx_is_otlp(c)) {
        /* OTLP clients read a google.rpc.Status in their own encoding. */
        int pb = c->req.content_type && strcmp(c->req.content_type, "application/x-protobuf") == 0;
        otlp_error_body(&c->resp.body, pb, status, code, msg);
        c->resp.content_type = pb ? "application/x-protobuf" : "application/json";
        return c->resp.body.err ? HR_ERROR : HR_OK;
    }
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

/* The body as JSON (an object or an array), or NULL with the refusal's
 * status, code and message (nothing answered yet). */
static cJSON *body_parse(ctx *c, int *status, const char **code, char *msg, size_t n)
{
    if (strcmp(c->req.content_type, "application/json") != 0) {
        *status = 415, *code = "unsupported_media_type";
        snprintf(msg, n, "send the body as application/json (got \"%.60s\")",
                 *c->req.content_type ? c->req.content_type : "nothing");
        return NULL;
    }
    if (!c->req.body || c->req.body_len == 0) {
        *status = 400, *code = "empty_body";
        snprintf(msg, n, "the request body is empty");
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
        *status = 400, *code = "invalid_json";
        snprintf(msg, n, "the body is not valid JSON (near byte %zu)", at);
        return NULL;
    }
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        *status = 422, *code = "invalid_body";
        snprintf(msg, n, "the body must be a JSON object");
        return NULL;
    }
    c->json = j;
    return j;
}

cJSON *ctx_body_json(ctx *c)
{
    int status = 0;
    const char *code = NULL;
    char msg[200];
    cJSON *j = body_parse(c, &status, &code, msg, sizeof msg);
    if (!j) ctx_error(c, status, code, "%s", msg);
    return j;
}

cJSON *ctx_body_json_quiet(ctx *c)
{
    int status = 0;
    const char *code = NULL;
    char msg[200];
    return body_parse(c, &status, &code, msg, sizeof msg);
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

/* The grant in columns col (role) and col + 1 (project) of st's row, added
 * to c->who: none for a NULL or unknown role, or past AUTH_MAX_GRANTS. */
static void add_grant(ctx *c, sqlite3_stmt *st, int col)
{
    int r = role_parse((const char *)sqlite3_column_text(st, col));
    if (r < 0 || c->who.ngrants >= AUTH_MAX_GRANTS) return;
    auth_grant *g = &c->who.grants[c->who.ngrants++];
    g->role = (role)r;
    g->project = sqlite3_column_type(st, col + 1) == SQLITE_NULL
                     ? NULL : arena_strdup(c->a, (const char *)sqlite3_column_text(st, col + 1));
}

/* Load the grants of a user into c->who. */
static int load_grants(ctx *c, db_sql_id which, int64_t id)
{
    sqlite3_stmt *st = db_stmt(c->db, which);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) add_grant(c, st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
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
    sqlite3_stmt *st = db_stmt(c->db, SQL_TOKEN_AUTH);
    if (!st) return -1;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc;
    int64_t last_used = 0;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (c->who.kind == PRINCIPAL_NONE) {
            c->who.kind = PRINCIPAL_TOKEN;
            c->who.id = sqlite3_column_int64(st, 0);
            c->who.name = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
            last_used = sqlite3_column_int64(st, 2);
        }
        add_grant(c, st, 3);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        memset(&c->who, 0, sizeof c->who);
        return -1;
    }
    if (c->who.kind == PRINCIPAL_NONE) return 0;
    /* Only when the minute has passed: an UPDATE that changes nothing still
     * takes the write lock, which every API read would then queue for. */
    st = last_used < now - 60000 ? db_stmt(c->db, SQL_TOKEN_TOUCH) : NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, c->who.id);
        sqlite3_bind_int64(st, 2, now);
        db_exec(st); /* best effort: a busy database must not refuse the request */
        db_error_clear();
    }
    return 0;
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

/* Does the response already carry a header called name (any case)? */
static int resp_has_header(const ctx *c, const char *name)
{
    const buf *h = &c->resp.headers;
    size_t nlen = strlen(name);
    for (size_t i = 0; i < h->len;) {
        const char *line = h->p + i;
        const char *eol = memchr(line, '\n', h->len - i);
        size_t llen = eol ? (size_t)(eol - line) + 1 : h->len - i;
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) return 1;
        i += llen;
    }
    return 0;
}

/* Is origin (exactly) one the API may be called from by another site? */
static int cors_allowed(const ctx *c, const char *origin)
{
    for (size_t i = 0; origin && i < c->app->ncors_origins; i++)
        if (strcmp(origin, c->app->cors_origins[i]) == 0) return 1;
    return 0;
}

/* CORS applies to the API (/api/...) only, and only when configured. */
static int cors_on(const ctx *c)
{
    return c->app->ncors_origins > 0 && strncmp(c->req.path ? c->req.path : "", "/api/", 5) == 0;
}

/* The CORS headers of an answer to origin (allowed, or nothing is added).
 * Never Access-Control-Allow-Credentials: the API takes bearer tokens,
 * never cookies. */
static void add_cors_headers(ctx *c)
{
    if (!cors_on(c) || resp_has_header(c, "Access-Control-Allow-Origin")) return;
    /* The answer differs by Origin, so caches must key on it. */
    http_resp_header(&c->resp, "Vary", "Origin");
    if (!cors_allowed(c, c->origin)) return;
    http_resp_header(&c->resp, "Access-Control-Allow-Origin", c->origin);
    http_resp_header(&c->resp, "Access-Control-Expose-Headers",
                     "ETag, Location, Retry-After, X-Request-Id, Allow");
}

/* OPTIONS on an API path while CORS is configured: the preflight. 204 with
 * Allow; for an allowed Origin also the methods and request headers a
 * cross-site caller may use (cached by the browser for 10 minutes). */
static void cors_preflight(ctx *c, unsigned allowed)
{
    char allow[80];
    route_allow_header(allowed, allow, sizeof allow - 10);
    size_t used = strlen(allow);
    snprintf(allow + used, sizeof allow - used, ", OPTIONS");
    c->resp.status = 204;
    http_resp_header(&c->resp, "Allow", allow);
    add_cors_headers(c);
    if (!cors_allowed(c, c->origin)) return;
    http_resp_header(&c->resp, "Access-Control-Allow-Methods", allow);
    http_resp_header(&c->resp, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, If-None-Match");
    http_resp_header(&c->resp, "Access-Control-Max-Age", "600");
}

int app_cors_config(app *ap, const char *list, char *err, size_t n)
{
    ap->cors_origins = NULL;
    ap->ncors_origins = 0;
    if (!list || !*list) return 0;
    size_t cap = 1;
    for (const char *p = list; *p; p++) cap += *p == ',';
    const char **v = calloc(cap, sizeof *v);
    if (!v) { snprintf(err, n, "out of memory"); return -1; }
    size_t k = 0;
    for (const char *p = list; *p;) {
        const char *e = p + strcspn(p, ",");
        const char *s = p, *t = e;
        while (s < t && (*s == ' ' || *s == '\t')) s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        p = *e ? e + 1 : e;
        if (s == t) continue;
        /* scheme://host[:port]: no path, no credentials, no wildcard. */
        size_t len = (size_t)(t - s);
        const char *host = (len > 7 && !strncmp(s, "http://", 7)) ? s + 7
                           : (len > 8 && !strncmp(s, "https://", 8)) ? s + 8 : NULL;
        int ok = host && host < t;
        for (const char *q = host; ok && q < t; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                 *q == '.' || *q == '-' || *q == ':' || *q == '[' || *q == ']';
        if (!ok) {
            snprintf(err, n, "\"%.*s\" is not an origin (scheme://host[:port])", (int)len, s);
            for (size_t i = 0; i < k; i++) free((char *)v[i]);
            free(v);
            return -1;
        }
        char *o = strndup(s, len);
        if (!o) {
            snprintf(err, n, "out of memory");
            for (size_t i = 0; i < k; i++) free((char *)v[i]);
            free(v);
            return -1;
        }
        v[k++] = o;
    }
    ap->cors_origins = (const char *const *)v;
    ap->ncors_origins = k;
    return 0;
}

/* Does the If-None-Match list hold etag? Weak comparison (W/ ignored), "*"
 * matches anything; a coding suffix a compressing proxy (lighttpd's
 * mod_deflate: "-gzip") put inside the quotes is ignored. On a match the
 * tag as listed (without W/) goes to *hit and *hitlen (NULL, 0 for "*"), so the
 * 304 names the tag the client holds. */
static int etag_matches(const char *list, const char *etag, const char **hit, size_t *hitlen)
{
    static const char *const codings[] = { "-gzip", "-deflate", "-br", "-zstd", "-bzip2", NULL };
    size_t elen = strlen(etag); /* with its quotes */
    *hit = NULL;
    *hitlen = 0;
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (!*p) break;
        const char *e = p + strcspn(p, ",");
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (t - p == 1 && *p == '*') return 1;
        if (t - p > 2 && p[0] == 'W' && p[1] == '/') p += 2;
        size_t len = (size_t)(t - p);
        int match = len == elen && !memcmp(p, etag, elen);
        for (int i = 0; !match && codings[i]; i++) {
            size_t cl = strlen(codings[i]);
            match = len == elen + cl && !memcmp(p, etag, elen - 1) &&
                    !memcmp(p + elen - 1, codings[i], cl) && p[len - 1] == '"';
        }
        if (match) {
            *hit = p;
            *hitlen = len;
            return 1;
        }
        p = e;
    }
    return 0;
}

/* The strong ETag of the answer so far (content type and body), into the
 * arena, or NULL (out of memory). */
static const char *etag_of(ctx *c)
{
    unsigned char h[16];
    crypto_generichash_state st;
    const char *ct = c->resp.content_type ? c->resp.content_type : "";
    if (crypto_generichash_init(&st, NULL, 0, sizeof h) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)ct, strlen(ct) + 1) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)(c->resp.body.len ? c->resp.body.p : ""),
                                  c->resp.body.len) != 0 ||
        crypto_generichash_final(&st, h, sizeof h) != 0)
        return NULL;
    char *etag = arena_alloc(c->a, 2 * sizeof h + 3);
    if (!etag) return NULL;
    etag[0] = '"';
    sodium_bin2hex(etag + 1, 2 * sizeof h + 1, h, sizeof h);
    etag[2 * sizeof h + 1] = '"';
    etag[2 * sizeof h + 2] = '\0';
    return etag;
}

/* ETag of a successful API GET: a strong validator, the BLAKE2b hash
 * (128 bits) of content type and body, so any change of what is sent is a
 * new tag. If-None-Match holding it turns the answer into 304 without a
 * body. Cache-Control: no-cache (unless the handler chose) makes browsers
 * ask again each time, which the 304 makes cheap. */
static void add_etag(ctx *c)
{
    int status = c->resp.status ? c->resp.status : 200;
    if (status != 200 || !ctx_is_api(c) || !(c->req.method & (HTTP_GET | HTTP_HEAD)) ||
        resp_has_header(c, "ETag"))
        return;
    /* A cached answer brings the tag computed when it was rendered. */
    const char *etag = c->etag ? c->etag : etag_of(c);
    if (!etag) return;
    /* The app's own compressed copy (pcache.h) carries the "-gzip" mark:
     * compare the tag without it, as for mod_deflate's. */
    const char *base = etag;
    size_t n = strlen(etag);
    if (n > 7 && !strcmp(etag + n - 6, "-gzip\"")) base = arena_printf(c->a, "%.*s\"", (int)(n - 6), etag);
    if (!base) return;
    const char *hit = NULL;
    size_t hitlen = 0;
    int fresh = c->if_none_match && etag_matches(c->if_none_match, base, &hit, &hitlen);
    /* A 304 names the tag the client holds: a compressed copy's "...-gzip". */
    const char *send = hit && hitlen > strlen(base) ? arena_strndup(c->a, hit, hitlen) : NULL;
    http_resp_header(&c->resp, "ETag", send ? send : etag);
    if (!resp_has_header(c, "Cache-Control"))
        http_resp_header(&c->resp, "Cache-Control", "private, no-cache");
    if (fresh) {
        buf_reset(&c->resp.body);
        c->resp.status = 304;
        c->resp.content_type = NULL;
    }
}

void app_finish(ctx *c)
{
    int status = c->resp.status ? c->resp.status : 200;
    /* Answers written before routing (main.c: 400, 413) have no headers yet. */
    if (!resp_has_header(c, "X-Request-Id")) {
        http_resp_header(&c->resp, "X-Content-Type-Options", "nosniff");
        http_resp_header(&c->resp, "Referrer-Policy", "same-origin");
        http_resp_header(&c->resp, "X-Request-Id", c->request_id);
    }
    /* Every "come back later" says when. */
    if ((status == 503 || status == 429) && !resp_has_header(c, "Retry-After"))
        http_resp_header(&c->resp, "Retry-After", status == 503 ? APP_RETRY_503 : APP_RETRY_429);
    add_cors_headers(c);
    add_etag(c);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - c->t0.tv_sec) + (double)(t1.tv_nsec - c->t0.tv_nsec) / 1e9;
    status = c->resp.status ? c->resp.status : 200;
    metrics_request(c->route, status, secs);
    if (log_enabled(LOGL_INFO)) {
        char who[160];
        switch (c->who.kind) {
        case PRINCIPAL_USER: snprintf(who, sizeof who, "user:%s", c->who.name ? c->who.name : ""); break;
        case PRINCIPAL_TOKEN: snprintf(who, sizeof who, "token:%s", c->who.name ? c->who.name : ""); break;
        case PRINCIPAL_SHARE: snprintf(who, sizeof who, "share"); break;
        default: snprintf(who, sizeof who, "anonymous"); break;
        }
        log_request_info li = { c->request_id, c->req.method_name, c->route ? c->route->pattern : NULL,
                                status, secs * 1000, c->req.method == HTTP_HEAD ? 0 : c->resp.body.len,
                                who, c->req.remote_addr };
        log_request(&li);
    }
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

/* The cache key of this request: who asks (kind, id, and for a sign-in its
 * CSRF token, which the page's forms carry) and what (the request URI).
 * 0, or -1 (libsodium failed). */
static int cache_key(const ctx *c, pcache_key *k)
{
    crypto_generichash_state st;
    char who[64];
    int n = snprintf(who, sizeof who, "%d:%lld:", (int)c->who.kind, (long long)c->who.id);
    const char *csrf = c->who.csrf ? c->who.csrf : "";
    const char *uri = c->req.request_uri ? c->req.request_uri : "";
    if (crypto_generichash_init(&st, NULL, 0, sizeof k->b) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)who, (size_t)n) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)csrf, strlen(csrf) + 1) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)uri, strlen(uri)) != 0 ||
        crypto_generichash_final(&st, k->b, sizeof k->b) != 0)
        return -1;
    return 0;
}

/* Has anyone committed since the last look? The app's watcher connection
 * sees every commit once; without one (unit tests), this worker's own
 * connection sees the others'. */
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static int cache_db_changed(ctx *c)
{
    if (!c->app->watch) return db_changed(c->db);
    pthread_mutex_lock(&watch_lock);
    int changed = db_changed(c->app->watch);
    pthread_mutex_unlock(&watch_lock);
    return changed;
}

/* Run a ROUTE_CACHE handler through the page cache (pcache.h): answer from
 * it when the entry is current, else render and keep a 200. A request that
 * carries a flash message (consumed by the page it renders) neither reads
 * nor fills the cache, nor does an answer that sets a cookie. */
static hres handle_cached(ctx *c, const route *rt)
{
    pcache_key key;
    if (!pcache_on() || !(c->req.method & (HTTP_GET | HTTP_HEAD)) ||
        http_kvs_get(&c->req.cookies, COOKIE_FLASH) || cache_key(c, &key))
        return rt->fn(c);
    /* Commits of other processes (and, once more, this one's) show in the
     * watcher's data_version. */
    if (cache_db_changed(c)) notify_bump();
    uint64_t gen = notify_generation();
    size_t mark = c->resp.headers.len; /* the security headers are per request */
    int gzip_ok = pcache_gzip_wanted(c->req.accept_encoding);
    /* No connection held while another request renders this answer (the
     * wait can be seconds, for a search), nor for answering from memory. */
    ctx_db_park(c);
    if (pcache_get(&key, gen, gzip_ok, c->a, &c->resp, &c->etag)) {
        http_resp_header(&c->resp, "X-Cache", "hit");
        return HR_OK;
    }
    ctx_db_resume(c);
    hres r = rt->fn(c);
    int status = c->resp.status ? c->resp.status : 200;
    const char *gz = NULL;
    size_t gz_len = 0;
    if (r == HR_OK && status == 200 && !resp_has_header(c, "Set-Cookie")) {
        if (ctx_is_api(c)) c->etag = etag_of(c);
        /* Compressed once here, for every gzip client that will ask. */
        gz = pcache_gzip(c->a, c->resp.body.p, c->resp.body.len, &gz_len);
        pcache_put(&key, gen, &c->resp, mark, c->etag, gz, gz_len);
    } else {
        pcache_abandon(&key); /* others waiting for this render go on */
    }
    /* After the put: what follows is not part of what is kept. */
    if (gz && gzip_ok) {
        const char *tag = c->etag ? pcache_etag_gzip(c->a, c->etag) : NULL;
        buf_reset(&c->resp.body);
        buf_add(&c->resp.body, gz, gz_len);
        buf_puts(&c->resp.headers, PCACHE_GZIP_HEADERS);
        if (tag) c->etag = tag;
    }
    http_resp_header(&c->resp, "X-Cache", "miss");
    return r;
}

void app_handle(ctx *c)
{
    unsigned allowed = 0;
    hres r = HR_OK;
    const route *rt = route_match(&c->req, c->a, &allowed);
    c->route = rt;
    log_context(c->request_id, rt ? rt->pattern : NULL);
    add_security_headers(c);
    if (!rt) {
        int options = c->req.method_name && strcmp(c->req.method_name, "OPTIONS") == 0;
        if (allowed && options && cors_on(c)) {
            cors_preflight(c, allowed);
        } else if (allowed) {
            char allow[80];
            route_allow_header(allowed, allow, sizeof allow - 10);
            /* With CORS on, the API also answers OPTIONS (the preflight). */
            size_t used = strlen(allow);
            if (cors_on(c)) snprintf(allow + used, sizeof allow - used, ", OPTIONS");
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
    /* Administration (users, grants, tokens, audit, retention) spans every
     * project, so it needs admin on all of them: a project-scoped admin must
     * not be able to grant itself the rest. Metrics count every project's
     * sessions: a grant on all of them too. */
    int global = rt->perm == PERM_ADMIN || rt->perm == PERM_METRICS;
    int permitted = global ? auth_can_all(&c->who, rt->perm) : auth_can(&c->who, rt->perm, NULL);
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
    r = (rt->flags & ROUTE_CACHE) ? handle_cached(c, rt) : rt->fn(c);
    /* Wake long-polls after anything that may have changed a session. */
    if (!(c->req.method & (HTTP_GET | HTTP_HEAD))) notify_bump();
done:
    /* A write the storage refused (disk full, read-only, I/O error, locked
     * too long) is not a bug: answer 503 with Retry-After, whatever the
     * handler made of it. Reads that worked were answered already. */
    if ((r != HR_OK || c->resp.status >= 500) && db_storage_error()) {
        int busy = db_storage_error() == SQLITE_BUSY || db_storage_error() == SQLITE_LOCKED;
        if (!resp_has_header(c, "Retry-After"))
            http_resp_header(&c->resp, "Retry-After", busy ? "1" : APP_RETRY_503);
        r = busy ? ctx_error(c, 503, "busy", "the database is busy; retry")
                 : ctx_error(c, 503, "storage_unavailable",
                             "the database cannot be written now (disk full, read-only or an I/O "
                             "error); reads still work; retry later");
    }
    if (r != HR_OK) {
        /* app_finish logs the 500 with the request id. */
        if (ctx_error(c, 500, "internal", "something went wrong on our side (request %s)",
                      c->request_id) != HR_OK) {
            buf_reset(&c->resp.body);
            buf_puts(&c->resp.body, "internal error\n");
            c->resp.status = 500;
            c->resp.content_type = "text/plain; charset=utf-8";
        }
    }
    app_finish(c);
}

int app_session_access(struct db *d, const principal *who, const char *id, perm what,
                       char *project, access_refusal *why)
{
    char proj[101] = "";
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_STATE);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(proj, sizeof proj, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
    if (rc == SQLITE_DONE || !auth_can(who, PERM_READ, proj)) {
        why->status = 404;
        why->code = "not_found";
        snprintf(why->message, sizeof why->message, "no session \"%.64s\"", id);
        return 0;
    }
    if (!auth_can(who, what, proj)) {
        why->status = 403;
        why->code = "forbidden";
        snprintf(why->message, sizeof why->message,
                 "your role does not allow this on project %s (%s)", proj, perm_name(what));
        return 0;
    }
    if (project) memcpy(project, proj, sizeof proj);
    return 1;
}

int ctx_session_access(ctx *c, const char *id, perm what, char *project)
{
    access_refusal why;
    int ok = app_session_access(c->db, &c->who, id, what, project, &why);
    if (ok == 0) ctx_error(c, why.status, why.code, "%s", why.message);
    return ok;
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
