/* metrics: counters and the Prometheus text (see metrics.h). */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "bg.h"
#include "db.h"
#include "dbpool.h"
#include "http.h"
#include "notify.h"
#include "route.h"

/* The statuses counted apart; any other is counted as its class ("5xx"). */
static const int statuses[] = { 200, 201, 204, 303, 304, 400, 401, 403, 404, 405,
                                409, 413, 415, 422, 429, 500, 503 };
#define NSTATUS (sizeof statuses / sizeof statuses[0])
#define NCLASS 5 /* 1xx .. 5xx, for the others */

/* Latency buckets, seconds (upper bounds; +Inf is the count). */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define NBUCKET (sizeof bounds / sizeof bounds[0])

/* Per route (the table's index; the last slot is "no route"). The route
 * table is fixed at build time; MAX_ROUTES bounds it. */
#define MAX_ROUTES 96
typedef struct route_stats {
    atomic_ullong by_status[NSTATUS + NCLASS];
    atomic_ullong buckets[NBUCKET];   /* requests at or under each bound */
    atomic_ullong count;
    atomic_ullong sum_us;             /* total time, microseconds */
} route_stats;

static route_stats stats[MAX_ROUTES + 1];
static atomic_llong items[METRICS__ITEMS];
/* The retention sweep: passes ended, and what its batches deleted. */
static atomic_llong sweep_passes, swept_sessions, swept_events;
static time_t started;
static atomic_int started_set;

static size_t slot_of(const route *r)
{
    if (!r) return MAX_ROUTES;
    size_t i = (size_t)(r - route_table);
    return i < route_count && i < MAX_ROUTES ? i : MAX_ROUTES;
}

void metrics_request(const route *r, int status, double seconds)
{
    if (!atomic_exchange(&started_set, 1)) started = time(NULL);
    route_stats *s = &stats[slot_of(r)];
    size_t k = 0;
    while (k < NSTATUS && statuses[k] != status) k++;
    if (k == NSTATUS) {
        int cls = status / 100;
        k = NSTATUS + (size_t)(cls >= 1 && cls <= 5 ? cls - 1 : 4);
    }
    atomic_fetch_add_explicit(&s->by_status[k], 1, memory_order_relaxed);
    for (size_t b = 0; b < NBUCKET; b++)
        if (seconds <= bounds[b]) atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (unsigned long long)(seconds * 1e6 + 0.5), memory_order_relaxed);
}

void metrics_ingested(metrics_item what, long long n)
{
    if (what >= 0 && what < METRICS__ITEMS && n > 0)
        atomic_fetch_add_explicit(&items[what], n, memory_order_relaxed);
}

void metrics_sweep(int pass_done, long long sessions, long long events)
{
    if (pass_done) atomic_fetch_add_explicit(&sweep_passes, 1, memory_order_relaxed);
    if (sessions > 0) atomic_fetch_add_explicit(&swept_sessions, sessions, memory_order_relaxed);
    if (events > 0) atomic_fetch_add_explicit(&swept_events, events, memory_order_relaxed);
}

/* The labels of route slot i: route="/api/v1/sessions",method="GET". The
 * patterns are ours (no quote or backslash), so they need no escaping. */
static void route_labels(buf *out, size_t i)
{
    if (i == MAX_ROUTES) {
        buf_puts(out, "route=\"(none)\",method=\"\"");
        return;
    }
    char methods[64];
    route_allow_header(route_table[i].methods, methods, sizeof methods);
    buf_printf(out, "route=\"%s\",method=\"%s\"", route_table[i].pattern, methods);
}

static void help(buf *out, const char *name, const char *type, const char *text)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static int write_db(buf *out, db *d)
{
    static const char *const all[] = { "pending", "running", "retrying", "pausing", "paused",
                                       "canceling", "canceled", "completed", "failed" };
    long long n[sizeof all / sizeof all[0]] = { 0 };
    sqlite3_stmt *st = db_stmt(d, SQL_METRICS_SESSIONS);
    if (!st) return -1;
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
            if (!strcmp(s, all[i])) n[i] = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return -1;
    help(out, "flightdeck_sessions", "gauge", "Sessions by status.");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        buf_printf(out, "flightdeck_sessions{status=\"%s\"} %lld\n", all[i], n[i]);
    st = db_stmt(d, SQL_METRICS_DB_SIZE);
    if (!st || db_step(st) != SQLITE_ROW) {
        if (st) sqlite3_reset(st);
        return -1;
    }
    long long bytes = sqlite3_column_int64(st, 0), free_bytes = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    help(out, "flightdeck_database_bytes", "gauge", "Size of the database file, in bytes.");
    buf_printf(out, "flightdeck_database_bytes %lld\n", bytes);
    help(out, "flightdeck_database_free_bytes", "gauge",
         "Bytes of the file in pages deleted rows left free (db vacuum gives them back).");
    buf_printf(out, "flightdeck_database_free_bytes %lld\n", free_bytes);
    return 0;
}

int metrics_write(buf *out, db *d)
{
    help(out, "flightdeck_http_requests_total", "counter",
         "Requests answered by the app since it started, by route, method and status.");
    for (size_t i = 0; i <= MAX_ROUTES; i++) {
        if (i < MAX_ROUTES && i >= route_count) continue;
        for (size_t k = 0; k < NSTATUS + NCLASS; k++) {
            unsigned long long v = atomic_load_explicit(&stats[i].by_status[k], memory_order_relaxed);
            if (!v) continue;
            buf_puts(out, "flightdeck_http_requests_total{");
            route_labels(out, i);
            if (k < NSTATUS) buf_printf(out, ",status=\"%d\"} %llu\n", statuses[k], v);
            else buf_printf(out, ",status=\"%zuxx\"} %llu\n", k - NSTATUS + 1, v);
        }
    }
    help(out, "flightdeck_http_request_duration_seconds", "histogram",
         "Time the app took to answer, by route and method.");
    for (size_t i = 0; i <= MAX_ROUTES; i++) {
        if (i < MAX_ROUTES && i >= route_count) continue;
        unsigned long long count = atomic_load_explicit(&stats[i].count, memory_order_relaxed);
        if (!count) continue;
        for (size_t b = 0; b < NBUCKET; b++) {
            buf_puts(out, "flightdeck_http_request_duration_seconds_bucket{");
            route_labels(out, i);
            buf_printf(out, ",le=\"%g\"} %llu\n", bounds[b],
                       atomic_load_explicit(&stats[i].buckets[b], memory_order_relaxed));
        }
        buf_puts(out, "flightdeck_http_request_duration_seconds_bucket{");
        route_labels(out, i);
        buf_printf(out, ",le=\"+Inf\"} %llu\n", count);
        buf_puts(out, "flightdeck_http_request_duration_seconds_sum{");
        route_labels(out, i);
        buf_printf(out, "} %.6f\n", (double)atomic_load_explicit(&stats[i].sum_us, memory_order_relaxed) / 1e6);
        buf_puts(out, "flightdeck_http_request_duration_seconds_count{");
        route_labels(out, i);
        buf_printf(out, "} %llu\n", count);
    }
    static const char *const item_names[METRICS__ITEMS] = { "events", "spans", "log_records" };
    help(out, "flightdeck_ingested_total", "counter",
         "Items recorded since the app started: runtime events, OTLP spans and log records.");
    for (int i = 0; i < METRICS__ITEMS; i++)
        buf_printf(out, "flightdeck_ingested_total{kind=\"%s\"} %lld\n", item_names[i],
                   atomic_load_explicit(&items[i], memory_order_relaxed));
    help(out, "flightdeck_retention_sweeps_total", "counter", "Retention sweeps run since the app started.");
    buf_printf(out, "flightdeck_retention_sweeps_total %lld\n",
               atomic_load_explicit(&sweep_passes, memory_order_relaxed));
    help(out, "flightdeck_retention_deleted_total", "counter",
         "What the retention sweep deleted since the app started: sessions, and the events they held.");
    buf_printf(out, "flightdeck_retention_deleted_total{kind=\"sessions\"} %lld\n",
               atomic_load_explicit(&swept_sessions, memory_order_relaxed));
    buf_printf(out, "flightdeck_retention_deleted_total{kind=\"events\"} %lld\n",
               atomic_load_explicit(&swept_events, memory_order_relaxed));
    help(out, "flightdeck_longpolls_waiting", "gauge", "Control and change long-polls waiting now.");
    buf_printf(out, "flightdeck_longpolls_waiting %d\n", notify_waiters());
    int pool_size, pool_taken;
    dbpool_stats(&pool_size, &pool_taken);
    help(out, "flightdeck_db_connections", "gauge",
         "Database connections the request threads share (db_connections), by state.");
    buf_printf(out, "flightdeck_db_connections{state=\"in_use\"} %d\n", pool_taken);
    buf_printf(out, "flightdeck_db_connections{state=\"idle\"} %d\n", pool_size - pool_taken);
    bg_counts bc;
    bg_stats(&bc);
    help(out, "flightdeck_wal_frames", "gauge",
         "Frames (4 KiB pages) in the write-ahead log after the last commit.");
    buf_printf(out, "flightdeck_wal_frames %d\n", bc.wal_frames);
    help(out, "flightdeck_wal_checkpoints_total", "counter",
         "Checkpoints since the app started: passive copies by the background thread, and restarts of the log.");
    buf_printf(out, "flightdeck_wal_checkpoints_total{mode=\"passive\"} %llu\n", bc.checkpoints);
    buf_printf(out, "flightdeck_wal_checkpoints_total{mode=\"restart\"} %llu\n", bc.restarts);
    help(out, "flightdeck_start_time_seconds", "gauge", "When the app answered its first request (Unix time).");
    buf_printf(out, "flightdeck_start_time_seconds %lld\n", (long long)started);
    return write_db(out, d);
}
