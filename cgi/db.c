/* db: connection, statement cache, migrations. See db.h. */
#include "db.h"
#include "log.h"
#include "seal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DB_SQL_ENUM(id, sql) [SQL_##id] = (sql),
static const char *const db_sql_text[SQL__COUNT] = {
#include "db_sql.h"
};
#undef DB_SQL_ENUM

#define DB_BUSY_RETRIES    5

/* Statements composed from fixed fragments (sessq.c), cached by shape. The
 * number of shapes in use is small; when the table fills it is emptied. */
#define DB_SHAPES 64

struct db {
    sqlite3      *h;
    sqlite3_stmt *st[SQL__COUNT];
    struct { uint64_t key; sqlite3_stmt *st; } shape[DB_SHAPES];
    int           nshape;
    int           bulk;     /* inside db_bulk_begin: db_begin nests as a savepoint */
    int64_t       data_version; /* PRAGMA data_version at the last db_changed (or open) */
    int           writer;   /* holds db_write_lock: a write transaction is open */
    int           search_queue; /* the schema has search_pending (007); -1: not asked yet */
    int           search_defer; /* leave the queue at commit (db_search_defer) */
};

/* One writer at a time per process. SQLite allows one anyway; waiting here
 * hands the turn over at once, where SQLite's busy handler would poll with
 * sleeps of up to 100 ms (which made batch appends wait a second and more
 * under contention). Other processes are still waited for by the busy
 * handler. */
static pthread_mutex_t db_write_lock = PTHREAD_MUTEX_INITIALIZER;

static void writer_enter(db *d)
{
    if (d->writer) return;
    pthread_mutex_lock(&db_write_lock);
    d->writer = 1;
}

/* Give the turn back once no transaction is open on d. */
static void writer_leave(db *d)
{
    if (!d->writer || !sqlite3_get_autocommit(d->h)) return;
    d->writer = 0;
    pthread_mutex_unlock(&db_write_lock);
}

/* The primary result code of the last failed SQLite call of this thread
 * since db_error_clear (0: none). One request runs on one thread, so this is
 * the request's own. */
static _Thread_local int db_last_fail;

/* Remember rc when it is a failure (anything but OK, ROW, DONE). */
static void db_note(int rc)
{
    int p = rc & 0xff;
    if (p != SQLITE_OK && p != SQLITE_ROW && p != SQLITE_DONE) db_last_fail = p;
}

void db_error_clear(void) { db_last_fail = 0; }

void db_error_note(int rc) { db_note(rc); }

int db_storage_error(void)
{
    switch (db_last_fail) {
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_FULL: case SQLITE_IOERR:
    case SQLITE_READONLY: case SQLITE_CANTOPEN: case SQLITE_PERM:
        return db_last_fail;
    default:
        return 0;
    }
}

int64_t db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Does the schema have the search queue of migration 007? */
static int db_has_search_queue_now(db *d)
{
    sqlite3_stmt *st;
    int has = 0;
    if (sqlite3_prepare_v2(d->h, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'search_pending'",
                           -1, &st, NULL) == SQLITE_OK) {
        has = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    return has;
}

/* The same, asked once per connection. */
static int db_has_search_queue(db *d)
{
    if (d->search_queue < 0) d->search_queue = db_has_search_queue_now(d);
    return d->search_queue;
}

/* Before SQLite starts: no memory statistics. They take a process-wide
 * mutex on every allocation, which the workers then contend for. */
static pthread_once_t db_once = PTHREAD_ONCE_INIT;
static void db_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

db *db_open(const char *path, char *err, size_t errlen)
{
    pthread_once(&db_once, db_configure);
    static const char pragmas[] =
        "PRAGMA journal_mode = WAL;"
        "PRAGMA synchronous = NORMAL;"  /* durable at checkpoints; WAL keeps commits atomic */
        "PRAGMA foreign_keys = ON;"
        "PRAGMA temp_store = MEMORY;"
        /* DB_CACHE_KIB (db.h); the group-commit writer gets more (main.c). */
        "PRAGMA cache_size = -" DB_STR(DB_CACHE_KIB) ";";
    db *d = calloc(1, sizeof *d);
    if (!d) { snprintf(err, errlen, "out of memory"); return NULL; }
    int rc = sqlite3_open_v2(path, &d->h,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) goto fail;
    sqlite3_busy_timeout(d->h, DB_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(d->h, 1);
    if (sqlite3_exec(d->h, pragmas, NULL, NULL, NULL) != SQLITE_OK) goto fail;
    /* The fd_* functions every payload column is read and written through
     * (seal.h), and triggers of migration 011 call. */
    if (seal_register(d->h) != SQLITE_OK) goto fail;
    /* Freed space is overwritten: a deleted event or session leaves nothing
     * of itself in the file. With encryption on, always (ON); else where it
     * costs no extra I/O (FAST). */
    if (sqlite3_exec(d->h, seal_enabled() ? "PRAGMA secure_delete = ON" : "PRAGMA secure_delete = FAST",
                     NULL, NULL, NULL) != SQLITE_OK) goto fail;
    /* The baseline for db_changed: commits from now on are what count. */
    db_changed(d);
    /* Asked at first need: reading the schema now would cost every
     * connection of the server ~0.5 ms at start (cold start). */
    d->search_queue = -1;
    return d;
fail:
    snprintf(err, errlen, "%s: %s", path, d->h ? sqlite3_errmsg(d->h) : "cannot open");
    db_free(d);
    return NULL;
}

void db_free(db *d)
{
    if (!d) return;
    for (int i = 0; i < SQL__COUNT; i++) sqlite3_finalize(d->st[i]);
    for (int i = 0; i < d->nshape; i++) sqlite3_finalize(d->shape[i].st);
    if (sqlite3_close(d->h) != SQLITE_OK)
        log_msg(LOGL_ERROR, "closing the database: %s", sqlite3_errmsg(d->h));
    free(d);
}

int db_readonly(db *d) { return sqlite3_db_readonly(d->h, "main") == 1; }

int db_path_writable(const char *path)
{
    /* access(), never open()+close(): closing any descriptor of the file
     * would drop the POSIX locks SQLite holds on it. */
    static const char *const suffix[] = { "", "-wal", "-shm" };
    char f[4096];
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        if ((size_t)snprintf(f, sizeof f, "%s%s", path, suffix[i]) >= sizeof f) return 0;
        if (access(f, W_OK) != 0 && (i == 0 || access(f, F_OK) == 0)) return 0;
    }
    return 1;
}

int db_set_cache_kib(db *d, int kib)
{
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", kib);
    return sqlite3_exec(d->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

sqlite3 *db_handle(db *d) { return d->h; }
const char *db_errmsg(db *d) { return sqlite3_errmsg(d->h); }

sqlite3_stmt *db_stmt(db *d, db_sql_id id)
{
    if ((int)id < 0 || id >= SQL__COUNT) return NULL;
    sqlite3_stmt *st = d->st[id];
    if (!st) {
        int rc = sqlite3_prepare_v3(d->h, db_sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
            db_note(rc);
            log_msg(LOGL_ERROR, "cannot prepare statement %d: %s", (int)id, sqlite3_errmsg(d->h));
            return NULL;
        }
        d->st[id] = st;
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    return st;
}

sqlite3_stmt *db_stmt_shape(db *d, uint64_t key, const char *sql)
{
    for (int i = 0; i < d->nshape; i++) {
        if (d->shape[i].key != key) continue;
        sqlite3_stmt *st = d->shape[i].st;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    if (!sql) return NULL;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        db_note(rc);
        log_msg(LOGL_ERROR, "cannot prepare shape %llx: %s", (unsigned long long)key,
                sqlite3_errmsg(d->h));
        return NULL;
    }
    if (d->nshape == DB_SHAPES) {
        for (int i = 0; i < d->nshape; i++) sqlite3_finalize(d->shape[i].st);
        d->nshape = 0;
    }
    d->shape[d->nshape].key = key;
    d->shape[d->nshape].st = st;
    d->nshape++;
    return st;
}

int db_step(sqlite3_stmt *st)
{
    int rc;
    for (int i = 0; ; i++) {
        rc = sqlite3_step(st);
        if ((rc & 0xff) != SQLITE_BUSY || i >= DB_BUSY_RETRIES) break;
        sqlite3_reset(st);
        usleep(10000u << i);
    }
    db_note(rc);
    return rc;
}

int db_exec(sqlite3_stmt *st)
{
    int rc = db_step(st);
    while (rc == SQLITE_ROW) rc = db_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Run fixed SQL text (transaction control, migrations), retrying BUSY. */
static int db_exec_text(db *d, const char *sql)
{
    int rc;
    for (int i = 0; ; i++) {
        rc = sqlite3_exec(d->h, sql, NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY || i >= DB_BUSY_RETRIES) break;
        usleep(10000u << i);
    }
    db_note(rc);
    if (rc != SQLITE_OK)
        log_msg(LOGL_ERROR, "sql failed (%s, %d): %s", sqlite3_errmsg(d->h),
                sqlite3_extended_errcode(d->h), strlen(sql) > 60 ? "migration" : sql);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Run one of the transaction statements (TX_*), retrying BUSY. */
static int db_exec_tx(db *d, db_sql_id id)
{
    sqlite3_stmt *st = db_stmt(d, id);
    if (!st) return -1;
    int rc = db_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        log_msg(LOGL_ERROR, "sql failed (%s, %d): %s", sqlite3_errmsg(d->h),
                sqlite3_extended_errcode(d->h), db_sql_text[id]);
    return rc == SQLITE_DONE ? 0 : -1;
}

int db_begin(db *d)
{
    if (d->bulk) return db_exec_tx(d, SQL_TX_SAVEPOINT);
    writer_enter(d);
    int rc = db_exec_tx(d, SQL_TX_BEGIN);
    writer_leave(d); /* only when BEGIN failed */
    return rc;
}

int db_search_flush(db *d)
{
    int any = db_search_pending(d);
    if (any <= 0) return any;
    sqlite3_stmt *st = db_stmt(d, SQL_SEARCH_PENDING_INDEX);
    if (!st || db_exec(st)) return -1;
    st = db_stmt(d, SQL_SEARCH_PENDING_CLEAR);
    return st ? db_exec(st) : -1;
}

void db_search_defer(db *d, int on)
{
    d->search_defer = on;
}

int db_search_pending(db *d)
{
    if (!db_has_search_queue(d)) return 0;
    sqlite3_stmt *st = db_stmt(d, SQL_SEARCH_PENDING_ANY);
    if (!st || db_step(st) != SQLITE_ROW) {
        if (st) sqlite3_reset(st);
        return -1;
    }
    int any = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return any;
}

int db_search_sync(db *d)
{
    int any = db_search_pending(d);
    if (any <= 0) return any;
    /* Inside a transaction (bulk): index with it. */
    if (!sqlite3_get_autocommit(d->h)) return db_search_flush(d);
    if (db_begin(d)) return -1;
    if (db_search_flush(d) || db_commit(d)) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

int db_checkpoint(db *d, int *wal_frames, int *copied)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(d->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (wal_frames) *wal_frames = log;
    if (copied) *copied = done;
    return rc == SQLITE_OK ? 0 : -1;
}

int db_commit(db *d)
{
    if (d->bulk) return db_exec_tx(d, SQL_TX_RELEASE);
    int rc = !d->search_defer && !sqlite3_get_autocommit(d->h) && db_has_search_queue(d)
             ? db_search_flush(d) : 0;
    if (rc == 0) rc = db_exec_tx(d, SQL_TX_COMMIT);
    writer_leave(d); /* a failed COMMIT leaves the transaction to db_rollback */
    return rc;
}

void db_request_end(db *d)
{
    if (!sqlite3_get_autocommit(d->h)) {
        log_msg(LOGL_ERROR, "a transaction was left open; rolled back");
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    }
    d->bulk = 0;
    writer_leave(d);
}

/* Roll back what is open on d (the step only, in bulk mode). */
static void db_rollback_open(db *d)
{
    /* Harmless when no transaction is open (SQLite may have rolled back already). */
    if (sqlite3_get_autocommit(d->h)) return;
    if (d->bulk) {
        /* Undo this step only; the outer bulk transaction goes on. Without
         * the savepoint (already released) both fail harmlessly. */
        sqlite3_exec(d->h, "ROLLBACK TO fd_step", NULL, NULL, NULL);
        sqlite3_exec(d->h, "RELEASE fd_step", NULL, NULL, NULL);
        return;
    }
    sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
}

void db_rollback(db *d)
{
    db_rollback_open(d);
    writer_leave(d);
}

int db_bulk_begin(db *d)
{
    if (d->bulk || db_begin(d)) return -1;
    d->bulk = 1;
    return 0;
}

int db_bulk_end(db *d, int commit)
{
    if (!d->bulk) return -1;
    d->bulk = 0;
    if (commit && db_commit(d) == 0) return 0;
    db_rollback(d);
    return commit ? -1 : 0;
}

int db_changed(db *d)
{
    sqlite3_stmt *st = db_stmt(d, SQL_DATA_VERSION);
    if (!st || db_step(st) != SQLITE_ROW) {
        if (st) sqlite3_reset(st);
        return 1; /* unknown: assume the worst */
    }
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int changed = v != d->data_version;
    d->data_version = v;
    return changed;
}

int db_version(db *d)
{
    sqlite3_stmt *st = db_stmt(d, SQL_SCHEMA_VERSION);
    if (!st || db_step(st) != SQLITE_ROW) return -1;
    int v = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return v;
}

/* Does the database hold schema_migrations with the newest migration
 * applied? Reads only; 0 when the table is missing. */
static int db_schema_current(db *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->h, "SELECT max(version) FROM schema_migrations", -1, &st, NULL) != SQLITE_OK)
        return 0;
    int ok = db_step(st) == SQLITE_ROW &&
             sqlite3_column_int(st, 0) >= db_migrations[db_migration_count - 1].version;
    sqlite3_finalize(st);
    db_error_clear();
    return ok;
}

int db_migrate(db *d, int *applied)
{
    *applied = 0;
    /* Up to date: write nothing, so a read-only database still opens (and
     * serves reads) instead of stopping the app. */
    if (db_migration_count > 0 && db_schema_current(d)) return 0;
    if (db_exec_text(d, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                        "applied_at INTEGER NOT NULL)"))
        return -1;
    for (int i = 0; i < db_migration_count; i++) {
        const db_migration *m = &db_migrations[i];
        if (db_begin(d)) return -1;
        /* Read the version inside the write transaction: two processes
         * starting at once must not both apply the same migration. */
        int have = db_version(d);
        if (have < 0) goto fail;
        if (m->version <= have) { db_rollback(d); continue; }
        if (db_exec_text(d, m->sql)) goto fail;
        sqlite3_stmt *st = db_stmt(d, SQL_SCHEMA_RECORD);
        if (!st) goto fail;
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, db_now_ms());
        if (db_exec(st) || db_commit(d)) goto fail;
        (*applied)++;
    }
    d->search_queue = db_has_search_queue_now(d);
    /* FTS5's secure-delete (SQLite 3.44+): a deleted row's text leaves the
     * index at once instead of at the next merge. Debian bookworm's 3.40
     * lacks it (docs/encryption.md). Persistent, so set with the schema. */
    if (*applied && sqlite3_libversion_number() >= 3044000 &&
        db_exec_text(d, "INSERT INTO search_events (search_events, rank) VALUES ('secure-delete', 1);"
                        "INSERT INTO search_sessions (search_sessions, rank) VALUES ('secure-delete', 1)"))
        return -1;
    return 0;
fail:
    db_rollback(d);
    return -1;
}

int db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int db_bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n)
{
    return s ? sqlite3_bind_text64(st, i, s, n, SQLITE_TRANSIENT, SQLITE_UTF8)
             : sqlite3_bind_null(st, i);
}

cJSON *db_row_json(sqlite3_stmt *st)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj) return NULL;
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        size_t len = strlen(name);
        cJSON *v = NULL;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER: v = cJSON_CreateNumber((double)sqlite3_column_int64(st, i)); break;
        case SQLITE_FLOAT:   v = cJSON_CreateNumber(sqlite3_column_double(st, i)); break;
        case SQLITE_NULL:
            v = cJSON_CreateNull();
            if (len > 5 && strcmp(name + len - 5, "_json") == 0) len -= 5; /* NULL as null, same key */
            break;
        default: {
            const char *text = (const char *)sqlite3_column_text(st, i);
            if (len > 5 && strcmp(name + len - 5, "_json") == 0) {
                v = cJSON_ParseWithLength(text, (size_t)sqlite3_column_bytes(st, i));
                len -= 5;
            }
            if (!v) v = cJSON_CreateString(text ? text : "");
        }
        }
        if (!v) goto fail;
        char key[64];
        if (len >= sizeof key) len = sizeof key - 1;
        memcpy(key, name, len);
        key[len] = '\0';
        cJSON_AddItemToObject(obj, key, v);
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

int db_audit(db *d, const char *actor, const char *action, const char *detail)
{
    sqlite3_stmt *st = db_stmt(d, SQL_AUDIT_INSERT);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, db_now_ms());
    db_bind_text(st, 2, actor);
    db_bind_text(st, 3, action);
    sqlite3_bind_null(st, 4);
    sqlite3_bind_null(st, 5);
    sqlite3_bind_null(st, 6);
    db_bind_text(st, 7, detail);
    return db_exec(st);
}
