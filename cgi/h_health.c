/* h_health: liveness, and the front door. */
#include "db.h"
#include "handlers.h"

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

/* GET /: the History page is the home page. */
hres h_root(ctx *c)
{
    http_resp_redirect(&c->resp, "/sessions");
    return HR_OK;
}
