/* wgroup: group commit. See wgroup.h. */
#include "wgroup.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>

#include "db.h"

/* At most this many pieces, and this much weight (rows), share one commit:
 * a bounded wait for the first of them, and a transaction that stays within
 * the writer's 512 KiB page cache (larger ones spill and got slower per row:
 * groups of ten 100-event batches took about 10 % longer per event than
 * groups of four). A piece heavier than this still runs, alone. */
#define WGROUP_MAX    64
#define WGROUP_WEIGHT 400

typedef struct piece piece;
struct piece {
    wgroup_fn fn;
    void     *arg;
    int       rc;
    int       storage_err;
    int       done;
    int       weight;
    pthread_cond_t wake;  /* its thread waits on this alone */
    piece    *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static piece *head, *tail;   /* waiting to be run */
static int leading;          /* a leader is running a group now */
static unsigned long long n_commits, n_pieces;
static struct db *writer;    /* the connection groups run on, or NULL */

void wgroup_set_writer(struct db *w)
{
    pthread_mutex_lock(&lock);
    writer = w;
    pthread_mutex_unlock(&lock);
}

/* Lead one group on d: the pieces taken from the queue (lock not held). */
static void lead(struct db *d, piece *group)
{
    /* d is NULL only when the caller parked its connection with no writer
     * set: a programming error, reported as such. */
    int ok = d && db_bulk_begin(d) == 0;
    int err = ok ? 0 : d ? db_storage_error() : SQLITE_MISUSE;
    for (piece *p = group; p; p = p->next) {
        if (!ok) {
            p->rc = -1;
            p->storage_err = err ? err : SQLITE_ERROR;
            continue;
        }
        db_error_clear();
        p->rc = p->fn(d, p->arg);
        if (p->rc && db_storage_error()) p->storage_err = db_storage_error();
        /* Some errors (disk full, I/O) end the whole transaction: what
         * follows must not run outside it, nor be reported as committed. */
        if (sqlite3_get_autocommit(db_handle(d))) {
            ok = 0;
            err = db_storage_error() ? db_storage_error() : SQLITE_ABORT;
            p->storage_err = err;
            p->rc = -1;
        }
    }
    if (ok && db_bulk_end(d, 1) != 0) {
        ok = 0;
        err = db_storage_error() ? db_storage_error() : SQLITE_ERROR;
    } else if (!ok) {
        db_bulk_end(d, 0);
    }
    if (!ok) {
        for (piece *p = group; p; p = p->next) {
            p->rc = -1;
            if (!p->storage_err) p->storage_err = err;
        }
    }
}

int wgroup_run(struct db *d, wgroup_fn fn, void *arg, int weight, int *storage_err)
{
    piece me = { .fn = fn, .arg = arg, .weight = weight > 0 ? weight : 1 };
    /* One condition per waiter: a commit wakes the threads whose pieces it
     * held and the next leader, not every thread that waits. */
    pthread_cond_init(&me.wake, NULL);
    pthread_mutex_lock(&lock);
    if (tail) tail->next = &me; else head = &me;
    tail = &me;
    while (!me.done) {
        /* head is never NULL here (this piece stays queued until a group
         * takes it); the test only tells the analyzers so. */
        if (leading || !head) {
            pthread_cond_wait(&me.wake, &lock);
            continue;
        }
        /* Lead: take pieces from the front up to the limits (the first
         * always; this one among them unless the queue is longer: then the
         * next round). */
        leading = 1;
        piece *group = head, *last = head;
        int n = 1, w = head->weight;
        while (last->next && n < WGROUP_MAX && w + last->next->weight <= WGROUP_WEIGHT) {
            last = last->next;
            n++;
            w += last->weight;
        }
        head = last->next;
        if (!head) tail = NULL;
        last->next = NULL;
        struct db *on = writer ? writer : d;
        pthread_mutex_unlock(&lock);

        lead(on, group);

        pthread_mutex_lock(&lock);
        n_commits++;
        for (piece *p = group, *nx; p; p = nx) {
            nx = p->next;
            p->next = NULL;
            p->done = 1;
            n_pieces++;
            if (p != &me) pthread_cond_signal(&p->wake);
        }
        leading = 0;
        /* The front of the queue leads next (unless this thread does, its
         * own piece still queued, or a newcomer gets there first). */
        if (head && head != &me) pthread_cond_signal(&head->wake);
    }
    pthread_mutex_unlock(&lock);
    pthread_cond_destroy(&me.wake);
    /* This thread's failure record is its own piece's, whoever ran it. */
    db_error_clear();
    if (me.storage_err) db_error_note(me.storage_err);
    if (storage_err) *storage_err = me.storage_err;
    return me.rc;
}

void wgroup_stats(unsigned long long *commits, unsigned long long *pieces)
{
    pthread_mutex_lock(&lock);
    *commits = n_commits;
    *pieces = n_pieces;
    pthread_mutex_unlock(&lock);
}
