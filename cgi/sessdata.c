/* sessdata: a session's artifacts, logs, report, eval runs, trace and called
 * sessions as JSON. See sessdata.h. */
#include "sessdata.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fmt.h"

/* ------------------------------------------------------------- helpers */

int sessdata_severity(const char *name)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; name && i < 4; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* Append every row of st (bound, not yet stepped) to arr as db_row_json
 * objects, at most limit; *more is set when a further row exists (pass
 * limit + 1 in the SQL). The statement is reset. 0 or -1. */
static int rows_into(sqlite3_stmt *st, cJSON *arr, int limit, int *more)
{
    int rc, n = 0;
    if (more) *more = 0;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            if (more) *more = 1;
            rc = SQLITE_DONE;
            break;
        }
        cJSON *row = db_row_json(st);
        if (!row) { rc = SQLITE_NOMEM; break; }
        cJSON_AddItemToArray(arr, row);
        n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The id of the last element of arr (an object with a numeric "id"). */
static int64_t last_id(const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    const cJSON *last = n ? cJSON_GetArrayItem(arr, n - 1) : NULL;
    const cJSON *id = last ? cJSON_GetObjectItemCaseSensitive(last, "id") : NULL;
    return id && cJSON_IsNumber(id) ? (int64_t)id->valuedouble : 0;
}

/* ------------------------------------------------------------- include= */

static const struct {
    const char *name;
    unsigned    bit;
} parts[] = {
    { "events", SD_EVENTS }, { "messages", SD_MESSAGES }, { "children", SD_CHILDREN },
    { "trace", SD_TRACE },   { "logs", SD_LOGS },         { "artifacts", SD_ARTIFACTS },
    { "evals", SD_EVALS },   { "agents", SD_AGENTS },       { "timeline", SD_TIMELINE },
    { "user_data", SD_USER_DATA }, { "route", SD_ROUTE },
};

int sessdata_include_parse(const char *list, unsigned *mask, char *bad, size_t n)
{
    *mask = 0;
    if (bad && n) bad[0] = '\0';
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        size_t len = (size_t)(e - p);
        while (len && p[len - 1] == ' ') len--;
        if (len) {
            size_t k;
            for (k = 0; k < sizeof parts / sizeof parts[0]; k++)
                if (strlen(parts[k].name) == len && !memcmp(parts[k].name, p, len)) break;
            if (k == sizeof parts / sizeof parts[0]) {
                if (bad && n) snprintf(bad, n, "%.*s", (int)(len < 40 ? len : 40), p);
                return -1;
            }
            *mask |= parts[k].bit;
        }
        p = e;
    }
    return 0;
}

cJSON *sessdata_session(db *d, const char *id, int *missing)
{
    *missing = 0;
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_GET_API);
    if (!st) return NULL;
    db_bind_text(st, 1, id);
    int rc = db_step(st);
    cJSON *o = rc == SQLITE_ROW ? db_row_json(st) : NULL;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) *missing = 1;
    return o;
}

/* May who read sessions of project (NULL who: full access)? */
static int can_read(const principal *who, const char *project)
{
    return !who || auth_can(who, PERM_READ, project ? project : "");
}

/* Sessions called directly: {id,name,agent,status,project}, or only id,
 * name, status and restricted:true where who may not read. */
static int add_children(db *d, cJSON *o, const char *id, const principal *who)
{
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_CHILDREN);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    cJSON *arr = cJSON_AddArrayToObject(o, "children");
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *row = db_row_json(st);
        if (!row) { rc = SQLITE_NOMEM; break; }
        if (!can_read(who, (const char *)sqlite3_column_text(st, 4))) {
            cJSON_DeleteItemFromObjectCaseSensitive(row, "agent");
            cJSON_DeleteItemFromObjectCaseSensitive(row, "project");
            cJSON_AddBoolToObject(row, "restricted", 1);
        }
        cJSON_AddItemToArray(arr, row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Every descendant: {id,name,agent,status,depth,parent_session_id,
 * total_cost,tokens}; where who may not read, agent, cost and tokens are
 * left out and restricted:true added. */
static int add_agents(db *d, cJSON *o, const char *id, const principal *who)
{
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_DESCENDANTS);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, SD_INCLUDE_LIST_MAX);
    cJSON *arr = cJSON_AddArrayToObject(o, "agents");
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *row = db_row_json(st);
        if (!row) { rc = SQLITE_NOMEM; break; }
        cJSON_DeleteItemFromObjectCaseSensitive(row, "project");
        if (!can_read(who, (const char *)sqlite3_column_text(st, 8))) {
            cJSON_DeleteItemFromObjectCaseSensitive(row, "agent");
            cJSON_DeleteItemFromObjectCaseSensitive(row, "total_cost");
            cJSON_DeleteItemFromObjectCaseSensitive(row, "tokens");
            cJSON_AddBoolToObject(row, "restricted", 1);
        }
        cJSON_AddItemToArray(arr, row);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* o[key] = the rows of statement sql bound to (id, limit). */
static int add_rows(db *d, cJSON *o, const char *key, db_sql_id sql, const char *id, int limit)
{
    sqlite3_stmt *st = db_stmt(d, sql);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, limit);
    return rows_into(st, cJSON_AddArrayToObject(o, key), limit, NULL);
}

/* o["timeline"]: the spans of TRACE_SPANS (by start) as a forest, each
 * span with "children" (by start) when it has any; a span whose parent is
 * not among them, or that would close a cycle of parent ids, is a root. */
static int add_timeline(db *d, cJSON *o, const char *id)
{
    cJSON *flat = cJSON_CreateArray();
    if (!flat) return -1;
    sqlite3_stmt *st = db_stmt(d, SQL_TRACE_SPANS);
    if (!st) { cJSON_Delete(flat); return -1; }
    db_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, SD_INCLUDE_LIST_MAX);
    if (rows_into(st, flat, SD_INCLUDE_LIST_MAX, NULL)) { cJSON_Delete(flat); return -1; }
    int n = cJSON_GetArraySize(flat), rc = -1;
    cJSON **span = calloc((size_t)n + 1, sizeof(cJSON *));
    int *parent = calloc((size_t)n + 1, sizeof *parent);
    cJSON *roots = cJSON_AddArrayToObject(o, "timeline");
    if (!span || !parent || !roots) goto out;
    int i = 0;
    for (cJSON *s = flat->child; s; s = s->next) span[i++] = s;
    for (i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(span[i], "parent_span_id");
        parent[i] = -1;
        for (int k = 0; cJSON_IsString(p) && k < n; k++) {
            const cJSON *sid = cJSON_GetObjectItemCaseSensitive(span[k], "span_id");
            if (k != i && cJSON_IsString(sid) && strcmp(sid->valuestring, p->valuestring) == 0) {
                parent[i] = k;
                break;
            }
        }
    }
    /* Break cycles: walking up from i must end within n steps without
     * coming back to i. */
    for (i = 0; i < n; i++) {
        int k = parent[i], steps = 0;
        while (k >= 0 && k != i && steps++ < n) k = parent[k];
        if (k == i) parent[i] = -1;
    }
    for (i = 0; i < n; i++) cJSON_DetachItemViaPointer(flat, span[i]);
    for (i = 0; i < n; i++) {
        cJSON *to = roots;
        if (parent[i] >= 0) {
            to = cJSON_GetObjectItemCaseSensitive(span[parent[i]], "children");
            if (!to) to = cJSON_AddArrayToObject(span[parent[i]], "children");
        }
        if (!to) { /* out of memory: the rest are freed below */
            for (int k = i; k < n; k++) cJSON_Delete(span[k]);
            goto out;
        }
        cJSON_AddItemToArray(to, span[i]);
    }
    rc = 0;
out:
    free(span);
    free(parent);
    cJSON_Delete(flat);
    return rc;
}

/* o["user_data"]: the session's user data as JSON. */
static int add_user_data(db *d, cJSON *o, const char *id)
{
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_USER_DATA);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    int rc = db_step(st);
    cJSON *row = rc == SQLITE_ROW ? db_row_json(st) : NULL;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return cJSON_AddNullToObject(o, "user_data") ? 0 : -1;
    if (!row) return -1;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(row, "user_data");
    cJSON_Delete(row);
    if (!v) return -1;
    cJSON_AddItemToObject(o, "user_data", v);
    return 0;
}

int sessdata_event(db *d, const char *sid, int64_t event_id, cJSON **ev)
{
    *ev = NULL;
    sqlite3_stmt *st = db_stmt(d, SQL_EVENT_GET_API);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, event_id);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) *ev = db_row_json(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 1;
    return rc == SQLITE_ROW && *ev ? 0 : -1;
}

int sessdata_include(db *d, cJSON *o, const char *id, unsigned mask, const principal *who)
{
    int64_t next;
    char cursor[SD_CURSOR_MAX];
    if (mask & SD_EVENTS) {
        sqlite3_stmt *st = db_stmt(d, SQL_EVENT_LIST_API);
        if (!st) return -1;
        db_bind_text(st, 1, id);
        sqlite3_bind_int64(st, 2, 0);
        sqlite3_bind_int(st, 3, SD_INCLUDE_LIST_MAX);
        sqlite3_bind_int(st, 4, 0);
        sqlite3_bind_null(st, 5);
        if (rows_into(st, cJSON_AddArrayToObject(o, "events"), SD_INCLUDE_LIST_MAX, NULL)) return -1;
    } else if ((mask & SD_MESSAGES) &&
               add_rows(d, o, "events", SQL_EVENT_LIST_MESSAGES, id, SD_INCLUDE_LIST_MAX)) {
        return -1;
    }
    if ((mask & SD_CHILDREN) && add_children(d, o, id, who)) return -1;
    if ((mask & SD_TRACE) && add_rows(d, o, "trace", SQL_TRACE_SPANS, id, SD_INCLUDE_LIST_MAX))
        return -1;
    if ((mask & SD_LOGS) &&
        sessdata_logs(d, id, SD_DEBUG, 0, SD_INCLUDE_LIST_MAX, cJSON_AddArrayToObject(o, "logs"), &next))
        return -1;
    if ((mask & SD_ARTIFACTS) &&
        sessdata_artifacts(d, id, NULL, SD_INCLUDE_LIST_MAX, cJSON_AddArrayToObject(o, "artifacts"),
                           cursor))
        return -1;
    if ((mask & SD_EVALS) &&
        sessdata_evals(d, id, 0, SD_INCLUDE_LIST_MAX, cJSON_AddArrayToObject(o, "evals"), &next))
        return -1;
    if ((mask & SD_AGENTS) && add_agents(d, o, id, who)) return -1;
    if ((mask & SD_TIMELINE) && add_timeline(d, o, id)) return -1;
    if ((mask & SD_USER_DATA) && add_user_data(d, o, id)) return -1;
    if (mask & SD_ROUTE) {
        /* The request fields, grouped: what a route-oriented client asks for. */
        cJSON *r = cJSON_AddObjectToObject(o, "route");
        static const char *const keys[] = { "method", "url", "route_id" };
        for (size_t i = 0; r && i < sizeof keys / sizeof keys[0]; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
            cJSON *copy = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
            if (!copy || !cJSON_AddItemToObject(r, keys[i], copy)) { cJSON_Delete(copy); return -1; }
        }
        if (!r) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- tasks */

/* Text column i of st's current row, "" for NULL. */
static const char *task_col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

cJSON *sessdata_task_json(sqlite3_stmt *st)
{
    char t[40];
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, SDT_EVENT));
    cJSON_AddStringToObject(o, "session_id", task_col(st, SDT_SESSION));
    cJSON_AddStringToObject(o, "session_name", task_col(st, SDT_NAME));
    cJSON_AddStringToObject(o, "agent", task_col(st, SDT_AGENT));
    cJSON_AddStringToObject(o, "tool", task_col(st, SDT_TOOL));
    cJSON_AddStringToObject(o, "tool_call_id", task_col(st, SDT_TCID));
    cJSON *args = cJSON_Parse(task_col(st, SDT_ARGS));
    cJSON_AddItemToObject(o, "arguments", args ? args : cJSON_CreateObject());
    fmt_rfc3339(sqlite3_column_int64(st, SDT_STARTED), t, sizeof t);
    cJSON_AddStringToObject(o, "waiting_since", t);
    return o;
}

/* ------------------------------------------------------------ artifacts */

/* The API object of an artifact (no content). */
static cJSON *artifact_json(const char *id, const char *name, const char *media_type,
                            int64_t size, const char *origin, int64_t created)
{
    char t[40];
    fmt_rfc3339(created, t, sizeof t);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "media_type", media_type);
    cJSON_AddNumberToObject(o, "size", (double)size);
    cJSON_AddStringToObject(o, "origin", origin);
    cJSON_AddStringToObject(o, "created_at", t);
    return o;
}

/* The artifact object of the current row (columns of ARTIFACT_LIST). */
static cJSON *artifact_row(sqlite3_stmt *st)
{
    const char *c[5];
    for (int i = 0; i < 5; i++) {
        c[i] = (const char *)sqlite3_column_text(st, i);
        if (!c[i]) c[i] = "";
    }
    return artifact_json(c[0], c[1], c[2], sqlite3_column_int64(st, 3), c[4],
                         sqlite3_column_int64(st, 5));
}

int sessdata_artifact_add(db *d, const char *sid, const char *name, const char *media_type,
                          const char *origin, const void *content, size_t size, char *id_out,
                          cJSON **meta)
{
    *meta = NULL;
    memcpy(id_out, "art_", 4); /* NOLINT(bugprone-not-null-terminated-result): auth_random_id terminates it */
    auth_random_id(id_out + 4, SD_ARTIFACT_ID_LEN - 4);
    if (db_begin(d)) return -1;
    int64_t now = db_now_ms();
    sqlite3_stmt *st = db_stmt(d, SQL_ARTIFACT_INSERT);
    if (!st) goto fail;
    db_bind_text(st, 1, id_out);
    db_bind_text(st, 2, sid);
    db_bind_text(st, 3, name);
    db_bind_text(st, 4, media_type);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)size);
    db_bind_text(st, 6, origin);
    /* Static: the bytes outlive the statement's step (reset below). */
    sqlite3_bind_blob64(st, 7, size ? content : "", (sqlite3_uint64)size, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now);
    int rc = db_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) { db_rollback(d); return 1; }
    if (rc != SQLITE_DONE) goto fail;
    st = db_stmt(d, SQL_SESSION_TOUCH);
    if (!st) goto fail;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, now);
    if (db_exec(st) || db_commit(d)) goto fail;
    *meta = artifact_json(id_out, name, media_type, (int64_t)size, origin, now);
    return *meta ? 0 : -1;
fail:
    db_rollback(d);
    return -1;
}

/* An artifacts cursor: base64url of "<created_at ms>.<artifact id>". */
static int cursor_make(int64_t created, const char *id, char *out)
{
    char raw[SD_CURSOR_MAX / 2];
    int n = snprintf(raw, sizeof raw, "%" PRId64 ".%s", created, id);
    if (n < 0 || (size_t)n >= sizeof raw ||
        sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > SD_CURSOR_MAX)
        return -1;
    sodium_bin2base64(out, SD_CURSOR_MAX, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

/* Decode a cursor into (created, id); 0, or -1 when it is not one of ours. */
static int cursor_parse(const char *s, int64_t *created, char id[SD_ARTIFACT_ID_LEN + 1])
{
    unsigned char raw[SD_CURSOR_MAX];
    size_t n = 0;
    const char *end = NULL;
    if (!s || strlen(s) >= SD_CURSOR_MAX ||
        sodium_base642bin(raw, sizeof raw - 1, s, strlen(s), NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        !end || *end)
        return -1;
    raw[n] = '\0';
    char *dot = memchr(raw, '.', n);
    if (!dot || dot == (char *)raw) return -1;
    *dot = '\0';
    for (const unsigned char *p = raw; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    if (dot - (char *)raw > 15) return -1;
    *created = strtoll((const char *)raw, NULL, 10);
    const char *aid = dot + 1;
    size_t len = strlen(aid);
    if (len != SD_ARTIFACT_ID_LEN || strncmp(aid, "art_", 4) != 0) return -1;
    for (size_t i = 4; i < len; i++) {
        char c = aid[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return -1;
    }
    memcpy(id, aid, len + 1);
    return 0;
}

int sessdata_artifacts(db *d, const char *sid, const char *after, int limit, cJSON *arr,
                       char *next)
{
    int64_t ct = 0;
    char cid[SD_ARTIFACT_ID_LEN + 1] = "";
    next[0] = '\0';
    if (after && cursor_parse(after, &ct, cid)) return 1;
    sqlite3_stmt *st = db_stmt(d, SQL_ARTIFACT_LIST);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    if (after) {
        sqlite3_bind_int64(st, 2, ct);
        db_bind_text(st, 3, cid);
    }
    sqlite3_bind_int(st, 4, limit + 1);
    int rc, n = 0;
    int64_t last_t = 0;
    char last[SD_ARTIFACT_ID_LEN + 1] = "";
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            /* A further row: there is a next page, starting after the last one shown. */
            rc = cursor_make(last_t, last, next) ? SQLITE_NOMEM : SQLITE_DONE;
            break;
        }
        cJSON *row = artifact_row(st);
        if (!row) { rc = SQLITE_NOMEM; break; }
        cJSON_AddItemToArray(arr, row);
        last_t = sqlite3_column_int64(st, 5);
        snprintf(last, sizeof last, "%s", (const char *)sqlite3_column_text(st, 0));
        n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int sessdata_artifact_read(db *d, const char *sid, const char *aid, cJSON **meta, buf *content)
{
    *meta = NULL;
    sqlite3_stmt *st = db_stmt(d, SQL_ARTIFACT_GET);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    db_bind_text(st, 2, aid);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) {
        *meta = artifact_row(st);
        if (content) {
            const void *p = sqlite3_column_blob(st, 6);
            size_t n = (size_t)sqlite3_column_bytes(st, 6);
            if (n) buf_add(content, p, n);
        }
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 1;
    if (rc != SQLITE_ROW || !*meta || (content && content->err)) {
        cJSON_Delete(*meta);
        *meta = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------- logs and evals */

int sessdata_logs(db *d, const char *sid, int min_sev, int64_t after, int limit, cJSON *arr,
                  int64_t *next)
{
    *next = 0;
    sqlite3_stmt *st = db_stmt(d, SQL_LOG_PAGE);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, min_sev);
    sqlite3_bind_int(st, 4, limit + 1);
    int more;
    if (rows_into(st, arr, limit, &more)) return -1;
    if (more) *next = last_id(arr);
    return 0;
}

int sessdata_evals(db *d, const char *sid, int64_t after, int limit, cJSON *arr, int64_t *next)
{
    *next = 0;
    sqlite3_stmt *st = db_stmt(d, SQL_EVAL_LIST);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, limit + 1);
    int more;
    if (rows_into(st, arr, limit, &more)) return -1;
    if (more) *next = last_id(arr);
    return 0;
}

int sessdata_eval_put(db *d, const char *sid, int64_t run_id, const char *eval_id,
                      const char *state, const char *result, cJSON **run)
{
    *run = NULL;
    if (db_begin(d)) return -1;
    int64_t now = db_now_ms(), id = 0;
    sqlite3_stmt *st = db_stmt(d, run_id ? SQL_EVAL_UPDATE : SQL_EVAL_INSERT);
    if (!st) goto fail;
    if (run_id) {
        sqlite3_bind_int64(st, 1, run_id);
        db_bind_text(st, 2, sid);
        db_bind_text(st, 3, eval_id);
        db_bind_text(st, 4, state);
        db_bind_text(st, 5, result);
    } else {
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, eval_id);
        db_bind_text(st, 3, state ? state : "pending");
        db_bind_text(st, 4, result ? result : "{}");
        sqlite3_bind_int64(st, 5, now);
    }
    int rc = db_step(st);
    if (rc == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE || rc == SQLITE_CONSTRAINT_FOREIGNKEY) { db_rollback(d); return 1; }
    if (rc != SQLITE_ROW) goto fail;
    st = db_stmt(d, SQL_SESSION_TOUCH);
    if (!st) goto fail;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, now);
    if (db_exec(st)) goto fail;
    st = db_stmt(d, SQL_EVAL_GET);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (db_step(st) == SQLITE_ROW) *run = db_row_json(st);
    sqlite3_reset(st);
    if (!*run || db_commit(d)) goto fail;
    return 0;
fail:
    cJSON_Delete(*run);
    *run = NULL;
    db_rollback(d);
    return -1;
}

/* --------------------------------------------------------------- report */

int sessdata_report_set(db *d, const char *sid, const char *report)
{
    sqlite3_stmt *st = db_stmt(d, SQL_REPORT_SET);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    db_bind_text(st, 2, report);
    sqlite3_bind_int64(st, 3, db_now_ms());
    if (db_exec(st)) return -1;
    return sqlite3_changes(db_handle(d)) ? 0 : 1;
}

int sessdata_report_get(db *d, const char *sid, cJSON **report, char *name, size_t n)
{
    *report = NULL;
    if (n) name[0] = '\0';
    sqlite3_stmt *st = db_stmt(d, SQL_REPORT_GET);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    int rc = db_step(st), bad = 0;
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 1);
        if (n) snprintf(name, n, "%s", t ? t : "");
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            *report = cJSON_ParseWithLength((const char *)sqlite3_column_text(st, 0),
                                            (size_t)sqlite3_column_bytes(st, 0));
            bad = !*report;
        }
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 1;
    return rc == SQLITE_ROW && !bad ? 0 : -1;
}
