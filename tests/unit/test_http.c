/* Unit tests for cgi/http.c: percent-decoding, query/form and cookie
 * parsing, response headers and redirects, methods and status texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "harness.h"
#include "http.h"

/* ------------------------------------------------------------ urldecode */

TEST(test_urldecode_plain)
{
    arena *a = arena_new();
    size_t n = 99;
    char *s = http_urldecode(a, "hello", 5, 0, &n);
    CHECK_STR(s, "hello");
    CHECK_INT(n, 5);
    s = http_urldecode(a, "", 0, 1, &n);
    CHECK_STR(s, "");
    CHECK_INT(n, 0);
    /* Only n bytes are read. */
    s = http_urldecode(a, "abcdef", 3, 0, &n);
    CHECK_STR(s, "abc");
    CHECK_INT(n, 3);
    /* out_len may be NULL */
    s = http_urldecode(a, "x%41", 4, 0, NULL);
    CHECK_STR(s, "xA");
    arena_free(a);
}

TEST(test_urldecode_escapes)
{
    arena *a = arena_new();
    size_t n = 0;
    char *s = http_urldecode(a, "%41", 3, 0, &n);
    CHECK_STR(s, "A");
    CHECK_INT(n, 1);
    s = http_urldecode(a, "a%2fb%2Fc", 9, 0, &n);
    CHECK_STR(s, "a/b/c");
    CHECK_INT(n, 5);
    s = http_urldecode(a, "%c3%A9", 6, 0, &n);
    CHECK_STR(s, "\xc3\xa9");
    CHECK_INT(n, 2);
    s = http_urldecode(a, "%25%32%30", 9, 0, &n); /* "%20" literally, not decoded twice */
    CHECK_STR(s, "%20");
    CHECK_INT(n, 3);
    s = http_urldecode(a, "%ff", 3, 0, &n);
    CHECK(s && (unsigned char)s[0] == 0xff && s[1] == '\0');
    arena_free(a);
}

TEST(test_urldecode_plus)
{
    arena *a = arena_new();
    size_t n = 0;
    char *s = http_urldecode(a, "a+b+", 4, 1, &n);
    CHECK_STR(s, "a b ");
    CHECK_INT(n, 4);
    s = http_urldecode(a, "a+b+", 4, 0, &n);
    CHECK_STR(s, "a+b+");
    CHECK_INT(n, 4);
    /* An encoded plus is always a plus. */
    s = http_urldecode(a, "%2B+", 4, 1, &n);
    CHECK_STR(s, "+ ");
    arena_free(a);
}

TEST(test_urldecode_malformed)
{
    arena *a = arena_new();
    size_t n = 0;
    CHECK(http_urldecode(a, "%zz", 3, 0, &n) == NULL);
    CHECK(http_urldecode(a, "%g1", 3, 0, &n) == NULL);
    CHECK(http_urldecode(a, "%1g", 3, 0, &n) == NULL);
    CHECK(http_urldecode(a, "abc%", 4, 0, &n) == NULL);
    CHECK(http_urldecode(a, "abc%4", 5, 0, &n) == NULL);
    CHECK(http_urldecode(a, "%", 1, 1, &n) == NULL);
    CHECK(http_urldecode(a, "%%41", 4, 0, &n) == NULL);
    /* The escape may not read past n even when the bytes after are hex. */
    CHECK(http_urldecode(a, "x%41", 3, 0, &n) == NULL);
    CHECK(http_urldecode(a, "x%41", 2, 0, &n) == NULL);
    arena_free(a);
}

TEST(test_urldecode_nul)
{
    arena *a = arena_new();
    size_t n = 0;
    char *s = http_urldecode(a, "a%00b", 5, 0, &n);
    CHECK(s != NULL);
    CHECK_INT(n, 3);
    CHECK(s && s[0] == 'a' && s[1] == '\0' && s[2] == 'b' && s[3] == '\0');
    s = http_urldecode(a, "%00", 3, 1, &n);
    CHECK(s != NULL);
    CHECK_INT(n, 1);
    arena_free(a);
}

/* ---------------------------------------------------------------- query */

TEST(test_query_empty)
{
    arena *a = arena_new();
    http_kvs q;
    memset(&q, 0x55, sizeof q);
    CHECK_INT(http_parse_query(a, "", 0, &q), 0);
    CHECK_INT(q.n, 0);
    CHECK(http_kvs_get(&q, "a") == NULL);
    CHECK_INT(http_parse_query(a, "&&;&", 4, &q), 0);
    CHECK_INT(q.n, 0);
    arena_free(a);
}

TEST(test_query_pairs)
{
    arena *a = arena_new();
    http_kvs q;
    const char *s = "a=1&b=2";
    CHECK_INT(http_parse_query(a, s, strlen(s), &q), 0);
    CHECK_INT(q.n, 2);
    CHECK_STR(http_kvs_get(&q, "a"), "1");
    CHECK_STR(http_kvs_get(&q, "b"), "2");
    CHECK(http_kvs_get(&q, "c") == NULL);
    CHECK(http_kvs_get(&q, "") == NULL);
    if (q.n == 2) {
        CHECK_STR(q.v[0].key, "a");
        CHECK_STR(q.v[1].key, "b");
        CHECK_INT(q.v[0].val_len, 1);
    }
    /* Decoding of keys and values, '+' as space, '=' inside a value. */
    s = "na%6De=J+Doe&q=a%3Db=c&x=1=2";
    CHECK_INT(http_parse_query(a, s, strlen(s), &q), 0);
    CHECK_INT(q.n, 3);
    CHECK_STR(http_kvs_get(&q, "name"), "J Doe");
    CHECK_STR(http_kvs_get(&q, "q"), "a=b=c");
    CHECK_STR(http_kvs_get(&q, "x"), "1=2");
    /* Only n bytes are parsed. */
    s = "a=1&b=2";
    CHECK_INT(http_parse_query(a, s, 3, &q), 0);
    CHECK_INT(q.n, 1);
    CHECK(http_kvs_get(&q, "b") == NULL);
    arena_free(a);
}

TEST(test_query_no_value)
{
    arena *a = arena_new();
    http_kvs q;
    const char *s = "a&b=";
    CHECK_INT(http_parse_query(a, s, strlen(s), &q), 0);
    CHECK_INT(q.n, 2);
    CHECK_STR(http_kvs_get(&q, "a"), "");
    CHECK_STR(http_kvs_get(&q, "b"), "");
    size_t len = 99;
    CHECK_STR(http_kvs_getn(&q, "a", &len), "");
    CHECK_INT(len, 0);
    len = 99;
    CHECK_STR(http_kvs_getn(&q, "b", &len), "");
    CHECK_INT(len, 0);
    /* Empty key "=x" is kept under "". */
    CHECK_INT(http_parse_query(a, "=x", 2, &q), 0);
    CHECK_INT(q.n, 1);
    CHECK_STR(http_kvs_get(&q, ""), "x");
    arena_free(a);
}

TEST(test_query_duplicates_first_wins)
{
    arena *a = arena_new();
    http_kvs q;
    const char *s = "status=failed&x=1&status=running";
    CHECK_INT(http_parse_query(a, s, strlen(s), &q), 0);
    CHECK_INT(q.n, 3); /* all kept (repeatable filters iterate them) */
    CHECK_STR(http_kvs_get(&q, "status"), "failed");
    if (q.n == 3) {
        CHECK_STR(q.v[2].key, "status");
        CHECK_STR(q.v[2].val, "running");
    }
    arena_free(a);
}

TEST(test_query_semicolon)
{
    arena *a = arena_new();
    http_kvs q;
    const char *s = "a=1;b=2&c=3";
    CHECK_INT(http_parse_query(a, s, strlen(s), &q), 0);
    CHECK_INT(q.n, 3);
    CHECK_STR(http_kvs_get(&q, "a"), "1");
    CHECK_STR(http_kvs_get(&q, "b"), "2");
    CHECK_STR(http_kvs_get(&q, "c"), "3");
    arena_free(a);
}

TEST(test_query_malformed_escape)
{
    arena *a = arena_new();
    http_kvs q;
    CHECK_INT(http_parse_query(a, "a=%zz", 5, &q), -1);
    CHECK_INT(http_parse_query(a, "a=1&b=%4", 8, &q), -1);
    CHECK_INT(http_parse_query(a, "%zz=1", 5, &q), -1);
    CHECK_INT(http_parse_query(a, "a%=1", 4, &q), -1);
    arena_free(a);
}

TEST(test_query_value_with_nul)
{
    arena *a = arena_new();
    http_kvs q;
    const char *s = "v=a%00b&w=c";
    CHECK_INT(http_parse_query(a, s, strlen(s), &q), 0);
    size_t len = 0;
    const char *v = http_kvs_getn(&q, "v", &len);
    CHECK(v != NULL);
    CHECK_INT(len, 3);
    CHECK(v && memcmp(v, "a\0b", 3) == 0);
    CHECK_STR(http_kvs_get(&q, "w"), "c");
    arena_free(a);
}

TEST(test_query_key_with_nul_refused)
{
    arena *a = arena_new();
    http_kvs q;
    CHECK_INT(http_parse_query(a, "a%00=1", 6, &q), -1);
    CHECK_INT(http_parse_query(a, "%00", 3, &q), -1);
    CHECK_INT(http_parse_query(a, "ok=1&x%00y", 10, &q), -1);
    arena_free(a);
}

TEST(test_query_max_pairs)
{
    arena *a = arena_new();
    buf b;
    buf_init(&b);
    for (int i = 0; i < HTTP_MAX_PAIRS; i++) buf_printf(&b, "%sk%d=%d", i ? "&" : "", i, i);
    http_kvs q;
    CHECK_INT(http_parse_query(a, b.p, b.len, &q), 0);
    CHECK_INT(q.n, HTTP_MAX_PAIRS);
    /* Every pair survived the array growing. */
    int ok = 1;
    for (int i = 0; i < HTTP_MAX_PAIRS; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "%d", i);
        const char *got = http_kvs_get(&q, k);
        if (!got || strcmp(got, v) != 0) ok = 0;
    }
    CHECK(ok);
    buf_puts(&b, "&one=more");
    CHECK_INT(http_parse_query(a, b.p, b.len, &q), -1);
    buf_fini(&b);
    arena_free(a);
}

/* -------------------------------------------------------------- cookies */

TEST(test_cookies_basic_and_spaces)
{
    arena *a = arena_new();
    http_kvs c;
    CHECK_INT(http_parse_cookies(a, "a=1; b=2", &c), 0);
    CHECK_INT(c.n, 2);
    CHECK_STR(http_kvs_get(&c, "a"), "1");
    CHECK_STR(http_kvs_get(&c, "b"), "2");
    CHECK_INT(http_parse_cookies(a, "  fd_session=abc123 ;  theme=dark  ;x=y", &c), 0);
    CHECK_INT(c.n, 3);
    CHECK_STR(http_kvs_get(&c, "fd_session"), "abc123");
    CHECK_STR(http_kvs_get(&c, "theme"), "dark");
    CHECK_STR(http_kvs_get(&c, "x"), "y");
    size_t len = 0;
    CHECK_STR(http_kvs_getn(&c, "theme", &len), "dark");
    CHECK_INT(len, 4);
    /* Empty value, values with '=' */
    CHECK_INT(http_parse_cookies(a, "e=; t=a=b", &c), 0);
    CHECK_STR(http_kvs_get(&c, "e"), "");
    CHECK_STR(http_kvs_get(&c, "t"), "a=b");
    arena_free(a);
}

TEST(test_cookies_quoted)
{
    arena *a = arena_new();
    http_kvs c;
    CHECK_INT(http_parse_cookies(a, "q=\"hello\"; r=\"\"; s=\"x", &c), 0);
    CHECK_STR(http_kvs_get(&c, "q"), "hello");
    CHECK_STR(http_kvs_get(&c, "r"), "");
    CHECK_STR(http_kvs_get(&c, "s"), "\"x"); /* unbalanced: kept as is */
    size_t len = 99;
    http_kvs_getn(&c, "q", &len);
    CHECK_INT(len, 5);
    arena_free(a);
}

TEST(test_cookies_junk_skipped)
{
    arena *a = arena_new();
    http_kvs c;
    CHECK_INT(http_parse_cookies(a, "junk; a=1; =nokey; ;; more junk ; b=2;", &c), 0);
    CHECK_INT(c.n, 2);
    CHECK_STR(http_kvs_get(&c, "a"), "1");
    CHECK_STR(http_kvs_get(&c, "b"), "2");
    CHECK(http_kvs_get(&c, "junk") == NULL);
    CHECK(http_kvs_get(&c, "") == NULL);
    CHECK_INT(http_parse_cookies(a, "", &c), 0);
    CHECK_INT(c.n, 0);
    CHECK_INT(http_parse_cookies(a, ";;;   ", &c), 0);
    CHECK_INT(c.n, 0);
    arena_free(a);
}

TEST(test_cookies_null_header)
{
    arena *a = arena_new();
    http_kvs c;
    memset(&c, 0x55, sizeof c);
    CHECK_INT(http_parse_cookies(a, NULL, &c), 0);
    CHECK_INT(c.n, 0);
    CHECK(http_kvs_get(&c, "a") == NULL);
    arena_free(a);
}

TEST(test_cookies_duplicates_first_wins)
{
    arena *a = arena_new();
    http_kvs c;
    CHECK_INT(http_parse_cookies(a, "sid=first; sid=second", &c), 0);
    CHECK_STR(http_kvs_get(&c, "sid"), "first");
    arena_free(a);
}

/* ------------------------------------------------------------- response */

TEST(test_resp_header)
{
    http_resp r;
    http_resp_init(&r);
    CHECK_INT(r.status, 0);
    CHECK_INT(http_resp_header(&r, "X-A", "1"), 0);
    CHECK_INT(http_resp_header(&r, "Cache-Control", "no-store"), 0);
    CHECK_STR(buf_str(&r.headers), "X-A: 1\r\nCache-Control: no-store\r\n");
    http_resp_fini(&r);
}

TEST(test_resp_header_refuses_crlf)
{
    http_resp r;
    http_resp_init(&r);
    CHECK_INT(http_resp_header(&r, "X-A", "1\r\nSet-Cookie: evil=1"), -1);
    CHECK_INT(http_resp_header(&r, "X-A", "1\nX-B: 2"), -1);
    CHECK_INT(http_resp_header(&r, "X-A", "1\r"), -1);
    CHECK_INT(http_resp_header(&r, "X-A\r\nX-B", "2"), -1);
    CHECK_INT(http_resp_header(&r, "X\nA", "2"), -1);
    CHECK_INT(http_resp_header(&r, NULL, "2"), -1);
    CHECK_INT(http_resp_header(&r, "X-A", NULL), -1);
    /* Nothing was written by any refused header. */
    CHECK_INT(r.headers.len, 0);
    CHECK(strstr(buf_str(&r.headers), "evil") == NULL);
    http_resp_fini(&r);
    http_resp_fini(&r); /* fini twice is safe */
    http_resp_fini(NULL);
}

static const char *redirect_to(const char *loc, http_resp *r)
{
    http_resp_init(r);
    http_resp_redirect(r, loc);
    return buf_str(&r->headers);
}

TEST(test_redirect_same_site)
{
    http_resp r;
    CHECK_STR(redirect_to("/sessions?status=failed", &r), "Location: /sessions?status=failed\r\n");
    CHECK_INT(r.status, 303);
    http_resp_fini(&r);
    CHECK_STR(redirect_to("/", &r), "Location: /\r\n");
    CHECK_INT(r.status, 303);
    http_resp_fini(&r);
}

TEST(test_redirect_offsite_refused)
{
    static const char *const bad[] = {
        "//evil.com", "//evil.com/x", "/\\evil", "/\\evil.com/path", "http://evil.com",
        "https://evil.com/", "evil.com", "javascript:alert(1)", "", " /x", "\\\\evil",
        "/x\r\nSet-Cookie: a=1",
        /* Browsers drop tabs and newlines from URLs (WHATWG URL parser), so
         * "/<TAB>/evil.com" is followed to //evil.com. */
        "/\t/evil.com", "/\n/evil.com", "/\t\\evil.com",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_resp r;
        const char *h = redirect_to(bad[i], &r);
        if (strcmp(h, "Location: /\r\n") != 0)
            fprintf(stderr, "    redirect(\"%s\") gave \"%s\"\n", bad[i], h);
        CHECK_STR(h, "Location: /\r\n");
        CHECK_INT(r.status, 303);
        http_resp_fini(&r);
    }
    http_resp r;
    CHECK_STR(redirect_to(NULL, &r), "Location: /\r\n");
    CHECK_INT(r.status, 303);
    http_resp_fini(&r);
}

/* ----------------------------------------------------- methods, statuses */

TEST(test_method_parse)
{
    CHECK_INT(http_method_parse("GET"), HTTP_GET);
    CHECK_INT(http_method_parse("HEAD"), HTTP_HEAD);
    CHECK_INT(http_method_parse("POST"), HTTP_POST);
    CHECK_INT(http_method_parse("PUT"), HTTP_PUT);
    CHECK_INT(http_method_parse("PATCH"), HTTP_PATCH);
    CHECK_INT(http_method_parse("DELETE"), HTTP_DELETE);
    CHECK_INT(http_method_parse("get"), HTTP_OTHER); /* methods are case-sensitive */
    CHECK_INT(http_method_parse("OPTIONS"), HTTP_OTHER);
    CHECK_INT(http_method_parse("GETX"), HTTP_OTHER);
    CHECK_INT(http_method_parse(""), HTTP_OTHER);
    CHECK_INT(http_method_parse(NULL), HTTP_OTHER);
    /* Distinct bits, so route tables can OR them. */
    unsigned all = HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE | HTTP_OTHER;
    CHECK_INT(__builtin_popcount(all), 7);
}

TEST(test_status_text)
{
    static const struct { int code; const char *text; } st[] = {
        { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
        { 303, "See Other" }, { 304, "Not Modified" }, { 400, "Bad Request" },
        { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
        { 405, "Method Not Allowed" }, { 409, "Conflict" }, { 413, "Payload Too Large" },
        { 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
        { 429, "Too Many Requests" }, { 500, "Internal Server Error" },
        { 503, "Service Unavailable" },
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        const char *t = http_status_text(st[i].code);
        if (!t || strcmp(t, st[i].text) != 0) fprintf(stderr, "    status %d\n", st[i].code);
        CHECK_STR(t, st[i].text);
    }
    CHECK_STR(http_status_text(999), "Unknown");
    CHECK_STR(http_status_text(0), "Unknown");
}

/* ------------------------------------------------------------ multipart */

/* Parse body (a C string) with boundary "b"; the return code of the parser. */
static int mp(arena *a, const char *body, http_part *parts, size_t *n)
{
    const char *why = NULL;
    int rc = http_parse_multipart(a, "b", body, strlen(body), parts, 4, n, &why);
    if (rc) CHECK(why != NULL && *why);
    return rc;
}

TEST(test_multipart_boundary_param)
{
    char b[HTTP_BOUNDARY_MAX + 1];
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=abc123", b, sizeof b), 0);
    CHECK_STR(b, "abc123");
    CHECK_INT(http_multipart_boundary("multipart/form-data;charset=x;BOUNDARY=\"a b'()+_,-./:=?\"", b, sizeof b), 0);
    CHECK_STR(b, "a b'()+_,-./:=?");
    CHECK_INT(http_multipart_boundary("multipart/form-data", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=\"\"", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=\"ends \"", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=\"unterminated", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=\"a\\\"b\"", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=a\x01", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary("multipart/form-data; junk", b, sizeof b), -1);
    CHECK_INT(http_multipart_boundary(NULL, b, sizeof b), -1);
    char longb[200];
    snprintf(longb, sizeof longb, "multipart/form-data; boundary=%071d", 0);
    CHECK_INT(http_multipart_boundary(longb, b, sizeof b), -1); /* 71 characters */
    snprintf(longb, sizeof longb, "multipart/form-data; boundary=%070d", 0);
    CHECK_INT(http_multipart_boundary(longb, b, sizeof b), 0);
    char small[4];
    CHECK_INT(http_multipart_boundary("multipart/form-data; boundary=abcd", small, sizeof small), -1);
}

TEST(test_multipart_parts)
{
    arena *a = arena_new();
    http_part p[4];
    size_t n = 0;
    const char body[] =
        "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nreport.txt\r\n"
        "--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".bin\"\r\n"
        "Content-Type:  application/x-thing \r\nX-Other: ignored\r\n\r\n\0\1\r\n--c\r\n"
        "--b\r\nContent-Disposition: form-data; name=empty\r\n\r\n\r\n--b--\r\nepilogue";
    const char *why = NULL;
    CHECK_INT(http_parse_multipart(a, "b", body, sizeof body - 1, p, 4, &n, &why), 0);
    CHECK_INT(n, 3);
    CHECK_STR(p[0].name, "name");
    CHECK(p[0].filename == NULL && p[0].content_type == NULL);
    CHECK_INT(p[0].len, 10);
    CHECK(memcmp(p[0].data, "report.txt", 10) == 0);
    CHECK_STR(p[1].name, "file");
    CHECK_STR(p[1].filename, "a \"q\".bin");
    CHECK_STR(p[1].content_type, "application/x-thing");
    CHECK_INT(p[1].len, 7); /* NUL, 1, CRLF "--c": binary, and not our boundary */
    CHECK(memcmp(p[1].data, "\0\1\r\n--c", 7) == 0);
    CHECK_STR(p[2].name, "empty");
    CHECK_INT(p[2].len, 0);
    /* filename* wins over filename, in either order. */
    CHECK_INT(mp(a, "--b\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''M%C3%A4rz.txt; "
                    "filename=\"fallback\"\r\n\r\nx\r\n--b--", p, &n), 0);
    CHECK_STR(p[0].filename, "M\xC3\xA4rz.txt");
    /* The closing delimiter may end the body. */
    CHECK_INT(mp(a, "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--", p, &n), 0);
    CHECK_INT(n, 1);
    arena_free(a);
}

TEST(test_multipart_malformed)
{
    arena *a = arena_new();
    http_part p[4];
    size_t n = 0;
    static const char *const bad[] = {
        "",                                                         /* empty */
        "--b",                                                      /* no CRLF after the boundary */
        "--b--\r\n",                                                /* no part */
        "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--",
        "--bb\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--",
        "--b \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--", /* padding */
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",      /* truncated data */
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b", /* no -- or CRLF */
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--bx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--x",
        "--b\r\nContent-Disposition: form-data; name=\"a\"",              /* headers never end */
        "--b\r\nContent-Disposition: form-data; name=\"a\"\n\n1\r\n--b--", /* bare LF */
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n continued\r\n\r\n1\r\n--b--",
        "--b\r\nNo-Colon-Here\r\n\r\n1\r\n--b--",
        "--b\r\n: empty-name\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--",               /* no disposition */
        "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--",        /* no name */
        "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data name=\"a\"\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"; filename*=latin1''x\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"; filename*=UTF-8''a%00b\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"; filename*=UTF-8''%zz\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"a\"\\\r\n\r\n1\r\n--b--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = mp(a, bad[i], p, &n);
        if (rc != -1) fprintf(stderr, "    accepted malformed body %zu\n", i);
        CHECK_INT(rc, -1);
    }
    /* A NUL in a header line. */
    const char nul[] = "--b\r\nContent-Disposition: form-data; name=\"a\0\"\r\n\r\n1\r\n--b--";
    const char *why = NULL;
    CHECK_INT(http_parse_multipart(a, "b", nul, sizeof nul - 1, p, 4, &n, &why), -1);
    /* Too many parts for the array. */
    const char five[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
                        "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
                        "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
                        "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
                        "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b--";
    CHECK_INT(http_parse_multipart(a, "b", five, sizeof five - 1, p, 4, &n, &why), -1);
    CHECK_INT(http_parse_multipart(a, "b", five, sizeof five - 1, p, 0, &n, &why), -1);
    /* Too many header lines; a header line too long. */
    char many[2048];
    int len = snprintf(many, sizeof many, "--b\r\n");
    for (int i = 0; i < HTTP_MP_MAX_HEADERS + 1; i++) len += snprintf(many + len, sizeof many - (size_t)len, "X-%d: y\r\n", i);
    len += snprintf(many + len, sizeof many - (size_t)len, "Content-Disposition: form-data; name=a\r\n\r\n1\r\n--b--");
    CHECK_INT(mp(a, many, p, &n), -1);
    char longline[HTTP_MP_MAX_LINE + 200];
    len = snprintf(longline, sizeof longline, "--b\r\nX: ");
    memset(longline + len, 'v', HTTP_MP_MAX_LINE + 10);
    len += HTTP_MP_MAX_LINE + 10;
    snprintf(longline + len, sizeof longline - (size_t)len, "\r\n\r\n");
    CHECK_INT(mp(a, longline, p, &n), -1);
    /* Bad arguments. */
    CHECK_INT(http_parse_multipart(a, "", "x", 1, p, 4, &n, &why), -1);
    CHECK_INT(http_parse_multipart(a, NULL, "x", 1, p, 4, &n, &why), -1);
    CHECK_INT(http_parse_multipart(a, "b", NULL, 0, p, 4, &n, &why), -1);
    arena_free(a);
}

/* Every prefix of a valid body, and every one-byte corruption of it: the
 * parser answers without reading outside the body (ASan checks). */
TEST(test_multipart_prefixes_and_corruptions)
{
    arena *a = arena_new();
    http_part p[4];
    size_t n;
    const char body[] = "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n"
                        "Content-Type: a/b\r\n\r\nDATA\r\n--b--\r\n";
    size_t len = sizeof body - 1;
    const char *why;
    for (size_t k = 0; k < len; k++) {
        char *copy = malloc(k ? k : 1); /* exactly k bytes: ASan sees any overread */
        memcpy(copy, body, k);
        int rc = http_parse_multipart(a, "b", copy, k, p, 4, &n, &why);
        /* Only the body without its last CRLF (or the whole) is complete. */
        CHECK(rc == -1 || k == len - 2);
        free(copy);
    }
    for (size_t k = 0; k < len; k++) {
        for (int v = 0; v < 256; v += 37) {
            char *copy = malloc(len);
            memcpy(copy, body, len);
            copy[k] = (char)v;
            int rc = http_parse_multipart(a, "b", copy, len, p, 4, &n, &why);
            CHECK(rc == 0 || rc == -1);
            if (rc == 0) CHECK(n >= 1 && p[0].data >= copy && p[0].data + p[0].len <= copy + len);
            free(copy);
        }
    }
    CHECK_INT(http_parse_multipart(a, "b", body, len, p, 4, &n, &why), 0);
    arena_free(a);
}

int main(void)
{
    RUN(test_urldecode_plain);
    RUN(test_urldecode_escapes);
    RUN(test_urldecode_plus);
    RUN(test_urldecode_malformed);
    RUN(test_urldecode_nul);
    RUN(test_query_empty);
    RUN(test_query_pairs);
    RUN(test_query_no_value);
    RUN(test_query_duplicates_first_wins);
    RUN(test_query_semicolon);
    RUN(test_query_malformed_escape);
    RUN(test_query_value_with_nul);
    RUN(test_query_key_with_nul_refused);
    RUN(test_query_max_pairs);
    RUN(test_cookies_basic_and_spaces);
    RUN(test_cookies_quoted);
    RUN(test_cookies_junk_skipped);
    RUN(test_cookies_null_header);
    RUN(test_cookies_duplicates_first_wins);
    RUN(test_resp_header);
    RUN(test_resp_header_refuses_crlf);
    RUN(test_redirect_same_site);
    RUN(test_redirect_offsite_refused);
    RUN(test_method_parse);
    RUN(test_status_text);
    RUN(test_multipart_boundary_param);
    RUN(test_multipart_parts);
    RUN(test_multipart_malformed);
    RUN(test_multipart_prefixes_and_corruptions);
    return DONE();
}
