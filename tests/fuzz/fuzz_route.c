/* fuzz_route: "METHOD request-uri" -> the path as main.c makes it (before
 * '?', percent-decoded, NUL bytes or no leading '/' give "/") ->
 * route_match. A match is checked against its pattern (rebuilding the path
 * from the pattern and the parameters gives the path back; parameters are
 * non-empty and hold no '/'); a miss against the Allow set; and
 * route_allow_header is run into every buffer size up to 40. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static arena *A;

/* Rebuild a path from pattern and params; 1 when it equals path. */
static int rebuilds(const char *pattern, const char *const *params, size_t np, const char *path)
{
    size_t k = 0;
    const char *p = pattern, *s = path;
    while (*p) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            if (!pe || k >= np) return 0;
            size_t l = strlen(params[k]);
            if (l == 0 || memchr(params[k], '/', l) || strncmp(s, params[k], l) != 0) return 0;
            s += l;
            k++;
            p = pe + 1;
        } else {
            if (*p != *s) return 0;
            p++;
            s++;
        }
    }
    return *s == '\0' && k == np;
}

/* One input. Always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!A && !(A = arena_new())) abort();
    const char *s = (const char *)data;
    const char *sp = memchr(s, ' ', size);
    size_t mlen = sp ? (size_t)(sp - s) : 0;
    const char *uri = sp ? sp + 1 : s;
    size_t ulen = size - (size_t)(uri - s);
    http_req req;
    memset(&req, 0, sizeof req);
    req.method_name = arena_strndup(A, s, mlen);
    if (!req.method_name) abort();
    req.method = http_method_parse(req.method_name);
    const char *q = memchr(uri, '?', ulen);
    size_t plen = q ? (size_t)(q - uri) : ulen;
    size_t dlen = 0;
    char *path = http_urldecode(A, uri, plen, 0, &dlen);
    req.path = (!path || dlen != strlen(path) || path[0] != '/') ? "/" : path;

    unsigned allowed = 0xdead;
    const route *r = route_match(&req, A, &allowed);
    unsigned m = req.method == HTTP_HEAD ? HTTP_GET : req.method;
    if (r) {
        if (r < route_table || r >= route_table + route_count) abort();
        if (!(r->methods & m)) abort();
        if (req.nparams > HTTP_MAX_PARAMS) abort();
        if (!rebuilds(r->pattern, req.params, req.nparams, req.path)) abort();
    } else if (allowed & m) {
        abort(); /* the path accepts this method, yet nothing matched */
    }
    char allow[40];
    for (size_t n = 0; n <= sizeof allow; n++) {
        memset(allow, 'x', sizeof allow);
        route_allow_header(allowed, allow, n);
        if (n && !memchr(allow, '\0', n)) abort();
    }
    arena_clear(A);
    return 0;
}
