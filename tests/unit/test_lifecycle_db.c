/* Unit tests for the lifecycle's database side beyond the transition table
 * (test_lifecycle.c): lifecycle_delete (refused unless terminal, removes
 * every row the session owns, keeps the audit), LC_CONTINUE through a
 * follow-up user_message (completed/failed continue, canceled never), and
 * ingest_resolve_call (the Work Center and client tool results: 404, 409,
 * 422, and the automatic resume of a paused session). Against a real
 * temporary database, like test_ingest.c. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "harness.h"
#include "testdb.h"
#include "ingest.h"
#include "lifecycle.h"

#define RT     "token:runtime-1"
#define PERSON "user:alice"




/* ------------------------------------------------------------- helpers */



static void exec_sql(const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db_handle(D), sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "    exec failed: %s\n", msg ? msg : "?");
        sqlite3_free(msg);
    }
}

static const char *status_of(const char *id)
{
    return q_text("SELECT status FROM sessions WHERE id = ?1", id);
}
static long long n_events(const char *id)
{
    return q_int("SELECT count(*) FROM events WHERE session_id = ?1", id);
}
static long long n_audit(const char *id)
{
    return q_int("SELECT count(*) FROM audit WHERE session_id = ?1", id);
}
static const char *call_state(const char *sid, const char *tcid)
{
    return q_text2("SELECT state FROM tool_calls WHERE session_id = ?1 AND id = ?2", sid, tcid);
}

/* The tables (other than sessions) with a session_id column, NULL-terminated. */
static const char *owned_tables[16];
static int owned_n;

static void find_owned_tables(void)
{
    sqlite3_stmt *st = NULL;
    owned_n = 0;
    if (sqlite3_prepare_v2(db_handle(D),
                           "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c "
                           "WHERE m.type = 'table' AND c.name = 'session_id' ORDER BY m.name",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    static char names[16][64];
    while (sqlite3_step(st) == SQLITE_ROW && owned_n < 15) {
        snprintf(names[owned_n], sizeof names[0], "%s", (const char *)sqlite3_column_text(st, 0));
        owned_tables[owned_n] = names[owned_n];
        owned_n++;
    }
    owned_tables[owned_n] = NULL;
    sqlite3_finalize(st);
}

/* Rows of `table` for session `id` (sessions: by id). */
static long long rows_in(const char *table, const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s = ?1", table,
             strcmp(table, "sessions") == 0 ? "id" : "session_id");
    return q_int(sql, id);
}

/* Every row in the database, as one number. */
static long long total_rows(void)
{
    long long n = q_int("SELECT count(*) FROM sessions", NULL);
    for (int i = 0; i < owned_n; i++) {
        char sql[120];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", owned_tables[i]);
        n += q_int(sql, NULL);
    }
    return n;
}

static int send_ev(const char *id, const char *json, const char *actor, ingest_result *res,
                   ingest_err *err)
{
    cJSON *in = cJSON_Parse(json);
    if (!in) { fprintf(stderr, "    bad test JSON: %s\n", json); return -2; }
    memset(err, 0, sizeof *err);
    int rc = ingest_events(D, id, in, actor, res, NULL, err);
    cJSON_Delete(in);
    return rc;
}

static void must_send(const char *id, const char *json)
{
    ingest_result res;
    ingest_err err;
    int rc = send_ev(id, json, RT, &res, &err);
    if (rc) fprintf(stderr, "    send %s failed: %d %s [%s] %s\n", json, err.status, err.code,
                    err.field, err.message);
    CHECK_INT(rc, 0);
}

static void must_act(const char *id, lc_action a, const char *want)
{
    char from[16], to[16];
    lc_result r = lifecycle_act(D, id, a, PERSON, from, to);
    if (r != LC_OK) fprintf(stderr, "    %s on %s: %d\n", lc_action_name(a), id, (int)r);
    CHECK_INT(r, LC_OK);
    CHECK_STR(to, want);
}

/* A new session with its own id, brought to `status` the way the API would. */
static void session_in(const char *id, const char *status)
{
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "id", id);
    cJSON_AddStringToObject(in, "agent", "unit");
    char out[INGEST_ID_MAX + 1];
    ingest_err err;
    memset(&err, 0, sizeof err);
    int rc = ingest_session_create(D, in, RT, out, &err);
    cJSON_Delete(in);
    if (rc) fprintf(stderr, "    create %s: %d %s %s\n", id, err.status, err.code, err.message);
    CHECK_INT(rc, 0);
    if (!strcmp(status, "pending")) goto done;
    must_send(id, "{\"type\":\"user_message\",\"content\":\"go\"}");
    if (!strcmp(status, "retrying")) must_send(id, "{\"type\":\"status\",\"status\":\"retrying\"}");
    if (!strcmp(status, "pausing") || !strcmp(status, "canceling")) {
        must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"inflight\",\"tool\":\"t\"}");
        must_act(id, !strcmp(status, "pausing") ? LC_PAUSE : LC_CANCEL, status);
    }
    if (!strcmp(status, "paused")) must_act(id, LC_PAUSE, "paused");
    if (!strcmp(status, "canceled")) must_act(id, LC_CANCEL, "canceled");
    if (!strcmp(status, "completed"))
        must_send(id, "{\"type\":\"status\",\"status\":\"completed\",\"response\":\"ok\"}");
    if (!strcmp(status, "failed"))
        must_send(id, "{\"type\":\"status\",\"status\":\"failed\",\"error\":\"boom\"}");
done:
    CHECK_STR(status_of(id), status);
}

/* A session with a row in every table it can own, ended as `end`. */
static void full_session(const char *id, const char *end)
{
    session_in(id, "running");
    must_send(id, "{\"events\":["
                  "{\"id\":\"k1\",\"type\":\"thought\",\"content\":\"plan\"},"
                  "{\"id\":\"k2\",\"type\":\"tool_call\",\"tool_call_id\":\"t1\",\"tool\":\"s\","
                  "\"arguments\":{\"key\":{\"$secret\":\"s\"}}}," /* a tool_call_secrets row */
                  "{\"id\":\"k3\",\"type\":\"tool_result\",\"tool_call_id\":\"t1\",\"result\":1},"
                  "{\"id\":\"k4\",\"type\":\"log\",\"body\":\"hello\"},"
                  "{\"id\":\"k5\",\"type\":\"span\",\"trace_id\":\"tr\",\"span_id\":\"sp\","
                  "\"name\":\"n\",\"start\":1700000000000,\"end\":1700000000001},"
                  "{\"id\":\"k6\",\"type\":\"tool_call\",\"tool_call_id\":\"m1\",\"tool\":\"ask\","
                  "\"kind\":\"manual\"}]}");
    /* Artifacts, eval runs, share links and the OTLP trace map come through
     * other modules:
     * put one of each in directly. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO artifacts (id, session_id, name, size, content, created_at) "
             "VALUES ('art_%s', '%s', 'report.txt', 2, X'6869', 1);"
             "INSERT INTO eval_runs (session_id, eval_id, state, created_at) "
             "VALUES ('%s', 'accuracy', 'success', 1);"
             "INSERT INTO otel_traces (trace_id, session_id) VALUES ('trace-of-%s', '%s');"
             "INSERT OR IGNORE INTO users (username, password_hash, created_at) "
             "VALUES ('sharer', 'x', 1);"
             "INSERT INTO share_links (session_id, created_by, created_at, expires_at) "
             "SELECT '%s', id, 1, 2 FROM users WHERE username = 'sharer';", id, id, id, id, id, id);
    exec_sql(sql);
    if (!strcmp(end, "completed")) {
        /* Answer the manual call, so this one also has a resolved task. */
        must_send(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"m1\",\"result\":true}");
        must_send(id, "{\"id\":\"fin\",\"type\":\"status\",\"status\":\"completed\"}");
    } else if (!strcmp(end, "failed")) {
        must_send(id, "{\"id\":\"fin\",\"type\":\"status\",\"status\":\"failed\",\"error\":\"x\"}");
    } else {
        must_act(id, LC_CANCEL, "canceled");
    }
    CHECK_STR(status_of(id), end);
    for (int i = 0; i < owned_n; i++) {
        if (!strcmp(owned_tables[i], "audit")) continue;
        long long n = rows_in(owned_tables[i], id);
        if (n <= 0) fprintf(stderr, "    %s: no rows in %s before the delete\n", id, owned_tables[i]);
        CHECK(n > 0);
    }
}

/* ---------------------------------------------------------- delete */

TEST(test_owned_tables_known)
{
    /* Every table the delete must empty is found by the column scan. */
    static const char *const must[] = { "artifacts", "audit", "eval_runs", "event_keys", "events",
                                        "logs", "spans", "tool_calls" };
    CHECK(owned_n >= 8);
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        int found = 0;
        for (int k = 0; k < owned_n; k++)
            if (!strcmp(owned_tables[k], must[i])) found = 1;
        if (!found) fprintf(stderr, "    table %s has no session_id column?\n", must[i]);
        CHECK(found);
    }
}

TEST(test_delete_refused_unless_terminal)
{
    static const char *const live[] = { "pending", "running", "retrying", "pausing", "paused",
                                        "canceling" };
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
        char id[32];
        snprintf(id, sizeof id, "del-live-%s", live[i]);
        session_in(id, live[i]);
        long long rows = total_rows(), ev = n_events(id), au = n_audit(id);
        char from[16] = "x";
        lc_result r = lifecycle_delete(D, id, PERSON, from);
        if (r != LC_REFUSED) fprintf(stderr, "    delete on %s: %d\n", live[i], (int)r);
        CHECK_INT(r, LC_REFUSED);
        CHECK_STR(from, live[i]);
        CHECK_STR(status_of(id), live[i]);
        CHECK_INT(total_rows(), rows);
        CHECK_INT(n_events(id), ev);
        CHECK_INT(n_audit(id), au);
        CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1); /* no transaction left open */
    }
}

TEST(test_delete_not_found)
{
    long long rows = total_rows();
    char from[16] = "untouched";
    CHECK_INT(lifecycle_delete(D, "del-nobody", PERSON, from), LC_NOT_FOUND);
    CHECK_INT(total_rows(), rows);
    CHECK_INT(q_int("SELECT count(*) FROM audit WHERE session_id = 'del-nobody'", NULL), 0);
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
    /* NULL from is allowed. */
    CHECK_INT(lifecycle_delete(D, "del-nobody", PERSON, NULL), LC_NOT_FOUND);
}

static void delete_terminal(const char *end)
{
    char id[32], other[32], child[32];
    snprintf(id, sizeof id, "del-%s", end);
    snprintf(other, sizeof other, "keep-%s", end);
    snprintf(child, sizeof child, "child-%s", end);
    full_session(id, end);
    full_session(other, end);
    /* A session it called. */
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "id", child);
    cJSON_AddStringToObject(in, "parent_session_id", id);
    char out[INGEST_ID_MAX + 1];
    ingest_err err;
    memset(&err, 0, sizeof err);
    CHECK_INT(ingest_session_create(D, in, RT, out, &err), 0);
    cJSON_Delete(in);

    long long other_rows[16];
    for (int i = 0; i < owned_n; i++) other_rows[i] = rows_in(owned_tables[i], other);
    long long audit_before = n_audit(id);
    long long max_audit = q_int("SELECT max(id) FROM audit WHERE session_id = ?1", id);

    char from[16] = "x";
    CHECK_INT(lifecycle_delete(D, id, PERSON, from), LC_OK);
    CHECK_STR(from, end);
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
    CHECK_INT(rows_in("sessions", id), 0);
    for (int i = 0; i < owned_n; i++) {
        if (!strcmp(owned_tables[i], "audit")) continue;
        long long n = rows_in(owned_tables[i], id);
        if (n) fprintf(stderr, "    %s: %lld row(s) left in %s\n", id, n, owned_tables[i]);
        CHECK_INT(n, 0);
    }
    /* The audit keeps everything it had, plus who deleted it and from what status. */
    CHECK_INT(n_audit(id), audit_before + 1);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE session_id = ?1 AND id <= %lld", max_audit);
    CHECK_INT(q_int(sql, id), audit_before);
    CHECK_STR(q_text("SELECT action FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id),
              "delete");
    CHECK_STR(q_text("SELECT from_status FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id),
              end);
    CHECK_STR(q_text("SELECT actor FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id),
              PERSON);
    CHECK(q_text("SELECT to_status FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id) == NULL);
    CHECK(q_int("SELECT max(id) FROM audit WHERE session_id = ?1", id) > max_audit);
    /* The neighbour is untouched; the called session keeps its history and its link. */
    for (int i = 0; i < owned_n; i++) CHECK_INT(rows_in(owned_tables[i], other), other_rows[i]);
    CHECK_STR(status_of(other), end);
    CHECK_STR(q_text("SELECT parent_session_id FROM sessions WHERE id = ?1", child), id);
    /* A second delete finds nothing; the same id can be created again, clean. */
    CHECK_INT(lifecycle_delete(D, id, PERSON, NULL), LC_NOT_FOUND);
    session_in(id, "running");
    CHECK_INT(q_int("SELECT count(*) FROM event_keys WHERE session_id = ?1", id), 0);
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND client_id IS NOT NULL", id), 0);
}

TEST(test_delete_completed) { delete_terminal("completed"); }
TEST(test_delete_failed) { delete_terminal("failed"); }
TEST(test_delete_canceled) { delete_terminal("canceled"); }

/* ---------------------------------------------------------- continue */

static void continue_from(const char *end)
{
    char id[32];
    snprintf(id, sizeof id, "cont-%s", end);
    session_in(id, end);
    CHECK_INT(q_int("SELECT ended_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
    long long ev = n_events(id), au = n_audit(id);
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"type\":\"user_message\",\"content\":\"one more thing\"}", PERSON,
                      &res, &err), 0);
    CHECK_STR(res.status, "running");
    CHECK_INT(res.accepted, 1);
    CHECK_STR(status_of(id), "running");
    CHECK_INT(q_int("SELECT ended_at IS NULL FROM sessions WHERE id = ?1", id), 1);
    CHECK_INT(n_events(id), ev + 2); /* the lifecycle entry, then the message */
    CHECK_INT(n_audit(id), au + 1);
    CHECK_STR(q_text("SELECT type FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET 1", id),
              "lifecycle");
    CHECK_STR(q_text("SELECT json_extract(body, '$.action') FROM events WHERE session_id = ?1 "
                     "ORDER BY seq DESC LIMIT 1 OFFSET 1", id), "continue");
    CHECK_STR(q_text("SELECT json_extract(body, '$.from') FROM events WHERE session_id = ?1 "
                     "ORDER BY seq DESC LIMIT 1 OFFSET 1", id), end);
    CHECK_STR(q_text("SELECT type FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1", id),
              "user_message");
    CHECK_STR(q_text("SELECT actor FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1", id),
              PERSON);
    CHECK_STR(q_text("SELECT action FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id),
              "continue");
    CHECK_STR(q_text("SELECT from_status FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id),
              end);
    CHECK_STR(q_text("SELECT to_status FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id),
              "running");
    /* A second message does not continue again: it is running now. */
    au = n_audit(id);
    CHECK_INT(send_ev(id, "{\"type\":\"user_message\",\"content\":\"and another\"}", PERSON, &res,
                      &err), 0);
    CHECK_INT(n_audit(id), au);
    /* It goes on as the same session: tool calls are accepted again. */
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"after\",\"tool\":\"t\"}");
    CHECK_STR(call_state(id, "after"), "running");
}

TEST(test_continue_completed) { continue_from("completed"); }
TEST(test_continue_failed) { continue_from("failed"); }

TEST(test_continue_in_one_batch)
{
    /* The continue and a tool call in one batch: the call sees the session running. */
    session_in("cont-batch", "completed");
    must_send("cont-batch", "{\"events\":[{\"type\":\"user_message\",\"content\":\"again\"},"
                            "{\"type\":\"tool_call\",\"tool_call_id\":\"c\",\"tool\":\"t\"}]}");
    CHECK_STR(status_of("cont-batch"), "running");
    CHECK_STR(call_state("cont-batch", "c"), "running");
}

TEST(test_canceled_never_continues)
{
    session_in("cont-canceled", "canceled");
    long long rows = total_rows();
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev("cont-canceled", "{\"type\":\"user_message\",\"content\":\"please\"}", PERSON,
                      &res, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_STR(err.code, "session_canceled");
    CHECK_STR(err.session_status, "canceled");
    CHECK_STR(status_of("cont-canceled"), "canceled");
    CHECK_INT(total_rows(), rows);
    /* Not in a batch either, and the batch's other events go with it. */
    CHECK_INT(send_ev("cont-canceled", "{\"events\":[{\"type\":\"thought\",\"content\":\"x\"},"
                                       "{\"type\":\"user_message\",\"content\":\"y\"}]}",
                      PERSON, &res, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_INT(total_rows(), rows);
    /* Nor by the table itself. */
    char from[16], to[16];
    CHECK_INT(lifecycle_act(D, "cont-canceled", LC_CONTINUE, PERSON, from, to), LC_REFUSED);
    CHECK_INT(total_rows(), rows);
}

TEST(test_message_does_not_continue_live_sessions)
{
    /* A user message to a pending session starts it (not "continue"); to a
     * paused one it is recorded without a status change. */
    session_in("msg-pending", "pending");
    must_send("msg-pending", "{\"type\":\"user_message\",\"content\":\"hi\"}");
    CHECK_STR(status_of("msg-pending"), "running");
    CHECK_STR(q_text("SELECT json_extract(body, '$.action') FROM events WHERE session_id = ?1 AND "
                     "type = 'lifecycle'", "msg-pending"), "start");
    session_in("msg-paused", "paused");
    long long au = n_audit("msg-paused");
    must_send("msg-paused", "{\"type\":\"user_message\",\"content\":\"hi\"}");
    CHECK_STR(status_of("msg-paused"), "paused");
    CHECK_INT(n_audit("msg-paused"), au);
}

/* ----------------------------------------------------- resolve_call */

static int resolve(const char *sid, const char *tcid, const char *expect, const char *result_json,
                   const char *error_json, ingest_result *res, ingest_err *err)
{
    cJSON *result = result_json ? cJSON_Parse(result_json) : NULL;
    cJSON *error = error_json ? cJSON_Parse(error_json) : NULL;
    memset(err, 0, sizeof *err);
    int rc = ingest_resolve_call(D, sid, tcid, expect, result, error, NULL, PERSON, res, err);
    cJSON_Delete(result);
    cJSON_Delete(error);
    return rc;
}

/* A resolve that must fail with `status`/`code` and write nothing. */
static void resolve_fails(const char *sid, const char *tcid, const char *expect,
                          const char *result_json, const char *error_json, int status,
                          const char *code)
{
    long long rows = total_rows();
    const char *before = call_state(sid, tcid);
    char state[32] = "";
    if (before) snprintf(state, sizeof state, "%s", before);
    ingest_result res;
    ingest_err err;
    int rc = resolve(sid, tcid, expect, result_json, error_json, &res, &err);
    if (rc != -1 || err.status != status)
        fprintf(stderr, "    resolve %s/%s (%s): rc %d status %d %s %s\n", sid, tcid, expect, rc,
                err.status, err.code ? err.code : "", err.message);
    CHECK_INT(rc, -1);
    CHECK_INT(err.status, status);
    if (code) CHECK_STR(err.code, code);
    CHECK_INT(total_rows(), rows);
    if (*state) CHECK_STR(call_state(sid, tcid), state);
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
}

TEST(test_resolve_not_found)
{
    session_in("res-nf", "running");
    resolve_fails("res-nobody", "x", "waiting_for_human", "1", NULL, 404, "not_found");
    resolve_fails("res-nf", "no-such-call", "waiting_for_human", "1", NULL, 404, "not_found");
    resolve_fails("res-nf", "no-such-call", "waiting_for_client", "1", NULL, 404, "not_found");
}

TEST(test_resolve_wrong_state)
{
    session_in("res-st", "running");
    must_send("res-st", "{\"events\":["
                        "{\"type\":\"tool_call\",\"tool_call_id\":\"srv\",\"tool\":\"t\"},"
                        "{\"type\":\"tool_call\",\"tool_call_id\":\"cli\",\"tool\":\"t\",\"kind\":\"client\"},"
                        "{\"type\":\"tool_call\",\"tool_call_id\":\"man\",\"tool\":\"t\",\"kind\":\"manual\"},"
                        "{\"type\":\"tool_call\",\"tool_call_id\":\"done\",\"tool\":\"t\",\"kind\":\"manual\"}]}");
    ingest_result res;
    ingest_err err;
    CHECK_INT(resolve("res-st", "done", "waiting_for_human", "\"ok\"", NULL, &res, &err), 0);
    /* A server call is not waiting for anyone. */
    resolve_fails("res-st", "srv", "waiting_for_human", "1", NULL, 409, "tool_call_not_waiting");
    resolve_fails("res-st", "srv", "waiting_for_client", "1", NULL, 409, "tool_call_not_waiting");
    /* A client call is not a task, and a task is not a client call. */
    resolve_fails("res-st", "cli", "waiting_for_human", "1", NULL, 409, "tool_call_not_waiting");
    resolve_fails("res-st", "man", "waiting_for_client", "1", NULL, 409, "tool_call_not_waiting");
    /* Already resolved. */
    resolve_fails("res-st", "done", "waiting_for_human", "\"again\"", NULL, 409, "tool_call_not_waiting");
    CHECK_STR(q_text("SELECT result FROM tool_calls WHERE session_id = 'res-st' AND id = ?1", "done"),
              "\"ok\"");
    /* The 409 names the session's status. */
    resolve("res-st", "srv", "waiting_for_human", "1", NULL, &res, &err);
    CHECK_STR(err.session_status, "running");
    /* Canceled with the session: no longer waiting. */
    must_act("res-st", LC_CANCEL, "canceling"); /* srv still executes */
    CHECK_STR(call_state("res-st", "man"), "canceled");
    CHECK_STR(call_state("res-st", "cli"), "canceled");
    resolve_fails("res-st", "man", "waiting_for_human", "1", NULL, 409, "tool_call_not_waiting");
    resolve_fails("res-st", "cli", "waiting_for_client", "1", NULL, 409, "tool_call_not_waiting");
}

TEST(test_resolve_result_or_error)
{
    session_in("res-val", "running");
    must_send("res-val", "{\"type\":\"tool_call\",\"tool_call_id\":\"m\",\"tool\":\"t\",\"kind\":\"manual\"}");
    /* Exactly one of result and error. */
    resolve_fails("res-val", "m", "waiting_for_human", NULL, NULL, 422, "invalid_body");
    resolve_fails("res-val", "m", "waiting_for_human", "1",
                  "{\"category\":\"rejected\",\"message\":\"no\"}", 422, "invalid_body");
    /* The error is {category, message}, both required, nothing else. */
    resolve_fails("res-val", "m", "waiting_for_human", NULL, "{\"message\":\"no\"}", 422, NULL);
    resolve_fails("res-val", "m", "waiting_for_human", NULL, "{\"category\":\"rejected\"}", 422, NULL);
    resolve_fails("res-val", "m", "waiting_for_human", NULL,
                  "{\"category\":\"r\",\"message\":\"m\",\"extra\":1}", 422, NULL);
    resolve_fails("res-val", "m", "waiting_for_human", NULL, "\"just a string\"", 422, NULL);
    resolve_fails("res-val", "m", "waiting_for_human", NULL, "{\"category\":5,\"message\":\"m\"}", 422, NULL);
    /* A result holding invalid UTF-8. */
    {
        long long rows = total_rows();
        cJSON *bad = cJSON_CreateString("x");
        cJSON_free(bad->valuestring);
        bad->valuestring = cJSON_malloc(4);
        memcpy(bad->valuestring, "\xC3\x28", 3);
        ingest_result res;
        ingest_err err;
        memset(&err, 0, sizeof err);
        CHECK_INT(ingest_resolve_call(D, "res-val", "m", "waiting_for_human", bad, NULL, NULL, PERSON,
                                      &res, &err), -1);
        CHECK_INT(err.status, 422);
        CHECK_INT(total_rows(), rows);
        cJSON_Delete(bad);
    }
    CHECK_STR(call_state("res-val", "m"), "waiting_for_human");
    /* A valid error: failed, with category and message; the person is the actor. */
    ingest_result res;
    ingest_err err;
    long long ev = n_events("res-val");
    CHECK_INT(resolve("res-val", "m", "waiting_for_human", NULL,
                      "{\"category\":\"rejected\",\"message\":\"too expensive\"}", &res, &err), 0);
    CHECK_INT(res.accepted, 1);
    CHECK_STR(res.status, "running");
    CHECK_STR(call_state("res-val", "m"), "failed");
    CHECK_STR(q_text("SELECT error_category FROM tool_calls WHERE session_id = 'res-val' AND id = ?1", "m"),
              "rejected");
    CHECK_STR(q_text("SELECT error_message FROM tool_calls WHERE session_id = 'res-val' AND id = ?1", "m"),
              "too expensive");
    CHECK_INT(n_events("res-val"), ev + 1);
    CHECK_STR(q_text("SELECT type FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1", "res-val"),
              "tool_result");
    CHECK_STR(q_text("SELECT actor FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1", "res-val"),
              PERSON);
}

TEST(test_resolve_resumes_paused_session)
{
    session_in("res-pause", "running");
    must_send("res-pause", "{\"type\":\"tool_call\",\"tool_call_id\":\"m\",\"tool\":\"approve\","
                           "\"kind\":\"manual\",\"arguments\":{\"n\":1}}");
    CHECK_INT(q_int("SELECT executing_calls FROM sessions WHERE id = ?1", "res-pause"), 0);
    must_act("res-pause", LC_PAUSE, "paused"); /* at once: a task does not hold a pause up */
    long long au = n_audit("res-pause"), ev = n_events("res-pause");
    ingest_result res;
    ingest_err err;
    CHECK_INT(resolve("res-pause", "m", "waiting_for_human", "{\"approved\":true}", NULL, &res, &err), 0);
    CHECK_STR(res.status, "running");
    CHECK_STR(status_of("res-pause"), "running");
    CHECK_STR(call_state("res-pause", "m"), "succeeded");
    CHECK_INT(n_events("res-pause"), ev + 2); /* tool_result, then the resume */
    CHECK_INT(n_audit("res-pause"), au + 1);
    CHECK_STR(q_text("SELECT json_extract(body, '$.action') FROM events WHERE session_id = ?1 "
                     "ORDER BY seq DESC LIMIT 1", "res-pause"), "resume");
    CHECK_STR(q_text("SELECT json_extract(body, '$.detail') FROM events WHERE session_id = ?1 "
                     "ORDER BY seq DESC LIMIT 1", "res-pause"), "task completed");
    CHECK_STR(q_text("SELECT actor FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", "res-pause"),
              PERSON);
    CHECK_STR(q_text("SELECT detail FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", "res-pause"),
              "task completed");

    /* A task resolved while running does not write a lifecycle change. */
    must_send("res-pause", "{\"type\":\"tool_call\",\"tool_call_id\":\"m2\",\"tool\":\"a\",\"kind\":\"manual\"}");
    au = n_audit("res-pause");
    CHECK_INT(resolve("res-pause", "m2", "waiting_for_human", "1", NULL, &res, &err), 0);
    CHECK_INT(n_audit("res-pause"), au);

    /* A client result to a paused session does not resume it. */
    must_send("res-pause", "{\"type\":\"tool_call\",\"tool_call_id\":\"c\",\"tool\":\"a\",\"kind\":\"client\"}");
    must_act("res-pause", LC_PAUSE, "paused");
    CHECK_INT(resolve("res-pause", "c", "waiting_for_client", "\"x\"", NULL, &res, &err), 0);
    CHECK_STR(res.status, "paused");
    CHECK_STR(status_of("res-pause"), "paused");
    CHECK_STR(call_state("res-pause", "c"), "succeeded");
}

TEST(test_resolve_in_pausing_session)
{
    /* A task completed while the session is pausing (a server call still
     * executing): recorded; the session stays pausing until that call ends. */
    session_in("res-pausing", "running");
    must_send("res-pausing", "{\"events\":["
                             "{\"type\":\"tool_call\",\"tool_call_id\":\"m\",\"tool\":\"a\",\"kind\":\"manual\"},"
                             "{\"type\":\"tool_call\",\"tool_call_id\":\"s\",\"tool\":\"b\"}]}");
    must_act("res-pausing", LC_PAUSE, "pausing");
    ingest_result res;
    ingest_err err;
    CHECK_INT(resolve("res-pausing", "m", "waiting_for_human", "1", NULL, &res, &err), 0);
    CHECK_STR(res.status, "pausing");
    CHECK_STR(call_state("res-pausing", "m"), "succeeded");
    must_send("res-pausing", "{\"type\":\"tool_result\",\"tool_call_id\":\"s\",\"result\":2}");
    CHECK_STR(status_of("res-pausing"), "paused");
}

TEST(test_resolve_idempotency_key)
{
    /* A client result sent again with the same key (its answer was lost) is
     * acknowledged as a duplicate; without the key it is a second answer. */
    session_in("res-key", "running");
    must_send("res-key", "{\"type\":\"tool_call\",\"tool_call_id\":\"c\",\"tool\":\"t\",\"kind\":\"client\"}");
    cJSON *result = cJSON_CreateString("first");
    ingest_result res;
    ingest_err err;
    memset(&err, 0, sizeof err);
    CHECK_INT(ingest_resolve_call(D, "res-key", "c", "waiting_for_client", result, NULL, "key-1",
                                  PERSON, &res, &err), 0);
    CHECK_INT(res.accepted, 1);
    CHECK_INT(res.duplicates, 0);
    CHECK_STR(call_state("res-key", "c"), "succeeded");
    CHECK_STR(q_text("SELECT client_id FROM events WHERE session_id = ?1 AND type = 'tool_result'", "res-key"),
              "key-1");
    long long rows = total_rows();
    memset(&err, 0, sizeof err);
    CHECK_INT(ingest_resolve_call(D, "res-key", "c", "waiting_for_client", result, NULL, "key-1",
                                  PERSON, &res, &err), 0);
    CHECK_INT(res.accepted, 0);
    CHECK_INT(res.duplicates, 1);
    CHECK_STR(res.status, "running");
    CHECK_INT(total_rows(), rows);
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
    cJSON_Delete(result);
    /* Another key, or none: refused as the second answer it is. */
    resolve_fails("res-key", "c", "waiting_for_client", "\"second\"", NULL, 409, "tool_call_not_waiting");
    memset(&err, 0, sizeof err);
    cJSON *other = cJSON_CreateString("other");
    CHECK_INT(ingest_resolve_call(D, "res-key", "c", "waiting_for_client", other, NULL, "key-2",
                                  PERSON, &res, &err), -1);
    CHECK_INT(err.status, 409);
    cJSON_Delete(other);
    CHECK_INT(total_rows(), rows);
    CHECK_STR(q_text("SELECT result FROM tool_calls WHERE session_id = 'res-key' AND id = ?1", "c"),
              "\"first\"");
}

int main(void)
{
    if (auth_init() || db_setup()) {
        fprintf(stderr, "cannot set up the test database\n");
        db_teardown();
        h_failed++;
        return DONE();
    }
    find_owned_tables();
    RUN(test_owned_tables_known);
    RUN(test_delete_refused_unless_terminal);
    RUN(test_delete_not_found);
    RUN(test_delete_completed);
    RUN(test_delete_failed);
    RUN(test_delete_canceled);
    RUN(test_continue_completed);
    RUN(test_continue_failed);
    RUN(test_continue_in_one_batch);
    RUN(test_canceled_never_continues);
    RUN(test_message_does_not_continue_live_sessions);
    RUN(test_resolve_not_found);
    RUN(test_resolve_wrong_state);
    RUN(test_resolve_result_or_error);
    RUN(test_resolve_resumes_paused_session);
    RUN(test_resolve_in_pausing_session);
    RUN(test_resolve_idempotency_key);
    db_teardown();
    return DONE();
}
