/* db: the SQLite side. Every statement the app runs is in the table of
 * db_sql.h, prepared once per connection on first use and reused, except
 * the session list, whose WHERE and ORDER BY are composed from a fixed table
 * of fragments in sessq.c (cached per shape, db_stmt_shape). No SQL is ever
 * built from request text: values are always bound.
 *
 * A connection is used by one thread at a time (dbpool.h), in WAL mode with a busy
 * timeout; writers take the write lock up front with BEGIN IMMEDIATE so two
 * writers never deadlock on a lock upgrade, and SQLITE_BUSY is retried. */
#ifndef FD_DB_H
#define FD_DB_H

#include <stdint.h>
#include <sqlite3.h>
#include <cjson/cJSON.h>

#define DB_SQL_ENUM(id, sql) SQL_##id,
typedef enum db_sql_id {
#include "db_sql.h"
    SQL__COUNT
} db_sql_id;
#undef DB_SQL_ENUM

typedef struct db db;

/* Embedded migrations (generated from sql/NNN_*.sql at build time). */
typedef struct db_migration {
    int         version;
    const char *name;
    const char *sql;
} db_migration;
extern const db_migration db_migrations[];
extern const int db_migration_count;

#define DB_BUSY_TIMEOUT_MS 5000 /* how long a connection waits for another process's lock */
/* Each connection's page cache (SQLite's default is 2 MiB). The app keeps
 * one per pooled connection and a few more, and a commit by another
 * connection empties a cache anyway. */
#define DB_CACHE_KIB 512
#define DB_STR_(x) #x
#define DB_STR(x)  DB_STR_(x)

/* Open (creating if needed) the database at path and set WAL, busy timeout,
 * foreign keys. On failure returns NULL and writes why into err. */
db *db_open(const char *path, char *err, size_t errlen);
/* Finalize every statement and close. NULL is safe. */
void db_free(db *d);

/* Apply every migration newer than the database's, each in its own
 * transaction. *applied receives how many ran. 0, or -1 (see db_errmsg). */
int db_migrate(db *d, int *applied);
/* The schema version (highest applied migration), or -1. */
int db_version(db *d);

/* The statement `id`, prepared on first use, reset and with bindings cleared.
 * NULL on failure (a bug: every statement is checked by the unit tests). */
sqlite3_stmt *db_stmt(db *d, db_sql_id id);
/* A statement composed from fixed SQL fragments (the session list, see
 * sessq.h), cached per connection under `key`, which must identify the text
 * exactly (the same key never maps to different SQL). Returns the cached
 * statement, reset and with bindings cleared; on a miss, prepares `sql`, or
 * returns NULL when sql is NULL (so callers may build the text lazily).
 * The statement stays owned by the connection; never finalize it. */
sqlite3_stmt *db_stmt_shape(db *d, uint64_t key, const char *sql);
/* sqlite3_step, retrying SQLITE_BUSY a few times after the busy timeout. */
int db_step(sqlite3_stmt *st);
/* Run a statement that returns no rows (or whose rows are ignored):
 * SQLITE_DONE becomes 0; anything else -1. */
int db_exec(sqlite3_stmt *st);

/* BEGIN IMMEDIATE (retried on BUSY) / COMMIT / ROLLBACK. 0 or -1.
 * Writers of one process take turns on a mutex first (the turn is held from
 * db_begin until the transaction ends), so they queue without SQLite's
 * sleeping busy handler; other processes are waited for as before. */
int db_begin(db *d);
int db_commit(db *d);
void db_rollback(db *d);
/* Index the search text queued by events (migration 007: search_pending
 * into search_events, one statement), inside the open write transaction.
 * db_commit does it before every COMMIT unless the connection defers it; a
 * writer that commits by other means (the benchmark's generator) calls it
 * itself. 0 or -1. */
int db_search_flush(db *d);
/* on: db_commit leaves the queue for a background flush (bg.h), so a
 * commit of one event does not also write a text-search segment. Only for
 * the server, whose bg thread flushes the queue within BG_SEARCH_MS and
 * whose searches call db_search_sync first. */
void db_search_defer(db *d, int on);
/* Is search text queued? 1, 0, or -1 when it cannot tell. */
int db_search_pending(db *d);
/* Make search see every committed event: index what is queued now, in a
 * transaction of its own (or in the open one). For readers that are about
 * to search. 0 (also when nothing was queued) or -1. */
int db_search_sync(db *d);
/* A PASSIVE checkpoint: copy what the WAL holds into the database file as
 * far as readers allow, without blocking writers. *wal_frames and *copied
 * (either may be NULL) receive the WAL's size and what is copied, in
 * frames. 0 or -1. */
int db_checkpoint(db *d, int *wal_frames, int *copied);
/* The end of a request on d (main.c): a transaction a handler left open is
 * rolled back (and reported), and the writer's turn given back. */
void db_request_end(db *d);

/* Has another connection (another worker, the CLI, another process)
 * committed since the last call on this connection (or since it was
 * opened)? 1 when it cannot tell. This connection's own commits do not count: the
 * caller knows about those. */
int db_changed(db *d);

/* Bulk loading (the benchmark's data generator): one outer write
 * transaction around many steps. Inside it db_begin/db_commit/db_rollback
 * act on a savepoint, so each step still succeeds or fails whole while the
 * WAL is written once per bulk. Not for the server: it holds the write lock
 * throughout. db_bulk_begin: 0, or -1 (already in bulk, or BEGIN failed).
 * db_bulk_end commits (commit != 0) or rolls back the whole bulk: 0 or -1. */
int db_bulk_begin(db *d);
int db_bulk_end(db *d, int commit);

/* Was the connection opened read-only (the file was write-protected when
 * it was opened)? SQLite falls back to read-only silently. */
int db_readonly(db *d);
/* May this process write the database file at path and its -wal and -shm
 * files (those that exist)? Checked with access(2) only. A connection opened
 * while they were not stays unable to write, and so does every connection
 * opened while any such one is open (they share the read-only -shm mapping):
 * recovery means closing every connection of the process, then opening
 * them again (main.c). */
int db_path_writable(const char *path);

/* The storage trouble behind the last failed SQLite call of this thread
 * since db_error_clear: SQLITE_BUSY, LOCKED, FULL, IOERR, READONLY,
 * CANTOPEN or PERM (primary codes), or 0 when there was none or the failure
 * was of another kind (a constraint, a bug). The dispatcher answers such a
 * failure 503 (retry later), not 500. */
int db_storage_error(void);
/* Forget the last failure (each request starts clean; a best-effort write
 * that failed must not colour the answer). */
/* Record rc as this thread's last failure (when it is one): for work another
 * thread did on this request's behalf (wgroup.h). */
void db_error_note(int rc);
void db_error_clear(void);

sqlite3 *db_handle(db *d);

/* The page cache of d, in KiB (db_open sets DB_CACHE_KIB). 0, or -1. */
int db_set_cache_kib(db *d, int kib);
const char *db_errmsg(db *d);

/* Bind helpers that map NULL to SQL NULL and take copies (SQLITE_TRANSIENT). */
int db_bind_text(sqlite3_stmt *st, int i, const char *s);
int db_bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n);

/* The current row as a JSON object keyed by column name. Integer, real and
 * NULL columns keep their type; a column whose name ends in "_json" is parsed
 * as JSON and stored without the suffix (unparseable text stays a string).
 * Caller owns the result; NULL when out of memory. */
cJSON *db_row_json(sqlite3_stmt *st);

/* Milliseconds since the Unix epoch, UTC. */
int64_t db_now_ms(void);
/* An audit row about no session (account, retention), now, inside the
 * caller's transaction. 0 or -1. */
int db_audit(db *d, const char *actor, const char *action, const char *detail);

#endif
