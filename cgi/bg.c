/* bg: checkpoints, search indexing and the retention sweep off the
 * request path. See bg.h. */
#include "bg.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "retention.h"
#include "seal.h"
#include "wgroup.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static int want_checkpoint;   /* the WAL grew by BG_CKPT_FRAMES since the last one */
static int checkpointed;      /* the WAL's size in frames at the last checkpoint */
static int copied;            /* frames that checkpoint copied; 0 once used or restarted */
static int passes;            /* checkpoints since the WAL last restarted */
static int restart_tried;     /* the WAL's size at the last forced restart attempt */
static int wal_frames;        /* the WAL's size after the last commit */
static int want_truncate;     /* bg_wal_scrub: truncate the WAL when it can */
static int stopping;
static int running;
static pthread_t thread;
static struct db **conn;
static pthread_rwlock_t *gate;
static unsigned long long n_checkpoints, n_flushes, n_restarts;
/* The retention sweep (retention.h): off until bg_retention. */
static int sweep_days, sweep_every_ms, sweep_batch;
#define SWEEP_PAUSE_MS 20  /* between two batches of one sweep: requests go first */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Busy handler of restart_wal: readers that still read the WAL's frames
 * get about BG_RESTART_WAIT_US to finish, then the commit goes on. */
static int restart_wait(void *arg, int n)
{
    (void)n;
    const struct timespec *until = arg, pause = { 0, 20000 };
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > until->tv_sec || (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec))
        return 0;
    nanosleep(&pause, NULL);
    return 1;
}

/* Copy what is left of the WAL and have the next commit start it again
 * from its first frame (a RESTART checkpoint), waiting briefly for readers.
 * A PASSIVE checkpoint never does this: SQLite restarts the WAL only when a
 * write begins on a WAL that is copied to its end, and with appends
 * arriving all the time bg's checkpoint never reaches the end. */
static void restart_wal(sqlite3 *h, const char *name)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += BG_RESTART_WAIT_US * 1000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    sqlite3_busy_handler(h, restart_wait, &until);
    int rc = sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK) {
        pthread_mutex_lock(&lock);
        n_restarts++;
        pthread_mutex_unlock(&lock);
    }
}

/* SQLite calls this after each commit of an attached connection, the write
 * lock released, with the WAL's size in frames. A commit through db_commit
 * still holds its process's writer turn (db.h) here, so a restart it runs
 * delays no other commit of this process's but the ones queued behind it. */
static int wal_note(void *arg, sqlite3 *h, const char *name, int frames)
{
    (void)arg;
    int restart = 0;
    pthread_mutex_lock(&lock);
    if (frames < wal_frames) checkpointed = copied = passes = restart_tried = 0; /* restarted */
    wal_frames = frames;
    if (copied && frames - copied <= BG_CKPT_TAIL) {
        /* bg's checkpoint left a short tail: copying it here (one fsync)
         * is what lets the WAL restart instead of growing on. */
        restart = 1;
        copied = 0;
    } else if (frames >= BG_CKPT_INLINE && frames - restart_tried >= BG_CKPT_FRAMES / 4) {
        /* Far behind (bg stuck, or a long reader): try every so often, so
         * the WAL stays bounded. */
        restart = 1;
        restart_tried = frames;
    }
    /* Once per BG_CKPT_FRAMES of growth, not after every commit: each
     * checkpoint ends with an fsync. But when the last one left more than
     * a short tail (appends came in while it copied), again at once: each
     * pass copies only what came during the one before. */
    if (!restart && !want_checkpoint &&
        (frames - checkpointed >= BG_CKPT_FRAMES || (copied && passes < BG_CKPT_PASSES))) {
        want_checkpoint = 1;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    if (restart) restart_wal(h, name);
    return SQLITE_OK;
}

void bg_attach(struct db *d)
{
    db_search_defer(d, 1);
    /* Replaces SQLite's automatic checkpoint (itself a WAL hook). */
    sqlite3_wal_hook(db_handle(d), wal_note, NULL);
}

/* A wgroup piece: index the queue in its own savepoint. */
static int flush_piece(struct db *d, void *arg)
{
    (void)arg;
    if (db_begin(d)) return -1;
    if (db_search_flush(d)) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d);
}

/* Index what is queued, sharing a commit with the appends of the moment. */
static void flush_queue(struct db *d)
{
    if (db_search_pending(d) <= 0) return;
    if (wgroup_run(d, flush_piece, NULL, 1, NULL) == 0) {
        pthread_mutex_lock(&lock);
        n_flushes++;
        pthread_mutex_unlock(&lock);
    }
}

static void checkpoint(struct db *d)
{
    int frames = 0, done = 0;
    db_checkpoint(d, &frames, &done);
    pthread_mutex_lock(&lock);
    checkpointed = frames;
    copied = done;
    passes++;
    n_checkpoints++;
    pthread_mutex_unlock(&lock);
}

void bg_retention(int default_days, int every_s, int batch)
{
    sweep_days = default_days;
    sweep_every_ms = every_s * 1000;
    sweep_batch = batch;
}

/* A wgroup piece: one batch of the sweep. */
typedef struct sweep_arg {
    retention_counts c;
    int              deleted;
} sweep_arg;

static int sweep_piece(struct db *d, void *arg)
{
    sweep_arg *a = arg;
    a->c.sessions = a->c.events = 0;
    a->deleted = retention_sweep_batch(d, db_now_ms(), sweep_days, sweep_batch, &a->c);
    return a->deleted < 0 ? -1 : 0;
}

/* One batch of the sweep. Returns 1 when the sweep may have more to do
 * (run again soon), 0 when it is done or failed. */
static int sweep_step(struct db *d)
{
    sweep_arg a = { { 0, 0 }, 0 };
    if (wgroup_run(d, sweep_piece, &a, RETENTION_BATCH_EVENTS, NULL) != 0) {
        log_msg(LOGL_ERROR, "retention sweep: %s", db_errmsg(d));
        metrics_sweep(1, 0, 0);
        return 0;
    }
    metrics_sweep(a.deleted == 0, a.c.sessions, a.c.events);
    if (a.deleted > 0) {
        log_msg(LOGL_INFO, "retention sweep: deleted %lld sessions, %lld events", a.c.sessions, a.c.events);
        /* With encryption on, what was deleted must not linger in the WAL either. */
        if (seal_enabled()) bg_wal_scrub();
    }
    return a.deleted > 0;
}

void bg_wal_scrub(void)
{
    pthread_mutex_lock(&lock);
    if (running) {
        want_truncate = 1;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
}

/* A TRUNCATE checkpoint that gives up at once rather than wait for a
 * writer or a reader (requests must not queue behind it). 0 when done. */
static int truncate_wal(struct db *d)
{
    sqlite3 *h = db_handle(d);
    sqlite3_busy_timeout(h, 0);
    int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
    return rc == SQLITE_OK ? 0 : -1;
}

static void *bg_run(void *arg)
{
    (void)arg;
    int64_t next_flush = mono_ms() + BG_SEARCH_MS;
    int64_t next_sweep = sweep_every_ms > 0 ? mono_ms() + sweep_every_ms : INT64_MAX;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        int64_t now = mono_ms();
        int64_t next = next_flush < next_sweep ? next_flush : next_sweep;
        if (!want_checkpoint && now < next) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            int64_t ns = until.tv_nsec + (next - now) * 1000000;
            until.tv_sec += ns / 1000000000;
            until.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&wake, &lock, &until);
            continue;
        }
        int ck = want_checkpoint, tr = want_truncate && now >= next_flush;
        want_checkpoint = 0;
        if (ck) copied = 0; /* commits wait for this pass's figure */
        pthread_mutex_unlock(&lock);

        pthread_rwlock_rdlock(gate);
        if (ck) checkpoint(*conn);
        if (now >= next_flush) {
            flush_queue(*conn);
            next_flush = mono_ms() + BG_SEARCH_MS;
        }
        if (tr && truncate_wal(*conn) == 0) {
            pthread_mutex_lock(&lock);
            want_truncate = 0;
            checkpointed = 0;
            pthread_mutex_unlock(&lock);
        }
        if (now >= next_sweep)
            next_sweep = mono_ms() + (sweep_step(*conn) ? SWEEP_PAUSE_MS : sweep_every_ms);
        db_request_end(*conn); /* nothing may stay open on it */
        pthread_rwlock_unlock(gate);

        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int bg_start(struct db **c, pthread_rwlock_t *g)
{
    conn = c;
    gate = g;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&thread, NULL, bg_run, NULL) != 0) return -1;
    running = 1;
    return 0;
}

void bg_finish(void)
{
    if (!running) return;
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = 0;
    pthread_rwlock_rdlock(gate);
    flush_queue(*conn);
    checkpoint(*conn);
    db_request_end(*conn);
    pthread_rwlock_unlock(gate);
}

void bg_stats(bg_counts *out)
{
    pthread_mutex_lock(&lock);
    out->checkpoints = n_checkpoints;
    out->restarts = n_restarts;
    out->flushes = n_flushes;
    out->wal_frames = wal_frames;
    pthread_mutex_unlock(&lock);
}
