/* report: validation and renderings of a session report. See report.h. */
#include "report.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <md4c-html.h>

#include "utf8.h"

/* ------------------------------------------------------------- validation */

/* Record why the report is refused; returns rc. */
static int refuse(int rc, char *err, size_t n, const char **field, const char *name,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int refuse(int rc, char *err, size_t n, const char **field, const char *name,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && n) vsnprintf(err, n, fmt, ap);
    va_end(ap);
    if (field) *field = name;
    return rc;
}

/* A present, non-null member. */
static const cJSON *member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* Is v a string of valid UTF-8 of at most max bytes (0: any length)? */
static int text_ok(const cJSON *v, size_t max)
{
    if (!cJSON_IsString(v)) return 0;
    size_t len = strlen(v->valuestring);
    return (!max || len <= max) && utf8_valid(v->valuestring, len);
}

/* One element of "sections": {"title": str, "content": str}. */
static int validate_section(const cJSON *s, int i, char *err, size_t n, const char **field)
{
    if (!cJSON_IsObject(s))
        return refuse(REPORT_INVALID_FIELD, err, n, field, "sections",
                      "sections[%d] must be an object {\"title\",\"content\"}", i);
    for (const cJSON *m = s->child; m; m = m->next) {
        if (strcmp(m->string, "title") != 0 && strcmp(m->string, "content") != 0)
            return refuse(REPORT_UNKNOWN_FIELD, err, n, field, "sections",
                          "unknown field \"sections[%d].%.40s\" (a section has title and content)",
                          i, utf8_valid(m->string, strlen(m->string)) ? m->string : "?");
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "title");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "content");
    if (!t || cJSON_IsNull(t))
        return refuse(REPORT_MISSING_FIELD, err, n, field, "sections",
                      "sections[%d].title is required", i);
    if (!text_ok(t, REPORT_TITLE_MAX))
        return refuse(REPORT_INVALID_FIELD, err, n, field, "sections",
                      "sections[%d].title must be UTF-8 text of at most %d bytes", i,
                      REPORT_TITLE_MAX);
    if (!c || cJSON_IsNull(c))
        return refuse(REPORT_MISSING_FIELD, err, n, field, "sections",
                      "sections[%d].content is required (Markdown)", i);
    if (!text_ok(c, 0))
        return refuse(REPORT_INVALID_FIELD, err, n, field, "sections",
                      "sections[%d].content must be UTF-8 text (Markdown)", i);
    return REPORT_OK;
}

int report_validate(const cJSON *r, char *err, size_t n, const char **field)
{
    static const char *const known[] = { "title", "summary", "sections", "markdown", "data", NULL };
    if (field) *field = NULL;
    if (err && n) err[0] = '\0';
    if (!cJSON_IsObject(r))
        return refuse(REPORT_NOT_OBJECT, err, n, field, NULL, "the report must be a JSON object");
    for (const cJSON *m = r->child; m; m = m->next) {
        int k = 0;
        while (known[k] && strcmp(known[k], m->string) != 0) k++;
        if (!known[k]) {
            int printable = utf8_valid(m->string, strlen(m->string));
            return refuse(REPORT_UNKNOWN_FIELD, err, n, field, printable ? m->string : NULL,
                          "unknown field \"%.40s\" (a report has title, summary, sections, "
                          "markdown, data)", printable ? m->string : "?");
        }
    }
    const cJSON *v;
    if ((v = member(r, "title")) && !text_ok(v, REPORT_TITLE_MAX))
        return refuse(REPORT_INVALID_FIELD, err, n, field, "title",
                      "title must be UTF-8 text of at most %d bytes", REPORT_TITLE_MAX);
    if ((v = member(r, "summary")) && !text_ok(v, 0))
        return refuse(REPORT_INVALID_FIELD, err, n, field, "summary",
                      "summary must be UTF-8 text (Markdown)");
    if ((v = member(r, "markdown")) && !text_ok(v, 0))
        return refuse(REPORT_INVALID_FIELD, err, n, field, "markdown",
                      "markdown must be UTF-8 text");
    if ((v = member(r, "data")) && !utf8_json_valid(v))
        return refuse(REPORT_INVALID_FIELD, err, n, field, "data",
                      "data holds text that is not valid UTF-8 or is nested more than "
                      "200 levels deep");
    const cJSON *secs = member(r, "sections");
    if (secs) {
        if (!cJSON_IsArray(secs))
            return refuse(REPORT_INVALID_FIELD, err, n, field, "sections",
                          "sections must be an array of {\"title\",\"content\"}");
        if (cJSON_GetArraySize(secs) > REPORT_SECTIONS_MAX)
            return refuse(REPORT_INVALID_FIELD, err, n, field, "sections",
                          "at most %d sections", REPORT_SECTIONS_MAX);
        int i = 0;
        for (const cJSON *s = secs->child; s; s = s->next, i++) {
            int rc = validate_section(s, i, err, n, field);
            if (rc) return rc;
        }
    }
    /* Something to read: a non-empty summary or markdown, or a section. */
    const cJSON *sum = member(r, "summary"), *md = member(r, "markdown");
    if (!(sum && *sum->valuestring) && !(md && *md->valuestring) &&
        !(secs && cJSON_GetArraySize(secs) > 0))
        return refuse(REPORT_MISSING_FIELD, err, n, field, "summary",
                      "a report needs a summary, sections or markdown");
    return REPORT_OK;
}

const char *report_rc_code(int rc)
{
    switch (rc) {
    case REPORT_OK:            return NULL;
    case REPORT_NOT_OBJECT:    return "invalid_body";
    case REPORT_UNKNOWN_FIELD: return "unknown_field";
    case REPORT_MISSING_FIELD: return "missing_field";
    default:                   return "invalid_field";
    }
}

/* --------------------------------------------------------------- Markdown */

/* A string member, or NULL when absent, null or not a string. */
static const char *text(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Append s as a heading's text: one line (CR, LF, tab become spaces),
 * trimmed. */
static void add_oneline(buf *b, const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    for (size_t i = 0; i < n; i++)
        buf_putc(b, s[i] == '\r' || s[i] == '\n' || s[i] == '\t' ? ' ' : s[i]);
}

/* Append a block of Markdown followed by one blank line. */
static void add_block(buf *b, const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) n--;
    buf_add(b, s, n);
    buf_puts(b, "\n\n");
}

/* Append JSON text as a fenced code block whose fence is longer than any
 * run of backticks inside it, so the text cannot close it early. */
static void add_fenced(buf *b, const char *info, const char *s)
{
    size_t run = 0, longest = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    size_t fence = longest >= 3 ? longest + 1 : 3;
    for (size_t i = 0; i < fence; i++) buf_putc(b, '`');
    buf_printf(b, "%s\n%s\n", info, s);
    for (size_t i = 0; i < fence; i++) buf_putc(b, '`');
    buf_puts(b, "\n\n");
}

int report_markdown(const cJSON *r, buf *out)
{
    const char *s;
    if (!cJSON_IsObject(r)) return -1;
    if ((s = text(r, "title")) && *s) {
        buf_puts(out, "# ");
        add_oneline(out, s);
        buf_puts(out, "\n\n");
    }
    if ((s = text(r, "summary")) && *s) add_block(out, s);
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(r, "sections");
    for (const cJSON *sec = cJSON_IsArray(secs) ? secs->child : NULL; sec; sec = sec->next) {
        buf_puts(out, "## ");
        const char *title = text(sec, "title");
        add_oneline(out, title ? title : "");
        buf_puts(out, "\n\n");
        if ((s = text(sec, "content")) && *s) add_block(out, s);
    }
    if ((s = text(r, "markdown")) && *s) add_block(out, s);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
    if (data && !cJSON_IsNull(data)) {
        char *json = cJSON_Print(data);
        if (!json) return -1;
        buf_puts(out, "## Data\n\n");
        add_fenced(out, "json", json);
        cJSON_free(json);
    }
    /* End with exactly one newline. */
    while (out->len >= 2 && out->p[out->len - 1] == '\n' && out->p[out->len - 2] == '\n')
        out->p[--out->len] = '\0';
    return out->err ? -1 : 0;
}

/* ------------------------------------------------------------------- HTML */

static void md_out(const MD_CHAR *text_, MD_SIZE size, void *userdata)
{
    buf_add(userdata, text_, size);
}

/* May a link (href) or an image (src) point at url[0..n) as md4c wrote it?
 * A scheme is what precedes the first ':' when that comes before any '/',
 * '?' or '#' and is made of scheme characters; without one the URL is
 * relative (to the document), which is harmless. */
static int url_allowed(const char *url, size_t n, int image)
{
    size_t i = 0;
    while (i < n && url[i] != ':' && url[i] != '/' && url[i] != '?' && url[i] != '#') i++;
    if (i == n || url[i] != ':') return 1;
    char scheme[16];
    if (i == 0 || i >= sizeof scheme) return 0;
    for (size_t k = 0; k < i; k++) {
        char c = url[k];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        int ok = (c >= 'a' && c <= 'z') || (k > 0 && ((c >= '0' && c <= '9') || c == '+' ||
                                                       c == '-' || c == '.'));
        /* Not a scheme at all (e.g. "a b:c" escaped): the browser reads it
         * as a relative path. */
        if (!ok) return 1;
        scheme[k] = c;
    }
    scheme[i] = '\0';
    if (!strcmp(scheme, "http") || !strcmp(scheme, "https")) return 1;
    return image ? !strcmp(scheme, "data") : !strcmp(scheme, "mailto");
}

/* Copy html (md4c's output) to out, replacing the value of every href and
 * src attribute that url_allowed refuses with "#". The copy walks the
 * markup: outside a tag is text (md4c escapes '<', '>', '"' and '&' there);
 * inside a tag every quoted value is skipped whole, and only " href=\"" and
 * " src=\"" between values start an attribute to check. (Searching for the
 * bytes href=" anywhere was fooled by an alt text "href=": its closing
 * quote was taken for the start of a value, and the real href after it
 * went unchecked; found by tests/fuzz/fuzz_report.) 0, or -1 when the
 * markup is not what md4c writes (a value without its closing quote): then
 * out is left as it was. */
static int copy_checked_urls(const buf *html, buf *out)
{
    const char *p = html->p, *end = html->p + html->len, *copied = p;
    size_t was = out->len;
    int in_tag = 0;
    while (p < end) {
        if (!in_tag) {
            if (*p == '<') in_tag = 1;
            p++;
            continue;
        }
        if (*p == '>') {
            in_tag = 0;
            p++;
            continue;
        }
        size_t alen = 0;
        if (*p == ' ' && end - p >= 7 && memcmp(p, " href=\"", 7) == 0) alen = 7;
        else if (*p == ' ' && end - p >= 6 && memcmp(p, " src=\"", 6) == 0) alen = 6;
        if (alen || *p == '"') {
            const char *v = p + (alen ? alen : 1);
            const char *q = memchr(v, '"', (size_t)(end - v));
            if (!q) goto malformed;
            if (alen) {
                buf_add(out, copied, (size_t)(v - copied));
                if (url_allowed(v, (size_t)(q - v), alen == 6)) buf_add(out, v, (size_t)(q - v));
                else buf_putc(out, '#');
                copied = q;
            }
            p = q + 1;
            continue;
        }
        p++;
    }
    if (in_tag) goto malformed;
    buf_add(out, copied, (size_t)(end - copied));
    return 0;
malformed:
    out->len = was;
    if (out->p) out->p[was] = '\0';
    return -1;
}

/* Bytes of NUL padding after the copy markdown_html hands md4c. md4c 0.4.8
 * (Debian 12) reads, and passes to its output callback, a byte past the end
 * of the text for some inline links (found by tests/fuzz/fuzz_report:
 * "[ok](http[rel](/se..."), so it never gets the caller's buffer itself. */
#define MD_PAD 16

int markdown_html(const char *md, size_t n, buf *out)
{
    if (n > (size_t)UINT32_MAX - MD_PAD) return -1; /* MD_SIZE is 32 bits */
    char *copy = malloc(n + MD_PAD);
    if (!copy) return -1;
    if (n) memcpy(copy, md, n);
    memset(copy + n, 0, MD_PAD);
    buf raw;
    buf_init(&raw);
    int rc = md_html(copy, (MD_SIZE)n, md_out, &raw,
                     MD_FLAG_NOHTML | MD_FLAG_STRIKETHROUGH | MD_FLAG_TABLES |
                         MD_FLAG_PERMISSIVEURLAUTOLINKS,
                     0);
    free(copy);
    if (rc == 0 && !raw.err) {
        if (raw.len && copy_checked_urls(&raw, out)) rc = -1;
        if (out->err) rc = -1;
    } else {
        rc = -1;
    }
    buf_fini(&raw);
    return rc;
}

/* The stylesheet of the HTML document: readable on screen and on paper. */
static const char report_css[] =
    ":root{color-scheme:light dark}"
    "body{font:16px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:52rem;"
    "margin:2rem auto;padding:0 1.25rem;color:#1f2328;background:#fff}"
    "header{border-bottom:1px solid #d0d7de;margin-bottom:1.5rem;padding-bottom:.75rem;"
    "color:#59636e;font-size:.9rem}"
    "header strong{color:#1f2328}"
    "h1,h2,h3{line-height:1.25;margin:1.6em 0 .6em}h1{font-size:1.9rem;margin-top:0}"
    "h2{font-size:1.4rem;border-bottom:1px solid #d0d7de;padding-bottom:.3em}"
    "code,pre{font:.875em/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
    "code{background:#f6f8fa;padding:.15em .35em;border-radius:4px}"
    "pre{background:#f6f8fa;padding:1rem;overflow:auto;border-radius:6px}pre code{padding:0}"
    "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #d0d7de;"
    "padding:.35rem .7rem;text-align:left}th{background:#f6f8fa}"
    "blockquote{margin:0;padding:0 1rem;color:#59636e;border-left:.25rem solid #d0d7de}"
    "img{max-width:100%}a{color:#0969da}"
    "footer{margin-top:3rem;color:#59636e;font-size:.8rem}"
    "@media (prefers-color-scheme:dark){body{color:#e6edf3;background:#0d1117}"
    "header strong{color:#e6edf3}code,pre,th{background:#161b22}a{color:#4493f8}"
    "h2,header,th,td{border-color:#30363d}}"
    "@media print{body{margin:0;max-width:none}a{color:inherit}}";

int report_html_document(const cJSON *r, const char *session_name, const char *session_id,
                         buf *out)
{
    buf md;
    buf_init(&md);
    if (report_markdown(r, &md)) { buf_fini(&md); return -1; }
    const char *title = text(r, "title");
    const char *name = session_name && *session_name ? session_name : session_id;
    if (!name) name = "";

    buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'; img-src https: data:\">\n"
                  "<meta name=\"generator\" content=\"Flightdeck\">\n<title>");
    if (title && *title) {
        buf_add_html(out, title, strlen(title));
        buf_puts(out, " \xe2\x80\x94 ");
    }
    buf_add_html(out, name, strlen(name));
    buf_puts(out, "</title>\n<style>");
    buf_puts(out, report_css);
    buf_puts(out, "</style>\n</head>\n<body>\n<header>Report of session <strong>");
    buf_add_html(out, name, strlen(name));
    buf_puts(out, "</strong>");
    if (session_id && *session_id) {
        buf_puts(out, " (<code>");
        buf_add_html(out, session_id, strlen(session_id));
        buf_puts(out, "</code>)");
    }
    buf_puts(out, "</header>\n<main>\n");
    int rc = markdown_html(md.len ? md.p : "", md.len, out);
    buf_puts(out, "</main>\n<footer>Generated by Flightdeck.</footer>\n</body>\n</html>\n");
    buf_fini(&md);
    return rc || out->err ? -1 : 0;
}
