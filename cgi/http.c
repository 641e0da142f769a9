/* http: parsers and response helpers. See http.h. */
#include "http.h"

#include <string.h>
#include <strings.h>

http_method http_method_parse(const char *name)
{
    static const struct { const char *name; http_method m; } map[] = {
        { "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST },
        { "PUT", HTTP_PUT }, { "PATCH", HTTP_PATCH }, { "DELETE", HTTP_DELETE },
    };
    for (size_t i = 0; name && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i].name) == 0) return map[i].m;
    return HTTP_OTHER;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *http_urldecode(arena *a, const char *s, size_t n, int plus_space, size_t *out_len)
{
    char *out = arena_alloc(a, n + 1);
    if (!out) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (n - i < 3) return NULL; /* truncated escape */
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return NULL;
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            out[j++] = ' ';
        } else {
            out[j++] = c;
        }
    }
    out[j] = '\0';
    if (out_len) *out_len = j;
    return out;
}

/* Append one pair to kvs, growing it in the arena (doubling: the old array
 * is abandoned to the arena, which is fine for at most HTTP_MAX_PAIRS). */
static int kvs_push(arena *a, http_kvs *kvs, const char *key, const char *val, size_t vlen)
{
    if (kvs->n >= HTTP_MAX_PAIRS) return -1;
    if ((kvs->n & (kvs->n - 1)) == 0) { /* n is 0 or a power of two: grow */
        size_t cap = kvs->n ? kvs->n * 2 : 8;
        http_kv *v = arena_alloc(a, cap * sizeof *v);
        if (!v) return -1;
        if (kvs->n) memcpy(v, kvs->v, kvs->n * sizeof *v);
        kvs->v = v;
    }
    kvs->v[kvs->n].key = key;
    kvs->v[kvs->n].val = val;
    kvs->v[kvs->n].val_len = vlen;
    kvs->n++;
    return 0;
}

int http_parse_query(arena *a, const char *s, size_t n, http_kvs *out)
{
    out->v = NULL;
    out->n = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != '&' && s[i] != ';') i++;
        size_t end = i;
        i++; /* skip the separator */
        if (end == start) continue;
        const char *eq = memchr(s + start, '=', end - start);
        size_t klen = eq ? (size_t)(eq - (s + start)) : end - start;
        size_t kdec, vlen = 0;
        char *key = http_urldecode(a, s + start, klen, 1, &kdec);
        char *val = eq ? http_urldecode(a, eq + 1, end - start - klen - 1, 1, &vlen)
                       : arena_strdup(a, "");
        if (!key || !val) return -1;
        if (kdec != strlen(key)) return -1; /* NUL inside a name: refuse */
        if (kvs_push(a, out, key, val, vlen)) return -1;
    }
    return 0;
}

int http_parse_cookies(arena *a, const char *s, http_kvs *out)
{
    out->v = NULL;
    out->n = 0;
    if (!s) return 0;
    while (*s) {
        while (*s == ' ' || *s == ';') s++;
        const char *start = s;
        while (*s && *s != ';') s++;
        const char *eq = memchr(start, '=', (size_t)(s - start));
        if (!eq || eq == start) continue; /* skip "junk" and "=x" */
        const char *vs = eq + 1, *ve = s;
        while (ve > vs && ve[-1] == ' ') ve--;
        if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') { vs++; ve--; }
        char *key = arena_strndup(a, start, (size_t)(eq - start));
        char *val = arena_strndup(a, vs, (size_t)(ve - vs));
        if (!key || !val) return -1;
        if (out->n < HTTP_MAX_PAIRS && kvs_push(a, out, key, val, (size_t)(ve - vs))) return -1;
    }
    return 0;
}

const char *http_kvs_getn(const http_kvs *kvs, const char *key, size_t *len)
{
    for (size_t i = 0; i < kvs->n; i++)
        if (strcmp(kvs->v[i].key, key) == 0) {
            if (len) *len = kvs->v[i].val_len;
            return kvs->v[i].val;
        }
    return NULL;
}

const char *http_kvs_get(const http_kvs *kvs, const char *key)
{
    return http_kvs_getn(kvs, key, NULL);
}

void http_resp_init(http_resp *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->headers);
    buf_init(&r->body);
}

void http_resp_fini(http_resp *r)
{
    if (!r) return;
    buf_fini(&r->headers);
    buf_fini(&r->body);
}

static int header_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n') return 0;
    return 1;
}

int http_resp_header(http_resp *r, const char *name, const char *value)
{
    if (!name || !value || !header_safe(name) || !header_safe(value)) return -1;
    buf_printf(&r->headers, "%s: %s\r\n", name, value);
    return r->headers.err ? -1 : 0;
}

void http_resp_redirect(http_resp *r, const char *location)
{
    /* Only same-site paths: "/x" but not "//host" or "/\host", and no control
     * characters (browsers drop tabs, so "/\t/host" would become "//host"). */
    for (const char *q = location; location && *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f) { location = "/"; break; }
    if (!location || location[0] != '/' || location[1] == '/' || location[1] == '\\')
        location = "/";
    r->status = 303;
    if (http_resp_header(r, "Location", location)) {
        buf_reset(&r->headers);
        http_resp_header(r, "Location", "/");
    }
}
