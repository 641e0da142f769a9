/* app: what one request sees while it is handled (ctx), the process-wide
 * read-only state (app), and the response helpers every handler uses.
 *
 * Ownership: everything hanging off a ctx (arena, parsed JSON body, the view
 * model, response buffers) is released by ctx_end(), the one place where
 * per-request memory goes. Handlers never free what they gave to a ctx_*
 * helper. */
#ifndef FD_APP_H
#define FD_APP_H

#include <cjson/cJSON.h>
#include <time.h>
#include "arena.h"
#include "auth.h"
#include "http.h"
#include "tmpl.h"
#include "wgroup.h"

struct db;
struct route;

/* Longest request id: ours are 16 characters; one a client or proxy sends
 * (X-Request-Id) is kept when it is a short safe token (ctx_set_request_id). */
#define CTX_REQUEST_ID_MAX 64

/* Process-wide settings and compiled templates; read-only once workers run. */
typedef struct app {
    tmpl_set   *tmpl;
    const char *db_path;
    size_t      max_body;       /* bytes; larger bodies get 413 before reading */
    int         workers;
    const char *version;
    /* Origins a browser on another site may call the API from (CORS),
     * exact "scheme://host[:port]" strings; none by default. */
    const char *const *cors_origins;
    size_t      ncors_origins;
    /* A connection that only ever reads PRAGMA data_version (under a lock in
     * app.c): it sees every commit, by any worker or process, exactly once,
     * which is when the page cache's generation moves. NULL: each request
     * asks its own connection. */
    struct db  *watch;
} app;

typedef enum hres {
    HR_OK = 0,   /* the response is complete */
    HR_ERROR     /* internal failure, nothing useful written: the dispatcher answers 500 */
} hres;

typedef struct ctx {
    const app          *app;
    struct db          *db;     /* the connection this request runs on */
    int                 pooled; /* db came from the pool (dbpool.h): parked in long waits */
    arena              *a;
    http_req            req;
    http_resp           resp;
    principal           who;
    const struct route *route;
    cJSON              *json;   /* the parsed JSON body, if any */
    cJSON              *view;   /* a view model being rendered, if any */
    /* Request headers only the dispatcher reads (main.c fills them; NULL
     * when absent). */
    const char         *if_none_match;
    const char         *origin;
    const char         *etag;   /* ETag of a cached answer (arena), or NULL */
    struct timespec     t0;     /* when the request began (CLOCK_MONOTONIC), for metrics */
    char                request_id[CTX_REQUEST_ID_MAX + 1];
} ctx;

/* Start a request: zero the ctx and bind arena, app and db. */
void ctx_begin(ctx *c, const app *ap, struct db *db, arena *a);
/* Release everything the request holds; the arena is cleared for reuse. */
void ctx_end(ctx *c);

/* Around a long wait (a long-poll): give c->db back to the pool (dbpool.h)
 * so other requests can use it, and take one again after; no statement may
 * be mid-step across the wait. Without a pool (tests, CLI) both do nothing
 * and c->db stays. After ctx_db_resume, c->db may be another connection. */
void ctx_db_park(ctx *c);
void ctx_db_resume(ctx *c);

/* wgroup_run (wgroup.h) for a request: the group runs on the writer's own
 * connection, so c->db is parked while the request waits for it. */
int ctx_wgroup_run(ctx *c, wgroup_fn fn, void *arg, int weight, int *storage_err);

/* Use the incoming X-Request-Id value v as this request's id when it is a
 * safe token: 1..CTX_REQUEST_ID_MAX characters of A-Z a-z 0-9 . _ - (so it
 * cannot split a header or forge a log line). Returns 1 when taken, 0 when
 * v is NULL or refused (the random id stays). */
int ctx_set_request_id(ctx *c, const char *v);

/* Is this an OTLP receiver's path (/v1/...), whose errors are a
 * google.rpc.Status in the request's encoding (otlp.h)? */
int ctx_is_otlp(const ctx *c);
/* Is this an API route (JSON errors) rather than a page? */
int ctx_is_api(const ctx *c);
/* Path parameter i of the matched route. */
const char *ctx_param(const ctx *c, size_t i);

/* Answer with the error shape of the route kind: JSON
 * {"error":{"code","message"}} for the API, the error page otherwise.
 * Always returns HR_OK (the response is complete). */
hres ctx_error(ctx *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, naming the offending input field (API: "field"). */
hres ctx_error_field(ctx *c, int status, const char *code, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* 409 for the API with the session's current status beside the error:
 * {"error":{"code","message"},"status":STATUS}, so a client needs no second
 * request to learn why. */
hres ctx_conflict(ctx *c, const char *code, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Answer with JSON. Takes ownership of obj (freed here, even on failure). */
hres ctx_json(ctx *c, int status, cJSON *obj);

/* Render template `name` with `view` plus the keys every page has (user,
 * csrf, nav, flash, version). Takes ownership of view. */
hres ctx_render(ctx *c, int status, const char *name, cJSON *view);

/* The body parsed as a JSON object or array. On failure answers 415 (not
 * application/json), 400 (malformed) or 422 (not an object/array) and
 * returns NULL; the caller returns HR_OK. The result is owned by the ctx. */
cJSON *ctx_body_json(ctx *c);
/* The same, answering nothing: NULL for any of those refusals. */
cJSON *ctx_body_json_quiet(ctx *c);

/* A flash message for the next page (cookie), and redirect 303 there. */
hres ctx_redirect_flash(ctx *c, const char *location, const char *kind, const char *msg);

/* Dispatch one parsed request: route, authenticate, authorize, CSRF, run the
 * handler, and turn failures into the right status. Then the conventions
 * of every answer (app_finish). */
void app_handle(ctx *c);

/* The conventions every answer gets, also those main.c writes without
 * app_handle (400/413 before routing): security headers and X-Request-Id;
 * Retry-After on 429 and 503; on the API, CORS headers for an allowed
 * Origin, and on a successful GET an ETag (hash of the body) with 304 Not
 * Modified when If-None-Match holds it; a log line with the request id for
 * every 5xx. Called once per request: by app_handle, or by main.c for an
 * answer written without it. */
void app_finish(ctx *c);

/* Parse FLIGHTDECK_CORS_ORIGINS (comma-separated exact origins, spaces
 * ignored) into ap->cors_origins (allocated for the process's life).
 * 0, or -1 with a message in err (an origin that is not scheme://host[:port],
 * or out of memory). NULL or "" leaves CORS off. */
int app_cors_config(app *ap, const char *list, char *err, size_t n);


/* May the caller do `what` on session `id`? Returns 1 when yes (project, if
 * not NULL, receives the session's project: 101 bytes). Otherwise answers —
 * 404 when the session does not exist or lies outside every project the
 * caller can read (its existence is not revealed), 403 when readable but
 * `what` is not allowed — and returns 0; -1 on a database error. */
int ctx_session_access(ctx *c, const char *id, perm what, char *project);

/* Why app_session_access refused: the answer ctx_session_access gives. */
typedef struct access_refusal {
    int         status;       /* 404 or 403 */
    const char *code;         /* "not_found" or "forbidden" */
    char        message[200];
} access_refusal;

/* The check of ctx_session_access, read on connection d, for callers with
 * no request context: a piece of a group commit (wgroup.h) checks inside
 * its own write transaction, so an append takes no shared connection.
 * 1 allowed (project as above); 0 refused, with *why; -1 on a database
 * error. */
int app_session_access(struct db *d, const principal *who, const char *id, perm what,
                       char *project, access_refusal *why);

/* The integer query parameter `name` within [lo, hi] into *out (dflt when
 * absent). 0; or -1 after answering 400 invalid_parameter (malformed or out
 * of range), and the caller returns HR_OK. */
int ctx_query_int(ctx *c, const char *name, long long lo, long long hi, long long dflt,
                  long long *out);

/* Act with the access of user `user_id` (a share link's sharer): their
 * grants, read now, replace c->who, as a PRINCIPAL_SHARE (no forms, no
 * navigation). name receives the user name. 0, or -1 (database error or no
 * such user). */
int ctx_become_user(ctx *c, int64_t user_id, char *name, size_t n);

#endif
