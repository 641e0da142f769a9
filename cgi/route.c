/* route: the route table and its matcher. See route.h. */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "openapi.h"

#define GET  HTTP_GET
#define POST HTTP_POST
#define DEL  HTTP_DELETE
#define PUT  HTTP_PUT
#define PATCH HTTP_PATCH

const route route_table[] = {
    /* method  pattern                              permission    flags                   handler */
    { GET,  "/healthz",                             PERM_NONE,    ROUTE_API,              h_health },
    { GET,  "/metrics",                             PERM_METRICS, ROUTE_API,              h_metrics },
    { GET,  "/api/v1/openapi.json",                 PERM_NONE,    ROUTE_API,              h_openapi },
    { GET,  "/",                                    PERM_NONE,    ROUTE_PAGE,             h_root },
    { GET,  "/login",                               PERM_NONE,    ROUTE_PAGE,             h_login_form },
    { POST, "/login",                               PERM_NONE,    ROUTE_PAGE,             h_login_post },
    { POST, "/logout",                              PERM_PAGES,   ROUTE_PAGE | ROUTE_FORM, h_logout },
    { GET,  "/sessions",                            PERM_PAGES,   ROUTE_PAGE | ROUTE_CACHE, h_page_sessions },
    { GET,  "/changes",                             PERM_PAGES,   ROUTE_PAGE,             h_page_changes },
    { POST, "/sessions/bulk",                       PERM_PAGES,   ROUTE_PAGE | ROUTE_FORM, h_page_bulk },
    { POST, "/views",                               PERM_PAGES,   ROUTE_PAGE | ROUTE_FORM, h_view_save },
    { POST, "/views/{id}/delete",                   PERM_PAGES,   ROUTE_PAGE | ROUTE_FORM, h_view_delete },
    { GET,  "/sessions/{id}",                       PERM_PAGES,   ROUTE_PAGE | ROUTE_CACHE, h_page_session },
    { GET,  "/sessions/{id}/artifacts/{aid}",       PERM_PAGES,   ROUTE_PAGE,             h_artifact_download },
    { GET,  "/sessions/{id}/events/{eid}/result",   PERM_PAGES,   ROUTE_PAGE,             h_page_payload },
    { GET,  "/sessions/{id}/events/{eid}/arguments", PERM_PAGES,  ROUTE_PAGE,             h_page_payload },
    { POST, "/sessions/{id}/share",                 PERM_PAGES,   ROUTE_PAGE | ROUTE_FORM, h_share_create },
    { POST, "/sessions/{id}/share/{lid}/revoke",    PERM_PAGES,   ROUTE_PAGE | ROUTE_FORM, h_share_revoke },
    /* A read-only share link: its signature is the credential (share.h). */
    { GET,  "/share/{token}",                       PERM_NONE,    ROUTE_PAGE,             h_share_view },
    { GET,  "/share/{token}/report",                PERM_NONE,    ROUTE_PAGE,             h_share_report },
    { GET,  "/share/{token}/artifacts/{aid}",       PERM_NONE,    ROUTE_PAGE,             h_share_artifact },
    { GET,  "/share/{token}/events/{eid}/result",   PERM_NONE,    ROUTE_PAGE,             h_share_payload },
    { GET,  "/share/{token}/events/{eid}/arguments", PERM_NONE,   ROUTE_PAGE,             h_share_payload },
    { GET,  "/sessions/{id}/report",                PERM_PAGES,   ROUTE_PAGE,             h_report_get },
    { POST, "/sessions/{id}/pause",                 PERM_PAUSE,   ROUTE_PAGE | ROUTE_FORM, h_page_action },
    { POST, "/sessions/{id}/resume",                PERM_PAUSE,   ROUTE_PAGE | ROUTE_FORM, h_page_action },
    { POST, "/sessions/{id}/cancel",                PERM_CANCEL,  ROUTE_PAGE | ROUTE_FORM, h_page_action },
    { POST, "/sessions/{id}/delete",                PERM_DELETE,  ROUTE_PAGE | ROUTE_FORM, h_page_action },
    { GET,  "/tasks",                               PERM_PAGES,   ROUTE_PAGE,             h_page_tasks },
    { POST, "/tasks/{id}/complete",                 PERM_INPUT,   ROUTE_PAGE | ROUTE_FORM, h_page_task_complete },
    { GET,  "/admin",                               PERM_ADMIN,   ROUTE_PAGE,             h_admin_root },
    { GET,  "/admin/users",                         PERM_ADMIN,   ROUTE_PAGE,             h_admin_users },
    { POST, "/admin/users",                         PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_user_create },
    { POST, "/admin/users/{id}/password",           PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_user_password },
    { POST, "/admin/users/{id}/disable",            PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_user_disable },
    { POST, "/admin/users/{id}/enable",             PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_user_enable },
    { POST, "/admin/users/{id}/grants",             PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_user_grant },
    { POST, "/admin/grants/{id}/revoke",            PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_grant_revoke },
    { GET,  "/admin/tokens",                        PERM_ADMIN,   ROUTE_PAGE,             h_admin_tokens },
    { POST, "/admin/tokens",                        PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_token_create },
    { POST, "/admin/tokens/{id}/revoke",            PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_token_revoke },
    { GET,  "/admin/retention",                     PERM_ADMIN,   ROUTE_PAGE,             h_admin_retention },
    { POST, "/admin/retention",                     PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_retention_set },
    { POST, "/admin/retention/{project}/clear",     PERM_ADMIN,   ROUTE_PAGE | ROUTE_FORM, h_admin_retention_clear },
    { GET,  "/admin/audit",                         PERM_ADMIN,   ROUTE_PAGE,             h_admin_audit },
    { POST, "/api/v1/sessions",                     PERM_RUNTIME, ROUTE_API,              h_api_sessions_create },
    { GET,  "/api/v1/sessions",                     PERM_READ,    ROUTE_API | ROUTE_CACHE,  h_api_sessions_list },
    { GET,  "/api/v1/sessions/{id}",                PERM_READ,    ROUTE_API | ROUTE_CACHE,  h_api_session_get },
    { POST, "/api/v1/sessions/{id}/events",         PERM_RUNTIME, ROUTE_API,              h_api_events_append },
    { GET,  "/api/v1/sessions/{id}/events",         PERM_READ,    ROUTE_API | ROUTE_CACHE,  h_api_events_list },
    /* API v1, issue 7: edit a session; one event (h_api_sessions.c). */
    { PATCH, "/api/v1/sessions/{id}",               PERM_WRITE,   ROUTE_API,              h_api_session_patch },
    { GET,  "/api/v1/sessions/{id}/events/{eid}",   PERM_READ,    ROUTE_API,              h_api_event_get },
    { DEL,  "/api/v1/sessions/{id}/events/{eid}",   PERM_WRITE,   ROUTE_API,              h_api_event_delete },
    { POST, "/api/v1/sessions/{id}/events/{eid}/hide", PERM_WRITE, ROUTE_API,             h_api_event_hide },
    { POST, "/api/v1/sessions/{id}/events/{eid}/unhide", PERM_WRITE, ROUTE_API,           h_api_event_unhide },
    { DEL,  "/api/v1/sessions/{id}",                PERM_DELETE,  ROUTE_API,              h_api_delete },
    { POST, "/api/v1/sessions/{id}/pause",          PERM_PAUSE,   ROUTE_API,              h_api_pause },
    { POST, "/api/v1/sessions/{id}/resume",         PERM_PAUSE,   ROUTE_API,              h_api_resume },
    { POST, "/api/v1/sessions/{id}/cancel",         PERM_CANCEL,  ROUTE_API,              h_api_cancel },
    { POST, "/api/v1/sessions/bulk",                PERM_READ,    ROUTE_API,              h_api_bulk },
    { GET,  "/api/v1/sessions/{id}/control",        PERM_RUNTIME, ROUTE_API,              h_api_control },
    { POST, "/api/v1/sessions/{id}/input",          PERM_INPUT,   ROUTE_API,              h_api_input },
    { GET,  "/api/v1/sessions/{id}/client-tool-calls", PERM_INPUT, ROUTE_API,             h_api_client_calls },
    /* Session data: artifacts, logs, report, eval runs (h_api_data.c). */
    { POST, "/api/v1/sessions/{id}/artifacts",      PERM_RUNTIME, ROUTE_API,              h_api_artifact_create },
    { GET,  "/api/v1/sessions/{id}/artifacts",      PERM_READ,    ROUTE_API,              h_api_artifacts_list },
    { GET,  "/api/v1/sessions/{id}/artifacts/{aid}", PERM_READ,   ROUTE_API,              h_api_artifact_get },
    { GET,  "/api/v1/sessions/{id}/artifacts/{aid}/download", PERM_READ, ROUTE_API,       h_artifact_download },
    { GET,  "/api/v1/sessions/{id}/logs",           PERM_READ,    ROUTE_API,              h_api_logs_list },
    { POST, "/api/v1/sessions/{id}/logs",           PERM_RUNTIME, ROUTE_API,              h_api_logs_append },
    { PUT,  "/api/v1/sessions/{id}/report",         PERM_RUNTIME, ROUTE_API,              h_api_report_put },
    { GET,  "/api/v1/sessions/{id}/report",         PERM_READ,    ROUTE_API,              h_report_get },
    { POST, "/api/v1/sessions/{id}/evals",          PERM_RUNTIME, ROUTE_API,              h_api_eval_create },
    { GET,  "/api/v1/sessions/{id}/evals",          PERM_READ,    ROUTE_API,              h_api_evals_list },
    { GET,  "/api/v1/tasks",                        PERM_READ,    ROUTE_API,              h_api_tasks },
    { POST, "/api/v1/tasks/{id}/complete",          PERM_INPUT,   ROUTE_API,              h_api_task_complete },
    { GET,  "/api/v1/retention",                    PERM_ADMIN,   ROUTE_API,              h_retention_list },
    { PUT,  "/api/v1/retention/{project}",          PERM_ADMIN,   ROUTE_API,              h_retention_put },
    { DEL,  "/api/v1/retention/{project}",          PERM_ADMIN,   ROUTE_API,              h_retention_delete },
    /* OTLP/HTTP (docs/opentelemetry.md): the paths OpenTelemetry exporters
     * append to OTEL_EXPORTER_OTLP_ENDPOINT. */
    { POST, "/v1/traces",                           PERM_RUNTIME, ROUTE_API,              h_otlp_traces },
    { POST, "/v1/logs",                             PERM_RUNTIME, ROUTE_API,              h_otlp_logs },
};
const size_t route_count = sizeof route_table / sizeof route_table[0];

/* Does path match pattern? Parameters go to params (arena copies). */
static int route_try(const char *pattern, const char *path, arena *a,
                     const char **params, size_t *nparams)
{
    size_t np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            if (!pe) return 0;
            if (!se) se = s + strlen(s);
            if (se == s || np >= HTTP_MAX_PARAMS) return 0;
            if (params) params[np] = arena_strndup(a, s, (size_t)(se - s));
            np++;
            p = pe + 1;
            s = se;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return 0;
        }
    }
    if (*p || *s) return 0;
    if (nparams) *nparams = np;
    return 1;
}

const route *route_match(http_req *req, arena *a, unsigned *allowed)
{
    *allowed = 0;
    unsigned m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
    for (size_t i = 0; i < route_count; i++) {
        const route *r = &route_table[i];
        if (!route_try(r->pattern, req->path, NULL, NULL, NULL)) continue;
        *allowed |= r->methods;
        if (!(r->methods & m)) continue;
        /* Matched: now copy the parameters out. */
        req->nparams = 0;
        if (!route_try(r->pattern, req->path, a, req->params, &req->nparams)) return NULL;
        for (size_t k = 0; k < req->nparams; k++)
            if (!req->params[k]) return NULL;
        return r;
    }
    if (*allowed & HTTP_GET) *allowed |= HTTP_HEAD;
    return NULL;
}

void route_allow_header(unsigned methods, char *out, size_t n)
{
    static const struct { unsigned m; const char *name; } names[] = {
        { HTTP_GET, "GET" }, { HTTP_HEAD, "HEAD" }, { HTTP_POST, "POST" },
        { HTTP_PUT, "PUT" }, { HTTP_PATCH, "PATCH" }, { HTTP_DELETE, "DELETE" },
    };
    size_t len = 0;
    if (n == 0) return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(methods & names[i].m)) continue;
        int w = snprintf(out + len, n - len, "%s%s", len ? ", " : "", names[i].name);
        if (w < 0 || (size_t)w >= n - len) { out[len] = '\0'; break; }
        len += (size_t)w;
    }
}
