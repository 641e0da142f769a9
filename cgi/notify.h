/* notify: wakes long-polls in this process when something changed.
 *
 * A generation counter bumped after every state-changing request; waiters
 * sleep on a condition variable until the counter moves or their timeout
 * passes. Changes made by other processes (the CLI, a second app) are not
 * seen here, so waiters also re-read the database at least every
 * NOTIFY_RECHECK_MS. */
#ifndef FD_NOTIFY_H
#define FD_NOTIFY_H

#include <stdint.h>

#define NOTIFY_RECHECK_MS 500

/* The current generation. */
uint64_t notify_generation(void);
/* Something changed: wake every waiter. */
void notify_bump(void);
/* Sleep until the generation differs from `seen` or ms milliseconds pass.
 * Returns the generation at wake-up. */
uint64_t notify_wait(uint64_t seen, int ms);

/* Long-poll slots: at most `max` requests wait at once, so waiting runtimes
 * never hold every worker thread and pages always find one free. */
void notify_set_max_waiters(int max);
/* Take a slot: 1 when granted, 0 when all are taken (answer at once). */
int notify_enter(void);
void notify_leave(void);
/* Requests waiting right now. */
int notify_waiters(void);

#endif
