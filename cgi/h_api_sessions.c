/* h_api_sessions: the sessions and events JSON API (DESIGN.md section 9).
 * Handlers validate query parameters, check per-project access, and leave
 * writes to ingest.c and lifecycle.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "log.h"
#include "ingest.h"
#include "metrics.h"
#include "wgroup.h"
#include "sessdata.h"
#include "sessq.h"

#define LIST_DEFAULT 50
#define EVENTS_MAX   1000

/* Turn an ingest error into the response; 409s carry the session status. */
hres answer_ingest_err(ctx *c, const ingest_err *e)
{
    if (e->status >= 500 && e->status != 503) {
        log_msg(LOGL_ERROR, "ingest: %s", e->message);
        return HR_ERROR;
    }
    if (e->status == 409 && *e->session_status)
        return ctx_conflict(c, e->code, e->session_status, "%s", e->message);
    if (e->status == 503) http_resp_header(&c->resp, "Retry-After", "1");
    return ctx_error_field(c, e->status, e->code, e->field, "%s", e->message);
}

/* The session in its API shape, or NULL (not found / error). */
static cJSON *session_json(ctx *c, const char *id)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_GET_API);
    if (!st) return NULL;
    db_bind_text(st, 1, id);
    cJSON *o = db_step(st) == SQLITE_ROW ? db_row_json(st) : NULL;
    sqlite3_reset(st);
    return o;
}

hres h_api_sessions_create(ctx *c)
{
    cJSON *in = ctx_body_json(c);
    if (!in) return HR_OK;
    const cJSON *proj = cJSON_GetObjectItemCaseSensitive(in, "project");
    /* A project sent as a secret is stored masked: check what will be stored. */
    const char *project = cJSON_IsString(proj)   ? proj->valuestring
                          : cJSON_IsObject(proj) ? INGEST_SECRET_MASK
                                                 : "default";
    if (!auth_can(&c->who, PERM_RUNTIME, project))
        return ctx_error_field(c, 403, "forbidden", "project",
                               "this token may not create sessions in project \"%.60s\"", project);
    char id[INGEST_ID_MAX + 1];
    ingest_err err = { 0 };
    if (ingest_session_create(c->db, in, auth_actor(c->a, &c->who), id, &err))
        return answer_ingest_err(c, &err);
    cJSON *o = session_json(c, id);
    if (!o) return HR_ERROR;
    char *loc = arena_printf(c->a, "/api/v1/sessions/%s", id);
    if (loc) http_resp_header(&c->resp, "Location", loc);
    return ctx_json(c, 201, o);
}

hres h_api_sessions_list(ctx *c)
{
    sessq q;
    sq_err err = { 0 };
    sessq_init(&q, LIST_DEFAULT);
    if (sessq_parse(&q, &c->req.query, c->a, db_now_ms(), &err))
        return ctx_error_field(c, 400, "invalid_parameter", err.field, "%s", err.message);
    q.projects = auth_can_all(&c->who, PERM_READ) ? NULL : auth_projects_json(c->a, &c->who, PERM_READ);

    cJSON *out = sessq_page_json(c->db, &q, c->a);
    if (!out) return HR_ERROR;
    return ctx_json(c, 200, out);
}

/* Append the session's events (API shape) to o["events"]. */
static int add_events(ctx *c, cJSON *o, const char *id, long long after, long long limit,
                      int hidden, const char *type)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_EVENT_LIST_API);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int64(st, 3, limit);
    sqlite3_bind_int(st, 4, hidden);
    db_bind_text(st, 5, type);
    cJSON *arr = cJSON_AddArrayToObject(o, "events");
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *row = db_row_json(st);
        if (!row) break;
        cJSON_AddItemToArray(arr, row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

hres h_api_session_get(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    /* include=: a comma list of parts (sessdata.h); unknown names are refused. */
    unsigned parts;
    char bad[48];
    if (sessdata_include_parse(http_kvs_get(&c->req.query, "include"), &parts, bad, sizeof bad))
        return ctx_error_field(c, 400, "invalid_parameter", "include",
                               "include has an unknown part \"%s\"; use " SESSDATA_INCLUDE_PARTS,
                               bad);
    cJSON *o = session_json(c, id);
    if (!o) return HR_ERROR;
    if (sessdata_include(c->db, o, id, parts, &c->who)) {
        cJSON_Delete(o);
        return HR_ERROR;
    }
    return ctx_json(c, 200, o);
}

/* An append as a piece of a group commit (wgroup.h): everything it reads
 * and writes is here or on the connection it is given. */
typedef struct append_job {
    const char      *id;
    const principal *who;
    const cJSON     *in;
    const char      *actor;
    ingest_result    res;
    cJSON           *ids;
    ingest_err       err;
} append_job;

/* The access check is the piece's first read, in the commit's own
 * transaction: the writer's page cache has the session, and the request
 * never needs one of the shared connections (whose caches every commit
 * empties). */
static int append_run(struct db *d, void *arg)
{
    append_job *j = arg;
    access_refusal why;
    int ok = app_session_access(d, j->who, j->id, PERM_RUNTIME, NULL, &why);
    if (ok < 0) {
        j->err.status = 500;
        j->err.code = "internal";
        snprintf(j->err.message, sizeof j->err.message, "reading session %.64s failed", j->id);
        return -1;
    }
    if (ok == 0) {
        j->err.status = why.status;
        j->err.code = why.code;
        snprintf(j->err.message, sizeof j->err.message, "%s", why.message);
        return -1;
    }
    return ingest_events(d, j->id, j->in, j->actor, &j->res, &j->ids, &j->err);
}

hres h_api_events_append(ctx *c)
{
    const char *id = ctx_param(c, 0);
    cJSON *in = ctx_body_json_quiet(c);
    if (!in || !cJSON_IsObject(in)) {
        /* A body refused as such: the session's 404 or 403 comes first, as
         * on every route. */
        int ok = ctx_session_access(c, id, PERM_RUNTIME, NULL);
        if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
        if (!in) return ctx_body_json(c) ? HR_ERROR : HR_OK;
        return ctx_error(c, 422, "invalid_body",
                         "send one event object, or {\"events\": [...]} for a batch");
    }
    /* Concurrent appends share one commit (wgroup.h). */
    append_job j = { .id = id, .who = &c->who, .in = in, .actor = auth_actor(c->a, &c->who) };
    int storage = 0;
    const cJSON *batch = cJSON_GetObjectItemCaseSensitive(in, "events");
    int weight = cJSON_IsArray(batch) ? cJSON_GetArraySize(batch) : 1;
    if (ctx_wgroup_run(c, append_run, &j, weight, &storage)) {
        cJSON_Delete(j.ids);
        /* The dispatcher answers 503 for a refused write (storage). */
        return storage ? HR_ERROR : answer_ingest_err(c, &j.err);
    }
    metrics_ingested(METRICS_EVENTS, j.res.accepted);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", j.res.status);
    cJSON_AddNumberToObject(o, "accepted", j.res.accepted);
    cJSON_AddNumberToObject(o, "duplicates", j.res.duplicates);
    cJSON_AddItemToObject(o, "events", j.ids);
    return ctx_json(c, 200, o);
}

hres h_api_events_list(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    long long after, limit, hidden;
    if (ctx_query_int(c, "after", 0, 1LL << 53, 0, &after) ||
        ctx_query_int(c, "limit", 1, EVENTS_MAX, 100, &limit) ||
        ctx_query_int(c, "include_hidden", 0, 1, 0, &hidden))
        return HR_OK;
    const char *type = http_kvs_get(&c->req.query, "type");
    cJSON *o = cJSON_CreateObject();
    if (add_events(c, o, id, after, limit + 1, (int)hidden, type && *type ? type : NULL)) {
        cJSON_Delete(o);
        return HR_ERROR;
    }
    /* Rename to the list convention: {"data":[...],"next_cursor":...}. */
    cJSON *arr = cJSON_DetachItemFromObjectCaseSensitive(o, "events");
    cJSON_AddItemToObject(o, "data", arr);
    if (cJSON_GetArraySize(arr) > limit) {
        cJSON_DeleteItemFromArray(arr, (int)limit);
        cJSON *last = cJSON_GetArrayItem(arr, (int)limit - 1);
        cJSON *seq = cJSON_GetObjectItemCaseSensitive(last, "seq");
        char next[32];
        snprintf(next, sizeof next, "%lld", seq ? (long long)seq->valuedouble : 0);
        cJSON_AddStringToObject(o, "next_cursor", next);
    } else {
        cJSON_AddNullToObject(o, "next_cursor");
    }
    return ctx_json(c, 200, o);
}

/* ------------------------------------------------ edits (API v1, issue 7) */

hres h_api_session_patch(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_WRITE, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *in = ctx_body_json(c);
    if (!in) return HR_OK;
    ingest_err err = { 0 };
    if (ingest_session_patch(c->db, id, in, auth_actor(c->a, &c->who), &err))
        return answer_ingest_err(c, &err);
    cJSON *o = session_json(c, id);
    return o ? ctx_json(c, 200, o) : HR_ERROR;
}

/* The event id of path parameter 1: a whole number from 1, at most 15
 * digits (events.id is an integer primary key). 0, or -1 after answering
 * 400 invalid_parameter naming event_id. */
static int event_id_param(ctx *c, int64_t *out)
{
    const char *s = ctx_param(c, 1);
    size_t n = s ? strlen(s) : 0;
    int ok = n >= 1 && n <= 15;
    for (size_t i = 0; ok && i < n; i++) ok = s[i] >= '0' && s[i] <= '9';
    if (ok) *out = strtoll(s, NULL, 10);
    if (!ok || *out <= 0) {
        ctx_error_field(c, 400, "invalid_parameter", "event_id",
                        "the event id must be the numeric id the events API returns");
        return -1;
    }
    return 0;
}

/* Answer with event eid of session id (200), or 404 when it is gone. */
static hres answer_event(ctx *c, const char *id, int64_t eid)
{
    cJSON *ev = NULL;
    int rc = sessdata_event(c->db, id, eid, &ev);
    if (rc > 0) return ctx_error(c, 404, "not_found", "no event %lld in this session", (long long)eid);
    if (rc < 0) return HR_ERROR;
    return ctx_json(c, 200, ev);
}

hres h_api_event_get(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int64_t eid;
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    if (event_id_param(c, &eid)) return HR_OK;
    return answer_event(c, id, eid);
}

hres h_api_event_delete(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int64_t eid;
    int ok = ctx_session_access(c, id, PERM_WRITE, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    if (event_id_param(c, &eid)) return HR_OK;
    ingest_err err = { 0 };
    if (ingest_event_delete(c->db, id, eid, auth_actor(c->a, &c->who), &err))
        return answer_ingest_err(c, &err);
    c->resp.status = 204;
    return HR_OK;
}

/* Hide (reason "manual") or unhide (NULL) an event; answers with it. */
static hres event_set_hidden(ctx *c, const char *reason)
{
    const char *id = ctx_param(c, 0);
    int64_t eid;
    int ok = ctx_session_access(c, id, PERM_WRITE, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    if (event_id_param(c, &eid)) return HR_OK;
    if (c->req.body_len && !ctx_body_json(c)) return HR_OK; /* a body, if any, must be JSON */
    ingest_err err = { 0 };
    if (ingest_event_hide(c->db, id, eid, reason, auth_actor(c->a, &c->who), &err))
        return answer_ingest_err(c, &err);
    return answer_event(c, id, eid);
}

hres h_api_event_hide(ctx *c)
{
    return event_set_hidden(c, "manual");
}

hres h_api_event_unhide(ctx *c)
{
    return event_set_hidden(c, NULL);
}
