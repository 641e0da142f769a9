/* h_tasks: the Work Center — manual tool calls waiting for a person — as a
 * page with a form per task and as JSON. Completing a task goes through
 * ingest_resolve_call(), which records the result and resumes a paused
 * session. A task's id is the id of its tool_call event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "sessdata.h"
#include "ingest.h"
#include "lifecycle.h"

#define TASKS_MAX 500

/* The task id parameter as an event id; 0 when malformed. */
static long long task_id(ctx *c)
{
    char *end;
    const char *s = ctx_param(c, 0);
    long long id = strtoll(s, &end, 10);
    return (*s && !*end && id > 0) ? id : 0;
}

/* Look up task `tid`: its session and tool call id (arena copies). Answers
 * 404 (unknown, or outside the caller's projects) / 403 and returns 0;
 * 1 when found and the caller may submit input; -1 on error. */
static int task_find(ctx *c, long long tid, const char **sid, const char **tcid)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_TASK_GET);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, tid);
    int rc = db_step(st);
    const char *project = "";
    if (rc == SQLITE_ROW) {
        *sid = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 0));
        *tcid = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
        project = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
    if (rc == SQLITE_DONE || !project || !auth_can(&c->who, PERM_READ, project)) {
        ctx_error(c, 404, "not_found", "no task %lld", tid);
        return 0;
    }
    if (!auth_can(&c->who, PERM_INPUT, project)) {
        ctx_error(c, 403, "forbidden", "your role does not allow completing tasks here");
        return 0;
    }
    return 1;
}

/* Run TASK_LIST over the caller's projects, appending make(row) to out. */
static int task_list(ctx *c, cJSON *out, cJSON *(*make)(ctx *, sqlite3_stmt *))
{
    const char *projects = auth_can_all(&c->who, PERM_READ)
                               ? NULL : auth_projects_json(c->a, &c->who, PERM_READ);
    sqlite3_stmt *st = db_stmt(c->db, SQL_TASK_LIST);
    if (!st) return -1;
    db_bind_text(st, 1, projects);
    sqlite3_bind_int(st, 2, TASKS_MAX);
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *t = make(c, st);
        if (t) cJSON_AddItemToArray(out, t);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}


static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

/* A task in the API's shape (sessdata_task_json), as task_list wants it. */
static cJSON *task_json(ctx *c, sqlite3_stmt *st)
{
    (void)c;
    return sessdata_task_json(st);
}

hres h_api_tasks(ctx *c)
{
    cJSON *o = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(o, "data");
    if (task_list(c, data, task_json)) { cJSON_Delete(o); return HR_ERROR; }
    cJSON_AddNullToObject(o, "next_cursor");
    return ctx_json(c, 200, o);
}

hres h_api_task_complete(ctx *c)
{
    long long tid = task_id(c);
    if (!tid) return ctx_error(c, 404, "not_found", "no such task");
    const char *sid = NULL, *tcid = NULL;
    int ok = task_find(c, tid, &sid, &tcid);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *in = ctx_body_json(c);
    if (!in) return HR_OK;
    if (!cJSON_IsObject(in))
        return ctx_error(c, 422, "invalid_body", "send a JSON object: {\"result\": ...} or "
                                                 "{\"rejected\": true, \"reason\": \"...\"}");
    for (const cJSON *m = in->child; m; m = m->next)
        if (strcmp(m->string, "result") && strcmp(m->string, "rejected") && strcmp(m->string, "reason"))
            return ctx_error_field(c, 422, "unknown_field", m->string, "unknown field \"%.40s\"", m->string);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(in, "result");
    const cJSON *rej = cJSON_GetObjectItemCaseSensitive(in, "rejected");
    /* A wrong type is refused, not read as false: {"rejected": 1} must not complete the task. */
    if (rej && !cJSON_IsBool(rej) && !cJSON_IsNull(rej))
        return ctx_error_field(c, 422, "invalid_field", "rejected", "rejected must be true or false");
    int rejected = cJSON_IsTrue(rej);
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(in, "reason");
    if (rejected == (result != NULL))
        return ctx_error(c, 422, "invalid_body", "send either {\"result\": ...} or {\"rejected\": true, \"reason\": \"...\"}");
    if (reason && !cJSON_IsString(reason))
        return ctx_error_field(c, 422, "invalid_field", "reason", "reason must be a string");
    cJSON *error = NULL;
    if (rejected) {
        error = cJSON_CreateObject();
        cJSON_AddStringToObject(error, "category", "rejected");
        cJSON_AddStringToObject(error, "message", reason && *reason->valuestring
                                                      ? reason->valuestring : "rejected by a person");
    }
    ingest_result res;
    ingest_err err = { 0 };
    int rc = ingest_resolve_call(c->db, sid, tcid, "waiting_for_human", rejected ? NULL : result,
                                 error, NULL, auth_actor(c->a, &c->who), &res, &err);
    cJSON_Delete(error);
    if (rc) return answer_ingest_err(c, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)tid);
    cJSON_AddStringToObject(o, "session_id", sid);
    cJSON_AddStringToObject(o, "state", rejected ? "failed" : "succeeded");
    cJSON_AddStringToObject(o, "session_status", res.status);
    return ctx_json(c, 200, o);
}

static cJSON *task_view(ctx *c, sqlite3_stmt *st)
{
    char t[64];
    long long id = sqlite3_column_int64(st, SDT_EVENT);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "complete_url", arena_printf(c->a, "/tasks/%lld/complete", id));
    cJSON_AddStringToObject(o, "anchor", arena_printf(c->a, "task-%lld", id));
    cJSON *s = cJSON_AddObjectToObject(o, "session");
    const char *sid = col(st, SDT_SESSION);
    cJSON_AddStringToObject(s, "id", sid);
    cJSON_AddStringToObject(s, "url", arena_printf(c->a, "/sessions/%s", sid));
    cJSON_AddStringToObject(s, "name", *col(st, SDT_NAME) ? col(st, SDT_NAME) : sid);
    cJSON_AddStringToObject(s, "agent", col(st, SDT_AGENT));
    cJSON_AddStringToObject(s, "status", col(st, SDT_STATUS));
    cJSON_AddStringToObject(s, "status_label", lifecycle_status_label(col(st, SDT_STATUS)));
    cJSON_AddStringToObject(o, "tool", col(st, SDT_TOOL));
    cJSON_AddStringToObject(o, "tool_call_id", col(st, SDT_TCID));
    cJSON *args = cJSON_Parse(col(st, SDT_ARGS));
    /* No arguments ({} or nothing): leave the key out, the page says so. */
    if (args && !(cJSON_IsObject(args) && !args->child)) {
        char *pretty = cJSON_Print(args);
        if (pretty) cJSON_AddStringToObject(o, "arguments_pretty", pretty);
        cJSON_free(pretty);
    }
    cJSON_Delete(args);
    int64_t since = sqlite3_column_int64(st, SDT_STARTED);
    fmt_rfc3339(since, t, sizeof t);
    cJSON_AddStringToObject(o, "waiting_since_iso", t);
    fmt_abs(since, t, sizeof t);
    cJSON_AddStringToObject(o, "waiting_since_abs", t);
    fmt_rel(since, db_now_ms(), t, sizeof t);
    cJSON_AddStringToObject(o, "waiting_since_rel", t);
    return o;
}

hres h_page_tasks(ctx *c)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "title", "Work Center · Flightdeck");
    cJSON_AddBoolToObject(v, "nav_tasks", 1);
    cJSON *tasks = cJSON_AddArrayToObject(v, "tasks");
    if (task_list(c, tasks, task_view)) { cJSON_Delete(v); return HR_ERROR; }
    int n = cJSON_GetArraySize(tasks);
    cJSON_AddBoolToObject(v, "empty", n == 0);
    cJSON_AddStringToObject(v, "count_text",
                            arena_printf(c->a, "%d task%s waiting", n, n == 1 ? "" : "s"));
    return ctx_render(c, 200, "tasks", v);
}

/* The Work Center's result box as JSON: exactly one value (trailing text
 * is refused, where cJSON_Parse would ignore it), without U+0000 (which
 * would be cut short). NULL when it is not that. The form itself holds no
 * NUL byte: main.c refuses such forms. */
static cJSON *task_result_parse(const char *text)
{
    size_t n = strlen(text);
    if (ingest_json_has_nul(text, n)) return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    while (j && end && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
    if (j && (!end || *end)) { cJSON_Delete(j); j = NULL; }
    return j;
}

hres h_page_task_complete(ctx *c)
{
    long long tid = task_id(c);
    if (!tid) return ctx_error(c, 404, "not_found", "No such task.");
    const char *sid = NULL, *tcid = NULL;
    int ok = task_find(c, tid, &sid, &tcid);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    const char *decision = http_kvs_get(&c->req.form, "decision");
    const char *text = http_kvs_get(&c->req.form, "result");
    const char *reason = http_kvs_get(&c->req.form, "reason");
    int reject = decision && strcmp(decision, "reject") == 0;
    cJSON *result = NULL, *error = NULL;
    if (reject) {
        error = cJSON_CreateObject();
        cJSON_AddStringToObject(error, "category", "rejected");
        cJSON_AddStringToObject(error, "message", reason && *reason ? reason : "rejected by a person");
    } else {
        /* An empty box means "done, nothing to report". */
        result = text && *text ? task_result_parse(text) : cJSON_CreateObject();
        if (!result)
            return ctx_redirect_flash(c, arena_printf(c->a, "/tasks#task-%lld", tid), "error",
                                      "The result is not valid JSON; nothing was changed.");
    }
    ingest_result res;
    ingest_err err = { 0 };
    int rc = ingest_resolve_call(c->db, sid, tcid, "waiting_for_human", result, error, NULL,
                                 auth_actor(c->a, &c->who), &res, &err);
    cJSON_Delete(result);
    cJSON_Delete(error);
    if (rc) {
        if (err.status >= 500 && err.status != 503) return HR_ERROR;
        return ctx_redirect_flash(c, "/tasks", "error", err.message);
    }
    return ctx_redirect_flash(c, "/tasks", "ok",
                              reject ? "Task rejected; the agent has been told."
                                     : "Task completed; the agent continues.");
}
