/* sqlite_ref: "reference C" of `make bench` (issue 9), the SQLite ceiling.
 *
 * Writes the rows the app writes for a stream of runtime events (the same
 * events bench/loadgen POSTs, from bench/events.h) straight into the app's
 * database with prepared statements: no HTTP, no FastCGI, no JSON parsing,
 * no app code. The app's ingest can only be slower than this; the gap is
 * what lighttpd, libfcgi, parsing and validation cost.
 *
 * Usage:
 *     sqlite_ref --db FILE --batch B --events N [--runtimes R] [--keep 1]
 *
 * FILE is a Flightdeck database, already migrated (the app's schema and
 * triggers; bin/flightdeck setup or a first start make one). It creates R
 * running sessions (default 1) in project "bench-ref" (each with the
 * lifecycle entry of its start, as the app's create with "status":"running"
 * writes; no audit rows), then writes N events
 * in transactions of B events (BEGIN IMMEDIATE ... COMMIT), each
 * transaction holding the next B events of one session, the sessions
 * taking turns, as R runtimes each POSTing batches of B would. Per event it
 * runs the statements cgi/ingest.c (apply_event) runs for it, in the same
 * order, with the same SQL. Prints
 *     {"mode":"sqlite_ref","runtimes":R,"batch":B,"events":N,"seconds":x,"events_per_s":x}
 * where seconds covers the transactions only (not making the events, not
 * the set-up), then deletes every session of project "bench-ref" (its
 * events, tool calls... go with it by ON DELETE CASCADE; not timed).
 * --keep 1 leaves them, to compare the rows with what the app wrote for
 * loadgen's runtimes (session "bench ref R" holds runtime R's events). 
 *
 * Exit status: 0; 1 on a database error (message on stderr); 2 bad usage.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -O2 ... -o sqlite_ref bench/sqlite_ref.c -lsqlite3 */
#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "seal.h"

#define SQLREF_PROJECT    "bench-ref"
#define SQLREF_ACTOR      "token:bench-ref" /* the app's actor for a token is "token:NAME" */
#define SQLREF_MAX_BATCH  100000
#define SQLREF_MAX_RUNTIMES 1024

/* The statements, with the app's SQL text (cgi/db_sql.h) where the app has
 * one, so SQLite does the same work. */
enum {
    SQ_STATE, SQ_BY_CLIENT_ID, SQ_TOOLCALL_STATE, SQ_RESERVE_SEQ, SQ_EVENT_INSERT,
    SQ_TOOLCALL_INSERT, SQ_ADD_EXECUTING, SQ_TOOLCALL_FINISH, SQ_ADD_USAGE, SQ_SESSION_INSERT,
    SQ__COUNT
};

static const char *const sqlref_sql[SQ__COUNT] = {
    /* SESSION_STATE */
    [SQ_STATE] = "SELECT status, project, executing_calls FROM sessions WHERE id = ?1",
    /* EVENT_BY_CLIENT_ID */
    [SQ_BY_CLIENT_ID] =
        "SELECT id, seq FROM events WHERE session_id = ?1 AND client_id = ?2 "
        "UNION ALL SELECT NULL, NULL FROM event_keys WHERE session_id = ?1 AND client_id = ?2 "
        "LIMIT 1",
    /* TOOLCALL_STATE */
    [SQ_TOOLCALL_STATE] = "SELECT state FROM tool_calls WHERE session_id = ?1 AND id = ?2",
    /* SESSION_RESERVE_SEQ */
    [SQ_RESERVE_SEQ] =
        "UPDATE sessions SET next_seq = next_seq + ?2, updated_at = max(updated_at, ?3) "
        "WHERE id = ?1 RETURNING next_seq - ?2",
    /* EVENT_INSERT */
    [SQ_EVENT_INSERT] =
        "INSERT INTO events (session_id, seq, type, client_id, time, actor, tool_call_id, body, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
    /* TOOLCALL_INSERT */
    [SQ_TOOLCALL_INSERT] =
        "INSERT INTO tool_calls (session_id, id, tool, kind, arguments, state, started_at, "
        "called_session_id, event_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    /* SESSION_ADD_EXECUTING */
    [SQ_ADD_EXECUTING] =
        "UPDATE sessions SET executing_calls = max(0, executing_calls + ?2) WHERE id = ?1",
    /* TOOLCALL_FINISH */
    [SQ_TOOLCALL_FINISH] =
        "UPDATE tool_calls SET state = ?3, result = ?4, error_category = ?5, error_message = ?6, "
        "retries = ?7, ended_at = ?8, result_size = coalesce(length(?4), 0) "
        "WHERE session_id = ?1 AND id = ?2",
    /* SESSION_ADD_USAGE */
    [SQ_ADD_USAGE] =
        "UPDATE sessions SET prompt_tokens = prompt_tokens + ?2, "
        "completion_tokens = completion_tokens + ?3, llm_cost_micros = llm_cost_micros + ?4, "
        "total_cost_micros = total_cost_micros + ?4, "
        "models = CASE WHEN ?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(models) WHERE value = ?5) "
        "THEN models ELSE json_insert(models, '$[#]', ?5) END WHERE id = ?1",
    /* Ours: a running session, as the app's create with "status":"running"
     * leaves it (sqlref_session_create adds its lifecycle entry). */
    [SQ_SESSION_INSERT] =
        "INSERT INTO sessions (id, kind, agent, name, status, trigger_type, trigger_source, "
        "project, prompt, metadata, agent_ids, started_at, created_at, updated_at) "
        "VALUES (?1, 'agent', 'bench-agent', ?2, 'running', 'api', '" SQLREF_ACTOR "', '"
        SQLREF_PROJECT "', 'Benchmark runtime: report what you do.', "
        "'{\"bench\":\"sqlite_ref\"}', '[\"bench-agent\"]', ?3, ?3, ?3)",
};

typedef struct sqlref {
    sqlite3      *h;
    sqlite3_stmt *st[SQ__COUNT];
} sqlref;

/* ------------------------------------------------------------------ helpers */

/* Milliseconds since 1970 (the app's db_now_ms). */
static int64_t sqlref_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds on the monotonic clock, for the timing. */
static double sqlref_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Print what failed and SQLite's message; returns -1 for `return`. */
static int sqlref_err(sqlref *q, const char *what)
{
    fprintf(stderr, "sqlite_ref: %s: %s\n", what, q->h ? sqlite3_errmsg(q->h) : "no database");
    return -1;
}

/* Statement id, reset and its bindings cleared, ready to bind (the app's
 * db_stmt). */
static sqlite3_stmt *sqlref_stmt(sqlref *q, int id)
{
    sqlite3_reset(q->st[id]);
    sqlite3_clear_bindings(q->st[id]);
    return q->st[id];
}

/* Bind text s (NULL binds NULL), copied as the app's db_bind_text does.
 * SQLite's return code; callers, like the app's, leave it to the step: a
 * bind that failed (out of memory) makes the step fail, and that is
 * checked. */
static int sqlref_bind(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Step st to its end (the app's db_exec). 0, or -1. */
static int sqlref_exec(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Run fixed SQL text. 0, or -1 with the message printed. */
static int sqlref_sql_run(sqlref *q, const char *sql)
{
    return sqlite3_exec(q->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : sqlref_err(q, sql);
}

/* Open path with the app's settings (cgi/db.c db_open: WAL,
 * synchronous=NORMAL, foreign keys, temp store in memory, 5 s busy
 * timeout) and prepare every statement (which fails on a database without
 * the app's schema). 0, or -1 with the message printed (q->h may be open:
 * sqlref_close it). */
static int sqlref_open(sqlref *q, const char *path)
{
    static const char pragmas[] =
        "PRAGMA journal_mode = WAL;"
        "PRAGMA synchronous = NORMAL;"
        "PRAGMA foreign_keys = ON;"
        "PRAGMA temp_store = MEMORY;";
    memset(q, 0, sizeof *q);
    /* No CREATE: a missing file is a mistake, not an empty database to fill. */
    if (sqlite3_open_v2(path, &q->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return sqlref_err(q, path);
    sqlite3_busy_timeout(q->h, 5000);
    if (sqlref_sql_run(q, pragmas)) return -1;
    /* The triggers of migration 011 call the encryption functions (seal.h;
     * not configured here: they pass values through, as in the app with
     * encryption off). */
    if (seal_register(q->h) != SQLITE_OK) return sqlref_err(q, "registering the fd_* functions");
    for (int i = 0; i < SQ__COUNT; i++)
        if (sqlite3_prepare_v3(q->h, sqlref_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i],
                               NULL) != SQLITE_OK)
            return sqlref_err(q, "preparing a statement (is this a migrated Flightdeck database?)");
    return 0;
}

/* Finalize the statements and close (safe on a half-opened q). */
static void sqlref_close(sqlref *q)
{
    for (int i = 0; i < SQ__COUNT; i++) sqlite3_finalize(q->st[i]);
    if (q->h && sqlite3_close(q->h) != SQLITE_OK) sqlref_err(q, "closing the database");
    memset(q, 0, sizeof *q);
}

/* ------------------------------------------------------------- the writes */

/* Read the status of session sid into status[16] (the app's session_status
 * and, with a tool_result, lifecycle_apply's look for LC_SETTLE). 0, or -1. */
static int sqlref_state(sqlref *q, const char *sid, char status[16])
{
    sqlite3_stmt *st = sqlref_stmt(q, SQ_STATE);
    sqlref_bind(st, 1, sid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Write event ev of session sid inside the open transaction, as
 * cgi/ingest.c apply_event does for a running session, a server tool call
 * and no secrets: the idempotency look-up, the tool call's state, the
 * sequence number, the events row, then the tool_calls row and executing
 * count (tool_call), the call's outcome, count and settle look
 * (tool_result), or the session's usage (usage). now is the transaction's
 * time, as the app's is the request's. 0, or -1 with the message printed. */
static int sqlref_event(sqlref *q, const char *sid, const events_event *ev, int64_t now)
{
    sqlite3_stmt *st;
    char prev[24] = "", status[16];
    int64_t seq, event_id;

    /* Idempotency: every event carries a key (the run's are all new). */
    st = sqlref_stmt(q, SQ_BY_CLIENT_ID);
    sqlref_bind(st, 1, sid);
    sqlref_bind(st, 2, ev->client_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) {
        fprintf(stderr, "sqlite_ref: event %s of %s is there already\n", ev->client_id, sid);
        return -1;
    }
    if (rc != SQLITE_DONE) return sqlref_err(q, "looking up an event key");

    if (ev->type == EVENTS_TOOL_CALL || ev->type == EVENTS_TOOL_RESULT) {
        st = sqlref_stmt(q, SQ_TOOLCALL_STATE);
        sqlref_bind(st, 1, sid);
        sqlref_bind(st, 2, ev->tool_call_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlref_err(q, "reading a tool call");
        /* What the app refuses (409/422), we do not write either. */
        if ((ev->type == EVENTS_TOOL_CALL) != (rc == SQLITE_DONE)) {
            fprintf(stderr, "sqlite_ref: tool call %s of %s is %s\n", ev->tool_call_id, sid,
                    rc == SQLITE_DONE ? "unknown" : "there already");
            return -1;
        }
    }

    st = sqlref_stmt(q, SQ_RESERVE_SEQ);
    sqlref_bind(st, 1, sid);
    sqlite3_bind_int(st, 2, 1);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_ROW) return sqlref_err(q, "reserving a sequence number");
    seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    st = sqlref_stmt(q, SQ_EVENT_INSERT);
    sqlref_bind(st, 1, sid);
    sqlite3_bind_int64(st, 2, seq);
    sqlref_bind(st, 3, ev->type_name);
    sqlref_bind(st, 4, ev->client_id);
    sqlite3_bind_int64(st, 5, now);
    sqlref_bind(st, 6, SQLREF_ACTOR);
    sqlref_bind(st, 7, *ev->tool_call_id ? ev->tool_call_id : NULL);
    sqlref_bind(st, 8, ev->body);
    sqlite3_bind_int64(st, 9, now);
    if (sqlite3_step(st) != SQLITE_ROW) return sqlref_err(q, "inserting an event");
    event_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    switch (ev->type) {
    case EVENTS_TOOL_CALL:
        st = sqlref_stmt(q, SQ_TOOLCALL_INSERT);
        sqlref_bind(st, 1, sid);
        sqlref_bind(st, 2, ev->tool_call_id);
        sqlref_bind(st, 3, ev->tool);
        sqlref_bind(st, 4, "server");
        sqlref_bind(st, 5, ev->arguments);
        sqlref_bind(st, 6, "running");
        sqlite3_bind_int64(st, 7, now);
        sqlite3_bind_null(st, 8);
        sqlite3_bind_int64(st, 9, event_id);
        if (sqlref_exec(st)) return sqlref_err(q, "inserting a tool call");
        st = sqlref_stmt(q, SQ_ADD_EXECUTING);
        sqlref_bind(st, 1, sid);
        sqlite3_bind_int(st, 2, 1);
        if (sqlref_exec(st)) return sqlref_err(q, "counting an executing call");
        break;
    case EVENTS_TOOL_RESULT:
        st = sqlref_stmt(q, SQ_TOOLCALL_FINISH);
        sqlref_bind(st, 1, sid);
        sqlref_bind(st, 2, ev->tool_call_id);
        sqlref_bind(st, 3, ev->err_category ? "failed" : "succeeded");
        sqlref_bind(st, 4, ev->err_category ? NULL : ev->result);
        sqlref_bind(st, 5, ev->err_category);
        sqlref_bind(st, 6, ev->err_category ? ev->err_message : NULL);
        sqlite3_bind_int64(st, 7, 0);
        sqlite3_bind_int64(st, 8, now);
        if (sqlref_exec(st)) return sqlref_err(q, "finishing a tool call");
        if (strcmp(prev, "running") == 0) {
            st = sqlref_stmt(q, SQ_ADD_EXECUTING);
            sqlref_bind(st, 1, sid);
            sqlite3_bind_int(st, 2, -1);
            if (sqlref_exec(st)) return sqlref_err(q, "counting an executing call");
            /* lifecycle_apply(LC_SETTLE) looks; a running session stays. */
            if (sqlref_state(q, sid, status)) return sqlref_err(q, "reading a session");
        }
        break;
    case EVENTS_USAGE:
        st = sqlref_stmt(q, SQ_ADD_USAGE);
        sqlref_bind(st, 1, sid);
        sqlite3_bind_int64(st, 2, ev->prompt_tokens);
        sqlite3_bind_int64(st, 3, ev->completion_tokens);
        sqlite3_bind_int64(st, 4, ev->cost_micros);
        sqlref_bind(st, 5, ev->model);
        if (sqlref_exec(st)) return sqlref_err(q, "adding usage");
        break;
    default:
        break; /* messages, thoughts, errors: the events row (and its triggers) is all */
    }
    return 0;
}

/* Write evs[0..n) of session sid in one transaction, as the app does one
 * request: BEGIN IMMEDIATE, the session's status, each event, the search
 * queue into the index, COMMIT.
 * Adds the time it took to *seconds. 0, or -1 (rolled back, message
 * printed). */
static int sqlref_batch(sqlref *q, const char *sid, const events_event *evs, int n,
                        double *seconds)
{
    char status[16];
    double t0 = sqlref_clock();
    if (sqlref_sql_run(q, "BEGIN IMMEDIATE")) return -1;
    int64_t now = sqlref_now_ms();
    if (sqlref_state(q, sid, status)) { sqlref_err(q, "reading a session"); goto fail; }
    for (int i = 0; i < n; i++)
        if (sqlref_event(q, sid, &evs[i], now)) goto fail;
    /* The events' search text goes into the index once per transaction,
     * as db_commit() does it (migration 007). */
    if (sqlref_sql_run(q, "INSERT INTO search_events (rowid, sid, body) "
                          "SELECT id, sid, body FROM search_pending ORDER BY id; "
                          "DELETE FROM search_pending")) goto fail;
    if (sqlref_sql_run(q, "COMMIT")) goto fail;
    *seconds += sqlref_clock() - t0;
    return 0;
fail:
    if (!sqlite3_get_autocommit(q->h)) sqlite3_exec(q->h, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* Create session sid (running, project bench-ref) as the app's create with
 * "status":"running" leaves it: the sessions row and the lifecycle entry
 * of its start (seq 1), so the events get the app's sequence numbers. The
 * audit rows are left out: the audit outlives a deleted session, and these
 * are deleted at the end. 0, or -1. */
static int sqlref_session_create(sqlref *q, const char *sid, int index)
{
    char name[64];
    int64_t now = sqlref_now_ms();
    snprintf(name, sizeof name, "bench ref %d", index);
    sqlite3_stmt *st = sqlref_stmt(q, SQ_SESSION_INSERT);
    sqlref_bind(st, 1, sid);
    sqlref_bind(st, 2, name);
    sqlite3_bind_int64(st, 3, now);
    if (sqlref_exec(st)) return sqlref_err(q, "creating a session");
    st = sqlref_stmt(q, SQ_RESERVE_SEQ);
    sqlref_bind(st, 1, sid);
    sqlite3_bind_int(st, 2, 1);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_ROW) return sqlref_err(q, "reserving a sequence number");
    int64_t seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    /* The body cgi/lifecycle.c (lifecycle_record) writes for a start. */
    st = sqlref_stmt(q, SQ_EVENT_INSERT);
    sqlref_bind(st, 1, sid);
    sqlite3_bind_int64(st, 2, seq);
    sqlref_bind(st, 3, "lifecycle");
    sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, now);
    sqlref_bind(st, 6, SQLREF_ACTOR);
    sqlite3_bind_null(st, 7);
    sqlref_bind(st, 8, "{\"action\":\"start\",\"from\":\"pending\",\"to\":\"running\","
                       "\"actor\":\"" SQLREF_ACTOR "\"}");
    sqlite3_bind_int64(st, 9, now);
    return sqlref_exec(st) ? sqlref_err(q, "recording the start") : 0;
}

/* ------------------------------------------------------------------- main */

/* Parse a whole number within [lo, hi] into *out. 0 or -1. */
static int sqlref_parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Print the usage (and msg) to stderr; returns 2, the exit status. */
static int sqlref_usage(const char *msg)
{
    fprintf(stderr,
            "sqlite_ref: %s\n"
            "usage: sqlite_ref --db FILE --batch B --events N [--runtimes R] [--keep 1]\n"
            "  FILE a migrated Flightdeck database; B 1..100000 events per transaction;\n"
            "  N events in all (>= 1); R sessions written in turn (1..1024, default 1);\n"
            "  --keep 1: leave the sessions of project bench-ref (default: delete them)\n",
            msg);
    return 2;
}

/* sqlite_ref OPTIONS: see the comment at the top. */
int main(int argc, char **argv)
{
    const char *path = NULL;
    long long batch = 0, total = 0, runtimes = 1;
    sqlref q = { 0 };
    events_event *evs = NULL;
    long long *next = NULL; /* per session: its next event number */
    char (*sids)[64] = NULL;
    int rc = 1, created = 0, keep = 0;
    double seconds = 0;

    for (int i = 1; i < argc; i += 2) {
        const char *name = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return sqlref_usage("every option takes a value");
        if (!strcmp(name, "--db")) path = v;
        else if (!strcmp(name, "--batch")) {
            if (sqlref_parse_ll(v, 1, SQLREF_MAX_BATCH, &batch))
                return sqlref_usage("--batch must be 1..100000");
        } else if (!strcmp(name, "--events")) {
            if (sqlref_parse_ll(v, 1, 1000000000LL, &total))
                return sqlref_usage("--events must be 1..1000000000");
        } else if (!strcmp(name, "--keep")) {
            if (strcmp(v, "0") && strcmp(v, "1")) return sqlref_usage("--keep is 0 or 1");
            keep = v[0] == '1';
        } else if (!strcmp(name, "--runtimes")) {
            if (sqlref_parse_ll(v, 1, SQLREF_MAX_RUNTIMES, &runtimes))
                return sqlref_usage("--runtimes must be 1..1024");
        } else {
            return sqlref_usage("unknown option");
        }
    }
    if (!path || !batch || !total) return sqlref_usage("--db, --batch and --events are required");

    evs = malloc((size_t)batch * sizeof *evs);
    next = calloc((size_t)runtimes, sizeof *next);
    sids = calloc((size_t)runtimes, sizeof *sids);
    if (!evs || !next || !sids) { fprintf(stderr, "sqlite_ref: out of memory\n"); goto out; }
    if (sqlref_open(&q, path)) goto out;

    /* Session ids of our own, unique to this run (a leftover of a run that
     * was killed cannot collide). */
    for (; created < runtimes; created++) {
        snprintf(sids[created], sizeof sids[created], "bref_%ld_%lld_%d", (long)getpid(),
                 (long long)sqlref_now_ms(), created);
        if (sqlref_session_create(&q, sids[created], created)) goto out;
    }

    /* Transaction t writes the next events of session t % R. */
    long long done = 0;
    for (long long t = 0; done < total; t++) {
        int r = (int)(t % runtimes);
        int n = (int)(total - done < batch ? total - done : batch);
        for (int i = 0; i < n; i++)
            if (events_make(r, next[r] + i, &evs[i])) {
                fprintf(stderr, "sqlite_ref: an event did not fit its buffer\n");
                goto out;
            }
        if (sqlref_batch(&q, sids[r], evs, n, &seconds)) goto out;
        next[r] += n;
        done += n;
    }
    printf("{\"mode\":\"sqlite_ref\",\"runtimes\":%lld,\"batch\":%lld,\"events\":%lld,"
           "\"seconds\":%.3f,\"events_per_s\":%.1f}\n",
           runtimes, batch, total, seconds, seconds > 0 ? (double)total / seconds : 0.0);
    fflush(stdout);
    rc = 0;
out:
    /* Clean up whatever was made, after a failure too: every session of the
     * project, with all its rows (ON DELETE CASCADE). */
    if (created && !keep && q.h && sqlref_sql_run(&q, "DELETE FROM sessions WHERE project = '"
                                              SQLREF_PROJECT "'"))
        rc = 1;
    sqlref_close(&q);
    free(sids);
    free(next);
    free(evs);
    return rc;
}
