/* gen: the benchmark's dataset (make bench, step 1).
 *
 *   FLIGHTDECK_DB=FILE gen [--sessions N] [--templates T] [--big B]
 *                          [--big-events E] [--seed S] [--days D]
 *
 * Defaults: 1,000,000 sessions over 90 days; T = 20,000 of them are played
 * by the demo generator (demo.c: the same agents, scripts, tool calls,
 * errors, tokens and skew as `make run`, written through ingest.c exactly as
 * a runtime's requests would be); B = 5 sessions of E = 20,000 events each
 * are appended through ingest_events() in batches of 1,000; the rest are
 * copies of the finished template sessions with their own ids, moved back in
 * time step by step so the whole set spans D days. Copies keep every row a
 * session owns (events, tool calls, spans, logs, artifacts, eval runs), and
 * the search index and error counts are filled by the schema's own
 * triggers, as for any insert.
 *
 * A database that already holds N sessions or more is left as it is (the
 * benchmark reuses it). The load runs without a journal and without fsync:
 * a crash leaves a broken file, which the benchmark deletes and rebuilds. At
 * the end the database is switched back to WAL.
 * Prints what it made and how long each part took. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "auth.h"
#include "db.h"
#include "demo.h"
#include "fmt.h"
#include "ingest.h"

#define DAY_MS (24LL * 3600 * 1000)

typedef struct gen_opts {
    long     sessions, templates, big, big_events, days;
    unsigned seed;
} gen_opts;

static double gen_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run sql (no parameters) on d; print the error and return -1 on failure. */
static int gen_exec(db *d, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db_handle(d), sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    fprintf(stderr, "gen: %s\n  in: %.200s\n", msg ? msg : "?", sql);
    sqlite3_free(msg);
    return -1;
}

/* One integer from a query without parameters, or -1. */
static long long gen_count(db *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(db_handle(d), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The template sessions: demo_load in chunks of 500 runs, each chunk one bulk
 * transaction (the WAL is off; a chunk is the unit of memory, not of
 * safety). Different seeds per chunk, so chunks differ. 0 or -1. */
static int gen_templates(db *d, const gen_opts *o)
{
    char err[256];
    for (long done = 0, chunk = 0; done < o->templates; chunk++) {
        long n = o->templates - done < 500 ? o->templates - done : 500;
        if (db_bulk_begin(d)) return -1;
        int got = demo_load(d, (int)n, o->seed + (unsigned)chunk * 7919u, err, sizeof err);
        if (got < 0) {
            fprintf(stderr, "gen: %s\n", err);
            db_bulk_end(d, 0);
            return -1;
        }
        if (db_bulk_end(d, 1)) return -1;
        done += got;
        if (chunk % 10 == 9) fprintf(stderr, "gen:   %ld template sessions\n", done);
    }
    return 0;
}

static const char *const gen_words[] = {
    "deploy", "rollback", "canary", "latency", "regression", "checksum", "migration",
    "artifact", "pipeline", "review", "approval", "staging", "manifest", "timeout",
    "quota", "replica", "shard", "index", "schema", "cache", "incident", "alert",
    "runbook", "hotfix", "build", "release", "benchmark", "profile", "trace", "budget" };
#define GEN_NWORDS (sizeof gen_words / sizeof gen_words[0])

/* A sentence of 12-40 words from the list, by the LCG state *r. */
static void gen_sentence(unsigned long long *r, char *out, size_t cap)
{
    size_t len = 0;
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    int n = 12 + (int)((*r >> 33) % 29);
    for (int i = 0; i < n && len + 16 < cap; i++) {
        *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "",
                                gen_words[(*r >> 33) % GEN_NWORDS]);
    }
    snprintf(out + len, cap - len, ".");
}

/* Event number i of a big session (a long release train: thoughts, tool
 * calls with their results, now and then a failed call or an error). */
static cJSON *gen_big_event(long i, unsigned long long *r, int64_t t)
{
    char text[512], id[40], when[40], tc[32];
    cJSON *ev = cJSON_CreateObject();
    if (!ev) return NULL;
    long call = i / 4;
    snprintf(tc, sizeof tc, "call_%ld", call);
    switch (i % 4) {
    case 0:
        gen_sentence(r, text, sizeof text);
        cJSON_AddStringToObject(ev, "type", (call % 3) ? "thought" : "assistant_message");
        cJSON_AddStringToObject(ev, "content", text);
        break;
    case 1: {
        cJSON_AddStringToObject(ev, "type", "tool_call");
        cJSON_AddStringToObject(ev, "tool_call_id", tc);
        cJSON_AddStringToObject(ev, "tool", gen_words[call % GEN_NWORDS]);
        cJSON *args = cJSON_AddObjectToObject(ev, "arguments");
        cJSON_AddNumberToObject(args, "step", (double)call);
        cJSON_AddStringToObject(args, "target", gen_words[(call * 7) % GEN_NWORDS]);
        break;
    }
    case 2:
        cJSON_AddStringToObject(ev, "type", "tool_result");
        cJSON_AddStringToObject(ev, "tool_call_id", tc);
        if (call % 97 == 13) {
            cJSON *e = cJSON_AddObjectToObject(ev, "error");
            cJSON_AddStringToObject(e, "category", "timeout");
            cJSON_AddStringToObject(e, "message", "the build agent did not answer within 30 s");
        } else {
            cJSON *res = cJSON_AddObjectToObject(ev, "result");
            cJSON_AddStringToObject(res, "status", "ok");
            cJSON_AddNumberToObject(res, "items", (double)(call % 50));
        }
        break;
    default:
        if (call % 500 == 250) {
            cJSON_AddStringToObject(ev, "type", "error");
            cJSON_AddStringToObject(ev, "message", "replica lag above 5 s; waiting before the next shard");
        } else {
            gen_sentence(r, text, sizeof text);
            cJSON_AddStringToObject(ev, "type", "thought");
            cJSON_AddStringToObject(ev, "content", text);
        }
    }
    snprintf(id, sizeof id, "big_%ld", i);
    cJSON_AddStringToObject(ev, "id", id);
    fmt_rfc3339(t, when, sizeof when);
    cJSON_AddStringToObject(ev, "time", when);
    return ev;
}

/* B sessions of E events each, through ingest_events() in batches of 1,000,
 * then completed; placed 1 to B+1 days back. 0 or -1. */
static int gen_big(db *d, const gen_opts *o, int64_t now)
{
    for (long b = 0; b < o->big; b++) {
        char id[INGEST_ID_MAX + 1], name[96];
        ingest_err e = { 0 };
        ingest_result res;
        int64_t t0 = now - (b + 1) * DAY_MS, t = t0;
        unsigned long long r = o->seed + (unsigned long long)b * 1000003ULL;
        snprintf(name, sizeof name, "Release train %ld: migrate %ld shards", b + 1, o->big_events / 4);
        cJSON *in = cJSON_CreateObject();
        cJSON_AddStringToObject(in, "agent", "release-manager");
        cJSON_AddStringToObject(in, "name", name);
        cJSON_AddStringToObject(in, "project", "platform");
        cJSON_AddStringToObject(in, "env", "production");
        cJSON_AddStringToObject(in, "prompt", "Roll the release out shard by shard and stop on a regression.");
        int rc = ingest_session_create(d, in, "token:release-bot", id, &e);
        cJSON_Delete(in);
        if (rc) { fprintf(stderr, "gen: big session: %s\n", e.message); return -1; }
        /* Batches of 1,000, then the end of the run as its own request. */
        for (long i = 0; i <= o->big_events; i += INGEST_MAX_BATCH) {
            cJSON *body = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(body, "events");
            for (long k = i; k < i + INGEST_MAX_BATCH && k < o->big_events; k++) {
                t += 50 + (int64_t)(k % 7) * 40;
                cJSON_AddItemToArray(arr, gen_big_event(k, &r, t));
            }
            if (i + INGEST_MAX_BATCH > o->big_events) {
                if (cJSON_GetArraySize(arr) > 0) {
                    memset(&e, 0, sizeof e);
                    rc = ingest_events(d, id, body, "token:release-bot", &res, NULL, &e);
                    cJSON_Delete(body);
                    if (rc) { fprintf(stderr, "gen: big session events: %s %s\n", e.field, e.message); return -1; }
                    body = cJSON_CreateObject();
                    arr = cJSON_AddArrayToObject(body, "events");
                }
                cJSON *ev = cJSON_CreateObject();
                char when[40];
                fmt_rfc3339(t + 100, when, sizeof when);
                cJSON_AddStringToObject(ev, "type", "status");
                cJSON_AddStringToObject(ev, "status", "completed");
                cJSON_AddStringToObject(ev, "response", "All shards migrated; no regression.");
                cJSON_AddStringToObject(ev, "time", when);
                cJSON_AddItemToArray(arr, ev);
            }
            memset(&e, 0, sizeof e);
            rc = ingest_events(d, id, body, "token:release-bot", &res, NULL, &e);
            cJSON_Delete(body);
            if (rc) { fprintf(stderr, "gen: big session events: %s %s\n", e.field, e.message); return -1; }
        }
        /* The rows carry the runtime's times; the session's own were stamped now. */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db_handle(d),
                               "UPDATE sessions SET created_at = ?2, started_at = ?2, "
                               "ended_at = ?3, updated_at = ?3 WHERE id = ?1",
                               -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, t0);
        sqlite3_bind_int64(st, 3, t + 100);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return -1;
        printf("big session %s: %ld events\n", id, o->big_events);
    }
    return 0;
}

/* One copy of the finished templates: ?1 copy number, ?2 shift in ms,
 * ?3 how many sessions at most. A copy's id is its template's with "_" and
 * the copy number (three digits) appended, so it cannot collide with any
 * template or other copy; references between sessions (caller, called
 * session) are mapped the same way. */
#define GEN_ID(col) col " || printf('_%03d', ?1)"
static const char *const gen_copy_sql[] = {
    "DELETE FROM gen_pick",
    "INSERT INTO gen_pick SELECT id FROM gen_tpl ORDER BY random() LIMIT ?3",
    "INSERT INTO sessions (id, kind, agent, name, description, status, trigger_type, "
    " trigger_source, actor, project, environment, cluster, deployment, thread_id, "
    " parent_session_id, parent_tool_call_id, prompt, inputs, metadata, user_data, "
    " final_response, report, started_at, ended_at, error_message, error_step, retry_count, "
    " models, services, prompt_tokens, completion_tokens, llm_cost_micros, total_cost_micros, "
    " cpu_time_ns, method, url, route, next_seq, executing_calls, created_at, updated_at, "
    " deleted_events, devmode, agent_ids) "
    "SELECT " GEN_ID("s.id") ", kind, agent, name, description, status, trigger_type, "
    " trigger_source, actor, project, environment, cluster, deployment, thread_id, "
    " CASE WHEN parent_session_id IS NULL THEN NULL ELSE " GEN_ID("parent_session_id") " END, "
    " parent_tool_call_id, prompt, inputs, metadata, user_data, final_response, report, "
    " started_at - ?2, ended_at - ?2, error_message, error_step, retry_count, models, services, "
    " prompt_tokens, completion_tokens, llm_cost_micros, total_cost_micros, cpu_time_ns, "
    " method, url, route, next_seq, executing_calls, created_at - ?2, updated_at - ?2, "
    " deleted_events, devmode, agent_ids "
    "FROM gen_pick p JOIN sessions s ON s.id = p.id",
    "INSERT INTO events (id, session_id, seq, type, client_id, time, actor, tool_call_id, body, "
    " hide_reason, created_at) "
    "SELECT e.id + ?1 * (SELECT n FROM gen_span WHERE t = 'events'), " GEN_ID("e.session_id") ", "
    " seq, type, client_id, time - ?2, actor, tool_call_id, body, hide_reason, created_at - ?2 "
    "FROM gen_pick p JOIN events e ON e.session_id = p.id ORDER BY e.id",
    "INSERT INTO event_keys (session_id, client_id) "
    "SELECT " GEN_ID("k.session_id") ", client_id FROM gen_pick p JOIN event_keys k ON k.session_id = p.id",
    "INSERT INTO tool_calls (session_id, id, tool, kind, arguments, result, error_category, "
    " error_message, state, retries, started_at, ended_at, result_size, called_session_id, event_id) "
    "SELECT " GEN_ID("c.session_id") ", c.id, tool, kind, arguments, result, error_category, "
    " error_message, state, retries, started_at - ?2, ended_at - ?2, result_size, "
    " CASE WHEN called_session_id IS NULL THEN NULL ELSE " GEN_ID("called_session_id") " END, "
    " event_id + ?1 * (SELECT n FROM gen_span WHERE t = 'events') "
    "FROM gen_pick p JOIN tool_calls c ON c.session_id = p.id",
    "INSERT INTO tool_call_secrets (session_id, tool_call_id, arguments) "
    "SELECT " GEN_ID("x.session_id") ", tool_call_id, arguments "
    "FROM gen_pick p JOIN tool_call_secrets x ON x.session_id = p.id",
    "INSERT INTO spans (session_id, trace_id, span_id, parent_span_id, name, start_ns, end_ns, "
    " status, attributes) "
    "SELECT " GEN_ID("x.session_id") ", trace_id, span_id, parent_span_id, name, "
    " start_ns - ?2 * 1000000, end_ns - ?2 * 1000000, status, attributes "
    "FROM gen_pick p JOIN spans x ON x.session_id = p.id",
    "INSERT INTO logs (session_id, time, severity, body) "
    "SELECT " GEN_ID("x.session_id") ", time - ?2, severity, body FROM gen_pick p JOIN logs x ON x.session_id = p.id",
    "INSERT INTO artifacts (id, session_id, name, media_type, size, origin, content, created_at) "
    "SELECT x.id || printf('_%03d', ?1), " GEN_ID("x.session_id") ", name, media_type, size, origin, content, "
    " created_at - ?2 FROM gen_pick p JOIN artifacts x ON x.session_id = p.id",
    "INSERT INTO eval_runs (session_id, eval_id, state, result, created_at) "
    "SELECT " GEN_ID("x.session_id") ", eval_id, state, result, created_at - ?2 "
    "FROM gen_pick p JOIN eval_runs x ON x.session_id = p.id",
};
#define GEN_NCOPY (sizeof gen_copy_sql / sizeof gen_copy_sql[0])

/* Fill up to o->sessions with copies of the finished templates. 0 or -1. */
static int gen_copies(db *d, const gen_opts *o)
{
    sqlite3_stmt *st[GEN_NCOPY] = { 0 };
    int rc = -1;
    long long have = gen_count(d, "SELECT count(*) FROM sessions");
    if (gen_exec(d, "CREATE TEMP TABLE gen_tpl (id TEXT PRIMARY KEY);"
                    "CREATE TEMP TABLE gen_pick (id TEXT PRIMARY KEY);"
                    "CREATE TEMP TABLE gen_span (t TEXT PRIMARY KEY, n INTEGER);"
                    "INSERT INTO gen_tpl SELECT id FROM sessions "
                    " WHERE status IN ('completed','failed','canceled') AND next_seq < 1000;"
                    "INSERT INTO gen_span SELECT 'events', coalesce(max(id), 0) + 1 FROM events;"))
        return -1;
    long long ntpl = gen_count(d, "SELECT count(*) FROM gen_tpl");
    if (ntpl <= 0 || have < 0) return -1;
    long long copies = (o->sessions - have + ntpl - 1) / ntpl;
    /* Templates span 7 days; copy k moves back k * step so the last one ends
     * o->days back. */
    int64_t step = copies > 0 ? (o->days - 7) * DAY_MS / copies : 0;
    for (size_t i = 0; i < GEN_NCOPY; i++)
        if (sqlite3_prepare_v2(db_handle(d), gen_copy_sql[i], -1, &st[i], NULL) != SQLITE_OK) {
            fprintf(stderr, "gen: %s\n  in: %.120s\n", sqlite3_errmsg(db_handle(d)), gen_copy_sql[i]);
            goto done;
        }
    for (long long k = 1; k <= copies && have < o->sessions; k++) {
        long long n = o->sessions - have < ntpl ? o->sessions - have : ntpl;
        if (gen_exec(d, "BEGIN")) goto done;
        for (size_t i = 0; i < GEN_NCOPY; i++) {
            double ts = gen_now();
            sqlite3_reset(st[i]);
            if (sqlite3_bind_parameter_count(st[i]) >= 1) sqlite3_bind_int64(st[i], 1, k);
            if (sqlite3_bind_parameter_count(st[i]) >= 2) sqlite3_bind_int64(st[i], 2, k * step);
            if (sqlite3_bind_parameter_count(st[i]) >= 3) sqlite3_bind_int64(st[i], 3, n);
            if (sqlite3_step(st[i]) != SQLITE_DONE) {
                fprintf(stderr, "gen: copy %lld: %s\n", k, sqlite3_errmsg(db_handle(d)));
                gen_exec(d, "ROLLBACK");
                goto done;
            }
            if (getenv("GEN_PROFILE")) fprintf(stderr, "gen:     step %zu: %.3f s\n", i, gen_now() - ts);
        }
        /* The copies' events queued their search text (migration 007). */
        if (db_search_flush(d) || gen_exec(d, "COMMIT")) goto done;
        have += n;
        fprintf(stderr, "gen:   copy %lld of %lld: %lld sessions\n", k, copies, have);
    }
    rc = 0;
done:
    for (size_t i = 0; i < GEN_NCOPY; i++) sqlite3_finalize(st[i]);
    return rc;
}

static long gen_opt(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return strtol(argv[i + 1], NULL, 10);
    return def;
}

int main(int argc, char **argv)
{
    gen_opts o = {
        .sessions = gen_opt(argc, argv, "--sessions", 1000000),
        .templates = gen_opt(argc, argv, "--templates", 20000),
        .big = gen_opt(argc, argv, "--big", 5),
        .big_events = gen_opt(argc, argv, "--big-events", 20000),
        .days = gen_opt(argc, argv, "--days", 90),
        .seed = (unsigned)gen_opt(argc, argv, "--seed", 42),
    };
    const char *path = getenv("FLIGHTDECK_DB");
    char err[256];
    int applied;
    if (!path || o.sessions < 1 || o.templates < 16 || o.templates > DEMO_MAX_SESSIONS ||
        o.big < 0 || o.big_events < 1 || o.days < 8) {
        fprintf(stderr, "usage: FLIGHTDECK_DB=FILE gen [--sessions N] [--templates 16..%d] "
                        "[--big B] [--big-events E] [--days D>=8] [--seed S]\n", DEMO_MAX_SESSIONS);
        return 2;
    }
    if (auth_init()) return 1;
    db *d = db_open(path, err, sizeof err);
    if (!d || db_migrate(d, &applied)) {
        fprintf(stderr, "gen: %s\n", d ? db_errmsg(d) : err);
        db_free(d);
        return 1;
    }
    long long have = gen_count(d, "SELECT count(*) FROM sessions");
    if (have >= o.sessions) {
        printf("gen: %s already holds %lld sessions; reused\n", path, have);
        db_free(d);
        return 0;
    }
    if (have != 0) {
        fprintf(stderr, "gen: %s holds %lld sessions, fewer than %ld: delete it first\n", path, have, o.sessions);
        db_free(d);
        return 1;
    }
    double t0 = gen_now(), t1, t2, t3;
    int rc = 1;
    if (gen_exec(d, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                    "PRAGMA cache_size = -4000000;"))
        goto out;
    if (gen_templates(d, &o)) goto out;
    t1 = gen_now();
    printf("templates: %ld sessions in %.1f s\n", o.templates, t1 - t0);
    if (gen_big(d, &o, db_now_ms())) goto out;
    t2 = gen_now();
    printf("big sessions: %ld x %ld events in %.1f s\n", o.big, o.big_events, t2 - t1);
    if (gen_copies(d, &o)) goto out;
    t3 = gen_now();
    printf("copies: up to %ld sessions in %.1f s\n", o.sessions, t3 - t2);
    /* No ANALYZE: the app's plans must not depend on statistics a real
     * deployment would not have. */
    if (gen_exec(d, "PRAGMA journal_mode = WAL;")) goto out;
    printf("sessions %lld, events %lld, spans %lld, logs %lld, tool calls %lld\n",
           gen_count(d, "SELECT count(*) FROM sessions"), gen_count(d, "SELECT count(*) FROM events"),
           gen_count(d, "SELECT count(*) FROM spans"), gen_count(d, "SELECT count(*) FROM logs"),
           gen_count(d, "SELECT count(*) FROM tool_calls"));
    printf("total %.1f s\n", gen_now() - t0);
    rc = 0;
out:
    db_free(d);
    return rc;
}
