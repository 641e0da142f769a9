/* bg.c: the server's background thread. On attached connections a commit
 * leaves search text queued (and a search indexes it first), the thread
 * indexes the queue by itself within a few BG_SEARCH_MS, a failed batch
 * queues nothing, checkpoints run off the commit path, the WAL starts again
 * from its first frame while appends keep coming, and stays bounded even
 * when the thread does not run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bg.h"
#include "db.h"
#include "harness.h"
#include "ingest.h"
#include "sessq.h"
#include "testdb.h"

static db *server;                 /* an attached connection, as the app's */
static db *bgconn;                 /* the thread's own */
static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* A running session made through ingest on d; its id into id. */
static void new_session(db *d, char *id)
{
    cJSON *in = cJSON_Parse("{\"agent\":\"bg-test\",\"status\":\"running\"}");
    ingest_err err;
    int rc = ingest_session_create(d, in, "test", id, &err);
    cJSON_Delete(in);
    CHECK_INT(rc, 0);
}

static int send_on(db *d, const char *id, const char *json)
{
    cJSON *in = cJSON_Parse(json);
    ingest_result res;
    ingest_err err;
    int rc = ingest_events(d, id, in, "test", &res, NULL, &err);
    cJSON_Delete(in);
    return rc;
}

static long long matches(const char *word)
{
    return q_int("SELECT count(*) FROM search_events WHERE search_events MATCH ?1", word);
}

TEST(test_commit_leaves_queue_and_search_syncs)
{
    char id[INGEST_ID_MAX + 1];
    new_session(server, id);
    CHECK_INT(send_on(server, id, "{\"type\":\"thought\",\"content\":\"oblongata first\"}"), 0);
    /* Committed, queued, not yet indexed (the thread is not running). */
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND type = 'thought'", id), 1);
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 1);
    CHECK_INT(matches("oblongata"), 0);
    CHECK_INT(db_search_pending(server), 1);
    /* A search indexes what is queued before it reads. */
    sessq q;
    sessq_init(&q, 50);
    q.q = "oblongata";
    sqlite3_stmt *st = sessq_prepare(D, &q, SQ_COLS_KEY, 0);
    CHECK(st != NULL);
    int rows = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW) rows++;
    if (st) sqlite3_reset(st);
    CHECK_INT(rows, 1);
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 0);
    CHECK_INT(matches("oblongata"), 1);
    CHECK_INT(db_search_pending(server), 0);
    /* A refused batch queues nothing. */
    CHECK_INT(send_on(server, id, "{\"events\":[{\"type\":\"thought\",\"content\":\"quillwort\"},"
                                  "{\"type\":\"thought\"}]}"), -1);
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 0);
    /* An unattached connection (the CLI) still indexes at commit. */
    CHECK_INT(send_on(D, id, "{\"type\":\"thought\",\"content\":\"clementine\"}"), 0);
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 0);
    CHECK_INT(matches("clementine"), 1);
}

TEST(test_thread_indexes_and_checkpoints)
{
    bg_counts b0, b;
    bg_stats(&b0);
    CHECK_INT(bg_start(&bgconn, &gate), 0);
    char id[INGEST_ID_MAX + 1];
    new_session(server, id);
    CHECK_INT(send_on(server, id, "{\"type\":\"thought\",\"content\":\"pangolin\"}"), 0);
    /* Indexed by the thread, with no search asking: wait for it (bounded). */
    int waited = 0;
    while (matches("pangolin") == 0 && waited < 5000) { sleep_ms(20); waited += 20; }
    CHECK_INT(matches("pangolin"), 1);
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 0);
    /* Appends until the WAL starts again from its first frame: the thread's
     * checkpoints copy it up to a short tail, which a commit copies itself,
     * long before BG_CKPT_INLINE (where commits would force it). Paced once
     * past BG_CKPT_FRAMES, as appends that come over HTTP are. */
    char body[256];
    int most = 0, n = 0;
    for (; n < 20000; n++) {
        snprintf(body, sizeof body, "{\"type\":\"thought\",\"content\":\"filler %d %s\"}", n,
                 "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod");
        if (send_on(server, id, body)) { CHECK(0); break; }
        bg_stats(&b);
        if (b.wal_frames > most) most = b.wal_frames;
        if (b.restarts > b0.restarts) { n++; break; }
        if (b.wal_frames >= BG_CKPT_FRAMES) sleep_ms(1);
    }
    printf("    WAL restarted after %d commits, at most %d frames, %llu checkpoints\n", n, most,
           b.checkpoints - b0.checkpoints);
    CHECK(b.restarts > b0.restarts);
    CHECK(b.checkpoints > b0.checkpoints);
    CHECK(most >= BG_CKPT_FRAMES);
    CHECK(most < BG_CKPT_INLINE);
    /* The next commit wrote from the WAL's start. */
    CHECK_INT(send_on(server, id, "{\"type\":\"thought\",\"content\":\"after restart\"}"), 0);
    bg_stats(&b);
    CHECK(b.wal_frames < 100);
    waited = 0;
    do { bg_stats(&b); sleep_ms(20); waited += 20; } while (b.flushes == b0.flushes && waited < 5000);
    CHECK(b.flushes > b0.flushes);
    bg_finish();
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 0);
    CHECK_INT(matches("filler"), n);
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND type = 'thought'", id), n + 2);
}

static long long file_size(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 ? (long long)s.st_size : -1;
}

TEST(test_wal_bounded_without_thread)
{
    /* The thread has stopped (or never ran): commits on an attached
     * connection checkpoint themselves past BG_CKPT_INLINE frames, so the
     * WAL restarts instead of growing. */
    char id[INGEST_ID_MAX + 1];
    new_session(server, id);
    char body[2048], fill[1600];
    memset(fill, 'x', sizeof fill - 1);
    fill[sizeof fill - 1] = '\0';
    for (int i = 0; i < 3000; i++) {
        snprintf(body, sizeof body, "{\"type\":\"user_message\",\"content\":\"%d %s\"}", i, fill);
        if (send_on(server, id, body)) { CHECK(0); break; }
    }
    char wal[96];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    long long frames = file_size(wal) / (4096 + 24);
    printf("    WAL %lld frames after 3000 commits\n", frames);
    CHECK(frames > 0);
    CHECK(frames <= BG_CKPT_INLINE + 200);
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND type = 'user_message'", id), 3000);
}

int main(void)
{
    if (db_setup()) return 1;
    char err[256];
    server = db_open(db_path, err, sizeof err);
    bgconn = db_open(db_path, err, sizeof err);
    if (!server || !bgconn) return 1;
    bg_attach(server);
    bg_attach(bgconn);
    RUN(test_commit_leaves_queue_and_search_syncs);
    RUN(test_thread_indexes_and_checkpoints);
    RUN(test_wal_bounded_without_thread);
    db_free(server);
    db_free(bgconn);
    db_teardown();
    return DONE();
}
