/* dbpool: the database connections requests run on, fewer than the workers.
 *
 * Each SQLite connection keeps its own schema, prepared statements and page
 * cache (together 0.3-0.9 MiB once warm). A worker holds a connection only
 * while it works on a request, not while it reads the request, writes the
 * answer, or waits in a long-poll (ctx_db_park), so a few connections serve
 * all the workers: on two cores more than a handful run no faster, and each
 * one costs memory. The most recently returned connection is handed out
 * first (a stack), so light traffic keeps using the same warm one.
 *
 * The pool does not own the connections: main.c opens and closes them, and
 * sets them here again after reopening (with no request holding one). */
#ifndef FD_DBPOOL_H
#define FD_DBPOOL_H

struct db;

/* Hand out conns[0..n-1] from now on (n >= 1; at most DBPOOL_MAX are
 * used). Call with no connection taken. */
#define DBPOOL_MAX 64
void dbpool_set(struct db **conns, int n);

/* A free connection, waiting for one when all are taken; NULL when the pool
 * has none (not set: the CLI and unit tests). */
struct db *dbpool_take(void);

/* Give back what dbpool_take returned (NULL: nothing). It must have no
 * transaction open and no statement mid-step (db_request_end). */
void dbpool_give(struct db *d);

/* Connections in the pool, and how many are taken now (for /metrics). */
void dbpool_stats(int *size, int *taken);

#endif
