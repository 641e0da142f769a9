/* Unit tests over a real database: a migrated SQLite file in /tmp (D), and
 * one-value query helpers for assertions. Include after harness.h; call
 * db_setup() first and db_teardown() last (removes the file and its WAL). */
#ifndef FD_TESTDB_H
#define FD_TESTDB_H

#include <stdio.h>
#include <stdlib.h> /* mkstemp */
#include <unistd.h>

#include "db.h"

#define TESTDB_UNUSED __attribute__((unused))

static char db_path[64];
static db *D;

static TESTDB_UNUSED int db_setup(void)
{
    snprintf(db_path, sizeof db_path, "/tmp/fd_unit_XXXXXX");
    int fd = mkstemp(db_path);
    if (fd < 0) return -1;
    close(fd);
    char err[256];
    D = db_open(db_path, err, sizeof err);
    if (!D) { fprintf(stderr, "db_open: %s\n", err); return -1; }
    int applied = 0;
    if (db_migrate(D, &applied)) { fprintf(stderr, "db_migrate: %s\n", db_errmsg(D)); return -1; }
    return 0;
}

static TESTDB_UNUSED void db_teardown(void)
{
    db_free(D);
    D = NULL;
    char p[96];
    unlink(db_path);
    snprintf(p, sizeof p, "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db_path);
    unlink(p);
}

/* One integer from SQL with up to two text parameters; -999 when none. */
static TESTDB_UNUSED long long q_int2(const char *sql, const char *a1, const char *a2)
{
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_prepare_v2(db_handle(D), sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "    prepare: %s\n", sqlite3_errmsg(db_handle(D)));
        return v;
    }
    if (a1) sqlite3_bind_text(st, 1, a1, -1, SQLITE_TRANSIENT);
    if (a2) sqlite3_bind_text(st, 2, a2, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static TESTDB_UNUSED long long q_int(const char *sql, const char *a1) { return q_int2(sql, a1, NULL); }

/* One text value, into a rotating static buffer (so several results can be
 * compared in one CHECK); NULL for SQL NULL or no row. */
static TESTDB_UNUSED const char *q_text2(const char *sql, const char *a1, const char *a2)
{
    static char bufs[8][4096];
    static int k;
    char *out = bufs[k++ & 7];
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db_handle(D), sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "    prepare: %s\n", sqlite3_errmsg(db_handle(D)));
        return NULL;
    }
    if (a1) sqlite3_bind_text(st, 1, a1, -1, SQLITE_TRANSIENT);
    if (a2) sqlite3_bind_text(st, 2, a2, -1, SQLITE_TRANSIENT);
    const char *r = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        snprintf(out, sizeof bufs[0], "%s", (const char *)sqlite3_column_text(st, 0));
        r = out;
    }
    sqlite3_finalize(st);
    return r;
}

static TESTDB_UNUSED const char *q_text(const char *sql, const char *a1) { return q_text2(sql, a1, NULL); }

#endif
