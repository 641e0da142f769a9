/* fmt: times, durations and amounts as people and APIs read them. Pure
 * functions over caller buffers; no allocation. */
#ifndef FD_FMT_H
#define FD_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Parse RFC 3339 ("2026-11-21T15:30:48Z", fractional seconds and offsets
 * allowed) into ms since the epoch. 0, or -1 when malformed. */
int fmt_time_parse(const char *s, int64_t *ms);
/* "2026-11-21T15:30:48.123Z" */
void fmt_rfc3339(int64_t ms, char *out, size_t n);
/* "2026-11-21 15:30:48 UTC" */
void fmt_abs(int64_t ms, char *out, size_t n);
/* "just now", "3 min ago", "5 h ago", "2 days ago", "2026-08-01" */
void fmt_rel(int64_t ms, int64_t now, char *out, size_t n);
/* "840 ms", "12.4 s", "3m 12s", "2h 05m", "3d 4h" */
void fmt_duration(int64_t ms, char *out, size_t n);
/* "950", "12.4k", "3.1M" */
void fmt_count(int64_t v, char *out, size_t n);
/* 20000 as "20,000" */
void fmt_thousands(int64_t v, char *out, size_t n);
/* bytes as "512 B", "12.4 KB", "5.0 MB", "1.2 GB" (powers of 1024) */
void fmt_bytes(int64_t n, char *out, size_t len);
/* micro-dollars as "$0.0042", "$1.23", "$1,234" */
void fmt_cost(int64_t micros, char *out, size_t n);

#endif
