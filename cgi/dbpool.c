/* dbpool: request connections shared by the workers. See dbpool.h. */
#include "dbpool.h"

#include <pthread.h>
#include <stddef.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static struct db *free_stack[DBPOOL_MAX]; /* free ones; the top was returned last */
static int nfree, size;

void dbpool_set(struct db **conns, int n)
{
    if (n > DBPOOL_MAX) n = DBPOOL_MAX;
    if (n < 0) n = 0;
    pthread_mutex_lock(&lock);
    /* Reversed, so conns[0] is handed out first. */
    for (int i = 0; i < n; i++) free_stack[i] = conns[n - 1 - i];
    nfree = size = n;
    pthread_cond_broadcast(&freed);
    pthread_mutex_unlock(&lock);
}

struct db *dbpool_take(void)
{
    pthread_mutex_lock(&lock);
    while (size > 0 && nfree == 0) pthread_cond_wait(&freed, &lock);
    struct db *d = size > 0 ? free_stack[--nfree] : NULL;
    pthread_mutex_unlock(&lock);
    return d;
}

void dbpool_give(struct db *d)
{
    if (!d) return;
    pthread_mutex_lock(&lock);
    if (nfree < size) free_stack[nfree++] = d;
    pthread_cond_signal(&freed);
    pthread_mutex_unlock(&lock);
}

void dbpool_stats(int *sz, int *taken)
{
    pthread_mutex_lock(&lock);
    *sz = size;
    *taken = size - nfree;
    pthread_mutex_unlock(&lock);
}
