/* Upgrades (issue 11): a database left at every earlier schema version, with
 * data in it, migrated to the newest by db_migrate, as the app does at
 * start. For each version k (1 .. newest - 1): apply the first k migrations
 * as that release did, insert the same rows (the columns of migration 001,
 * which every version has), migrate, then check that nothing was lost, that
 * what later migrations derive was derived (error counts, text search, agent
 * lists), that the database is sound, and that the app works on it (an
 * append, a pause, an OTLP span). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "db.h"
#include "ingest.h"
#include "lifecycle.h"
#include "otlp.h"

static const char fixture[] =
    "INSERT INTO sessions (id, agent, name, status, project, prompt, metadata, next_seq, "
    "  created_at, updated_at, started_at) VALUES "
    "  ('ses_up', 'upgrader', 'Upgrade me', 'running', 'alpha', 'find the zebra', '{\"team\":\"ops\"}', 5, "
    "   1000, 1000, 1000);"
    "INSERT INTO sessions (id, agent, name, status, project, parent_session_id, created_at, updated_at, "
    "  started_at, ended_at) VALUES "
    "  ('ses_child', 'helper', 'Called', 'completed', 'alpha', 'ses_up', 900, 990, 900, 990);"
    "INSERT INTO events (session_id, seq, type, time, tool_call_id, body, created_at) VALUES "
    "  ('ses_up', 1, 'user_message', 1001, NULL, '{\"content\":\"hello quokka\"}', 1001),"
    "  ('ses_up', 2, 'tool_call', 1002, 't1', '{\"tool_call_id\":\"t1\",\"tool\":\"search\",\"arguments\":{}}', 1002),"
    "  ('ses_up', 3, 'error', 1003, NULL, '{\"message\":\"boom\"}', 1003),"
    "  ('ses_up', 4, 'tool_result', 1004, 't1', '{\"tool_call_id\":\"t1\",\"result\":{\"ok\":true}}', 1004);"
    "INSERT INTO tool_calls (session_id, id, tool, state, started_at, ended_at, result, event_id) VALUES "
    "  ('ses_up', 't1', 'search', 'succeeded', 1002, 1004, '{\"ok\":true}', 2);"
    "INSERT INTO spans (session_id, trace_id, span_id, name, start_ns, end_ns) VALUES "
    "  ('ses_up', 'tr', 'sp', 'step', 1000000000, 2000000000);"
    "INSERT INTO logs (session_id, time, body) VALUES ('ses_up', 1005, 'a log line');"
    "INSERT INTO eval_runs (session_id, eval_id, state, created_at) VALUES ('ses_up', 'acc', 'success', 1);"
    "INSERT INTO users (username, password_hash, created_at) VALUES ('olduser', 'x', 1);"
    "INSERT INTO api_tokens (name, token_hash, created_at) VALUES ('oldtoken', X'00112233', 1);"
    "INSERT INTO grants (token_id, role, project, created_at) VALUES (1, 'runtime', NULL, 1);"
    "INSERT INTO audit (time, actor, action, session_id) VALUES (1000, 'cli', 'create', 'ses_up');";

static long long one(db *d, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db_handle(d), sql, -1, &st, NULL) != SQLITE_OK) {
        printf("  prepare failed: %s: %s\n", sql, sqlite3_errmsg(db_handle(d)));
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *text1(db *d, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db_handle(d), sql, -1, &st, NULL) != SQLITE_OK) return out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static int allow_all(void *arg, const char *project)
{
    (void)arg;
    (void)project;
    return 1;
}

/* A database at version db_migrations[k - 1].version with the fixture. */
static db *at_version(int k, char *path, size_t pn)
{
    snprintf(path, pn, "/tmp/fd_upgrade_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    close(fd);
    char err[256];
    db *d = db_open(path, err, sizeof err);
    if (!d) return NULL;
    sqlite3 *h = db_handle(d);
    int ok = sqlite3_exec(h, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                             "name TEXT NOT NULL, applied_at INTEGER NOT NULL)", NULL, NULL, NULL) == SQLITE_OK;
    for (int i = 0; ok && i < k; i++) {
        char rec[200];
        snprintf(rec, sizeof rec, "INSERT INTO schema_migrations VALUES (%d, '%s', 1)",
                 db_migrations[i].version, db_migrations[i].name);
        ok = sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_exec(h, db_migrations[i].sql, NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_exec(h, rec, NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    }
    if (ok) ok = sqlite3_exec(h, fixture, NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        printf("  version %d: %s\n", k, sqlite3_errmsg(h));
        db_free(d);
        return NULL;
    }
    return d;
}

static void remove_db(const char *path)
{
    char p[96];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path); unlink(p);
    snprintf(p, sizeof p, "%s-shm", path); unlink(p);
}

TEST(test_every_version_upgrades)
{
    CHECK(db_migration_count >= 2);
    int newest = db_migrations[db_migration_count - 1].version;
    for (int k = 1; k < db_migration_count; k++) {
        char path[64], txt[256];
        db *d = at_version(k, path, sizeof path);
        CHECK(d != NULL);
        if (!d) continue;
        int before_failed = h_failed;
        CHECK_INT(db_version(d), db_migrations[k - 1].version);
        int applied = 0;
        CHECK_INT(db_migrate(d, &applied), 0);
        CHECK_INT(applied, db_migration_count - k);
        CHECK_INT(db_version(d), newest);

        /* Nothing lost. */
        CHECK_INT(one(d, "SELECT count(*) FROM sessions"), 2);
        CHECK_INT(one(d, "SELECT count(*) FROM events"), 4);
        CHECK_INT(one(d, "SELECT count(*) FROM tool_calls"), 1);
        CHECK_INT(one(d, "SELECT count(*) FROM spans"), 1);
        CHECK_INT(one(d, "SELECT count(*) FROM logs"), 1);
        CHECK_INT(one(d, "SELECT count(*) FROM eval_runs"), 1);
        CHECK_INT(one(d, "SELECT count(*) FROM users"), 1);
        CHECK_INT(one(d, "SELECT count(*) FROM grants"), 1);
        CHECK_STR(text1(d, "SELECT metadata FROM sessions WHERE id = 'ses_up'", txt, sizeof txt),
                  "{\"team\":\"ops\"}");

        /* Derived by later migrations, or kept by their triggers. */
        CHECK_INT(one(d, "SELECT error_count FROM sessions WHERE id = 'ses_up'"), 1);
        /* agent_ids is kept by ingest from version 6 on; older rows get it
         * from migration 006's backfill. */
        if (db_migrations[k - 1].version < 6)
            CHECK_STR(text1(d, "SELECT agent_ids FROM sessions WHERE id = 'ses_up'", txt, sizeof txt),
                      "[\"upgrader\",\"helper\"]");
        CHECK_INT(db_search_sync(d), 0);
        CHECK_INT(one(d, "SELECT count(*) FROM search_events WHERE search_events MATCH 'quokka'"), 1);
        CHECK_INT(one(d, "SELECT count(*) FROM search_sessions WHERE search_sessions MATCH 'zebra'"), 1);
        CHECK_INT(one(d, "SELECT duration_ms FROM sessions WHERE id = 'ses_child'"), 90);

        /* Sound. */
        CHECK_STR(text1(d, "PRAGMA integrity_check", txt, sizeof txt), "ok");
        CHECK_INT(one(d, "SELECT count(*) FROM pragma_foreign_key_check"), 0);

        /* And the app works on it. */
        cJSON *ev = cJSON_Parse("{\"type\":\"assistant_message\",\"content\":\"after the upgrade\"}");
        ingest_result res;
        ingest_err err;
        CHECK_INT(ingest_events(d, "ses_up", ev, "token:test", &res, NULL, &err), 0);
        cJSON_Delete(ev);
        CHECK_INT(one(d, "SELECT max(seq) FROM events WHERE session_id = 'ses_up'"), 5);
        char from[16], to[16];
        CHECK_INT(lifecycle_act(d, "ses_up", LC_PAUSE, "user:test", from, to), LC_OK);
        CHECK_STR(to, "paused");
        cJSON *otlp = cJSON_Parse(
            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
            "\"spanId\":\"0102030405060708\",\"name\":\"after\",\"startTimeUnixNano\":\"1000000000\","
            "\"endTimeUnixNano\":\"2000000000\"}]}]}]}");
        otlp_result orr;
        CHECK_INT(db_bulk_begin(d), 0); /* as a group commit runs it */
        CHECK_INT(otlp_traces_apply(d, otlp, "token:test", allow_all, NULL, &orr), 0);
        CHECK_INT(db_bulk_end(d, 1), 0);
        cJSON_Delete(otlp);
        CHECK_INT(orr.accepted, 1);
        CHECK_INT(one(d, "SELECT count(*) FROM sessions WHERE id = 'trace_0102030405060708090a0b0c0d0e0f10' "
                         "AND status = 'completed'"), 1);

        if (h_failed != before_failed) printf("  (upgrading from version %d)\n", db_migrations[k - 1].version);
        db_free(d);
        remove_db(path);
    }
}

int main(void)
{
    RUN(test_every_version_upgrades);
    return DONE();
}
