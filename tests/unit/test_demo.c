/* Unit tests for cgi/demo.c: load demo data into temporary databases and
 * check that it shows everything the product has to show (every status and
 * trigger type, called sessions, failed and waiting tool calls, usage), that
 * the times look real, and that a seed always gives the same data. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "demo.h"
#include "harness.h"

#define NSESSIONS 120
#define SEED      7u

/* A migrated database in a fresh temp file; path receives its name. */
static db *temp_db(char path[64])
{
    char err[256];
    int applied;
    snprintf(path, 64, "/tmp/fd-test-demo-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    close(fd);
    db *d = db_open(path, err, sizeof err);
    if (!d) {
        fprintf(stderr, "  db_open: %s\n", err);
        return NULL;
    }
    if (db_migrate(d, &applied)) {
        fprintf(stderr, "  db_migrate: %s\n", db_errmsg(d));
        db_free(d);
        return NULL;
    }
    return d;
}

/* Close d and remove its files (the database, its WAL and shared memory). */
static void temp_db_drop(db *d, const char *path)
{
    char side[80];
    db_free(d);
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* The first column of the first row of sql (with ?1 bound to arg when not
 * NULL) as an integer; -1 on error. */
static long long q_int(db *d, const char *sql, const char *arg)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db_handle(d), sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "  prepare: %s\n", sqlite3_errmsg(db_handle(d)));
        return -1;
    }
    if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* "type=count,..." of events per type, for comparing two loads. */
static void event_counts(db *d, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;
    size_t used = 0;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db_handle(d),
                           "SELECT type, count(*) FROM events GROUP BY type ORDER BY type", -1,
                           &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW && used < n) {
        int w = snprintf(out + used, n - used, "%s=%lld,", (const char *)sqlite3_column_text(st, 0),
                         (long long)sqlite3_column_int64(st, 1));
        if (w < 0) break;
        used += (size_t)w;
    }
    sqlite3_finalize(st);
}

static db *loaded;
static char loaded_path[64];

TEST(test_load_creates_the_requested_count)
{
    char err[256] = "";
    loaded = temp_db(loaded_path);
    CHECK(loaded != NULL);
    if (!loaded) return;
    int n = demo_load(loaded, NSESSIONS, SEED, err, sizeof err);
    if (n < 0) fprintf(stderr, "  demo_load: %s\n", err);
    CHECK_INT(n, NSESSIONS);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions", NULL), NSESSIONS);
}

TEST(test_every_status_present)
{
    static const char *const statuses[] = { "pending", "running", "retrying", "pausing", "paused",
                                            "canceling", "canceled", "completed", "failed" };
    if (!loaded) { CHECK(loaded != NULL); return; }
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        long long n = q_int(loaded, "SELECT count(*) FROM sessions WHERE status = ?1", statuses[i]);
        if (n < 1) fprintf(stderr, "    no %s session\n", statuses[i]);
        CHECK(n >= 1);
    }
    /* Most runs complete, as in real life. */
    CHECK(q_int(loaded, "SELECT count(*) FROM sessions WHERE status = 'completed'", NULL) >
          NSESSIONS / 3);
}

TEST(test_every_trigger_present)
{
    static const char *const triggers[] = { "manual", "api", "event", "schedule", "agent",
                                            "workflow" };
    if (!loaded) { CHECK(loaded != NULL); return; }
    for (size_t i = 0; i < sizeof triggers / sizeof *triggers; i++) {
        long long n = q_int(loaded, "SELECT count(*) FROM sessions WHERE trigger_type = ?1",
                            triggers[i]);
        if (n < 1) fprintf(stderr, "    no %s trigger\n", triggers[i]);
        CHECK(n >= 1);
    }
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE trigger_source = ''", NULL), 0);
}

TEST(test_parent_child_links)
{
    if (!loaded) { CHECK(loaded != NULL); return; }
    /* The child points at the parent and the parent's tool call; that tool
     * call (kind agent or workflow) points back at the child. */
    long long linked = q_int(loaded,
        "SELECT count(*) FROM sessions c JOIN sessions p ON p.id = c.parent_session_id "
        "JOIN tool_calls t ON t.session_id = p.id AND t.id = c.parent_tool_call_id "
        "WHERE t.called_session_id = c.id AND t.kind IN ('agent','workflow') "
        "AND c.trigger_type IN ('agent','workflow') AND c.trigger_source = p.agent", NULL);
    CHECK(linked >= 2);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE parent_session_id IS NOT NULL",
                    NULL), linked);
    CHECK(q_int(loaded, "SELECT count(*) FROM sessions c JOIN sessions p "
                        "ON p.id = c.parent_session_id WHERE p.kind = 'workflow'", NULL) >= 1);
}

TEST(test_tool_calls_failed_and_waiting)
{
    if (!loaded) { CHECK(loaded != NULL); return; }
    CHECK(q_int(loaded, "SELECT count(*) FROM tool_calls WHERE state = 'failed' "
                        "AND error_category <> '' AND error_message <> ''", NULL) >= 1);
    CHECK(q_int(loaded, "SELECT count(*) FROM tool_calls WHERE retries > 0 "
                        "AND state = 'succeeded'", NULL) >= 1);
    CHECK(q_int(loaded, "SELECT count(*) FROM tool_calls WHERE state = 'waiting_for_human' "
                        "AND kind = 'manual'", NULL) >= 1);
    CHECK(q_int(loaded, "SELECT count(*) FROM tool_calls WHERE state = 'canceled'", NULL) >= 1);
    /* pausing and canceling wait on a call that is still executing */
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE status IN ('pausing','canceling') "
                            "AND executing_calls = 0", NULL), 0);
    static const char *const kinds[] = { "server", "client", "manual", "agent", "workflow" };
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        CHECK(q_int(loaded, "SELECT count(*) FROM tool_calls WHERE kind = ?1", kinds[i]) >= 1);
}

TEST(test_failed_sessions_say_why)
{
    if (!loaded) { CHECK(loaded != NULL); return; }
    CHECK(q_int(loaded, "SELECT count(*) FROM sessions WHERE status = 'failed'", NULL) >= 1);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE status = 'failed' "
                            "AND (error_message = '' OR error_step = '')", NULL), 0);
    CHECK(q_int(loaded, "SELECT count(*) FROM events WHERE type = 'error'", NULL) >= 1);
}

TEST(test_reports_artifacts_and_evals)
{
    if (!loaded) { CHECK(loaded != NULL); return; }
    /* Most completed runs have a report and many an artifact; only ended
     * runs have either, and each lies within its session's time. */
    CHECK(q_int(loaded, "SELECT count(*) FROM sessions WHERE report IS NOT NULL", NULL) >= 5);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE report IS NOT NULL "
                            "AND status <> 'completed'", NULL), 0);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE report IS NOT NULL "
                            "AND json_extract(report, '$.summary') IS NULL", NULL), 0);
    CHECK(q_int(loaded, "SELECT count(*) FROM artifacts", NULL) >= 5);
    CHECK(q_int(loaded, "SELECT count(*) FROM eval_runs WHERE state = 'success'", NULL) >= 3);
    CHECK(q_int(loaded, "SELECT count(*) FROM eval_runs WHERE state = 'error'", NULL) >= 1);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM artifacts a JOIN sessions s ON s.id = a.session_id "
                            "WHERE s.ended_at IS NULL OR a.created_at < s.ended_at "
                            "OR a.created_at > s.ended_at + 60000 OR s.updated_at > s.ended_at + 60000",
                    NULL), 0);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM eval_runs e JOIN sessions s ON s.id = e.session_id "
                            "WHERE s.ended_at IS NULL OR e.created_at < s.ended_at "
                            "OR e.created_at > s.ended_at + 60000", NULL), 0);
}

TEST(test_usage_and_conversation)
{
    if (!loaded) { CHECK(loaded != NULL); return; }
    CHECK(q_int(loaded, "SELECT sum(prompt_tokens) FROM sessions", NULL) > 0);
    CHECK(q_int(loaded, "SELECT sum(completion_tokens) FROM sessions", NULL) > 0);
    CHECK(q_int(loaded, "SELECT sum(llm_cost_micros) FROM sessions", NULL) > 0);
    CHECK(q_int(loaded, "SELECT count(DISTINCT json_extract(body, '$.model')) FROM events "
                        "WHERE type = 'usage'", NULL) >= 3);
    static const char *const types[] = { "user_message", "assistant_message", "thought",
                                         "tool_call", "tool_result", "error", "usage",
                                         "lifecycle" };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        CHECK(q_int(loaded, "SELECT count(*) FROM events WHERE type = ?1", types[i]) >= 1);
    CHECK(q_int(loaded, "SELECT count(*) FROM logs", NULL) >= 1);
    CHECK(q_int(loaded, "SELECT count(*) FROM spans", NULL) >= 1);
    /* Every started session has its resolved prompt and the inputs behind it. */
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE prompt = '' OR inputs = '{}'",
                    NULL), 0);
}

TEST(test_times_look_real)
{
    if (!loaded) { CHECK(loaded != NULL); return; }
    long long now = (long long)db_now_ms();
    /* Over the last 7 days, nothing in the future, the newest within minutes. */
    CHECK(q_int(loaded, "SELECT min(created_at) FROM sessions", NULL) > now - 7LL * 86400000 - 60000);
    CHECK(q_int(loaded, "SELECT min(created_at) FROM sessions", NULL) < now - 3LL * 86400000);
    CHECK(q_int(loaded, "SELECT max(max(created_at, updated_at, coalesce(ended_at, 0))) "
                        "FROM sessions", NULL) <= now);
    CHECK(q_int(loaded, "SELECT max(time) FROM events", NULL) <= now);
    CHECK(q_int(loaded, "SELECT max(sort_time) FROM sessions", NULL) > now - 15LL * 60000);
    /* Durations of seconds to minutes, and events inside their session. */
    CHECK(q_int(loaded, "SELECT min(ended_at - started_at) FROM sessions "
                        "WHERE status = 'completed'", NULL) >= 2000);
    CHECK(q_int(loaded, "SELECT max(ended_at - started_at) FROM sessions "
                        "WHERE status = 'completed'", NULL) <= 3LL * 3600000);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE started_at < created_at "
                            "OR ended_at < started_at", NULL), 0);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM events e JOIN sessions s ON s.id = e.session_id "
                            "WHERE e.time < s.created_at - 1000 "
                            "OR e.time > coalesce(s.ended_at, s.updated_at) + 60000", NULL), 0);
    /* The activity is in order: times never go backwards along seq. */
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM events a JOIN events b "
                            "ON b.session_id = a.session_id AND b.seq = a.seq + 1 "
                            "WHERE b.time < a.time - 50", NULL), 0);
    char now_s[24];
    snprintf(now_s, sizeof now_s, "%lld", now);
    CHECK_INT(q_int(loaded, "SELECT count(*) FROM audit WHERE time > CAST(?1 AS INTEGER)", now_s),
              0);
}

TEST(test_same_seed_same_data)
{
    char err[256] = "", p2[64], p3[64], a[1024], b[1024], c3[1024];
    if (!loaded) { CHECK(loaded != NULL); return; }
    db *d2 = temp_db(p2);
    db *d3 = temp_db(p3);
    CHECK(d2 != NULL && d3 != NULL);
    if (d2 && d3) {
        CHECK_INT(demo_load(d2, NSESSIONS, SEED, err, sizeof err), NSESSIONS);
        CHECK_INT(demo_load(d3, NSESSIONS, SEED + 1, err, sizeof err), NSESSIONS);
        event_counts(loaded, a, sizeof a);
        event_counts(d2, b, sizeof b);
        event_counts(d3, c3, sizeof c3);
        CHECK(a[0] != '\0');
        CHECK_STR(a, b);
        CHECK(strcmp(a, c3) != 0); /* and another seed gives other data */
        CHECK_INT(q_int(loaded, "SELECT sum(llm_cost_micros) FROM sessions", NULL),
                  q_int(d2, "SELECT sum(llm_cost_micros) FROM sessions", NULL));
        CHECK_INT(q_int(loaded, "SELECT count(*) FROM sessions WHERE status = 'failed'", NULL),
                  q_int(d2, "SELECT count(*) FROM sessions WHERE status = 'failed'", NULL));
    }
    if (d2) temp_db_drop(d2, p2);
    if (d3) temp_db_drop(d3, p3);
}

TEST(test_small_and_bad_counts)
{
    char err[256] = "", path[64];
    db *d = temp_db(path);
    CHECK(d != NULL);
    if (!d) return;
    CHECK_INT(demo_load(d, 0, SEED, err, sizeof err), 0);
    CHECK_INT(demo_load(d, 3, SEED, err, sizeof err), 3);
    CHECK_INT(q_int(d, "SELECT count(*) FROM sessions", NULL), 3);
    CHECK_INT(demo_load(d, -1, SEED, err, sizeof err), -1);
    CHECK(err[0] != '\0');
    /* Loading again adds a second, independent set. */
    CHECK_INT(demo_load(d, 12, SEED, err, sizeof err), 12);
    CHECK_INT(q_int(d, "SELECT count(*) FROM sessions", NULL), 15);
    temp_db_drop(d, path);
}

int main(void)
{
    if (auth_init()) {
        fprintf(stderr, "auth_init failed\n");
        return 1;
    }
    RUN(test_load_creates_the_requested_count);
    RUN(test_every_status_present);
    RUN(test_every_trigger_present);
    RUN(test_parent_child_links);
    RUN(test_tool_calls_failed_and_waiting);
    RUN(test_failed_sessions_say_why);
    RUN(test_usage_and_conversation);
    RUN(test_reports_artifacts_and_evals);
    RUN(test_times_look_real);
    RUN(test_same_seed_same_data);
    RUN(test_small_and_bad_counts);
    if (loaded) temp_db_drop(loaded, loaded_path);
    return DONE();
}
