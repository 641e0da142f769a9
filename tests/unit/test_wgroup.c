/* wgroup.c: group commit. Eight threads, each on its own connection, append
 * rows through wgroup_run at once: every successful piece's row is there,
 * every failed piece left nothing (its savepoint alone was rolled back),
 * each thread got its own result, and the pieces shared commits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "harness.h"
#include "testdb.h"
#include "wgroup.h"

#define THREADS 8
#define PER_THREAD 200

typedef struct job {
    char id[32];
    int  fail; /* write, then fail: must leave nothing */
} job;

static int piece(struct db *d, void *arg)
{
    job *j = arg;
    if (db_begin(d)) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db_handle(d), "INSERT INTO sessions (id, created_at, updated_at) VALUES (?1, 0, 0)",
                           -1, &st, NULL) != SQLITE_OK) {
        db_rollback(d);
        return -1;
    }
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || j->fail) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d);
}

static int wrong_results;

static void *writer(void *arg)
{
    int t = (int)(long)arg;
    char err[200];
    struct db *d = db_open(db_path, err, sizeof err);
    if (!d) { wrong_results++; return NULL; }
    for (int i = 0; i < PER_THREAD; i++) {
        job j;
        snprintf(j.id, sizeof j.id, "t%d_%d", t, i);
        j.fail = i % 10 == 3;
        int storage = -1;
        int rc = wgroup_run(d, piece, &j, 1, &storage);
        if (rc != (j.fail ? -1 : 0) || storage != 0) __atomic_add_fetch(&wrong_results, 1, __ATOMIC_SEQ_CST);
    }
    db_free(d);
    return NULL;
}

static long long count(struct db *d, const char *sql)
{
    sqlite3_stmt *st;
    long long n = -1;
    if (sqlite3_prepare_v2(db_handle(d), sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

TEST(test_concurrent_pieces_share_commits)
{
    struct db *d = D;
    unsigned long long commits0, pieces0, commits, pieces;
    wgroup_stats(&commits0, &pieces0);
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, writer, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    CHECK_INT(wrong_results, 0);
    /* 9 of every 10 pieces wrote their row; the failed ones nothing. */
    CHECK_INT(count(d, "SELECT count(*) FROM sessions"), THREADS * PER_THREAD * 9 / 10);
    CHECK_INT(count(d, "SELECT count(*) FROM sessions WHERE id LIKE 't%\\_3' ESCAPE '\\' "
                       "OR id LIKE 't%\\_13' ESCAPE '\\'"), 0);
    wgroup_stats(&commits, &pieces);
    commits -= commits0;
    pieces -= pieces0;
    CHECK_INT(pieces, THREADS * PER_THREAD);
    CHECK(commits < pieces); /* shared: without grouping each piece commits alone */
    printf("    %llu pieces in %llu commits\n", pieces, commits);
    /* Nothing is left open, and the write turn is free again. */
    CHECK_INT(db_begin(d), 0);
    CHECK_INT(db_commit(d), 0);
}

TEST(test_alone_runs_at_once)
{
    char err[200];
    struct db *d = db_open(":memory:", err, sizeof err);
    int applied;
    CHECK(d != NULL);
    if (!d) return;
    CHECK_INT(db_migrate(d, &applied), 0);
    job ok = { "alone", 0 }, bad = { "alone_bad", 1 };
    int storage = -1;
    CHECK_INT(wgroup_run(d, piece, &ok, 1, &storage), 0);
    CHECK_INT(storage, 0);
    CHECK_INT(wgroup_run(d, piece, &bad, 1, &storage), -1);
    CHECK_INT(storage, 0);
    /* A duplicate id fails in SQLite (constraint), not in storage. */
    CHECK_INT(wgroup_run(d, piece, &ok, 1, &storage), -1);
    CHECK_INT(storage, 0);
    CHECK_INT(count(d, "SELECT count(*) FROM sessions WHERE id = 'alone'"), 1);
    CHECK_INT(count(d, "SELECT count(*) FROM sessions WHERE id = 'alone_bad'"), 0);
    db_free(d);
}

int main(void)
{
    if (db_setup()) return 1;
    RUN(test_alone_runs_at_once);
    RUN(test_concurrent_pieces_share_commits);
    db_teardown();
    return DONE();
}
