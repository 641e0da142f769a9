/* Retention rules over the API (admins; retention.h):
 *   GET    /api/v1/retention            the default and every rule
 *   PUT    /api/v1/retention/{project}  set a project's rule
 *   DELETE /api/v1/retention/{project}  back to the default */
#include <string.h>

#include "config.h"
#include "db.h"
#include "handlers.h"
#include "retention.h"

hres h_retention_list(ctx *c)
{
    cJSON *rules = retention_rules_json(c->db);
    if (!rules) return HR_ERROR;
    cJSON *o = cJSON_CreateObject();
    long long days = config_int(CFG_RETENTION_DAYS);
    if (days > 0) cJSON_AddNumberToObject(o, "default_keep_days", (double)days);
    else cJSON_AddNullToObject(o, "default_keep_days");
    cJSON_AddNumberToObject(o, "sweep_seconds", (double)config_int(CFG_SWEEP_SECONDS));
    cJSON_AddItemToObject(o, "rules", rules);
    return ctx_json(c, 200, o);
}

/* A body field that is a whole number in range, or null/absent (-> 0).
 * 0, or -1 after answering 422. */
static int whole_or_null(ctx *c, const cJSON *body, const char *name, long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    *out = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble || v->valuedouble < 1 ||
        v->valuedouble > (double)RETENTION_MAX_CAP) {
        ctx_error_field(c, 422, "invalid_field", name, "%s must be a positive whole number or null", name);
        return -1;
    }
    *out = (long long)v->valuedouble;
    return 0;
}

hres h_retention_put(ctx *c)
{
    const char *project = ctx_param(c, 0);
    cJSON *body = ctx_body_json(c);
    if (!body) return HR_OK;
    if (!cJSON_IsObject(body))
        return ctx_error(c, 422, "invalid_body", "the body must be an object");
    for (const cJSON *f = body->child; f; f = f->next)
        if (strcmp(f->string, "keep_days") && strcmp(f->string, "max_payload_bytes"))
            return ctx_error_field(c, 422, "unknown_field", f->string,
                                   "unknown field \"%.64s\" (keep_days, max_payload_bytes)", f->string);
    long long days, cap;
    if (whole_or_null(c, body, "keep_days", &days) || whole_or_null(c, body, "max_payload_bytes", &cap))
        return HR_OK;
    char err[200];
    int rc = retention_set(c->db, project, (int)(days > RETENTION_MAX_DAYS ? -1 : days), cap,
                           auth_actor(c->a, &c->who), err, sizeof err);
    if (rc == 1) {
        const char *field = strstr(err, "keep_days") ? "keep_days"
                            : strstr(err, "max_payload") ? "max_payload_bytes" : "project";
        return ctx_error_field(c, 422, "invalid_field", field, "%s", err);
    }
    if (rc) return HR_ERROR;
    int found;
    cJSON *o = retention_rule_json(c->db, project, &found);
    if (!o) return HR_ERROR;
    return ctx_json(c, 200, o);
}

hres h_retention_delete(ctx *c)
{
    int rc = retention_clear(c->db, ctx_param(c, 0), auth_actor(c->a, &c->who));
    if (rc < 0) return HR_ERROR;
    if (rc == 0)
        return ctx_error(c, 404, "not_found", "project \"%.64s\" has no retention rule", ctx_param(c, 0));
    c->resp.status = 204;
    return HR_OK;
}
