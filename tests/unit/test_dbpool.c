/* dbpool.c: the request connections the workers share. Handed out newest
 * returned first; never the same one to two holders; never more holders
 * than connections; a taker waits while all are out; nothing (NULL) when
 * no pool is set, as in the CLI. The pool never looks inside a connection,
 * so stand-ins serve here. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "dbpool.h"
#include "harness.h"

static char slots[4]; /* stand-ins for four connections */
#define CONN(i) ((struct db *)(void *)&slots[i])

TEST(test_unset_pool_gives_nothing)
{
    CHECK(dbpool_take() == NULL);
    dbpool_give(NULL); /* harmless */
    int size = -1, taken = -1;
    dbpool_stats(&size, &taken);
    CHECK_INT(size, 0);
    CHECK_INT(taken, 0);
}

TEST(test_first_given_first_and_last_returned_next)
{
    struct db *c[3] = { CONN(0), CONN(1), CONN(2) };
    dbpool_set(c, 3);
    struct db *a = dbpool_take(), *b = dbpool_take();
    CHECK(a == CONN(0));
    CHECK(b == CONN(1));
    int size, taken;
    dbpool_stats(&size, &taken);
    CHECK_INT(size, 3);
    CHECK_INT(taken, 2);
    dbpool_give(a);
    /* The warm one comes back first, not the one never used. */
    CHECK(dbpool_take() == CONN(0));
    dbpool_give(CONN(0));
    dbpool_give(b);
    dbpool_stats(&size, &taken);
    CHECK_INT(taken, 0);
}

static atomic_int got;
static void *take_one(void *arg)
{
    struct db **out = arg;
    *out = dbpool_take();
    atomic_store(&got, 1);
    return NULL;
}

TEST(test_taker_waits_while_all_are_out)
{
    struct db *c[1] = { CONN(3) };
    dbpool_set(c, 1);
    struct db *mine = dbpool_take(), *theirs = NULL;
    CHECK(mine == CONN(3));
    atomic_store(&got, 0);
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, take_one, &theirs), 0);
    struct timespec ms50 = { 0, 50 * 1000000L };
    nanosleep(&ms50, NULL);
    CHECK_INT(atomic_load(&got), 0); /* still waiting */
    dbpool_give(mine);
    pthread_join(t, NULL);
    CHECK_INT(atomic_load(&got), 1);
    CHECK(theirs == CONN(3));
    dbpool_give(theirs);
}

#define THREADS 8
#define ROUNDS 2000
static atomic_int holders, most, clashes;
static atomic_int in_use[4];

static void *churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct db *d = dbpool_take();
        int k = (int)((char *)(void *)d - slots);
        if (atomic_fetch_add(&in_use[k], 1) != 0) atomic_fetch_add(&clashes, 1);
        int h = atomic_fetch_add(&holders, 1) + 1;
        for (int m = atomic_load(&most); h > m && !atomic_compare_exchange_weak(&most, &m, h);) {}
        atomic_fetch_sub(&holders, 1);
        atomic_fetch_sub(&in_use[k], 1);
        dbpool_give(d);
    }
    return NULL;
}

TEST(test_never_shared_never_more_than_the_pool)
{
    struct db *c[3] = { CONN(0), CONN(1), CONN(2) };
    dbpool_set(c, 3);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK_INT(pthread_create(&t[i], NULL, churn, NULL), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&clashes), 0);
    CHECK(atomic_load(&most) >= 1 && atomic_load(&most) <= 3);
    int size, taken;
    dbpool_stats(&size, &taken);
    CHECK_INT(size, 3);
    CHECK_INT(taken, 0);
}

int main(void)
{
    RUN(test_unset_pool_gives_nothing);
    RUN(test_first_given_first_and_last_returned_next);
    RUN(test_taker_waits_while_all_are_out);
    RUN(test_never_shared_never_more_than_the_pool);
    return DONE();
}
