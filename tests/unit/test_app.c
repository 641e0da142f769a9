/* Unit tests for the answer conventions of cgi/app.c that need no database
 * or server: app_finish (Retry-After, ETag and 304, CORS, request id on
 * answers written before routing), ctx_set_request_id, app_cors_config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "harness.h"

/* A ctx for path with method m and response status/body, no db. */
static void mk(ctx *c, app *ap, arena *a, const char *method, const char *path, int status,
               const char *body)
{
    ctx_begin(c, ap, NULL, a);
    c->req.method_name = method;
    c->req.method = http_method_parse(method);
    c->req.path = path;
    c->resp.status = status;
    if (body) {
        buf_puts(&c->resp.body, body);
        c->resp.content_type = "application/json";
    }
}

/* The value of response header name, copied into out ("" when absent). */
static const char *hdr(const ctx *c, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    const char *h = c->resp.headers.p ? c->resp.headers.p : "";
    size_t nl = strlen(name);
    for (const char *l = h; *l;) {
        const char *e = strstr(l, "\r\n");
        if (!e) break;
        if (!strncmp(l, name, nl) && l[nl] == ':') {
            snprintf(out, n, "%.*s", (int)(e - l - nl - 2), l + nl + 2);
            return out;
        }
        l = e + 2;
    }
    return out;
}

TEST(test_request_id)
{
    app ap = { 0 };
    arena *a = arena_new();
    ctx c;
    ctx_begin(&c, &ap, NULL, a);
    CHECK_INT(strlen(c.request_id), 16);
    CHECK_INT(ctx_set_request_id(&c, "proxy-7f3a.01_x"), 1);
    CHECK_STR(c.request_id, "proxy-7f3a.01_x");
    char long_id[CTX_REQUEST_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    CHECK_INT(ctx_set_request_id(&c, long_id), 0);
    long_id[CTX_REQUEST_ID_MAX] = '\0';
    CHECK_INT(ctx_set_request_id(&c, long_id), 1);
    CHECK_INT(ctx_set_request_id(&c, "a b"), 0);
    CHECK_INT(ctx_set_request_id(&c, "a\r\nX: y"), 0);
    CHECK_INT(ctx_set_request_id(&c, ""), 0);
    CHECK_INT(ctx_set_request_id(&c, NULL), 0);
    CHECK_STR(c.request_id, long_id);
    ctx_end(&c);
    arena_free(a);
}

TEST(test_retry_after_and_early_headers)
{
    app ap = { 0 };
    arena *a = arena_new();
    ctx c;
    char v[128];
    mk(&c, &ap, a, "GET", "/healthz", 503, "{}");
    app_finish(&c);
    CHECK_STR(hdr(&c, "Retry-After", v, sizeof v), "5");
    CHECK_STR(hdr(&c, "X-Request-Id", v, sizeof v), c.request_id);
    CHECK_STR(hdr(&c, "X-Content-Type-Options", v, sizeof v), "nosniff");
    ctx_end(&c);
    mk(&c, &ap, a, "POST", "/login", 429, NULL);
    app_finish(&c);
    CHECK_STR(hdr(&c, "Retry-After", v, sizeof v), "60");
    ctx_end(&c);
    /* A handler's own value stays, once. */
    mk(&c, &ap, a, "POST", "/api/v1/sessions", 503, "{}");
    http_resp_header(&c.resp, "Retry-After", "1");
    app_finish(&c);
    CHECK_STR(hdr(&c, "Retry-After", v, sizeof v), "1");
    CHECK(strstr(c.resp.headers.p, "Retry-After: 1\r\n") == strstr(c.resp.headers.p, "Retry-After"));
    CHECK(!strstr(strstr(c.resp.headers.p, "Retry-After") + 1, "Retry-After"));
    ctx_end(&c);
    mk(&c, &ap, a, "GET", "/api/v1/sessions", 200, "{}");
    app_finish(&c);
    CHECK_STR(hdr(&c, "Retry-After", v, sizeof v), "");
    ctx_end(&c);
    arena_free(a);
}

TEST(test_etag_and_304)
{
    app ap = { 0 };
    arena *a = arena_new();
    ctx c;
    char tag[80], v[128];
    mk(&c, &ap, a, "GET", "/api/v1/sessions", 200, "{\"data\":[]}");
    app_finish(&c);
    hdr(&c, "ETag", tag, sizeof tag);
    CHECK_INT(strlen(tag), 34);
    CHECK(tag[0] == '"' && tag[33] == '"');
    CHECK_STR(hdr(&c, "Cache-Control", v, sizeof v), "private, no-cache");
    ctx_end(&c);

    /* Same body, same tag; another body, another tag. */
    mk(&c, &ap, a, "GET", "/api/v1/sessions", 200, "{\"data\":[]}");
    app_finish(&c);
    CHECK_STR(hdr(&c, "ETag", v, sizeof v), tag);
    ctx_end(&c);
    mk(&c, &ap, a, "GET", "/api/v1/sessions", 200, "{\"data\":[1]}");
    app_finish(&c);
    CHECK(strcmp(hdr(&c, "ETag", v, sizeof v), tag) != 0);
    ctx_end(&c);

    /* If-None-Match: exact, weak, in a list, with mod_deflate's suffix, "*". */
    char gz[90], weak[90], list[200];
    snprintf(gz, sizeof gz, "%.33s-gzip\"", tag);
    snprintf(weak, sizeof weak, "W/%s", tag);
    snprintf(list, sizeof list, "\"x\", %s ,\"y\"", tag);
    const char *fresh[] = { tag, weak, list, gz, "*" };
    for (size_t i = 0; i < sizeof fresh / sizeof fresh[0]; i++) {
        mk(&c, &ap, a, i % 2 ? "HEAD" : "GET", "/api/v1/sessions", 200, "{\"data\":[]}");
        c.if_none_match = fresh[i];
        app_finish(&c);
        CHECK_INT(c.resp.status, 304);
        CHECK_INT(c.resp.body.len, 0);
        CHECK(c.resp.content_type == NULL);
        CHECK_STR(hdr(&c, "ETag", v, sizeof v), fresh[i] == gz ? gz : tag);
        ctx_end(&c);
    }
    char other[90];
    snprintf(other, sizeof other, "%.32sx\"", tag);
    const char *stale[] = { other, "\"\"", "W/", ",,", tag + 1 };
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        mk(&c, &ap, a, "GET", "/api/v1/sessions", 200, "{\"data\":[]}");
        c.if_none_match = stale[i];
        app_finish(&c);
        CHECK_INT(c.resp.status, 200);
        CHECK(c.resp.body.len > 0);
        ctx_end(&c);
    }
    /* Not a successful API GET: no tag. */
    const struct { const char *m, *p; int st; } none[] = {
        { "POST", "/api/v1/sessions", 200 }, { "GET", "/api/v1/sessions/x", 404 },
        { "GET", "/sessions", 200 }, { "GET", "/api/v1/sessions", 201 },
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        mk(&c, &ap, a, none[i].m, none[i].p, none[i].st, "{}");
        c.if_none_match = "*";
        app_finish(&c);
        CHECK_STR(hdr(&c, "ETag", v, sizeof v), "");
        CHECK_INT(c.resp.status, none[i].st);
        ctx_end(&c);
    }
    arena_free(a);
}

TEST(test_cors_config)
{
    app ap = { 0 };
    char err[160];
    CHECK_INT(app_cors_config(&ap, NULL, err, sizeof err), 0);
    CHECK_INT(ap.ncors_origins, 0);
    CHECK_INT(app_cors_config(&ap, "", err, sizeof err), 0);
    CHECK_INT(ap.ncors_origins, 0);
    CHECK_INT(app_cors_config(&ap, " https://a.example , http://localhost:3000,,", err, sizeof err), 0);
    CHECK_INT(ap.ncors_origins, 2);
    CHECK_STR(ap.cors_origins[0], "https://a.example");
    CHECK_STR(ap.cors_origins[1], "http://localhost:3000");
    for (size_t i = 0; i < ap.ncors_origins; i++) free((char *)ap.cors_origins[i]);
    free((void *)ap.cors_origins);
    const char *bad[] = { "*", "https://a.example/", "a.example", "https://", "https://u@a.example",
                          "ftp://a.example", "https://a.example, *" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        app b = { 0 };
        err[0] = '\0';
        CHECK_INT(app_cors_config(&b, bad[i], err, sizeof err), -1);
        CHECK(strstr(err, "not an origin") != NULL);
        CHECK_INT(b.ncors_origins, 0);
    }
}

TEST(test_cors_headers)
{
    app ap = { 0 };
    char err[160], v[200];
    CHECK_INT(app_cors_config(&ap, "https://a.example", err, sizeof err), 0);
    arena *a = arena_new();
    ctx c;
    mk(&c, &ap, a, "GET", "/api/v1/sessions", 200, "{}");
    c.origin = "https://a.example";
    app_finish(&c);
    CHECK_STR(hdr(&c, "Access-Control-Allow-Origin", v, sizeof v), "https://a.example");
    CHECK_STR(hdr(&c, "Vary", v, sizeof v), "Origin");
    CHECK(strstr(c.resp.headers.p, "Access-Control-Allow-Credentials") == NULL);
    ctx_end(&c);
    mk(&c, &ap, a, "GET", "/api/v1/sessions", 200, "{}");
    c.origin = "https://a.example.evil";
    app_finish(&c);
    CHECK_STR(hdr(&c, "Access-Control-Allow-Origin", v, sizeof v), "");
    CHECK_STR(hdr(&c, "Vary", v, sizeof v), "Origin");
    ctx_end(&c);
    mk(&c, &ap, a, "GET", "/sessions", 200, "{}");
    c.origin = "https://a.example";
    app_finish(&c);
    CHECK(strstr(c.resp.headers.p, "Access-Control") == NULL);
    ctx_end(&c);
    arena_free(a);
    free((char *)ap.cors_origins[0]);
    free((void *)ap.cors_origins);
}

int main(void)
{
    if (auth_init()) return 1;
    RUN(test_request_id);
    RUN(test_retry_after_and_early_headers);
    RUN(test_etag_and_304);
    RUN(test_cors_config);
    RUN(test_cors_headers);
    return DONE();
}
