/* metrics: what GET /metrics reports in the Prometheus text format
 * (version 0.0.4): request counts and latency histograms per route, events
 * and spans ingested, long-polls waiting — counted in this process since it
 * started, with atomic counters any worker may bump — and, read from the
 * database at scrape time, sessions by status and the database's size.
 * The metric names and their meaning are listed in README "Metrics". */
#ifndef FD_METRICS_H
#define FD_METRICS_H

#include <stddef.h>
#include "buf.h"

struct db;
struct route;

/* One answered request: its route (NULL when none matched), method bit,
 * status and how long it took. Lock-free. */
void metrics_request(const struct route *r, int status, double seconds);

/* Items a runtime or an exporter had recorded (events, spans, log records). */
typedef enum metrics_item { METRICS_EVENTS, METRICS_SPANS, METRICS_LOG_RECORDS, METRICS__ITEMS } metrics_item;
void metrics_ingested(metrics_item what, long long n);

/* One batch of the retention sweep ran: pass_done 1 when it ended a pass
 * (found nothing more, or failed), and what it deleted. */
void metrics_sweep(int pass_done, long long sessions, long long events);

/* The whole scrape into out: the counters above, then what d says now.
 * 0, or -1 when the database could not be read (out holds the rest). */
int metrics_write(buf *out, struct db *d);

#endif
