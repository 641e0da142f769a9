/* Unit tests for cgi/ingest.c: session creation and event batches against a
 * real (temporary) database. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "db.h"
#include "harness.h"
#include "testdb.h"
#include "ingest.h"
#include "lifecycle.h"

#define ACTOR "token:runtime-1"




/* ------------------------------------------------------------- helpers */



static const char *status_of(const char *id)
{
    return q_text("SELECT status FROM sessions WHERE id = ?1", id);
}
static long long n_events(const char *id)
{
    return q_int("SELECT count(*) FROM events WHERE session_id = ?1", id);
}
static long long n_events_type(const char *id, const char *type)
{
    return q_int2("SELECT count(*) FROM events WHERE session_id = ?1 AND type = ?2", id, type);
}
static long long n_audit(const char *id)
{
    return q_int("SELECT count(*) FROM audit WHERE session_id = ?1", id);
}
static long long n_sessions(void) { return q_int("SELECT count(*) FROM sessions", NULL); }
static const char *call_state(const char *sid, const char *tcid)
{
    return q_text2("SELECT state FROM tool_calls WHERE session_id = ?1 AND id = ?2", sid, tcid);
}
static long long executing(const char *sid)
{
    return q_int("SELECT executing_calls FROM sessions WHERE id = ?1", sid);
}

/* All rows of every table that ingest writes, as one number to compare
 * before and after a refused request. */
static long long total_rows(void)
{
    return q_int("SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM events) + "
                 "(SELECT count(*) FROM tool_calls) + (SELECT count(*) FROM audit) + "
                 "(SELECT count(*) FROM logs) + (SELECT count(*) FROM spans)", NULL);
}

/* Create a session from JSON text. */
static int create(const char *json, char *id, ingest_err *err)
{
    cJSON *in = cJSON_Parse(json);
    if (!in) { fprintf(stderr, "    bad test JSON: %s\n", json); return -2; }
    memset(err, 0, sizeof *err);
    int rc = ingest_session_create(D, in, ACTOR, id, err);
    cJSON_Delete(in);
    return rc;
}

/* Create a session that must succeed; own id or NULL. */
static void must_create(const char *own_id, char *id)
{
    char json[200];
    if (own_id) snprintf(json, sizeof json, "{\"id\":\"%s\",\"agent\":\"a1\"}", own_id);
    else snprintf(json, sizeof json, "{\"agent\":\"a1\"}");
    ingest_err err;
    int rc = create(json, id, &err);
    if (rc) fprintf(stderr, "    create failed: %d %s %s\n", err.status, err.code, err.message);
    CHECK_INT(rc, 0);
}

/* Send events (JSON text) to session id. */
static int send_ev(const char *id, const char *json, ingest_result *res, ingest_err *err)
{
    cJSON *in = cJSON_Parse(json);
    if (!in) { fprintf(stderr, "    bad test JSON: %s\n", json); return -2; }
    memset(err, 0, sizeof *err);
    int rc = ingest_events(D, id, in, ACTOR, res, NULL, err);
    cJSON_Delete(in);
    return rc;
}

/* Send events that must be accepted. */
static void must_send(const char *id, const char *json)
{
    ingest_result res;
    ingest_err err;
    int rc = send_ev(id, json, &res, &err);
    if (rc) fprintf(stderr, "    send failed: %d %s [%s] %s\n", err.status, err.code, err.field,
                    err.message);
    CHECK_INT(rc, 0);
}

/* A session that is already running. */
static void running_session(const char *own_id, char *id)
{
    must_create(own_id, id);
    must_send(id, "{\"type\":\"thought\",\"content\":\"starting\"}");
    CHECK_STR(status_of(id), "running");
}

static int id_charset_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* ---------------------------------------------------------- sessions */

TEST(test_create_defaults)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    long long n0 = n_sessions();
    CHECK_INT(create("{}", id, &err), 0);
    CHECK_INT(n_sessions(), n0 + 1);
    CHECK_INT(strlen(id), 24);
    CHECK(strncmp(id, "ses_", 4) == 0);
    CHECK(id_charset_ok(id + 4));
    CHECK(ingest_id_valid(id));
    CHECK_STR(status_of(id), "pending");
    CHECK_STR(q_text("SELECT kind FROM sessions WHERE id = ?1", id), "agent");
    CHECK_STR(q_text("SELECT trigger_type FROM sessions WHERE id = ?1", id), "api");
    CHECK_STR(q_text("SELECT trigger_source FROM sessions WHERE id = ?1", id), ACTOR);
    CHECK_STR(q_text("SELECT project FROM sessions WHERE id = ?1", id), "default");
    CHECK_STR(q_text("SELECT metadata FROM sessions WHERE id = ?1", id), "{}");
    CHECK_STR(q_text("SELECT inputs FROM sessions WHERE id = ?1", id), "{}");
    CHECK_INT(q_int("SELECT started_at IS NULL FROM sessions WHERE id = ?1", id), 1);
    CHECK_INT(q_int("SELECT executing_calls FROM sessions WHERE id = ?1", id), 0);
    CHECK_INT(n_events(id), 0);
    /* Creation is audited. */
    CHECK_INT(n_audit(id), 1);
    CHECK_STR(q_text("SELECT action FROM audit WHERE session_id = ?1", id), "create");
    CHECK_STR(q_text("SELECT actor FROM audit WHERE session_id = ?1", id), ACTOR);
    /* Two generated ids differ. */
    char id2[INGEST_ID_MAX + 1];
    CHECK_INT(create("{}", id2, &err), 0);
    CHECK(strcmp(id, id2) != 0);
}

TEST(test_create_fields)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    CHECK_INT(create("{\"id\":\"run-42_A\",\"kind\":\"workflow\",\"agent\":\"deployer\","
                     "\"name\":\"Deploy\",\"trigger\":\"schedule\",\"trigger_source\":\"cron\","
                     "\"project\":\"shop\",\"env\":\"prod\",\"metadata\":{\"team\":\"x\"},"
                     "\"inputs\":{\"n\":1},\"prompt\":\"do it\",\"user_data\":[1,2]}",
                     id, &err), 0);
    CHECK_STR(id, "run-42_A");
    CHECK_STR(q_text("SELECT kind FROM sessions WHERE id = ?1", id), "workflow");
    CHECK_STR(q_text("SELECT agent FROM sessions WHERE id = ?1", id), "deployer");
    CHECK_STR(q_text("SELECT name FROM sessions WHERE id = ?1", id), "Deploy");
    CHECK_STR(q_text("SELECT trigger_type FROM sessions WHERE id = ?1", id), "schedule");
    CHECK_STR(q_text("SELECT trigger_source FROM sessions WHERE id = ?1", id), "cron");
    CHECK_STR(q_text("SELECT project FROM sessions WHERE id = ?1", id), "shop");
    CHECK_STR(q_text("SELECT environment FROM sessions WHERE id = ?1", id), "prod");
    CHECK_STR(q_text("SELECT json_extract(metadata, '$.team') FROM sessions WHERE id = ?1", id), "x");
    CHECK_INT(q_int("SELECT json_extract(inputs, '$.n') FROM sessions WHERE id = ?1", id), 1);
    CHECK_STR(q_text("SELECT prompt FROM sessions WHERE id = ?1", id), "do it");
    CHECK_STR(q_text("SELECT user_data FROM sessions WHERE id = ?1", id), "[1,2]");
    /* name defaults to the agent */
    CHECK_INT(create("{\"agent\":\"summarizer\"}", id, &err), 0);
    CHECK_STR(q_text("SELECT name FROM sessions WHERE id = ?1", id), "summarizer");
}

TEST(test_create_running)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    CHECK_INT(create("{\"status\":\"running\"}", id, &err), 0);
    CHECK_STR(status_of(id), "running");
    CHECK_INT(n_events_type(id, "lifecycle"), 1);
    CHECK_INT(q_int("SELECT started_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
}

TEST(test_create_duplicate_id)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    CHECK_INT(create("{\"id\":\"dup-1\",\"name\":\"first\"}", id, &err), 0);
    long long rows = total_rows();
    CHECK_INT(create("{\"id\":\"dup-1\",\"name\":\"second\"}", id, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_STR(err.code, "session_exists");
    CHECK_STR(err.field, "id");
    CHECK_INT(total_rows(), rows);
    CHECK_STR(q_text("SELECT name FROM sessions WHERE id = 'dup-1'", NULL), "first");
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1); /* no transaction left open */
}

static void create_fails(const char *json, int status, const char *code, const char *field)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    long long rows = total_rows();
    int rc = create(json, id, &err);
    if (rc != -1 || err.status != status || strcmp(err.field, field) != 0)
        fprintf(stderr, "    %.80s: rc %d status %d code %s field \"%s\"\n", json, rc, err.status,
                err.code ? err.code : "-", err.field);
    CHECK_INT(rc, -1);
    CHECK_INT(err.status, status);
    if (code) CHECK_STR(err.code, code);
    CHECK_STR(err.field, field);
    CHECK(err.message[0] != '\0');
    CHECK_INT(total_rows(), rows);
}

TEST(test_create_invalid_id)
{
    create_fails("{\"id\":\"bad id\"}", 422, "invalid_field", "id");
    create_fails("{\"id\":\"a/b\"}", 422, "invalid_field", "id");
    create_fails("{\"id\":\"\"}", 422, "invalid_field", "id");
    create_fails("{\"id\":\"caf\\u00e9\"}", 422, "invalid_field", "id");
    create_fails("{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 422,
                 "invalid_field", "id"); /* 65 chars */
    create_fails("{\"id\":42}", 422, "invalid_field", "id");
    /* 64 chars is fine */
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    CHECK_INT(create("{\"id\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}", id,
                     &err), 0);
    CHECK_INT(strlen(id), 64);
    CHECK_INT(ingest_id_valid("ok_-AZ09"), 1);
    CHECK_INT(ingest_id_valid(""), 0);
    CHECK_INT(ingest_id_valid(NULL), 0);
    CHECK_INT(ingest_id_valid("a.b"), 0);
}

TEST(test_create_unknown_field)
{
    create_fails("{\"agent\":\"x\",\"bogus\":1}", 422, "unknown_field", "bogus");
    create_fails("{\"Name\":\"x\"}", 422, "unknown_field", "Name");
}

TEST(test_create_wrong_types)
{
    create_fails("{\"name\":5}", 422, "invalid_field", "name");
    create_fails("{\"agent\":true}", 422, "invalid_field", "agent");
    create_fails("{\"metadata\":\"x\"}", 422, "invalid_field", "metadata");
    create_fails("{\"metadata\":[1]}", 422, "invalid_field", "metadata");
    create_fails("{\"inputs\":3}", 422, "invalid_field", "inputs");
    create_fails("{\"kind\":\"robot\"}", 422, "invalid_field", "kind");
    create_fails("{\"trigger\":\"cosmic-ray\"}", 422, "invalid_field", "trigger");
    create_fails("{\"status\":\"completed\"}", 422, "invalid_field", "status");
    create_fails("{\"parent_session_id\":\"not valid!\"}", 422, "invalid_field",
                 "parent_session_id");
    create_fails("[1,2]", 422, "invalid_body", "");
}

TEST(test_create_invalid_utf8)
{
    static const char *const bad[] = {
        "a\xff" "b",          /* never valid */
        "\xc0\xaf",           /* overlong "/" */
        "\xed\xa0\x80",       /* UTF-16 surrogate */
        "\xe2\x82",           /* truncated sequence */
        "\xf4\x90\x80\x80",   /* past U+10FFFF */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *in = cJSON_CreateObject();
        cJSON_AddStringToObject(in, "name", bad[i]);
        char id[INGEST_ID_MAX + 1];
        ingest_err err;
        memset(&err, 0, sizeof err);
        long long rows = total_rows();
        CHECK_INT(ingest_session_create(D, in, ACTOR, id, &err), -1);
        CHECK_INT(err.status, 422);
        CHECK_STR(err.field, "name");
        CHECK_INT(total_rows(), rows);
        cJSON_Delete(in);
    }
    /* Valid multi-byte text is fine. */
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "name", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80");
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    CHECK_INT(ingest_session_create(D, in, ACTOR, id, &err), 0);
    cJSON_Delete(in);
}

TEST(test_invalid_utf8_nested)
{
    /* Strings inside JSON members (metadata, inputs, tool arguments and
     * results) end up in API responses too: invalid UTF-8 there must be
     * refused like in a top-level string, or every JSON reader of the
     * session chokes on it later. */
    cJSON *in = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(in, "metadata");
    cJSON_AddStringToObject(md, "team", "a\xff" "b");
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    memset(&err, 0, sizeof err);
    long long rows = total_rows();
    CHECK_INT(ingest_session_create(D, in, ACTOR, id, &err), -1);
    CHECK_INT(err.status, 422);
    CHECK(strncmp(err.field, "metadata", 8) == 0);
    CHECK_INT(total_rows(), rows);
    cJSON_Delete(in);

    char sid[INGEST_ID_MAX + 1];
    running_session(NULL, sid);
    in = cJSON_Parse("{\"type\":\"tool_call\",\"tool_call_id\":\"u1\",\"tool\":\"t\","
                     "\"arguments\":{\"q\":\"x\"}}");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(in, "arguments"), "q",
                              cJSON_CreateString("\xc0\xaf"));
    ingest_result res;
    memset(&err, 0, sizeof err);
    rows = total_rows();
    CHECK_INT(ingest_events(D, sid, in, ACTOR, &res, NULL, &err), -1);
    CHECK_INT(err.status, 422);
    CHECK(strncmp(err.field, "arguments", 9) == 0);
    CHECK_INT(total_rows(), rows);
    cJSON_Delete(in);
}

TEST(test_create_prompt_limit)
{
    size_t mb = 1024 * 1024;
    char *big = malloc(mb + 2);
    memset(big, 'p', mb + 1);
    big[mb + 1] = '\0';
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "prompt", big); /* 1 MB + 1 byte */
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    memset(&err, 0, sizeof err);
    long long rows = total_rows();
    CHECK_INT(ingest_session_create(D, in, ACTOR, id, &err), -1);
    CHECK_INT(err.status, 422);
    CHECK_STR(err.field, "prompt");
    CHECK_INT(total_rows(), rows);
    cJSON_Delete(in);
    /* Exactly 1 MB is allowed. */
    big[mb] = '\0';
    in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "prompt", big);
    CHECK_INT(ingest_session_create(D, in, ACTOR, id, &err), 0);
    CHECK_INT(q_int("SELECT length(prompt) FROM sessions WHERE id = ?1", id), (long long)mb);
    cJSON_Delete(in);
    free(big);
}

/* ------------------------------------------------------------ events */

TEST(test_event_single_starts_pending)
{
    char id[INGEST_ID_MAX + 1];
    must_create(NULL, id);
    CHECK_STR(status_of(id), "pending");
    ingest_result res;
    ingest_err err;
    cJSON *in = cJSON_Parse("{\"type\":\"user_message\",\"content\":\"hello\"}");
    cJSON *ids = NULL;
    memset(&err, 0, sizeof err);
    CHECK_INT(ingest_events(D, id, in, ACTOR, &res, &ids, &err), 0);
    cJSON_Delete(in);
    CHECK_INT(res.accepted, 1);
    CHECK_INT(res.duplicates, 0);
    CHECK_STR(res.status, "running");
    CHECK_STR(status_of(id), "running");
    CHECK_INT(q_int("SELECT started_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
    /* The start is in the feed, before the message. */
    CHECK_INT(n_events(id), 2);
    CHECK_STR(q_text("SELECT type FROM events WHERE session_id = ?1 AND seq = 1", id), "lifecycle");
    CHECK_STR(q_text("SELECT json_extract(body, '$.from') FROM events WHERE session_id = ?1 AND seq = 1", id), "pending");
    CHECK_STR(q_text("SELECT json_extract(body, '$.to') FROM events WHERE session_id = ?1 AND seq = 1", id), "running");
    CHECK_STR(q_text("SELECT type FROM events WHERE session_id = ?1 AND seq = 2", id), "user_message");
    CHECK_STR(q_text("SELECT json_extract(body, '$.content') FROM events WHERE session_id = ?1 AND seq = 2", id), "hello");
    CHECK_STR(q_text("SELECT actor FROM events WHERE session_id = ?1 AND seq = 2", id), ACTOR);
    /* The body does not repeat type/id/time. */
    CHECK_INT(q_int("SELECT json_extract(body, '$.type') IS NULL FROM events WHERE session_id = ?1 AND seq = 2", id), 1);
    /* ids: one entry with the event's seq, not a duplicate. */
    CHECK(cJSON_IsArray(ids));
    CHECK_INT(cJSON_GetArraySize(ids), 1);
    cJSON *o = cJSON_GetArrayItem(ids, 0);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "seq")), 2);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "duplicate")));
    cJSON_Delete(ids);
}

TEST(test_event_batch)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    long long ev0 = n_events(id);
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"events\":[{\"type\":\"user_message\",\"content\":\"q\"},"
                          "{\"type\":\"thought\",\"content\":\"hmm\"},"
                          "{\"type\":\"assistant_message\",\"content\":\"a\",\"time\":\"2026-11-21T15:30:48.123Z\"},"
                          "{\"type\":\"error\",\"message\":\"oops\",\"step\":\"fetch\"}]}",
                  &res, &err), 0);
    CHECK_INT(res.accepted, 4);
    CHECK_INT(res.duplicates, 0);
    CHECK_STR(res.status, "running");
    CHECK_INT(n_events(id), ev0 + 4);
    /* In order, consecutive sequence numbers. */
    CHECK_STR(q_text("SELECT group_concat(type, ',') FROM (SELECT type FROM events WHERE session_id = ?1 "
                     "ORDER BY seq DESC LIMIT 4)", id), "error,assistant_message,thought,user_message");
    CHECK_INT(q_int("SELECT max(seq) - min(seq) + 1 - count(*) FROM events WHERE session_id = ?1", id), 0);
    /* The runtime's time is kept. */
    CHECK_INT(q_int("SELECT time FROM events WHERE session_id = ?1 AND type = 'assistant_message'", id),
              1795275048123LL);
}

/* Migration 007: a batch's search text is indexed at its commit, in one
 * go (nothing left queued), and a refused batch leaves none behind. */
TEST(test_search_indexed_at_commit)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"zebracorn alpha\"},"
                          "{\"type\":\"assistant_message\",\"content\":\"zebracorn beta\"}]}",
                  &res, &err), 0);
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 0);
    CHECK_INT(q_int("SELECT count(*) FROM search_events WHERE search_events MATCH 'zebracorn' AND sid = ?1", id), 2);
    /* The second event is invalid: the whole batch is refused, nothing queued or indexed. */
    CHECK_INT(send_ev(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"quagganite\"},"
                          "{\"type\":\"thought\"}]}", &res, &err), -1);
    CHECK_INT(q_int("SELECT count(*) FROM search_pending", NULL), 0);
    CHECK_INT(q_int("SELECT count(*) FROM search_events WHERE search_events MATCH 'quagganite'", NULL), 0);
    /* Deleting an event takes it out of the index. */
    long long eid = q_int("SELECT id FROM events WHERE session_id = ?1 AND type = 'thought' "
                          "AND body LIKE '%zebracorn alpha%'", id);
    CHECK_INT(ingest_event_delete(D, id, eid, "test", &err), 0);
    CHECK_INT(q_int("SELECT count(*) FROM search_events WHERE search_events MATCH 'zebracorn' AND sid = ?1", id), 1);
}

TEST(test_tool_call_server_and_result)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"tc1\",\"tool\":\"search\","
                  "\"kind\":\"server\",\"arguments\":{\"q\":\"x\"}}");
    CHECK_STR(call_state(id, "tc1"), "running");
    CHECK_INT(executing(id), 1);
    CHECK_STR(q_text2("SELECT tool FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "tc1"), "search");
    CHECK_STR(q_text2("SELECT json_extract(arguments, '$.q') FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "tc1"), "x");
    CHECK_INT(n_events_type(id, "tool_call"), 1);
    /* kind defaults to server */
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"tc2\",\"tool\":\"fetch\"}");
    CHECK_STR(call_state(id, "tc2"), "running");
    CHECK_STR(q_text2("SELECT kind FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "tc2"), "server");
    CHECK_INT(executing(id), 2);

    must_send(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"tc1\",\"result\":{\"hits\":3}}");
    CHECK_STR(call_state(id, "tc1"), "succeeded");
    CHECK_INT(executing(id), 1);
    CHECK_INT(q_int2("SELECT json_extract(result, '$.hits') FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "tc1"), 3);
    CHECK_INT(q_int2("SELECT ended_at IS NOT NULL FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "tc1"), 1);
    CHECK_INT(q_int2("SELECT result_size FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "tc1"), 10);
    CHECK_INT(n_events_type(id, "tool_result"), 1);
    must_send(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"tc2\",\"result\":\"ok\"}");
    CHECK_INT(executing(id), 0);
    CHECK_STR(status_of(id), "running");

    /* A second result for an ended call is refused. */
    ingest_result res;
    ingest_err err;
    long long rows = total_rows();
    CHECK_INT(send_ev(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"tc1\",\"result\":1}", &res, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_INT(total_rows(), rows);
    /* Starting the same tool call id twice is refused. */
    CHECK_INT(send_ev(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"tc1\",\"tool\":\"x\"}", &res, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_INT(total_rows(), rows);
    CHECK_INT(executing(id), 0);
}

TEST(test_tool_result_failed)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"f1\",\"tool\":\"deploy\"}");
    must_send(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"f1\",\"retries\":2,"
                  "\"error\":{\"category\":\"timeout\",\"message\":\"no answer in 30 s\"}}");
    CHECK_STR(call_state(id, "f1"), "failed");
    CHECK_STR(q_text2("SELECT error_category FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "f1"), "timeout");
    CHECK_STR(q_text2("SELECT error_message FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "f1"), "no answer in 30 s");
    CHECK_INT(q_int2("SELECT retries FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "f1"), 2);
    CHECK_INT(q_int2("SELECT result IS NULL FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "f1"), 1);
    CHECK_INT(executing(id), 0);
    /* The session goes on: a failed tool call is not a failed session. */
    CHECK_STR(status_of(id), "running");
    /* An error without its message is refused, naming the field. */
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"f2\",\"tool\":\"deploy\"}");
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"f2\",\"error\":{\"category\":\"x\"}}",
                      &res, &err), -1);
    CHECK_INT(err.status, 422);
    CHECK_STR(err.field, "error.message");
    CHECK_STR(call_state(id, "f2"), "running");
}

TEST(test_tool_call_manual_and_client)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"events\":[{\"type\":\"tool_call\",\"tool_call_id\":\"m1\",\"tool\":\"approve\",\"kind\":\"manual\"},"
                  "{\"type\":\"tool_call\",\"tool_call_id\":\"c1\",\"tool\":\"pick_file\",\"kind\":\"client\"}]}");
    CHECK_STR(call_state(id, "m1"), "waiting_for_human");
    CHECK_STR(call_state(id, "c1"), "waiting_for_client");
    /* Waiting calls are not executing: pause/cancel do not wait for them. */
    CHECK_INT(executing(id), 0);
    must_send(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"c1\",\"result\":{\"path\":\"/a\"}}");
    CHECK_STR(call_state(id, "c1"), "succeeded");
    CHECK_INT(executing(id), 0);
}

TEST(test_tool_call_refused_when_paused)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    CHECK_INT(lifecycle_act(D, id, LC_PAUSE, "user:op", NULL, NULL), LC_OK);
    CHECK_STR(status_of(id), "paused");
    long long ev0 = n_events(id), rows = total_rows();
    ingest_result res;
    ingest_err err;
    /* The message before the refused call is not recorded either. */
    int rc = send_ev(id, "{\"events\":[{\"type\":\"assistant_message\",\"content\":\"about to search\"},"
                         "{\"type\":\"tool_call\",\"tool_call_id\":\"p1\",\"tool\":\"search\"}]}",
                     &res, &err);
    CHECK_INT(rc, -1);
    CHECK_INT(err.status, 409);
    CHECK_STR(err.code, "session_not_running");
    CHECK_STR(err.session_status, "paused");
    CHECK_INT(n_events(id), ev0);
    CHECK_INT(total_rows(), rows);
    CHECK(call_state(id, "p1") == NULL);
    CHECK_STR(status_of(id), "paused");
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
    /* Also refused while canceled, for every kind of call. */
    CHECK_INT(lifecycle_act(D, id, LC_CANCEL, "user:op", NULL, NULL), LC_OK);
    rows = total_rows();
    CHECK_INT(send_ev(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"p2\",\"tool\":\"ask\",\"kind\":\"manual\"}",
                      &res, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_STR(err.code, "session_not_running");
    CHECK_STR(err.session_status, "canceled");
    CHECK_INT(total_rows(), rows);
}

TEST(test_pause_with_executing_call_settles)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"x1\",\"tool\":\"build\"}");
    CHECK_INT(executing(id), 1);
    char from[16], to[16];
    CHECK_INT(lifecycle_act(D, id, LC_PAUSE, "user:op", from, to), LC_OK);
    CHECK_STR(to, "pausing");
    CHECK_STR(status_of(id), "pausing");
    /* No new call while pausing. */
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"x2\",\"tool\":\"b\"}", &res, &err), -1);
    CHECK_INT(err.status, 409);
    long long lc0 = n_events_type(id, "lifecycle");
    CHECK_INT(send_ev(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"x1\",\"result\":\"done\"}", &res, &err), 0);
    CHECK_STR(res.status, "paused");
    CHECK_STR(status_of(id), "paused");
    CHECK_STR(call_state(id, "x1"), "succeeded");
    CHECK_INT(executing(id), 0);
    CHECK_INT(n_events_type(id, "lifecycle"), lc0 + 1);
    CHECK_STR(q_text("SELECT json_extract(body, '$.from') || '>' || json_extract(body, '$.to') FROM events "
                     "WHERE session_id = ?1 AND type = 'lifecycle' ORDER BY seq DESC LIMIT 1", id),
              "pausing>paused");
}

TEST(test_cancel_with_waiting_manual_call)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"h1\",\"tool\":\"approve\",\"kind\":\"manual\"}");
    CHECK_STR(call_state(id, "h1"), "waiting_for_human");
    char to[16];
    CHECK_INT(lifecycle_act(D, id, LC_CANCEL, "user:op", NULL, to), LC_OK);
    CHECK_STR(to, "canceled");
    CHECK_STR(status_of(id), "canceled");
    CHECK_STR(call_state(id, "h1"), "canceled");
    CHECK_INT(q_int2("SELECT ended_at IS NOT NULL FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "h1"), 1);
}

TEST(test_cancel_with_executing_call)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"e1\",\"tool\":\"long_job\"}");
    char to[16];
    CHECK_INT(lifecycle_act(D, id, LC_CANCEL, "user:op", NULL, to), LC_OK);
    CHECK_STR(to, "canceling");
    CHECK_STR(call_state(id, "e1"), "running");
    /* The call ends: it resolves as canceled and the session settles. */
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"type\":\"tool_result\",\"tool_call_id\":\"e1\",\"result\":\"late\"}", &res, &err), 0);
    CHECK_STR(res.status, "canceled");
    CHECK_STR(status_of(id), "canceled");
    CHECK_STR(call_state(id, "e1"), "canceled");
    CHECK_INT(q_int2("SELECT ended_at IS NOT NULL FROM tool_calls WHERE session_id = ?1 AND id = ?2", id, "e1"), 1);
    CHECK_INT(executing(id), 0);
}

TEST(test_idempotent_retry)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    const char *batch =
        "{\"events\":[{\"id\":\"e-1\",\"type\":\"user_message\",\"content\":\"hi\"},"
        "{\"id\":\"e-2\",\"type\":\"tool_call\",\"tool_call_id\":\"t1\",\"tool\":\"search\"},"
        "{\"id\":\"e-3\",\"type\":\"tool_result\",\"tool_call_id\":\"t1\",\"result\":[1]},"
        "{\"id\":\"e-4\",\"type\":\"usage\",\"model\":\"m\",\"prompt_tokens\":10,\"completion_tokens\":5,\"cost\":0.25},"
        "{\"id\":\"e-5\",\"type\":\"error\",\"message\":\"transient\"},"
        "{\"id\":\"e-6\",\"type\":\"assistant_message\",\"content\":\"done\"}]}";
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, batch, &res, &err), 0);
    CHECK_INT(res.accepted, 6);
    CHECK_INT(res.duplicates, 0);
    long long rows = total_rows(), ev = n_events(id);
    long long tokens = q_int("SELECT prompt_tokens FROM sessions WHERE id = ?1", id);
    long long cost = q_int("SELECT llm_cost_micros FROM sessions WHERE id = ?1", id);
    CHECK_INT(tokens, 10);
    CHECK_INT(cost, 250000);

    cJSON *in = cJSON_Parse(batch);
    cJSON *ids = NULL;
    memset(&err, 0, sizeof err);
    int rc = ingest_events(D, id, in, ACTOR, &res, &ids, &err);
    cJSON_Delete(in);
    if (rc) fprintf(stderr, "    retry: %d %s %s\n", err.status, err.code, err.message);
    CHECK_INT(rc, 0);
    CHECK_INT(res.duplicates, 6);
    CHECK_INT(res.accepted, 0);
    CHECK_INT(total_rows(), rows);
    CHECK_INT(n_events(id), ev);
    CHECK_INT(q_int("SELECT prompt_tokens FROM sessions WHERE id = ?1", id), tokens);
    CHECK_INT(q_int("SELECT llm_cost_micros FROM sessions WHERE id = ?1", id), cost);
    CHECK_INT(cJSON_GetArraySize(ids), 6);
    /* The answer points at the events recorded the first time. */
    cJSON *first = cJSON_GetArrayItem(ids, 0);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(first, "duplicate")));
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "seq")),
              q_int("SELECT seq FROM events WHERE session_id = ?1 AND client_id = 'e-1'", id));
    cJSON_Delete(ids);

    /* The same id in another session is a different event. */
    char id2[INGEST_ID_MAX + 1];
    running_session(NULL, id2);
    CHECK_INT(send_ev(id2, "{\"id\":\"e-1\",\"type\":\"user_message\",\"content\":\"hi\"}", &res, &err), 0);
    CHECK_INT(res.accepted, 1);
    CHECK_INT(res.duplicates, 0);
}

TEST(test_idempotent_retry_log_and_status)
{
    /* Every event may carry an id (DESIGN.md section 9), so a runtime that
     * retries a request holding a log line or a status change must get the
     * same answer and no second row. */
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    ingest_result res;
    ingest_err err;

    /* A log line sent twice with the same id is one log row. */
    const char *log = "{\"id\":\"l-1\",\"type\":\"log\",\"severity\":\"info\",\"body\":\"step 1\"}";
    CHECK_INT(send_ev(id, log, &res, &err), 0);
    CHECK_INT(res.accepted, 1);
    CHECK_INT(q_int("SELECT count(*) FROM logs WHERE session_id = ?1", id), 1);
    CHECK_INT(send_ev(id, log, &res, &err), 0);
    CHECK_INT(res.duplicates, 1);
    CHECK_INT(res.accepted, 0);
    CHECK_INT(q_int("SELECT count(*) FROM logs WHERE session_id = ?1", id), 1);

    /* A status change sent twice with the same id is acknowledged, not
     * refused as an invalid transition. */
    const char *st = "{\"id\":\"s-1\",\"type\":\"status\",\"status\":\"retrying\"}";
    CHECK_INT(send_ev(id, st, &res, &err), 0);
    CHECK_STR(status_of(id), "retrying");
    long long rows = total_rows();
    int rc = send_ev(id, st, &res, &err);
    if (rc) fprintf(stderr, "    retry refused: %d %s %s\n", err.status, err.code, err.message);
    CHECK_INT(rc, 0);
    CHECK_INT(res.duplicates, 1);
    CHECK_INT(res.accepted, 0);
    CHECK_INT(total_rows(), rows);
    CHECK_STR(status_of(id), "retrying");
    CHECK_INT(q_int("SELECT retry_count FROM sessions WHERE id = ?1", id), 1);
}

TEST(test_usage)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"events\":["
                  "{\"type\":\"usage\",\"model\":\"gpt-x\",\"prompt_tokens\":100,\"completion_tokens\":20,\"cost\":0.0123},"
                  "{\"type\":\"usage\",\"model\":\"claude\",\"prompt_tokens\":5,\"completion_tokens\":7,\"cost\":0.5},"
                  "{\"type\":\"usage\",\"model\":\"gpt-x\",\"prompt_tokens\":1,\"completion_tokens\":1},"
                  "{\"type\":\"usage\",\"prompt_tokens\":2}]}");
    CHECK_INT(q_int("SELECT prompt_tokens FROM sessions WHERE id = ?1", id), 108);
    CHECK_INT(q_int("SELECT completion_tokens FROM sessions WHERE id = ?1", id), 28);
    CHECK_INT(q_int("SELECT llm_cost_micros FROM sessions WHERE id = ?1", id), 512300);
    CHECK_INT(q_int("SELECT total_cost_micros FROM sessions WHERE id = ?1", id), 512300);
    CHECK_STR(q_text("SELECT models FROM sessions WHERE id = ?1", id), "[\"gpt-x\",\"claude\"]");
    CHECK_INT(n_events_type(id, "usage"), 4);
    /* Bad numbers are refused, naming the field. */
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"type\":\"usage\",\"prompt_tokens\":-1}", &res, &err), -1);
    CHECK_INT(err.status, 422);
    CHECK_STR(err.field, "prompt_tokens");
    CHECK_INT(send_ev(id, "{\"type\":\"usage\",\"prompt_tokens\":1.5}", &res, &err), -1);
    CHECK_STR(err.field, "prompt_tokens");
    CHECK_INT(send_ev(id, "{\"type\":\"usage\",\"completion_tokens\":\"7\"}", &res, &err), -1);
    CHECK_STR(err.field, "completion_tokens");
    CHECK_INT(send_ev(id, "{\"type\":\"usage\",\"prompt_tokens\":1e300}", &res, &err), -1);
    CHECK_STR(err.field, "prompt_tokens");
    CHECK_INT(send_ev(id, "{\"type\":\"usage\",\"cost\":-0.5}", &res, &err), -1);
    CHECK_STR(err.field, "cost");
    CHECK_INT(q_int("SELECT prompt_tokens FROM sessions WHERE id = ?1", id), 108);
}

TEST(test_status_completed)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"type\":\"status\",\"status\":\"completed\",\"response\":\"All done.\"}", &res, &err), 0);
    CHECK_STR(res.status, "completed");
    CHECK_STR(status_of(id), "completed");
    CHECK_STR(q_text("SELECT final_response FROM sessions WHERE id = ?1", id), "All done.");
    CHECK_INT(q_int("SELECT ended_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
    CHECK_STR(q_text("SELECT json_extract(body, '$.to') FROM events WHERE session_id = ?1 AND type = 'lifecycle' "
                     "ORDER BY seq DESC LIMIT 1", id), "completed");
    /* A completed session cannot complete again, and nothing is written. */
    long long rows = total_rows();
    CHECK_INT(send_ev(id, "{\"type\":\"status\",\"status\":\"completed\",\"response\":\"again\"}", &res, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_STR(err.session_status, "completed");
    CHECK_INT(total_rows(), rows);
    CHECK_STR(q_text("SELECT final_response FROM sessions WHERE id = ?1", id), "All done.");
}

TEST(test_status_failed)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, "{\"type\":\"status\",\"status\":\"failed\",\"error\":\"disk full\",\"step\":\"write\"}",
                      &res, &err), 0);
    CHECK_STR(res.status, "failed");
    CHECK_STR(status_of(id), "failed");
    CHECK_STR(q_text("SELECT error_message FROM sessions WHERE id = ?1", id), "disk full");
    CHECK_STR(q_text("SELECT error_step FROM sessions WHERE id = ?1", id), "write");
    CHECK_INT(q_int("SELECT ended_at IS NOT NULL FROM sessions WHERE id = ?1", id), 1);
    /* A pending session can fail straight away (it never ran). */
    char id2[INGEST_ID_MAX + 1];
    must_create(NULL, id2);
    CHECK_INT(send_ev(id2, "{\"type\":\"status\",\"status\":\"failed\",\"error\":\"no capacity\"}", &res, &err), 0);
    CHECK_STR(status_of(id2), "failed");
    CHECK_STR(q_text("SELECT error_message FROM sessions WHERE id = ?1", id2), "no capacity");
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND type = 'lifecycle' "
                    "AND json_extract(body, '$.to') = 'running'", id2), 0);
    /* Unknown status values are refused. */
    CHECK_INT(send_ev(id2, "{\"type\":\"status\",\"status\":\"paused\"}", &res, &err), -1);
    CHECK_INT(err.status, 422);
    CHECK_STR(err.field, "status");
}

TEST(test_status_retrying_and_back)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"type\":\"status\",\"status\":\"retrying\"}");
    CHECK_STR(status_of(id), "retrying");
    CHECK_INT(q_int("SELECT retry_count FROM sessions WHERE id = ?1", id), 1);
    must_send(id, "{\"type\":\"status\",\"status\":\"running\"}");
    CHECK_STR(status_of(id), "running");
    /* running while running: accepted, nothing changes */
    long long lc = n_events_type(id, "lifecycle");
    must_send(id, "{\"type\":\"status\",\"status\":\"running\"}");
    CHECK_INT(n_events_type(id, "lifecycle"), lc);
}

TEST(test_batch_too_large)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"events\":[");
    for (int i = 0; i <= INGEST_MAX_BATCH; i++)
        buf_printf(&b, "%s{\"type\":\"thought\",\"content\":\"t%d\"}", i ? "," : "", i);
    buf_puts(&b, "]}");
    long long rows = total_rows();
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev(id, buf_str(&b), &res, &err), -1);
    CHECK_INT(err.status, 413);
    CHECK_INT(total_rows(), rows);
    /* Exactly INGEST_MAX_BATCH is fine. */
    buf_reset(&b);
    buf_puts(&b, "{\"events\":[");
    for (int i = 0; i < INGEST_MAX_BATCH; i++)
        buf_printf(&b, "%s{\"type\":\"thought\",\"content\":\"t%d\"}", i ? "," : "", i);
    buf_puts(&b, "]}");
    CHECK_INT(send_ev(id, buf_str(&b), &res, &err), 0);
    CHECK_INT(res.accepted, INGEST_MAX_BATCH);
    buf_fini(&b);
}

static void events_fail(const char *sid, const char *json, int status, const char *code,
                        const char *field)
{
    long long rows = total_rows();
    ingest_result res;
    ingest_err err;
    int rc = send_ev(sid, json, &res, &err);
    if (rc != -1 || err.status != status || strcmp(err.field, field) != 0)
        fprintf(stderr, "    %.90s: rc %d status %d code %s field \"%s\"\n", json, rc, err.status,
                err.code ? err.code : "-", err.field);
    CHECK_INT(rc, -1);
    CHECK_INT(err.status, status);
    if (code) CHECK_STR(err.code, code);
    CHECK_STR(err.field, field);
    CHECK_INT(total_rows(), rows);
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
}

TEST(test_events_bad_input)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    events_fail(id, "{\"events\":[]}", 422, NULL, "events");
    events_fail(id, "{\"events\":{}}", 422, NULL, "events");
    events_fail(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"a\"}],\"extra\":1}", 422,
                "unknown_field", "extra");
    events_fail(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"a\"},{\"type\":\"bogus\"}]}", 422,
                NULL, "events[1].type");
    events_fail(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"a\"},{\"content\":\"no type\"}]}", 422,
                NULL, "events[1].type");
    events_fail(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"a\"},5]}", 422, NULL, "events[1]");
    events_fail(id, "{\"events\":[{\"type\":\"thought\"}]}", 422, "missing_field", "events[0].content");
    events_fail(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"a\",\"mood\":\"ok\"}]}", 422,
                "unknown_field", "events[0].mood");
    events_fail(id, "{\"type\":\"thought\",\"content\":7}", 422, NULL, "content");
    events_fail(id, "{\"type\":\"thought\",\"content\":\"x\",\"time\":\"yesterday\"}", 422, NULL, "time");
    events_fail(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"k\",\"tool\":\"t\",\"kind\":\"robot\"}", 422,
                NULL, "kind");
    events_fail(id, "{\"type\":\"nope\"}", 422, NULL, "type");
    events_fail(id, "[1]", 422, NULL, "");
}

TEST(test_tool_result_unknown_call)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    /* The valid message before it is rolled back too. */
    events_fail(id, "{\"events\":[{\"type\":\"thought\",\"content\":\"a\"},"
                    "{\"type\":\"tool_result\",\"tool_call_id\":\"ghost\",\"result\":1}]}",
                422, "unknown_tool_call", "tool_call_id");
}

TEST(test_missing_session)
{
    long long rows = total_rows();
    ingest_result res;
    ingest_err err;
    CHECK_INT(send_ev("ses_missing", "{\"type\":\"thought\",\"content\":\"a\"}", &res, &err), -1);
    CHECK_INT(err.status, 404);
    CHECK_INT(total_rows(), rows);
    CHECK_INT(sqlite3_get_autocommit(db_handle(D)), 1);
}

TEST(test_log_and_span)
{
    char id[INGEST_ID_MAX + 1];
    running_session(NULL, id);
    must_send(id, "{\"events\":[{\"type\":\"log\",\"severity\":\"warn\",\"body\":\"slow\"},"
                  "{\"type\":\"span\",\"trace_id\":\"t1\",\"span_id\":\"s1\",\"name\":\"llm\","
                  "\"start\":\"2026-11-21T15:30:48Z\",\"end\":\"2026-11-21T15:30:49.5Z\"}]}");
    CHECK_STR(q_text("SELECT severity || ':' || body FROM logs WHERE session_id = ?1", id), "warn:slow");
    CHECK_INT(q_int("SELECT end_ns - start_ns FROM spans WHERE session_id = ?1", id), 1500000000LL);
}

/* ------------------------------------------------- secrets, edits (issue 7) */

/* mask or unwrap JSON text; the result as compact text (static buffer). */
static const char *secrets_apply(const char *json, int unwrap, int *count)
{
    static char out[512];
    cJSON *j = cJSON_Parse(json);
    *count = unwrap ? ingest_secrets_unwrap(j) : ingest_secrets_mask(j);
    char *t = cJSON_PrintUnformatted(j);
    snprintf(out, sizeof out, "%s", t ? t : "(null)");
    cJSON_free(t);
    cJSON_Delete(j);
    return out;
}

TEST(test_secrets_mask_and_unwrap)
{
    int n;
    CHECK_STR(secrets_apply("{\"a\":{\"$secret\":\"pw\"},\"b\":[1,{\"$secret\":{\"x\":2}}],\"c\":{\"d\":{\"$secret\":3}}}", 0, &n),
              "{\"a\":\"****\",\"b\":[1,\"****\"],\"c\":{\"d\":\"****\"}}");
    CHECK_INT(n, 3);
    CHECK_STR(secrets_apply("{\"a\":{\"$secret\":\"pw\"},\"b\":[1,{\"$secret\":{\"x\":{\"$secret\":\"in\"}}}]}", 1, &n),
              "{\"a\":\"pw\",\"b\":[1,{\"x\":\"in\"}]}");
    CHECK_INT(n, 3);
    /* Not markers: more than one member, another key, a string. */
    CHECK_STR(secrets_apply("{\"a\":{\"$secret\":\"v\",\"k\":1},\"b\":{\"$Secret\":1},\"c\":\"$secret\"}", 0, &n),
              "{\"a\":{\"$secret\":\"v\",\"k\":1},\"b\":{\"$Secret\":1},\"c\":\"$secret\"}");
    CHECK_INT(n, 0);
    /* Duplicate keys: the marker itself is replaced, its key kept. */
    CHECK_STR(secrets_apply("{\"k\":1,\"k\":{\"$secret\":\"z\"}}", 0, &n), "{\"k\":1,\"k\":\"****\"}");
    CHECK_INT(ingest_secrets_mask(NULL), 0);
}

TEST(test_secrets_stored_masked)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    CHECK_INT(create("{\"agent\":\"a1\",\"prompt\":{\"$secret\":\"P1\"},\"metadata\":{\"t\":{\"$secret\":\"M1\"}}}", id, &err), 0);
    CHECK_STR(q_text("SELECT prompt || metadata FROM sessions WHERE id = ?1", id), "****{\"t\":\"****\"}");
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"c\",\"tool\":\"t\",\"kind\":\"client\","
                  "\"arguments\":{\"pw\":{\"$secret\":\"A1\"},\"u\":\"x\"}}");
    CHECK_STR(q_text("SELECT arguments FROM tool_calls WHERE session_id = ?1", id), "{\"pw\":\"****\",\"u\":\"x\"}");
    CHECK_STR(q_text("SELECT arguments FROM tool_call_secrets WHERE session_id = ?1", id), "{\"pw\":\"A1\",\"u\":\"x\"}");
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND body LIKE '%A1%'", id), 0);
    /* A call without secrets keeps nothing apart. */
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"d\",\"tool\":\"t\",\"kind\":\"client\",\"arguments\":{\"u\":1}}");
    CHECK_INT(q_int("SELECT count(*) FROM tool_call_secrets WHERE session_id = ?1", id), 1);
    /* A secret where a string is required is masked, then valid. */
    must_send(id, "{\"type\":\"thought\",\"content\":{\"$secret\":\"T1\"}}");
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND body LIKE '%T1%'", id), 0);
}

static int patch(const char *id, const char *json, ingest_err *err)
{
    cJSON *in = cJSON_Parse(json);
    memset(err, 0, sizeof *err);
    int rc = ingest_session_patch(D, id, in, ACTOR, err);
    cJSON_Delete(in);
    return rc;
}

TEST(test_session_patch)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    must_create(NULL, id);
    long long audits = n_audit(id);
    CHECK_INT(patch(id, "{\"name\":\"N\",\"metadata\":{\"a\":{\"$secret\":\"s\"}}}", &err), 0);
    CHECK_STR(q_text("SELECT name || metadata FROM sessions WHERE id = ?1", id), "N{\"a\":\"****\"}");
    CHECK_INT(n_audit(id), audits + 1);
    CHECK_INT(patch(id, "{\"description\":null}", &err), -1);
    CHECK_STR(err.code, "invalid_body");
    CHECK_INT(patch(id, "{\"agent\":\"x\"}", &err), -1);
    CHECK_STR(err.code, "unknown_field");
    CHECK_INT(patch(id, "{\"metadata\":3}", &err), -1);
    CHECK_STR(err.field, "metadata");
    CHECK_INT(patch("nosuch", "{\"name\":\"x\"}", &err), -1);
    CHECK_INT(err.status, 404);
    CHECK_INT(n_audit(id), audits + 1);
}

TEST(test_event_delete_and_hide)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    running_session(NULL, id);
    must_send(id, "{\"events\":[{\"id\":\"k1\",\"type\":\"tool_call\",\"tool_call_id\":\"c\",\"tool\":\"t\","
                  "\"arguments\":{\"p\":{\"$secret\":\"x\"}}},"
                  "{\"id\":\"k2\",\"type\":\"tool_result\",\"tool_call_id\":\"c\",\"error\":{\"category\":\"a\",\"message\":\"m\"}},"
                  "{\"type\":\"error\",\"message\":\"e\"}]}");
    long long call = q_int("SELECT id FROM events WHERE session_id = ?1 AND type = 'tool_call'", id);
    long long errev = q_int("SELECT id FROM events WHERE session_id = ?1 AND type = 'error'", id);
    CHECK_INT(q_int("SELECT error_count FROM sessions WHERE id = ?1", id), 2);
    CHECK_INT(ingest_event_hide(D, id, call, "manual", ACTOR, &err), 0);
    CHECK_STR(q_text("SELECT hide_reason FROM events WHERE session_id = ?1 AND type = 'tool_call'", id), "manual");
    CHECK_INT(ingest_event_hide(D, id, call, NULL, ACTOR, &err), 0);
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND hide_reason IS NOT NULL", id), 0);
    CHECK_INT(ingest_event_hide(D, id, 987654321, "manual", ACTOR, &err), -1);
    CHECK_INT(err.status, 404);
    CHECK_INT(ingest_event_delete(D, id, call, ACTOR, &err), 0);
    CHECK_INT(q_int("SELECT count(*) FROM events WHERE session_id = ?1 AND type IN ('tool_call','tool_result')", id), 0);
    CHECK_INT(q_int("SELECT count(*) FROM tool_calls WHERE session_id = ?1", id), 0);
    CHECK_INT(q_int("SELECT count(*) FROM tool_call_secrets WHERE session_id = ?1", id), 0);
    CHECK_INT(q_int("SELECT deleted_events FROM sessions WHERE id = ?1", id), 2);
    CHECK_INT(q_int("SELECT error_count FROM sessions WHERE id = ?1", id), 1);
    CHECK_INT(ingest_event_delete(D, id, errev, ACTOR, &err), 0);
    CHECK_INT(q_int("SELECT error_count FROM sessions WHERE id = ?1", id), 0);
    CHECK_INT(ingest_event_delete(D, id, errev, ACTOR, &err), -1);
    CHECK_INT(err.status, 404);
    /* A running call may not be deleted. */
    must_send(id, "{\"type\":\"tool_call\",\"tool_call_id\":\"r\",\"tool\":\"t\"}");
    long long running = q_int("SELECT id FROM events WHERE session_id = ?1 AND tool_call_id = 'r'", id);
    CHECK_INT(ingest_event_delete(D, id, running, ACTOR, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_STR(err.code, "tool_call_active");
}

TEST(test_logs_batch)
{
    char id[INGEST_ID_MAX + 1];
    ingest_err err;
    must_create(NULL, id);
    cJSON *in = cJSON_Parse("{\"logs\":[{\"body\":\"a\"},{\"severity\":\"error\",\"body\":{\"$secret\":\"s\"}}]}");
    cJSON *ids = NULL;
    CHECK_INT(ingest_logs(D, id, in, ACTOR, &ids, &err), 0);
    CHECK_INT(cJSON_GetArraySize(ids), 2);
    CHECK_STR(q_text("SELECT group_concat(severity || ':' || body, ',') FROM logs WHERE session_id = ?1", id),
              "info:a,error:****");
    cJSON_Delete(ids);
    cJSON_Delete(in);
    in = cJSON_Parse("{\"logs\":[{\"body\":\"a\"},{\"body\":\"b\",\"x\":1}]}");
    CHECK_INT(ingest_logs(D, id, in, ACTOR, &ids, &err), -1);
    CHECK_STR(err.field, "logs[1].x");
    CHECK(ids == NULL);
    cJSON_Delete(in);
    CHECK_INT(q_int("SELECT count(*) FROM logs WHERE session_id = ?1", id), 2);
}

int main(void)
{
    if (auth_init() || db_setup()) {
        fprintf(stderr, "cannot set up the test database\n");
        db_teardown();
        h_failed++;
        return DONE();
    }
    RUN(test_secrets_mask_and_unwrap);
    RUN(test_secrets_stored_masked);
    RUN(test_session_patch);
    RUN(test_event_delete_and_hide);
    RUN(test_logs_batch);
    RUN(test_create_defaults);
    RUN(test_create_fields);
    RUN(test_create_running);
    RUN(test_create_duplicate_id);
    RUN(test_create_invalid_id);
    RUN(test_create_unknown_field);
    RUN(test_create_wrong_types);
    RUN(test_create_invalid_utf8);
    RUN(test_invalid_utf8_nested);
    RUN(test_create_prompt_limit);
    RUN(test_event_single_starts_pending);
    RUN(test_event_batch);
    RUN(test_search_indexed_at_commit);
    RUN(test_tool_call_server_and_result);
    RUN(test_tool_result_failed);
    RUN(test_tool_call_manual_and_client);
    RUN(test_tool_call_refused_when_paused);
    RUN(test_pause_with_executing_call_settles);
    RUN(test_cancel_with_waiting_manual_call);
    RUN(test_cancel_with_executing_call);
    RUN(test_idempotent_retry);
    RUN(test_idempotent_retry_log_and_status);
    RUN(test_usage);
    RUN(test_status_completed);
    RUN(test_status_failed);
    RUN(test_status_retrying_and_back);
    RUN(test_batch_too_large);
    RUN(test_events_bad_input);
    RUN(test_tool_result_unknown_call);
    RUN(test_missing_session);
    RUN(test_log_and_span);
    db_teardown();
    return DONE();
}
