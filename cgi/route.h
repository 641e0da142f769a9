/* route: the one table of every page and API route: method(s), path pattern,
 * the permission the caller needs, flags, handler. The dispatcher (app.c)
 * checks the permission before any handler runs, so a route cannot exist
 * without one. Patterns are literal segments and "{name}" parameters that
 * match one non-empty segment. */
#ifndef FD_ROUTE_H
#define FD_ROUTE_H

#include "app.h"

typedef hres (*route_fn)(ctx *c);

enum route_flags {
    ROUTE_API  = 1 << 0, /* JSON in/out, bearer tokens only */
    ROUTE_PAGE = 1 << 1, /* HTML, cookie session; unauthenticated GETs go to /login */
    ROUTE_FORM = 1 << 2, /* a state-changing form: CSRF token required */
    ROUTE_CACHE = 1 << 3 /* a read whose answer depends only on who asks, the URI and the
                          * database: kept in pcache (pcache.h) */
};

typedef struct route {
    unsigned    methods;  /* http_method bits */
    const char *pattern;
    perm        perm;
    unsigned    flags;
    route_fn    fn;
} route;

extern const route route_table[];
extern const size_t route_count;

/* The route for (method, path), its parameters copied into arena a and
 * stored in req->params.
 * NULL when nothing matches: then *allowed holds the methods the path does
 * accept (0 when the path is unknown: 404; else 405 with Allow). HEAD matches
 * GET routes. */
const route *route_match(http_req *req, arena *a, unsigned *allowed);

/* "GET, POST" for an Allow header, into out. */
void route_allow_header(unsigned methods, char *out, size_t n);

#endif
