/* fuzz_sessq: the input as a History / GET /api/v1/sessions query string
 * -> http_parse_query -> sessq_parse (filters, sort, limit, cursor
 * decoding). A query that parses is run: its canonical query string must
 * parse again, and one page (sessq_page_json) and the summary are read from
 * an in-memory database (real migrations) holding a few sessions; when the
 * page has a next_cursor, that cursor must be accepted with the same query
 * and its page read too. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "fuzz_db.h"
#include "http.h"
#include "sessq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1800000000000LL

#define FIXTURE \
    "INSERT INTO sessions (id, kind, agent, name, status, project, environment, metadata, " \
    "created_at, updated_at, started_at, ended_at) VALUES " \
    "('s1','agent','alpha','first run','completed','default','prod','{\"team\":\"x\",\"n\":1}'," \
    " 1799999000000,1799999000000,1799999000000,1799999100000)," \
    "('s2','workflow','beta','second','failed','web','dev','{\"team\":\"y\",\"ok\":true}'," \
    " 1799998000000,1799998500000,1799998000000,1799998600000)," \
    "('s3','agent','alpha','third ünï','running','default','prod','{}'," \
    " 1799997000000,1799997000000,1799997000000,NULL)," \
    "('s4','agent','gamma','','pending','default','','{\"team\":null}'," \
    " 1799996000000,1799996000000,NULL,NULL);"

static arena *A;

/* Parse query text s[0..n) into q (sessq_init with limit 2, so cursors
 * appear). 0, or -1 when http_parse_query or sessq_parse refuses it (then
 * err->field must be set). */
static int parse(const char *s, size_t n, sessq *q, http_kvs *kv)
{
    memset(kv, 0, sizeof *kv);
    if (http_parse_query(A, s, n, kv)) return -1;
    sessq_init(q, 2);
    sq_err err;
    memset(&err, 0, sizeof err);
    if (sessq_parse(q, kv, A, NOW_MS, &err)) {
        if (!err.field) abort();
        return -1;
    }
    return 0;
}

/* Read one page and the summary of q. The page's next_cursor, or NULL. */
static char *run(const sessq *q)
{
    char *next = NULL;
    cJSON *page = sessq_page_json(fuzz_db, q, A);
    if (page) {
        const cJSON *c = cJSON_GetObjectItem(page, "next_cursor");
        if (cJSON_IsString(c)) next = arena_strdup(A, c->valuestring);
        cJSON_Delete(page);
    }
    sqlite3_stmt *st = sessq_prepare_summary(fuzz_db, q, 0, NOW_MS, 3600000);
    if (st) {
        while (db_step(st) == SQLITE_ROW) {}
        sqlite3_reset(st);
    }
    return next;
}

/* One input. Always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_db_setup(FIXTURE);
    if (!A && !(A = arena_new())) abort();
    sessq q;
    http_kvs kv;
    if (parse((const char *)data, size, &q, &kv) == 0) {
        (void)sessq_filtered(&q);
        buf b;
        buf_init(&b);
        sessq_query_string(&b, &q, 2);
        if (b.err) abort();
        sessq q2;
        http_kvs kv2;
        if (parse(buf_str(&b), b.len, &q2, &kv2)) abort(); /* its own link refused */
        buf_fini(&b);
        char *next = run(&q);
        if (next && !q.offset) {
            /* The next page: the same parameters plus the cursor. */
            http_kvs kv3;
            kv3.n = 0;
            kv3.v = arena_alloc(A, (kv.n + 1) * sizeof *kv3.v);
            if (!kv3.v) abort();
            for (size_t i = 0; i < kv.n; i++)
                if (strcmp(kv.v[i].key, "cursor") != 0) kv3.v[kv3.n++] = kv.v[i];
            kv3.v[kv3.n].key = "cursor";
            kv3.v[kv3.n].val = next;
            kv3.v[kv3.n].val_len = strlen(next);
            kv3.n++;
            sessq q3;
            sessq_init(&q3, 2);
            sq_err err;
            memset(&err, 0, sizeof err);
            if (sessq_parse(&q3, &kv3, A, NOW_MS, &err)) abort(); /* its own cursor refused */
            (void)run(&q3);
        }
    }
    arena_clear(A);
    return 0;
}
