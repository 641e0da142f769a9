/* bg: the server's background thread, which keeps two costs off the
 * commits the requests wait for.
 *
 * - Checkpoints. SQLite's default copies the WAL into the database file
 *   inside whichever commit crosses 1,000 frames, fsync included: that
 *   request waits for it, and every appender queued behind it too. The
 *   server's connections report each commit's WAL size to this module
 *   instead (their automatic checkpoint is off), and this thread runs a
 *   PASSIVE checkpoint, which does not block writers, on its own
 *   connection each time the WAL grew by BG_CKPT_FRAMES.
 *   A PASSIVE checkpoint never lets the WAL start again from its first
 *   frame while appends keep coming (SQLite restarts it only when a write
 *   begins on a WAL copied to its end). The thread makes up to
 *   BG_CKPT_PASSES passes, each copying what came during the one before;
 *   the first commit that finds its last pass within BG_CKPT_TAIL frames
 *   of the end copies that tail itself in a RESTART checkpoint (one short
 *   fsync, readers given BG_RESTART_WAIT_US to let go), and the next
 *   commit writes from the WAL's start. Past BG_CKPT_INLINE frames (the thread stuck, or a long
 *   reader) a commit tries that every BG_CKPT_FRAMES / 4 frames, whatever
 *   the thread did, so the WAL stays bounded.
 * - Text search. Events queue their search text (migration 007); the
 *   server's connections leave the queue at commit (db_search_defer), and
 *   this thread indexes it every BG_SEARCH_MS in one group transaction
 *   (wgroup.h), so a run of single-event appends writes one FTS segment,
 *   not one per commit. Searches call db_search_sync first, so nothing
 *   committed is ever missing from a search's answer.
 *
 * - The retention sweep (retention.h), every `sweep_seconds` once
 *   bg_retention set it up: batches of at most `sweep_batch` sessions, each
 *   a wgroup piece (so it queues with the appends), SWEEP_PAUSE_MS apart
 *   until a batch finds nothing.
 *
 * Only the server (main.c) starts it; the CLI and the tests commit with
 * SQLite's defaults. */
#ifndef FD_BG_H
#define FD_BG_H

#include <pthread.h>

struct db;

#define BG_CKPT_FRAMES 4000   /* checkpoint when the WAL grew by this many frames (16 MB) */
#define BG_CKPT_TAIL   512    /* a commit finishes a checkpoint that left at most this */
#define BG_CKPT_PASSES 4      /* passes the thread makes to get the tail that short */
#define BG_CKPT_INLINE 8000   /* ... and tries regardless past this (32 MB) */
#define BG_RESTART_WAIT_US 1000 /* how long that waits for readers of the WAL */
#define BG_SEARCH_MS   250    /* queued search text waits at most about this */

/* Set up d for the server: its commits leave search text queued and report
 * the WAL's size here instead of checkpointing. */
void bg_attach(struct db *d);

/* Start the thread on *conn, its own connection, used only while holding
 * *gate shared (main.c may replace every connection under the gate held
 * exclusively). 0, or -1 when the thread could not start. */
int bg_start(struct db **conn, pthread_rwlock_t *gate);

/* Sweep every every_s seconds (0: never), deleting sessions of projects
 * without a rule after default_days (0: never), batch sessions per
 * transaction. Call before bg_start. */
void bg_retention(int default_days, int every_s, int batch);

/* Index what is still queued and checkpoint, on *conn (at a stop, after
 * the requests in flight ended). Called from the stopping thread. */
void bg_finish(void);

/* A deletion committed (encryption at rest, docs/encryption.md): the WAL
 * still holds the page images from before it. Within about BG_SEARCH_MS
 * the thread copies the WAL into the database (whose freed space
 * secure_delete zeroed) and truncates it, once no reader needs it; it tries
 * without waiting, and again until it succeeds. Any thread; a no-op
 * without the thread (CLI, tests). */
void bg_wal_scrub(void);

/* What the thread and the commits did since start (/metrics, tests). */
typedef struct bg_counts {
    unsigned long long checkpoints; /* the thread's PASSIVE checkpoints */
    unsigned long long restarts;    /* RESTART checkpoints that succeeded */
    unsigned long long flushes;     /* search queue flushes */
    int wal_frames;                 /* the WAL's size after the last commit */
} bg_counts;
void bg_stats(bg_counts *out);

#endif
