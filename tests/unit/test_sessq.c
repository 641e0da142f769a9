/* Unit tests for cgi/sessq.c, the session list query: the parameter table
 * of sessq_parse (every parameter and every error path), FTS quoting, the
 * keyset cursor (every sort, both directions, ties, walking back), what
 * each filter selects, the canonical query string, the summary (facets
 * ignore status and agent) and the per-shape statement cache of
 * db_stmt_shape (cgi/db.c). Against a real migrated temporary database
 * (testdb.h): rows are plain INSERTs; the triggers of sql/003_history.sql
 * keep the search tables and error counts. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "http.h"
#include "sessq.h"
#include "harness.h"
#include "testdb.h"


static arena *A;
static const int64_t NOW = 1795275000000LL; /* 2026-11-21T15:30:00Z */

/* ------------------------------------------------------------- helpers */

static void exec_sql(const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db_handle(D), sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "    exec failed: %s\n    in: %.300s\n", msg ? msg : "?", sql);
        sqlite3_free(msg);
    }
    /* Fixture events queue their search text (migration 007); the app's
     * db_commit indexes it, so do the same after a raw insert. */
    if (sqlite3_get_autocommit(db_handle(D))) db_search_flush(D);
}

static void exec_sqlf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exec_sqlf(const char *fmt, ...)
{
    char sql[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    exec_sql(sql);
}

static void clear_sessions(void)
{
    exec_sql("DELETE FROM sessions");
}

static http_kvs kv(const char *qs)
{
    http_kvs k = { 0 };
    if (http_parse_query(A, qs, strlen(qs), &k)) {
        fprintf(stderr, "    bad test query string: %s\n", qs);
        k.n = 0;
    }
    return k;
}

/* The error of the last parse. */
static sq_err E;

static int parse_full(sessq *q, const char *qs, int default_limit, int64_t now)
{
    http_kvs k = kv(qs);
    memset(&E, 0, sizeof E);
    sessq_init(q, default_limit);
    return sessq_parse(q, &k, A, now, &E);
}

static int parse(sessq *q, const char *qs)
{
    return parse_full(q, qs, 50, NOW);
}

/* qs is refused, naming `field`, with a message. */
static int expect_err(const char *qs, const char *field)
{
    sessq q;
    int rc = parse(&q, qs);
    if (rc != -1 || !E.field || strcmp(E.field, field) || !E.message[0]) {
        fprintf(stderr, "    %.120s: rc %d, field %s (expected %s), message \"%s\"\n", qs, rc,
                E.field ? E.field : "(null)", field, E.message);
        return 0;
    }
    return 1;
}
#define CHECK_ERR(qs, field) CHECK(expect_err((qs), (field)))

/* qs is accepted. */
static int expect_ok(const char *qs)
{
    sessq q;
    if (parse(&q, qs)) {
        fprintf(stderr, "    %.120s: refused (%s: %s)\n", qs, E.field ? E.field : "?", E.message);
        return 0;
    }
    return 1;
}
#define CHECK_OK(qs) CHECK(expect_ok(qs))

/* A string of n copies of c, arena-owned. */
static const char *rep(char c, size_t n)
{
    char *s = arena_alloc(A, n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static char *joinf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *joinf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[8192];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return arena_strdup(A, tmp);
}

/* The ids a statement returns, comma-separated ("ERR ..." when a step
 * fails, "NULL" when there is no statement). Resets the statement. */
static const char *ids_st(sqlite3_stmt *st)
{
    if (!st) return "NULL";
    buf b;
    buf_init(&b);
    int k = sessq_key_col(st), rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (b.len) buf_putc(&b, ',');
        const char *id = (const char *)sqlite3_column_text(st, k + 2);
        buf_puts(&b, id ? id : "(null)");
    }
    if (rc != SQLITE_DONE) {
        buf_reset(&b);
        buf_printf(&b, "ERR %s", sqlite3_errmsg(db_handle(D)));
    }
    sqlite3_reset(st);
    char *out = arena_strdup(A, buf_str(&b));
    buf_fini(&b);
    return out;
}

static const char *ids_q(const sessq *q, sq_cols cols, int backward)
{
    return ids_st(sessq_prepare(D, q, cols, backward));
}

/* The ids that the filters of qs select, in created_at order. */
static const char *ids(const char *qs)
{
    sessq q;
    const char *full = joinf("sort=created&direction=asc&limit=200%s%s", *qs ? "&" : "", qs);
    if (parse(&q, full)) return joinf("PARSE-ERROR %s: %s", E.field ? E.field : "?", E.message);
    return ids_q(&q, SQ_COLS_KEY, 0);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding, as cursors are. */
static const char *b64(const char *s)
{
    size_t n = strlen(s);
    char *out = arena_alloc(A, n / 3 * 4 + 8), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)s[i] << 16 |
                     (i + 1 < n ? (unsigned)(unsigned char)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? (unsigned)(unsigned char)s[i + 2] : 0);
        *o++ = b64chars[v >> 18 & 63];
        *o++ = b64chars[v >> 12 & 63];
        if (i + 1 < n) *o++ = b64chars[v >> 6 & 63];
        if (i + 2 < n) *o++ = b64chars[v & 63];
    }
    *o = '\0';
    return out;
}

static const char *unb64(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = arena_alloc(A, n + 1);
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(b64chars, s[i]);
        if (!p || !s[i]) return NULL;
        v = v << 6 | (unsigned)(p - b64chars);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(v >> bits & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

static int url_safe(const char *s)
{
    for (; *s; s++)
        if (!strchr(b64chars, *s)) return 0;
    return 1;
}

/* ------------------------------------------------- init, names, filtered */

TEST(test_init_and_sort_names)
{
    sessq q;
    memset(&q, 0x5a, sizeof q);
    sessq_init(&q, 37);
    CHECK_INT(q.limit, 37);
    CHECK_INT(q.success, -1);
    CHECK_INT(q.sort, SQ_SORT_START);
    CHECK_INT(q.asc, 0);
    CHECK_INT(q.nstatus, 0);
    CHECK_INT(q.nmeta, 0);
    CHECK_INT(q.has_cursor, 0);
    CHECK_INT(q.offset, 0);
    CHECK(q.agent == NULL && q.q == NULL && q.projects == NULL && q.range == NULL);
    CHECK(!sessq_filtered(&q));

    static const char *const names[SQ_SORT__COUNT] = {
        "start_time", "created", "updated", "duration", "cost", "tokens", "status", "agent"
    };
    for (int s = 0; s < SQ_SORT__COUNT; s++) CHECK_STR(sessq_sort_name((sq_sort)s), names[s]);
    CHECK_STR(sessq_sort_name(SQ_SORT__COUNT), "start_time");
    CHECK_STR(sessq_sort_name((sq_sort)99), "start_time");
    CHECK_STR(sessq_sort_name((sq_sort)-1), "start_time");
}

TEST(test_filtered)
{
    static const char *const filters[] = {
        "status=running", "kind=agent", "agent=a", "trigger=api", "source=s", "project=p",
        "environment=e", "cluster=c", "deployment=d", "thread_id=t", "parent=p", "success=true",
        "success=false", "has_error=1", "range=24h", "start_after=1000", "start_before=1000",
        "q=hello", "meta=k=v", "metadata={\"k\":\"v\"}", NULL
    };
    sessq q;
    for (int i = 0; filters[i]; i++) {
        CHECK_INT(parse(&q, filters[i]), 0);
        if (!sessq_filtered(&q)) fprintf(stderr, "    not filtered: %s\n", filters[i]);
        CHECK(sessq_filtered(&q));
    }
    static const char *const unfiltered[] = {
        "", "sort=cost", "direction=asc", "limit=10", "offset=5", "has_error=0", "foo=bar", NULL
    };
    for (int i = 0; unfiltered[i]; i++) {
        CHECK_INT(parse(&q, unfiltered[i]), 0);
        if (sessq_filtered(&q)) fprintf(stderr, "    filtered: %s\n", unfiltered[i]);
        CHECK(!sessq_filtered(&q));
    }
}

/* --------------------------------------------------------------- parsing */

TEST(test_parse_empty_and_unknown)
{
    sessq q;
    CHECK_INT(parse(&q, ""), 0);
    CHECK(!sessq_filtered(&q));
    CHECK_INT(q.limit, 50);
    /* Unknown names (names are case-sensitive) are ignored, whatever their value. */
    CHECK_INT(parse(&q, "foo=bar&Status=bogus&SORT=nope&x&limit_=0&statuses=zzz"), 0);
    CHECK(!sessq_filtered(&q));
    CHECK_INT(q.sort, SQ_SORT_START);
    /* Empty values are no filter, even where the value would be refused. */
    CHECK_INT(parse(&q, "status=&kind=&agent=&trigger=&success=&has_error=&range=&start_after="
                        "&start_before=&q=&meta=&metadata=&sort=&direction=&limit=&offset=&cursor="),
              0);
    CHECK(!sessq_filtered(&q));
    CHECK_INT(q.limit, 50);
    CHECK_INT(q.sort, SQ_SORT_START);
    CHECK_INT(q.has_cursor, 0);
    CHECK(q.start_after_text == NULL && q.metadata_json == NULL && q.q == NULL);
}

TEST(test_parse_status)
{
    sessq q;
    CHECK_INT(parse(&q, "status=running"), 0);
    CHECK_INT(q.nstatus, 1);
    CHECK_STR(q.status[0], "running");
    /* Repeated and comma lists, duplicates collapse, order of first mention. */
    CHECK_INT(parse(&q, "status=running&status=failed,completed&status=running&status=failed,running"), 0);
    CHECK_INT(q.nstatus, 3);
    CHECK_STR(q.status[0], "running");
    CHECK_STR(q.status[1], "failed");
    CHECK_STR(q.status[2], "completed");
    /* Empty items are skipped. */
    CHECK_INT(parse(&q, "status=,running,,failed,"), 0);
    CHECK_INT(q.nstatus, 2);
    CHECK_INT(parse(&q, "status=,,,"), 0);
    CHECK_INT(q.nstatus, 0);
    /* Every status, twice over: never more than SQ_STATUS_MAX. */
    const char *all = "pending,running,retrying,pausing,paused,canceling,canceled,completed,failed";
    CHECK_INT(parse(&q, joinf("status=%s&status=%s&status=failed", all, all)), 0);
    CHECK_INT(q.nstatus, SQ_STATUS_MAX);
    CHECK_STR(q.status[0], "pending");
    CHECK_STR(q.status[8], "failed");
    /* Errors. */
    CHECK_ERR("status=bogus", "status");
    CHECK_ERR("status=running,bogus", "status");
    CHECK_ERR("status=Running", "status");
    CHECK_ERR("status=running%20", "status");
    CHECK_ERR("status=averyveryverylongstatusname", "status");
    CHECK_ERR(joinf("status=%s", rep('x', 300)), "status");
    CHECK_ERR("status=running%00failed", "status");
    CHECK_ERR("status=running&status=nope", "status");
}

TEST(test_parse_kind_trigger)
{
    sessq q;
    static const char *const kinds[] = { "agent", "workflow", NULL };
    static const char *const triggers[] = { "manual", "api", "event", "schedule", "agent", "workflow", NULL };
    for (int i = 0; kinds[i]; i++) {
        CHECK_INT(parse(&q, joinf("kind=%s", kinds[i])), 0);
        CHECK_STR(q.kind, kinds[i]);
    }
    for (int i = 0; triggers[i]; i++) {
        CHECK_INT(parse(&q, joinf("trigger=%s", triggers[i])), 0);
        CHECK_STR(q.trigger, triggers[i]);
    }
    CHECK_ERR("kind=robot", "kind");
    CHECK_ERR("kind=Agent", "kind");
    CHECK_ERR("kind=agent%01", "kind");
    CHECK_ERR("trigger=cron", "trigger");
    CHECK_ERR("trigger=API", "trigger");
    CHECK_ERR(joinf("trigger=%s", rep('a', 201)), "trigger");
}

TEST(test_parse_text_filters)
{
    static const struct { const char *name; size_t off; } f[] = {
        { "agent", offsetof(sessq, agent) },
        { "source", offsetof(sessq, source) },
        { "project", offsetof(sessq, project) },
        { "environment", offsetof(sessq, environment) },
        { "cluster", offsetof(sessq, cluster) },
        { "deployment", offsetof(sessq, deployment) },
        { "thread_id", offsetof(sessq, thread_id) },
        { "parent", offsetof(sessq, parent) },
    };
    sessq q;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        CHECK_INT(parse(&q, joinf("%s=a+b%%C3%%A9%%26x", f[i].name)), 0);
        const char *v = *(const char **)((char *)&q + f[i].off);
        CHECK_STR(v, "a b\xc3\xa9&x");
        CHECK(sessq_filtered(&q));
        /* 200 bytes is the most; control characters and NUL are refused. */
        CHECK_OK(joinf("%s=%s", f[i].name, rep('z', 200)));
        CHECK_ERR(joinf("%s=%s", f[i].name, rep('z', 201)), f[i].name);
        CHECK_ERR(joinf("%s=a%%01b", f[i].name), f[i].name);
        CHECK_ERR(joinf("%s=a%%0Ab", f[i].name), f[i].name);
        CHECK_ERR(joinf("%s=a%%00b", f[i].name), f[i].name);
    }
    /* The last of a repeated text filter counts. */
    CHECK_INT(parse(&q, "agent=one&agent=two"), 0);
    CHECK_STR(q.agent, "two");
}

TEST(test_parse_success_has_error)
{
    sessq q;
    static const char *const yes[] = { "1", "true", "on", "yes", NULL };
    static const char *const no[] = { "0", "false", "no", NULL };
    for (int i = 0; yes[i]; i++) {
        CHECK_INT(parse(&q, joinf("success=%s&has_error=%s", yes[i], yes[i])), 0);
        CHECK_INT(q.success, 1);
        CHECK_INT(q.has_error, 1);
    }
    for (int i = 0; no[i]; i++) {
        CHECK_INT(parse(&q, joinf("success=%s&has_error=%s", no[i], no[i])), 0);
        CHECK_INT(q.success, 0);
        CHECK_INT(q.has_error, 0);
    }
    CHECK_ERR("success=maybe", "success");
    CHECK_ERR("success=TRUE", "success");
    CHECK_ERR("success=2", "success");
    CHECK_ERR("has_error=2", "has_error");
    CHECK_ERR("has_error=y", "has_error");
}

TEST(test_parse_range)
{
    static const struct { const char *r; int64_t ms; } r[] = {
        { "1h", 3600000LL }, { "24h", 86400000LL }, { "7d", 7 * 86400000LL }, { "30d", 30 * 86400000LL },
    };
    sessq q;
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        CHECK_INT(parse(&q, joinf("range=%s", r[i].r)), 0);
        CHECK_STR(q.range, r[i].r);
        CHECK_INT(q.start_after, NOW - r[i].ms);
        CHECK_INT(q.start_before, 0);
        CHECK(q.start_after_text == NULL);
        /* Relative to the now_ms given. */
        CHECK_INT(parse_full(&q, joinf("range=%s", r[i].r), 50, NOW + 5), 0);
        CHECK_INT(q.start_after, NOW + 5 - r[i].ms);
    }
    /* A later start_after wins over the preset, an earlier one loses. */
    CHECK_INT(parse(&q, joinf("range=1h&start_after=%lld", (long long)(NOW - 1000))), 0);
    CHECK_INT(q.start_after, NOW - 1000);
    CHECK_INT(parse(&q, joinf("start_after=%lld&range=1h", (long long)(NOW - 7200000))), 0);
    CHECK_INT(q.start_after, NOW - 3600000);
    CHECK_STR(q.start_after_text, joinf("%lld", (long long)(NOW - 7200000)));
    CHECK_ERR("range=2h", "range");
    CHECK_ERR("range=1H", "range");
    CHECK_ERR("range=all", "range");
}

TEST(test_parse_times)
{
    static const struct { const char *in; int64_t ms; } ok[] = {
        { "1700000000000", 1700000000000LL },
        { "0", 0 },
        { "42", 42 },
        { "999999999999999", 999999999999999LL },          /* 15 digits */
        { "2026-11-21", 1795219200000LL },
        { "2026-11-21T15:30", 1795275000000LL },
        { "2026-11-21T15:30:00Z", 1795275000000LL },
        { "2026-11-21T15:30:00.250Z", 1795275000250LL },
        { "2026-11-21T15:30:00%2B02:00", 1795267800000LL }, /* +02:00 */
        { "2026-11-21T15:30:00-01:00", 1795278600000LL },
        { "2024-02-29", 1709164800000LL },
    };
    sessq q;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_INT(parse(&q, joinf("start_after=%s&start_before=%s", ok[i].in, ok[i].in)), 0);
        if (q.start_after != ok[i].ms) fprintf(stderr, "    time %s\n", ok[i].in);
        CHECK_INT(q.start_after, ok[i].ms);
        CHECK_INT(q.start_before, ok[i].ms);
        CHECK(q.start_after_text && q.start_before_text);
    }
    /* The text is kept as given, for links and inputs. */
    CHECK_INT(parse(&q, "start_after=2026-11-21&start_before=2026-11-22T08:00"), 0);
    CHECK_STR(q.start_after_text, "2026-11-21");
    CHECK_STR(q.start_before_text, "2026-11-22T08:00");
    CHECK_INT(q.start_before - q.start_after, 32 * 3600000LL);

    static const char *const bad[] = {
        "yesterday", "2026-13-01", "2026-02-30", "2025-02-29", "2026-11-21T25:00", "2026-11-21T15:60",
        "1969-12-31T23:59:59Z", "1234567890123456", "-5", "1e9", "2026/11/21", "2026-11-21T15:30:00+2",
        "2026-11-21T15:30:00Zjunk", "2026-11-21%0A", "12%0034",
        "2026-11-21T15:30:00.000000000000000000000Z", /* 41+ bytes */
        NULL
    };
    for (int i = 0; bad[i]; i++) {
        CHECK_ERR(joinf("start_after=%s", bad[i]), "start_after");
        CHECK_ERR(joinf("start_before=%s", bad[i]), "start_before");
    }
}

TEST(test_parse_q)
{
    sessq q;
    CHECK_INT(parse(&q, "q=hello+%22world%22+AND+(x*"), 0);
    CHECK_STR(q.q, "hello \"world\" AND (x*");
    CHECK_OK(joinf("q=%s", rep('w', 500)));
    CHECK_ERR(joinf("q=%s", rep('w', 501)), "q");
    CHECK_ERR("q=a%01b", "q");
    CHECK_ERR("q=a%09b", "q"); /* tab is a control character */
    CHECK_ERR("q=a%00b", "q");
}

TEST(test_parse_meta)
{
    sessq q;
    CHECK_INT(parse(&q, "meta=team=billing&meta=n=42&meta=a.b=x=y&meta=empty="), 0);
    CHECK_INT(q.nmeta, 4);
    CHECK_STR(q.meta[0].key, "team");
    CHECK_STR(q.meta[0].value, "billing");
    CHECK_STR(q.meta[1].key, "n");
    CHECK_STR(q.meta[1].value, "42");
    CHECK_STR(q.meta[2].key, "a.b");
    CHECK_STR(q.meta[2].value, "x=y");
    CHECK_STR(q.meta[3].key, "empty");
    CHECK_STR(q.meta[3].value, "");
    CHECK(q.metadata_json == NULL);
    /* The fifth is refused. */
    CHECK_ERR("meta=a=1&meta=b=2&meta=c=3&meta=d=4&meta=e=5", "meta");
    CHECK_OK(joinf("meta=%s=v", rep('k', 100)));
    CHECK_OK(joinf("meta=k=%s", rep('v', 200)));
    CHECK_ERR("meta=noequals", "meta");
    CHECK_ERR("meta==value", "meta");
    CHECK_ERR("meta=a%22b=1", "meta");       /* quote in key */
    CHECK_ERR("meta=a%5Cb=1", "meta");       /* backslash in key */
    CHECK_ERR("meta=a%01b=1", "meta");
    CHECK_ERR(joinf("meta=%s=v", rep('k', 101)), "meta");
    CHECK_ERR(joinf("meta=k=%s", rep('v', 201)), "meta");
    CHECK_ERR("meta=k=a%01", "meta");
    CHECK_ERR("meta=k=a%00b", "meta");
    CHECK_ERR("meta=k%00x=1", "meta");
}

TEST(test_parse_metadata)
{
    sessq q;
    const char *m1 = "{\"s\":\"x y\",\"i\":42,\"t\":true,\"f\":false}";
    CHECK_INT(parse(&q, joinf("metadata=%s", m1)), 0);
    CHECK_INT(q.nmeta, 4);
    CHECK_STR(q.meta[0].key, "s");
    CHECK_STR(q.meta[0].value, "x y");
    CHECK_STR(q.meta[1].key, "i");
    CHECK_STR(q.meta[1].value, "42");
    CHECK_STR(q.meta[2].value, "true");
    CHECK_STR(q.meta[3].value, "false");
    CHECK_STR(q.metadata_json, m1);
    CHECK_INT(parse(&q, "metadata={\"z\":null,\"r\":1.5,\"neg\":-3,\"big\":1e15}"), 0);
    CHECK_INT(q.nmeta, 4);
    CHECK_STR(q.meta[0].value, "null");
    CHECK_STR(q.meta[1].value, "1.5");
    CHECK_STR(q.meta[2].value, "-3");
    CHECK_STR(q.meta[3].value, "1000000000000000");
    /* An empty object is no filter. */
    CHECK_INT(parse(&q, "metadata={}"), 0);
    CHECK_INT(q.nmeta, 0);
    /* meta and metadata add up, to four in all. */
    CHECK_INT(parse(&q, "meta=a=1&metadata={\"b\":2}"), 0);
    CHECK_INT(q.nmeta, 2);
    CHECK_ERR("meta=a=1&meta=b=2&meta=c=3&metadata={\"d\":4,\"e\":5}", "metadata");
    CHECK_ERR("metadata={\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}", "metadata");
    CHECK_ERR("metadata={\"a\":{\"b\":1}}", "metadata");
    CHECK_ERR("metadata={\"a\":[1]}", "metadata");
    CHECK_ERR("metadata={\"ok\":1,\"a\":{}}", "metadata");
    CHECK_ERR("metadata=[1,2]", "metadata");
    CHECK_ERR("metadata=\"team\"", "metadata");
    CHECK_ERR("metadata=42", "metadata");
    CHECK_ERR("metadata=null", "metadata");
    CHECK_ERR("metadata=team=billing", "metadata");
    CHECK_ERR("metadata={\"a\":", "metadata");
    CHECK_ERR("metadata={\"a\\\"b\":\"x\"}", "metadata"); /* quote in key */
    CHECK_ERR("metadata={\"\":\"x\"}", "metadata");       /* empty key */
    CHECK_ERR(joinf("metadata={\"k\":\"%s\"}", rep('v', 201)), "metadata");
    CHECK_ERR("metadata={\"k\":\"a\\u0001b\"}", "metadata");
    CHECK_ERR("metadata={\"k\":1}%00", "metadata");
}

TEST(test_parse_sort_direction)
{
    static const char *const names[SQ_SORT__COUNT] = {
        "start_time", "created", "updated", "duration", "cost", "tokens", "status", "agent"
    };
    sessq q;
    for (int s = 0; s < SQ_SORT__COUNT; s++) {
        CHECK_INT(parse(&q, joinf("sort=%s", names[s])), 0);
        CHECK_INT(q.sort, s);
        CHECK_INT(q.asc, 0);
    }
    CHECK_INT(parse(&q, "sort=cost&sort=started"), 0);
    CHECK_INT(q.sort, SQ_SORT_START);
    CHECK_INT(parse(&q, "direction=asc"), 0);
    CHECK_INT(q.asc, 1);
    CHECK_INT(parse(&q, "direction=asc&direction=desc"), 0);
    CHECK_INT(q.asc, 0);
    CHECK_ERR("sort=price", "sort");
    CHECK_ERR("sort=Cost", "sort");
    CHECK_ERR("sort=start", "sort");
    CHECK_ERR("direction=up", "direction");
    CHECK_ERR("direction=ASC", "direction");
}

TEST(test_parse_limit_offset)
{
    sessq q;
    CHECK_INT(parse(&q, "limit=1"), 0);
    CHECK_INT(q.limit, 1);
    CHECK_INT(parse(&q, "limit=200&offset=100000"), 0);
    CHECK_INT(q.limit, SQ_LIMIT_MAX);
    CHECK_INT(q.offset, SQ_OFFSET_MAX);
    CHECK_INT(parse(&q, "offset=0"), 0);
    CHECK_INT(q.offset, 0);
    static const char *const bad_limit[] = { "0", "201", "-1", "abc", "10x", "1.5",
                                             "99999999999999999999", NULL };
    for (int i = 0; bad_limit[i]; i++) CHECK_ERR(joinf("limit=%s", bad_limit[i]), "limit");
    static const char *const bad_offset[] = { "-1", "100001", "x", "5x",
                                              "99999999999999999999", NULL };
    for (int i = 0; bad_offset[i]; i++) CHECK_ERR(joinf("offset=%s", bad_offset[i]), "offset");
}

/* ------------------------------------------------------ the walk dataset */

/* Many ties: cost 500 (with equal start times), tokens 15, unfinished
 * sessions (duration -1), pending sessions (no start: sort_time is
 * created_at), equal created/updated times, equal and empty agents. */
static const struct wrow {
    const char *id, *agent, *status;
    long long created, started, ended, cost, ptok, ctok, updated;
} walk_rows[] = {
    { "a01", "alpha", "completed", 1000, 1100, 1500, 500, 10, 5, 2000 },
    { "a02", "beta", "running", 1000, 1100, -1, 500, 10, 5, 2000 },
    { "a03", "", "pending", 1200, -1, -1, 0, 0, 0, 1200 },
    { "a04", "alpha", "failed", 1300, 1400, 1900, 500, 20, 0, 2100 },
    { "a05", "gamma", "completed", 1300, 1100, 1500, 700, 5, 10, 2100 },
    { "a06", "beta", "canceled", 1400, 1500, 1600, 500, 15, 0, 2200 },
    { "a07", "alpha", "running", 1500, 1600, -1, 0, 0, 0, 1600 },
    { "a08", "Zeta", "completed", 1600, 1600, 2000, 900, 30, 0, 2300 },
    { "a09", "beta", "paused", 1700, 1800, -1, 500, 10, 5, 2300 },
    { "a10", "alpha", "completed", 1800, 1100, 1500, 500, 10, 5, 2400 },
    { "a11", "\xc3\xa5lpha", "failed", 1900, 1950, 2950, 100, 1, 1, 2500 },
    { "a12", "", "pending", 1100, -1, -1, 0, 0, 0, 1100 },
    { "a13", "beta", "retrying", 2000, 2000, -1, 500, 10, 5, 2600 },
    { "a14", "alpha", "completed", 2100, 1100, 1500, 500, 10, 5, 2600 },
    { "a15", "alpha", "pausing", 2200, 2100, -1, 500, 15, 0, 2700 },
    { "a16", "beta", "canceling", 2300, 2200, -1, 300, 0, 15, 2800 },
};
#define NWALK ((int)(sizeof walk_rows / sizeof walk_rows[0]))

static void ins_walk(const struct wrow *r)
{
    char st[32] = "NULL", en[32] = "NULL";
    if (r->started >= 0) snprintf(st, sizeof st, "%lld", r->started);
    if (r->ended >= 0) snprintf(en, sizeof en, "%lld", r->ended);
    exec_sqlf("INSERT INTO sessions (id, agent, status, created_at, started_at, ended_at, "
              "total_cost_micros, prompt_tokens, completion_tokens, updated_at) "
              "VALUES ('%s', '%s', '%s', %lld, %s, %s, %lld, %lld, %lld, %lld)",
              r->id, r->agent, r->status, r->created, st, en, r->cost, r->ptok, r->ctok, r->updated);
}

static void load_walk(void)
{
    clear_sessions();
    for (int i = 0; i < NWALK; i++) ins_walk(&walk_rows[i]);
}

/* The order each sort must give, written independently of sessq.c: the
 * key from the base columns, then sort_time (for the sorts whose key
 * ties), then id. */
static const struct ref_sort {
    const char *key;
    int         with_time;
} ref_sorts[SQ_SORT__COUNT] = {
    [SQ_SORT_START]    = { "coalesce(started_at, created_at)", 0 },
    [SQ_SORT_CREATED]  = { "created_at", 0 },
    [SQ_SORT_UPDATED]  = { "updated_at", 0 },
    [SQ_SORT_DURATION] = { "coalesce(ended_at - started_at, -1)", 1 },
    [SQ_SORT_COST]     = { "total_cost_micros", 1 },
    [SQ_SORT_TOKENS]   = { "prompt_tokens + completion_tokens", 1 },
    [SQ_SORT_STATUS]   = { "CASE status WHEN 'pending' THEN 0 WHEN 'running' THEN 1 "
                           "WHEN 'retrying' THEN 2 WHEN 'pausing' THEN 3 WHEN 'paused' THEN 4 "
                           "WHEN 'canceling' THEN 5 WHEN 'canceled' THEN 6 "
                           "WHEN 'completed' THEN 7 ELSE 8 END", 1 },
    [SQ_SORT_AGENT]    = { "agent", 1 },
};

/* The expected order as an id array (static, NWALK ids). */
static int ref_order(sq_sort s, int asc, char out[][16])
{
    const char *d = asc ? "ASC" : "DESC";
    const char *sql = ref_sorts[s].with_time
        ? joinf("SELECT id FROM sessions ORDER BY %s %s, coalesce(started_at, created_at) %s, id %s",
                ref_sorts[s].key, d, d, d)
        : joinf("SELECT id FROM sessions ORDER BY %s %s, id %s", ref_sorts[s].key, d, d);
    sqlite3_stmt *st = NULL;
    int n = 0;
    if (sqlite3_prepare_v2(db_handle(D), sql, -1, &st, NULL) != SQLITE_OK) return 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < 64)
        snprintf(out[n++], 16, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return n;
}

static const char *join_ids(char ids_[][16], int from, int to, int step)
{
    buf b;
    buf_init(&b);
    for (int i = from; step > 0 ? i < to : i > to; i += step) {
        if (b.len) buf_putc(&b, ',');
        buf_puts(&b, ids_[i]);
    }
    char *out = arena_strdup(A, buf_str(&b));
    buf_fini(&b);
    return out;
}

static const char *sort_qs(sq_sort s, int asc, int limit)
{
    return joinf("sort=%s&direction=%s&limit=%d", sessq_sort_name(s), asc ? "asc" : "desc", limit);
}

/* Page through the whole list `page` rows at a time, following the
 * cursor of each page's last row as the History page and the API do. */
static const char *walk(sq_sort s, int asc, int page, sq_cols cols)
{
    buf out;
    buf_init(&out);
    const char *cursor = NULL, *res = NULL;
    for (int pages = 0; pages < 100 && !res; pages++) {
        sessq q;
        const char *qs = cursor ? joinf("%s&cursor=%s", sort_qs(s, asc, page), cursor)
                                : sort_qs(s, asc, page);
        if (parse(&q, qs)) { res = joinf("PARSE-ERROR %s", E.message); break; }
        if (cursor && !q.has_cursor) { res = "NO-CURSOR"; break; }
        sqlite3_stmt *st = sessq_prepare(D, &q, cols, 0);
        if (!st) { res = "PREPARE-ERROR"; break; }
        int k = sessq_key_col(st), n = 0, rc;
        const char *next = NULL;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (n == page) break; /* the row beyond the page: there is more */
            if (out.len) buf_putc(&out, ',');
            buf_puts(&out, (const char *)sqlite3_column_text(st, k + 2));
            if (++n == page) next = sessq_cursor(A, &q, st);
        }
        int more = rc == SQLITE_ROW;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) res = joinf("STEP-ERROR %s", sqlite3_errmsg(db_handle(D)));
        sqlite3_reset(st);
        if (res) break;
        if (!more) { res = arena_strdup(A, buf_str(&out)); break; }
        if (!next || !url_safe(next)) { res = "BAD-CURSOR"; break; }
        cursor = next;
    }
    buf_fini(&out);
    return res ? res : "TOO-MANY-PAGES";
}

/* The cursor of row i (0-based) of the list in sort s. */
static const char *cursor_at(sq_sort s, int asc, int i, sq_cols cols)
{
    sessq q;
    if (parse(&q, sort_qs(s, asc, 200))) return NULL;
    sqlite3_stmt *st = sessq_prepare(D, &q, cols, 0);
    if (!st) return NULL;
    const char *c = NULL;
    for (int n = 0; n <= i; n++)
        if (sqlite3_step(st) != SQLITE_ROW) goto out;
    c = sessq_cursor(A, &q, st);
out:
    sqlite3_reset(st);
    return c;
}

/* -------------------------------------------------------------- cursor */

TEST(test_key_columns)
{
    load_walk();
    sessq q;
    CHECK_INT(parse(&q, ""), 0);
    for (int c = SQ_COLS_ROW; c <= SQ_COLS_KEY; c++) {
        sqlite3_stmt *st = sessq_prepare(D, &q, (sq_cols)c, 0);
        CHECK(st != NULL);
        if (!st) continue;
        int k = sessq_key_col(st);
        CHECK_INT(k, sqlite3_column_count(st) - 3);
        CHECK_STR(sqlite3_column_name(st, k), "_k");
        CHECK_STR(sqlite3_column_name(st, k + 1), "_t");
        CHECK_STR(sqlite3_column_name(st, k + 2), "_i");
        if (c == SQ_COLS_KEY) CHECK_INT(k, 0);
        else CHECK(k > 3);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        sqlite3_reset(st);
    }
    /* The default order is newest start first (pending: by creation). */
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0),
              "a16,a15,a13,a11,a09,a08,a07,a06,a04,a03,a14,a12,a10,a05,a02,a01");
}

TEST(test_cursor_format)
{
    load_walk();
    /* Cost descending: 900 (a08), 700 (a05), then the 500s by sort_time desc, id desc. */
    const char *c = cursor_at(SQ_SORT_COST, 0, 2, SQ_COLS_KEY);
    CHECK(c && url_safe(c));
    CHECK_STR(c ? unb64(c) : NULL, "[\"cost\",0,500,2100,\"a15\"]");
    c = cursor_at(SQ_SORT_AGENT, 1, 0, SQ_COLS_API);
    CHECK_STR(c ? unb64(c) : NULL, "[\"agent\",1,\"\",1100,\"a12\"]");
    c = cursor_at(SQ_SORT_DURATION, 1, 0, SQ_COLS_ROW);
    CHECK_STR(c ? unb64(c) : NULL, "[\"duration\",1,-1,1100,\"a02\"]");
    c = cursor_at(SQ_SORT_START, 0, 0, SQ_COLS_KEY);
    CHECK_STR(c ? unb64(c) : NULL, "[\"start_time\",0,2200,2200,\"a16\"]");
    /* A cursor parses back into the key it holds. */
    sessq q;
    CHECK_INT(parse(&q, joinf("sort=agent&direction=asc&cursor=%s",
                              b64("[\"agent\",1,\"beta\",1500,\"a06\"]"))), 0);
    CHECK_INT(q.has_cursor, 1);
    CHECK_INT(q.cur_key_is_text, 1);
    CHECK_STR(q.cur_key_text, "beta");
    CHECK_INT(q.cur_time, 1500);
    CHECK_STR(q.cur_id, "a06");
    CHECK(E.field == NULL);
    CHECK_INT(parse(&q, joinf("sort=cost&cursor=%s", b64("[\"cost\",0,500,2100,\"a15\"]"))), 0);
    CHECK_INT(q.has_cursor, 1);
    CHECK_INT(q.cur_key_is_text, 0);
    CHECK_INT(q.cur_key, 500);
    CHECK_INT(q.cur_time, 2100);
    CHECK_STR(q.cur_id, "a15");
}

TEST(test_cursor_walk_every_sort)
{
    load_walk();
    static const int pages[] = { 1, 2, 3, 5, 15, 16, 17, 200 };
    char ref[64][16];
    for (int s = 0; s < SQ_SORT__COUNT; s++) {
        for (int asc = 0; asc <= 1; asc++) {
            int n = ref_order((sq_sort)s, asc, ref);
            CHECK_INT(n, NWALK);
            const char *want = join_ids(ref, 0, n, 1);
            for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
                sq_cols cols = (sq_cols)(p % 3);
                const char *got = walk((sq_sort)s, asc, pages[p], cols);
                if (strcmp(got, want))
                    fprintf(stderr, "    sort %s %s, page %d, cols %d\n", sessq_sort_name((sq_sort)s),
                            asc ? "asc" : "desc", pages[p], (int)cols);
                CHECK_STR(got, want);
            }
        }
    }
}

TEST(test_cursor_from_every_row)
{
    /* From the cursor of row i, forward gives rows i+1.., backward gives
     * rows i-1 down to 0 (the preceding rows, nearest first). */
    load_walk();
    char ref[64][16];
    for (int s = 0; s < SQ_SORT__COUNT; s++) {
        for (int asc = 0; asc <= 1; asc++) {
            int n = ref_order((sq_sort)s, asc, ref);
            for (int i = 0; i < n; i++) {
                const char *c = cursor_at((sq_sort)s, asc, i, (sq_cols)(i % 3));
                CHECK(c != NULL);
                if (!c) continue;
                sessq q;
                CHECK_INT(parse(&q, joinf("%s&cursor=%s", sort_qs((sq_sort)s, asc, 200), c)), 0);
                CHECK_INT(q.has_cursor, 1);
                const char *fwd = ids_q(&q, SQ_COLS_KEY, 0), *back = ids_q(&q, SQ_COLS_KEY, 1);
                const char *want_fwd = join_ids(ref, i + 1, n, 1), *want_back = join_ids(ref, i - 1, -1, -1);
                if (strcmp(fwd, want_fwd) || strcmp(back, want_back))
                    fprintf(stderr, "    sort %s %s, row %d (%s)\n", sessq_sort_name((sq_sort)s),
                            asc ? "asc" : "desc", i, ref[i]);
                CHECK_STR(fwd, want_fwd);
                CHECK_STR(back, want_back);
            }
        }
    }
}

TEST(test_cursor_page_limit)
{
    load_walk();
    char ref[64][16];
    int n = ref_order(SQ_SORT_COST, 0, ref);
    CHECK_INT(n, NWALK);
    const char *c = cursor_at(SQ_SORT_COST, 0, 3, SQ_COLS_KEY);
    sessq q;
    CHECK_INT(parse(&q, joinf("sort=cost&limit=4&cursor=%s", c ? c : "")), 0);
    /* LIMIT limit+1: the caller learns whether more follow. */
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), join_ids(ref, 4, 9, 1));
    /* Walking back from row 3 with limit 2: rows 2, 1, 0. */
    q.limit = 2;
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 1), join_ids(ref, 2, -1, -1));
    q.limit = 1;
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 1), join_ids(ref, 2, 0, -1));
    /* The cursor of the last row: an empty next page. */
    c = cursor_at(SQ_SORT_COST, 0, n - 1, SQ_COLS_KEY);
    CHECK_INT(parse(&q, joinf("sort=cost&cursor=%s", c ? c : "")), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "");
    /* The row a cursor points at may be gone: the list still continues after its key. */
    c = cursor_at(SQ_SORT_COST, 0, 5, SQ_COLS_KEY);
    exec_sqlf("DELETE FROM sessions WHERE id = '%s'", ref[5]);
    CHECK_INT(parse(&q, joinf("sort=cost&cursor=%s", c ? c : "")), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), join_ids(ref, 6, n, 1));
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 1), join_ids(ref, 4, -1, -1));
}

TEST(test_cursor_with_filters)
{
    /* A cursor combines with filters: agent=beta, cost order, page of 2. */
    load_walk();
    sessq q;
    CHECK_INT(parse(&q, "agent=beta&sort=cost&limit=200"), 0);
    const char *want = ids_q(&q, SQ_COLS_KEY, 0);
    CHECK_STR(want, "a13,a09,a06,a02,a16");
    buf got;
    buf_init(&got);
    const char *cursor = NULL;
    for (int p = 0; p < 5; p++) {
        CHECK_INT(parse(&q, cursor ? joinf("agent=beta&sort=cost&limit=2&cursor=%s", cursor)
                                   : "agent=beta&sort=cost&limit=2"), 0);
        sqlite3_stmt *st = sessq_prepare(D, &q, SQ_COLS_ROW, 0);
        CHECK(st != NULL);
        if (!st) break;
        int n = 0, k = sessq_key_col(st);
        cursor = NULL;
        while (sqlite3_step(st) == SQLITE_ROW && n < 2) {
            if (got.len) buf_putc(&got, ',');
            buf_puts(&got, (const char *)sqlite3_column_text(st, k + 2));
            if (++n == 2) cursor = sessq_cursor(A, &q, st);
        }
        sqlite3_reset(st);
        if (!cursor) break;
    }
    CHECK_STR(buf_str(&got), "a13,a09,a06,a02,a16");
    buf_fini(&got);
}

TEST(test_cursor_refused)
{
    load_walk();
    const char *cost_desc = cursor_at(SQ_SORT_COST, 0, 2, SQ_COLS_KEY);
    const char *start = cursor_at(SQ_SORT_START, 0, 2, SQ_COLS_KEY);
    const char *agent_asc = cursor_at(SQ_SORT_AGENT, 1, 4, SQ_COLS_KEY);
    CHECK(cost_desc && start && agent_asc);
    if (!cost_desc || !start || !agent_asc) return;
    CHECK_OK(joinf("sort=cost&cursor=%s", cost_desc));
    CHECK_OK(joinf("sort=agent&direction=asc&cursor=%s", agent_asc));
    /* The alias names the same order. */
    CHECK_OK(joinf("sort=started&cursor=%s", start));
    CHECK_OK(joinf("cursor=%s", start));
    /* Another sort, or the other direction. */
    for (int s = 0; s < SQ_SORT__COUNT; s++) {
        if (s == SQ_SORT_COST) continue;
        CHECK_ERR(joinf("sort=%s&cursor=%s", sessq_sort_name((sq_sort)s), cost_desc), "cursor");
    }
    CHECK_ERR(joinf("sort=cost&direction=asc&cursor=%s", cost_desc), "cursor");
    CHECK_ERR(joinf("sort=agent&cursor=%s", agent_asc), "cursor");
    CHECK_ERR(joinf("sort=cost&cursor=%s", start), "cursor");
    /* Cursor and offset together. */
    CHECK_ERR(joinf("sort=cost&offset=5&cursor=%s", cost_desc), "cursor");
    /* Not base64url, or not the JSON it should be. */
    static const char *const raw[] = {
        "!!!!", "A", "AAAAA", "a+b/", "YWJj=", "%3D%3D", NULL
    };
    for (int i = 0; raw[i]; i++) CHECK_ERR(joinf("sort=cost&cursor=%s", raw[i]), "cursor");
    CHECK_ERR(joinf("sort=cost&cursor=%s", rep('A', 2052)), "cursor");
    static const char *const json[] = {
        "not json",
        "{\"sort\":\"cost\"}",
        "[]",
        "[\"cost\",0,500,2100]",
        "[\"cost\",0,500,2100,\"a15\",1]",
        "[\"cost\",0,\"500\",2100,\"a15\"]",    /* text key for a number sort */
        "[\"cost\",0,null,2100,\"a15\"]",
        "[\"cost\",\"0\",500,2100,\"a15\"]",
        "[\"cost\",0,500,\"2100\",\"a15\"]",
        "[\"cost\",0,500,2100,15]",
        "[\"cost\",0,500,2100,null]",
        "[5,0,500,2100,\"a15\"]",
        "[\"nosuch\",0,500,2100,\"a15\"]",
        "[\"cost\",true,500,2100,\"a15\"]",
        "[\"cost\",0,500,2100,\"a15\"",          /* truncated */
        NULL
    };
    for (int i = 0; json[i]; i++) CHECK_ERR(joinf("sort=cost&cursor=%s", b64(json[i])), "cursor");
    /* A number key for the text sort; an over-long id or key. */
    CHECK_ERR(joinf("sort=agent&cursor=%s", b64("[\"agent\",0,5,2100,\"a15\"]")), "cursor");
    CHECK_ERR(joinf("sort=cost&cursor=%s", b64(joinf("[\"cost\",0,5,2100,\"%s\"]", rep('i', 129)))),
              "cursor");
    CHECK_OK(joinf("sort=cost&cursor=%s", b64(joinf("[\"cost\",0,5,2100,\"%s\"]", rep('i', 128)))));
    CHECK_ERR(joinf("sort=agent&cursor=%s", b64(joinf("[\"agent\",0,\"%s\",2100,\"x\"]", rep('k', 1025)))),
              "cursor");
    CHECK_OK(joinf("sort=agent&cursor=%s", b64(joinf("[\"agent\",0,\"%s\",2100,\"x\"]", rep('k', 1024)))));
}

/* ---------------------------------------------------------- filter rows */

static void load_filters(void)
{
    clear_sessions();
    exec_sql(
        "INSERT INTO sessions (id, kind, agent, status, trigger_type, trigger_source, project, environment, "
        "  cluster, deployment, thread_id, parent_session_id, created_at, updated_at, started_at, ended_at, "
        "  name, prompt, error_message, metadata) VALUES "
        "('f1', 'agent', 'billing-bot', 'completed', 'api', 'alice', 'p1', 'prod', 'c1', 'd1', 't1', NULL,"
        "  1000, 1000, 1000, 2000, 'Invoice run', 'summarise the invoices for November', '',"
        "  '{\"team\":\"billing\",\"n\":42,\"ok\":true,\"gone\":null,\"f\":false,\"r\":1.5,\"a.b\":\"dot\","
        "    \"sp ace\":\"yes\"}'),"
        "('f2', 'workflow', 'etl', 'failed', 'schedule', 'cron', 'p2', 'staging', 'c2', 'd2', 't2', 'f1',"
        "  2000, 2000, 2000, 2500, '', '', 'disk quota exceeded', '{\"team\":\"text\"}'),"
        "('f3', 'agent', 'billing-bot', 'running', 'manual', 'bob', 'p1', 'prod', 'c1', 'd1', 't1', 'f1',"
        "  3000, 3000, 3000, NULL, '', '', '', '{\"team\":\"search\",\"n\":\"42\"}'),"
        "('f4', 'agent', 'support', 'pending', 'event', 'webhook', 'p3', '', '', '', '', NULL,"
        "  4000, 4000, NULL, NULL, '', '', '', '{\"ok\":\"true\"}'),"
        "('f5', 'agent', 'support', 'completed', 'agent', 'f1', 'p2', 'prod', 'c1', 'd3', 't3', 'f3',"
        "  5000, 5000, 5000, 9000, '', '', '', '{\"n\":43,\"nested\":{\"x\":1},\"gone\":\"null\"}'),"
        "('f6', 'workflow', 'etl', 'canceled', 'workflow', 'cron', 'p2', 'staging', 'c2', 'd2', 't2', NULL,"
        "  6000, 6000, 6000, 6100, '', '', '', '{}'),"
        "('f7', 'agent', 'etl', 'completed', 'api', 'alice', 'p1', 'prod', 'c1', 'd1', 't1', NULL,"
        "  7000, 7000, 7000, 7001, '', '', '', '{\"ok\":false,\"team\":true}'),"
        "('f8', 'agent', 'etl', 'paused', 'api', 'alice', 'p1', 'prod', 'c1', 'd1', 't1', NULL,"
        "  8000, 8000, 8000, NULL, '', '', '', '{\"team\":null}')");
    /* f6 has an error event, f7 a failed tool result, f8 a successful one. */
    exec_sql(
        "INSERT INTO events (session_id, seq, type, time, created_at, body) VALUES "
        "('f6', 1, 'error', 6050, 6050, '{\"message\":\"boom\"}'),"
        "('f7', 1, 'tool_result', 7000, 7000, '{\"error\":{\"message\":\"nope\"}}'),"
        "('f8', 1, 'tool_result', 8000, 8000, '{\"result\":{\"ok\":1}}')");
}

TEST(test_filter_each)
{
    load_filters();
    CHECK_INT(q_int("SELECT count(*) FROM sessions WHERE error_count > 0", NULL), 2);
    static const struct { const char *qs, *want; } t[] = {
        { "", "f1,f2,f3,f4,f5,f6,f7,f8" },
        { "status=completed", "f1,f5,f7" },
        { "status=pending", "f4" },
        { "status=completed,failed", "f1,f2,f5,f7" },
        { "status=paused&status=pending&status=canceled", "f4,f6,f8" },
        { "status=retrying", "" },
        { "kind=workflow", "f2,f6" },
        { "kind=agent", "f1,f3,f4,f5,f7,f8" },
        { "agent=etl", "f2,f6,f7,f8" },
        { "agent=billing-bot", "f1,f3" },
        { "agent=billing", "" },
        { "agent=ETL", "" },
        { "trigger=api", "f1,f7,f8" },
        { "trigger=schedule", "f2" },
        { "trigger=agent", "f5" },
        { "source=cron", "f2,f6" },
        { "source=f1", "f5" },
        { "project=p2", "f2,f5,f6" },
        { "environment=staging", "f2,f6" },
        { "cluster=c1", "f1,f3,f5,f7,f8" },
        { "deployment=d3", "f5" },
        { "thread_id=t2", "f2,f6" },
        { "parent=f1", "f2,f3" },
        { "parent=f3", "f5" },
        { "success=true", "f1,f5,f7" },
        { "success=false", "f2" },
        { "has_error=1", "f2,f6,f7" },
        { "has_error=0", "f1,f2,f3,f4,f5,f6,f7,f8" },
        { "start_after=3000", "f3,f4,f5,f6,f7,f8" },    /* inclusive; f4 by creation */
        { "start_before=3000", "f1,f2" },               /* exclusive */
        { "start_after=2000&start_before=5000", "f2,f3,f4" },
        { "start_after=1970-01-01T00:00:04Z", "f4,f5,f6,f7,f8" },
        { "agent=etl&status=completed", "f7" },
        { "agent=etl&has_error=1", "f2,f6,f7" },
        { "project=p1&success=true&cluster=c1", "f1,f7" },
        { "kind=agent&trigger=api&start_after=7000", "f7,f8" },
        { "status=running&success=true", "" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *got = ids(t[i].qs);
        if (strcmp(got, t[i].want)) fprintf(stderr, "    filter: %s\n", t[i].qs);
        CHECK_STR(got, t[i].want);
    }
}

TEST(test_filter_range)
{
    load_filters();
    /* now - 1h = 5000: f5.. */
    sessq q;
    CHECK_INT(parse_full(&q, "sort=created&direction=asc&range=1h", 50, 3605000), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f5,f6,f7,f8");
    CHECK_INT(parse_full(&q, "sort=created&direction=asc&range=1h&start_before=7000", 50, 3605000), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f5,f6");
    CHECK_INT(parse_full(&q, "sort=created&direction=asc&range=1h&start_after=6500", 50, 3605000), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f7,f8");
    CHECK_INT(parse_full(&q, "sort=created&direction=asc&range=24h", 50, 3605000), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f1,f2,f3,f4,f5,f6,f7,f8");
}

TEST(test_filter_offset)
{
    load_filters();
    CHECK_STR(ids("offset=2&limit=3"), "f3,f4,f5,f6");
    CHECK_STR(ids("offset=7"), "f8");
    CHECK_STR(ids("offset=8"), "");
    CHECK_STR(ids("offset=1&agent=etl"), "f6,f7,f8");
    /* With a cursor, the offset is not applied (parse refuses both; set directly). */
    sessq q;
    CHECK_INT(parse(&q, joinf("sort=created&direction=asc&cursor=%s",
                              b64("[\"created\",1,2000,0,\"f2\"]"))), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f3,f4,f5,f6,f7,f8");
    q.offset = 3;
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f3,f4,f5,f6,f7,f8");
}

TEST(test_filter_metadata)
{
    load_filters();
    static const struct { const char *qs, *want; } t[] = {
        { "meta=team=billing", "f1" },
        /* "text" is a value like any other, not a JSON type. */
        { "meta=team=text", "f2" },
        { "meta=team=integer", "" },
        { "meta=team=object", "" },
        /* Numbers compare as text: the integer 42 and the string "42". */
        { "meta=n=42", "f1,f3" },
        { "meta=n=43", "f5" },
        { "meta=n=4", "" },
        { "meta=r=1.5", "f1" },
        /* Booleans and null: the JSON literal, or a string of that text. */
        { "meta=ok=true", "f1,f4" },
        { "meta=ok=false", "f7" },
        { "meta=f=false", "f1" },
        { "meta=team=true", "f7" },
        { "meta=gone=null", "f1,f5" },
        { "meta=team=null", "f8" },
        { "meta=missing=null", "" },
        /* A key with a dot or a space is one key, not a path. */
        { "meta=a.b=dot", "f1" },
        { "meta=a=dot", "" },
        { "meta=sp+ace=yes", "f1" },
        /* An object value matches nothing. */
        { "meta=nested=%7B%22x%22%3A1%7D", "" },
        { "meta=nested=object", "" },
        { "meta=team=billing&meta=n=42", "f1" },
        { "meta=team=billing&meta=n=43", "" },
        { "meta=team=billing&meta=n=42&meta=ok=true&meta=r=1.5", "f1" },
        { "metadata={\"team\":\"billing\"}", "f1" },
        { "metadata={\"team\":\"text\"}", "f2" },
        { "metadata={\"n\":42}", "f1,f3" },
        { "metadata={\"n\":\"42\"}", "f1,f3" },
        { "metadata={\"n\":42.0}", "f1,f3" },
        { "metadata={\"r\":1.5}", "f1" },
        { "metadata={\"ok\":true}", "f1,f4" },
        { "metadata={\"ok\":false}", "f7" },
        { "metadata={\"gone\":null}", "f1,f5" },
        { "metadata={\"team\":\"billing\",\"ok\":true,\"n\":42}", "f1" },
        { "metadata={\"team\":\"billing\",\"ok\":false}", "" },
        { "meta=ok=true&metadata={\"n\":42}", "f1" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *got = ids(t[i].qs);
        if (strcmp(got, t[i].want)) fprintf(stderr, "    filter: %s\n", t[i].qs);
        CHECK_STR(got, t[i].want);
    }
}

TEST(test_filter_projects)
{
    load_filters();
    sessq q;
    CHECK_INT(parse(&q, "sort=created&direction=asc"), 0);
    q.projects = "[\"p1\"]";
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f1,f3,f7,f8");
    q.projects = "[\"p2\",\"p3\"]";
    CHECK_STR(ids_q(&q, SQ_COLS_API, 0), "f2,f4,f5,f6");
    q.projects = "[]";
    CHECK_STR(ids_q(&q, SQ_COLS_ROW, 0), "");
    q.projects = "[\"nosuch\"]";
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "");
    /* A project filter within the readable projects, and outside them. */
    CHECK_INT(parse(&q, "sort=created&direction=asc&project=p2"), 0);
    q.projects = "[\"p1\",\"p2\"]";
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f2,f5,f6");
    q.projects = "[\"p1\"]";
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "");
    q.projects = NULL;
    CHECK_STR(ids_q(&q, SQ_COLS_KEY, 0), "f2,f5,f6");
}

TEST(test_filter_all_at_once)
{
    /* Every filter in one statement (every fragment and parameter number),
     * with one row that passes them all. */
    load_filters();
    exec_sql("INSERT INTO sessions (id, kind, agent, status, trigger_type, trigger_source, project, "
             "environment, cluster, deployment, thread_id, parent_session_id, created_at, updated_at, "
             "started_at, ended_at, name, metadata) VALUES "
             "('all1', 'agent', 'omni', 'completed', 'event', 'hook', 'px', 'env', 'cl', 'dep', 'th', 'f1',"
             " 10000, 10000, 10000, 10500, 'zebra crossing', '{\"a\":\"1\",\"b\":2,\"c\":true,\"d\":null}'),"
             "('all2', 'agent', 'omni', 'completed', 'event', 'hook', 'px', 'env', 'cl', 'dep', 'th', 'f1',"
             " 10001, 10001, 10001, 10500, 'zebra crossing', '{\"a\":\"1\",\"b\":2,\"c\":true,\"d\":null}')");
    exec_sql("INSERT INTO events (session_id, seq, type, time, created_at, body) VALUES "
             "('all1', 1, 'error', 10100, 10100, '{\"message\":\"x\"}')");
    const char *all = "status=completed,failed&kind=agent&agent=omni&trigger=event&source=hook&project=px"
                      "&environment=env&cluster=cl&deployment=dep&thread_id=th&parent=f1&success=true"
                      "&has_error=1&start_after=9000&start_before=20000&q=zeb&meta=a=1&meta=b=2"
                      "&meta=c=true&meta=d=null";
    CHECK_STR(ids(all), "all1");
    /* range is relative to now (2026): a later bound than start_after, so nothing. */
    CHECK_STR(ids(joinf("%s&range=30d", all)), "");
    sessq q;
    CHECK_INT(parse(&q, joinf("%s&sort=cost", all)), 0);
    q.projects = "[\"px\"]";
    for (int c = SQ_COLS_ROW; c <= SQ_COLS_KEY; c++)
        for (int back = 0; back <= 1; back++) CHECK_STR(ids_q(&q, (sq_cols)c, back), "all1");
    /* And with a cursor before it, and after it. */
    CHECK_INT(parse(&q, joinf("%s&sort=cost&direction=asc&cursor=%s", all,
                              b64("[\"cost\",1,0,9999,\"a\"]"))), 0);
    CHECK_STR(ids_q(&q, SQ_COLS_ROW, 0), "all1");
    CHECK_STR(ids_q(&q, SQ_COLS_ROW, 1), "");
    /* q=all2 finds all2 by its id, which fails the other filters. */
    CHECK_STR(ids(joinf("%s&q=all2", all)), "");
    sessq w;
    CHECK_INT(parse(&w, all), 0);
    sqlite3_stmt *st = sessq_prepare_summary(D, &w, 0, 100000, 1000);
    CHECK(st != NULL);
    if (st) {
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        CHECK_INT(sqlite3_column_int64(st, 0), 10);
        CHECK_INT(sqlite3_column_int64(st, 3), 1);
        CHECK_INT(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
}

/* ------------------------------------------------------------------ FTS */

static void load_search(void)
{
    clear_sessions();
    exec_sql("INSERT INTO sessions (id, agent, name, prompt, error_message, created_at, updated_at) VALUES "
             "('t1', 'ledgerbot', 'Invoice run', 'summarise the invoices for November', '', 1, 1),"
             "('t2', 'opsbot', '', '', 'disk quota exceeded', 2, 2),"
             "('t3', 'opsbot', '', '', '', 3, 3),"
             "('t4', 'opsbot', '', '', '', 4, 4),"
             "('t5', 'dj', 'rock and roll', '', '', 5, 5),"
             "('***', 'opsbot', 'stars', '', '', 6, 6),"
             "('t7', 'chef', 'Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9\x65', '', '', 7, 7),"
             "('t8', 'opsbot', '', '', '', 8, 8),"
             "('t9', 'opsbot', '*** important ***', 'near (the) \"quoted\" end', '', 9, 9),"
             "('(', 'opsbot', 'paren', '', '', 10, 10),"
             "('t11', 'opsbot', '', '', '', 11, 11),"
             "('t12', 'opsbot', '\xcf\x89\xce\xbc\xce\xad\xce\xb3\xce\xb1', '', '', 12, 12)");
    exec_sql("INSERT INTO events (session_id, seq, type, time, created_at, body) VALUES "
             "('t3', 1, 'user_message', 3, 3, '{\"content\":\"please reconcile the ledger\"}'),"
             "('t3', 2, 'thought', 3, 3, '{\"content\":\"thinking about kangaroos\"}'),"
             "('t3', 3, 'tool_call', 3, 3, '{\"tool\":\"weather_lookup\",\"arguments\":{\"city\":\"oslo\"}}'),"
             "('t4', 1, 'error', 4, 4, '{\"message\":\"segmentation fault in parser\"}'),"
             "('t4', 2, 'tool_result', 4, 4, '{\"error\":{\"message\":\"timeout contacting upstream\"}}'),"
             "('t8', 1, 'assistant_message', 8, 8, '{\"content\":\"a quokka smiled\"}'),"
             "('t11', 1, 'tool_result', 11, 11, '{\"result\":{\"text\":\"hidden treasure\"}}'),"
             "('t11', 2, 'usage', 11, 11, '{\"content\":\"invisible usage\"}')");
}

TEST(test_search_finds)
{
    load_search();
    static const struct { const char *q, *want; } t[] = {
        { "invoice", "t1" },
        { "Invoice", "t1" },
        { "invo", "t1" },               /* prefix */
        { "invoices+november", "t1" },  /* every word, any order */
        { "november+invoice", "t1" },
        { "invoice+kangaroo", "" },
        { "ledgerbot", "t1" },          /* agent */
        { "quota", "t2" },              /* session error */
        { "reconcile", "t3" },          /* user_message content */
        { "ledger", "t1,t3" },          /* prefix of ledgerbot, and the message */
        { "kangaroos", "t3" },          /* thought */
        { "weather_lookup", "t3" },     /* tool_call tool name */
        { "weather", "t3" },
        { "oslo", "" },                 /* tool arguments are not indexed */
        { "segmentation", "t4" },       /* error event message */
        { "upstream", "t4" },           /* tool_result error.message */
        { "quokka", "t8" },             /* assistant_message */
        { "treasure", "" },             /* a tool result's value is not indexed */
        { "invisible", "" },            /* nor a usage event */
        { "creme", "t7" },              /* diacritics removed */
        { "cr%C3%A8me+br%C3%BBl%C3%A9e", "t7" },
        { "AND", "t5" },                /* an operator name is a word */
        { "rock+AND+roll", "t5" },
        { "rock+OR+zzz", "" },
        { "NOT+rock", "" },
        { "near", "t9" },
        { "NEAR", "t9" },
        { "%22quoted%22", "t9" },
        { "(the)", "t1,t3,t9" },       /* the word "the" */
        { "quoted*", "t9" },
        { "quo*", "t2,t8,t9" },        /* quota, quokka, quoted */
        { "%22rock+and%22", "t5" },
        { "%CF%89%CE%BC", "t12" },      /* a word of non-ASCII letters only (Greek) */
        { "t1", "t1" },                 /* an id (no indexed text holds it) */
        { "t11", "t11" },
        /* No letter or digit: the id, exactly, and nothing else. */
        { "***", "***" },
        { "*", "" },
        { "(", "(" },
        { "%22", "" },
        { "+++", "" },
        { "-", "" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *got = ids(joinf("q=%s", t[i].q));
        if (strcmp(got, t[i].want)) fprintf(stderr, "    q=%s\n", t[i].q);
        CHECK_STR(got, t[i].want);
    }
    /* Search text follows changes of the session and deletes of events. */
    exec_sql("UPDATE sessions SET name = 'platypus' WHERE id = 't2'");
    CHECK_STR(ids("q=platypus"), "t2");
    exec_sql("DELETE FROM events WHERE session_id = 't8'");
    CHECK_STR(ids("q=quokka"), "");
}

TEST(test_search_syntax_never_fails)
{
    load_search();
    static const char *const qs[] = {
        "%22", "%22%22", "%22foo", "foo%22bar", "%22foo%22+%22", "*", "**", "foo*", "*foo", "foo**bar",
        "AND", "OR", "NOT", "AND+OR+NOT", "a+AND", "OR+b", "(", ")", "()", "(a", "a)", "((a+OR+b))",
        "NEAR", "NEAR(a+b)", "NEAR(a+b,+2)", "NEAR/2", "a+NEAR+b", "^foo", "foo^", "-foo", "foo-bar",
        "%2Bfoo", "col:foo", "body:foo", "sid:t1", "sid", "{body}+:+foo", "{a+b}", ":", "body:",
        "%27", "%27%27", "foo%27s", "%5C", "a%5C%22b", "%E2%80%94", "foo+%E2%80%94", "%E2%80%94+foo",
        "%C3%A9", "%F0%9F%98%80", "%E4%B8%AD%E6%96%87", "%C2%A0", "%FF%FE", "%C3",
        "a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+r+s+t", "+", "++a++", ".", "...", "a.b", "1", "1.5",
        "x%3Ay", "%25", "%26", "%3D", "*+*", "%22*%22", "%22%22*", "NEAR(%22", "a+(b+OR+c)",
        NULL
    };
    for (int i = 0; qs[i]; i++) {
        const char *got = ids(joinf("q=%s", qs[i]));
        if (!strncmp(got, "ERR", 3) || !strncmp(got, "NULL", 4) || !strncmp(got, "PARSE", 5))
            fprintf(stderr, "    q=%s: %s\n", qs[i], got);
        CHECK(strncmp(got, "ERR", 3) && strncmp(got, "NULL", 4) && strncmp(got, "PARSE", 5));
    }
    /* The longest search, in many words. */
    buf b;
    buf_init(&b);
    for (int i = 0; b.len < 490; i++) buf_printf(&b, "w%d\"*( ", i);
    const char *got = ids(joinf("q=%s", buf_str(&b)));
    CHECK(strncmp(got, "ERR", 3) && strncmp(got, "PARSE", 5));
    buf_fini(&b);
    /* And in the summary too. */
    sessq q;
    CHECK_INT(parse(&q, "q=NEAR(%22a+b%22)+AND+*"), 0);
    sqlite3_stmt *st = sessq_prepare_summary(D, &q, 0, 100, 10);
    CHECK(st != NULL);
    if (st) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
        CHECK_INT(rc, SQLITE_DONE);
        sqlite3_reset(st);
    }
}

/* -------------------------------------------------------------- summary */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Summary rows as "bucket|status|agent|sessions|cost|tokens", sorted, ';'-joined. */
/* The summary's rows summed per (bucket, status, agent), sorted, as
 * "bucket|status|agent|sessions|cost|tokens;..." (sessq may return one row
 * per session or pre-grouped rows: the caller sums either way). */
static const char *summary_of(const sessq *q, int64_t from, int64_t to, int64_t bucket)
{
    sqlite3_stmt *st = sessq_prepare_summary(D, q, from, to, bucket);
    if (!st) return "NULL";
    struct { const char *key; long long n, cost, tok; } g[64];
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = joinf("%lld|%s|%s", (long long)sqlite3_column_int64(st, 0),
                                (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2));
        int i;
        for (i = 0; i < n && strcmp(g[i].key, key); i++) {}
        if (i == n) {
            if (n == 64) break;
            g[n].key = key;
            g[n].n = g[n].cost = g[n].tok = 0;
            n++;
        }
        g[i].n += sqlite3_column_int64(st, 3);
        g[i].cost += sqlite3_column_int64(st, 4);
        g[i].tok += sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return "ERR";
    const char *rows[64];
    for (int i = 0; i < n; i++) rows[i] = joinf("%s|%lld|%lld|%lld", g[i].key, g[i].n, g[i].cost, g[i].tok);
    qsort(rows, (size_t)n, sizeof rows[0], cmp_str);
    buf b;
    buf_init(&b);
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(&b, ';');
        buf_puts(&b, rows[i]);
    }
    char *out = arena_strdup(A, buf_str(&b));
    buf_fini(&b);
    return out;
}

static const char *summary(const char *qs, int64_t from, int64_t to, int64_t bucket)
{
    sessq q;
    if (parse(&q, qs)) return "PARSE-ERROR";
    return summary_of(&q, from, to, bucket);
}

static void load_summary(void)
{
    clear_sessions();
    exec_sql("INSERT INTO sessions (id, kind, agent, status, project, name, created_at, updated_at, "
             "started_at, total_cost_micros, prompt_tokens, completion_tokens) VALUES "
             "('m1', 'agent', 'alpha', 'completed', 'p1', '', 9000, 9000, 10000, 100, 1, 2),"
             "('m2', 'agent', 'alpha', 'failed', 'p2', 'needle', 12000, 12000, 12000, 200, 3, 4),"
             "('m3', 'agent', 'beta', 'completed', 'p1', '', 14999, 14999, 14999, 300, 5, 6),"
             "('m4', 'agent', 'alpha', 'completed', 'p1', '', 15000, 15000, 15000, 400, 7, 8),"
             "('m5', 'workflow', 'beta', 'running', 'p2', '', 19999, 19999, 19999, 500, 9, 10),"
             "('m6', 'agent', 'alpha', 'completed', 'p1', '', 9999, 9999, 9999, 600, 1, 1),"
             "('m7', 'agent', 'alpha', 'completed', 'p1', '', 20000, 20000, 20000, 700, 1, 1),"
             "('m8', 'agent', 'alpha', 'completed', 'p1', '', 16000, 16000, 16000, 800, 1, 1),"
             "('m9', 'agent', 'gamma', 'pending', 'p1', '', 17000, 17000, NULL, 0, 0, 0)");
}

TEST(test_summary)
{
    load_summary();
    const char *all = "0|completed|alpha|1|100|3;0|completed|beta|1|300|11;0|failed|alpha|1|200|7;"
                      "1|completed|alpha|2|1200|17;1|pending|gamma|1|0|0;1|running|beta|1|500|19";
    CHECK_STR(summary("", 10000, 20000, 5000), all);
    /* Status and agent filters are ignored (each gives facet counts for the other). */
    CHECK_STR(summary("status=failed", 10000, 20000, 5000), all);
    CHECK_STR(summary("status=failed,running&agent=beta", 10000, 20000, 5000), all);
    CHECK_STR(summary("agent=nosuch", 10000, 20000, 5000), all);
    /* The other filters apply. */
    CHECK_STR(summary("kind=workflow", 10000, 20000, 5000), "1|running|beta|1|500|19");
    CHECK_STR(summary("kind=workflow&agent=alpha&status=completed", 10000, 20000, 5000),
              "1|running|beta|1|500|19");
    CHECK_STR(summary("success=true", 10000, 20000, 5000),
              "0|completed|alpha|1|100|3;0|completed|beta|1|300|11;1|completed|alpha|2|1200|17");
    CHECK_STR(summary("success=false", 10000, 20000, 5000), "0|failed|alpha|1|200|7");
    CHECK_STR(summary("has_error=1", 10000, 20000, 5000), "0|failed|alpha|1|200|7");
    CHECK_STR(summary("q=needle", 10000, 20000, 5000), "0|failed|alpha|1|200|7");
    CHECK_STR(summary("project=p2", 10000, 20000, 5000), "0|failed|alpha|1|200|7;1|running|beta|1|500|19");
    CHECK_STR(summary("meta=x=1", 10000, 20000, 5000), "");
    /* The window [from, to) and the time filters intersect. */
    CHECK_STR(summary("start_after=15000", 10000, 20000, 5000),
              "1|completed|alpha|2|1200|17;1|pending|gamma|1|0|0;1|running|beta|1|500|19");
    CHECK_STR(summary("start_before=12000", 10000, 20000, 5000), "0|completed|alpha|1|100|3");
    CHECK_STR(summary("start_after=1000&start_before=99999", 10000, 20000, 5000), all);
    CHECK_STR(summary("", 9999, 20001, 10000),
              "0|completed|alpha|4|1900|22;0|completed|beta|1|300|11;0|failed|alpha|1|200|7;"
              "0|pending|gamma|1|0|0;1|completed|alpha|1|700|2;1|running|beta|1|500|19");
    CHECK_STR(summary("", 10000, 10001, 1), "0|completed|alpha|1|100|3");
    CHECK_STR(summary("", 30000, 40000, 1000), "");
    /* Readable projects apply. */
    sessq q;
    CHECK_INT(parse(&q, "status=running"), 0);
    q.projects = "[\"p2\"]";
    CHECK_STR(summary_of(&q, 10000, 20000, 5000), "0|failed|alpha|1|200|7;1|running|beta|1|500|19");
    /* No bucket width, no statement. */
    CHECK(sessq_prepare_summary(D, &q, 10000, 20000, 0) == NULL);
    CHECK(sessq_prepare_summary(D, &q, 10000, 20000, -5) == NULL);
}

/* ---------------------------------------------------------- query string */

static const char *qstring(const sessq *q, int default_limit)
{
    buf b;
    buf_init(&b);
    sessq_query_string(&b, q, default_limit);
    char *out = arena_strdup(A, b.err ? "BUF-ERROR" : buf_str(&b));
    buf_fini(&b);
    return out;
}

static const char *canon(const char *qs)
{
    sessq q;
    if (parse(&q, qs)) return joinf("PARSE-ERROR %s", E.message);
    return qstring(&q, 50);
}

TEST(test_query_string)
{
    sessq q;
    sessq_init(&q, 50);
    CHECK_STR(qstring(&q, 50), "");
    CHECK_STR(canon(""), "");
    CHECK_STR(canon("limit=50&sort=start_time&direction=desc&has_error=0&offset=5&foo=bar"), "");
    CHECK_STR(canon("sort=started"), "");
    CHECK_STR(canon("limit=25"), "limit=25");
    /* Every parameter, given out of order: canonical order out. */
    CHECK_STR(canon("limit=25&direction=asc&sort=cost&meta=team=billing&start_before=2026-11-22"
                    "&start_after=2026-11-21&range=7d&has_error=yes&success=no&parent=p&thread_id=t"
                    "&deployment=d&cluster=c&environment=e&project=pr&source=s&trigger=api&agent=a+b"
                    "&kind=agent&status=failed&status=running&q=hello+world&meta=n=1"),
              "q=hello%20world&status=failed&status=running&kind=agent&agent=a%20b&trigger=api&source=s"
              "&project=pr&environment=e&cluster=c&deployment=d&thread_id=t&parent=p&success=false"
              "&has_error=1&range=7d&start_after=2026-11-21&start_before=2026-11-22&meta=team%3Dbilling"
              "&meta=n%3D1&sort=cost&direction=asc&limit=25");
    CHECK_STR(canon("success=1"), "success=true");
    CHECK_STR(canon("status=running,failed,running"), "status=running&status=failed");
    /* Percent-encoding: only unreserved characters stay. */
    CHECK_STR(canon("q=a%26b%3Dc%2Fd%3Fe%23f%2Bg%25h+%C3%A9~._-%22'<>"),
              "q=a%26b%3Dc%2Fd%3Fe%23f%2Bg%25h%20%C3%A9~._-%22%27%3C%3E");
    CHECK_STR(canon("meta=a+b%3Dc=d%26e"), "meta=a%20b%3Dc%3Dd%26e");
    CHECK_STR(canon("metadata={\"a\":1}"), "meta=a%3D1"); /* metadata filters are written as meta= pairs */
    CHECK_STR(canon("start_after=2026-11-21T15:30:00%2B02:00"), "start_after=2026-11-21T15%3A30%3A00%2B02%3A00");
    /* No cursor, ever. */
    sessq c;
    CHECK_INT(parse(&c, joinf("sort=cost&cursor=%s", b64("[\"cost\",0,5,6,\"x\"]"))), 0);
    CHECK_INT(c.has_cursor, 1);
    CHECK_STR(qstring(&c, 50), "sort=cost");
    /* Appends to what the buffer holds. */
    buf b;
    buf_init(&b);
    buf_puts(&b, "/sessions?");
    CHECK_INT(parse(&q, "agent=x&limit=10"), 0);
    sessq_query_string(&b, &q, 50);
    CHECK_STR(buf_str(&b), "/sessions?agent=x&limit=10");
    buf_fini(&b);
    /* The default limit is the caller's. */
    CHECK_INT(parse_full(&q, "limit=50", 25, NOW), 0);
    CHECK_STR(qstring(&q, 25), "limit=50");
    CHECK_STR(qstring(&q, 50), "");
}

TEST(test_query_string_round_trip)
{
    static const char *const inputs[] = {
        "",
        "q=hello+world&status=running,failed&agent=a%26b&sort=agent&direction=asc&limit=7",
        "kind=workflow&trigger=schedule&source=cron+job&project=p%2F1&environment=prod&cluster=%C3%A9"
        "&deployment=d&thread_id=t&parent=ses_x",
        "success=yes&has_error=true&range=24h",
        "start_after=2026-11-21&start_before=2026-11-22T08:00",
        "start_after=1700000000000&start_before=2026-11-21T15:30:00.5%2B01:00",
        "meta=team=billing&meta=a+b=c%3Dd&meta=e=&meta=%C3%A9=%E2%80%94",
        "metadata={\"team\":\"billing\",\"n\":42,\"ok\":true,\"z\":null}",
        "q=%22quoted%22+*+AND+(x)&sort=duration",
        "q=***&limit=200&sort=tokens&direction=desc",
        "status=pending&status=running&status=retrying&status=pausing&status=paused&status=canceling"
        "&status=canceled&status=completed&status=failed",
        "sort=status&direction=asc&limit=1",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        sessq a, b;
        CHECK_INT(parse(&a, inputs[i]), 0);
        const char *s1 = qstring(&a, 50);
        CHECK_INT(parse(&b, s1), 0);
        const char *s2 = qstring(&b, 50);
        if (strcmp(s1, s2)) fprintf(stderr, "    round trip of %s\n", inputs[i]);
        CHECK_STR(s2, s1);
        /* The same query: the same filters and order. */
        CHECK_INT(b.nstatus, a.nstatus);
        CHECK_INT(b.nmeta, a.nmeta);
        for (int m = 0; m < a.nmeta && m < b.nmeta; m++) {
            CHECK_STR(b.meta[m].key, a.meta[m].key);
            CHECK_STR(b.meta[m].value, a.meta[m].value);
        }
        CHECK_INT(b.sort, a.sort);
        CHECK_INT(b.asc, a.asc);
        CHECK_INT(b.limit, a.limit);
        CHECK_INT(b.success, a.success);
        CHECK_INT(b.has_error, a.has_error);
        CHECK_INT(b.start_after, a.start_after);
        CHECK_INT(b.start_before, a.start_before);
        CHECK((a.q == NULL) == (b.q == NULL));
        if (a.q && b.q) CHECK_STR(b.q, a.q);
        CHECK((a.agent == NULL) == (b.agent == NULL));
        if (a.agent && b.agent) CHECK_STR(b.agent, a.agent);
    }
}

/* --------------------------------------------------------------- shapes */

TEST(test_shape_cache_same_statement)
{
    /* On a connection of its own, so that its cache starts empty and no
     * flush (test_shape_cache_flush) happens between the prepares below. */
    load_walk();
    char err[256];
    db *main_db = D;
    D = db_open(db_path, err, sizeof err);
    CHECK(D != NULL);
    if (!D) { D = main_db; return; }

    sessq q1, q2;
    CHECK_INT(parse(&q1, "agent=alpha&sort=cost"), 0);
    CHECK_INT(parse(&q2, "agent=beta&sort=cost"), 0);
    sqlite3_stmt *a = sessq_prepare(D, &q1, SQ_COLS_KEY, 0);
    CHECK_STR(ids_st(a), "a15,a04,a14,a10,a01,a07");
    sqlite3_stmt *b = sessq_prepare(D, &q2, SQ_COLS_KEY, 0);
    /* Same shape, same statement, with the new values bound. */
    CHECK(a != NULL && a == b);
    CHECK_STR(ids_st(b), "a13,a09,a06,a02,a16");
    /* A statement left mid-step is reset when handed out again. */
    sqlite3_stmt *c = sessq_prepare(D, &q1, SQ_COLS_KEY, 0);
    CHECK(c == a);
    if (c) CHECK_INT(sqlite3_step(c), SQLITE_ROW);
    CHECK(sessq_prepare(D, &q1, SQ_COLS_KEY, 0) == a);
    CHECK_STR(ids_q(&q1, SQ_COLS_KEY, 0), "a15,a04,a14,a10,a01,a07");
    /* Different shapes: different statements. */
    sessq q3;
    CHECK_INT(parse(&q3, "agent=alpha&sort=tokens"), 0);
    sqlite3_stmt *d = sessq_prepare(D, &q3, SQ_COLS_KEY, 0);
    CHECK(d != NULL && d != a);
    sqlite3_stmt *back = sessq_prepare(D, &q1, SQ_COLS_KEY, 1);
    sqlite3_stmt *row = sessq_prepare(D, &q1, SQ_COLS_ROW, 0);
    sqlite3_stmt *sum = sessq_prepare_summary(D, &q1, 0, 10000, 1000);
    CHECK(back && row && sum && back != a && row != a && sum != a && back != row && sum != row);
    CHECK(sessq_prepare_summary(D, &q2, 0, 99, 7) == sum);
    if (sum) sqlite3_reset(sum);
    /* Fewer filters: no stale binding of the others. */
    sessq q4;
    CHECK_INT(parse(&q4, "sort=cost&limit=3"), 0);
    CHECK_STR(ids_q(&q4, SQ_COLS_KEY, 0), "a08,a05,a15,a13");

    /* db_stmt_shape itself: a miss without SQL is NULL; a hit needs none. */
    const uint64_t k = 1ULL << 63 | 0x5e55;
    CHECK(db_stmt_shape(D, k, NULL) == NULL);
    sqlite3_stmt *s1 = db_stmt_shape(D, k, "SELECT ?1 + 1");
    CHECK(s1 != NULL);
    if (s1) {
        sqlite3_bind_int(s1, 1, 41);
        CHECK_INT(sqlite3_step(s1), SQLITE_ROW);
        CHECK_INT(sqlite3_column_int(s1, 0), 42);
    }
    sqlite3_stmt *s2 = db_stmt_shape(D, k, NULL);
    CHECK(s2 == s1);
    /* Reset, with bindings cleared: ?1 is NULL now. */
    if (s2) {
        CHECK_INT(sqlite3_step(s2), SQLITE_ROW);
        CHECK_INT(sqlite3_column_type(s2, 0), SQLITE_NULL);
        sqlite3_reset(s2);
    }
    CHECK(db_stmt_shape(D, k, "SELECT 'ignored: the key is cached'") == s1);
    /* SQL that does not prepare: NULL, and nothing cached. */
    fprintf(stderr, "    (an error about shape 8000000000005e56 is expected next)\n");
    CHECK(db_stmt_shape(D, k + 1, "SELEC nonsense") == NULL);
    CHECK(db_stmt_shape(D, k + 1, NULL) == NULL);

    db_free(D);

    /* On a fresh connection: 64 shapes fill the cache; the 65th empties it
     * and is kept. */
    D = db_open(db_path, err, sizeof err);
    CHECK(D != NULL);
    if (!D) { D = main_db; return; }
    sqlite3_stmt *first = NULL;
    for (int i = 0; i < 64; i++) {
        char sql[32];
        snprintf(sql, sizeof sql, "SELECT %d", i);
        sqlite3_stmt *st = db_stmt_shape(D, k + 100 + (uint64_t)i, sql);
        CHECK(st != NULL);
        if (i == 0) first = st;
    }
    CHECK(first != NULL && db_stmt_shape(D, k + 100, NULL) == first);
    CHECK(db_stmt_shape(D, k + 163, NULL) != NULL);
    sqlite3_stmt *s65 = db_stmt_shape(D, k + 1000, "SELECT 65");
    CHECK(s65 != NULL);
    CHECK(db_stmt_shape(D, k + 100, NULL) == NULL); /* flushed */
    CHECK(db_stmt_shape(D, k + 163, NULL) == NULL);
    CHECK(db_stmt_shape(D, k + 1000, NULL) == s65);
    if (s65) {
        CHECK_INT(sqlite3_step(s65), SQLITE_ROW);
        CHECK_INT(sqlite3_column_int(s65, 0), 65);
        sqlite3_reset(s65);
    }
    /* sessq prepares again after the flush. */
    CHECK_STR(ids_q(&q2, SQ_COLS_KEY, 0), "a13,a09,a06,a02,a16");

    db_free(D);
    D = main_db;
}

TEST(test_shape_cache_flush)
{
    load_walk();
    /* More than 64 shapes straight through db_stmt_shape: each works. */
    for (int i = 0; i < 150; i++) {
        uint64_t key = 1ULL << 63 | 0x10000 | (uint64_t)i;
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT %d", i);
        sqlite3_stmt *st = db_stmt_shape(D, key, sql);
        CHECK(st != NULL);
        if (!st) continue;
        CHECK(db_stmt_shape(D, key, NULL) == st);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        CHECK_INT(sqlite3_column_int(st, 0), i);
        sqlite3_reset(st);
    }
    /* And through sessq: every sort x direction x walk x projection (96
     * shapes), twice, each giving the right rows. */
    char ref[64][16];
    for (int round = 0; round < 2; round++) {
        for (int s = 0; s < SQ_SORT__COUNT; s++) {
            for (int asc = 0; asc <= 1; asc++) {
                int n = ref_order((sq_sort)s, asc, ref);
                for (int back = 0; back <= 1; back++) {
                    for (int c = SQ_COLS_ROW; c <= SQ_COLS_KEY; c++) {
                        sessq q;
                        CHECK_INT(parse(&q, sort_qs((sq_sort)s, asc, 200)), 0);
                        const char *want = back ? join_ids(ref, n - 1, -1, -1) : join_ids(ref, 0, n, 1);
                        const char *got = ids_q(&q, (sq_cols)c, back);
                        if (strcmp(got, want))
                            fprintf(stderr, "    sort %d asc %d back %d cols %d\n", s, asc, back, c);
                        CHECK_STR(got, want);
                    }
                }
            }
        }
    }
    /* Filter shapes: each combination of a few filters. */
    static const char *const f[] = { "agent=alpha", "status=completed", "status=running,paused",
                                     "has_error=1", "q=alpha", "meta=k=v", "start_after=1500" };
    int nf = (int)(sizeof f / sizeof f[0]);
    for (int mask = 0; mask < 1 << nf; mask++) {
        buf b;
        buf_init(&b);
        buf_puts(&b, "sort=created&direction=asc");
        for (int i = 0; i < nf; i++)
            if (mask & 1 << i) buf_printf(&b, "&%s", f[i]);
        sessq q;
        CHECK_INT(parse(&q, buf_str(&b)), 0);
        const char *got = ids_q(&q, SQ_COLS_KEY, 0);
        CHECK(strncmp(got, "ERR", 3) && strcmp(got, "NULL"));
        /* Against the same filters one at a time. */
        if (mask == (1 << 0 | 1 << 1)) CHECK_STR(got, "a01,a10,a14");
        if (mask == (1 << 0 | 1 << 6)) CHECK_STR(got, "a07,a15");
        if (mask & 1 << 5) CHECK_STR(got, "");
        buf_fini(&b);
    }
}

/* ---------------------------------------------------- regressions */

/* metadata={"x":0.1} was formatted with %.17g ("0.10000000000000001") and
 * compared with SQLite's text of the stored real ("0.1"): no match. */
TEST(test_metadata_fraction)
{
    clear_sessions();
    exec_sql("INSERT INTO sessions (id, created_at, updated_at, metadata) VALUES "
             "('x1', 1, 1, '{\"score\":0.1}'), ('x2', 2, 2, '{\"score\":2.3}')");
    CHECK_STR(ids("meta=score=0.1"), "x1");
    CHECK_STR(ids("metadata={\"score\":0.1}"), "x1");
    CHECK_STR(ids("metadata={\"score\":2.3}"), "x2");
}

/* meta= filters were left out of the query string when metadata= was
 * given too, and of two metadata= parameters only the last was kept. */
TEST(test_query_string_keeps_every_meta)
{
    CHECK_STR(canon("meta=a=1&metadata={\"b\":2}"), canon(canon("meta=a=1&metadata={\"b\":2}")));
    sessq a, b;
    CHECK_INT(parse(&a, "meta=a=1&metadata={\"b\":2}"), 0);
    CHECK_INT(parse(&b, qstring(&a, 50)), 0);
    CHECK_INT(b.nmeta, a.nmeta);
    CHECK_INT(parse(&a, "metadata={\"a\":1}&metadata={\"b\":2}"), 0);
    CHECK_INT(parse(&b, qstring(&a, 50)), 0);
    CHECK_INT(b.nmeta, a.nmeta);
}

/* A cursor whose numbers are out of int64 range is refused: (int64_t)1e300
 * would be undefined behaviour (-fsanitize=float-cast-overflow). */
TEST(test_cursor_huge_number_refused)
{
    sessq q;
    CHECK_ERR(joinf("sort=cost&cursor=%s", b64("[\"cost\",0,1e300,0,\"x\"]")), "cursor");
    CHECK_ERR(joinf("sort=cost&cursor=%s", b64("[\"cost\",0,0,-1e300,\"x\"]")), "cursor");
    (void)q;
}

int main(void)
{
    A = arena_new();
    if (!A || db_setup()) {
        fprintf(stderr, "cannot set up the test database\n");
        db_teardown();
        arena_free(A);
        h_failed++;
        return DONE();
    }
    RUN(test_init_and_sort_names);
    RUN(test_filtered);
    RUN(test_parse_empty_and_unknown);
    RUN(test_parse_status);
    RUN(test_parse_kind_trigger);
    RUN(test_parse_text_filters);
    RUN(test_parse_success_has_error);
    RUN(test_parse_range);
    RUN(test_parse_times);
    RUN(test_parse_q);
    RUN(test_parse_meta);
    RUN(test_parse_metadata);
    RUN(test_parse_sort_direction);
    RUN(test_parse_limit_offset);
    RUN(test_key_columns);
    RUN(test_cursor_format);
    RUN(test_cursor_walk_every_sort);
    RUN(test_cursor_from_every_row);
    RUN(test_cursor_page_limit);
    RUN(test_cursor_with_filters);
    RUN(test_cursor_refused);
    RUN(test_filter_each);
    RUN(test_filter_range);
    RUN(test_filter_offset);
    RUN(test_filter_metadata);
    RUN(test_filter_projects);
    RUN(test_filter_all_at_once);
    RUN(test_search_finds);
    RUN(test_search_syntax_never_fails);
    RUN(test_summary);
    RUN(test_query_string);
    RUN(test_query_string_round_trip);
    RUN(test_shape_cache_same_statement);
    RUN(test_shape_cache_flush);
    RUN(test_metadata_fraction);
    RUN(test_query_string_keeps_every_meta);
    RUN(test_cursor_huge_number_refused);
    db_teardown();
    arena_free(A);
    return DONE();
}
