/* seal_db: `db rotate-key`. See seal_db.h. */
#include "seal_db.h"

#include <string.h>
#include <time.h>

#include "seal.h"

/* Long enough for every running server to have looked at the key file
 * since it changed (seal.c looks once a second before sealing). */
#define ROTATE_SETTLE_MS 1500
#define ROTATE_PASSES    5

/* Sleep ms milliseconds (through signals). */
static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {}
}

static const struct {
    const char *name;
    db_sql_id end, rewrite, left;
} rowid_tables[] = {
    { "sessions",   SQL_REKEY_SESSIONS_END,  SQL_REKEY_SESSIONS,  SQL_REKEY_SESSIONS_LEFT },
    { "events",     SQL_REKEY_EVENTS_END,    SQL_REKEY_EVENTS,    SQL_REKEY_EVENTS_LEFT },
    { "tool_calls", SQL_REKEY_TOOLCALLS_END, SQL_REKEY_TOOLCALLS, SQL_REKEY_TOOLCALLS_LEFT },
    { "artifacts",  SQL_REKEY_ARTIFACTS_END, SQL_REKEY_ARTIFACTS, SQL_REKEY_ARTIFACTS_LEFT },
    { "spans",      SQL_REKEY_SPANS_END,     SQL_REKEY_SPANS,     SQL_REKEY_SPANS_LEFT },
    { "logs",       SQL_REKEY_LOGS_END,      SQL_REKEY_LOGS,      SQL_REKEY_LOGS_LEFT },
    { "eval_runs",  SQL_REKEY_EVALS_END,     SQL_REKEY_EVALS,     SQL_REKEY_EVALS_LEFT },
    { "audit",      SQL_REKEY_AUDIT_END,     SQL_REKEY_AUDIT,     SQL_REKEY_AUDIT_LEFT },
};
#define NROWID ((int)(sizeof rowid_tables / sizeof *rowid_tables))
#define SECRETS NROWID /* tool_call_secrets: the last slot of seal_rotation */

/* One pass over table i, batch rows per transaction. Rows rewritten, or -1. */
static long long pass_rowid(db *d, int i, int batch)
{
    long long done = 0;
    sqlite3_int64 lo = 0;
    for (;;) {
        if (db_begin(d)) return -1;
        sqlite3_stmt *st = db_stmt(d, rowid_tables[i].end);
        if (!st) goto fail;
        sqlite3_bind_int64(st, 1, lo);
        sqlite3_bind_int(st, 2, batch);
        if (db_step(st) != SQLITE_ROW) goto fail;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
            sqlite3_reset(st); /* else its read would outlive the transaction */
            db_rollback(d);
            return done;
        }
        sqlite3_int64 hi = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        st = db_stmt(d, rowid_tables[i].rewrite);
        if (!st) goto fail;
        sqlite3_bind_int64(st, 1, lo);
        sqlite3_bind_int64(st, 2, hi);
        if (db_exec(st)) goto fail;
        done += sqlite3_changes(db_handle(d));
        if (db_commit(d)) goto fail;
        lo = hi;
    }
fail:
    db_rollback(d);
    return -1;
}

/* One pass over tool_call_secrets (no rowid): batch stale rows per
 * transaction until none is left. Rows rewritten, or -1. */
static long long pass_secrets(db *d, int batch)
{
    long long done = 0;
    for (;;) {
        if (db_begin(d)) return -1;
        sqlite3_stmt *st = db_stmt(d, SQL_REKEY_SECRETS);
        if (!st) goto fail;
        sqlite3_bind_int(st, 1, batch);
        if (db_exec(st)) goto fail;
        int n = sqlite3_changes(db_handle(d));
        if (db_commit(d)) goto fail;
        done += n;
        if (n == 0) return done;
    }
fail:
    db_rollback(d);
    return -1;
}

/* Rows that still hold a value rotation must rewrite, over every table; -1
 * on failure. */
static long long left_over(db *d)
{
    long long n = 0;
    for (int i = 0; i <= NROWID; i++) {
        sqlite3_stmt *st = db_stmt(d, i < NROWID ? rowid_tables[i].left : SQL_REKEY_SECRETS_LEFT);
        if (!st || db_step(st) != SQLITE_ROW) return -1;
        n += sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    return n;
}

/* Run a statement without parameters. 0 or -1. */
static int run(db *d, db_sql_id id)
{
    sqlite3_stmt *st = db_stmt(d, id);
    return st ? db_exec(st) : -1;
}

/* The end of the batch after lo (?2 rows) by statement end_id; *hi gets it.
 * 1 when there is one, 0 at the end, -1 on failure. Inside a transaction. */
static int batch_end(db *d, db_sql_id end_id, sqlite3_int64 lo, int batch, sqlite3_int64 *hi)
{
    sqlite3_stmt *st = db_stmt(d, end_id);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int(st, 2, batch);
    int rc = db_step(st);
    int have = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (have) *hi = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? have : -1;
}

/* Run a statement bound with the range (lo, hi]. */
static int run_range(db *d, db_sql_id id, sqlite3_int64 lo, sqlite3_int64 hi)
{
    sqlite3_stmt *st = db_stmt(d, id);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    return db_exec(st);
}

/* With encryption on: the search index from names, agents, tools and error
 * categories only, batch rows per transaction, then its segments merged so
 * the text it held is gone. Searches meanwhile may miss what a batch has
 * not reached yet; nothing waits long for the write lock. */
static int rebuild_search(db *d, int batch)
{
    for (int table = 0; table < 2; table++) {
        sqlite3_int64 lo = 0, hi = 0;
        for (;;) {
            if (db_begin(d)) return -1;
            int more = batch_end(d, table ? SQL_SEARCH_EVENTS_BATCH_END : SQL_SEARCH_SESSIONS_BATCH_END,
                                 lo, batch, &hi);
            if (more < 0) goto fail;
            if (!more && table) {
                /* Index rows past the last event (events deleted long ago). */
                sqlite3_stmt *st = db_stmt(d, SQL_SEARCH_EVENTS_MAX_ROWID);
                if (!st || db_step(st) != SQLITE_ROW) goto fail;
                hi = sqlite3_column_type(st, 0) == SQLITE_NULL ? lo : sqlite3_column_int64(st, 0);
                sqlite3_reset(st);
                if (hi > lo && run_range(d, SQL_SEARCH_EVENTS_DROP, lo, hi)) goto fail;
            }
            if (!more) { if (db_commit(d)) goto fail; break; }
            if (table ? run_range(d, SQL_SEARCH_EVENTS_DROP, lo, hi) ||
                        run_range(d, SQL_SEARCH_EVENTS_CLEAR_ONLY, lo, hi)
                      : run_range(d, SQL_SEARCH_SESSIONS_CLEAR_ONLY, lo, hi))
                goto fail;
            if (db_commit(d)) goto fail;
            lo = hi;
        }
    }
    if (db_begin(d) || run(d, SQL_SEARCH_OPTIMIZE) || run(d, SQL_SEARCH_SESSIONS_OPTIMIZE) || db_commit(d))
        goto fail;
    return 0;
fail:
    db_rollback(d);
    return -1;
}

int seal_rotate(db *d, int batch, FILE *log, seal_rotation *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (errlen) err[0] = 0;
    for (int i = 0; i < NROWID; i++) r->table[i] = rowid_tables[i].name;
    r->table[SECRETS] = "tool_call_secrets";
    if (batch < 1) batch = 500;
    const char *path = seal_key_path();
    if (!path) { snprintf(err, errlen, "no key file configured"); return -1; }

    seal_keyring *k = NULL;
    int rc = seal_keyring_load(path, &k, err, errlen);
    if (rc == 1) {
        snprintf(err, errlen, "%s does not exist: nothing is sealed (set FLIGHTDECK_ENCRYPT_PAYLOADS=1 "
                 "to make a key)", path);
        return -1;
    }
    if (rc < 0) return -1;
    if (seal_keyring_count(k) > 1) {
        r->resumed = 1;
        if (log) fprintf(log, "%s holds %d keys (a rotation was interrupted, or a backup's keys were "
                         "restored): finishing the rotation to key %u, no new key\n", path,
                         seal_keyring_count(k), (unsigned)seal_keyring_current(k));
    } else {
        if (seal_keyring_generate(k, NULL) || seal_keyring_save(k, path, 0, err, errlen)) {
            if (!*err) snprintf(err, errlen, "cannot make a new key");
            seal_keyring_free(k);
            return -1;
        }
        if (log) fprintf(log, "new key %u written to %s\n", (unsigned)seal_keyring_current(k), path);
    }
    r->new_key = seal_keyring_current(k);
    seal_keyring_free(k);
    k = NULL;
    if (seal_reload(err, errlen)) return -1;

    /* Running servers seal with the new key from now on. */
    sleep_ms(ROTATE_SETTLE_MS);
    long long left = -1;
    for (int pass = 0; pass < ROTATE_PASSES; pass++) {
        for (int i = 0; i <= NROWID; i++) {
            long long n = i < NROWID ? pass_rowid(d, i, batch) : pass_secrets(d, batch);
            if (n < 0) {
                snprintf(err, errlen, "re-encrypting %s: %s", r->table[i], db_errmsg(d));
                return -1;
            }
            r->rows[i] += n;
            r->total += n;
        }
        /* A value a server sealed with the old key just before it learned
         * the new one is found by the next pass. */
        sleep_ms(pass == 0 ? ROTATE_SETTLE_MS : 200);
        if ((left = left_over(d)) <= 0) break;
    }
    if (left != 0) {
        snprintf(err, errlen, left < 0 ? "counting what is left: %s"
                 : "values keep arriving under an old key: run `db rotate-key` again", db_errmsg(d));
        return -1;
    }
    if (seal_enabled()) {
        if (rebuild_search(d, batch)) {
            snprintf(err, errlen, "rebuilding the search index: %s", db_errmsg(d));
            return -1;
        }
        r->search_rebuilt = 1;
    }

    /* Nothing needs the old keys: drop them from the file. */
    rc = seal_keyring_load(path, &k, err, errlen);
    if (rc) { if (rc == 1) snprintf(err, errlen, "%s disappeared", path); return -1; }
    if (seal_keyring_current(k) != r->new_key) {
        snprintf(err, errlen, "%s changed during the rotation (another rotate-key?): run it again", path);
        seal_keyring_free(k);
        return -1;
    }
    for (uint32_t id = 1; id < r->new_key && r->nold < 16; id++)
        if (seal_keyring_has(k, id)) r->old_keys[r->nold++] = id;
    seal_keyring_keep_current(k);
    rc = seal_keyring_save(k, path, 0, err, errlen);
    seal_keyring_free(k);
    if (rc || seal_reload(err, errlen)) return -1;
    /* Old page images (clear text sealed just now, old ciphertext) leave
     * the WAL if no reader or writer is in the way this instant: never wait
     * (a TRUNCATE checkpoint holds writers back while it waits). Else the
     * server's checkpoints and bg_wal_scrub overwrite them in time. */
    sqlite3_busy_timeout(db_handle(d), 0);
    r->wal_truncated = sqlite3_wal_checkpoint_v2(db_handle(d), NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                                 NULL, NULL) == SQLITE_OK;
    sqlite3_busy_timeout(db_handle(d), 5000);
    return 0;
}
