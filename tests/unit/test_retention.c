/* retention.c: the payload cut (every shape of value, UTF-8 boundaries,
 * the fallback), and the sweep's batches (bounded by sessions and by
 * events, only finished sessions past their project's rule or the
 * default, audited per project). */
#include "harness.h"
#include "testdb.h"

#include <string.h>

#include "retention.h"

static size_t plen(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    size_t n = s ? strlen(s) : 0;
    cJSON_free(s);
    return n;
}

TEST(test_cut_fits_unchanged)
{
    cJSON *v = cJSON_Parse("{\"type\":\"thought\",\"content\":\"short\"}");
    size_t before = 0;
    CHECK_INT(retention_cut(v, 1024, &before), 0);
    CHECK_INT(before, plen(v));
    CHECK_STR(cJSON_GetObjectItem(v, "content")->valuestring, "short");
    cJSON_Delete(v);
}

TEST(test_cut_strings_on_utf8_boundary)
{
    /* Two long strings of 2-byte characters and a short one. */
    char *a = malloc(6001), *b = malloc(3001);
    for (int i = 0; i < 3000; i++) memcpy(a + 2 * i, "\xC3\xA9", 2);
    a[6000] = '\0';
    memset(b, 'x', 3000);
    b[3000] = '\0';
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "type", "assistant_message");
    cJSON_AddStringToObject(v, "content", a);
    cJSON *args = cJSON_AddObjectToObject(v, "arguments");
    cJSON_AddStringToObject(args, "body", b);
    CHECK_INT(retention_cut(v, 2048, NULL), 1);
    CHECK(plen(v) <= 2048);
    const char *c = cJSON_GetObjectItem(v, "content")->valuestring;
    CHECK(strstr(c, " \xE2\x80\xA6 [cut by retention: ") != NULL);
    /* Every kept character is whole: the text before the note is é's. */
    size_t keep = (size_t)(strstr(c, " \xE2\x80\xA6") - c);
    CHECK_INT(keep % 2, 0);
    CHECK(keep > 0 && !memcmp(c, a, keep));
    CHECK(strstr(cJSON_GetObjectItem(args, "body")->valuestring, "[cut by retention: ") != NULL);
    CHECK_STR(cJSON_GetObjectItem(v, "type")->valuestring, "assistant_message");
    cJSON_Delete(v);
    free(a);
    free(b);
}

TEST(test_cut_root_string_and_fallback)
{
    char *s = malloc(5001);
    memset(s, 'y', 5000);
    s[5000] = '\0';
    cJSON *v = cJSON_CreateString(s);
    CHECK_INT(retention_cut(v, 1024, NULL), 1);
    CHECK(plen(v) <= 1024);
    cJSON_Delete(v);
    free(s);
    /* Numbers have nothing to shorten: the largest field becomes the note,
     * the small ones stay. */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tool_call_id", "t1");
    cJSON *items = cJSON_AddArrayToObject(o, "result");
    for (int i = 0; i < 2000; i++) cJSON_AddItemToArray(items, cJSON_CreateNumber(i));
    CHECK_INT(retention_cut(o, 1024, NULL), 1);
    CHECK(plen(o) <= 1024);
    CHECK_STR(cJSON_GetObjectItem(o, "tool_call_id")->valuestring, "t1");
    const cJSON *r = cJSON_GetObjectItem(o, "result");
    CHECK(cJSON_IsString(r) && !strncmp(r->valuestring, "[cut by retention: ", 19));
    cJSON_Delete(o);
}

static void exec(const char *sql)
{
    char *e = NULL;
    if (sqlite3_exec(db_handle(D), sql, NULL, NULL, &e) != SQLITE_OK) {
        printf("  sql: %s\n", e);
        sqlite3_free(e);
    }
}

static long long one(const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db_handle(D), sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

TEST(test_sweep_batches)
{
    int64_t now = 100LL * 86400000, old = now - 5LL * 86400000;
    char sql[512];
    /* p1: rule 3 days; p2: no rule (default); p3: rule forever. Ten old
     * finished sessions each, with 5 events; one old running in p1. */
    for (int p = 1; p <= 3; p++)
        for (int i = 0; i < 10; i++) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO sessions (id, project, status, created_at, updated_at, started_at, ended_at, "
                     "next_seq) VALUES ('s%d_%d', 'p%d', 'completed', %lld, %lld, %lld, %lld, 6)",
                     p, i, p, (long long)old, (long long)old, (long long)old, (long long)old);
            exec(sql);
            for (int e = 1; e <= 5; e++) {
                snprintf(sql, sizeof sql,
                         "INSERT INTO events (session_id, seq, type, time, body, created_at) "
                         "VALUES ('s%d_%d', %d, 'thought', 1, '{}', 1)", p, i, e);
                exec(sql);
            }
        }
    snprintf(sql, sizeof sql,
             "INSERT INTO sessions (id, project, status, created_at, updated_at, started_at) "
             "VALUES ('run', 'p1', 'running', %lld, %lld, %lld)", (long long)old, (long long)old, (long long)old);
    exec(sql);
    char err[128];
    CHECK_INT(retention_set(D, "p1", 3, 0, "test", err, sizeof err), 0);
    CHECK_INT(retention_set(D, "p3", 0, 0, "test", err, sizeof err), 0);
    CHECK_INT(retention_set(D, "p1", 0, 10, "test", err, sizeof err), 1); /* cap below 1,024 */

    /* Default forever: only p1 goes, 4 per batch. */
    retention_counts c = { 0, 0 };
    CHECK_INT(retention_sweep_batch(D, now, 0, 4, &c), 4);
    CHECK_INT(c.sessions, 4);
    CHECK_INT(c.events, 20);
    CHECK_INT(retention_sweep_batch(D, now, 0, 4, &c), 4);
    CHECK_INT(retention_sweep_batch(D, now, 0, 4, &c), 2);
    CHECK_INT(retention_sweep_batch(D, now, 0, 4, &c), 0);
    CHECK_INT(one("SELECT count(*) FROM sessions WHERE project = 'p1'"), 1); /* the running one */
    CHECK_INT(one("SELECT count(*) FROM sessions WHERE project IN ('p2','p3')"), 20);
    /* A default of 10 days keeps p2 (5 days old); 4 days takes it; p3 stays. */
    CHECK_INT(retention_sweep_batch(D, now, 10, 100, &c), 0);
    CHECK_INT(retention_sweep_batch(D, now, 4, 100, &c), 10);
    CHECK_INT(one("SELECT count(*) FROM sessions WHERE project = 'p3'"), 10);
    CHECK_INT(one("SELECT count(*) FROM events WHERE session_id LIKE 's1_%' OR session_id LIKE 's2_%'"), 0);
    CHECK_INT(c.sessions, 20);
    CHECK_INT(c.events, 100);
    CHECK_INT(one("SELECT count(*) FROM audit WHERE action = 'retention' AND actor = 'system:retention'"), 4);
    CHECK_INT(retention_clear(D, "p3", "test"), 1);
    CHECK_INT(retention_clear(D, "p3", "test"), 0);
    CHECK_INT(retention_sweep_batch(D, now, 4, 100, &c), 10);
}

int main(void)
{
    if (db_setup()) return 1;
    RUN(test_cut_fits_unchanged);
    RUN(test_cut_strings_on_utf8_boundary);
    RUN(test_cut_root_string_and_fallback);
    RUN(test_sweep_batches);
    db_teardown();
    return DONE();
}
