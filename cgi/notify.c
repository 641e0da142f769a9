/* notify: generation counter + condition variable. See notify.h. */
#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static uint64_t generation;
static int waiters, max_waiters = 1;

uint64_t notify_generation(void)
{
    pthread_mutex_lock(&lock);
    uint64_t g = generation;
    pthread_mutex_unlock(&lock);
    return g;
}

void notify_bump(void)
{
    pthread_mutex_lock(&lock);
    generation++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

uint64_t notify_wait(uint64_t seen, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&lock);
    while (generation == seen) {
        if (pthread_cond_timedwait(&changed, &lock, &until) == ETIMEDOUT) break;
    }
    uint64_t g = generation;
    pthread_mutex_unlock(&lock);
    return g;
}

void notify_set_max_waiters(int max)
{
    pthread_mutex_lock(&lock);
    max_waiters = max > 0 ? max : 1;
    pthread_mutex_unlock(&lock);
}

int notify_enter(void)
{
    pthread_mutex_lock(&lock);
    int ok = waiters < max_waiters;
    if (ok) waiters++;
    pthread_mutex_unlock(&lock);
    return ok;
}

void notify_leave(void)
{
    pthread_mutex_lock(&lock);
    if (waiters > 0) waiters--;
    pthread_mutex_unlock(&lock);
}

int notify_waiters(void)
{
    pthread_mutex_lock(&lock);
    int n = waiters;
    pthread_mutex_unlock(&lock);
    return n;
}
