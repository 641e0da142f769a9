/* lifecycle: the session status machine. See lifecycle.h. */
#include "lifecycle.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "bg.h"
#include "db.h"
#include "seal.h"

static const char *const action_names[LC__COUNT] = {
    [LC_START] = "start", [LC_PAUSE] = "pause", [LC_RESUME] = "resume",
    [LC_CANCEL] = "cancel", [LC_RETRY] = "retry", [LC_RECOVER] = "recover",
    [LC_COMPLETE] = "complete", [LC_FAIL] = "fail", [LC_SETTLE] = "settle",
    [LC_CONTINUE] = "continue",
};

const char *lc_action_name(lc_action a)
{
    return (unsigned)a < LC__COUNT ? action_names[a] : "?";
}

int lc_action_parse(const char *name)
{
    for (int i = 0; name && i < LC__COUNT; i++)
        if (strcmp(name, action_names[i]) == 0) return i;
    return -1;
}

static int is(const char *s, const char *t) { return strcmp(s, t) == 0; }

const char *lifecycle_status_label(const char *s)
{
    static const char *const map[][2] = {
        { "pending", "Pending" }, { "running", "Running" }, { "retrying", "Retrying" },
        { "pausing", "Pausing" }, { "paused", "Paused" }, { "canceling", "Canceling" },
        { "canceled", "Canceled" }, { "completed", "Completed" }, { "failed", "Failed" } };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (is(map[i][0], s)) return map[i][1];
    return s;
}

int lifecycle_is_terminal(const char *s)
{
    return is(s, "completed") || is(s, "failed") || is(s, "canceled");
}

int lifecycle_accepts_tool_calls(const char *s)
{
    return is(s, "running") || is(s, "retrying");
}

const char *lifecycle_next(const char *s, lc_action a, int executing)
{
    switch (a) {
    case LC_START:
        return is(s, "pending") ? "running" : NULL;
    case LC_PAUSE:
        if (is(s, "running") || is(s, "retrying")) return executing > 0 ? "pausing" : "paused";
        return NULL;
    case LC_RESUME:
        return is(s, "paused") ? "running" : NULL;
    case LC_CANCEL:
        if (is(s, "pending") || is(s, "running") || is(s, "retrying") || is(s, "paused"))
            return executing > 0 ? "canceling" : "canceled";
        return NULL;
    case LC_RETRY:
        return is(s, "running") ? "retrying" : NULL;
    case LC_RECOVER:
        return is(s, "retrying") ? "running" : NULL;
    case LC_COMPLETE:
        return (is(s, "running") || is(s, "retrying") || is(s, "pausing")) ? "completed" : NULL;
    case LC_FAIL:
        return lifecycle_is_terminal(s) ? NULL : "failed";
    case LC_CONTINUE:
        /* Cancel is permanent: a canceled session does not continue. */
        return (is(s, "completed") || is(s, "failed")) ? "running" : NULL;
    case LC_SETTLE:
        if (executing > 0) return NULL;
        if (is(s, "pausing")) return "paused";
        if (is(s, "canceling")) return "canceled";
        return NULL;
    default:
        return NULL;
    }
}

/* Write the activity entry and the audit entry for one change. */
static int lifecycle_record(db *d, const char *id, lc_action action, const char *actor,
                            const char *detail, const char *from, const char *to,
                            int64_t now)
{
    int rc = -1;
    char *body = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o) goto out;
    cJSON_AddStringToObject(o, "action", lc_action_name(action));
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "to", to);
    cJSON_AddStringToObject(o, "actor", actor);
    if (detail && *detail) cJSON_AddStringToObject(o, "detail", detail);
    body = cJSON_PrintUnformatted(o);
    if (!body) goto out;

    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_RESERVE_SEQ);
    if (!st) goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, 1);
    sqlite3_bind_int64(st, 3, now);
    if (db_step(st) != SQLITE_ROW) goto out;
    int64_t seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    st = db_stmt(d, SQL_EVENT_INSERT);
    if (!st) goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_text(st, 3, "lifecycle", -1, SQLITE_STATIC);
    sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_text(st, 6, actor, -1, SQLITE_STATIC);
    sqlite3_bind_null(st, 7);
    sqlite3_bind_text(st, 8, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, now);
    if (db_exec(st)) goto out;

    st = db_stmt(d, SQL_AUDIT_INSERT);
    if (!st) goto out;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, lc_action_name(action), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, to, -1, SQLITE_STATIC);
    db_bind_text(st, 7, detail ? detail : "");
    rc = db_exec(st);
out:
    cJSON_free(body);
    cJSON_Delete(o);
    return rc;
}

lc_result lifecycle_apply(db *d, const char *id, lc_action action, const char *actor,
                          const char *detail, char *from, char *to)
{
    char cur[16];
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_STATE);
    if (!st) return LC_DB_ERROR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = db_step(st);
    if (rc == SQLITE_DONE) return LC_NOT_FOUND;
    if (rc != SQLITE_ROW) return LC_DB_ERROR;
    snprintf(cur, sizeof cur, "%s", (const char *)sqlite3_column_text(st, 0));
    int executing = sqlite3_column_int(st, 2);
    sqlite3_reset(st);

    if (from) snprintf(from, 16, "%s", cur);
    if (to) snprintf(to, 16, "%s", cur);
    const char *next = lifecycle_next(cur, action, executing);
    if (!next) return action == LC_SETTLE ? LC_OK : LC_REFUSED;

    int64_t now = db_now_ms();
    st = db_stmt(d, SQL_SESSION_SET_STATUS);
    if (!st) return LC_DB_ERROR;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, next, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if (db_exec(st)) return LC_DB_ERROR;

    /* Calls waiting for a person or the client end with the session's run:
     * on cancel, and on any terminal status (no one would get the answer). */
    if (action == LC_CANCEL || lifecycle_is_terminal(next)) {
        st = db_stmt(d, SQL_TOOLCALL_CANCEL_WAITING);
        if (!st) return LC_DB_ERROR;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        if (db_exec(st)) return LC_DB_ERROR;
    }
    /* Completed or failed: calls still executing can report to no one. (A
     * cancel instead waits for them: canceling, then canceled.) */
    if (is(next, "completed") || is(next, "failed")) {
        st = db_stmt(d, SQL_TOOLCALL_CANCEL_RUNNING);
        if (!st) return LC_DB_ERROR;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        if (db_exec(st)) return LC_DB_ERROR;
        st = db_stmt(d, SQL_SESSION_CLEAR_EXECUTING);
        if (!st) return LC_DB_ERROR;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (db_exec(st)) return LC_DB_ERROR;
    }
    if (action == LC_CONTINUE) {
        st = db_stmt(d, SQL_SESSION_CLEAR_OUTCOME);
        if (!st) return LC_DB_ERROR;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (db_exec(st)) return LC_DB_ERROR;
    }
    if (action == LC_RETRY) {
        st = db_stmt(d, SQL_SESSION_ADD_RETRY);
        if (!st) return LC_DB_ERROR;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (db_exec(st)) return LC_DB_ERROR;
    }
    if (lifecycle_record(d, id, action, actor, detail, cur, next, now)) return LC_DB_ERROR;
    if (to) snprintf(to, 16, "%s", next);
    return LC_OK;
}

lc_result lifecycle_act(db *d, const char *id, lc_action action, const char *actor,
                        char *from, char *to)
{
    if (db_begin(d)) return LC_DB_ERROR;
    lc_result r = lifecycle_apply(d, id, action, actor, NULL, from, to);
    if (r != LC_OK) { db_rollback(d); return r; }
    if (db_commit(d)) { db_rollback(d); return LC_DB_ERROR; }
    return LC_OK;
}

lc_result lifecycle_delete(db *d, const char *id, const char *actor, char *from)
{
    char cur[16];
    if (db_begin(d)) return LC_DB_ERROR;
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_STATE);
    if (!st) goto dberr;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(cur, sizeof cur, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) { db_rollback(d); return LC_NOT_FOUND; }
    if (rc != SQLITE_ROW) goto dberr;
    if (from) snprintf(from, 16, "%s", cur);
    if (!lifecycle_is_terminal(cur)) { db_rollback(d); return LC_REFUSED; }

    /* Everything the session owns goes with it (ON DELETE CASCADE). */
    st = db_stmt(d, SQL_SESSION_DELETE);
    if (!st) goto dberr;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (db_exec(st)) goto dberr;
    st = db_stmt(d, SQL_AUDIT_INSERT);
    if (!st) goto dberr;
    sqlite3_bind_int64(st, 1, db_now_ms());
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, "delete", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, cur, -1, SQLITE_STATIC);
    sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, "", -1, SQLITE_STATIC);
    if (db_exec(st) || db_commit(d)) goto dberr;
    if (seal_enabled()) bg_wal_scrub(); /* its old page images leave the WAL too */
    return LC_OK;
dberr:
    db_rollback(d);
    return LC_DB_ERROR;
}
