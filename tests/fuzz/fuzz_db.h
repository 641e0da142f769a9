/* fuzz_db: one migrated in-memory database per fuzz process, shared by the
 * targets that need SQLite (ingest, share, sessq). Built by the real
 * migrations (db_migrate), as tests/unit/testdb.h does, but in memory, and
 * reset between inputs by deleting every row the input may have added: each
 * table that was empty after setup is emptied again (in one transaction with
 * deferred foreign keys; the FTS shadow tables follow through the triggers).
 * Include once per fuzz target. */
#ifndef FD_FUZZ_DB_H
#define FD_FUZZ_DB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define FUZZ_DB_MAX_TABLES 64

static db  *fuzz_db;
static char fuzz_db_reset_sql[8192];
static const char *fuzz_db_fixture;

/* Run sql on the fuzz database; abort on failure (setup must work, or
 * every input would be meaningless). */
static void fuzz_db_exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db_handle(fuzz_db), sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "fuzz_db: %s: %s\n", sql, err ? err : "?");
        abort();
    }
}

/* Open and migrate the in-memory database, then run `fixture` (SQL, may be
 * NULL) and remember which tables are still empty: those the reset empties.
 * Aborts on failure. Idempotent. */
static void fuzz_db_setup(const char *fixture)
{
    if (fuzz_db) return;
    char err[256];
    fuzz_db = db_open(":memory:", err, sizeof err);
    if (!fuzz_db) { fprintf(stderr, "fuzz_db: db_open: %s\n", err); abort(); }
    int applied = 0;
    if (db_migrate(fuzz_db, &applied)) {
        fprintf(stderr, "fuzz_db: db_migrate: %s\n", db_errmsg(fuzz_db));
        abort();
    }
    sqlite3 *h = db_handle(fuzz_db);
    sqlite3_stmt *st = NULL;
    const char *list = "SELECT name FROM sqlite_master WHERE type = 'table' "
                       "AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' "
                       "AND name NOT LIKE 'search\\_%' ESCAPE '\\' ORDER BY name";
    if (sqlite3_prepare_v2(h, list, -1, &st, NULL) != SQLITE_OK) abort();
    char names[FUZZ_DB_MAX_TABLES][64];
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < FUZZ_DB_MAX_TABLES)
        snprintf(names[n++], sizeof names[0], "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    /* Empty after migration: those an input fills (not app_keys, not the version). */
    size_t off = (size_t)snprintf(fuzz_db_reset_sql, sizeof fuzz_db_reset_sql,
                                  "BEGIN; PRAGMA defer_foreign_keys = ON;");
    for (int i = 0; i < n; i++) {
        char q[128];
        snprintf(q, sizeof q, "SELECT count(*) FROM \"%s\"", names[i]);
        if (sqlite3_prepare_v2(h, q, -1, &st, NULL) != SQLITE_OK) abort();
        long long rows = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        sqlite3_finalize(st);
        if (rows != 0) continue;
        off += (size_t)snprintf(fuzz_db_reset_sql + off, sizeof fuzz_db_reset_sql - off,
                                "DELETE FROM \"%s\";", names[i]);
        if (off >= sizeof fuzz_db_reset_sql - 64) abort();
    }
    snprintf(fuzz_db_reset_sql + off, sizeof fuzz_db_reset_sql - off, "COMMIT;");
    fuzz_db_fixture = fixture;
    if (fixture) fuzz_db_exec(fixture);
}

/* Back to the state fuzz_db_setup left: rolls back a transaction an input
 * left open, empties the tables that were empty after migration, and runs
 * the fixture again. */
static __attribute__((unused)) void fuzz_db_reset(void)
{
    if (!sqlite3_get_autocommit(db_handle(fuzz_db))) db_rollback(fuzz_db);
    fuzz_db_exec(fuzz_db_reset_sql);
    if (fuzz_db_fixture) fuzz_db_exec(fuzz_db_fixture);
}

#endif
