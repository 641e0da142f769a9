/* h_otlp: the OTLP/HTTP receivers, POST /v1/traces and POST /v1/logs, as
 * the OpenTelemetry Protocol specification (OTLP/HTTP) has them: bodies in
 * application/x-protobuf or application/json, optionally gzip-compressed;
 * the answer in the request's content type; partial success for items that
 * could not be taken; 400 for a malformed body, 413 for one too large
 * (compressed or not), 415 for a content type or encoding we do not read.
 * Errors carry a google.rpc.Status (app.c, ctx_error, on /v1/ paths).
 * The mapping to sessions is otlp.c's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "app.h"
#include "db.h"
#include "handlers.h"
#include "metrics.h"
#include "otlp.h"
#include "wgroup.h"

typedef struct otlp_job {
    otlp_signal      sig;
    cJSON           *in;
    const char      *actor;
    const principal *who;
    otlp_result      res;
    int              rc;     /* what the apply function returned */
} otlp_job;

static int may_write(void *arg, const char *project)
{
    return auth_can((const principal *)arg, PERM_RUNTIME, project);
}

/* A piece of a group commit (wgroup.h): everything or, on a database error,
 * nothing (its own savepoint); refused items are not errors. */
static int otlp_piece(struct db *d, void *arg)
{
    otlp_job *j = arg;
    if (db_begin(d)) return -1;
    j->rc = j->sig == OTLP_TRACES
                ? otlp_traces_apply(d, j->in, j->actor, may_write, (void *)j->who, &j->res)
                : otlp_logs_apply(d, j->in, j->actor, may_write, (void *)j->who, &j->res);
    if (j->rc == -1) {
        db_rollback(d);
        return -1;
    }
    if (db_commit(d)) {
        db_rollback(d);
        return -1;
    }
    return 0;
}

/* How many items the request holds (a group's weight). */
static int weight_of(const cJSON *in, otlp_signal s)
{
    const char *outer = s == OTLP_TRACES ? "resourceSpans" : "resourceLogs";
    const char *mid = s == OTLP_TRACES ? "scopeSpans" : "scopeLogs";
    const char *inner = s == OTLP_TRACES ? "spans" : "logRecords";
    int n = 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(in, outer);
    for (const cJSON *r = cJSON_IsArray(a) ? a->child : NULL; r; r = r->next) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(r, mid);
        for (const cJSON *sc = cJSON_IsArray(b) ? b->child : NULL; sc; sc = sc->next)
            n += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sc, inner));
    }
    return n > 0 ? n : 1;
}

static hres otlp_handle(ctx *c, otlp_signal sig)
{
    const char *ct = c->req.content_type;
    int pb = strcmp(ct, "application/x-protobuf") == 0;
    if (!pb && strcmp(ct, "application/json") != 0)
        return ctx_error(c, 415, "unsupported_media_type",
                         "send application/x-protobuf or application/json (got \"%.60s\")",
                         *ct ? ct : "nothing");
    const char *ce = c->req.content_encoding ? c->req.content_encoding : "";
    const char *body = c->req.body ? c->req.body : "";
    size_t n = c->req.body_len;
    char *plain = NULL;
    if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0) {
        size_t pn = 0;
        int z = otlp_gunzip(body, n, c->app->max_body, &plain, &pn);
        if (z == -2)
            return ctx_error(c, 413, "body_too_large",
                             "the body is larger than %zu bytes once decompressed", c->app->max_body);
        if (z)
            return ctx_error(c, 400, "invalid_gzip", "the body is not valid gzip data");
        body = plain;
        n = pn;
    } else if (*ce && strcasecmp(ce, "identity") != 0) {
        return ctx_error(c, 415, "unsupported_encoding",
                         "Content-Encoding \"%.40s\" is not supported: send gzip or identity", ce);
    }
    if (!pb && n == 0) {
        free(plain);
        return ctx_error(c, 400, "empty_body", "the request body is empty");
    }
    char why[160];
    cJSON *in = otlp_decode(sig, pb, body, n, why, sizeof why);
    free(plain);
    if (!in) return ctx_error(c, 400, pb ? "invalid_protobuf" : "invalid_json", "%s", why);
    c->json = in; /* released with the request */

    otlp_job j = { .sig = sig, .in = in, .actor = auth_actor(c->a, &c->who), .who = &c->who };
    int storage = 0;
    if (ctx_wgroup_run(c, otlp_piece, &j, weight_of(in, sig), &storage))
        return HR_ERROR; /* the dispatcher answers 503 (busy, storage) or 500 */
    if (j.rc == -2) return ctx_error(c, 400, "invalid_body", "%s", j.res.message);
    metrics_ingested(sig == OTLP_TRACES ? METRICS_SPANS : METRICS_LOG_RECORDS, j.res.accepted);

    buf_reset(&c->resp.body);
    otlp_response(&c->resp.body, sig, pb, &j.res);
    c->resp.status = 200;
    c->resp.content_type = pb ? "application/x-protobuf" : "application/json";
    return c->resp.body.err ? HR_ERROR : HR_OK;
}

hres h_otlp_traces(ctx *c) { return otlp_handle(c, OTLP_TRACES); }
hres h_otlp_logs(ctx *c) { return otlp_handle(c, OTLP_LOGS); }
