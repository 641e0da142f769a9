/* db: migrations, the statement table, row-to-JSON, transactions. */
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "harness.h"

static char path[64];

static db *fresh(void)
{
    snprintf(path, sizeof path, "/tmp/fd-test-db-XXXXXX");
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    char err[256];
    db *d = db_open(path, err, sizeof err);
    int applied = -1;
    if (d && db_migrate(d, &applied)) { db_free(d); d = NULL; }
    return d;
}

static void cleanup(db *d)
{
    db_free(d);
    char p[80];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path); unlink(p);
    snprintf(p, sizeof p, "%s-shm", path); unlink(p);
}

TEST(migrations_apply_once)
{
    db *d = fresh();
    CHECK(d != NULL);
    if (!d) return;
    CHECK_INT(db_version(d), db_migrations[db_migration_count - 1].version);
    int applied = -1;
    CHECK_INT(db_migrate(d, &applied), 0);
    CHECK_INT(applied, 0); /* nothing left to apply the second time */
    cleanup(d);
}

TEST(every_statement_prepares)
{
    db *d = fresh();
    if (!d) { CHECK(0); return; }
    for (int i = 0; i < SQL__COUNT; i++) {
        sqlite3_stmt *st = db_stmt(d, (db_sql_id)i);
        if (!st) fprintf(stderr, "  statement %d does not prepare: %s\n", i, db_errmsg(d));
        CHECK(st != NULL);
    }
    /* Prepared once: asking again returns the same cached statement. */
    CHECK(db_stmt(d, SQL_SESSION_COUNT) == db_stmt(d, SQL_SESSION_COUNT));
    CHECK(db_stmt(d, SQL__COUNT) == NULL);
    cleanup(d);
}

TEST(wal_and_foreign_keys)
{
    db *d = fresh();
    if (!d) { CHECK(0); return; }
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db_handle(d), "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    CHECK_INT(sqlite3_prepare_v2(db_handle(d), "PRAGMA foreign_keys", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    cleanup(d);
}

TEST(row_json_types_and_json_columns)
{
    db *d = fresh();
    if (!d) { CHECK(0); return; }
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db_handle(d),
              "SELECT 7 AS n, 1.5 AS r, NULL AS z, 'x' AS s, '{\"a\":[1,2]}' AS m_json, "
              "'not json' AS bad_json", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    cJSON *o = db_row_json(st);
    sqlite3_finalize(st);
    CHECK(o != NULL);
    if (!o) { cleanup(d); return; }
    CHECK(cJSON_GetObjectItem(o, "n")->valuedouble == 7);
    CHECK(cJSON_GetObjectItem(o, "r")->valuedouble == 1.5);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "z")));
    CHECK_STR(cJSON_GetObjectItem(o, "s")->valuestring, "x");
    cJSON *m = cJSON_GetObjectItem(o, "m");
    CHECK(cJSON_IsObject(m) && cJSON_GetArraySize(cJSON_GetObjectItem(m, "a")) == 2);
    CHECK(cJSON_GetObjectItem(o, "m_json") == NULL);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(o, "bad"))); /* unparseable stays text */
    cJSON_Delete(o);
    cleanup(d);
}

TEST(rollback_discards)
{
    db *d = fresh();
    if (!d) { CHECK(0); return; }
    CHECK_INT(db_begin(d), 0);
    sqlite3_stmt *st = db_stmt(d, SQL_AUDIT_INSERT);
    sqlite3_bind_int64(st, 1, db_now_ms());
    sqlite3_bind_text(st, 2, "test", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, "noop", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, "", -1, SQLITE_STATIC);
    CHECK_INT(db_exec(st), 0);
    db_rollback(d);
    CHECK_INT(sqlite3_prepare_v2(db_handle(d), "SELECT count(*) FROM audit", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    db_rollback(d); /* no transaction open: harmless */
    cleanup(d);
}

TEST(open_failure_reports)
{
    char err[256] = "";
    db *d = db_open("/nonexistent-dir/x/y.db", err, sizeof err);
    CHECK(d == NULL);
    CHECK(strstr(err, "/nonexistent-dir/x/y.db") != NULL);
    db_free(NULL);
}

int main(void)
{
    RUN(migrations_apply_once);
    RUN(every_statement_prepares);
    RUN(wal_and_foreign_keys);
    RUN(row_json_types_and_json_columns);
    RUN(rollback_discards);
    RUN(open_failure_reports);
    return DONE();
}
