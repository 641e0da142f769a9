/* h_admin: the admin pages — users and their grants, API tokens, the audit
 * log. Every change goes through account.c (one transaction with its audit
 * entry) and answers with a redirect and a flash, except token creation,
 * whose page shows the new token once (it must not travel in a URL or a
 * cookie). View models: docs/templates.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "config.h"
#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "retention.h"

#define AUDIT_PAGE 100

/* The keys every admin page has: tab, nav, role choices (`preselect` is
 * the role offered first-hand, or NULL). */
static cJSON *admin_view(const char *title, const char *tab, const char *preselect)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "title", title);
    cJSON_AddBoolToObject(v, "nav_admin_current", 1);
    cJSON_AddBoolToObject(v, tab, 1);
    cJSON *roles = cJSON_AddArrayToObject(v, "roles");
    for (int i = 0; i < ROLE__COUNT; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "value", role_name((role)i));
        if (preselect && !strcmp(preselect, role_name((role)i))) cJSON_AddBoolToObject(r, "selected", 1);
        cJSON_AddItemToArray(roles, r);
    }
    return v;
}

/* The id path parameter; 0 when malformed. */
static long long param_id(ctx *c)
{
    char *end;
    const char *s = ctx_param(c, 0);
    long long id = strtoll(s, &end, 10);
    return (*s && !*end && id > 0) ? id : 0;
}

static const char *form(ctx *c, const char *key)
{
    const char *v = http_kvs_get(&c->req.form, key);
    return v && *v ? v : NULL;
}

/* Grants JSON (from USER_LIST / TOKEN_LIST) to view entries. */
static cJSON *grants_view(ctx *c, const cJSON *grants, int with_revoke)
{
    cJSON *out = cJSON_CreateArray();
    for (const cJSON *g = grants ? grants->child : NULL; g; g = g->next) {
        const cJSON *id = cJSON_GetObjectItem(g, "id"), *rname = cJSON_GetObjectItem(g, "role");
        const cJSON *proj = cJSON_GetObjectItem(g, "project");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(rname)) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", id->valuedouble);
        cJSON_AddStringToObject(o, "role", rname->valuestring);
        cJSON_AddStringToObject(o, "project_label", cJSON_IsString(proj) ? proj->valuestring : "all projects");
        if (with_revoke)
            cJSON_AddStringToObject(o, "revoke_url", arena_printf(c->a, "/admin/grants/%.0f/revoke", id->valuedouble));
        cJSON_AddItemToArray(out, o);
    }
    return out;
}

hres h_admin_root(ctx *c)
{
    http_resp_redirect(&c->resp, "/admin/users");
    return HR_OK;
}

hres h_admin_users(ctx *c)
{
    char t[64];
    cJSON *v = admin_view("Users · Admin · Flightdeck", "admin_tab_users", NULL);
    cJSON *users = cJSON_AddArrayToObject(v, "users");
    sqlite3_stmt *st = db_stmt(c->db, SQL_USER_LIST);
    if (!st) goto fail;
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *row = db_row_json(st);
        if (!row) continue;
        long long id = (long long)cJSON_GetObjectItem(row, "id")->valuedouble;
        int disabled = cJSON_GetObjectItem(row, "disabled")->valuedouble != 0;
        int self = c->who.kind == PRINCIPAL_USER && c->who.id == id;
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "id", (double)id);
        cJSON_AddStringToObject(u, "username", cJSON_GetObjectItem(row, "username")->valuestring);
        cJSON_AddBoolToObject(u, "disabled", disabled);
        cJSON_AddBoolToObject(u, "is_self", self);
        fmt_abs((int64_t)cJSON_GetObjectItem(row, "created_at")->valuedouble, t, sizeof t);
        cJSON_AddStringToObject(u, "created_abs", t);
        cJSON_AddItemToObject(u, "grants", grants_view(c, cJSON_GetObjectItem(row, "grants"), 1));
        cJSON_AddStringToObject(u, "grant_url", arena_printf(c->a, "/admin/users/%lld/grants", id));
        cJSON_AddStringToObject(u, "password_url", arena_printf(c->a, "/admin/users/%lld/password", id));
        if (disabled)
            cJSON_AddStringToObject(u, "enable_url", arena_printf(c->a, "/admin/users/%lld/enable", id));
        else if (!self)
            cJSON_AddStringToObject(u, "disable_url", arena_printf(c->a, "/admin/users/%lld/disable", id));
        cJSON_AddItemToArray(users, u);
        cJSON_Delete(row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) goto fail;
    return ctx_render(c, 200, "admin_users", v);
fail:
    cJSON_Delete(v);
    return HR_ERROR;
}

/* Redirect back to `where` with the outcome of an account call. */
static hres done(ctx *c, const char *where, int rc, const account_err *err, const char *ok_msg)
{
    if (rc && err->status >= 500) return HR_ERROR;
    return ctx_redirect_flash(c, where, rc ? "error" : "ok", rc ? err->message : ok_msg);
}

hres h_admin_user_create(ctx *c)
{
    const char *name = form(c, "username"), *role_s = form(c, "role");
    int64_t id;
    account_err err;
    int rc = account_user_create(c->db, name ? name : "", form(c, "password"), role_s ? role_s : "",
                                 form(c, "project"), auth_actor(c->a, &c->who), &id, &err);
    return done(c, "/admin/users", rc, &err, arena_printf(c->a, "User %s added.", name ? name : ""));
}

hres h_admin_user_password(ctx *c)
{
    account_err err = { 404, "no such user" };
    long long id = param_id(c);
    int rc = id ? account_user_password(c->db, id, form(c, "password"), auth_actor(c->a, &c->who), &err) : -1;
    return done(c, "/admin/users", rc, &err, "Password set; that user's sign-ins were ended.");
}

static hres user_disable(ctx *c, int disabled)
{
    account_err err = { 404, "no such user" };
    long long id = param_id(c);
    if (disabled && c->who.kind == PRINCIPAL_USER && c->who.id == id)
        return ctx_redirect_flash(c, "/admin/users", "error", "You cannot disable yourself.");
    int rc = id ? account_user_disable(c->db, id, disabled, auth_actor(c->a, &c->who), &err) : -1;
    return done(c, "/admin/users", rc, &err, disabled ? "User disabled and signed out." : "User enabled.");
}

hres h_admin_user_disable(ctx *c) { return user_disable(c, 1); }
hres h_admin_user_enable(ctx *c) { return user_disable(c, 0); }

hres h_admin_user_grant(ctx *c)
{
    account_err err = { 404, "no such user" };
    long long id = param_id(c);
    const char *role_s = form(c, "role");
    int rc = id ? account_grant(c->db, id, 0, role_s ? role_s : "", form(c, "project"),
                                auth_actor(c->a, &c->who), &err) : -1;
    return done(c, "/admin/users", rc, &err, "Role granted.");
}

hres h_admin_grant_revoke(ctx *c)
{
    account_err err = { 404, "no such grant" };
    long long id = param_id(c);
    int rc = id ? account_revoke(c->db, id, auth_actor(c->a, &c->who), &err) : -1;
    return done(c, "/admin/users", rc, &err, "Role revoked; it no longer applies.");
}

/* The tokens page, with `fresh` (a just-created token) shown once. */
static hres tokens_page(ctx *c, int status, const char *fresh_name, const char *fresh)
{
    char t[64];
    cJSON *v = admin_view("Tokens · Admin · Flightdeck", "admin_tab_tokens", "runtime");
    if (fresh) {
        cJSON *n = cJSON_AddObjectToObject(v, "new_token");
        cJSON_AddStringToObject(n, "name", fresh_name);
        cJSON_AddStringToObject(n, "value", fresh);
    }
    cJSON *tokens = cJSON_AddArrayToObject(v, "tokens");
    sqlite3_stmt *st = db_stmt(c->db, SQL_TOKEN_LIST);
    if (!st) goto fail;
    int64_t now = db_now_ms();
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *row = db_row_json(st);
        if (!row) continue;
        long long id = (long long)cJSON_GetObjectItem(row, "id")->valuedouble;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "name", cJSON_GetObjectItem(row, "name")->valuestring);
        cJSON_AddItemToObject(o, "grants", grants_view(c, cJSON_GetObjectItem(row, "grants"), 0));
        fmt_abs((int64_t)cJSON_GetObjectItem(row, "created_at")->valuedouble, t, sizeof t);
        cJSON_AddStringToObject(o, "created_abs", t);
        const cJSON *used = cJSON_GetObjectItem(row, "last_used_at");
        if (cJSON_IsNumber(used)) fmt_rel((int64_t)used->valuedouble, now, t, sizeof t);
        else snprintf(t, sizeof t, "never");
        cJSON_AddStringToObject(o, "last_used_text", t);
        const cJSON *exp = cJSON_GetObjectItem(row, "expires_at");
        if (cJSON_IsNumber(exp)) fmt_abs((int64_t)exp->valuedouble, t, sizeof t);
        else snprintf(t, sizeof t, "never");
        cJSON_AddStringToObject(o, "expires_text", t);
        int revoked = cJSON_IsNumber(cJSON_GetObjectItem(row, "revoked_at"));
        cJSON_AddBoolToObject(o, "revoked", revoked);
        if (!revoked && cJSON_IsNumber(exp) && (int64_t)exp->valuedouble <= now)
            cJSON_AddBoolToObject(o, "expired", 1);
        if (!revoked)
            cJSON_AddStringToObject(o, "revoke_url", arena_printf(c->a, "/admin/tokens/%lld/revoke", id));
        cJSON_AddItemToArray(tokens, o);
        cJSON_Delete(row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) goto fail;
    return ctx_render(c, status, "admin_tokens", v);
fail:
    cJSON_Delete(v);
    return HR_ERROR;
}

hres h_admin_tokens(ctx *c) { return tokens_page(c, 200, NULL, NULL); }

hres h_admin_token_create(ctx *c)
{
    const char *name = form(c, "name"), *role_s = form(c, "role"), *days = form(c, "expires_days");
    int64_t expires = 0;
    if (days) {
        char *end;
        long n = strtol(days, &end, 10);
        if (*end || n < 1 || n > 3650)
            return ctx_redirect_flash(c, "/admin/tokens", "error", "Expiry must be 1 to 3650 days.");
        expires = db_now_ms() + (int64_t)n * 86400000;
    }
    char token[ACCOUNT_TOKEN_LEN + 1];
    account_err err;
    if (account_token_create(c->db, name ? name : "", role_s ? role_s : "", form(c, "project"),
                             expires, auth_actor(c->a, &c->who), token, &err))
        return done(c, "/admin/tokens", -1, &err, NULL);
    hres r = tokens_page(c, 201, name, token);
    memset(token, 0, sizeof token);
    return r;
}

hres h_admin_token_revoke(ctx *c)
{
    account_err err = { 404, "no such token" };
    long long id = param_id(c);
    int rc = id ? account_token_revoke(c->db, id, auth_actor(c->a, &c->who), &err) : -1;
    return done(c, "/admin/tokens", rc, &err, "Token revoked; it no longer works.");
}

hres h_admin_audit(ctx *c)
{
    char t[64];
    const char *actor = http_kvs_get(&c->req.query, "actor");
    const char *action = http_kvs_get(&c->req.query, "action");
    const char *session = http_kvs_get(&c->req.query, "session");
    const char *before = http_kvs_get(&c->req.query, "before");
    actor = actor && *actor ? actor : NULL;
    action = action && *action ? action : NULL;
    session = session && *session ? session : NULL;
    long long before_id = before ? strtoll(before, NULL, 10) : 0;

    cJSON *v = admin_view("Audit log · Admin · Flightdeck", "admin_tab_audit", NULL);
    cJSON *f = cJSON_AddObjectToObject(v, "filters");
    cJSON_AddStringToObject(f, "actor", actor ? actor : "");
    cJSON_AddStringToObject(f, "action", action ? action : "");
    cJSON_AddStringToObject(f, "session", session ? session : "");
    cJSON *entries = cJSON_AddArrayToObject(v, "entries");
    sqlite3_stmt *st = db_stmt(c->db, SQL_AUDIT_LIST);
    if (!st) goto fail;
    db_bind_text(st, 1, actor);
    db_bind_text(st, 2, action);
    db_bind_text(st, 3, session);
    if (before_id > 0) sqlite3_bind_int64(st, 4, before_id);
    sqlite3_bind_int(st, 5, AUDIT_PAGE + 1);
    int64_t now = db_now_ms();
    long long last = 0;
    int n = 0, rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == AUDIT_PAGE) break;
        n++;
        last = sqlite3_column_int64(st, 0);
        int64_t when = sqlite3_column_int64(st, 1);
        cJSON *e = cJSON_CreateObject();
        fmt_rfc3339(when, t, sizeof t);
        cJSON_AddStringToObject(e, "time_iso", t);
        fmt_abs(when, t, sizeof t);
        cJSON_AddStringToObject(e, "time_abs", t);
        fmt_rel(when, now, t, sizeof t);
        cJSON_AddStringToObject(e, "time_rel", t);
        cJSON_AddStringToObject(e, "actor", (const char *)sqlite3_column_text(st, 2));
        cJSON_AddStringToObject(e, "action", (const char *)sqlite3_column_text(st, 3));
        const char *sid = (const char *)sqlite3_column_text(st, 4);
        if (sid) {
            cJSON_AddStringToObject(e, "session_id", sid);
            /* Deleted sessions keep their audit entries but lose the link. */
            if (strcmp((const char *)sqlite3_column_text(st, 3), "delete") != 0)
                cJSON_AddStringToObject(e, "session_url", arena_printf(c->a, "/sessions/%s", sid));
        }
        const char *from = (const char *)sqlite3_column_text(st, 5);
        const char *to = (const char *)sqlite3_column_text(st, 6);
        const char *detail = (const char *)sqlite3_column_text(st, 7);
        if (from && *from) cJSON_AddStringToObject(e, "from", from);
        if (to && *to) cJSON_AddStringToObject(e, "to", to);
        if (detail && *detail) cJSON_AddStringToObject(e, "detail", detail);
        cJSON_AddItemToArray(entries, e);
    }
    int more = rc == SQLITE_ROW;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) goto fail;
    cJSON_AddBoolToObject(v, "empty", n == 0);
    if (more) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "/admin/audit?before=%lld", last);
        if (actor) { buf_puts(&b, "&actor="); buf_add_urlenc(&b, actor, strlen(actor)); }
        if (action) { buf_puts(&b, "&action="); buf_add_urlenc(&b, action, strlen(action)); }
        if (session) { buf_puts(&b, "&session="); buf_add_urlenc(&b, session, strlen(session)); }
        if (!b.err) cJSON_AddStringToObject(v, "next_url", b.p);
        buf_fini(&b);
    }
    return ctx_render(c, 200, "admin_audit", v);
fail:
    cJSON_Delete(v);
    return HR_ERROR;
}

/* ------------------------------------------------------------ retention */

/* "N days" / "forever" into out. */
static void days_text(const cJSON *v, char *out, size_t n)
{
    if (cJSON_IsNumber(v)) snprintf(out, n, "%lld day%s", (long long)v->valuedouble, v->valuedouble == 1 ? "" : "s");
    else snprintf(out, n, "forever");
}

hres h_admin_retention(ctx *c)
{
    char t[64];
    cJSON *v = admin_view("Retention · Admin · Flightdeck", "admin_tab_retention", NULL);
    long long dflt = config_int(CFG_RETENTION_DAYS);
    if (dflt > 0) snprintf(t, sizeof t, "%lld day%s", dflt, dflt == 1 ? "" : "s");
    else snprintf(t, sizeof t, "kept forever");
    cJSON_AddStringToObject(v, "default_text", t);
    long long every = config_int(CFG_SWEEP_SECONDS);
    if (every % 60 == 0) snprintf(t, sizeof t, "%lld minute%s", every / 60, every == 60 ? "" : "s");
    else snprintf(t, sizeof t, "%lld second%s", every, every == 1 ? "" : "s");
    cJSON_AddStringToObject(v, "sweep_text", t);
    cJSON *rules = retention_rules_json(c->db);
    if (!rules) {
        cJSON_Delete(v);
        return HR_ERROR;
    }
    cJSON *out = cJSON_AddArrayToObject(v, "rules");
    for (const cJSON *r = rules->child; r; r = r->next) {
        const char *project = cJSON_GetObjectItem(r, "project")->valuestring;
        const cJSON *cap = cJSON_GetObjectItem(r, "max_payload_bytes");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "project", project);
        days_text(cJSON_GetObjectItem(r, "keep_days"), t, sizeof t);
        cJSON_AddStringToObject(o, "keep_text", t);
        if (cJSON_IsNumber(cap)) snprintf(t, sizeof t, "up to %lld bytes", (long long)cap->valuedouble);
        else snprintf(t, sizeof t, "whole");
        cJSON_AddStringToObject(o, "cap_text", t);
        cJSON_AddStringToObject(o, "updated_by", cJSON_GetObjectItem(r, "updated_by")->valuestring);
        fmt_abs((int64_t)cJSON_GetObjectItem(r, "updated_at")->valuedouble, t, sizeof t);
        cJSON_AddStringToObject(o, "updated_abs", t);
        buf u;
        buf_init(&u);
        buf_puts(&u, "/admin/retention/");
        buf_add_urlenc(&u, project, strlen(project));
        buf_puts(&u, "/clear");
        if (!u.err) cJSON_AddStringToObject(o, "clear_url", buf_str(&u));
        buf_fini(&u);
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(rules);
    return ctx_render(c, 200, "admin_retention", v);
}

/* A form field that is empty (-> 0) or a whole number in [lo, hi]; -1 else. */
static long long whole_field(ctx *c, const char *key, long long lo, long long hi)
{
    const char *v = form(c, key);
    if (!v) return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    return *end || n < lo || n > hi ? -1 : n;
}

hres h_admin_retention_set(ctx *c)
{
    const char *project = form(c, "project");
    long long days = whole_field(c, "keep_days", 1, RETENTION_MAX_DAYS);
    long long cap = whole_field(c, "max_payload_bytes", RETENTION_MIN_CAP, RETENTION_MAX_CAP);
    if (days < 0)
        return ctx_redirect_flash(c, "/admin/retention", "error", "Keep must be 1 to 36500 days, or empty for forever.");
    if (cap < 0)
        return ctx_redirect_flash(c, "/admin/retention", "error",
                                  "The largest stored event must be at least 1024 bytes, or empty for no cap.");
    char err[200];
    int rc = retention_set(c->db, project ? project : "", (int)days, cap, auth_actor(c->a, &c->who), err, sizeof err);
    if (rc < 0) return HR_ERROR;
    if (rc) return ctx_redirect_flash(c, "/admin/retention", "error", err);
    return ctx_redirect_flash(c, "/admin/retention", "ok", "Rule saved; the next sweep applies it.");
}

hres h_admin_retention_clear(ctx *c)
{
    int rc = retention_clear(c->db, ctx_param(c, 0), auth_actor(c->a, &c->who));
    if (rc < 0) return HR_ERROR;
    if (rc == 0) return ctx_redirect_flash(c, "/admin/retention", "error", "That project has no rule.");
    return ctx_redirect_flash(c, "/admin/retention", "ok", "Rule removed; the project follows the default.");
}
