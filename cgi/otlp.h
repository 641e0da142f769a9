/* otlp: OpenTelemetry traces and logs (OTLP/HTTP, JSON or protobuf) turned
 * into Flightdeck's model, following the GenAI semantic conventions. The
 * mapping is documented, field by field, in docs/opentelemetry.md.
 *
 * A request is decoded (otlp_decode) into OTLP/JSON form — the protobuf
 * decoder (pb.h) produces the same tree the JSON encoding is — then applied
 * (otlp_traces_apply, otlp_logs_apply) inside the caller's write
 * transaction. Spans are grouped by session; each session's spans are
 * applied in a savepoint of their own, so a session that cannot take them
 * (another project, canceled) is rejected alone and counted in the partial
 * success, and the rest is recorded. A span seen before (same session and
 * span id: a retried export) is acknowledged and changes nothing.
 *
 * Ownership: otlp_decode returns a tree the caller frees with cJSON_Delete;
 * the apply functions read it (otlp_traces_apply also lowercases its ids). */
#ifndef FD_OTLP_H
#define FD_OTLP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct db;

typedef enum otlp_signal { OTLP_TRACES, OTLP_LOGS } otlp_signal;

/* Decode body[0..n) (already decompressed): protobuf when protobuf != 0,
 * else JSON. The root must be an object. NULL with a reason in why (whyn
 * bytes) when it is malformed. */
cJSON *otlp_decode(otlp_signal s, int protobuf, const char *body, size_t n, char *why,
                   size_t whyn);

/* gunzip in[0..n) into *out (malloc'd, NUL-terminated; caller frees) of at
 * most max bytes. 0; -1 when not valid gzip; -2 when it would be larger
 * than max (checked while inflating: a small bomb never fills memory). */
int otlp_gunzip(const char *in, size_t n, size_t max, char **out, size_t *outn);

/* May the sender write sessions of `project`? 1 or 0. */
typedef int (*otlp_allow_fn)(void *arg, const char *project);

typedef struct otlp_result {
    long long accepted;    /* spans or log records recorded, or seen before */
    long long rejected;    /* refused: counted in the partial success */
    char      message[300]; /* why the first ones were refused; "" when none */
} otlp_result;

/* Apply an ExportTraceServiceRequest (OTLP/JSON form) as `actor`, inside
 * the caller's open write transaction on d, in bulk mode (db_bulk_begin,
 * as a group commit runs its pieces), since each session takes a savepoint. The ids in req are rewritten
 * as stored (lowercase; an all-zero parent emptied), since the stored copy
 * of each span is printed from it. Sessions are created in the
 * project named by the resource attribute flightdeck.project ("default"
 * when absent); allow(arg, project) decides which the sender may write.
 * 0 with *res filled (partial rejections are not failures); -1 on a
 * database error, after which the caller rolls back everything. */
int otlp_traces_apply(struct db *d, cJSON *req, const char *actor, otlp_allow_fn allow,
                      void *arg, otlp_result *res);

/* Apply an ExportLogsServiceRequest, as otlp_traces_apply. A log record
 * goes to the session of its gen_ai.conversation.id or of its trace; one
 * with neither is rejected. An event named gen_ai.evaluation.result becomes
 * an eval run instead of a log line. */
int otlp_logs_apply(struct db *d, const cJSON *req, const char *actor, otlp_allow_fn allow,
                    void *arg, otlp_result *res);

/* The success answer: ExportTraceServiceResponse or ExportLogsServiceResponse,
 * with partial_success when anything was rejected, into out (JSON or
 * protobuf). */
void otlp_response(buf *out, otlp_signal s, int protobuf, const otlp_result *r);

/* An error answer as OTLP wants it: a google.rpc.Status {code, message} in
 * the request's encoding. The JSON form also carries Flightdeck's own
 * {"error":{"code","message"}}. grpc_code is derived from the HTTP status. */
void otlp_error_body(buf *out, int protobuf, int http_status, const char *code,
                     const char *message);

/* ---- prices ----
 * Cost is computed from a table of USD per million tokens per model, read
 * from a JSON file (FLIGHTDECK_PRICES, default etc/prices.json):
 * {"models": {"gpt-4o": {"input": 2.5, "output": 10, "cache_read": 1.25,
 * "cache_write": 0}, ...}}. A model matches its exact name, else the
 * longest name it starts with ("gpt-4o-2024-08-06" -> "gpt-4o"). */

/* Load the table at path (replacing the one in use). A missing file gives an
 * empty table (every cost 0) and returns 0; a malformed one returns -1 with
 * why in err. Call before the workers start. */
int otlp_prices_load(const char *path, char *err, size_t n);
/* Drop the table (tests). */
void otlp_prices_clear(void);
/* Cost in micro-dollars of one model call. input includes the cached
 * tokens (GenAI conventions), which are priced at cache_read/cache_write
 * when the model has those prices. 0 when the model has no price. */
int64_t otlp_cost_micros(const char *model, int64_t input, int64_t output, int64_t cache_read,
                         int64_t cache_write);

#endif
