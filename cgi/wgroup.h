/* wgroup: group commit for the runtimes' appends.
 *
 * SQLite commits one transaction at a time, and each commit has a fixed
 * cost (the WAL frames of every touched index page, a text-search segment).
 * When several requests want to write at once, the first becomes the
 * leader: it takes the process's write turn, runs its own work and that of
 * everyone queued behind it in ONE transaction, each piece inside its own
 * savepoint (db.h bulk mode), commits once, and wakes the others with their
 * results (each waits on its own condition: a commit wakes only the threads
 * it answered and the next leader). A piece that fails is rolled back
 * alone; the others still commit.
 * Nobody is answered before the commit that holds their rows, so durability
 * and atomicity per request are what they were; only the number of commits
 * goes down when traffic is concurrent. A lone writer runs alone, at once.
 *
 * A piece runs on the leader's thread and connection, so it must touch only
 * its argument and the connection it is given. */
#ifndef FD_WGROUP_H
#define FD_WGROUP_H

struct db;

/* One piece of work: 0 on success, -1 when it failed (and wrote nothing). */
typedef int (*wgroup_fn)(struct db *d, void *arg);

/* Run fn(d', arg) in a group transaction, d' being the writer connection
 * when one is set, else the leader's (d when this thread leads). With a
 * writer set d may be NULL: a request gives its connection back while it
 * waits (app.h ctx_db_park), so waiting appends do not hold the ones that
 * other requests need. weight (>= 1: the rows it will write, e.g.
 * events) bounds a group: a leader takes pieces until WGROUP_WEIGHT, so
 * large batches commit alone and small ones share. Returns what fn
 * returned, or -1 when fn ran but the group's COMMIT failed or the group
 * could not start; then *storage_err (may be NULL) receives the SQLite
 * result code (else 0) and nothing of fn's remains. */
int wgroup_run(struct db *d, wgroup_fn fn, void *arg, int weight, int *storage_err);

/* The connection every group runs on (the app opens one for it), so its
 * page cache is never emptied by another connection's commit: groups only
 * follow each other. NULL (the default, and in tests): the leader's own
 * connection. Set before the workers start, or with them all stopped. */
void wgroup_set_writer(struct db *w);

/* The writer's page cache, in KiB (main.c sets it; other connections have
 * DB_CACHE_KIB). An append touches the paths to a leaf of each of the
 * events table's three indexes, the session's row and its index entries;
 * with runtimes appending to sessions all over those indexes, 512 KiB
 * could not hold them, and the writer read 16 pages per single-event
 * append back from the WAL and the file. With 2 MiB: under 2. */
#define WGROUP_WRITER_CACHE_KIB 2048

/* Commits made and pieces run through them, since start (for the
 * benchmark's notes and the tests). */
void wgroup_stats(unsigned long long *commits, unsigned long long *pieces);

#endif
