/* fuzz_report: the input as a PUT report body (parsed as the app does) ->
 * report_validate, and for a valid report report_markdown and
 * report_html_document; the raw input also goes straight to markdown_html,
 * whose output must never hold a raw tag from the text or a link to a
 * scheme other than http, https, mailto (and data for images). */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "report.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scheme a browser would see in an attribute value v[0..n) as md4c
 * wrote it: character references decoded (&amp; &quot; &lt; &gt; &#N;
 * &#xN;), tab/CR/LF removed and leading C0 controls and spaces stripped
 * (WHATWG URL parsing), then ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")
 * before a ':'. Lowercased into out (64 bytes); 0 when there is none (a
 * relative URL). */
static int browser_scheme(const char *v, size_t n, char out[64])
{
    char u[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof u - 1; ) {
        unsigned c = (unsigned char)v[i];
        if (c == '&') {
            const char *semi = memchr(v + i, ';', n - i);
            if (semi) {
                size_t len = (size_t)(semi - (v + i)) + 1;
                if (len == 5 && !memcmp(v + i, "&amp;", 5)) c = '&';
                else if (len == 6 && !memcmp(v + i, "&quot;", 6)) c = '"';
                else if (len == 4 && !memcmp(v + i, "&lt;", 4)) c = '<';
                else if (len == 4 && !memcmp(v + i, "&gt;", 4)) c = '>';
                else if (len > 3 && v[i + 1] == '#')
                    c = (unsigned)strtoul(v + i + 2 + (v[i + 2] == 'x' || v[i + 2] == 'X'), NULL,
                                          v[i + 2] == 'x' || v[i + 2] == 'X' ? 16 : 10);
                else len = 1;
                i += len;
            } else {
                i++;
            }
        } else {
            i++;
        }
        if (c == '\t' || c == '\n' || c == '\r') continue;
        if (k == 0 && c <= 0x20) continue;
        u[k++] = (char)(c > 0xFF ? '?' : c);
    }
    size_t i = 0;
    while (i < k && u[i] != ':') {
        char c = u[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!(alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))))
            return 0;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        i++;
    }
    if (i == 0 || i == k) return 0;
    out[i] = '\0';
    return 1;
}

/* Every href and src attribute of every tag of html (a small tag parser,
 * independent of the one in report.c: '<' letter ... '>', attributes
 * name="value" as md4c writes them): the scheme a browser reads must be
 * http, https, mailto (href) or data (src). Aborts otherwise. */
static void check_links(const char *html)
{
    const char *p = html;
    while ((p = strchr(p, '<'))) {
        p++;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) continue;
        while (*p && *p != ' ' && *p != '>' && *p != '/') p++;
        for (;;) {
            while (*p == ' ' || *p == '\n' || *p == '/') p++;
            if (!*p || *p == '>') break;
            const char *name = p;
            while (*p && *p != '=' && *p != ' ' && *p != '>') p++;
            size_t nl = (size_t)(p - name);
            if (*p != '=') continue;
            p++;
            if (*p != '"') { while (*p && *p != ' ' && *p != '>') p++; continue; }
            const char *v = ++p;
            const char *ve = strchr(v, '"');
            if (!ve) {
                fprintf(stderr, "fuzz_report: unterminated attribute %.60s\n", name);
                abort();
            }
            p = ve + 1;
            int href = nl == 4 && !strncasecmp(name, "href", 4);
            int src = nl == 3 && !strncasecmp(name, "src", 3);
            char sch[64];
            if ((href || src) && browser_scheme(v, (size_t)(ve - v), sch)) {
                int ok = !strcmp(sch, "http") || !strcmp(sch, "https") ||
                         (href && !strcmp(sch, "mailto")) || (src && !strcmp(sch, "data"));
                if (!ok) {
                    fprintf(stderr, "fuzz_report: scheme \"%s\" in %.*s=\"%.*s\"\n", sch,
                            (int)nl, name, (int)(ve - v), v);
                    abort();
                }
            }
        }
    }
}

/* One input. Always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    buf b;
    buf_init(&b);
    if (markdown_html(s, size, &b) == 0 && !b.err) {
        check_links(buf_str(&b));
        if (strstr(buf_str(&b), "<script")) abort();
    }
    buf_fini(&b);

    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, size, &end, 0);
    if (!j) return 0;
    if (!utf8_json_valid(j)) { cJSON_Delete(j); return 0; }
    char err[200];
    const char *field = NULL;
    int rc = report_validate(j, err, sizeof err, &field);
    if (rc != REPORT_OK) {
        if (!report_rc_code(rc) || !memchr(err, '\0', sizeof err)) abort();
    } else {
        buf_init(&b);
        if (report_markdown(j, &b) == 0) (void)buf_str(&b);
        buf_reset(&b);
        if (report_html_document(j, "fuzz <name>", "ses_fuzz", &b) == 0 && !b.err) {
            check_links(buf_str(&b));
            if (strstr(buf_str(&b), "<script")) abort();
        }
        buf_fini(&b);
    }
    cJSON_Delete(j);
    return 0;
}
