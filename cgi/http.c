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

/* ------------------------------------------------- multipart/form-data */

/* An RFC 2046 bchar. */
static int bchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("'()+_,-./:=? ", c) != NULL);
}

/* Copy boundary s[0..n) into out (outn bytes) when valid. 0 or -1. */
static int boundary_take(const char *s, size_t n, char *out, size_t outn)
{
    if (n == 0 || n > HTTP_BOUNDARY_MAX || n >= outn || s[n - 1] == ' ') return -1;
    for (size_t i = 0; i < n; i++)
        if (!bchar(s[i])) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* An RFC 7230 tchar (header names, parameter names, tokens). */
static int tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* One parameter of a header value: at *p (after optional whitespace and
 * a ';'), name into [*ns, *ne), value (unquoted, escapes kept) into
 * [*vs, *ve) with *quoted set. Advances *p. 1 when a parameter was read, 0
 * at the end of the value, -1 when malformed. */
static int param_next(const char **p, const char *end, const char **ns, const char **ne,
                      const char **vs, const char **ve, int *quoted)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    if (s == end) return 0;
    if (*s != ';') return -1;
    s++;
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    *ns = s;
    while (s < end && tchar(*s)) s++;
    *ne = s;
    if (*ns == *ne || s == end || *s != '=') return -1;
    s++;
    *quoted = s < end && *s == '"';
    if (*quoted) {
        s++;
        *vs = s;
        while (s < end && *s != '"') {
            if ((unsigned char)*s < 0x20 && *s != '\t') return -1;
            if (*s == '\\') {
                if (++s == end || ((unsigned char)*s < 0x20 && *s != '\t')) return -1;
            }
            s++;
        }
        if (s == end) return -1;
        *ve = s++;
    } else {
        *vs = s;
        while (s < end && tchar(*s)) s++;
        *ve = s;
        if (*vs == *ve) return -1;
    }
    *p = s;
    return 1;
}

int http_multipart_boundary(const char *ct, char *out, size_t n)
{
    if (!ct) return -1;
    const char *end = ct + strlen(ct);
    const char *p = ct + strcspn(ct, ";");
    const char *ns, *ne, *vs, *ve;
    int quoted, r, found = 0;
    /* Every parameter must be well-formed; the first boundary counts. */
    while ((r = param_next(&p, end, &ns, &ne, &vs, &ve, &quoted)) == 1) {
        if (found || (size_t)(ne - ns) != 8 || strncasecmp(ns, "boundary", 8) != 0) continue;
        if (quoted && memchr(vs, '\\', (size_t)(ve - vs))) return -1; /* bchars need no escape */
        if (boundary_take(vs, (size_t)(ve - vs), out, n)) return -1;
        found = 1;
    }
    return r == 0 && found ? 0 : -1;
}

/* Decode a quoted-string body [s, e) (backslash escapes) into the arena. */
static char *unquote(arena *a, const char *s, const char *e)
{
    char *out = arena_alloc(a, (size_t)(e - s) + 1);
    if (!out) return NULL;
    size_t j = 0;
    for (; s < e; s++) {
        if (*s == '\\' && s + 1 < e) s++;
        out[j++] = *s;
    }
    out[j] = '\0';
    return out;
}

/* Content-Disposition value [s, e) of a part into its name and filename.
 * 0, or -1 with *why. */
static int disposition(arena *a, const char *s, const char *e, http_part *part, const char **why)
{
    *why = "a part's Content-Disposition is not form-data with a name";
    if ((size_t)(e - s) < 9 || strncasecmp(s, "form-data", 9) != 0) return -1;
    const char *p = s + 9, *ns, *ne, *vs, *ve;
    int quoted, r, star = 0;
    while ((r = param_next(&p, e, &ns, &ne, &vs, &ve, &quoted)) == 1) {
        size_t nl = (size_t)(ne - ns);
        if (nl == 4 && strncasecmp(ns, "name", 4) == 0) {
            if (part->name) { *why = "a part names its field twice"; return -1; }
            if (!(part->name = quoted ? unquote(a, vs, ve) : arena_strndup(a, vs, (size_t)(ve - vs))))
                goto nomem;
        } else if (nl == 8 && strncasecmp(ns, "filename", 8) == 0) {
            if (star) continue; /* filename* wins */
            if (!(part->filename = quoted ? unquote(a, vs, ve)
                                          : arena_strndup(a, vs, (size_t)(ve - vs))))
                goto nomem;
        } else if (nl == 9 && strncasecmp(ns, "filename*", 9) == 0) {
            /* RFC 8187: charset ' language ' percent-encoded; UTF-8 only. */
            size_t vl = (size_t)(ve - vs), dl;
            if (quoted || vl < 7 || strncasecmp(vs, "utf-8'", 6) != 0) {
                *why = "a part's filename* is not UTF-8''percent-encoded text";
                return -1;
            }
            const char *q = memchr(vs + 6, '\'', vl - 6);
            if (!q) { *why = "a part's filename* is not UTF-8''percent-encoded text"; return -1; }
            char *f = http_urldecode(a, q + 1, (size_t)(ve - q - 1), 0, &dl);
            if (!f || dl != strlen(f)) {
                *why = "a part's filename* is not UTF-8''percent-encoded text";
                return -1;
            }
            part->filename = f;
            star = 1;
        }
    }
    if (r < 0) { *why = "a part's Content-Disposition is malformed"; return -1; }
    if (!part->name) return -1;
    return 0;
nomem:
    *why = "out of memory";
    return -1;
}

/* The header block of a part, from *p to its empty line: fills part. 0
 * with *p after the empty line, or -1 with *why. */
static int part_headers(arena *a, const char **p, const char *end, http_part *part,
                        const char **why)
{
    int lines = 0, have_disp = 0;
    const char *s = *p;
    for (;;) {
        const char *eol = NULL;
        for (const char *q = s; q + 1 < end && q - s <= HTTP_MP_MAX_LINE; q++)
            if (q[0] == '\r' && q[1] == '\n') { eol = q; break; }
        if (!eol) { *why = "a part's headers do not end (CRLF) within the limits"; return -1; }
        if (eol == s) break; /* the empty line */
        if (++lines > HTTP_MP_MAX_HEADERS) { *why = "a part has too many header lines"; return -1; }
        for (const char *q = s; q < eol; q++)
            if (*q == '\0' || *q == '\r' || *q == '\n') {
                *why = "a part's header holds a control character";
                return -1;
            }
        const char *colon = s;
        while (colon < eol && tchar(*colon)) colon++;
        if (colon == s || colon == eol || *colon != ':') {
            *why = "a part's header line is not name: value";
            return -1;
        }
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t nl = (size_t)(colon - s);
        if (nl == 19 && strncasecmp(s, "Content-Disposition", 19) == 0) {
            if (have_disp++) { *why = "a part has two Content-Disposition headers"; return -1; }
            if (disposition(a, v, ve, part, why)) return -1;
        } else if (nl == 12 && strncasecmp(s, "Content-Type", 12) == 0) {
            if (part->content_type) { *why = "a part has two Content-Type headers"; return -1; }
            if (!(part->content_type = arena_strndup(a, v, (size_t)(ve - v)))) {
                *why = "out of memory";
                return -1;
            }
        }
        s = eol + 2;
    }
    if (!have_disp) { *why = "a part has no Content-Disposition"; return -1; }
    *p = s + 2;
    return 0;
}

int http_parse_multipart(arena *a, const char *boundary, const char *body, size_t len,
                         http_part *parts, size_t max, size_t *nparts, const char **why)
{
    *nparts = 0;
    *why = "the body is not multipart/form-data";
    size_t bl = boundary ? strlen(boundary) : 0;
    if (!bl || bl > HTTP_BOUNDARY_MAX || !body) return -1;
    /* The delimiter between parts: CRLF "--" boundary (the first has no CRLF). */
    char delim[HTTP_BOUNDARY_MAX + 5];
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, bl);
    size_t dl = bl + 4;
    const char *end = body + len;
    if (len < dl - 2 + 2 || memcmp(body, delim + 2, dl - 2) != 0) {
        *why = "the body does not begin with the boundary";
        return -1;
    }
    const char *p = body + dl - 2;
    for (;;) {
        /* After a delimiter: CRLF (a part follows) or "--" (the end). */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            p += 2;
            if (p == end || (end - p >= 2 && p[0] == '\r' && p[1] == '\n')) {
                if (*nparts == 0) { *why = "the body has no part"; return -1; }
                return 0;
            }
            *why = "the closing boundary is followed by something other than CRLF";
            return -1;
        }
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            *why = "a boundary is not followed by CRLF or --";
            return -1;
        }
        p += 2;
        if (*nparts >= max) { *why = "the body has too many parts"; return -1; }
        http_part *part = &parts[*nparts];
        memset(part, 0, sizeof *part);
        if (part_headers(a, &p, end, part, why)) return -1;
        const char *next = memmem(p, (size_t)(end - p), delim, dl);
        if (!next) { *why = "the body ends before its closing boundary"; return -1; }
        part->data = p;
        part->len = (size_t)(next - p);
        (*nparts)++;
        p = next + dl;
    }
}
