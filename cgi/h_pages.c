/* h_pages: the session detail page (/sessions/{id}), the quick-action
 * forms, and the session row view shared with the History page
 * (h_history.c). Each builds a view model (cJSON) from raw rows and hands
 * it to a template; all text is escaped by the template engine, and Markdown
 * is rendered by md4c with raw HTML disabled. View models are documented in
 * docs/templates.md. */
#include <md4c-html.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "ingest.h"
#include "lifecycle.h"

#define FEED_MAX     500   /* activity entries shown; windowing comes with the detail-page work */


/* Add key only when s is non-empty: templates test optional values with
 * sections, and an absent key is false everywhere. */
static void add_opt(cJSON *v, const char *key, const char *s)
{
    if (s && *s) cJSON_AddStringToObject(v, key, s);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static int is_null(sqlite3_stmt *st, int i) { return sqlite3_column_type(st, i) == SQLITE_NULL; }

/* Columns of SESSION_ROW_COLS, in order. */
enum { R_ID, R_KIND, R_AGENT, R_NAME, R_STATUS, R_TRIGGER, R_SOURCE, R_PROJECT, R_ENV,
       R_PARENT, R_PARENT_NAME, R_PARENT_PROJECT, R_STARTED, R_ENDED, R_CREATED, R_NOW, R_PTOK, R_CTOK,
       R_COST, R_ERROR, R_STEP, R_PROMPT, R_INPUTS, R_METADATA, R_FINAL, R_SORT_TIME };

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
    add_opt(v, "trigger_source", col_text(st, R_SOURCE));
    add_opt(v, "project", col_text(st, R_PROJECT));
    add_opt(v, "environment", col_text(st, R_ENV));
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

/* md4c output callback: append to a buf. */
static void md_out(const MD_CHAR *text, MD_SIZE size, void *userdata)
{
    buf_add(userdata, text, size);
}

/* Markdown to safe HTML: raw HTML in the input is shown as text, not markup. */
static void add_markdown(ctx *c, cJSON *v, const char *md)
{
    buf b;
    buf_init(&b);
    if (md_html(md, (MD_SIZE)strlen(md), md_out, &b,
                MD_FLAG_NOHTML | MD_FLAG_STRIKETHROUGH | MD_FLAG_TABLES | MD_FLAG_PERMISSIVEURLAUTOLINKS,
                0) == 0 && !b.err)
        cJSON_AddStringToObject(v, "content_html", buf_str(&b));
    buf_fini(&b);
    (void)c;
}

/* Pretty-printed JSON text, or the text itself when it is not JSON. */
static void add_pretty(cJSON *v, const char *key, const char *json)
{
    if (!json) return;
    cJSON *j = cJSON_Parse(json);
    char *s = j ? cJSON_Print(j) : NULL;
    cJSON_AddStringToObject(v, key, s ? s : json);
    cJSON_free(s);
    cJSON_Delete(j);
}

static const char *body_str(const cJSON *body, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(body, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* Columns of EVENT_LIST_FEED. */
enum { E_ID, E_SEQ, E_TYPE, E_TIME, E_ACTOR, E_BODY, E_HIDDEN, E_TC_ID, E_TOOL, E_TC_KIND,
       E_ARGS, E_RESULT, E_ERRCAT, E_ERRMSG, E_STATE, E_RETRIES, E_TC_STARTED, E_TC_ENDED,
       E_CALLED, E_CALLED_NAME, E_CALLED_STATUS, E_CALLED_PROJECT };

static cJSON *event_view(ctx *c, sqlite3_stmt *st, int64_t now)
{
    char t[64];
    const char *type = col_text(st, E_TYPE);
    cJSON *v = cJSON_CreateObject();
    cJSON *body = cJSON_Parse(col_text(st, E_BODY));
    cJSON_AddNumberToObject(v, "seq", (double)sqlite3_column_int64(st, E_SEQ));
    cJSON_AddStringToObject(v, "type", type);
    int64_t when = sqlite3_column_int64(st, E_TIME);
    fmt_abs(when, t, sizeof t);
    cJSON_AddStringToObject(v, "time_abs", t);
    fmt_rfc3339(when, t, sizeof t);
    cJSON_AddStringToObject(v, "time_iso", t);
    fmt_rel(when, now, t, sizeof t);
    cJSON_AddStringToObject(v, "time_rel", t);
    add_opt(v, "actor", col_text(st, E_ACTOR));

    if (!strcmp(type, "user_message") || !strcmp(type, "assistant_message") ||
        !strcmp(type, "thought")) {
        cJSON_AddBoolToObject(v, !strcmp(type, "user_message") ? "is_user_message"
                                 : !strcmp(type, "thought") ? "is_thought" : "is_assistant_message", 1);
        const char *content = body_str(body, "content");
        cJSON_AddStringToObject(v, "content", content);
        add_markdown(c, v, content);
    } else if (!strcmp(type, "tool_call")) {
        cJSON_AddBoolToObject(v, "is_tool_call", 1);
        cJSON *tool = cJSON_AddObjectToObject(v, "tool");
        const char *state = col_text(st, E_STATE);
        cJSON_AddStringToObject(tool, "id", col_text(st, E_TC_ID));
        cJSON_AddStringToObject(tool, "name", col_text(st, E_TOOL));
        cJSON_AddStringToObject(tool, "kind", col_text(st, E_TC_KIND));
        cJSON_AddStringToObject(tool, "state", state);
        static const struct { const char *s, *label; } labels[] = {
            { "running", "Running" }, { "waiting_for_client", "Waiting for client" },
            { "waiting_for_human", "Waiting for a person" }, { "succeeded", "Succeeded" },
            { "failed", "Failed" }, { "canceled", "Canceled" } };
        for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
            if (!strcmp(labels[i].s, state)) cJSON_AddStringToObject(tool, "state_label", labels[i].label);
        cJSON_AddBoolToObject(tool, "waiting", !strncmp(state, "waiting", 7));
        if (!strcmp(state, "waiting_for_human"))
            cJSON_AddStringToObject(tool, "task_url",
                                    arena_printf(c->a, "/tasks#task-%lld",
                                                 (long long)sqlite3_column_int64(st, E_ID)));
        int64_t start = sqlite3_column_int64(st, E_TC_STARTED);
        int64_t end = is_null(st, E_TC_ENDED) ? now : sqlite3_column_int64(st, E_TC_ENDED);
        fmt_duration(end - start, t, sizeof t);
        cJSON_AddStringToObject(tool, "duration_text", t);
        if (sqlite3_column_int(st, E_RETRIES) > 0)
            cJSON_AddNumberToObject(tool, "retries", sqlite3_column_int(st, E_RETRIES));
        add_pretty(tool, "arguments_pretty", col_text(st, E_ARGS));
        if (!is_null(st, E_RESULT)) add_pretty(tool, "result_pretty", col_text(st, E_RESULT));
        if (!is_null(st, E_ERRCAT)) {
            cJSON_AddStringToObject(tool, "error_category", col_text(st, E_ERRCAT));
            cJSON_AddStringToObject(tool, "error_message", col_text(st, E_ERRMSG));
        }
        if (!is_null(st, E_CALLED)) {
            cJSON *called = cJSON_AddObjectToObject(tool, "called");
            const char *cid = col_text(st, E_CALLED);
            const char *cproj = col_text(st, E_CALLED_PROJECT);
            /* A link only where the viewer can read the called session. */
            if (!is_null(st, E_CALLED_NAME) && auth_can(&c->who, PERM_READ, cproj))
                cJSON_AddStringToObject(called, "url", arena_printf(c->a, "/sessions/%s", cid));
            cJSON_AddStringToObject(called, "name", is_null(st, E_CALLED_NAME) ? cid : col_text(st, E_CALLED_NAME));
            const char *cs = is_null(st, E_CALLED_STATUS) ? "unknown" : col_text(st, E_CALLED_STATUS);
            cJSON_AddStringToObject(called, "status", cs);
            cJSON_AddStringToObject(called, "status_label", lifecycle_status_label(cs));
        }
    } else if (!strcmp(type, "error")) {
        cJSON_AddBoolToObject(v, "is_error", 1);
        cJSON *e = cJSON_AddObjectToObject(v, "error");
        cJSON_AddStringToObject(e, "message", body_str(body, "message"));
        add_opt(e, "step", body_str(body, "step"));
    } else if (!strcmp(type, "usage")) {
        cJSON_AddBoolToObject(v, "is_usage", 1);
        cJSON *u = cJSON_AddObjectToObject(v, "usage");
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(body, "prompt_tokens");
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(body, "completion_tokens");
        const cJSON *cost = cJSON_GetObjectItemCaseSensitive(body, "cost");
        add_opt(u, "model", body_str(body, "model"));
        cJSON_AddNumberToObject(u, "prompt_tokens", cJSON_IsNumber(pt) ? pt->valuedouble : 0);
        cJSON_AddNumberToObject(u, "completion_tokens", cJSON_IsNumber(ct) ? ct->valuedouble : 0);
        fmt_cost(cJSON_IsNumber(cost) ? (int64_t)(cost->valuedouble * 1e6 + 0.5) : 0, t, sizeof t);
        cJSON_AddStringToObject(u, "cost_text", t);
    } else if (!strcmp(type, "lifecycle")) {
        cJSON_AddBoolToObject(v, "is_lifecycle", 1);
        cJSON *l = cJSON_AddObjectToObject(v, "lifecycle");
        const char *to = body_str(body, "to");
        add_opt(l, "from", body_str(body, "from"));
        add_opt(l, "to", to);
        cJSON_AddStringToObject(l, "label", arena_printf(c->a, "%s by %s", lifecycle_status_label(to),
                                                         body_str(body, "actor")));
    } else {
        cJSON_AddBoolToObject(v, "is_other", 1);
        cJSON_AddStringToObject(v, "content", col_text(st, E_BODY));
    }
    cJSON_Delete(body);
    return v;
}

hres h_page_session(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;

    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_GET_ROW);
    if (!st) return HR_ERROR;
    db_bind_text(st, 1, id);
    if (db_step(st) != SQLITE_ROW) { sqlite3_reset(st); return HR_ERROR; }
    cJSON *v = cJSON_CreateObject();
    cJSON *s = session_row_view(c, st);
    int64_t now = sqlite3_column_int64(st, R_NOW);
    cJSON_AddStringToObject(v, "title", arena_printf(c->a, "%s · Flightdeck",
                                                     cJSON_GetObjectItem(s, "name")->valuestring));
    add_opt(s, "prompt", col_text(st, R_PROMPT));
    add_opt(s, "final_response", col_text(st, R_FINAL));
    add_opt(s, "error_message", col_text(st, R_ERROR));
    add_opt(s, "error_step", col_text(st, R_STEP));
    cJSON_AddBoolToObject(s, "failed", !strcmp(col_text(st, R_STATUS), "failed"));
    if (strcmp(col_text(st, R_METADATA), "{}") != 0)
        add_pretty(s, "metadata_pretty", col_text(st, R_METADATA));
    cJSON *inputs = cJSON_Parse(col_text(st, R_INPUTS));
    cJSON *il = cJSON_AddArrayToObject(s, "inputs");
    for (cJSON *m = inputs ? inputs->child : NULL; m; m = m->next) {
        cJSON *o = cJSON_CreateObject();
        char *val = cJSON_IsString(m) ? NULL : cJSON_PrintUnformatted(m);
        cJSON_AddStringToObject(o, "key", m->string ? m->string : "");
        cJSON_AddStringToObject(o, "value", val ? val : m->valuestring);
        cJSON_free(val);
        cJSON_AddItemToArray(il, o);
    }
    cJSON_AddBoolToObject(s, "has_inputs", cJSON_GetArraySize(il) > 0);
    cJSON_Delete(inputs);
    sqlite3_reset(st);
    cJSON_AddItemToObject(v, "session", s);
    cJSON_AddBoolToObject(v, "nav_sessions", 1);
    cJSON_AddStringToObject(v, "return_to", c->req.request_uri);

    cJSON *children = cJSON_AddArrayToObject(v, "children");
    st = db_stmt(c->db, SQL_SESSION_CHILDREN);
    if (!st) goto fail;
    db_bind_text(st, 1, id);
    while (db_step(st) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        const char *cid = col_text(st, 0), *cs = col_text(st, 3);
        /* A called session the viewer cannot read shows its name and status only. */
        int readable = auth_can(&c->who, PERM_READ, col_text(st, 4));
        if (readable) {
            cJSON_AddStringToObject(o, "url", arena_printf(c->a, "/sessions/%s", cid));
            cJSON_AddStringToObject(o, "agent", col_text(st, 2));
        }
        cJSON_AddStringToObject(o, "name", *col_text(st, 1) ? col_text(st, 1) : cid);
        cJSON_AddStringToObject(o, "status", cs);
        cJSON_AddStringToObject(o, "status_label", lifecycle_status_label(cs));
        cJSON_AddItemToArray(children, o);
    }
    sqlite3_reset(st);
    cJSON_AddBoolToObject(v, "has_children", cJSON_GetArraySize(children) > 0);

    cJSON *events = cJSON_AddArrayToObject(v, "events");
    st = db_stmt(c->db, SQL_EVENT_LIST_FEED);
    if (!st) goto fail;
    db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, 0);
    sqlite3_bind_int64(st, 3, FEED_MAX);
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) cJSON_AddItemToArray(events, event_view(c, st, now));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) goto fail;
    cJSON_AddBoolToObject(v, "events_empty", cJSON_GetArraySize(events) == 0);
    return ctx_render(c, 200, "session", v);
fail:
    cJSON_Delete(v);
    return HR_ERROR;
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
    const char *back = http_kvs_get(&c->req.form, "return_to");
    /* After a delete the session page is gone: go back to the list then. */
    if (!back || back[0] != '/' || back[1] == '/' || back[1] == '\\' ||
        (a == action_find("delete") && strncmp(back, "/sessions/", 10) == 0))
        back = "/sessions";
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
