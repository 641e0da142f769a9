/* http: the request as the app sees it, the response it builds, and the
 * pure parsers behind them (query strings, forms, cookies, percent-decoding).
 * The parsers take bytes and an arena and never touch FastCGI, so they are
 * unit-tested and fuzzed on their own; fcgi glue lives in main.c. */
#ifndef FD_HTTP_H
#define FD_HTTP_H

#include <stddef.h>
#include "arena.h"
#include "buf.h"

typedef enum http_method {
    HTTP_GET    = 1 << 0,
    HTTP_HEAD   = 1 << 1,
    HTTP_POST   = 1 << 2,
    HTTP_PUT    = 1 << 3,
    HTTP_PATCH  = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OTHER  = 1 << 6
} http_method;

/* One name=value pair; both NUL-terminated and arena-owned. Values may hold
 * NUL bytes after decoding, so val_len is authoritative. */
typedef struct http_kv {
    const char *key;
    const char *val;
    size_t      val_len;
} http_kv;

typedef struct http_kvs {
    http_kv *v;
    size_t   n;
} http_kvs;

#define HTTP_MAX_PARAMS 4   /* path parameters per route */
#define HTTP_MAX_PAIRS  256 /* query/form/cookie pairs kept; the rest are refused */

typedef struct http_req {
    http_method method;
    const char *method_name;   /* as received */
    const char *path;          /* percent-decoded, no query; always starts with '/' */
    const char *query_string;  /* raw, "" when none */
    http_kvs    query;
    http_kvs    form;          /* application/x-www-form-urlencoded body */
    http_kvs    cookies;
    const char *content_type;  /* media type, lowercased, parameters cut; "" when none */
    const char *content_type_raw; /* the whole Content-Type header, parameters too; NULL when none */
    const char *body;          /* arena-owned, NUL-terminated; NULL when none */
    size_t      body_len;
    const char *authorization; /* raw header or NULL */
    const char *accept;        /* raw header or "" */
    const char *accept_encoding; /* raw header or "" */
    const char *content_encoding; /* raw Content-Encoding header or "" (OTLP bodies may be gzip) */
    const char *remote_addr;
    const char *request_uri;   /* path + query as received (for next= links) */
    int         tls;           /* served over https */
    const char *params[HTTP_MAX_PARAMS]; /* path parameters, set by the router */
    size_t      nparams;
} http_req;

typedef struct http_resp {
    int         status;        /* 0 until set: treated as 200 */
    const char *content_type;  /* static or arena string; NULL = none */
    buf         headers;       /* extra "Name: value\r\n" lines */
    buf         body;
} http_resp;

/* Map a method name to its bit; HTTP_OTHER for anything unknown. */
http_method http_method_parse(const char *name);
const char *http_status_text(int status);

/* Percent-decode s[0..n) ('+' as space when plus_space), into the arena.
 * Returns NULL on a malformed escape (%zz, truncated %) or out of memory;
 * *out_len receives the decoded length (which may include NUL bytes). */
char *http_urldecode(arena *a, const char *s, size_t n, int plus_space, size_t *out_len);

/* Parse "a=1&b=2" (query string or urlencoded form). Returns 0, or -1 on a
 * malformed escape, more than HTTP_MAX_PAIRS pairs, or out of memory. */
int http_parse_query(arena *a, const char *s, size_t n, http_kvs *out);

/* Parse a Cookie header ("a=1; b=2"); malformed pairs are skipped as browsers
 * do. Returns 0, or -1 when out of memory. */
int http_parse_cookies(arena *a, const char *s, http_kvs *out);

/* Value of the first pair named key, or NULL. */
const char *http_kvs_get(const http_kvs *kvs, const char *key);
/* Like http_kvs_get, but also the length. */
const char *http_kvs_getn(const http_kvs *kvs, const char *key, size_t *len);

/* ---- multipart/form-data (RFC 7578), strict ----
 * A body is "--" boundary CRLF, then parts separated by CRLF "--" boundary
 * CRLF and closed by CRLF "--" boundary "--" (then nothing, or CRLF and an
 * epilogue that is ignored). No preamble, no padding after a boundary. A
 * part is header lines (name ":" value, CRLF each, no folding, at most
 * HTTP_MP_MAX_HEADERS of at most HTTP_MP_MAX_LINE bytes), an empty line,
 * and its data. Every part needs Content-Disposition: form-data with a
 * name; filename (quoted, \ escapes) or filename* (UTF-8''percent-encoded,
 * preferred) are optional. A delimiter line that is not followed by CRLF or
 * "--" is malformed, as is a body that ends before the closing delimiter. */
#define HTTP_BOUNDARY_MAX   70
#define HTTP_MP_MAX_PARTS   16
#define HTTP_MP_MAX_HEADERS 8
#define HTTP_MP_MAX_LINE    1024

/* One part. Strings are arena copies, NUL-free; data points into the body
 * (binary, len bytes, not NUL-terminated). */
typedef struct http_part {
    const char *name;          /* the form field */
    const char *filename;      /* NULL when not a file */
    const char *content_type;  /* the part's Content-Type as sent (trimmed), NULL when none */
    const char *data;
    size_t      len;
} http_part;

/* The boundary parameter of a Content-Type value ("multipart/form-data;
 * boundary=XYZ", quoted or not, name case-insensitive) into out (n bytes,
 * at least HTTP_BOUNDARY_MAX + 1). 0, or -1 when there is none or it is not
 * 1..70 RFC 2046 bchars (not ending in a space). */
int http_multipart_boundary(const char *content_type, char *out, size_t n);

/* Parse body[0..len) as multipart/form-data with `boundary` into parts (at
 * most max; more is an error). 0 with *nparts set, or -1 with *why (a
 * static message) for malformed input, too many parts, or out of memory.
 * Never reads outside body. */
int http_parse_multipart(arena *a, const char *boundary, const char *body, size_t len,
                         http_part *parts, size_t max, size_t *nparts, const char **why);

/* Response helpers. Headers are refused (return -1) if name or value holds
 * CR, LF or NUL, so no request text can split a response. */
void http_resp_init(http_resp *r);
void http_resp_fini(http_resp *r);
int  http_resp_header(http_resp *r, const char *name, const char *value);
/* 303 See Other to a same-site path. */
void http_resp_redirect(http_resp *r, const char *location);

#endif
