/* Unit tests for cgi/lifecycle.c: the transition table of DESIGN.md
 * section 4, written out in full, and lifecycle_act against a real
 * (temporary) database. */
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

/* ----------------------------------------------------------- pure table */

static const char *const statuses[] = { "pending", "running", "retrying", "pausing", "paused",
                                        "canceling", "canceled", "completed", "failed" };
#define NSTATUS 9

/* expected[status][action][executing], NULL = refused. Straight from the
 * table in DESIGN.md section 4:
 *   pending -> running on start;
 *   running, retrying -> pausing (a call executing) or paused (none) on pause;
 *   paused -> running on resume;
 *   pending, running, retrying, paused -> canceling / canceled on cancel;
 *   running -> retrying on retry, retrying -> running on recover;
 *   running, retrying, pausing -> completed on complete;
 *   any non-terminal -> failed on fail;
 *   pausing -> paused, canceling -> canceled once nothing executes (settle);
 *   completed, failed -> running on a follow-up message (continue; cancel is
 *   permanent, so a canceled session does not continue). */
#define R "running"
static const char *const expected[NSTATUS][LC__COUNT][2] = {
    /*                start       pause                  resume      cancel                       retry            recover     complete                   fail                   settle          continue */
    /* pending   */ { { R, R },   { NULL, NULL },        { NULL, NULL }, { "canceled", "canceling" }, { NULL, NULL },  { NULL, NULL }, { NULL, NULL },           { "failed", "failed" }, { NULL, NULL } , { NULL, NULL } },
    /* running   */ { { NULL, NULL }, { "paused", "pausing" }, { NULL, NULL }, { "canceled", "canceling" }, { "retrying", "retrying" }, { NULL, NULL }, { "completed", "completed" }, { "failed", "failed" }, { NULL, NULL } , { NULL, NULL } },
    /* retrying  */ { { NULL, NULL }, { "paused", "pausing" }, { NULL, NULL }, { "canceled", "canceling" }, { NULL, NULL }, { R, R },     { "completed", "completed" }, { "failed", "failed" }, { NULL, NULL } , { NULL, NULL } },
    /* pausing   */ { { NULL, NULL }, { NULL, NULL },        { NULL, NULL }, { NULL, NULL },              { NULL, NULL },  { NULL, NULL }, { "completed", "completed" }, { "failed", "failed" }, { "paused", NULL } , { NULL, NULL } },
    /* paused    */ { { NULL, NULL }, { NULL, NULL },        { R, R },     { "canceled", "canceling" }, { NULL, NULL },  { NULL, NULL }, { NULL, NULL },           { "failed", "failed" }, { NULL, NULL } , { NULL, NULL } },
    /* canceling */ { { NULL, NULL }, { NULL, NULL },        { NULL, NULL }, { NULL, NULL },              { NULL, NULL },  { NULL, NULL }, { NULL, NULL },           { "failed", "failed" }, { "canceled", NULL } , { NULL, NULL } },
    /* canceled  */ { { NULL, NULL }, { NULL, NULL },        { NULL, NULL }, { NULL, NULL },              { NULL, NULL },  { NULL, NULL }, { NULL, NULL },           { NULL, NULL },         { NULL, NULL } , { NULL, NULL } },
    /* completed */ { { NULL, NULL }, { NULL, NULL },        { NULL, NULL }, { NULL, NULL },              { NULL, NULL },  { NULL, NULL }, { NULL, NULL },           { NULL, NULL },         { NULL, NULL } , { R, R } },
    /* failed    */ { { NULL, NULL }, { NULL, NULL },        { NULL, NULL }, { NULL, NULL },              { NULL, NULL },  { NULL, NULL }, { NULL, NULL },           { NULL, NULL },         { NULL, NULL } , { R, R } },
};
#undef R

TEST(test_action_order_matches_table)
{
    /* The expected table above is indexed by the enum: pin the order. */
    CHECK_INT(LC_START, 0);
    CHECK_INT(LC_PAUSE, 1);
    CHECK_INT(LC_RESUME, 2);
    CHECK_INT(LC_CANCEL, 3);
    CHECK_INT(LC_RETRY, 4);
    CHECK_INT(LC_RECOVER, 5);
    CHECK_INT(LC_COMPLETE, 6);
    CHECK_INT(LC_FAIL, 7);
    CHECK_INT(LC_SETTLE, 8);
    CHECK_INT(LC_CONTINUE, 9);
    CHECK_INT(LC__COUNT, 10);
}

TEST(test_next_full_table)
{
    int checked = 0;
    for (int s = 0; s < NSTATUS; s++)
        for (int a = 0; a < LC__COUNT; a++)
            for (int ex = 0; ex <= 1; ex++) {
                const char *got = lifecycle_next(statuses[s], (lc_action)a, ex);
                const char *want = expected[s][a][ex];
                int same = (!got && !want) || (got && want && strcmp(got, want) == 0);
                if (!same)
                    fprintf(stderr, "    %s --%s (executing %d)--> got %s, expected %s\n",
                            statuses[s], lc_action_name((lc_action)a), ex, got ? got : "refused",
                            want ? want : "refused");
                CHECK(same);
                checked++;
            }
    CHECK_INT(checked, NSTATUS * LC__COUNT * 2);
}

TEST(test_next_many_executing)
{
    /* More than one executing call behaves like one. */
    CHECK_STR(lifecycle_next("running", LC_PAUSE, 5), "pausing");
    CHECK_STR(lifecycle_next("paused", LC_CANCEL, 3), "canceling");
    CHECK(lifecycle_next("pausing", LC_SETTLE, 2) == NULL);
    CHECK(lifecycle_next("canceling", LC_SETTLE, 7) == NULL);
}

TEST(test_next_results_are_statuses)
{
    /* Whatever the table returns is one of the nine statuses. */
    for (int s = 0; s < NSTATUS; s++)
        for (int a = 0; a < LC__COUNT; a++)
            for (int ex = 0; ex <= 1; ex++) {
                const char *got = lifecycle_next(statuses[s], (lc_action)a, ex);
                if (!got) continue;
                int known = 0;
                for (int k = 0; k < NSTATUS; k++)
                    if (strcmp(got, statuses[k]) == 0) known = 1;
                CHECK(known);
            }
    /* An unknown status or action goes nowhere (except fail, which the
     * table allows from anything not terminal; the schema's CHECK keeps
     * unknown statuses out of the database anyway). */
    for (int a = 0; a < LC__COUNT; a++) {
        if (a == LC_FAIL) continue;
        CHECK(lifecycle_next("bogus", (lc_action)a, 0) == NULL);
        CHECK(lifecycle_next("", (lc_action)a, 1) == NULL);
    }
    CHECK(lifecycle_next("running", LC__COUNT, 0) == NULL);
    CHECK(lifecycle_next("running", (lc_action)-1, 0) == NULL);
}

TEST(test_terminal_and_tool_calls)
{
    static const int terminal[NSTATUS] = { 0, 0, 0, 0, 0, 0, 1, 1, 1 };
    static const int tools[NSTATUS] = { 0, 1, 1, 0, 0, 0, 0, 0, 0 };
    for (int s = 0; s < NSTATUS; s++) {
        CHECK_INT(lifecycle_is_terminal(statuses[s]), terminal[s]);
        CHECK_INT(lifecycle_accepts_tool_calls(statuses[s]), tools[s]);
    }
    CHECK_INT(lifecycle_is_terminal("bogus"), 0);
    CHECK_INT(lifecycle_accepts_tool_calls("bogus"), 0);
    CHECK_INT(lifecycle_accepts_tool_calls("Running"), 0);
}

TEST(test_action_names_round_trip)
{
    static const char *const names[LC__COUNT] = { "start", "pause", "resume", "cancel", "retry",
                                                  "recover", "complete", "fail", "settle", "continue" };
    for (int a = 0; a < LC__COUNT; a++) {
        CHECK_STR(lc_action_name((lc_action)a), names[a]);
        CHECK_INT(lc_action_parse(names[a]), a);
        CHECK_INT(lc_action_parse(lc_action_name((lc_action)a)), a);
    }
    CHECK_INT(lc_action_parse("Pause"), -1);
    CHECK_INT(lc_action_parse("delete"), -1);
    CHECK_INT(lc_action_parse(""), -1);
    CHECK_INT(lc_action_parse(NULL), -1);
    CHECK_STR(lc_action_name(LC__COUNT), "?");
    CHECK_STR(lc_action_name((lc_action)-1), "?");
}

/* ------------------------------------------------------------- database */

/* One text value copied into out (testdb.h's q_text rotates its buffers;
 * these callers keep values across many queries). */
static const char *q_text_into(const char *sql, const char *arg, char *out, size_t n)
{
    const char *r = q_text(sql, arg);
    snprintf(out, n, "%s", r ? r : "");
    return r ? out : NULL;
}

static void exec_sql(const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db_handle(D), sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "    exec failed: %s\n", msg ? msg : "?");
        sqlite3_free(msg);
    }
}

static void set_executing(const char *id, int n)
{
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE sessions SET executing_calls = %d WHERE id = '%s'", n, id);
    exec_sql(sql);
}

/* Create a session; its id goes to id (INGEST_ID_MAX + 1 bytes). */
static int make_session(char *id, const char *own_id)
{
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "agent", "tester");
    if (own_id) cJSON_AddStringToObject(in, "id", own_id);
    ingest_err err;
    memset(&err, 0, sizeof err);
    int rc = ingest_session_create(D, in, "token:test", id, &err);
    if (rc) fprintf(stderr, "    create: %d %s %s\n", err.status, err.code, err.message);
    cJSON_Delete(in);
    return rc;
}

static char status_buf[32];
static const char *status_of(const char *id)
{
    return q_text_into("SELECT status FROM sessions WHERE id = ?1", id, status_buf, sizeof status_buf);
}

static long long n_events(const char *id)
{
    return q_int("SELECT count(*) FROM events WHERE session_id = ?1", id);
}
static long long n_audit(const char *id)
{
    return q_int("SELECT count(*) FROM audit WHERE session_id = ?1", id);
}

/* Apply `a` and check it went from `from_want` to `to_want`, writing one
 * lifecycle event (body from/to/actor) and one audit row. */
static void act_ok(const char *id, lc_action a, const char *from_want, const char *to_want)
{
    long long ev0 = n_events(id), au0 = n_audit(id);
    char from[16] = "x", to[16] = "x";
    lc_result r = lifecycle_act(D, id, a, "user:alice", from, to);
    if (r != LC_OK)
        fprintf(stderr, "    %s on %s: result %d\n", lc_action_name(a), from_want, (int)r);
    CHECK_INT(r, LC_OK);
    CHECK_STR(from, from_want);
    CHECK_STR(to, to_want);
    CHECK_STR(status_of(id), to_want);
    CHECK_INT(n_events(id), ev0 + 1);
    CHECK_INT(n_audit(id), au0 + 1);

    /* The newest event is the lifecycle entry, with who and what. */
    char body[512];
    q_text_into("SELECT body FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1", id, body,
           sizeof body);
    char type[32];
    q_text_into("SELECT type FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1", id, type,
           sizeof type);
    CHECK_STR(type, "lifecycle");
    cJSON *b = cJSON_Parse(body);
    CHECK(b != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(b, "from")), from_want);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(b, "to")), to_want);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(b, "actor")), "user:alice");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(b, "action")), lc_action_name(a));
    cJSON_Delete(b);
    char actor[64];
    q_text_into("SELECT actor FROM events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1", id, actor,
           sizeof actor);
    CHECK_STR(actor, "user:alice");

    /* The newest audit entry says the same. */
    char v[64];
    q_text_into("SELECT from_status FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id, v,
           sizeof v);
    CHECK_STR(v, from_want);
    q_text_into("SELECT to_status FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id, v,
           sizeof v);
    CHECK_STR(v, to_want);
    q_text_into("SELECT action FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id, v,
           sizeof v);
    CHECK_STR(v, lc_action_name(a));
    q_text_into("SELECT actor FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id, v,
           sizeof v);
    CHECK_STR(v, "user:alice");
}

/* Apply `a` and check it was refused with nothing written. */
static void act_refused(const char *id, lc_action a, const char *status)
{
    long long ev0 = n_events(id), au0 = n_audit(id);
    char from[16] = "x", to[16] = "x";
    lc_result r = lifecycle_act(D, id, a, "user:alice", from, to);
    if (r != LC_REFUSED) fprintf(stderr, "    %s on %s: result %d\n", lc_action_name(a), status, (int)r);
    CHECK_INT(r, LC_REFUSED);
    CHECK_STR(from, status);
    CHECK_STR(to, status);
    CHECK_STR(status_of(id), status);
    CHECK_INT(n_events(id), ev0);
    CHECK_INT(n_audit(id), au0);
}

TEST(test_db_walk)
{
    char id[INGEST_ID_MAX + 1];
    CHECK_INT(make_session(id, NULL), 0);
    CHECK_STR(status_of(id), "pending");
    CHECK_INT(n_events(id), 0);
    CHECK_INT(n_audit(id), 1); /* the "create" entry */
    CHECK_INT(q_int("SELECT started_at IS NULL FROM sessions WHERE id = ?1", id), 1);

    act_refused(id, LC_PAUSE, "pending");
    act_refused(id, LC_RESUME, "pending");
    act_refused(id, LC_COMPLETE, "pending");
    act_ok(id, LC_START, "pending", "running");
    CHECK_INT(q_int("SELECT started_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
    act_refused(id, LC_START, "running");
    act_refused(id, LC_RESUME, "running");
    act_ok(id, LC_PAUSE, "running", "paused");
    act_refused(id, LC_PAUSE, "paused");
    act_ok(id, LC_RESUME, "paused", "running");
    act_ok(id, LC_RETRY, "running", "retrying");
    CHECK_INT(q_int("SELECT retry_count FROM sessions WHERE id = ?1", id), 1);
    act_refused(id, LC_RETRY, "retrying");
    act_ok(id, LC_RECOVER, "retrying", "running");
    act_ok(id, LC_RETRY, "running", "retrying");
    CHECK_INT(q_int("SELECT retry_count FROM sessions WHERE id = ?1", id), 2);
    act_ok(id, LC_PAUSE, "retrying", "paused");
    CHECK_INT(q_int("SELECT ended_at IS NULL FROM sessions WHERE id = ?1", id), 1);
    act_ok(id, LC_CANCEL, "paused", "canceled");
    CHECK_INT(q_int("SELECT ended_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
    /* Cancel is permanent. */
    for (int a = 0; a < LC__COUNT; a++)
        if (a != LC_SETTLE) act_refused(id, (lc_action)a, "canceled");
    /* Sequence numbers are 1..n without gaps. */
    long long n = n_events(id);
    CHECK_INT(q_int("SELECT max(seq) FROM events WHERE session_id = ?1", id), n);
    CHECK_INT(q_int("SELECT min(seq) FROM events WHERE session_id = ?1", id), 1);
}

TEST(test_db_complete_and_fail)
{
    char a[INGEST_ID_MAX + 1], b[INGEST_ID_MAX + 1];
    CHECK_INT(make_session(a, "lc-complete"), 0);
    CHECK_STR(a, "lc-complete");
    act_ok(a, LC_START, "pending", "running");
    act_ok(a, LC_COMPLETE, "running", "completed");
    act_refused(a, LC_FAIL, "completed");
    act_refused(a, LC_CANCEL, "completed");

    CHECK_INT(make_session(b, "lc-fail"), 0);
    act_ok(b, LC_FAIL, "pending", "failed"); /* fail works from pending too */
    act_refused(b, LC_START, "failed");
    act_refused(b, LC_COMPLETE, "failed");
    CHECK_INT(q_int("SELECT ended_at IS NOT NULL FROM sessions WHERE id = ?1", b), 1);
}

TEST(test_db_pause_with_executing_call)
{
    char id[INGEST_ID_MAX + 1];
    CHECK_INT(make_session(id, NULL), 0);
    act_ok(id, LC_START, "pending", "running");
    set_executing(id, 1);
    act_ok(id, LC_PAUSE, "running", "pausing");
    act_refused(id, LC_PAUSE, "pausing");
    act_refused(id, LC_RESUME, "pausing");
    act_refused(id, LC_CANCEL, "pausing");
    /* Settling while a call still executes: OK, but nothing changes. */
    long long ev0 = n_events(id), au0 = n_audit(id);
    char from[16], to[16];
    CHECK_INT(lifecycle_act(D, id, LC_SETTLE, "token:rt", from, to), LC_OK);
    CHECK_STR(from, "pausing");
    CHECK_STR(to, "pausing");
    CHECK_STR(status_of(id), "pausing");
    CHECK_INT(n_events(id), ev0);
    CHECK_INT(n_audit(id), au0);
    set_executing(id, 0);
    act_ok(id, LC_SETTLE, "pausing", "paused");
    act_ok(id, LC_RESUME, "paused", "running");
    /* Settle on a running session: nothing to settle. */
    ev0 = n_events(id);
    CHECK_INT(lifecycle_act(D, id, LC_SETTLE, "token:rt", NULL, NULL), LC_OK);
    CHECK_STR(status_of(id), "running");
    CHECK_INT(n_events(id), ev0);
}

TEST(test_db_cancel_with_executing_call)
{
    char id[INGEST_ID_MAX + 1];
    CHECK_INT(make_session(id, NULL), 0);
    act_ok(id, LC_START, "pending", "running");
    set_executing(id, 2);
    act_ok(id, LC_CANCEL, "running", "canceling");
    CHECK_INT(q_int("SELECT ended_at IS NULL FROM sessions WHERE id = ?1", id), 1);
    act_refused(id, LC_CANCEL, "canceling");
    act_refused(id, LC_COMPLETE, "canceling");
    set_executing(id, 0);
    act_ok(id, LC_SETTLE, "canceling", "canceled");
    CHECK_INT(q_int("SELECT ended_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
}

TEST(test_db_cancel_resolves_waiting_calls)
{
    char id[INGEST_ID_MAX + 1];
    CHECK_INT(make_session(id, "lc-waiting"), 0);
    act_ok(id, LC_START, "pending", "running");
    exec_sql("INSERT INTO tool_calls (session_id, id, tool, kind, state, started_at, ended_at) "
             "VALUES ('lc-waiting', 'm1', 'approve', 'manual', 'waiting_for_human', 1, NULL), "
             "('lc-waiting', 'c1', 'browser', 'client', 'waiting_for_client', 1, NULL), "
             "('lc-waiting', 's1', 'search', 'server', 'succeeded', 1, 2)");
    act_ok(id, LC_CANCEL, "running", "canceled");
    char st[32];
    CHECK_STR(q_text_into("SELECT state FROM tool_calls WHERE session_id = 'lc-waiting' AND id = ?1",
                     "m1", st, sizeof st), "canceled");
    CHECK_STR(q_text_into("SELECT state FROM tool_calls WHERE session_id = 'lc-waiting' AND id = ?1",
                     "c1", st, sizeof st), "canceled");
    CHECK_STR(q_text_into("SELECT state FROM tool_calls WHERE session_id = 'lc-waiting' AND id = ?1",
                     "s1", st, sizeof st), "succeeded");
    CHECK_INT(q_int("SELECT count(*) FROM tool_calls WHERE session_id = ?1 AND ended_at IS NULL",
                    id), 0);
}

TEST(test_db_not_found)
{
    long long au0 = q_int("SELECT count(*) FROM audit", NULL);
    long long ev0 = q_int("SELECT count(*) FROM events", NULL);
    for (int a = 0; a < LC__COUNT; a++)
        CHECK_INT(lifecycle_act(D, "ses_doesnotexist", (lc_action)a, "user:alice", NULL, NULL),
                  LC_NOT_FOUND);
    CHECK_INT(q_int("SELECT count(*) FROM audit", NULL), au0);
    CHECK_INT(q_int("SELECT count(*) FROM events", NULL), ev0);
    /* No transaction left open. */
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
}

TEST(test_db_apply_in_caller_transaction)
{
    /* lifecycle_apply writes nothing of its own accord: a rollback of the
     * caller's transaction undoes the status, the event and the audit row. */
    char id[INGEST_ID_MAX + 1];
    CHECK_INT(make_session(id, NULL), 0);
    long long ev0 = n_events(id), au0 = n_audit(id);
    CHECK_INT(db_begin(D), 0);
    char from[16], to[16];
    CHECK_INT(lifecycle_apply(D, id, LC_START, "token:rt", "first event", from, to), LC_OK);
    CHECK_STR(to, "running");
    db_rollback(D);
    CHECK_STR(status_of(id), "pending");
    CHECK_INT(n_events(id), ev0);
    CHECK_INT(n_audit(id), au0);
    /* And with a commit, the detail lands in the event body and the audit. */
    CHECK_INT(db_begin(D), 0);
    CHECK_INT(lifecycle_apply(D, id, LC_START, "token:rt", "first event", from, to), LC_OK);
    CHECK_INT(db_commit(D), 0);
    CHECK_STR(status_of(id), "running");
    char v[256];
    q_text_into("SELECT detail FROM audit WHERE session_id = ?1 ORDER BY id DESC LIMIT 1", id, v,
           sizeof v);
    CHECK_STR(v, "first event");
    q_text_into("SELECT json_extract(body, '$.detail') FROM events WHERE session_id = ?1 "
           "ORDER BY seq DESC LIMIT 1", id, v, sizeof v);
    CHECK_STR(v, "first event");
}

int main(void)
{
    RUN(test_action_order_matches_table);
    RUN(test_next_full_table);
    RUN(test_next_many_executing);
    RUN(test_next_results_are_statuses);
    RUN(test_terminal_and_tool_calls);
    RUN(test_action_names_round_trip);
    if (auth_init() || db_setup()) {
        fprintf(stderr, "cannot set up the test database\n");
        db_teardown();
        h_failed++;
        return DONE();
    }
    RUN(test_db_walk);
    RUN(test_db_complete_and_fail);
    RUN(test_db_pause_with_executing_call);
    RUN(test_db_cancel_with_executing_call);
    RUN(test_db_cancel_resolves_waiting_calls);
    RUN(test_db_not_found);
    RUN(test_db_apply_in_caller_transaction);
    db_teardown();
    return DONE();
}
