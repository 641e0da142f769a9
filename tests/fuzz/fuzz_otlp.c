/* fuzz_otlp: request body bytes as an OTLP/HTTP receiver gets them —
 * decoded as protobuf (traces and logs) and as JSON (otlp_decode), and each
 * tree that decodes applied (otlp_traces_apply, otlp_logs_apply) to an
 * in-memory database built by the real migrations, inside a transaction as
 * h_otlp.c does. Beyond "no sanitizer report": a decode failure carries a
 * reason, and the counts are sane (nothing negative; a refusal leaves a
 * message). */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_db.h"
#include "otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXTURE \
    "INSERT INTO sessions (id, status, agent, thread_id, created_at, updated_at, started_at) " \
    "VALUES ('conv_c1', 'running', 'fuzz', 'c1', 1000, 1000, 1000);" \
    "INSERT INTO sessions (id, status, agent, created_at, updated_at) " \
    "VALUES ('conv_gone', 'canceled', 'fuzz', 1000, 1000);"

static int allow(void *arg, const char *project)
{
    (void)arg;
    return strcmp(project, "forbidden") != 0;
}

static void apply(otlp_signal s, cJSON *j)
{
    otlp_result r;
    /* As a group commit runs it (wgroup.c): an outer transaction, in which
     * each session's savepoint nests. */
    if (db_bulk_begin(fuzz_db)) abort();
    int rc = s == OTLP_TRACES ? otlp_traces_apply(fuzz_db, j, "token:fuzz", allow, NULL, &r)
                              : otlp_logs_apply(fuzz_db, j, "token:fuzz", allow, NULL, &r);
    if (rc != -1) {
        if (r.accepted < 0 || r.rejected < 0) abort();
        if ((r.rejected > 0 || rc == -2) && !r.message[0]) abort();
    }
    if (db_bulk_end(fuzz_db, rc != -1)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_db_setup(FIXTURE);
    for (int pb = 0; pb <= 1; pb++) {
        for (int s = OTLP_TRACES; s <= OTLP_LOGS; s++) {
            char why[160] = "";
            cJSON *j = otlp_decode((otlp_signal)s, pb, (const char *)data, size, why, sizeof why);
            if (!j) {
                if (!why[0]) abort();
                continue;
            }
            apply((otlp_signal)s, j);
            cJSON_Delete(j);
            fuzz_db_reset();
        }
    }
    return 0;
}
