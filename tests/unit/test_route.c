/* Unit tests for cgi/route.c: the route table and its matcher. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "route.h"

/* The routes anyone may call, signed in or not. Adding a route without a
 * permission (PERM_NONE) makes test_perm_none_routes_exact fail. */
static const struct { unsigned method; const char *pattern; } public_routes[] = {
    { HTTP_GET, "/healthz" },
    /* The API's OpenAPI document: describes the API, holds no data. */
    { HTTP_GET, "/api/v1/openapi.json" },
    { HTTP_GET, "/" },
    { HTTP_GET, "/login" },
    { HTTP_POST, "/login" },
    /* Read-only share links: the signed token is the credential (share.h). */
    { HTTP_GET, "/share/{token}" },
    { HTTP_GET, "/share/{token}/report" },
    { HTTP_GET, "/share/{token}/artifacts/{aid}" },
    { HTTP_GET, "/share/{token}/events/{eid}/result" },
    { HTTP_GET, "/share/{token}/events/{eid}/arguments" },
};
#define NPUBLIC (sizeof public_routes / sizeof public_routes[0])

static const unsigned all_methods[] = { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH,
                                        HTTP_DELETE, HTTP_OTHER };
#define NMETHODS (sizeof all_methods / sizeof all_methods[0])

/* Build a concrete path from a pattern: the k-th "{name}" becomes
 * "val<k>_Ab-9". Returns the number of parameters. */
static size_t fill_pattern(const char *pattern, char *out, size_t n)
{
    size_t np = 0, len = 0;
    for (const char *p = pattern; *p && len + 1 < n;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (!e) break;
            len += (size_t)snprintf(out + len, n - len, "val%zu_Ab-9", np);
            np++;
            p = e + 1;
        } else {
            out[len++] = *p++;
        }
    }
    out[len < n ? len : n - 1] = '\0';
    return np;
}

static void req_init(http_req *r, unsigned method, const char *path)
{
    memset(r, 0, sizeof *r);
    r->method = (http_method)method;
    r->path = path;
    r->query_string = "";
}

/* Methods of every route whose pattern matches path, as the matcher should
 * report them in *allowed (HEAD added when GET is there). */
static unsigned methods_for_pattern(const char *pattern)
{
    unsigned m = 0;
    for (size_t i = 0; i < route_count; i++)
        if (strcmp(route_table[i].pattern, pattern) == 0) m |= route_table[i].methods;
    if (m & HTTP_GET) m |= HTTP_HEAD;
    return m;
}

TEST(test_table_sane)
{
    CHECK(route_count > 0);
    for (size_t i = 0; i < route_count; i++) {
        const route *r = &route_table[i];
        CHECK(r->pattern != NULL && r->pattern[0] == '/');
        CHECK(r->methods != 0);
        CHECK((r->methods & ~(unsigned)(HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)) == 0);
        CHECK(r->fn != NULL);
        CHECK((unsigned)r->perm < PERM__COUNT);
        /* Exactly one of API or PAGE. */
        CHECK(((r->flags & ROUTE_API) != 0) != ((r->flags & ROUTE_PAGE) != 0));
        /* CSRF protection only makes sense on pages. */
        if (r->flags & ROUTE_FORM) CHECK(r->flags & ROUTE_PAGE);
        /* No two routes with the same method and pattern (the second would
         * be unreachable). */
        for (size_t j = i + 1; j < route_count; j++)
            if (strcmp(r->pattern, route_table[j].pattern) == 0)
                CHECK((r->methods & route_table[j].methods) == 0);
    }
}

TEST(test_every_route_matches_itself)
{
    arena *a = arena_new();
    for (size_t i = 0; i < route_count; i++) {
        const route *want = &route_table[i];
        char path[512];
        size_t np = fill_pattern(want->pattern, path, sizeof path);
        for (size_t k = 0; k < NMETHODS; k++) {
            unsigned m = all_methods[k];
            if (!(want->methods & m)) continue;
            http_req req;
            req_init(&req, m, path);
            unsigned allowed = 12345;
            const route *got = route_match(&req, a, &allowed);
            if (got != want)
                fprintf(stderr, "    %s (method %u) did not match its own route\n", path, m);
            CHECK(got == want);
            CHECK_INT(req.nparams, np);
            for (size_t p = 0; p < np && p < HTTP_MAX_PARAMS; p++) {
                char v[32];
                snprintf(v, sizeof v, "val%zu_Ab-9", p);
                CHECK_STR(req.params[p], v);
                /* The parameter is a copy, not a pointer into the path. */
                CHECK(req.params[p] < path || req.params[p] >= path + sizeof path);
            }
        }
    }
    arena_free(a);
}

TEST(test_specific_params)
{
    arena *a = arena_new();
    http_req req;
    unsigned allowed;
    req_init(&req, HTTP_POST, "/api/v1/sessions/ses_abc/events");
    const route *r = route_match(&req, a, &allowed);
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(r->pattern, "/api/v1/sessions/{id}/events");
        CHECK(r->methods & HTTP_POST);
        CHECK_INT(r->perm, PERM_RUNTIME);
    }
    CHECK_INT(req.nparams, 1);
    CHECK_STR(req.params[0], "ses_abc");

    req_init(&req, HTTP_GET, "/sessions/ses_xyz");
    r = route_match(&req, a, &allowed);
    CHECK(r != NULL);
    if (r) CHECK_STR(r->pattern, "/sessions/{id}");
    CHECK_STR(req.params[0], "ses_xyz");

    /* A literal route is not taken as a parameter and vice versa. */
    req_init(&req, HTTP_GET, "/api/v1/sessions");
    r = route_match(&req, a, &allowed);
    CHECK(r != NULL);
    if (r) CHECK_STR(r->pattern, "/api/v1/sessions");
    CHECK_INT(req.nparams, 0);
    arena_free(a);
}

TEST(test_head_matches_get)
{
    arena *a = arena_new();
    int n_get = 0;
    for (size_t i = 0; i < route_count; i++) {
        const route *want = &route_table[i];
        if (!(want->methods & HTTP_GET)) continue;
        n_get++;
        char path[512];
        fill_pattern(want->pattern, path, sizeof path);
        http_req req;
        req_init(&req, HTTP_HEAD, path);
        unsigned allowed;
        const route *got = route_match(&req, a, &allowed);
        if (got != want) fprintf(stderr, "    HEAD %s\n", path);
        CHECK(got == want);
    }
    CHECK(n_get > 0);
    /* HEAD on a POST-only path is 405 without GET or HEAD in Allow. */
    http_req req;
    req_init(&req, HTTP_HEAD, "/logout");
    unsigned allowed = 0;
    CHECK(route_match(&req, a, &allowed) == NULL);
    CHECK_INT(allowed, HTTP_POST);
    arena_free(a);
}

TEST(test_wrong_method_405)
{
    arena *a = arena_new();
    for (size_t i = 0; i < route_count; i++) {
        char path[512];
        fill_pattern(route_table[i].pattern, path, sizeof path);
        unsigned expect = methods_for_pattern(route_table[i].pattern);
        for (size_t k = 0; k < NMETHODS; k++) {
            unsigned m = all_methods[k];
            if (expect & m) continue;
            http_req req;
            req_init(&req, m, path);
            unsigned allowed = 0;
            const route *got = route_match(&req, a, &allowed);
            if (got) {
                /* Another pattern may match the same path ("/api/v1/sessions/bulk"
                 * is also a {id}); it must be a different route that takes m. */
                CHECK(strcmp(got->pattern, route_table[i].pattern) != 0);
                CHECK(got->methods & (m == HTTP_HEAD ? HTTP_GET : m));
                continue;
            }
            if ((allowed & expect) != expect)
                fprintf(stderr, "    %s method %u: allowed %u, expected at least %u\n", path, m,
                        allowed, expect);
            CHECK_INT(allowed & expect, expect);
        }
    }
    arena_free(a);
}

TEST(test_allow_header_text)
{
    arena *a = arena_new();
    char out[128];
    http_req req;
    unsigned allowed;

    req_init(&req, HTTP_POST, "/healthz");
    CHECK(route_match(&req, a, &allowed) == NULL);
    route_allow_header(allowed, out, sizeof out);
    CHECK_STR(out, "GET, HEAD");

    req_init(&req, HTTP_DELETE, "/login");
    CHECK(route_match(&req, a, &allowed) == NULL);
    route_allow_header(allowed, out, sizeof out);
    CHECK_STR(out, "GET, HEAD, POST");

    req_init(&req, HTTP_PUT, "/api/v1/sessions");
    CHECK(route_match(&req, a, &allowed) == NULL);
    route_allow_header(allowed, out, sizeof out);
    CHECK_STR(out, "GET, HEAD, POST");

    req_init(&req, HTTP_GET, "/logout");
    CHECK(route_match(&req, a, &allowed) == NULL);
    route_allow_header(allowed, out, sizeof out);
    CHECK_STR(out, "POST");

    route_allow_header(HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE,
                       out, sizeof out);
    CHECK_STR(out, "GET, HEAD, POST, PUT, PATCH, DELETE");
    route_allow_header(0, out, sizeof out);
    CHECK_STR(out, "");
    route_allow_header(HTTP_OTHER, out, sizeof out);
    CHECK_STR(out, "");
    /* A short buffer gets whole names only, and stays terminated. */
    char tiny[10];
    memset(tiny, 'X', sizeof tiny);
    route_allow_header(HTTP_GET | HTTP_HEAD | HTTP_POST, tiny, sizeof tiny);
    CHECK_STR(tiny, "GET, HEAD");
    char tiny2[6];
    route_allow_header(HTTP_GET | HTTP_HEAD, tiny2, sizeof tiny2);
    CHECK_STR(tiny2, "GET");
    arena_free(a);
}

TEST(test_unknown_path_404)
{
    static const char *const paths[] = {
        "/nope", "/sessionsx", "/session", "/api", "/api/v1", "/api/v1/sessions/x/unknown",
        "/api/v1/sessions/x/events/extra/more", "/HEALTHZ", "/healthz/x", "/login/", "",
    };
    arena *a = arena_new();
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (size_t k = 0; k < NMETHODS; k++) {
            http_req req;
            req_init(&req, all_methods[k], paths[i]);
            unsigned allowed = 999;
            CHECK(route_match(&req, a, &allowed) == NULL);
            if (allowed != 0) fprintf(stderr, "    %s: allowed %u\n", paths[i], allowed);
            CHECK_INT(allowed, 0);
        }
    }
    arena_free(a);
}

TEST(test_empty_segment_and_trailing_slash)
{
    static const char *const paths[] = {
        "/sessions/",                 /* empty {id} */
        "/sessions//",
        "/sessions/abc/",             /* trailing slash after {id} */
        "/sessions//x",
        "/api/v1/sessions/",
        "/api/v1/sessions//events",   /* empty {id} in the middle */
        "/api/v1/sessions/abc/events/",
        "/api/v1/sessions/abc/",
        "/api/v1/sessions/a/b/events", /* a parameter is one segment only */
        "/sessions/a/b",
    };
    arena *a = arena_new();
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (size_t k = 0; k < NMETHODS; k++) {
            http_req req;
            req_init(&req, all_methods[k], paths[i]);
            unsigned allowed = 999;
            const route *r = route_match(&req, a, &allowed);
            if (r) fprintf(stderr, "    %s matched %s\n", paths[i], r->pattern);
            CHECK(r == NULL);
            CHECK_INT(allowed, 0);
        }
    }
    arena_free(a);
}

TEST(test_perm_none_routes_exact)
{
    int seen[NPUBLIC] = { 0 };
    for (size_t i = 0; i < route_count; i++) {
        const route *r = &route_table[i];
        if (r->perm != PERM_NONE) {
            CHECK(r->perm > PERM_NONE && r->perm < PERM__COUNT);
            continue;
        }
        int known = 0;
        for (size_t k = 0; k < NPUBLIC; k++)
            if (strcmp(r->pattern, public_routes[k].pattern) == 0 &&
                (r->methods & public_routes[k].method)) {
                known = 1;
                seen[k] = 1;
                /* and no other method rides along */
                CHECK_INT(r->methods, public_routes[k].method);
            }
        if (!known) fprintf(stderr, "    route %s has no permission (PERM_NONE)\n", r->pattern);
        CHECK(known);
    }
    for (size_t k = 0; k < NPUBLIC; k++) {
        if (!seen[k]) fprintf(stderr, "    public route %s missing\n", public_routes[k].pattern);
        CHECK(seen[k]);
    }
}

TEST(test_route_permissions)
{
    /* The permission of the routes DESIGN.md section 9 names. */
    static const struct { unsigned m; const char *path; perm p; unsigned flag; } want[] = {
        { HTTP_POST, "/api/v1/sessions", PERM_RUNTIME, ROUTE_API },
        { HTTP_GET, "/api/v1/sessions", PERM_READ, ROUTE_API },
        { HTTP_GET, "/api/v1/sessions/x", PERM_READ, ROUTE_API },
        { HTTP_POST, "/api/v1/sessions/x/events", PERM_RUNTIME, ROUTE_API },
        { HTTP_GET, "/api/v1/sessions/x/events", PERM_READ, ROUTE_API },
        { HTTP_GET, "/sessions", PERM_PAGES, ROUTE_PAGE },
        { HTTP_GET, "/sessions/x", PERM_PAGES, ROUTE_PAGE },
        { HTTP_POST, "/logout", PERM_PAGES, ROUTE_PAGE | ROUTE_FORM },
    };
    arena *a = arena_new();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        http_req req;
        req_init(&req, want[i].m, want[i].path);
        unsigned allowed;
        const route *r = route_match(&req, a, &allowed);
        CHECK(r != NULL);
        if (!r) continue;
        CHECK_INT(r->perm, want[i].p);
        CHECK((r->flags & want[i].flag) == want[i].flag);
    }
    arena_free(a);
}

TEST(test_state_changing_pages_need_csrf)
{
    /* Every page route that changes state carries ROUTE_FORM (CSRF), except
     * the sign-in form itself, which has no session to bind a token to. */
    for (size_t i = 0; i < route_count; i++) {
        const route *r = &route_table[i];
        if (!(r->flags & ROUTE_PAGE)) continue;
        if (!(r->methods & (HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE))) continue;
        if (strcmp(r->pattern, "/login") == 0) continue;
        if (!(r->flags & ROUTE_FORM)) fprintf(stderr, "    %s lacks ROUTE_FORM\n", r->pattern);
        CHECK(r->flags & ROUTE_FORM);
    }
}

int main(void)
{
    RUN(test_table_sane);
    RUN(test_every_route_matches_itself);
    RUN(test_specific_params);
    RUN(test_head_matches_get);
    RUN(test_wrong_method_405);
    RUN(test_allow_header_text);
    RUN(test_unknown_path_404);
    RUN(test_empty_segment_and_trailing_slash);
    RUN(test_perm_none_routes_exact);
    RUN(test_route_permissions);
    RUN(test_state_changing_pages_need_csrf);
    return DONE();
}
