/* pcache.c: an entry comes back byte for byte only under its own key and
 * generation and within its time to live; memory stays under the limit;
 * threads hammering one key never see a torn answer. Also db.c's helpers for
 * it and for the benchmark: db_changed sees other connections' commits (not
 * its own), and bulk mode keeps steps atomic inside one transaction. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <stdio.h>
#include <zlib.h>

#include "arena.h"
#include "db.h"
#include "harness.h"
#include "pcache.h"
#include "testdb.h"

static pcache_key key_of(int n)
{
    pcache_key k;
    memset(&k, 0, sizeof k);
    for (size_t i = 0; i < sizeof k.b; i++) k.b[i] = (unsigned char)(n * 31 + (int)i);
    return k;
}

/* A response with headers "X-A: 1\r\n" (security headers before mark) + the
 * handler's own, and body text. */
static void resp_make(http_resp *r, const char *body, size_t *mark)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->headers);
    buf_init(&r->body);
    buf_puts(&r->headers, "X-Per-Request: 1\r\n");
    *mark = r->headers.len;
    buf_puts(&r->headers, "Cache-Control: no-store\r\n");
    buf_puts(&r->body, body);
    r->status = 200;
    r->content_type = "text/html; charset=utf-8";
}

static void resp_free(http_resp *r)
{
    buf_fini(&r->headers);
    buf_fini(&r->body);
}

TEST(test_hit_returns_the_same_bytes)
{
    pcache_configure(1 << 20, 60000);
    http_resp r, got;
    size_t mark;
    resp_make(&r, "<p>page one</p>", &mark);
    pcache_key k = key_of(1);
    pcache_put(&k, 7, &r, mark, "\"tag1\"", NULL, 0);
    arena *a = arena_new();
    memset(&got, 0, sizeof got);
    buf_init(&got.headers);
    buf_init(&got.body);
    const char *etag = NULL;
    CHECK_INT(pcache_get(&k, 7, 0, a, &got, &etag), 1);
    CHECK_INT(got.status, 200);
    CHECK_STR(got.content_type, "text/html; charset=utf-8");
    CHECK_STR(buf_str(&got.body), "<p>page one</p>");
    /* Only the handler's headers are kept; the per-request ones are not. */
    CHECK_STR(buf_str(&got.headers), "Cache-Control: no-store\r\n");
    CHECK_STR(etag, "\"tag1\"");
    /* Another key (another user, another URI) misses. */
    pcache_key k2 = key_of(2);
    buf_reset(&got.body);
    CHECK_INT(pcache_get(&k2, 7, 0, a, &got, &etag), 0);
    CHECK_INT(got.body.len, 0);
    resp_free(&r);
    resp_free(&got);
    arena_free(a);
}

/* Inflate a gzip member; NULL when it is not one. Caller frees. */
static char *gunzip(const char *in, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return NULL;
    size_t cap = 1 << 20;
    char *out = malloc(cap);
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    *out_len = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) { free(out); return NULL; }
    return out;
}

TEST(test_gzip_copy)
{
    pcache_configure(1 << 20, 60000);
    arena *a = arena_new();
    /* A page-like body: compresses well. */
    buf page;
    buf_init(&page);
    for (int i = 0; i < 200; i++) buf_printf(&page, "<tr data-id=\"ses_%04d\"><td class=\"col\">row %d</td></tr>\n", i, i);
    http_resp r, got;
    size_t mark;
    resp_make(&r, buf_str(&page), &mark);
    size_t gz_len = 0;
    const char *gz = pcache_gzip(a, r.body.p, r.body.len, &gz_len);
    CHECK(gz != NULL);
    CHECK(gz_len > 0 && gz_len < r.body.len / 4);
    size_t plain_len = 0;
    char *plain = gz ? gunzip(gz, gz_len, &plain_len) : NULL;
    CHECK(plain != NULL);
    CHECK_INT(plain_len, r.body.len);
    CHECK(plain && !memcmp(plain, r.body.p, r.body.len));
    free(plain);
    pcache_key k = key_of(40);
    pcache_put(&k, 3, &r, mark, "\"t9\"", gz, gz_len);
    /* A gzip client gets the compressed copy, marked; another the text. */
    const char *etag = NULL;
    memset(&got, 0, sizeof got);
    buf_init(&got.headers);
    buf_init(&got.body);
    CHECK_INT(pcache_get(&k, 3, 1, a, &got, &etag), 1);
    CHECK_INT(got.body.len, gz_len);
    CHECK(gz && !memcmp(got.body.p, gz, gz_len));
    CHECK_STR(buf_str(&got.headers), "Cache-Control: no-store\r\n" PCACHE_GZIP_HEADERS);
    CHECK_STR(etag, "\"t9-gzip\"");
    buf_reset(&got.headers);
    buf_reset(&got.body);
    CHECK_INT(pcache_get(&k, 3, 0, a, &got, &etag), 1);
    CHECK_STR(buf_str(&got.body), buf_str(&page));
    CHECK_STR(buf_str(&got.headers), "Cache-Control: no-store\r\n");
    CHECK_STR(etag, "\"t9\"");
    /* Small or incompressible bodies are not compressed. */
    CHECK(pcache_gzip(a, "<p>tiny</p>", 11, &gz_len) == NULL);
    char noise[4096];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof noise; i++) { x = x * 1103515245u + 12345u; noise[i] = (char)(x >> 24); }
    CHECK(pcache_gzip(a, noise, sizeof noise, &gz_len) == NULL);
    /* Accept-Encoding: gzip as a token, q=0 refuses it. */
    CHECK_INT(pcache_gzip_wanted("gzip, deflate, br, zstd"), 1);
    CHECK_INT(pcache_gzip_wanted("deflate, GZIP;q=0.5"), 1);
    CHECK_INT(pcache_gzip_wanted("x-gzip"), 1);
    CHECK_INT(pcache_gzip_wanted("gzip;q=0"), 0);
    CHECK_INT(pcache_gzip_wanted("gzip; q=0.000"), 0);
    CHECK_INT(pcache_gzip_wanted("br, deflate"), 0);
    CHECK_INT(pcache_gzip_wanted("gzipped, notgzip"), 0);
    CHECK_INT(pcache_gzip_wanted(""), 0);
    CHECK_INT(pcache_gzip_wanted(NULL), 0);
    buf_fini(&page);
    resp_free(&r);
    resp_free(&got);
    arena_free(a);
}

/* Single flight: a second request for the key being rendered waits for
 * that render instead of rendering too. */
typedef struct waiter {
    pcache_key key;
    uint64_t   gen;
    int        hit;
    char       body[64];
    int64_t    waited_ms;
} waiter;

static int64_t mono_ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *wait_for(void *arg)
{
    waiter *w = arg;
    arena *a = arena_new();
    http_resp got;
    memset(&got, 0, sizeof got);
    buf_init(&got.headers);
    buf_init(&got.body);
    const char *etag = NULL;
    int64_t t0 = mono_ms_now();
    w->hit = pcache_get(&w->key, w->gen, 0, a, &got, &etag);
    w->waited_ms = mono_ms_now() - t0;
    snprintf(w->body, sizeof w->body, "%s", got.body.len ? buf_str(&got.body) : "");
    if (!w->hit) pcache_abandon(&w->key);
    buf_fini(&got.headers);
    buf_fini(&got.body);
    arena_free(a);
    return NULL;
}

TEST(test_single_flight)
{
    pcache_configure(1 << 20, 60000);
    arena *a = arena_new();
    http_resp r, got;
    size_t mark;
    memset(&got, 0, sizeof got);
    buf_init(&got.headers);
    buf_init(&got.body);
    const char *etag = NULL;
    pcache_key k = key_of(50);
    /* This thread misses first: it renders. */
    CHECK_INT(pcache_get(&k, 9, 0, a, &got, &etag), 0);
    waiter w = { .key = k, .gen = 9 };
    pthread_t th;
    pthread_create(&th, NULL, wait_for, &w);
    usleep(200 * 1000); /* the other request arrives while we render */
    resp_make(&r, "<p>rendered once</p>", &mark);
    pcache_put(&k, 9, &r, mark, NULL, NULL, 0);
    pthread_join(th, NULL);
    CHECK_INT(w.hit, 1);
    CHECK_STR(w.body, "<p>rendered once</p>");
    CHECK(w.waited_ms >= 100);
    /* Another generation is another render: no waiting for this one. */
    waiter w2 = { .key = k, .gen = 10 };
    pthread_create(&th, NULL, wait_for, &w2);
    pthread_join(th, NULL);
    CHECK_INT(w2.hit, 0);
    CHECK(w2.waited_ms < 1000);
    /* A render that is not kept (an error answer) lets the waiter go at
     * once, to render for itself, not after the 60 s bound. */
    pcache_key k2 = key_of(51);
    CHECK_INT(pcache_get(&k2, 9, 0, a, &got, &etag), 0);
    waiter w3 = { .key = k2, .gen = 9 };
    pthread_create(&th, NULL, wait_for, &w3);
    usleep(200 * 1000);
    pcache_abandon(&k2);
    pthread_join(th, NULL);
    CHECK_INT(w3.hit, 0);
    CHECK(w3.waited_ms >= 100 && w3.waited_ms < 5000);
    resp_free(&r);
    resp_free(&got);
    arena_free(a);
}

TEST(test_a_new_generation_misses)
{
    pcache_configure(1 << 20, 60000);
    http_resp r, got;
    size_t mark;
    resp_make(&r, "before the change", &mark);
    pcache_key k = key_of(3);
    pcache_put(&k, 1, &r, mark, NULL, NULL, 0);
    arena *a = arena_new();
    memset(&got, 0, sizeof got);
    const char *etag = "x";
    CHECK_INT(pcache_get(&k, 2, 0, a, &got, &etag), 0);
    /* The stale entry is gone, not just skipped. */
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 0);
    pcache_stats st;
    pcache_stats_get(&st);
    CHECK_INT(st.entries, 0);
    resp_free(&r);
    resp_free(&got);
    arena_free(a);
}

TEST(test_time_to_live)
{
    pcache_configure(1 << 20, 50);
    http_resp r, got;
    size_t mark;
    resp_make(&r, "running for 3 s", &mark);
    pcache_key k = key_of(4);
    pcache_put(&k, 1, &r, mark, NULL, NULL, 0);
    arena *a = arena_new();
    memset(&got, 0, sizeof got);
    const char *etag;
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 1);
    usleep(80 * 1000);
    /* Expired: the first asker renders anew; the next still gets the old
     * copy meanwhile; the new copy replaces it. */
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 0);
    buf_reset(&got.body);
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 1);
    CHECK_STR(buf_str(&got.body), "running for 3 s");
    http_resp r2;
    resp_make(&r2, "running for 4 s", &mark);
    pcache_put(&k, 1, &r2, mark, NULL, NULL, 0);
    buf_reset(&got.body);
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 1);
    CHECK_STR(buf_str(&got.body), "running for 4 s");
    resp_free(&r2);
    /* A change of data is never served stale, refresh or not. */
    usleep(80 * 1000);
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 0);
    CHECK_INT(pcache_get(&k, 2, 0, a, &got, &etag), 0);
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 0);
    resp_free(&r);
    resp_free(&got);
    arena_free(a);
}

TEST(test_memory_stays_bounded)
{
    pcache_configure(64 * 1024, 60000);
    char *big = malloc(4000);
    memset(big, 'x', 3999);
    big[3999] = '\0';
    http_resp r;
    size_t mark;
    resp_make(&r, big, &mark);
    for (int i = 0; i < 200; i++) {
        pcache_key k = key_of(100 + i);
        pcache_put(&k, 1, &r, mark, NULL, NULL, 0);
    }
    pcache_stats st;
    pcache_stats_get(&st);
    CHECK(st.bytes <= 64 * 1024);
    CHECK(st.entries > 0 && st.entries < 200);
    /* The newest stay, the oldest went. */
    arena *a = arena_new();
    http_resp got;
    memset(&got, 0, sizeof got);
    const char *etag;
    pcache_key newest = key_of(299), oldest = key_of(100);
    CHECK_INT(pcache_get(&newest, 1, 0, a, &got, &etag), 1);
    CHECK_INT(pcache_get(&oldest, 1, 0, a, &got, &etag), 0);
    /* An answer larger than an eighth of the cache is not kept. */
    char *huge = malloc(20000);
    memset(huge, 'y', 19999);
    huge[19999] = '\0';
    http_resp h;
    resp_make(&h, huge, &mark);
    pcache_key hk = key_of(999);
    pcache_put(&hk, 1, &h, mark, NULL, NULL, 0);
    CHECK_INT(pcache_get(&hk, 1, 0, a, &got, &etag), 0);
    free(big);
    free(huge);
    resp_free(&r);
    resp_free(&h);
    resp_free(&got);
    arena_free(a);
}

TEST(test_off)
{
    pcache_configure(0, 1000);
    CHECK_INT(pcache_on(), 0);
    http_resp r, got;
    size_t mark;
    resp_make(&r, "x", &mark);
    pcache_key k = key_of(5);
    pcache_put(&k, 1, &r, mark, NULL, NULL, 0);
    arena *a = arena_new();
    memset(&got, 0, sizeof got);
    const char *etag;
    CHECK_INT(pcache_get(&k, 1, 0, a, &got, &etag), 0);
    pcache_configure(1 << 20, 0);
    CHECK_INT(pcache_on(), 0);
    pcache_configure(1 << 20, 1000);
    CHECK_INT(pcache_on(), 1);
    resp_free(&r);
    resp_free(&got);
    arena_free(a);
}

/* Writers replace the entry with bodies "AAAA…" or "BBBB…"; readers must
 * only ever see one of the two whole. */
static volatile int torn;
static void *hammer(void *arg)
{
    int id = (int)(long)arg;
    char body[2049];
    memset(body, id % 2 ? 'A' : 'B', 2048);
    body[2048] = '\0';
    arena *a = arena_new();
    pcache_key k = key_of(42);
    for (int i = 0; i < 2000; i++) {
        if (i % 3 == 0) {
            http_resp r;
            size_t mark;
            resp_make(&r, body, &mark);
            pcache_put(&k, 1, &r, mark, NULL, NULL, 0);
            resp_free(&r);
        } else {
            http_resp got;
            memset(&got, 0, sizeof got);
            const char *etag;
            if (pcache_get(&k, 1, 0, a, &got, &etag)) {
                if (got.body.len != 2048) torn = 1;
                for (size_t j = 1; j < got.body.len; j++)
                    if (got.body.p[j] != got.body.p[0]) { torn = 1; break; }
            }
            resp_free(&got);
            arena_free(a);
            a = arena_new();
        }
    }
    arena_free(a);
    return NULL;
}

TEST(test_threads_never_see_a_torn_answer)
{
    pcache_configure(1 << 20, 60000);
    pthread_t t[6];
    for (long i = 0; i < 6; i++) pthread_create(&t[i], NULL, hammer, (void *)i);
    for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
    CHECK_INT(torn, 0);
    pcache_clear();
}

TEST(test_db_changed_sees_other_connections)
{
    /* D (testdb.h) and a second connection to the same file. */
    char err[200];
    db *a = D, *b = db_open(db_path, err, sizeof err);
    CHECK(b != NULL);
    if (!b) return;
    db_changed(a);
    db_changed(b);
    CHECK_INT(db_changed(a), 0);
    /* b writes: a sees it once; b does not see its own commit. */
    sqlite3_exec(db_handle(b), "INSERT INTO sessions (id, created_at, updated_at) VALUES ('s1', 0, 0)",
                 NULL, NULL, NULL);
    CHECK_INT(db_changed(a), 1);
    CHECK_INT(db_changed(a), 0);
    CHECK_INT(db_changed(b), 0);
    db_free(b);
}

TEST(test_bulk_steps_stay_atomic)
{
    db *d = D;
    sqlite3_exec(db_handle(d), "DELETE FROM sessions", NULL, NULL, NULL);
    CHECK_INT(db_bulk_begin(d), 0);
    CHECK_INT(db_bulk_begin(d), -1); /* no nesting of bulks */
    /* Step 1 commits (into the bulk), step 2 rolls back alone. */
    CHECK_INT(db_begin(d), 0);
    sqlite3_exec(db_handle(d), "INSERT INTO sessions (id, created_at, updated_at) VALUES ('k1', 0, 0)", NULL, NULL, NULL);
    CHECK_INT(db_commit(d), 0);
    CHECK_INT(db_begin(d), 0);
    sqlite3_exec(db_handle(d), "INSERT INTO sessions (id, created_at, updated_at) VALUES ('k2', 0, 0)", NULL, NULL, NULL);
    db_rollback(d);
    CHECK_INT(db_bulk_end(d, 1), 0);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db_handle(d), "SELECT group_concat(id) FROM sessions", -1, &st, NULL);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "k1");
    sqlite3_finalize(st);
    /* A bulk rolled back leaves nothing of its steps. */
    CHECK_INT(db_bulk_begin(d), 0);
    CHECK_INT(db_begin(d), 0);
    sqlite3_exec(db_handle(d), "INSERT INTO sessions (id, created_at, updated_at) VALUES ('k3', 0, 0)", NULL, NULL, NULL);
    CHECK_INT(db_commit(d), 0);
    CHECK_INT(db_bulk_end(d, 0), 0);
    sqlite3_prepare_v2(db_handle(d), "SELECT count(*) FROM sessions", -1, &st, NULL);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
}

int main(void)
{
    if (db_setup()) return 1;
    RUN(test_hit_returns_the_same_bytes);
    RUN(test_gzip_copy);
    RUN(test_single_flight);
    RUN(test_a_new_generation_misses);
    RUN(test_time_to_live);
    RUN(test_memory_stays_bounded);
    RUN(test_off);
    RUN(test_threads_never_see_a_torn_answer);
    RUN(test_db_changed_sees_other_connections);
    RUN(test_bulk_steps_stay_atomic);
    pcache_configure(0, 0);
    db_teardown();
    return DONE();
}
