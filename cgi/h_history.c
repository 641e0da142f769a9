/* h_history: the History page (/sessions) — filters, sort, keyset pages,
 * summary strip with its SVG chart, saved views, bulk actions — and the
 * live-update token (/changes). The query itself is sessq.c; rows are
 * session_row_view (h_pages.c). View model: docs/templates.md, "sessions". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "ingest.h"
#include "lifecycle.h"
#include "notify.h"
#include "seal.h"
#include "sessq.h"

#define PAGE_DEFAULT  50
#define CHART_W       720   /* viewBox of the summary chart */
#define CHART_H       96
#define CHART_LABEL_H 16
#define BUCKETS_MAX   96
#define AGENTS_MAX    200
#define TOP_AGENTS    6
#define CHANGES_MAX_S 25
#define BULK_FORM_MAX 500
#define HOUR_MS       3600000LL
#define DAY_MS        86400000LL

static const char *const statuses[] = { "pending", "running", "retrying", "pausing", "paused",
                                        "canceling", "canceled", "completed", "failed" };
#define NSTATUS 9

static int status_index(const char *s)
{
    for (int i = 0; i < NSTATUS; i++)
        if (!strcmp(statuses[i], s)) return i;
    return -1;
}

/* "/sessions?..." for q (no cursor); "/sessions" when q is all defaults. */
static const char *view_url(ctx *c, const sessq *q, const char *cursor)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "/sessions?");
    sessq_query_string(&b, q, PAGE_DEFAULT);
    if (cursor) {
        if (b.p[b.len - 1] != '?') buf_putc(&b, '&');
        buf_puts(&b, "cursor=");
        buf_puts(&b, cursor); /* base64url: nothing to escape */
    }
    if (!b.err && b.p[b.len - 1] == '?') b.len--;
    const char *s = b.err ? "/sessions" : arena_strndup(c->a, b.p, b.len);
    buf_fini(&b);
    return s;
}

static void add_option(cJSON *list, const char *value, const char *label, int selected)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "value", value);
    if (label) cJSON_AddStringToObject(o, "label", label);
    cJSON_AddBoolToObject(o, "selected", selected);
    cJSON_AddItemToArray(list, o);
}

static int has_status(const sessq *q, const char *s)
{
    for (int i = 0; i < q->nstatus; i++)
        if (!strcmp(q->status[i], s)) return 1;
    return 0;
}

/* ------------------------------------------------------------- options */

static void add_static_options(ctx *c, cJSON *v, const sessq *q)
{
    static const char *const kinds[][2] = { { "", "Any kind" }, { "agent", "Agent" }, { "workflow", "Workflow" } };
    static const char *const triggers[][2] = {
        { "", "Any trigger" }, { "manual", "Manual" }, { "api", "API" }, { "event", "Event" },
        { "schedule", "Schedule" }, { "agent", "Agent" }, { "workflow", "Workflow" } };
    static const char *const ranges[][2] = {
        { "", "Any time" }, { "1h", "Last hour" }, { "24h", "Last 24 hours" },
        { "7d", "Last 7 days" }, { "30d", "Last 30 days" } };
    static const char *const sorts[][2] = {
        { "start_time", "Start time" }, { "duration", "Duration" }, { "cost", "Cost" },
        { "tokens", "Tokens" }, { "status", "Status" }, { "agent", "Agent" },
        { "created", "Created" }, { "updated", "Last update" } };
    cJSON *l = cJSON_AddArrayToObject(v, "status_options");
    for (int i = 0; i < NSTATUS; i++)
        add_option(l, statuses[i], lifecycle_status_label(statuses[i]), has_status(q, statuses[i]));
    cJSON_AddStringToObject(v, "status_summary",
                            q->nstatus == 0 ? "Any status"
                            : q->nstatus == 1 ? lifecycle_status_label(q->status[0])
                            : arena_printf(c->a, "%d statuses", q->nstatus));
    l = cJSON_AddArrayToObject(v, "kind_options");
    for (size_t i = 0; i < 3; i++)
        add_option(l, kinds[i][0], kinds[i][1], q->kind ? !strcmp(q->kind, kinds[i][0]) : !i);
    l = cJSON_AddArrayToObject(v, "trigger_options");
    for (size_t i = 0; i < 7; i++)
        add_option(l, triggers[i][0], triggers[i][1], q->trigger ? !strcmp(q->trigger, triggers[i][0]) : !i);
    l = cJSON_AddArrayToObject(v, "range_options");
    for (size_t i = 0; i < 5; i++)
        add_option(l, ranges[i][0], ranges[i][1], q->range ? !strcmp(q->range, ranges[i][0]) : !i);
    l = cJSON_AddArrayToObject(v, "sort_options");
    for (size_t i = 0; i < 8; i++)
        add_option(l, sorts[i][0], sorts[i][1], !strcmp(sessq_sort_name(q->sort), sorts[i][0]));
    l = cJSON_AddArrayToObject(v, "direction_options");
    add_option(l, "desc", "Descending", !q->asc);
    add_option(l, "asc", "Ascending", q->asc);
    l = cJSON_AddArrayToObject(v, "limit_options");
    static const char *const limits[] = { "25", "50", "100" };
    for (size_t i = 0; i < 3; i++)
        add_option(l, limits[i], limits[i], q->limit == atoi(limits[i]));
}

/* Distinct agents / projects (readable ones) for the selects. */
static int add_db_options(ctx *c, cJSON *v, const char *key, db_sql_id sql, const char *sel,
                          const char *projects)
{
    cJSON *l = cJSON_AddArrayToObject(v, key);
    sqlite3_stmt *st = db_stmt(c->db, sql);
    if (!st) return -1;
    db_bind_text(st, 1, projects);
    int rc, seen = 0;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        const char *x = (const char *)sqlite3_column_text(st, 0);
        if (!x) continue;
        seen |= sel && !strcmp(sel, x);
        add_option(l, x, NULL, sel && !strcmp(sel, x));
    }
    sqlite3_reset(st);
    /* A value in the URL that no session has: keep it selectable. */
    if (sel && !seen) add_option(l, sel, NULL, 1);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- chips */

static void add_chip(ctx *c, cJSON *chips, const char *label, const char *value, const sessq *without)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddStringToObject(o, "value", value);
    cJSON_AddStringToObject(o, "remove_url", view_url(c, without, NULL));
    cJSON_AddItemToArray(chips, o);
}

static void add_chips(ctx *c, cJSON *v, const sessq *q)
{
    cJSON *chips = cJSON_AddArrayToObject(v, "chips");
    sessq w;
    if (q->q) { w = *q; w.q = NULL; add_chip(c, chips, "Search", q->q, &w); }
    for (int i = 0; i < q->nstatus; i++) {
        w = *q;
        w.nstatus = 0;
        for (int k = 0; k < q->nstatus; k++)
            if (k != i) w.status[w.nstatus++] = q->status[k];
        add_chip(c, chips, "Status", lifecycle_status_label(q->status[i]), &w);
    }
    static const struct { const char *label; size_t off; } eq[] = {
        { "Kind", offsetof(sessq, kind) }, { "Agent", offsetof(sessq, agent) },
        { "Trigger", offsetof(sessq, trigger) }, { "Source", offsetof(sessq, source) },
        { "Project", offsetof(sessq, project) }, { "Environment", offsetof(sessq, environment) },
        { "Cluster", offsetof(sessq, cluster) }, { "Deployment", offsetof(sessq, deployment) },
        { "Thread", offsetof(sessq, thread_id) }, { "Called by", offsetof(sessq, parent) },
    };
    for (size_t i = 0; i < sizeof eq / sizeof eq[0]; i++) {
        const char *val = *(const char *const *)((const char *)q + eq[i].off);
        if (!val) continue;
        w = *q;
        *(const char **)((char *)&w + eq[i].off) = NULL;
        add_chip(c, chips, eq[i].label, val, &w);
    }
    if (q->success >= 0) { w = *q; w.success = -1; add_chip(c, chips, "Outcome", q->success ? "succeeded" : "failed", &w); }
    if (q->has_error) { w = *q; w.has_error = 0; add_chip(c, chips, "Has error", "yes", &w); }
    if (q->range) {
        w = *q;
        w.range = NULL; /* the link carries start_after_text, if any, not the resolved bound */
        add_chip(c, chips, "Started", q->range, &w);
    }
    if (q->start_after_text) { w = *q; w.start_after_text = NULL; add_chip(c, chips, "From", q->start_after_text, &w); }
    if (q->start_before_text) { w = *q; w.start_before_text = NULL; add_chip(c, chips, "To", q->start_before_text, &w); }
    for (int i = 0; i < q->nmeta; i++) {
        w = *q;
        w.metadata_json = NULL;
        w.nmeta = 0;
        for (int k = 0; k < q->nmeta; k++)
            if (k != i) w.meta[w.nmeta++] = q->meta[k];
        add_chip(c, chips, arena_printf(c->a, "Metadata %s", q->meta[i].key), q->meta[i].value, &w);
    }
    cJSON_AddBoolToObject(v, "has_chips", cJSON_GetArraySize(chips) > 0);
}

/* -------------------------------------------------------------- columns */

static void add_columns(ctx *c, cJSON *v, const sessq *q)
{
    static const struct {
        const char *key, *label;
        int num, sort, asc_first; /* sort: sq_sort + 1, 0 = not sortable */
    } cols[] = {
        { "status", "Status", 0, SQ_SORT_STATUS + 1, 1 },
        { "name", "Session", 0, SQ_SORT_AGENT + 1, 1 },
        { "kind", "Kind", 0, 0, 0 },
        { "trigger", "Trigger", 0, 0, 0 },
        { "source", "Source", 0, 0, 0 },
        { "started", "Started", 0, SQ_SORT_START + 1, 0 },
        { "duration", "Duration", 1, SQ_SORT_DURATION + 1, 0 },
        { "tokens", "Tokens", 1, SQ_SORT_TOKENS + 1, 0 },
        { "cost", "Cost", 1, SQ_SORT_COST + 1, 0 },
    };
    cJSON *l = cJSON_AddArrayToObject(v, "columns");
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", cols[i].key);
        cJSON_AddStringToObject(o, "label", cols[i].label);
        cJSON_AddBoolToObject(o, "num", cols[i].num);
        cJSON_AddBoolToObject(o, "sortable", cols[i].sort > 0);
        const char *aria = "none";
        if (cols[i].sort) {
            sessq w = *q;
            w.sort = (sq_sort)(cols[i].sort - 1);
            int current = q->sort == w.sort;
            /* Clicking the sorted column flips it; another starts in its natural order. */
            w.asc = current ? !q->asc : cols[i].asc_first;
            w.has_cursor = 0;
            cJSON_AddStringToObject(o, "sort_url", view_url(c, &w, NULL));
            if (current) {
                cJSON_AddStringToObject(o, "sorted", q->asc ? "asc" : "desc");
                aria = q->asc ? "ascending" : "descending";
            }
        }
        cJSON_AddStringToObject(o, "aria_sort", aria);
        cJSON_AddItemToArray(l, o);
    }
}

/* -------------------------------------------------------------- summary */

typedef struct agent_count { const char *name; long long n; } agent_count;

/* The summary strip: counts per status (facets: ignoring the status
 * filter), top agents (ignoring the agent filter), totals over the rows
 * both filters keep, and sessions per bucket by status as an SVG bar
 * chart. It covers the filter's time range, or the last 24 hours. */
static int add_summary(ctx *c, cJSON *v, const sessq *q, int64_t now)
{
    int64_t from, to = q->has_before ? q->start_before : now;
    const char *label;
    if (q->has_after) {
        from = q->start_after;
        label = q->range ? (!strcmp(q->range, "1h") ? "Last hour" : !strcmp(q->range, "24h") ? "Last 24 hours"
                            : !strcmp(q->range, "7d") ? "Last 7 days" : "Last 30 days")
                         : "Selected range";
    } else {
        from = to - DAY_MS;
        label = q->has_before ? "24 hours before the end of the range" : "Last 24 hours";
    }
    if (to > now) to = now;
    if (from >= to) from = to - HOUR_MS;
    int64_t span = to - from;
    int64_t bucket = span <= 2 * HOUR_MS ? 5 * 60000LL : span <= 2 * DAY_MS ? HOUR_MS : DAY_MS;
    while (span / bucket >= BUCKETS_MAX) bucket *= 2;
    /* Align buckets to whole units so bars read as hours or days. */
    from -= from % (bucket < HOUR_MS ? bucket : bucket < DAY_MS ? HOUR_MS : DAY_MS);
    int nb = (int)((to - from + bucket - 1) / bucket);
    if (nb < 1) nb = 1;
    if (nb > BUCKETS_MAX) nb = BUCKETS_MAX;

    long long per[BUCKETS_MAX][NSTATUS];
    long long facet[NSTATUS] = { 0 };
    memset(per, 0, sizeof per);
    agent_count agents[AGENTS_MAX];
    int nagents = 0;
    /* Agent name -> index in agents: open addressing, 2x the entries. */
    short aslot[AGENTS_MAX * 2];
    memset(aslot, -1, sizeof aslot);
    long long total = 0, failed = 0, cost = 0, tokens = 0;

    sqlite3_stmt *st = sessq_prepare_summary(c->db, q, from, to, bucket);
    if (!st) return -1;
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        long long b = sqlite3_column_int64(st, 0);
        int si = status_index((const char *)sqlite3_column_text(st, 1));
        const char *agent = (const char *)sqlite3_column_text(st, 2);
        long long n = sqlite3_column_int64(st, 3);
        if (si < 0 || !agent) continue;
        int agent_ok = !q->agent || !strcmp(q->agent, agent);
        int status_ok = !q->nstatus || has_status(q, statuses[si]);
        if (agent_ok) facet[si] += n;
        if (status_ok) {
            unsigned h = 2166136261u;
            for (const char *p = agent; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
            unsigned i = h % (AGENTS_MAX * 2);
            while (aslot[i] >= 0 && strcmp(agents[aslot[i]].name, agent)) i = (i + 1) % (AGENTS_MAX * 2);
            if (aslot[i] < 0 && nagents < AGENTS_MAX) {
                agents[nagents].name = arena_strdup(c->a, agent);
                agents[nagents].n = 0;
                aslot[i] = (short)nagents++;
            }
            if (aslot[i] >= 0) agents[aslot[i]].n += n;
        }
        if (!agent_ok || !status_ok) continue;
        total += n;
        if (si == 8) failed += n;
        cost += sqlite3_column_int64(st, 4);
        tokens += sqlite3_column_int64(st, 5);
        if (b >= 0 && b < nb) per[b][si] += n;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return -1;

    char t[64];
    cJSON *s = cJSON_AddObjectToObject(v, "summary");
    cJSON_AddStringToObject(s, "window_label", label);
    fmt_count(total, t, sizeof t);
    cJSON_AddStringToObject(s, "total_text", t);
    fmt_count(failed, t, sizeof t);
    cJSON_AddStringToObject(s, "failed_text", t);
    long long finished = 0;
    for (int b = 0; b < nb; b++) finished += per[b][6] + per[b][7] + per[b][8];
    if (finished) snprintf(t, sizeof t, "%.1f%%", 100.0 * (double)failed / (double)finished);
    else snprintf(t, sizeof t, "—");
    cJSON_AddStringToObject(s, "failure_rate_text", t);
    fmt_cost(cost, t, sizeof t);
    cJSON_AddStringToObject(s, "cost_text", t);
    fmt_count(tokens, t, sizeof t);
    cJSON_AddStringToObject(s, "tokens_text", t);

    cJSON *sl = cJSON_AddArrayToObject(s, "statuses");
    for (int i = 0; i < NSTATUS; i++) {
        if (!facet[i] && !has_status(q, statuses[i])) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", statuses[i]);
        cJSON_AddStringToObject(o, "label", lifecycle_status_label(statuses[i]));
        fmt_count(facet[i], t, sizeof t);
        cJSON_AddStringToObject(o, "count_text", t);
        sessq w = *q;
        w.nstatus = 1;
        w.status[0] = statuses[i];
        w.has_cursor = 0;
        int only = q->nstatus == 1 && has_status(q, statuses[i]);
        if (only) w.nstatus = 0; /* the selected facet links back to "any" */
        cJSON_AddStringToObject(o, "url", view_url(c, &w, NULL));
        cJSON_AddBoolToObject(o, "selected", has_status(q, statuses[i]));
        cJSON_AddItemToArray(sl, o);
    }
    /* Top agents by count. */
    cJSON *al = cJSON_AddArrayToObject(s, "agents");
    for (int shown = 0; shown < TOP_AGENTS && shown < nagents; shown++) {
        int best = shown;
        for (int k = shown + 1; k < nagents; k++)
            if (agents[k].n > agents[best].n) best = k;
        agent_count tmp = agents[shown];
        agents[shown] = agents[best];
        agents[best] = tmp;
        cJSON *o = cJSON_CreateObject();
        const char *name = agents[shown].name ? agents[shown].name : "";
        cJSON_AddStringToObject(o, "agent", *name ? name : "(none)");
        fmt_count(agents[shown].n, t, sizeof t);
        cJSON_AddStringToObject(o, "count_text", t);
        sessq w = *q;
        int sel = q->agent && !strcmp(q->agent, name);
        w.agent = sel ? NULL : name;
        w.has_cursor = 0;
        cJSON_AddStringToObject(o, "url", view_url(c, &w, NULL));
        cJSON_AddBoolToObject(o, "selected", sel);
        cJSON_AddItemToArray(al, o);
    }

    /* The chart: one bar per bucket, stacked by status in lifecycle order. */
    long long max = 0;
    for (int b = 0; b < nb; b++) {
        long long sum = 0;
        for (int i = 0; i < NSTATUS; i++) sum += per[b][i];
        if (sum > max) max = sum;
    }
    cJSON *ch = cJSON_AddObjectToObject(s, "chart");
    cJSON_AddNumberToObject(ch, "width", CHART_W);
    cJSON_AddNumberToObject(ch, "height", CHART_H + CHART_LABEL_H);
    fmt_count(max, t, sizeof t);
    cJSON_AddStringToObject(ch, "max_text", t);
    cJSON *bars = cJSON_AddArrayToObject(ch, "bars");
    double slot = (double)CHART_W / nb, w = slot > 3 ? slot - 2 : slot;
    for (int b = 0; b < nb; b++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "x", (double)(int)(b * slot * 10) / 10);
        cJSON_AddNumberToObject(o, "w", (double)(int)(w * 10) / 10);
        long long sum = 0;
        buf tb;
        buf_init(&tb);
        char when[40];
        fmt_abs(from + b * bucket, when, sizeof when);
        buf_puts(&tb, when);
        cJSON *segs = cJSON_AddArrayToObject(o, "segments");
        double y = CHART_H;
        for (int i = 0; i < NSTATUS; i++) {
            if (!per[b][i]) continue;
            sum += per[b][i];
            buf_printf(&tb, " · %s %lld", lifecycle_status_label(statuses[i]), per[b][i]);
            double h = max ? (double)per[b][i] * CHART_H / (double)max : 0;
            if (h < 1) h = 1;
            y -= h;
            cJSON *sg = cJSON_CreateObject();
            cJSON_AddNumberToObject(sg, "y", (double)(int)(y * 10) / 10);
            cJSON_AddNumberToObject(sg, "h", (double)(int)(h * 10 + 9) / 10);
            cJSON_AddStringToObject(sg, "status", statuses[i]);
            cJSON_AddItemToArray(segs, sg);
        }
        if (!sum) buf_puts(&tb, " · no sessions");
        cJSON_AddStringToObject(o, "title", tb.err ? "" : buf_str(&tb));
        buf_fini(&tb);
        cJSON_AddItemToArray(bars, o);
    }
    cJSON *labels = cJSON_AddArrayToObject(ch, "labels");
    int step = nb <= 6 ? 1 : nb / 6;
    for (int b = 0; b < nb; b += step) {
        char when[40];
        fmt_abs(from + b * bucket, when, sizeof when); /* "2026-11-21 15:30:48 UTC" */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "x", (double)(int)(b * slot));
        cJSON_AddNumberToObject(o, "y", CHART_H + CHART_LABEL_H - 3);
        /* Hours show "15:00", days "11-21". */
        cJSON_AddStringToObject(o, "text", bucket < DAY_MS ? arena_strndup(c->a, when + 11, 5)
                                                           : arena_strndup(c->a, when + 5, 5));
        cJSON_AddItemToArray(labels, o);
    }
    return 0;
}

/* ---------------------------------------------------------------- views */

static int add_views(ctx *c, cJSON *v)
{
    cJSON *vs = cJSON_AddObjectToObject(v, "views");
    cJSON *mine = cJSON_AddArrayToObject(vs, "mine"), *shared = cJSON_AddArrayToObject(vs, "shared");
    if (c->who.kind != PRINCIPAL_USER) return 0;
    sqlite3_stmt *st = db_stmt(c->db, SQL_VIEW_LIST);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, c->who.id);
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        const char *query = (const char *)sqlite3_column_text(st, 2);
        cJSON_AddStringToObject(o, "name", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(o, "url", query && *query ? arena_printf(c->a, "/sessions?%s", query) : "/sessions");
        cJSON_AddBoolToObject(o, "shared", sqlite3_column_int(st, 3));
        if (sqlite3_column_int(st, 4)) {
            cJSON_AddStringToObject(o, "delete_url",
                                    arena_printf(c->a, "/views/%lld/delete", (long long)sqlite3_column_int64(st, 0)));
            cJSON_AddItemToArray(mine, o);
        } else {
            cJSON_AddStringToObject(o, "owner", (const char *)sqlite3_column_text(st, 5));
            cJSON_AddItemToArray(shared, o);
        }
    }
    sqlite3_reset(st);
    cJSON_AddBoolToObject(vs, "has_mine", cJSON_GetArraySize(mine) > 0);
    cJSON_AddBoolToObject(vs, "has_shared", cJSON_GetArraySize(shared) > 0);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The live-update token: the newest session change plus this process's
 * change generation (deletes change no row). */
static const char *change_token(ctx *c)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_LAST_UPDATE);
    if (!st) return NULL;
    long long last = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return arena_printf(c->a, "%lld-%llu", last, (unsigned long long)notify_generation());
}

/* ---------------------------------------------------------------- pages */

hres h_page_sessions(ctx *c)
{
    sessq q;
    sq_err err = { 0 };
    int64_t now = db_now_ms();
    sessq_init(&q, PAGE_DEFAULT);
    if (sessq_parse(&q, &c->req.query, c->a, now, &err))
        return ctx_error(c, 400, "invalid_parameter",
                         "%s. Change the filter, or clear all filters at /sessions.", err.message);
    if (q.limit != 25 && q.limit != 50 && q.limit != 100) q.limit = PAGE_DEFAULT;
    q.offset = 0; /* the page pages by cursor only */
    q.projects = auth_can_all(&c->who, PERM_READ) ? NULL : auth_projects_json(c->a, &c->who, PERM_READ);

    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "title", "Sessions · Flightdeck");
    cJSON_AddBoolToObject(v, "nav_sessions", 1);
    /* Take the live token before reading, so a change made while this
     * page renders still wakes the script. */
    const char *token = change_token(c);
    if (!token) goto fail;

    cJSON *rows = cJSON_AddArrayToObject(v, "sessions");
    sqlite3_stmt *st = sessq_prepare(c->db, &q, SQ_COLS_ROW, 0);
    if (!st) goto fail;
    int n = 0, rc;
    const char *next = NULL;
    char *first_key = NULL;
    sessq first = q; /* the first row's key, to look back from */
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == q.limit) break;
        if (n == 0 && q.has_cursor) {
            int k = sessq_key_col(st);
            first.cur_key_is_text = sqlite3_column_type(st, k) == SQLITE_TEXT;
            first.cur_key = sqlite3_column_int64(st, k);
            first.cur_key_text = first.cur_key_is_text ? arena_strdup(c->a, (const char *)sqlite3_column_text(st, k)) : NULL;
            first.cur_time = sqlite3_column_int64(st, k + 1);
            first.cur_id = first_key = arena_strdup(c->a, (const char *)sqlite3_column_text(st, k + 2));
        }
        cJSON_AddItemToArray(rows, session_row_view(c, st));
        if (++n == q.limit) next = sessq_cursor(c->a, &q, st);
    }
    int more = rc == SQLITE_ROW && n == q.limit;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) goto fail;
    if (more && next) cJSON_AddStringToObject(v, "next_url", view_url(c, &q, next));

    /* Previous page: walk back `limit` rows from the first row shown; the
     * row beyond them is the cursor of the previous page (none: the start). */
    if (q.has_cursor && first_key) {
        st = sessq_prepare(c->db, &first, SQ_COLS_KEY, 1);
        if (!st) goto fail;
        int back = 0;
        const char *prev = NULL;
        while ((rc = db_step(st)) == SQLITE_ROW)
            if (++back == q.limit + 1) prev = sessq_cursor(c->a, &q, st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) goto fail;
        cJSON_AddStringToObject(v, "prev_url", view_url(c, &q, prev));
    } else if (q.has_cursor) {
        sessq w = q;
        w.has_cursor = 0;
        cJSON_AddStringToObject(v, "prev_url", view_url(c, &w, NULL));
    }

    int filtered = sessq_filtered(&q);
    cJSON_AddStringToObject(v, "return_to", c->req.request_uri);
    cJSON_AddBoolToObject(v, "empty", n == 0);
    cJSON_AddBoolToObject(v, "filtered", filtered);
    cJSON_AddStringToObject(v, "count_text",
                            arena_printf(c->a, "%d session%s on this page", n, n == 1 ? "" : "s"));
    sessq base = q;
    base.has_cursor = 0;
    buf b;
    buf_init(&b);
    sessq_query_string(&b, &base, PAGE_DEFAULT);
    cJSON_AddStringToObject(v, "query", b.err ? "" : buf_str(&b));
    buf_fini(&b);
    cJSON_AddStringToObject(v, "self_url", view_url(c, &base, NULL));
    sessq cleared;
    sessq_init(&cleared, q.limit);
    cleared.limit = q.limit;
    cleared.sort = q.sort;
    cleared.asc = q.asc;
    cJSON_AddStringToObject(v, "clear_url", view_url(c, &cleared, NULL));
    if (q.has_cursor && n == 0)
        cJSON_AddStringToObject(v, "notice", "This page link points past the end of the list. "
                                             "Go back to the first page.");

    cJSON *f = cJSON_AddObjectToObject(v, "filters");
    static const struct { const char *key; size_t off; } ff[] = {
        { "q", offsetof(sessq, q) }, { "kind", offsetof(sessq, kind) }, { "agent", offsetof(sessq, agent) },
        { "trigger", offsetof(sessq, trigger) }, { "source", offsetof(sessq, source) },
        { "project", offsetof(sessq, project) }, { "environment", offsetof(sessq, environment) },
        { "cluster", offsetof(sessq, cluster) }, { "start_after", offsetof(sessq, start_after_text) },
        { "start_before", offsetof(sessq, start_before_text) },
    };
    for (size_t i = 0; i < sizeof ff / sizeof ff[0]; i++) {
        const char *val = *(const char *const *)((const char *)&q + ff[i].off);
        cJSON_AddStringToObject(f, ff[i].key, val ? val : "");
    }
    cJSON_AddBoolToObject(f, "has_error", q.has_error);
    cJSON_AddStringToObject(f, "sort", sessq_sort_name(q.sort));
    cJSON_AddStringToObject(f, "direction", q.asc ? "asc" : "desc");
    cJSON_AddNumberToObject(f, "limit", q.limit);
    cJSON *mr = cJSON_AddArrayToObject(v, "meta_rows");
    for (int i = 0; i < q.nmeta; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", arena_printf(c->a, "%s=%s", q.meta[i].key, q.meta[i].value));
        cJSON_AddItemToArray(mr, o);
    }
    /* Encryption at rest: payloads are sealed, so search covers only what
     * is not (migration 011); the box says so whenever it is on. */
    if (seal_enabled()) {
        cJSON_AddBoolToObject(v, "search_sealed", 1);
        cJSON_AddStringToObject(v, "search_hint", "Search covers names, agents, tools and error categories "
                                                  "(or a session id): payloads are encrypted.");
    } else if (q.q)
        cJSON_AddStringToObject(v, "search_hint", "Matches whole words and word beginnings in names, "
                                                  "prompts, messages, tool names and errors, or a session id.");

    add_static_options(c, v, &q);
    if (add_db_options(c, v, "agent_options", SQL_SESSION_AGENTS, q.agent, q.projects) ||
        add_db_options(c, v, "project_options", SQL_SESSION_PROJECTS, q.project, q.projects))
        goto fail;
    cJSON_AddBoolToObject(v, "has_projects", cJSON_GetArraySize(cJSON_GetObjectItem(v, "project_options")) > 1 || q.project);
    add_chips(c, v, &q);
    add_columns(c, v, &q);
    if (add_summary(c, v, &q, now) || add_views(c, v)) goto fail;

    /* Bulk actions the viewer may take somewhere; each row says which apply to it. */
    cJSON *bulk = cJSON_AddObjectToObject(v, "bulk");
    cJSON *ba = cJSON_AddArrayToObject(bulk, "actions");
    static const struct { const char *action, *label, *confirm; int danger; } acts[] = {
        { "pause", "Pause", NULL, 0 },
        { "resume", "Resume", NULL, 0 },
        { "cancel", "Cancel", "Cancel the selected sessions? Tool calls in flight finish first; this cannot be undone.", 1 },
        { "delete", "Delete", "Delete the selected sessions and all their activity? This cannot be undone.", 1 },
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (!auth_can(&c->who, action_perm(action_find(acts[i].action)), NULL)) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "action", acts[i].action);
        cJSON_AddStringToObject(o, "label", acts[i].label);
        if (acts[i].confirm) cJSON_AddStringToObject(o, "confirm", acts[i].confirm);
        cJSON_AddBoolToObject(o, "danger", acts[i].danger);
        cJSON_AddItemToArray(ba, o);
    }
    cJSON_AddBoolToObject(v, "has_bulk", cJSON_GetArraySize(ba) > 0);

    cJSON *live = cJSON_AddObjectToObject(v, "live");
    cJSON_AddStringToObject(live, "changes_url", "/changes");
    cJSON_AddStringToObject(live, "gen", token);
    return ctx_render(c, 200, "sessions", v);
fail:
    cJSON_Delete(v);
    return HR_ERROR;
}

/* GET /changes?since=TOKEN&wait=S: {"token": ...} as soon as it differs
 * from since, or after `wait` seconds. Uses a long-poll slot; when every
 * slot is taken it answers at once (the script then polls every 2 s). */
hres h_page_changes(ctx *c)
{
    const char *since = http_kvs_get(&c->req.query, "since");
    const char *ws = http_kvs_get(&c->req.query, "wait");
    long wait = ws ? strtol(ws, NULL, 10) : 0;
    if (wait < 0) wait = 0;
    if (wait > CHANGES_MAX_S) wait = CHANGES_MAX_S;
    int64_t deadline = db_now_ms() + wait * 1000;
    int slot = 0;
    const char *token;
    for (;;) {
        uint64_t gen = notify_generation();
        token = change_token(c);
        if (!token) { if (slot) notify_leave(); return HR_ERROR; }
        int64_t left = deadline - db_now_ms();
        if (!since || strcmp(since, token) || left <= 0) break;
        if (!slot && !(slot = notify_enter())) break;
        ctx_db_park(c); /* no connection held while waiting */
        notify_wait(gen, left < NOTIFY_RECHECK_MS ? (int)left : NOTIFY_RECHECK_MS);
        ctx_db_resume(c);
    }
    if (slot) notify_leave();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "token", token);
    cJSON_AddBoolToObject(o, "changed", !since || strcmp(since, token) != 0);
    return ctx_json(c, 200, o);
}

/* POST /sessions/bulk: action + ids from the History page; redirects back
 * with a flash that names each session that could not be acted on. */
hres h_page_bulk(ctx *c)
{
    const char *back = page_return_to(c, "/sessions");
    int a = action_find(http_kvs_get(&c->req.form, "action"));
    if (a < 0) return ctx_redirect_flash(c, back, "error", "Choose an action: pause, resume, cancel or delete.");
    int total = 0, ok = 0, listed = 0, unlisted = 0;
    buf why;
    buf_init(&why);
    for (size_t i = 0; i < c->req.form.n; i++) {
        if (strcmp(c->req.form.v[i].key, "ids")) continue;
        const char *id = c->req.form.v[i].val;
        if (++total > BULK_FORM_MAX) break;
        char from[16] = "", to[16] = "";
        const char *msg = "no such session";
        int e = ingest_id_valid(id) ? action_try(c, a, id, from, to, &msg) : ACT_NOT_FOUND;
        if (e < 0) { buf_fini(&why); return HR_ERROR; }
        if (e == ACT_OK) { ok++; continue; }
        if (listed == 5) { unlisted++; continue; }
        listed++;
        buf_printf(&why, "%s%.60s (%s%s%s)", why.len ? "; " : "", id,
                   e == ACT_REFUSED ? lifecycle_status_label(from) : msg,
                   e == ACT_REFUSED ? ": " : "", e == ACT_REFUSED ? "not allowed in that status" : "");
    }
    if (total == 0) {
        buf_fini(&why);
        return ctx_redirect_flash(c, back, "error", "Select at least one session first.");
    }
    if (total > BULK_FORM_MAX) {
        buf_fini(&why);
        return ctx_redirect_flash(c, back, "error",
                                  arena_printf(c->a, "At most %d sessions at once; nothing was done to the rest.",
                                               BULK_FORM_MAX));
    }
    static const char *const done[] = { "Paused", "Resumed", "Canceled", "Deleted" };
    static const char *const verb[] = { "paused", "resumed", "canceled", "deleted" };
    const char *msg;
    if (ok == total)
        msg = arena_printf(c->a, "%s %d session%s.", done[a], ok, ok == 1 ? "" : "s");
    else
        msg = arena_printf(c->a, "%s %d of %d sessions. Not %s: %s%s", done[a], ok, total, verb[a],
                           why.err ? "" : buf_str(&why),
                           unlisted ? arena_printf(c->a, "; and %d more.", unlisted) : ".");
    buf_fini(&why);
    return ctx_redirect_flash(c, back, ok == total ? "ok" : "error", msg ? msg : "Done.");
}
