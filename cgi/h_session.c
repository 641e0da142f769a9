/* h_session: the session detail page (/sessions/{id}) and its read-only
 * share view (/share/{token}): the header with the actions valid now, and
 * one tab at a time, chosen by ?tab= so every view has its own link:
 * summary, activity (windowed, filterable), trace (SVG waterfall), logs,
 * artifacts, evals, report, metadata, called agents. Also the share links
 * and the download of payloads too large to show inline. View model:
 * docs/templates.md, "session". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "ingest.h"
#include "lifecycle.h"
#include "notify.h"
#include "report.h"
#include "share.h"

#define WINDOW        100        /* activity entries per window */
#define TRACE_ROWS    200        /* rows of the waterfall */
#define TRACE_LOGS    100        /* log lines under the trace */
#define LOG_PAGE      200        /* log lines per page of the Logs tab */
#define WF_W          960        /* waterfall viewBox */
#define WF_LABEL_W    280
#define WF_BAR_X0     300
#define WF_BAR_W      560
#define WF_ROW_H      22
#define WF_AXIS_H     22

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static int is_null(sqlite3_stmt *st, int i) { return sqlite3_column_type(st, i) == SQLITE_NULL; }

/* Bytes of a payload shown inline; larger ones are download-only. */
static long long inline_max(void) { return config_int(CFG_INLINE_PAYLOAD_MAX); }

/* Markdown to safe HTML (report.c: raw HTML in the input shows as text)
 * into v["content_html"]. */
static void add_markdown(ctx *c, cJSON *v, const char *md)
{
    buf b;
    buf_init(&b);
    if (markdown_html(md, strlen(md), &b) == 0 && !b.err)
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

/* Columns of EVENT_WINDOW_FWD / _BACK. */
enum { E_ID, E_SEQ, E_TYPE, E_TIME, E_ACTOR, E_BODY, E_HIDDEN, E_TC_ID, E_TOOL, E_TC_KIND,
       E_ARGS, E_RESULT, E_ERRCAT, E_ERRMSG, E_STATE, E_RETRIES, E_TC_STARTED, E_TC_ENDED,
       E_CALLED, E_CALLED_NAME, E_CALLED_STATUS, E_CALLED_PROJECT, E_ARGS_LEN, E_RESULT_SIZE };

static cJSON *event_view(ctx *c, sqlite3_stmt *st, int64_t now, const char *download_base)
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
    view_add_opt(v, "actor", col_text(st, E_ACTOR));

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
        /* Payloads over the inline limit are left out by the query and
         * offered for download instead. */
        long long eid = (long long)sqlite3_column_int64(st, E_ID);
        if (!is_null(st, E_ARGS)) {
            add_pretty(tool, "arguments_pretty", col_text(st, E_ARGS));
        } else if (download_base) {
            fmt_bytes(sqlite3_column_int64(st, E_ARGS_LEN), t, sizeof t);
            cJSON_AddStringToObject(tool, "arguments_size_text", t);
            cJSON_AddStringToObject(tool, "arguments_download_url",
                                    arena_printf(c->a, "%s/events/%lld/arguments", download_base, eid));
        }
        if (!is_null(st, E_RESULT)) {
            add_pretty(tool, "result_pretty", col_text(st, E_RESULT));
        } else if (!strcmp(state, "succeeded") && sqlite3_column_int64(st, E_RESULT_SIZE) > 0 && download_base) {
            fmt_bytes(sqlite3_column_int64(st, E_RESULT_SIZE), t, sizeof t);
            cJSON_AddStringToObject(tool, "result_size_text", t);
            cJSON_AddStringToObject(tool, "result_download_url",
                                    arena_printf(c->a, "%s/events/%lld/result", download_base, eid));
        }
        fmt_duration(end - start, t, sizeof t);
        int retries = sqlite3_column_int(st, E_RETRIES);
        if (!strcmp(state, "canceled"))
            cJSON_AddStringToObject(tool, "state_detail", arena_printf(c->a, "after %s", t));
        else if (!strcmp(state, "failed") && retries)
            cJSON_AddStringToObject(tool, "state_detail",
                                    arena_printf(c->a, "after %d %s", retries, retries == 1 ? "retry" : "retries"));
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
        view_add_opt(e, "step", body_str(body, "step"));
    } else if (!strcmp(type, "usage")) {
        cJSON_AddBoolToObject(v, "is_usage", 1);
        cJSON *u = cJSON_AddObjectToObject(v, "usage");
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(body, "prompt_tokens");
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(body, "completion_tokens");
        const cJSON *cost = cJSON_GetObjectItemCaseSensitive(body, "cost");
        view_add_opt(u, "model", body_str(body, "model"));
        cJSON_AddNumberToObject(u, "prompt_tokens", cJSON_IsNumber(pt) ? pt->valuedouble : 0);
        cJSON_AddNumberToObject(u, "completion_tokens", cJSON_IsNumber(ct) ? ct->valuedouble : 0);
        fmt_cost(cJSON_IsNumber(cost) ? (int64_t)(cost->valuedouble * 1e6 + 0.5) : 0, t, sizeof t);
        cJSON_AddStringToObject(u, "cost_text", t);
    } else if (!strcmp(type, "lifecycle")) {
        cJSON_AddBoolToObject(v, "is_lifecycle", 1);
        cJSON *l = cJSON_AddObjectToObject(v, "lifecycle");
        const char *to = body_str(body, "to");
        view_add_opt(l, "from", body_str(body, "from"));
        view_add_opt(l, "to", to);
        /* Pausing and canceling are requests the runtime has yet to honour. */
        const char *what = !strcmp(to, "pausing")     ? "Pause requested"
                           : !strcmp(to, "canceling") ? "Cancel requested"
                                                      : lifecycle_status_label(to);
        cJSON_AddStringToObject(l, "label", arena_printf(c->a, "%s by %s", what, body_str(body, "actor")));
    } else {
        cJSON_AddBoolToObject(v, "is_other", 1);
        cJSON_AddStringToObject(v, "content", col_text(st, E_BODY));
    }
    cJSON_Delete(body);
    return v;
}

/* -------------------------------------------------------------- the page */

/* Columns of SESSION_DETAIL after SESSION_ROW_COLS. */
enum detail_col {
    D_THREAD = R_FINAL + 1, D_PARENT_TC, D_ACTOR, D_CLUSTER, D_DEPLOYMENT, D_MODELS, D_SERVICES,
    D_CPU, D_METHOD, D_URL, D_ROUTE, D_USER_DATA, D_UPDATED, D_DESCRIPTION, D_RETRIES, D_LLM_COST,
    D_REPORT, D_EVENTS, D_CHILDREN, D_SPANS, D_LOGS, D_ARTIFACTS, D_EVALS, D_HIDDEN, D_FIRST_ERROR,
    D_TOOLCALLS
};

typedef enum tab_id {
    TAB_SUMMARY, TAB_ACTIVITY, TAB_TRACE, TAB_LOGS, TAB_ARTIFACTS, TAB_EVALS, TAB_REPORT,
    TAB_METADATA, TAB_AGENTS, TAB__COUNT
} tab_id;

/* What every tab builder needs. */
typedef struct detail {
    ctx          *c;
    const char   *id;
    const char   *base;     /* "/sessions/ID" or "/share/TOKEN": links stay in their view */
    int           readonly; /* a share view: no forms */
    sqlite3_stmt *row;      /* SESSION_DETAIL, on the session's row until the page is built */
    int64_t       now;
} detail;

static const struct tab_def {
    const char *key, *label, *flag;
    int (*build)(const detail *d, cJSON *v);
} tab_defs[TAB__COUNT];

static const char *tab_url(const detail *d, const char *tab, const char *extra)
{
    return arena_printf(d->c->a, "%s?tab=%s%s%s", d->base, tab, extra ? "&" : "", extra ? extra : "");
}

/* ------------------------------------------------------------- summary */

/* The prompt as segments, each substituted input value marked with the
 * input's name: at every position the longest input value found there. */
static void add_prompt_segments(const detail *d, cJSON *s, const char *prompt, const cJSON *inputs)
{
    enum { MAX_INPUTS = 50, MIN_LEN = 2 };
    struct { const char *key; char *val; size_t len; } in[MAX_INPUTS];
    int n = 0;
    for (const cJSON *m = inputs ? inputs->child : NULL; m && n < MAX_INPUTS; m = m->next) {
        char *val = cJSON_IsString(m) ? arena_strdup(d->c->a, m->valuestring) : NULL;
        if (!val && (cJSON_IsNumber(m) || cJSON_IsBool(m))) {
            char *p = cJSON_PrintUnformatted(m);
            val = p ? arena_strdup(d->c->a, p) : NULL;
            cJSON_free(p);
        }
        if (!val || strlen(val) < MIN_LEN || !m->string) continue;
        in[n].key = m->string;
        in[n].val = val;
        in[n++].len = strlen(val);
    }
    cJSON *segs = cJSON_AddArrayToObject(s, "prompt_segments");
    size_t len = strlen(prompt), start = 0;
    for (size_t i = 0; i < len; ) {
        int best = -1;
        for (int k = 0; k < n; k++)
            if (in[k].len <= len - i && !memcmp(prompt + i, in[k].val, in[k].len) &&
                (best < 0 || in[k].len > in[best].len))
                best = k;
        if (best < 0) { i++; continue; }
        if (i > start) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "text", arena_strndup(d->c->a, prompt + start, i - start));
            cJSON_AddItemToArray(segs, o);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", in[best].val);
        cJSON_AddStringToObject(o, "input_key", in[best].key);
        cJSON_AddItemToArray(segs, o);
        i += in[best].len;
        start = i;
    }
    if (start < len) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", prompt + start);
        cJSON_AddItemToArray(segs, o);
    }
}

static int build_summary(const detail *d, cJSON *v)
{
    sqlite3_stmt *st = d->row;
    cJSON *s = cJSON_AddObjectToObject(v, "summary");
    cJSON *inputs = cJSON_Parse(col_text(st, R_INPUTS));
    const char *prompt = col_text(st, R_PROMPT);
    cJSON_AddBoolToObject(s, "has_prompt", *prompt != '\0');
    if (*prompt) add_prompt_segments(d, s, prompt, inputs);
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
    const char *final = col_text(st, R_FINAL);
    if (*final) {
        cJSON *tmp = cJSON_CreateObject();
        add_markdown(d->c, tmp, final);
        cJSON *h = cJSON_DetachItemFromObject(tmp, "content_html");
        if (h) cJSON_AddItemToObject(s, "final_response_html", h);
        cJSON_Delete(tmp);
    }
    long long kids = sqlite3_column_int64(st, D_CHILDREN);
    if (kids) {
        cJSON_AddStringToObject(s, "children_count_text",
                                arena_printf(d->c->a, "%lld called session%s", kids, kids == 1 ? "" : "s"));
        cJSON_AddStringToObject(s, "agents_url", tab_url(d, "agents", NULL));
    }
    return 0;
}

/* ------------------------------------------------------------ activity */

static const struct { const char *key, *label; } feed_filters[] = {
    { "all", "All" }, { "reasoning", "Reasoning" }, { "tools", "Tool calls" }, { "errors", "Errors" },
};

/* "&filter=..&hidden=1" for links that keep the activity's filter. */
static const char *feed_params(const detail *d, int filter, int hidden, const char *more)
{
    return arena_printf(d->c->a, "%s%s%s%s%s", filter ? "filter=" : "", filter ? feed_filters[filter].key : "",
                        hidden ? (filter ? "&hidden=1" : "hidden=1") : "",
                        more && (filter || hidden) ? "&" : "", more ? more : "");
}

static const char *activity_url(const detail *d, int filter, int hidden, const char *more)
{
    const char *p = feed_params(d, filter, hidden, more);
    return tab_url(d, "activity", *p ? p : NULL);
}

/* Seq of the next error entry after seq, or 0. */
static long long next_error(const detail *d, long long seq, int hidden)
{
    sqlite3_stmt *st = db_stmt(d->c->db, SQL_EVENT_NEXT_ERROR);
    if (!st) return 0;
    db_bind_text(st, 1, d->id);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_int(st, 3, hidden);
    long long n = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

/* The statements of each feed filter (db_sql.h, FEED_*), in feed_filters order. */
static const struct { db_sql_id fwd, back, count, prev; } feed_sql[] = {
    { SQL_FEED_ALL_FWD, SQL_FEED_ALL_BACK, SQL_FEED_ALL_COUNT, SQL_FEED_ALL_PREV },
    { SQL_FEED_REASONING_FWD, SQL_FEED_REASONING_BACK, SQL_FEED_REASONING_COUNT, SQL_FEED_REASONING_PREV },
    { SQL_FEED_TOOLS_FWD, SQL_FEED_TOOLS_BACK, SQL_FEED_TOOLS_COUNT, SQL_FEED_TOOLS_PREV },
    { SQL_FEED_ERRORS_FWD, SQL_FEED_ERRORS_BACK, SQL_FEED_ERRORS_COUNT, SQL_FEED_ERRORS_PREV },
};

/* Bind the feed statements' shared parameters (?5 is unused: the filter is
 * the statement). */
static void bind_window(sqlite3_stmt *st, const detail *d, long long bound, int limit, int hidden)
{
    db_bind_text(st, 1, d->id);
    sqlite3_bind_int64(st, 2, bound);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, hidden);
    if (sqlite3_bind_parameter_count(st) >= 6) sqlite3_bind_int64(st, 6, inline_max());
}

/* Link to the window that holds seq, scrolled to its entry. */
static const char *entry_url(const detail *d, int filter, int hidden, long long seq)
{
    /* An error is in the "all" and "errors" feeds only: a jump from any
     * other filter lands in "all". */
    if (filter != 3) filter = 0;
    return arena_printf(d->c->a, "%s#event-%lld",
                        activity_url(d, filter, hidden, arena_printf(d->c->a, "from=%lld", seq)), seq);
}

static int build_activity(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    const char *fs = http_kvs_get(&c->req.query, "filter");
    int filter = 0;
    for (int i = 0; fs && i < 4; i++)
        if (!strcmp(fs, feed_filters[i].key)) filter = i;
    const char *hs = http_kvs_get(&c->req.query, "hidden");
    int hidden = hs && !strcmp(hs, "1");
    const char *from_s = http_kvs_get(&c->req.query, "from");
    const char *newest_s = http_kvs_get(&c->req.query, "newest");
    long long from = from_s ? strtoll(from_s, NULL, 10) : 0;
    /* A running session opens on its newest entries, a finished one on its first. */
    int newest = (newest_s && !strcmp(newest_s, "1")) ||
                 (!from_s && !lifecycle_is_terminal(col_text(d->row, R_STATUS)));
    if (from < 1) from = 1;

    cJSON *a = cJSON_AddObjectToObject(v, "activity");
    cJSON *fl = cJSON_AddArrayToObject(a, "filters");
    for (int i = 0; i < 4; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", feed_filters[i].key);
        cJSON_AddStringToObject(o, "label", feed_filters[i].label);
        cJSON_AddStringToObject(o, "url", activity_url(d, i, hidden, NULL));
        cJSON_AddBoolToObject(o, "current", i == filter);
        cJSON_AddItemToArray(fl, o);
    }
    long long nhidden = sqlite3_column_int64(d->row, D_HIDDEN);
    cJSON_AddBoolToObject(a, "show_hidden", hidden);
    if (nhidden || hidden)
        cJSON_AddStringToObject(a, "hidden_toggle_url", activity_url(d, filter, !hidden, NULL));
    if (nhidden)
        cJSON_AddStringToObject(a, "hidden_count_text",
                                arena_printf(c->a, "%lld hidden event%s", nhidden, nhidden == 1 ? "" : "s"));
    long long first_err = next_error(d, 0, hidden);
    if (first_err) cJSON_AddStringToObject(a, "first_error_url", entry_url(d, filter, hidden, first_err));

    /* The window: WINDOW entries from `from`, or the last WINDOW; one more
     * tells whether entries follow. */
    cJSON *entries = NULL;
    int n, rc, more;
    long long first_seq = 0, last_seq = 0;
again:
    n = 0;
    more = 0;
    cJSON_Delete(entries);
    entries = cJSON_CreateArray();
    sqlite3_stmt *st = db_stmt(c->db, newest ? feed_sql[filter].back : feed_sql[filter].fwd);
    if (!st) { cJSON_Delete(entries); return -1; }
    bind_window(st, d, newest ? (1LL << 62) : from, WINDOW + (newest ? 0 : 1), hidden);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == WINDOW) { more = 1; break; }
        cJSON *e = event_view(c, st, d->now, d->base);
        long long seq = sqlite3_column_int64(st, E_SEQ);
        cJSON_AddStringToObject(e, "anchor", arena_printf(c->a, "event-%lld", seq));
        if (!is_null(st, E_HIDDEN)) {
            cJSON_AddBoolToObject(e, "hidden", 1);
            cJSON_AddStringToObject(e, "hide_reason", col_text(st, E_HIDDEN));
        }
        if (newest) cJSON_InsertItemInArray(entries, 0, e);
        else cJSON_AddItemToArray(entries, e);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) { cJSON_Delete(entries); return -1; }
    if (n == 0 && !newest && from > 1) {
        /* A window past the end (an old link, a typed number): the last one. */
        newest = 1;
        goto again;
    }
    cJSON_AddItemToObject(a, "entries", entries);
    for (cJSON *e = entries->child; e; e = e->next) {
        long long seq = (long long)cJSON_GetObjectItem(e, "seq")->valuedouble;
        if (!first_seq) first_seq = seq;
        last_seq = seq;
        const cJSON *tool = cJSON_GetObjectItem(e, "tool");
        const cJSON *state = tool ? cJSON_GetObjectItem(tool, "state") : NULL;
        if (cJSON_HasObjectItem(e, "is_error") || (cJSON_IsString(state) && !strcmp(state->valuestring, "failed"))) {
            long long nx = next_error(d, seq, hidden);
            if (nx) cJSON_AddStringToObject(e, "next_error_url", entry_url(d, filter, hidden, nx));
        }
    }
    /* An entry later in this window is reachable by its anchor alone. */
    for (cJSON *e = entries->child; e; e = e->next) {
        cJSON *nu = cJSON_GetObjectItem(e, "next_error_url");
        if (!cJSON_IsString(nu)) continue;
        const char *hash = strrchr(nu->valuestring, '#');
        long long nx = hash ? strtoll(hash + 7, NULL, 10) : 0;
        if (nx >= first_seq && nx <= last_seq)
            cJSON_SetValuestring(nu, arena_printf(c->a, "#event-%lld", nx));
    }
    cJSON_AddBoolToObject(a, "empty", n == 0);
    cJSON_AddStringToObject(a, "empty_text", filter == 0 ? "No activity yet."
                                             : filter == 1 ? "No messages or thoughts."
                                             : filter == 2 ? "No tool calls." : "No errors.");

    /* Where this window sits: "Entries 101–200 of 20,000" and the links. */
    st = db_stmt(c->db, feed_sql[filter].count);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    sqlite3_bind_int64(st, 2, first_seq ? first_seq : from);
    sqlite3_bind_int(st, 4, hidden);
    long long total = 0, before = 0;
    if (db_step(st) == SQLITE_ROW) {
        total = sqlite3_column_int64(st, 0);
        before = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    cJSON *w = cJSON_AddObjectToObject(a, "window");
    char t1[32], t2[32], t3[32];
    fmt_thousands(before + 1, t1, sizeof t1);
    fmt_thousands(before + n, t2, sizeof t2);
    fmt_thousands(total, t3, sizeof t3);
    cJSON_AddStringToObject(w, "range_text", n ? arena_printf(c->a, "Entries %s–%s of %s", t1, t2, t3)
                                               : arena_printf(c->a, "0 of %s entries", t3));
    if (!n && total) cJSON_AddStringToObject(w, "first_url", activity_url(d, filter, hidden, "from=1"));
    if (n && before > 0) {
        cJSON_AddStringToObject(w, "first_url", activity_url(d, filter, hidden, "from=1"));
        /* The previous window starts WINDOW entries before this one. */
        st = db_stmt(c->db, feed_sql[filter].prev);
        if (!st) return -1;
        bind_window(st, d, first_seq - 1, WINDOW, hidden);
        long long start = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
        sqlite3_reset(st);
        cJSON_AddStringToObject(w, "prev_url", activity_url(d, filter, hidden, arena_printf(c->a, "from=%lld", start)));
    }
    if (n && (more || (newest ? 0 : before + n < total))) {
        cJSON_AddStringToObject(w, "next_url", activity_url(d, filter, hidden,
                                                            arena_printf(c->a, "from=%lld", last_seq + 1)));
        cJSON_AddStringToObject(w, "newest_url", activity_url(d, filter, hidden, "newest=1"));
    }
    return 0;
}

/* --------------------------------------------------------------- trace */

static int build_trace(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    cJSON *tr = cJSON_AddObjectToObject(v, "trace");
    struct row { const char *label, *status, *id, *parent; int64_t start, end; int depth; } rows[TRACE_ROWS];
    int n = 0, rc;
    int from_spans = sqlite3_column_int64(d->row, D_SPANS) > 0;
    cJSON *spans = cJSON_AddArrayToObject(tr, "spans");
    sqlite3_stmt *st = db_stmt(c->db, from_spans ? SQL_SPAN_LIST : SQL_TOOLCALL_TIMELINE);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    sqlite3_bind_int(st, 2, TRACE_ROWS);
    while ((rc = db_step(st)) == SQLITE_ROW && n < TRACE_ROWS) {
        struct row *r = &rows[n++];
        char t[64];
        if (from_spans) {
            r->id = arena_strdup(c->a, col_text(st, 0));
            r->parent = is_null(st, 1) ? NULL : arena_strdup(c->a, col_text(st, 1));
            r->label = arena_strdup(c->a, col_text(st, 3));
            r->start = sqlite3_column_int64(st, 4) / 1000000;
            r->end = is_null(st, 5) ? d->now : sqlite3_column_int64(st, 5) / 1000000;
            r->status = arena_strdup(c->a, col_text(st, 6));
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", r->label);
            cJSON_AddStringToObject(o, "span_id", r->id);
            view_add_opt(o, "parent_span_id", r->parent);
            cJSON_AddStringToObject(o, "trace_id", col_text(st, 2));
            fmt_abs(r->start, t, sizeof t);
            cJSON_AddStringToObject(o, "start_abs", t);
            fmt_duration(r->end - r->start, t, sizeof t);
            cJSON_AddStringToObject(o, "duration_text", t);
            cJSON_AddStringToObject(o, "status", r->status);
            if (strcmp(col_text(st, 7), "{}")) add_pretty(o, "attributes_pretty", col_text(st, 7));
            /* A span received over OTLP, as it came (docs/opentelemetry.md). */
            if (!is_null(st, 8)) add_pretty(o, "otlp_pretty", col_text(st, 8));
            cJSON_AddItemToArray(spans, o);
        } else {
            r->id = arena_strdup(c->a, col_text(st, 0));
            r->parent = NULL;
            r->label = arena_strdup(c->a, col_text(st, 1));
            r->status = arena_strdup(c->a, col_text(st, 2));
            r->start = sqlite3_column_int64(st, 3);
            r->end = is_null(st, 4) ? d->now : sqlite3_column_int64(st, 4);
        }
        r->depth = 0;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
    cJSON_AddBoolToObject(tr, "has_spans", cJSON_GetArraySize(spans) > 0);
    /* Depth: one more than the parent's (parents start first). */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < i && rows[i].parent; k++)
            if (!strcmp(rows[k].id, rows[i].parent)) { rows[i].depth = rows[k].depth + 1; break; }
    if (n) {
        int64_t t0 = rows[0].start, t1 = rows[0].end;
        for (int i = 0; i < n; i++) {
            if (rows[i].start < t0) t0 = rows[i].start;
            if (rows[i].end > t1) t1 = rows[i].end;
        }
        double span = t1 > t0 ? (double)(t1 - t0) : 1;
        cJSON *wf = cJSON_AddObjectToObject(tr, "waterfall");
        cJSON_AddNumberToObject(wf, "width", WF_W);
        cJSON_AddNumberToObject(wf, "height", WF_AXIS_H + n * WF_ROW_H + 6);
        cJSON_AddBoolToObject(wf, "from_spans", from_spans);
        cJSON_AddNumberToObject(wf, "axis_y", 14);
        cJSON *axis = cJSON_AddArrayToObject(wf, "axis");
        for (int k = 0; k <= 4; k++) {
            char t[32];
            fmt_duration((int64_t)(span * k / 4), t, sizeof t);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "x", WF_BAR_X0 + WF_BAR_W * k / 4.0);
            cJSON_AddStringToObject(o, "text", k ? t : "0");
            cJSON_AddItemToArray(axis, o);
        }
        cJSON *rl = cJSON_AddArrayToObject(wf, "rows");
        for (int i = 0; i < n; i++) {
            char t[32];
            cJSON *o = cJSON_CreateObject();
            int y = WF_AXIS_H + i * WF_ROW_H;
            double x = WF_BAR_X0 + WF_BAR_W * (double)(rows[i].start - t0) / span;
            double w = WF_BAR_W * (double)(rows[i].end - rows[i].start) / span;
            if (w < 2) w = 2;
            int depth = rows[i].depth > 8 ? 8 : rows[i].depth;
            fmt_duration(rows[i].end - rows[i].start, t, sizeof t);
            cJSON_AddNumberToObject(o, "y", y);
            cJSON_AddNumberToObject(o, "h", WF_ROW_H - 6);
            cJSON_AddNumberToObject(o, "text_y", y + WF_ROW_H - 9);
            cJSON_AddNumberToObject(o, "label_x", 4 + depth * 14);
            cJSON_AddStringToObject(o, "label", rows[i].label);
            cJSON_AddNumberToObject(o, "bar_x", (double)(int)(x * 10) / 10);
            cJSON_AddNumberToObject(o, "bar_w", (double)(int)(w * 10) / 10);
            cJSON_AddNumberToObject(o, "text_x", (double)(int)((x + w + 6) * 10) / 10 > WF_W - 60 ? WF_W - 60 : (double)(int)((x + w + 6) * 10) / 10);
            cJSON_AddStringToObject(o, "status", rows[i].status);
            cJSON_AddStringToObject(o, "duration_text", t);
            cJSON_AddStringToObject(o, "title", arena_printf(c->a, "%s · %s · %s", rows[i].label, t, rows[i].status));
            cJSON_AddItemToArray(rl, o);
        }
    }
    /* The first log lines beneath the spans. */
    cJSON *logs = cJSON_AddArrayToObject(tr, "logs");
    st = db_stmt(c->db, SQL_LOG_WINDOW);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    sqlite3_bind_int(st, 2, 0);
    sqlite3_bind_int64(st, 3, 0);
    sqlite3_bind_int(st, 4, TRACE_LOGS);
    while ((rc = db_step(st)) == SQLITE_ROW) {
        char t[64];
        cJSON *o = cJSON_CreateObject();
        fmt_abs(sqlite3_column_int64(st, 1), t, sizeof t);
        cJSON_AddStringToObject(o, "time_abs", t);
        fmt_rfc3339(sqlite3_column_int64(st, 1), t, sizeof t);
        cJSON_AddStringToObject(o, "time_iso", t);
        cJSON_AddStringToObject(o, "severity", col_text(st, 2));
        cJSON_AddStringToObject(o, "body", col_text(st, 3));
        cJSON_AddItemToArray(logs, o);
    }
    sqlite3_reset(st);
    cJSON_AddBoolToObject(tr, "has_logs", cJSON_GetArraySize(logs) > 0);
    cJSON_AddStringToObject(tr, "logs_url", tab_url(d, "logs", NULL));
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- logs */

static int build_logs(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    static const char *const sev[] = { "debug", "info", "warn", "error" };
    static const char *const labels[] = { "All", "Info and up", "Warnings and up", "Errors" };
    const char *ss = http_kvs_get(&c->req.query, "severity");
    int min = 0;
    for (int i = 0; ss && i < 4; i++)
        if (!strcmp(ss, sev[i])) min = i;
    const char *as = http_kvs_get(&c->req.query, "after");
    long long after = as ? strtoll(as, NULL, 10) : 0;
    if (after < 0) after = 0;
    cJSON *l = cJSON_AddObjectToObject(v, "logs");
    cJSON *sl = cJSON_AddArrayToObject(l, "severities");
    for (int i = 0; i < 4; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", sev[i]);
        cJSON_AddStringToObject(o, "label", labels[i]);
        cJSON_AddStringToObject(o, "url", tab_url(d, "logs", i ? arena_printf(c->a, "severity=%s", sev[i]) : NULL));
        cJSON_AddBoolToObject(o, "current", i == min);
        cJSON_AddItemToArray(sl, o);
    }
    cJSON *lines = cJSON_AddArrayToObject(l, "lines");
    sqlite3_stmt *st = db_stmt(c->db, SQL_LOG_WINDOW);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    sqlite3_bind_int(st, 2, min);
    sqlite3_bind_int64(st, 3, after);
    sqlite3_bind_int(st, 4, LOG_PAGE + 1);
    int n = 0, rc;
    long long last = 0;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == LOG_PAGE) break;
        char t[64];
        cJSON *o = cJSON_CreateObject();
        last = sqlite3_column_int64(st, 0);
        cJSON_AddNumberToObject(o, "id", (double)last);
        int64_t when = sqlite3_column_int64(st, 1);
        fmt_abs(when, t, sizeof t);
        cJSON_AddStringToObject(o, "time_abs", t);
        fmt_rfc3339(when, t, sizeof t);
        cJSON_AddStringToObject(o, "time_iso", t);
        fmt_rel(when, d->now, t, sizeof t);
        cJSON_AddStringToObject(o, "time_rel", t);
        cJSON_AddStringToObject(o, "severity", col_text(st, 2));
        cJSON_AddStringToObject(o, "body", col_text(st, 3));
        cJSON_AddItemToArray(lines, o);
        n++;
    }
    int more = rc == SQLITE_ROW;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
    if (more)
        cJSON_AddStringToObject(l, "next_url", tab_url(d, "logs", min ? arena_printf(c->a, "severity=%s&after=%lld", sev[min], last)
                                                                      : arena_printf(c->a, "after=%lld", last)));
    cJSON_AddBoolToObject(l, "empty", n == 0);
    return 0;
}

/* ----------------------------------------------------- artifacts, evals */

/* The tab lists at most a page of items (the SQL's LIMIT); when there are
 * more, say so and where the rest are. */
static void list_more(const detail *d, cJSON *o, int shown, long long total, const char *what,
                      const char *which)
{
    if (total <= shown) return;
    cJSON_AddStringToObject(o, "more_text",
                            arena_printf(d->c->a, "Showing the %s %d of %lld %s; GET /api/v1/sessions/%s/%s lists them all.",
                                         which, shown, total, what, d->id, what));
}

static int build_artifacts(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    cJSON *a = cJSON_AddObjectToObject(v, "artifacts");
    cJSON *items = cJSON_AddArrayToObject(a, "items");
    sqlite3_stmt *st = db_stmt(c->db, SQL_ARTIFACT_LIST_PAGE);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        char t[64];
        cJSON *o = cJSON_CreateObject();
        const char *aid = col_text(st, 0);
        cJSON_AddStringToObject(o, "id", aid);
        cJSON_AddStringToObject(o, "name", col_text(st, 1));
        cJSON_AddStringToObject(o, "media_type", col_text(st, 2));
        fmt_bytes(sqlite3_column_int64(st, 3), t, sizeof t);
        cJSON_AddStringToObject(o, "size_text", t);
        cJSON_AddStringToObject(o, "origin", col_text(st, 4));
        fmt_abs(sqlite3_column_int64(st, 5), t, sizeof t);
        cJSON_AddStringToObject(o, "created_abs", t);
        cJSON_AddStringToObject(o, "download_url", arena_printf(c->a, "%s/artifacts/%s", d->base, aid));
        cJSON_AddItemToArray(items, o);
    }
    sqlite3_reset(st);
    cJSON_AddBoolToObject(a, "empty", cJSON_GetArraySize(items) == 0);
    list_more(d, a, cJSON_GetArraySize(items), sqlite3_column_int64(d->row, D_ARTIFACTS), "artifacts", "newest");
    return rc == SQLITE_DONE ? 0 : -1;
}

static int build_evals(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    cJSON *e = cJSON_AddObjectToObject(v, "evals");
    cJSON *items = cJSON_AddArrayToObject(e, "items");
    sqlite3_stmt *st = db_stmt(c->db, SQL_EVAL_LIST_PAGE);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        char t[64];
        cJSON *o = cJSON_CreateObject();
        const char *state = col_text(st, 1);
        const char *shown = !strcmp(state, "success") ? "passed" : !strcmp(state, "error") ? "failed" : "pending";
        cJSON_AddStringToObject(o, "eval_id", col_text(st, 0));
        cJSON_AddStringToObject(o, "state", shown);
        cJSON_AddStringToObject(o, "state_label", !strcmp(shown, "passed") ? "Passed" : !strcmp(shown, "failed") ? "Failed" : "Pending");
        if (strcmp(col_text(st, 2), "{}")) add_pretty(o, "result_pretty", col_text(st, 2));
        fmt_abs(sqlite3_column_int64(st, 3), t, sizeof t);
        cJSON_AddStringToObject(o, "created_abs", t);
        cJSON_AddItemToArray(items, o);
    }
    sqlite3_reset(st);
    cJSON_AddBoolToObject(e, "empty", cJSON_GetArraySize(items) == 0);
    list_more(d, e, cJSON_GetArraySize(items), sqlite3_column_int64(d->row, D_EVALS), "evals", "first");
    return rc == SQLITE_DONE ? 0 : -1;
}

/* -------------------------------------------------------------- report */

static int build_report(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    cJSON *r = cJSON_AddObjectToObject(v, "report");
    cJSON *rep = cJSON_Parse(col_text(d->row, D_REPORT));
    buf md, html;
    buf_init(&md);
    buf_init(&html);
    int rc = -1;
    if (!rep) { rc = 0; goto out; } /* the tab is only offered with a report */
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(rep, "title");
    if (cJSON_IsString(title) && *title->valuestring) cJSON_AddStringToObject(r, "title", title->valuestring);
    if (report_markdown(rep, &md) || markdown_html(buf_str(&md), md.len, &html) || html.err) goto out;
    cJSON_AddStringToObject(r, "html", buf_str(&html));
    const char *base = arena_printf(c->a, "%s/report?format=", d->base);
    cJSON_AddStringToObject(r, "download_md_url", arena_printf(c->a, "%smd", base));
    cJSON_AddStringToObject(r, "download_json_url", arena_printf(c->a, "%sjson", base));
    cJSON_AddStringToObject(r, "download_html_url", arena_printf(c->a, "%shtml", base));
    rc = 0;
out:
    cJSON_Delete(rep);
    buf_fini(&md);
    buf_fini(&html);
    return rc;
}

/* ------------------------------------------------------------ metadata */

static void meta_row(cJSON *rows, const char *label, const char *value, int mono, const char *url)
{
    if (!value || !*value) value = "—";
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddStringToObject(o, "value", value);
    cJSON_AddBoolToObject(o, "mono", mono);
    if (url) cJSON_AddStringToObject(o, "url", url);
    cJSON_AddItemToArray(rows, o);
}

static cJSON *meta_group(cJSON *groups, const char *title)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "title", title);
    cJSON_AddItemToArray(groups, g);
    return cJSON_AddArrayToObject(g, "rows");
}

/* "a, b, c" from a JSON array of strings. */
static const char *json_list_text(ctx *c, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    buf b;
    buf_init(&b);
    for (const cJSON *x = cJSON_IsArray(j) ? j->child : NULL; x; x = x->next)
        if (cJSON_IsString(x)) { if (b.len) buf_puts(&b, ", "); buf_puts(&b, x->valuestring); }
    const char *s = b.err || !b.len ? "" : arena_strdup(c->a, buf_str(&b));
    buf_fini(&b);
    cJSON_Delete(j);
    return s;
}

static const char *time_text(ctx *c, sqlite3_stmt *st, int col)
{
    if (is_null(st, col)) return "";
    char t[64];
    fmt_abs(sqlite3_column_int64(st, col), t, sizeof t);
    return arena_strdup(c->a, t);
}

static int build_metadata(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    sqlite3_stmt *st = d->row;
    char t[64];
    cJSON *m = cJSON_AddObjectToObject(v, "meta");
    cJSON *groups = cJSON_AddArrayToObject(m, "groups");
    cJSON *rows = meta_group(groups, "Identity");
    meta_row(rows, "Session id", d->id, 1, NULL);
    meta_row(rows, "Name", col_text(st, R_NAME), 0, NULL);
    meta_row(rows, "Description", col_text(st, D_DESCRIPTION), 0, NULL);
    meta_row(rows, "Kind", col_text(st, R_KIND), 0, NULL);
    meta_row(rows, "Agent", col_text(st, R_AGENT), 0, NULL);
    meta_row(rows, "Thread", col_text(st, D_THREAD), 1, NULL);
    const char *pid = col_text(st, R_PARENT);
    int parent_readable = *pid && !is_null(st, R_PARENT_PROJECT) && auth_can(&c->who, PERM_READ, col_text(st, R_PARENT_PROJECT));
    meta_row(rows, "Parent session", pid, 1, parent_readable && !d->readonly ? arena_printf(c->a, "/sessions/%s", pid) : NULL);
    meta_row(rows, "Parent tool call", col_text(st, D_PARENT_TC), 1, NULL);
    rows = meta_group(groups, "Where and who");
    meta_row(rows, "Actor", col_text(st, D_ACTOR), 0, NULL);
    meta_row(rows, "Project", col_text(st, R_PROJECT), 0, NULL);
    meta_row(rows, "Environment", col_text(st, R_ENV), 0, NULL);
    meta_row(rows, "Cluster", col_text(st, D_CLUSTER), 0, NULL);
    meta_row(rows, "Deployment", col_text(st, D_DEPLOYMENT), 1, NULL);
    meta_row(rows, "Trigger", col_text(st, R_TRIGGER), 0, NULL);
    meta_row(rows, "Source", col_text(st, R_SOURCE), 0, NULL);
    rows = meta_group(groups, "Timing");
    meta_row(rows, "Created", time_text(c, st, R_CREATED), 0, NULL);
    meta_row(rows, "Started", time_text(c, st, R_STARTED), 0, NULL);
    meta_row(rows, "Ended", time_text(c, st, R_ENDED), 0, NULL);
    meta_row(rows, "Last update", time_text(c, st, D_UPDATED), 0, NULL);
    fmt_duration(sqlite3_column_int64(st, D_CPU) / 1000000, t, sizeof t);
    meta_row(rows, "CPU time", sqlite3_column_int64(st, D_CPU) ? t : "", 0, NULL);
    meta_row(rows, "Retries", arena_printf(c->a, "%d", sqlite3_column_int(st, D_RETRIES)), 0, NULL);
    rows = meta_group(groups, "Request");
    meta_row(rows, "Method", col_text(st, D_METHOD), 1, NULL);
    meta_row(rows, "URL", col_text(st, D_URL), 1, NULL);
    meta_row(rows, "Route", col_text(st, D_ROUTE), 1, NULL);
    rows = meta_group(groups, "Models and cost");
    meta_row(rows, "Models", json_list_text(c, col_text(st, D_MODELS)), 0, NULL);
    meta_row(rows, "Services", json_list_text(c, col_text(st, D_SERVICES)), 0, NULL);
    fmt_thousands(sqlite3_column_int64(st, R_PTOK), t, sizeof t);
    meta_row(rows, "Prompt tokens", t, 0, NULL);
    fmt_thousands(sqlite3_column_int64(st, R_CTOK), t, sizeof t);
    meta_row(rows, "Completion tokens", t, 0, NULL);
    fmt_cost(sqlite3_column_int64(st, D_LLM_COST), t, sizeof t);
    meta_row(rows, "LLM cost", t, 0, NULL);
    fmt_cost(sqlite3_column_int64(st, R_COST), t, sizeof t);
    meta_row(rows, "Total cost", t, 0, NULL);

    cJSON *models = cJSON_AddArrayToObject(m, "models");
    sqlite3_stmt *u = db_stmt(c->db, SQL_USAGE_BY_MODEL);
    if (!u) return -1;
    db_bind_text(u, 1, d->id);
    int rc;
    while ((rc = db_step(u)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", *col_text(u, 0) ? col_text(u, 0) : "(unnamed)");
        fmt_thousands(sqlite3_column_int64(u, 1), t, sizeof t);
        cJSON_AddStringToObject(o, "calls_text", t);
        fmt_thousands(sqlite3_column_int64(u, 2), t, sizeof t);
        cJSON_AddStringToObject(o, "prompt_tokens_text", t);
        fmt_thousands(sqlite3_column_int64(u, 3), t, sizeof t);
        cJSON_AddStringToObject(o, "completion_tokens_text", t);
        fmt_cost((int64_t)(sqlite3_column_double(u, 4) * 1e6 + 0.5), t, sizeof t);
        cJSON_AddStringToObject(o, "cost_text", t);
        cJSON_AddItemToArray(models, o);
    }
    sqlite3_reset(u);
    if (rc != SQLITE_DONE) return -1;
    cJSON_AddBoolToObject(m, "has_models", cJSON_GetArraySize(models) > 0);
    if (strcmp(col_text(st, R_METADATA), "{}")) add_pretty(m, "metadata_pretty", col_text(st, R_METADATA));
    if (strcmp(col_text(st, D_USER_DATA), "{}")) add_pretty(m, "user_data_pretty", col_text(st, D_USER_DATA));
    return 0;
}

/* -------------------------------------------------------------- agents */

/* Every session this one called, as an indented tree, with cost and tokens
 * rolled up over the tree (this session included). Sessions the viewer
 * cannot read show name and status only and are left out of the sums. */
static int build_agents(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    char t[64];
    cJSON *a = cJSON_AddObjectToObject(v, "agents");
    cJSON *rows = cJSON_AddArrayToObject(a, "rows");
    int64_t cost = sqlite3_column_int64(d->row, R_COST);
    int64_t tokens = sqlite3_column_int64(d->row, R_PTOK) + sqlite3_column_int64(d->row, R_CTOK);
    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_TREE);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    int rc, n = 0;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        const char *sid = col_text(st, 0), *status = col_text(st, 3);
        int readable = auth_can(&c->who, PERM_READ, col_text(st, 4));
        int depth = sqlite3_column_int(st, 5) - 1;
        cJSON_AddStringToObject(o, "depth_class", arena_printf(c->a, "depth-%d", depth > 5 ? 5 : depth));
        cJSON_AddStringToObject(o, "name", *col_text(st, 1) ? col_text(st, 1) : sid);
        cJSON_AddStringToObject(o, "status", status);
        cJSON_AddStringToObject(o, "status_label", lifecycle_status_label(status));
        cJSON_AddBoolToObject(o, "restricted", !readable);
        if (readable) {
            if (!d->readonly) cJSON_AddStringToObject(o, "url", arena_printf(c->a, "/sessions/%s", sid));
            view_add_opt(o, "agent", col_text(st, 2));
            fmt_cost(sqlite3_column_int64(st, 6), t, sizeof t);
            cJSON_AddStringToObject(o, "cost_text", t);
            fmt_count(sqlite3_column_int64(st, 7), t, sizeof t);
            cJSON_AddStringToObject(o, "tokens_text", t);
            cost += sqlite3_column_int64(st, 6);
            tokens += sqlite3_column_int64(st, 7);
        }
        cJSON_AddItemToArray(rows, o);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return -1;
    cJSON_AddStringToObject(a, "total_text", arena_printf(c->a, "%d called session%s", n, n == 1 ? "" : "s"));
    fmt_cost(cost, t, sizeof t);
    cJSON_AddStringToObject(a, "cost_text", t);
    fmt_count(tokens, t, sizeof t);
    cJSON_AddStringToObject(a, "tokens_text", t);
    return 0;
}

static const struct tab_def tab_defs[TAB__COUNT] = {
    [TAB_SUMMARY]   = { "summary", "Summary", "tab_summary", build_summary },
    [TAB_ACTIVITY]  = { "activity", "Activity", "tab_activity", build_activity },
    [TAB_TRACE]     = { "trace", "Trace", "tab_trace", build_trace },
    [TAB_LOGS]      = { "logs", "Logs", "tab_logs", build_logs },
    [TAB_ARTIFACTS] = { "artifacts", "Artifacts", "tab_artifacts", build_artifacts },
    [TAB_EVALS]     = { "evals", "Evals", "tab_evals", build_evals },
    [TAB_REPORT]    = { "report", "Report", "tab_report", build_report },
    [TAB_METADATA]  = { "metadata", "Metadata", "tab_metadata", build_metadata },
    [TAB_AGENTS]    = { "agents", "Called agents", "tab_agents", build_agents },
};

/* --------------------------------------------------------------- share */

static const struct { const char *value, *label; int64_t ms; } share_ttls[] = {
    { "1h", "1 hour", 3600000LL }, { "24h", "24 hours", 86400000LL },
    { "7d", "7 days", 7 * 86400000LL }, { "30d", "30 days", 30 * 86400000LL },
};

static int add_share_panel(const detail *d, cJSON *v)
{
    ctx *c = d->c;
    if (d->readonly || c->who.kind != PRINCIPAL_USER) return 0;
    cJSON *s = cJSON_AddObjectToObject(v, "share");
    cJSON_AddStringToObject(s, "create_url", arena_printf(c->a, "/sessions/%s/share", d->id));
    cJSON *opts = cJSON_AddArrayToObject(s, "expiry_options");
    for (size_t i = 0; i < sizeof share_ttls / sizeof share_ttls[0]; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", share_ttls[i].value);
        cJSON_AddStringToObject(o, "label", share_ttls[i].label);
        cJSON_AddBoolToObject(o, "selected", i == 2);
        cJSON_AddItemToArray(opts, o);
    }
    cJSON *links = cJSON_AddArrayToObject(s, "links");
    sqlite3_stmt *st = db_stmt(c->db, SQL_SHARE_LIST);
    if (!st) return -1;
    db_bind_text(st, 1, d->id);
    /* As h_share_revoke decides: the creator, or an admin of the project. */
    int rc, admin = auth_can(&c->who, PERM_ADMIN, col_text(d->row, R_PROJECT));
    while ((rc = db_step(st)) == SQLITE_ROW) {
        char t[64], token[SHARE_TOKEN_MAX];
        long long lid = sqlite3_column_int64(st, 0);
        int64_t expires = sqlite3_column_int64(st, 4);
        int revoked = !is_null(st, 5), expired = expires <= d->now;
        if (share_token(c->db, lid, d->id, expires, token)) { sqlite3_reset(st); return -1; }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "url", arena_printf(c->a, "/share/%s", token));
        cJSON_AddStringToObject(o, "created_by", col_text(st, 1));
        fmt_abs(sqlite3_column_int64(st, 3), t, sizeof t);
        cJSON_AddStringToObject(o, "created_abs", t);
        fmt_abs(expires, t, sizeof t);
        cJSON_AddStringToObject(o, "expires_abs", t);
        cJSON_AddStringToObject(o, "status_label", revoked ? "Revoked" : expired ? "Expired" : "Active");
        cJSON_AddBoolToObject(o, "active", !revoked && !expired);
        if (!revoked && !expired && (admin || sqlite3_column_int64(st, 2) == c->who.id))
            cJSON_AddStringToObject(o, "revoke_url", arena_printf(c->a, "/sessions/%s/share/%lld/revoke", d->id, lid));
        cJSON_AddItemToArray(links, o);
    }
    sqlite3_reset(st);
    cJSON_AddBoolToObject(s, "has_links", cJSON_GetArraySize(links) > 0);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- page */

/* The detail page of session id, for the viewer in c->who: base is where
 * its links point ("/sessions/ID", or "/share/TOKEN" when readonly). */
static hres render_detail(ctx *c, const char *id, const char *base, int readonly, cJSON *v)
{
    const char *tab_s = http_kvs_get(&c->req.query, "tab");
    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_DETAIL);
    if (!st) { cJSON_Delete(v); return HR_ERROR; }
    db_bind_text(st, 1, id);
    if (db_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        cJSON_Delete(v);
        return ctx_error(c, 404, "not_found", "No such session.");
    }
    detail d = { c, id, base, readonly, st, sqlite3_column_int64(st, R_NOW) };
    int present[TAB__COUNT];
    for (int i = 0; i < TAB__COUNT; i++) present[i] = 1;
    present[TAB_REPORT] = !is_null(st, D_REPORT);
    present[TAB_AGENTS] = sqlite3_column_int64(st, D_CHILDREN) > 0;
    int tab = TAB_SUMMARY;
    if (tab_s && *tab_s) {
        for (tab = 0; tab < TAB__COUNT && strcmp(tab_defs[tab].key, tab_s); tab++) {}
        if (tab == TAB__COUNT || !present[tab]) {
            sqlite3_reset(st);
            cJSON_Delete(v);
            return ctx_error(c, 404, "not_found", "This session has no \"%.40s\" tab.", tab_s);
        }
    }

    cJSON *s = session_row_view(c, st);
    const char *name = cJSON_GetObjectItem(s, "name")->valuestring;
    cJSON_AddStringToObject(v, "title", arena_printf(c->a, "%s · Flightdeck", name));
    cJSON_AddBoolToObject(s, "failed", !strcmp(col_text(st, R_STATUS), "failed"));
    view_add_opt(s, "error_message", col_text(st, R_ERROR));
    view_add_opt(s, "error_step", col_text(st, R_STEP));
    if (!is_null(st, D_FIRST_ERROR))
        cJSON_AddStringToObject(s, "error_url", arena_printf(c->a, "%s?tab=activity&filter=errors&from=%lld#event-%lld",
                                                             base, (long long)sqlite3_column_int64(st, D_FIRST_ERROR),
                                                             (long long)sqlite3_column_int64(st, D_FIRST_ERROR)));
    if (readonly) {
        /* A read-only view: no forms, no links into pages it cannot open. */
        cJSON_DeleteItemFromObject(s, "actions");
        cJSON_AddItemToObject(s, "actions", cJSON_CreateArray());
        cJSON_DeleteItemFromObject(s, "source_url");
        cJSON *p = cJSON_GetObjectItem(s, "parent");
        if (p) cJSON_DeleteItemFromObject(p, "url");
    }
    cJSON_AddItemToObject(v, "session", s);
    cJSON_AddBoolToObject(v, "nav_sessions", 1);
    cJSON_AddBoolToObject(v, "readonly", readonly);
    cJSON_AddStringToObject(v, "return_to", c->req.request_uri);
    cJSON_AddStringToObject(v, "self_url", c->req.request_uri);

    static const int counted[TAB__COUNT] = {
        [TAB_ACTIVITY] = D_EVENTS, [TAB_TRACE] = D_SPANS, [TAB_LOGS] = D_LOGS,
        [TAB_ARTIFACTS] = D_ARTIFACTS, [TAB_EVALS] = D_EVALS, [TAB_AGENTS] = D_CHILDREN };
    cJSON *tabs = cJSON_AddArrayToObject(v, "tabs");
    for (int i = 0; i < TAB__COUNT; i++) {
        if (!present[i]) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", tab_defs[i].key);
        cJSON_AddStringToObject(o, "label", tab_defs[i].label);
        cJSON_AddStringToObject(o, "url", tab_url(&d, tab_defs[i].key, NULL));
        cJSON_AddBoolToObject(o, "current", i == tab);
        long long cnt = counted[i] ? sqlite3_column_int64(st, counted[i]) : 0;
        if (i == TAB_TRACE && !cnt) cnt = sqlite3_column_int64(st, D_TOOLCALLS);
        if (cnt) {
            char t[32];
            fmt_count(cnt, t, sizeof t);
            cJSON_AddStringToObject(o, "count_text", t);
        }
        cJSON_AddItemToArray(tabs, o);
        cJSON_AddBoolToObject(v, tab_defs[i].flag, i == tab);
    }
    int rc = tab_defs[tab].build(&d, v);
    if (rc == 0) rc = add_share_panel(&d, v);
    int terminal = lifecycle_is_terminal(col_text(st, R_STATUS));
    sqlite3_reset(st);
    if (rc) { cJSON_Delete(v); return HR_ERROR; }
    if (!terminal && !readonly) {
        cJSON *live = cJSON_AddObjectToObject(v, "live");
        cJSON_AddStringToObject(live, "changes_url", "/changes");
        sqlite3_stmt *lu = db_stmt(c->db, SQL_SESSION_LAST_UPDATE);
        long long last = lu && db_step(lu) == SQLITE_ROW ? sqlite3_column_int64(lu, 0) : 0;
        if (lu) sqlite3_reset(lu);
        cJSON_AddStringToObject(live, "gen", arena_printf(c->a, "%lld-%llu", last,
                                                         (unsigned long long)notify_generation()));
    }
    return ctx_render(c, 200, "session", v);
}

hres h_page_session(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    return render_detail(c, id, arena_printf(c->a, "/sessions/%s", id), 0, cJSON_CreateObject());
}

/* Open a share link for this request: check the token, then act with the
 * sharer's access as read now (a link never shows more than they may).
 * 1 when open (sid, sharer, expires set); 0 when answered (404, 410);
 * -1 on error. */
static int share_enter(ctx *c, char *sid, size_t sid_len, char *sharer, size_t sharer_len, int64_t *expires)
{
    int64_t user_id;
    share_status s = share_check(c->db, ctx_param(c, 0), sid, sid_len, &user_id, expires);
    if (s == SHARE_ERROR) return -1;
    if (s == SHARE_EXPIRED) { ctx_error(c, 410, "expired", "This share link has expired. Ask for a new one."); return 0; }
    if (s == SHARE_REVOKED) { ctx_error(c, 410, "revoked", "This share link was revoked."); return 0; }
    if (s != SHARE_OK) { ctx_error(c, 404, "not_found", "No such share link."); return 0; }
    if (ctx_become_user(c, user_id, sharer, sharer_len)) {
        ctx_error(c, 410, "revoked", "This share link no longer works: its sharer's account is closed.");
        return 0;
    }
    return 1;
}

/* GET /share/{token}: the read-only detail page. */
hres h_share_view(ctx *c)
{
    char sid[INGEST_ID_MAX + 1], sharer[128];
    int64_t expires;
    int in = share_enter(c, sid, sizeof sid, sharer, sizeof sharer, &expires);
    if (in <= 0) return in < 0 ? HR_ERROR : HR_OK;
    int ok = ctx_session_access(c, sid, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *v = cJSON_CreateObject();
    char t[64];
    fmt_abs(expires, t, sizeof t);
    cJSON_AddStringToObject(v, "shared_by", sharer);
    cJSON_AddStringToObject(v, "share_expires_abs", t);
    return render_detail(c, sid, arena_printf(c->a, "/share/%s", ctx_param(c, 0)), 1, v);
}

/* GET /share/{token}/report and /share/{token}/artifacts/{aid}: the
 * downloads of a share view, through the same handlers as the pages, with
 * the sharer's access and the session id in place of the token. */
static hres share_download(ctx *c, hres (*fn)(ctx *))
{
    char sid[INGEST_ID_MAX + 1], sharer[128];
    int64_t expires;
    int in = share_enter(c, sid, sizeof sid, sharer, sizeof sharer, &expires);
    if (in <= 0) return in < 0 ? HR_ERROR : HR_OK;
    c->req.params[0] = arena_strdup(c->a, sid);
    return fn(c);
}

hres h_share_report(ctx *c) { return share_download(c, h_report_get); }
hres h_share_artifact(ctx *c) { return share_download(c, h_artifact_download); }
hres h_share_payload(ctx *c) { return share_download(c, h_page_payload); }

/* POST /sessions/{id}/share: a new read-only link (expires: 1h 24h 7d 30d). */
hres h_share_create(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    const char *back = page_return_to(c, arena_printf(c->a, "/sessions/%s", id));
    const char *e = http_kvs_get(&c->req.form, "expires");
    int64_t ttl = 0;
    for (size_t i = 0; e && i < sizeof share_ttls / sizeof share_ttls[0]; i++)
        if (!strcmp(e, share_ttls[i].value)) ttl = share_ttls[i].ms;
    if (!ttl) return ctx_redirect_flash(c, back, "error", "Choose how long the link lasts: 1h, 24h, 7d or 30d.");
    if (c->who.kind != PRINCIPAL_USER) return ctx_error(c, 403, "forbidden", "only people share links");
    char token[SHARE_TOKEN_MAX];
    if (share_create(c->db, id, c->who.id, ttl, token)) return HR_ERROR;
    return ctx_redirect_flash(c, back, "ok", "Share link created: copy it from the Share panel.");
}

/* POST /sessions/{id}/share/{link}/revoke: by its creator, or by an admin
 * of the session's project (who may need to stop a leak at once). */
hres h_share_revoke(ctx *c)
{
    const char *id = ctx_param(c, 0);
    char project[101]; /* ctx_session_access fills up to 101 bytes */
    int ok = ctx_session_access(c, id, PERM_READ, project);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    const char *back = page_return_to(c, arena_printf(c->a, "/sessions/%s", id));
    char *end;
    long long lid = strtoll(ctx_param(c, 1), &end, 10);
    if (*end || lid <= 0) return ctx_error(c, 404, "not_found", "No such share link.");
    sqlite3_stmt *st = db_stmt(c->db, SQL_SHARE_REVOKE);
    if (!st) return HR_ERROR;
    sqlite3_bind_int64(st, 1, lid);
    db_bind_text(st, 2, id);
    sqlite3_bind_int64(st, 3, db_now_ms());
    db_bind_text(st, 4, auth_actor(c->a, &c->who));
    sqlite3_bind_int64(st, 5, c->who.id);
    sqlite3_bind_int(st, 6, auth_can(&c->who, PERM_ADMIN, project));
    if (db_exec(st)) return HR_ERROR;
    if (sqlite3_changes(db_handle(c->db)) == 0)
        return ctx_redirect_flash(c, back, "error", "That link is already revoked, or is not yours to revoke.");
    return ctx_redirect_flash(c, back, "ok", "Share link revoked: it no longer opens.");
}

/* GET /sessions/{id}/events/{event}/arguments|result: a tool call's payload
 * as a JSON download (for payloads too large to show inline). */
hres h_page_payload(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    char *end;
    long long eid = strtoll(ctx_param(c, 1), &end, 10);
    if (*end || eid <= 0) return ctx_error(c, 404, "not_found", "No such tool call.");
    int result = strcmp(strrchr(c->req.path, '/') + 1, "result") == 0;
    sqlite3_stmt *st = db_stmt(c->db, SQL_TOOLCALL_PAYLOAD);
    if (!st) return HR_ERROR;
    db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, eid);
    int rc = db_step(st);
    if (rc != SQLITE_ROW || is_null(st, result ? 1 : 0)) {
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? ctx_error(c, 404, "not_found", "No such payload.") : HR_ERROR;
    }
    buf_reset(&c->resp.body);
    buf_add(&c->resp.body, sqlite3_column_text(st, result ? 1 : 0), (size_t)sqlite3_column_bytes(st, result ? 1 : 0));
    sqlite3_reset(st);
    c->resp.status = 200;
    c->resp.content_type = "application/json";
    http_resp_header(&c->resp, "Content-Disposition",
                     arena_printf(c->a, "attachment; filename=\"%s-%lld-%s.json\"", id, eid, result ? "result" : "arguments"));
    return c->resp.body.err ? HR_ERROR : HR_OK;
}
