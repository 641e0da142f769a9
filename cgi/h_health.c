/* h_health: liveness, and the front door. */
#include "db.h"
#include "handlers.h"
#include "metrics.h"

/* GET /healthz: 200 when the database answers, 503 when it does not. */
hres h_health(ctx *c)
{
    int v = db_version(c->db);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", v > 0 ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "version", c->app->version);
    cJSON_AddNumberToObject(o, "schema", v);
    return ctx_json(c, v > 0 ? 200 : 503, o);
}

/* GET /metrics: Prometheus text (metrics.h); admin tokens only. */
hres h_metrics(ctx *c)
{
    buf_reset(&c->resp.body);
    if (metrics_write(&c->resp.body, c->db)) return HR_ERROR;
    c->resp.status = 200;
    c->resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return c->resp.body.err ? HR_ERROR : HR_OK;
}

/* GET /: the History page is the home page. */
hres h_root(ctx *c)
{
    http_resp_redirect(&c->resp, "/sessions");
    return HR_OK;
}
