/* retention: how long finished sessions are kept and how large a payload
 * is stored, per project (table retention_rules, migration 010), and the
 * sweep that deletes what has expired.
 *
 * A project without a rule keeps its sessions for the configuration's
 * retention_days (0: forever) and stores payloads whole. Only finished
 * sessions (completed, failed, canceled) expire, counted from when they
 * ended; a running session is never swept, however old.
 *
 * The sweep deletes in batches, each one short transaction (a wgroup piece
 * in the server, so it queues with the appends instead of fighting them),
 * and writes one audit row per batch and project with what it removed
 * (actor "system:retention", action "retention"). Deleting a session takes
 * everything it owns, its search text included (ON DELETE CASCADE and the
 * triggers of migrations 003 and 007).
 *
 * The payload cap applies at ingest: an event whose stored form would be
 * longer than the cap has its longest strings cut (each ends with a
 * "[cut by retention: N bytes]" note), or, when that is not enough, its
 * largest fields replaced by such a note. Arguments and results are cut
 * with the event that carries them. */
#ifndef FD_RETENTION_H
#define FD_RETENTION_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct db;

#define RETENTION_MAX_DAYS  36500
#define RETENTION_MIN_CAP   1024
#define RETENTION_MAX_CAP   (1LL << 30)
#define RETENTION_ACTOR     "system:retention"

/* Set (insert or replace) the rule of `project`: keep_days 0 = forever,
 * max_payload 0 = no cap; audited as "retention_set" by actor, in a
 * transaction of its own. 0; 1 when a value is out of range (nothing
 * written; why in err); -1 on a database error. */
int retention_set(struct db *d, const char *project, int keep_days, long long max_payload,
                  const char *actor, char *err, size_t errlen);

/* Remove the rule of `project` (it follows the default again), audited.
 * 1 removed, 0 there was none, -1 database error. */
int retention_clear(struct db *d, const char *project, const char *actor);

/* Every rule as a JSON array of {project, keep_days, max_payload_bytes,
 * updated_at, updated_by} (null for forever / no cap); caller owns it.
 * NULL on a database error. */
cJSON *retention_rules_json(struct db *d);
/* One rule, or NULL (*found 0: there is none; else a database error). */
cJSON *retention_rule_json(struct db *d, const char *project, int *found);

/* What a sweep removed. */
typedef struct retention_counts {
    long long sessions;
    long long events;
} retention_counts;

/* One batch: delete up to max_sessions expired sessions (fewer when they
 * hold many events: about RETENTION_BATCH_EVENTS per batch) as of `now`
 * (ms), with default_days for projects without a rule, in a transaction
 * of its own (a savepoint in bulk mode). Adds to *c. Returns the sessions
 * deleted (0: nothing has expired), or -1 (nothing deleted). */
#define RETENTION_BATCH_EVENTS 20000
int retention_sweep_batch(struct db *d, int64_t now, int default_days, int max_sessions,
                          retention_counts *c);

/* The payload cap of session sid's project: 0 none, > 0 bytes, -1 error. */
long long retention_cap(struct db *d, const char *sid);

/* Cut the JSON value v in place until it prints in at most cap bytes (see
 * above). Returns 1 when it was cut, 0 when it already fit, -1 out of
 * memory. *printed (may be NULL) receives its printed length before. */
int retention_cut(cJSON *v, size_t cap, size_t *printed);

#endif
