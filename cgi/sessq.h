/* sessq: the session list query shared by the History page, GET
 * /api/v1/sessions and `flightdeck sessions list` — its filters, sort,
 * keyset cursor and summary.
 *
 * sessq_parse reads query parameters through one table (name, kind, limits)
 * into a sessq. sessq_prepare composes the SELECT from fixed SQL fragments,
 * one per filter with its own fixed parameter number, and binds the values:
 * request text never reaches SQL text, and the statement is cached per shape
 * (db_stmt_shape). Every sort order has an index (sql/003_history.sql), so a
 * page is one range scan wherever the cursor points.
 *
 * Strings in a sessq point into the request (or arena) and are not owned. */
#ifndef FD_SESSQ_H
#define FD_SESSQ_H

#include <stdint.h>
#include <sqlite3.h>
#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "http.h"

typedef enum sq_sort {
    SQ_SORT_START, SQ_SORT_CREATED, SQ_SORT_UPDATED, SQ_SORT_DURATION, SQ_SORT_COST,
    SQ_SORT_TOKENS, SQ_SORT_STATUS, SQ_SORT_AGENT, SQ_SORT__COUNT
} sq_sort;

/* What a row holds: the History page's raw row (SESSION_ROW_COLS of
 * db_cols.h), the API shape (SESSION_API_COLS), or only the keys. Every
 * projection ends with the three key columns _k (sort key), _t (sort_time)
 * and _i (id), at sessq_key_col(). */
typedef enum sq_cols { SQ_COLS_ROW, SQ_COLS_API, SQ_COLS_KEY } sq_cols;

#define SQ_STATUS_MAX 9
#define SQ_META_MAX   4
#define SQ_LIMIT_MAX  200
#define SQ_OFFSET_MAX 100000

typedef struct sq_meta {
    const char *key;    /* top-level metadata key (no '"', '\\', '=' or control chars) */
    const char *value;  /* compared as text; "true"/"false"/"null" also match JSON literals */
} sq_meta;

typedef struct sessq {
    /* Filters, combined with AND; NULL / 0 = not set. */
    const char *status[SQ_STATUS_MAX]; int nstatus;
    const char *kind, *agent, *trigger, *source, *project, *environment, *cluster,
               *deployment, *thread_id, *parent;
    int         success;       /* -1 any; 1 completed; 0 failed */
    int         has_error;     /* 1: failed, or holds an error event or failed tool call */
    const char *range;         /* preset "1h" "24h" "7d" "30d", relative to now */
    int         has_after, has_before; /* whether the bounds below are set */
    int64_t     start_after;   /* ms, inclusive */
    int64_t     start_before;  /* ms, exclusive */
    const char *start_after_text, *start_before_text; /* as given, for links and inputs */
    const char *q;             /* text search, as typed */
    sq_meta     meta[SQ_META_MAX]; int nmeta;
    const char *metadata_json; /* the API's metadata={..} as given (links), or NULL */
    /* Order and page. */
    sq_sort     sort;
    int         asc;           /* default: descending (newest, longest, dearest first) */
    int         limit;
    long long   offset;        /* API only; 0 with a cursor */
    /* Cursor: the list continues after this key in the current order. */
    int         has_cursor;
    int         cur_key_is_text;
    int64_t     cur_key;
    const char *cur_key_text;
    int64_t     cur_time;
    const char *cur_id;
    /* Access: JSON array of readable projects, or NULL for all. */
    const char *projects;
} sessq;

typedef struct sq_err {
    const char *field;          /* the parameter at fault */
    char        message[160];
} sq_err;

/* Parameter names of sq_sort values ("start_time", "created", ...). */
const char *sessq_sort_name(sq_sort s);

/* Reset to "everything, newest first, default_limit per page". */
void sessq_init(sessq *q, int default_limit);

/* Read filters, sort, direction, limit, offset and cursor from query
 * parameters (repeatable: status, meta; status also takes a comma list).
 * Unknown parameters are ignored. now_ms resolves `range`. Strings are
 * copied into the arena where they need rewriting. 0, or -1 with *err set
 * (the caller answers 400 naming err->field). */
int sessq_parse(sessq *q, const http_kvs *kv, arena *a, int64_t now_ms, sq_err *err);

/* True when any filter (not sort, not page) is set. */
int sessq_filtered(const sessq *q);

/* The statement for one page: filters bound, ordered by the sort (reversed
 * when `backward`, walking from the cursor towards the start — for the
 * "previous page" link), LIMIT limit+1 so the caller learns whether more
 * follow. NULL on error. The statement belongs to the connection: reset it,
 * never finalize it. */
sqlite3_stmt *sessq_prepare(db *d, const sessq *q, sq_cols cols, int backward);
/* Index of the first key column (_k, then _t, _i) of a sessq statement. */
int sessq_key_col(sqlite3_stmt *st);

/* Cursor of the current row of st (from sessq_prepare): an opaque URL-safe
 * string (base64url of [sort, asc, key, sort_time, id]); arena-owned; NULL
 * when out of memory. */
const char *sessq_cursor(arena *a, const sessq *q, sqlite3_stmt *st);

/* Summary of the filtered sessions whose start lies in [from, to), in
 * buckets of bucket_ms, ignoring the status and agent filters (so each
 * gives facet counts for the other): rows of (bucket, status, agent,
 * sessions, cost_micros, tokens), for the caller to sum (today one row per
 * session, sessions = 1). NULL on error. */
sqlite3_stmt *sessq_prepare_summary(db *d, const sessq *q, int64_t from, int64_t to,
                                    int64_t bucket_ms);

/* One page in the API's shape, {"data":[session...],"next_cursor":...}
 * (null when this is the last page), for the API and the CLI. Caller owns
 * the result; NULL on a database error or out of memory. */
cJSON *sessq_page_json(db *d, const sessq *q, arena *a);

/* Append the canonical query string of q (filters, sort, direction, limit
 * when not default_limit; no cursor) to b, "" when everything is default.
 * Values are percent-encoded. */
void sessq_query_string(buf *b, const sessq *q, int default_limit);

#endif
