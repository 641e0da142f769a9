/* fuzz_ingest: request body bytes -> JSON (parsed as the app does,
 * ctx_body_json in app.c) -> every ingest entry point that takes a body:
 * ingest_events and ingest_logs on a running and a pending session,
 * ingest_session_patch and ingest_session_create, against an in-memory
 * database built by the real migrations and reset after each input. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_db.h"
#include "ingest.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXTURE \
    "INSERT INTO sessions (id, status, agent, created_at, updated_at, started_at) " \
    "VALUES ('ses_run', 'running', 'fuzz', 1000, 1000, 1000);" \
    "INSERT INTO sessions (id, status, agent, created_at, updated_at) " \
    "VALUES ('ses_pend', 'pending', 'fuzz', 1000, 1000);"

/* The body as ctx_body_json parses it: the JSON value by length, only
 * whitespace after it, an object or array, valid UTF-8 throughout. NULL
 * when the app would refuse it before ingest sees it. */
static cJSON *parse_body(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!j) return NULL;
    if (end) {
        const char *stop = s + n;
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
        if (end != stop) { cJSON_Delete(j); return NULL; }
    }
    if ((!cJSON_IsObject(j) && !cJSON_IsArray(j)) || !utf8_json_valid(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Check the shape of a refusal: a status the API answers and a code. */
static void check_err(const ingest_err *e)
{
    if (e->status != 404 && e->status != 409 && e->status != 413 && e->status != 422 &&
        e->status != 500)
        abort();
    if (!e->code || !*e->code) abort();
}

/* One input: each entry point on a fresh copy of the body (they mask
 * secrets in place), then the database reset. Always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_db_setup(FIXTURE);
    cJSON *j = parse_body((const char *)data, size);
    if (!j) return 0;
    static const char *const ids[] = { "ses_run", "ses_pend" };
    for (size_t k = 0; k < 2; k++) {
        cJSON *in = cJSON_Duplicate(j, 1);
        if (!in) abort();
        ingest_result res;
        ingest_err err = { 0 };
        cJSON *out = NULL;
        if (cJSON_IsObject(in)) {
            if (ingest_events(fuzz_db, ids[k], in, "token:fuzz", &res, &out, &err)) check_err(&err);
            else if (res.accepted < 0 || res.duplicates < 0) abort();
        }
        cJSON_Delete(out);
        out = NULL;
        memset(&err, 0, sizeof err);
        if (ingest_logs(fuzz_db, ids[k], in, "token:fuzz", &out, &err)) check_err(&err);
        cJSON_Delete(out);
        cJSON_Delete(in);
    }
    cJSON *in = cJSON_Duplicate(j, 1);
    ingest_err err = { 0 };
    if (cJSON_IsObject(in) && ingest_session_patch(fuzz_db, "ses_run", in, "token:fuzz", &err))
        check_err(&err);
    cJSON_Delete(in);
    in = cJSON_Duplicate(j, 1);
    char id[INGEST_ID_MAX + 1];
    memset(&err, 0, sizeof err);
    if (cJSON_IsObject(in)) {
        if (ingest_session_create(fuzz_db, in, "token:fuzz", id, &err)) check_err(&err);
        else if (!ingest_id_valid(id)) abort();
    }
    cJSON_Delete(in);
    cJSON_Delete(j);
    fuzz_db_reset();
    return 0;
}
