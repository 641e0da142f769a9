/* h_pages: the session detail page (/sessions/{id}), the quick-action
 * forms, and the session row view shared with the History page
 * (h_history.c). Each builds a view model (cJSON) from raw rows and hands
 * it to a template; all text is escaped by the template engine, and Markdown
 * is rendered by md4c with raw HTML disabled. View models are documented in
 * docs/templates.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "ingest.h"
#include "lifecycle.h"

#define FEED_MAX     500   /* activity entries shown; windowing comes with the detail-page work */


void view_add_opt(cJSON *v, const char *key, const char *s)
{
    if (s && *s) cJSON_AddStringToObject(v, key, s);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static int is_null(sqlite3_stmt *st, int i) { return sqlite3_column_type(st, i) == SQLITE_NULL; }


/* The quick actions valid now (DESIGN.md section 4) that the viewer may
 * take, as [{action, label, url, confirm?, danger}]. */
static cJSON *session_actions(ctx *c, const char *id, const char *status, const char *project)
{
    static const struct {
        const char *action, *label, *confirm;
        int lc;     /* lifecycle action, or -1 for delete */
        int danger;
    } all[] = {
        { "pause", "Pause", NULL, LC_PAUSE, 0 },
        { "resume", "Resume", NULL, LC_RESUME, 0 },
        { "cancel", "Cancel", "Cancel this session? Tool calls in flight finish first; this cannot be undone.", LC_CANCEL, 1 },
        { "delete", "Delete", "Delete this session and all its activity? This cannot be undone.", -1, 1 },
    };
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int a = action_find(all[i].action);
        int valid = all[i].lc < 0 ? lifecycle_is_terminal(status)
                                  : lifecycle_next(status, (lc_action)all[i].lc, 0) != NULL;
        if (!valid || !auth_can(&c->who, action_perm(a), project)) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "action", all[i].action);
        cJSON_AddStringToObject(o, "label", all[i].label);
        cJSON_AddStringToObject(o, "url", arena_printf(c->a, "/sessions/%s/%s", id, all[i].action));
        if (all[i].confirm) cJSON_AddStringToObject(o, "confirm", all[i].confirm);
        cJSON_AddBoolToObject(o, "danger", all[i].danger);
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static const struct { const char *type, *label; } trigger_labels[] = {
    { "manual", "Manual" }, { "api", "API" }, { "event", "Event" },
    { "schedule", "Schedule" }, { "agent", "Agent" }, { "workflow", "Workflow" },
};

/* The row fields both pages show, as a view object (see handlers.h). */
cJSON *session_row_view(ctx *c, sqlite3_stmt *st)
{
    char t[64];
    cJSON *v = cJSON_CreateObject();
    const char *id = col_text(st, R_ID), *status = col_text(st, R_STATUS);
    cJSON_AddStringToObject(v, "id", id);
    cJSON_AddStringToObject(v, "url", arena_printf(c->a, "/sessions/%s", id));
    cJSON_AddStringToObject(v, "name", *col_text(st, R_NAME) ? col_text(st, R_NAME) : id);
    cJSON_AddStringToObject(v, "agent", col_text(st, R_AGENT));
    cJSON_AddStringToObject(v, "kind", col_text(st, R_KIND));
    cJSON_AddStringToObject(v, "status", status);
    cJSON_AddStringToObject(v, "status_label", lifecycle_status_label(status));
    cJSON_AddStringToObject(v, "trigger_type", col_text(st, R_TRIGGER));
    view_add_opt(v, "trigger_source", col_text(st, R_SOURCE));
    view_add_opt(v, "project", col_text(st, R_PROJECT));
    view_add_opt(v, "environment", col_text(st, R_ENV));
    /* The caller: linked and named only where the viewer may read it. */
    if (!is_null(st, R_PARENT) && !is_null(st, R_PARENT_PROJECT) &&
        auth_can(&c->who, PERM_READ, col_text(st, R_PARENT_PROJECT))) {
        cJSON *p = cJSON_AddObjectToObject(v, "parent");
        const char *pid = col_text(st, R_PARENT);
        cJSON_AddStringToObject(p, "id", pid);
        cJSON_AddStringToObject(p, "url", arena_printf(c->a, "/sessions/%s", pid));
        cJSON_AddStringToObject(p, "name", is_null(st, R_PARENT_NAME) ? pid : col_text(st, R_PARENT_NAME));
    }
    int64_t now = sqlite3_column_int64(st, R_NOW);
    int64_t started = is_null(st, R_STARTED) ? sqlite3_column_int64(st, R_CREATED)
                                             : sqlite3_column_int64(st, R_STARTED);
    fmt_rfc3339(started, t, sizeof t);
    cJSON_AddStringToObject(v, "started_iso", t);
    fmt_abs(started, t, sizeof t);
    cJSON_AddStringToObject(v, "started_abs", t);
    fmt_rel(started, now, t, sizeof t);
    cJSON_AddStringToObject(v, "started_rel", t);
    if (!is_null(st, R_ENDED)) {
        fmt_abs(sqlite3_column_int64(st, R_ENDED), t, sizeof t);
        cJSON_AddStringToObject(v, "ended_abs", t);
    }
    if (is_null(st, R_STARTED)) {
        cJSON_AddStringToObject(v, "duration_text", "—");
    } else {
        int64_t end = is_null(st, R_ENDED) ? now : sqlite3_column_int64(st, R_ENDED);
        fmt_duration(end - sqlite3_column_int64(st, R_STARTED), t, sizeof t);
        cJSON_AddStringToObject(v, "duration_text", t);
    }
    cJSON_AddBoolToObject(v, "running", is_null(st, R_ENDED) && !is_null(st, R_STARTED));
    int64_t ptok = sqlite3_column_int64(st, R_PTOK), ctok = sqlite3_column_int64(st, R_CTOK);
    fmt_count(ptok + ctok, t, sizeof t);
    cJSON_AddStringToObject(v, "tokens_text", t);
    cJSON_AddNumberToObject(v, "prompt_tokens", (double)ptok);
    cJSON_AddNumberToObject(v, "completion_tokens", (double)ctok);
    fmt_cost(sqlite3_column_int64(st, R_COST), t, sizeof t);
    cJSON_AddStringToObject(v, "cost_text", t);
    if (*col_text(st, R_ERROR)) cJSON_AddStringToObject(v, "error", col_text(st, R_ERROR));
    cJSON *acts = session_actions(c, id, status, col_text(st, R_PROJECT));
    cJSON_AddItemToObject(v, "actions", acts);
    /* What a bulk selection of this row allows: the same actions. */
    buf b;
    buf_init(&b);
    for (cJSON *x = acts->child; x; x = x->next) {
        if (b.len) buf_putc(&b, ' ');
        buf_puts(&b, cJSON_GetObjectItem(x, "action")->valuestring);
    }
    cJSON_AddStringToObject(v, "bulk_actions", b.err ? "" : buf_str(&b));
    buf_fini(&b);
    const char *tt = col_text(st, R_TRIGGER);
    for (size_t i = 0; i < sizeof trigger_labels / sizeof trigger_labels[0]; i++)
        if (!strcmp(trigger_labels[i].type, tt)) cJSON_AddStringToObject(v, "trigger_label", trigger_labels[i].label);
    if (!cJSON_HasObjectItem(v, "trigger_label")) cJSON_AddStringToObject(v, "trigger_label", tt);
    /* Source: who or what started it. For called sessions, the caller,
     * linked where readable (name only otherwise). */
    const cJSON *parent = cJSON_GetObjectItem(v, "parent");
    if (parent) {
        cJSON_AddStringToObject(v, "source_text", cJSON_GetObjectItem(parent, "name")->valuestring);
        cJSON_AddStringToObject(v, "source_url", cJSON_GetObjectItem(parent, "url")->valuestring);
    } else if (*col_text(st, R_SOURCE)) {
        cJSON_AddStringToObject(v, "source_text", col_text(st, R_SOURCE));
    } else if (!is_null(st, R_PARENT) && !is_null(st, R_PARENT_NAME)) {
        cJSON_AddStringToObject(v, "source_text", col_text(st, R_PARENT_NAME));
    }
    return v;
}

/* return_to of a page form when it is a same-site path without control
 * characters or spaces, else dflt (see handlers.h). */
const char *page_return_to(ctx *c, const char *dflt)
{
    const char *back = http_kvs_get(&c->req.form, "return_to");
    if (!back || back[0] != '/' || back[1] == '/' || back[1] == '\\') return dflt;
    for (const unsigned char *p = (const unsigned char *)back; *p; p++)
        if (*p <= 0x20 || *p == 0x7f) return dflt;
    return back;
}

/* POST /sessions/{id}/pause|resume|cancel|delete: the quick-action forms.
 * Redirects back to return_to (same-site only) with a flash message. */
hres h_page_action(ctx *c)
{
    const char *id = ctx_param(c, 0);
    const char *path = c->req.path;
    const char *name = strrchr(path, '/') + 1;
    int a = action_find(name);
    if (a < 0) return ctx_error(c, 404, "not_found", "No such action.");
    int ok = ctx_session_access(c, id, action_perm(a), NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    const char *back = page_return_to(c, "/sessions");
    /* After a delete the session page is gone: go back to the list then. */
    if (a == action_find("delete") && strncmp(back, "/sessions/", 10) == 0) back = "/sessions";
    char from[16] = "", to[16] = "";
    lc_result r = action_apply(c, a, id, from, to);
    if (r == LC_REFUSED)
        return ctx_redirect_flash(c, back, "error",
                                  arena_printf(c->a, "Cannot %s: the session is %s now.", name, from));
    if (r == LC_NOT_FOUND) return ctx_redirect_flash(c, back, "error", "That session no longer exists.");
    if (r != LC_OK) return HR_ERROR;
    const char *done = a == action_find("delete") ? "deleted"
                       : !strcmp(to, "pausing") ? "is pausing (waiting for tool calls in flight)"
                       : !strcmp(to, "canceling") ? "is canceling (waiting for tool calls in flight)"
                       : to;
    return ctx_redirect_flash(c, back, "ok", arena_printf(c->a, "Session %s %s.", id, done));
}
