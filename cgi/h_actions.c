/* h_actions: operator actions and the runtime's side of the lifecycle over
 * the JSON API: pause, resume, cancel, delete, bulk, control (long-poll),
 * input, client tool calls. Every status change goes through lifecycle.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "ingest.h"
#include "lifecycle.h"
#include "notify.h"

#define BULK_MAX      500
#define CONTROL_MAX_S 25   /* under lighttpd's and most proxies' idle timeouts */

/* The operator actions, the permission each needs, and its lifecycle action. */
static const struct {
    const char *name;
    perm        perm;
    int         action; /* lc_action, or -1 for delete */
} actions[] = {
    { "pause", PERM_PAUSE, LC_PAUSE },
    { "resume", PERM_PAUSE, LC_RESUME },
    { "cancel", PERM_CANCEL, LC_CANCEL },
    { "delete", PERM_DELETE, -1 },
};

int action_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(actions[i].name, name) == 0) return (int)i;
    return -1;
}

perm action_perm(int a) { return actions[a].perm; }

/* Apply operator action `a` to one session the caller may act on. */
lc_result action_apply(ctx *c, int a, const char *id, char *from, char *to)
{
    const char *actor = auth_actor(c->a, &c->who);
    if (actions[a].action < 0) {
        lc_result r = lifecycle_delete(c->db, id, actor, from);
        if (to) snprintf(to, 16, "%s", r == LC_OK ? "deleted" : from);
        return r;
    }
    return lifecycle_act(c->db, id, (lc_action)actions[a].action, actor, from, to);
}

int action_try(ctx *c, int a, const char *id, char from[16], char to[16], const char **msg)
{
    /* Access per session: one the caller cannot read is "not found". */
    char project[101] = "";
    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_STATE);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(project, sizeof project, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
    if (rc != SQLITE_ROW || !auth_can(&c->who, PERM_READ, project)) {
        *msg = "no such session";
        return ACT_NOT_FOUND;
    }
    if (!auth_can(&c->who, actions[a].perm, project)) {
        *msg = "your role does not allow this in the session's project";
        return ACT_FORBIDDEN;
    }
    lc_result lr = action_apply(c, a, id, from, to);
    if (lr == LC_REFUSED) { *msg = "not allowed in the session's status"; return ACT_REFUSED; }
    if (lr == LC_NOT_FOUND) { *msg = "no such session"; return ACT_NOT_FOUND; }
    if (lr != LC_OK) return -1;
    *msg = "done";
    return ACT_OK;
}

const char *action_reason_code(int e)
{
    switch (e) {
    case ACT_NOT_FOUND: return "not_found";
    case ACT_FORBIDDEN: return "forbidden";
    case ACT_REFUSED:   return "invalid_transition";
    default:            return NULL;
    }
}

const char *action_name(int a) { return actions[a].name; }

/* 409: the action is not allowed in the session's current status. */
static hres refused(ctx *c, const char *action, const char *status)
{
    return ctx_conflict(c, "invalid_transition", status, "a %s session cannot be %s", status,
                        strcmp(action, "delete") == 0
                            ? "deleted (only completed, failed or canceled ones can)"
                        : strcmp(action, "pause") == 0  ? "paused"
                        : strcmp(action, "resume") == 0 ? "resumed"
                                                        : "canceled");
}

/* POST /api/v1/sessions/{id}/pause|resume|cancel and DELETE /api/v1/sessions/{id}. */
static hres api_action(ctx *c, const char *name)
{
    const char *id = ctx_param(c, 0);
    int a = action_find(name);
    int ok = ctx_session_access(c, id, actions[a].perm, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    char from[16] = "", to[16] = "";
    lc_result r = action_apply(c, a, id, from, to);
    if (r == LC_REFUSED) return refused(c, name, from);
    if (r == LC_NOT_FOUND) return ctx_error(c, 404, "not_found", "no session \"%.64s\"", id);
    if (r != LC_OK) return HR_ERROR;
    if (actions[a].action < 0) {
        c->resp.status = 204;
        return HR_OK;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "status", to);
    cJSON_AddStringToObject(o, "previous_status", from);
    return ctx_json(c, 200, o);
}

hres h_api_pause(ctx *c)  { return api_action(c, "pause"); }
hres h_api_resume(ctx *c) { return api_action(c, "resume"); }
hres h_api_cancel(ctx *c) { return api_action(c, "cancel"); }
hres h_api_delete(ctx *c) { return api_action(c, "delete"); }

hres h_api_bulk(ctx *c)
{
    cJSON *in = ctx_body_json(c);
    if (!in) return HR_OK;
    if (!cJSON_IsObject(in)) /* an array's members have no names to check */
        return ctx_error(c, 422, "invalid_body", "send {\"action\": ..., \"ids\": [...]}");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(in, "action");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(in, "ids");
    for (const cJSON *m = in->child; m; m = m->next)
        if (strcmp(m->string, "action") != 0 && strcmp(m->string, "ids") != 0)
            return ctx_error_field(c, 422, "unknown_field", m->string,
                                   "unknown field \"%.40s\"", m->string);
    int a = cJSON_IsString(act) ? action_find(act->valuestring) : -1;
    if (a < 0)
        return ctx_error_field(c, 422, "invalid_field", "action",
                               "action must be one of pause, resume, cancel, delete");
    if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0)
        return ctx_error_field(c, 422, "invalid_field", "ids", "ids must be a non-empty array");
    if (cJSON_GetArraySize(ids) > BULK_MAX)
        return ctx_error_field(c, 413, "too_many_ids", "ids", "at most %d ids per request", BULK_MAX);
    for (const cJSON *x = ids->child; x; x = x->next)
        if (!cJSON_IsString(x) || !ingest_id_valid(x->valuestring))
            return ctx_error_field(c, 422, "invalid_field", "ids",
                                   "every id must be a session id string");
    if (!auth_can(&c->who, actions[a].perm, NULL))
        return ctx_error(c, 403, "forbidden", "your role does not allow %s", actions[a].name);

    cJSON *o = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(o, "results");
    int okn = 0, failn = 0;
    for (const cJSON *x = ids->child; x; x = x->next) {
        const char *id = x->valuestring;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToArray(results, r);
        cJSON_AddStringToObject(r, "id", id);
        char from[16] = "", to[16] = "";
        const char *msg = NULL;
        int e = action_try(c, a, id, from, to, &msg);
        if (e < 0) goto fail;
        const char *code = action_reason_code(e);
        cJSON_AddBoolToObject(r, "ok", code == NULL);
        if (code) {
            cJSON *er = cJSON_AddObjectToObject(r, "error");
            cJSON_AddStringToObject(er, "code", code);
            cJSON_AddStringToObject(er, "message", msg);
            if (*from) cJSON_AddStringToObject(r, "status", from);
            failn++;
        } else {
            cJSON_AddStringToObject(r, "status", to);
            cJSON_AddStringToObject(r, "previous_status", from);
            okn++;
        }
    }
    cJSON_AddNumberToObject(o, "succeeded", okn);
    cJSON_AddNumberToObject(o, "failed", failn);
    return ctx_json(c, 200, o);
fail:
    cJSON_Delete(o);
    return HR_ERROR;
}

/* Status and last sequence of a session; 0, 1 when gone, -1 on error. */
static int control_read(ctx *c, const char *id, char status[16], long long *seq)
{
    sqlite3_stmt *st = db_stmt(c->db, SQL_SESSION_CONTROL);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        *seq = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

hres h_api_control(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_RUNTIME, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    const char *known = http_kvs_get(&c->req.query, "status");
    const char *kseq = http_kvs_get(&c->req.query, "seq");
    const char *wait_s = http_kvs_get(&c->req.query, "wait");
    char *end;
    long wait = wait_s ? strtol(wait_s, &end, 10) : 0;
    if (wait_s && (*end || wait < 0))
        return ctx_error_field(c, 400, "invalid_parameter", "wait", "wait must be seconds >= 0");
    if (wait > CONTROL_MAX_S) wait = CONTROL_MAX_S;
    long long known_seq = kseq ? strtoll(kseq, &end, 10) : -1;
    if (kseq && *end)
        return ctx_error_field(c, 400, "invalid_parameter", "seq", "seq must be a sequence number");

    char status[16];
    long long seq = 0;
    int slot = 0;
    uint64_t gen = notify_generation();
    int64_t deadline = db_now_ms() + wait * 1000;
    for (;;) {
        int e = control_read(c, id, status, &seq);
        if (e < 0) { if (slot) notify_leave(); return HR_ERROR; }
        if (e > 0) {
            if (slot) notify_leave();
            return ctx_error(c, 404, "not_found", "the session was deleted");
        }
        int changed = (known && strcmp(known, status) != 0) || (kseq && seq > known_seq);
        int64_t left = deadline - db_now_ms();
        if (changed || !known || left <= 0) break;
        if (!slot && !(slot = notify_enter())) {
            /* Every long-poll slot is taken: answer now rather than hold a
             * worker a page might need; the runtime polls again. */
            http_resp_header(&c->resp, "Retry-After", "1");
            break;
        }
        ctx_db_park(c); /* no connection held while waiting */
        gen = notify_wait(gen, left < NOTIFY_RECHECK_MS ? (int)left : NOTIFY_RECHECK_MS);
        ctx_db_resume(c);
    }
    if (slot) notify_leave();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    cJSON_AddBoolToObject(o, "tool_calls_allowed", lifecycle_accepts_tool_calls(status));
    return ctx_json(c, 200, o);
}

hres h_api_input(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_INPUT, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *in = ctx_body_json(c);
    if (!in) return HR_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(in, "type");
    const char *actor = auth_actor(c->a, &c->who);
    ingest_result res;
    ingest_err err = { 0 };
    if (cJSON_IsString(type) && strcmp(type->valuestring, "message") == 0) {
        for (const cJSON *m = in->child; m; m = m->next)
            if (strcmp(m->string, "type") && strcmp(m->string, "content") && strcmp(m->string, "id"))
                return ctx_error_field(c, 422, "unknown_field", m->string,
                                       "unknown field \"%.40s\"", m->string);
        /* A message is a user_message event; ingest continues a finished session. */
        cJSON *ev = cJSON_Duplicate(in, 1);
        if (!ev) return HR_ERROR;
        cJSON_ReplaceItemInObjectCaseSensitive(ev, "type", cJSON_CreateString("user_message"));
        int rc = ingest_events(c->db, id, ev, actor, &res, NULL, &err);
        cJSON_Delete(ev);
        if (rc) return answer_ingest_err(c, &err);
    } else if (cJSON_IsString(type) && strcmp(type->valuestring, "tool_result") == 0) {
        const cJSON *tc = cJSON_GetObjectItemCaseSensitive(in, "tool_call_id");
        for (const cJSON *m = in->child; m; m = m->next)
            if (strcmp(m->string, "type") && strcmp(m->string, "tool_call_id") &&
                strcmp(m->string, "result") && strcmp(m->string, "error") && strcmp(m->string, "id"))
                return ctx_error_field(c, 422, "unknown_field", m->string,
                                       "unknown field \"%.40s\"", m->string);
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(in, "id");
        if (!cJSON_IsString(tc))
            return ctx_error_field(c, 422, "missing_field", "tool_call_id", "tool_call_id is required");
        if (key && (!cJSON_IsString(key) || !*key->valuestring || strlen(key->valuestring) > 128))
            return ctx_error_field(c, 422, "invalid_field", "id", "id must be a string of 1 to 128 bytes");
        const char *idem = key ? key->valuestring : NULL; /* a string by now */
        if (ingest_resolve_call(c->db, id, tc->valuestring, "waiting_for_client",
                                cJSON_GetObjectItemCaseSensitive(in, "result"),
                                cJSON_GetObjectItemCaseSensitive(in, "error"), idem, actor, &res, &err))
            return answer_ingest_err(c, &err);
    } else {
        return ctx_error_field(c, 422, "invalid_field", "type",
                               "type must be \"message\" or \"tool_result\"");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", res.status);
    cJSON_AddNumberToObject(o, "accepted", res.accepted);
    cJSON_AddNumberToObject(o, "duplicates", res.duplicates);
    return ctx_json(c, 200, o);
}

hres h_api_client_calls(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_INPUT, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    sqlite3_stmt *st = db_stmt(c->db, SQL_CLIENT_CALLS);
    if (!st) return HR_ERROR;
    db_bind_text(st, 1, id);
    cJSON *o = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(o, "data");
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *row = db_row_json(st);
        if (row) cJSON_AddItemToArray(data, row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) { cJSON_Delete(o); return HR_ERROR; }
    cJSON_AddNullToObject(o, "next_cursor");
    return ctx_json(c, 200, o);
}
