/* fuzz_http: the pure request parsers of http.c. The whole input goes
 * through http_parse_query (query string and urlencoded form),
 * http_parse_cookies and http_urldecode (both '+' modes); for multipart the
 * input is split at its first '\n' into a Content-Type value and a body,
 * the boundary is read with http_multipart_boundary and the body parsed
 * with http_parse_multipart. Results are checked against the contracts in
 * http.h (parts inside the body, bounded counts, NUL-free strings). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static arena *A;

/* Walk a parsed pair list: every key NUL-terminated, every value of the
 * length claimed, first lookups agree with the list. Aborts otherwise. */
static void check_kvs(const http_kvs *kv)
{
    if (kv->n > HTTP_MAX_PAIRS) abort();
    for (size_t i = 0; i < kv->n; i++) {
        if (!kv->v[i].key || !kv->v[i].val) abort();
        if (kv->v[i].val[kv->v[i].val_len] != '\0') abort();
        size_t len = 0;
        const char *v = http_kvs_getn(kv, kv->v[i].key, &len);
        if (!v) abort();
    }
    (void)http_kvs_get(kv, "");
}

/* One input. Always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!A && !(A = arena_new())) abort();
    const char *s = (const char *)data;
    char *z = arena_strndup(A, s, size); /* C-string view (cut at a NUL) */
    if (!z) abort();

    http_kvs kv = { 0 };
    if (http_parse_query(A, s, size, &kv) == 0) check_kvs(&kv);
    http_kvs ck = { 0 };
    if (http_parse_cookies(A, z, &ck) == 0) check_kvs(&ck);
    for (int plus = 0; plus < 2; plus++) {
        size_t n = (size_t)-1;
        char *d = http_urldecode(A, s, size, plus, &n);
        if (d && (n > size || d[n] != '\0')) abort();
    }
    (void)http_method_parse(z);

    const char *nl = memchr(s, '\n', size);
    if (nl) {
        char *ct = arena_strndup(A, s, (size_t)(nl - s));
        char bnd[HTTP_BOUNDARY_MAX + 1];
        if (ct && http_multipart_boundary(ct, bnd, sizeof bnd) == 0) {
            size_t bl = strlen(bnd);
            if (bl < 1 || bl > HTTP_BOUNDARY_MAX) abort();
            const char *body = nl + 1;
            size_t blen = size - (size_t)(nl + 1 - s);
            /* A copy of exactly blen bytes, so ASan sees any over-read. */
            char *copy = malloc(blen ? blen : 1);
            if (!copy) abort();
            memcpy(copy, body, blen);
            http_part parts[HTTP_MP_MAX_PARTS];
            size_t np = 0;
            const char *why = NULL;
            if (http_parse_multipart(A, bnd, copy, blen, parts, HTTP_MP_MAX_PARTS, &np, &why) == 0) {
                if (np > HTTP_MP_MAX_PARTS) abort();
                for (size_t i = 0; i < np; i++) {
                    if (!parts[i].name) abort();
                    if (parts[i].data < copy || parts[i].data + parts[i].len > copy + blen) abort();
                    (void)strlen(parts[i].name);
                    if (parts[i].filename) (void)strlen(parts[i].filename);
                    if (parts[i].content_type) (void)strlen(parts[i].content_type);
                }
            } else if (!why) {
                abort();
            }
            free(copy);
        }
    }
    arena_clear(A);
    return 0;
}
